#!/usr/bin/env python3
"""tests/symbolize/frames.py: the source frames of a backtrace, one per line,
as "INDEX|NAME|FILE-BASENAME|LINE", for crash.sh to compare.

  frames.py gdb FILE      gdb's `bt` (frames up to main; `set print
                          frame-arguments none` or any arguments)
  frames.py report FILE   a stackwalk report (src/symbolize/report.c)

Only frames with a source location are listed (gdb has none for code
without debug information); INDEX counts those from 0.  NAME has its
spaces removed: crash.sh compares gdb's name as a part of stackwalk's,
which is the whole demangled name (return type, parameters).
"""
import re
import sys

GDB = re.compile(r'^#(\d+)\s+(?:0x[0-9a-f]+ in )?(.*?) \((?:.*)\) at (\S+):(\d+)$')
REPORT = re.compile(r'^#(\d+)\s+(?:0x[0-9a-f]+|inlined  ) in (.*?)(?:\+0x[0-9a-f]+)?'
                    r' at (\S+?):(\d+)(?::\d+)?(?: \(.*\))?$')


def frames(kind, text):
    out = []
    for line in text.splitlines():
        m = (GDB if kind == 'gdb' else REPORT).match(line.rstrip())
        if not m:
            continue
        name, path, num = m.group(2), m.group(3), m.group(4)
        out.append((name.replace(' ', ''), path.rsplit('/', 1)[-1], num))
        if name == 'main' or name.startswith('main('):
            break
    return out


def main():
    kind, path = sys.argv[1], sys.argv[2]
    with open(path, errors='replace') as f:
        for i, (name, base, num) in enumerate(frames(kind, f.read())):
            print(f'{i}|{name}|{base}|{num}')


if __name__ == '__main__':
    main()
