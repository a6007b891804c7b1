#!/usr/bin/env python3
"""Helpers of tests/scripts/perf_script.sh.

compare.py PERF_OUT SW_OUT SW_STDERR [--min-main F] [--min-cut F] [--want-dso DSO]
    Compare `perf script` output with `stackwalk perf` output sample by
    sample.  Exit 0 when:
      - both have the same samples with the same header lines;
      - wherever perf's chain reaches main, both chains are the same:
        address, name and DSO of every frame down to main (a system
        library's frame may be "(inlined)" on one side only, counted), the addresses
        of the frames below it as far as perf's go (libc's names may differ: perf names a
        function by the debug file's .symtab, and marks it "(inlined)" when
        that symbol's name is not DWARF's);
      - wherever perf's chain stops before main, perf's frames (less its
        "ffffffffffffffff" end marker) begin stackwalk's (counted, not
        failed: perf's libunwind skips or invents frames at times);
      - perf reaches main in at least F of the samples (--min-main), and
        stackwalk's stderr counts at least F of the walks as cut by the
        stack copy (--min-cut); with --want-dso DSO, stackwalk unwinds out
        of a frame in DSO (not the last frame) in at least one sample.
    Prints the counts, "summary: ..." last.

compare.py --make-broken DATA DIR CUTS FLIPS
    Write broken copies of the perf.data file DATA into DIR:
      cut-N    the file cut at a record boundary (the header still gives
               the full data size);
      cutin-N  cut 8 bytes into a record, the header's data size patched
               to the cut and its feature bits cleared (so the reader gets
               to the record and finds it truncated);
      flip-N   one bit flipped (seed 1): in the file header, the attrs,
               a record's header or its first 64 bytes, or anywhere.
"""
import random
import re
import struct
import sys

FRAME = re.compile(r'^\t\s*([0-9a-f]+) (.*) \((.*)\)$')
END_MARK = 'ffffffffffffffff'


def parse(path):
    samples = []
    cur = None
    with open(path, errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('\t'):
                m = FRAME.match(line)
                if cur is None:
                    raise SystemExit('%s: a frame outside a sample: %r' % (path, line))
                if m:
                    cur[1].append((m.group(1), m.group(2), m.group(3)))
                else:
                    cur[1].append((line.strip(), '', ''))
            elif line == '':
                if cur is not None:
                    samples.append(cur)
                    cur = None
            else:
                if cur is not None:
                    samples.append(cur)
                cur = (line.rstrip(), [])
    if cur is not None:
        samples.append(cur)
    return samples


def is_main(frame):
    return frame[1].startswith('main+')


def system_lib(dso):
    return dso.startswith('/usr/lib/') or dso.startswith('/lib/')


def same_frames(a, b):
    """The same frames: address and name, and the same DSO except that a
    system library's function may be "(inlined)" on one side only (perf
    says so when the debug file's .symtab names the address with another
    alias than DWARF, which stackwalk cannot see)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x[0] != y[0] or x[1] != y[1]:
            return False
        if x[2] != y[2] and not ({x[2], y[2]} - {'inlined'} and
                                 all(system_lib(d) for d in {x[2], y[2]} - {'inlined'})):
            return False
    return True


def compare(argv):
    perf_out, sw_out, sw_err = argv[:3]
    opts = argv[3:]
    min_main = min_cut = 0.0
    want_dso = None
    for i in range(0, len(opts) - 1, 2):
        if opts[i] == '--want-dso':
            want_dso = opts[i + 1]
        elif opts[i] == '--min-main':
            min_main = float(opts[i + 1])
        elif opts[i] == '--min-cut':
            min_cut = float(opts[i + 1])
    p = parse(perf_out)
    s = parse(sw_out)
    fails = []
    if len(p) != len(s):
        fails.append('sample count: perf %d, stackwalk %d' % (len(p), len(s)))
    n = min(len(p), len(s))
    perf_main = sw_main = same = perf_short = further = disagree = names_below = below = 0
    markers = 0
    for i in range(n):
        (ph, pf), (sh, sf) = p[i], s[i]
        if ph != sh:
            fails.append('sample %d: header\n  perf: %s\n  sw:   %s' % (i, ph, sh))
            continue
        while pf and pf[-1][0] == END_MARK:
            pf = pf[:-1]
        if any(is_main(f) for f in sf):
            sw_main += 1
        k = next((j for j, f in enumerate(pf) if is_main(f)), None)
        if k is not None:
            perf_main += 1
            # below main, perf's libunwind sometimes stops early (in
            # libc): its frames must then begin ours
            ok = (same_frames(pf[:k + 1], sf[:k + 1]) and
                  [f[0] for f in pf] == [f[0] for f in sf[:len(pf)]])
            if ok:
                markers += sum(1 for a, b in zip(pf[:k + 1], sf[:k + 1]) if a[2] != b[2])
            if ok:
                same += 1
                names_below += sum(1 for a, b in zip(pf[k + 1:], sf[k + 1:]) if a != b)
                if len(sf) > len(pf):
                    below += 1
            else:
                fails.append('sample %d (%s): chains differ\n  perf: %s\n  sw:   %s'
                             % (i, ph, pf, sf))
        else:
            perf_short += 1
            if [f[0] for f in pf] != [f[0] for f in sf[:len(pf)]]:
                disagree += 1
                if disagree <= 5:
                    print('note: sample %d (%s): perf stops early and its frames do not '
                          'begin ours\n  perf: %s\n  sw:   %s' % (i, ph, pf, sf))
            if any(is_main(f) for f in sf):
                further += 1
    err = open(sw_err, errors='replace').read()
    m = re.search(r'(\d+) samples, (\d+) unwound: (\d+) reached the stack\'s end, '
                  r'(\d+) cut by the stack copy', err)
    if not m:
        fails.append('no summary line on stackwalk perf\'s stderr')
        cut = 0
    else:
        cut = int(m.group(4))
        print('stackwalk: ' + err.strip().splitlines()[-1])
    if n and perf_main < min_main * n:
        fails.append('perf reaches main in %d of %d samples only (want %.0f%%)'
                     % (perf_main, n, 100 * min_main))
    if n and cut < min_cut * n:
        fails.append('stackwalk counts %d of %d walks cut by the stack copy (want %.0f%%)'
                     % (cut, n, 100 * min_cut))
    if want_dso is not None:
        k = sum(1 for _, f in s if any(x[2] == want_dso for x in f[:-1]))
        print('%d samples unwound by stackwalk through a frame in %s' % (k, want_dso))
        if k == 0:
            fails.append('no sample unwound through a frame in %s' % want_dso)
    # perf's libunwind is wrong there at times (it skips a frame in a
    # function's prologue, or follows a stale return address): reported,
    # not failed
    if disagree:
        print('note: %d samples where perf stops early with frames that do not begin ours'
              % disagree)
    for f in fails[:20]:
        print('FAIL ' + f)
    print('summary: %d samples; perf reaches main in %d, stackwalk in %d; same chains in %d '
          'of those %d (%d system-library frames "(inlined)" on one side only, '
          '%d names below main differ, %d where perf stops below main and '
          'stackwalk goes on); perf stops before main in %d, stackwalk goes further in %d '
          'of them; %d walks cut by the stack copy'
          % (n, perf_main, sw_main, same, perf_main, markers, names_below, below, perf_short,
             further, cut))
    return 1 if fails else 0


def records(data):
    data_off, data_size = struct.unpack_from('<QQ', data, 40)
    end = data_off + data_size
    pos = data_off
    offs = []
    while pos + 8 <= end:
        size = struct.unpack_from('<H', data, pos + 6)[0]
        if size < 8:
            break
        offs.append(pos)
        pos += size
    return data_off, end, offs


def make_broken(argv):
    path, out, ncuts, nflips = argv[0], argv[1], int(argv[2]), int(argv[3])
    data = open(path, 'rb').read()
    if struct.unpack_from('<Q', data, 8)[0] == 16:
        raise SystemExit('%s: a pipe-mode file; want a file-mode one' % path)
    data_off, end, offs = records(data)
    if not offs:
        raise SystemExit('%s: no records' % path)
    step = max(1, len(offs) // ncuts)
    chosen = offs[::step][:ncuts]
    for i, off in enumerate(chosen):
        with open('%s/cut-%d' % (out, i), 'wb') as f:
            f.write(data[:off])
        cut = off + 8
        b = bytearray(data[:cut])
        struct.pack_into('<Q', b, 48, cut - data_off)     # data.size
        b[72:104] = bytes(32)                              # no features
        size = struct.unpack_from('<H', data, off + 6)[0]
        if size > 8:
            with open('%s/cutin-%d' % (out, i), 'wb') as f:
                f.write(b)
    rng = random.Random(1)
    attrs_off, attrs_size = struct.unpack_from('<QQ', data, 24)
    for i in range(nflips):
        where = rng.randrange(4)
        if where == 0:
            pos = rng.randrange(104)
        elif where == 1:
            pos = attrs_off + rng.randrange(max(1, attrs_size))
        elif where == 2:
            pos = rng.choice(offs) + rng.randrange(64)
        else:
            pos = rng.randrange(len(data))
        pos = min(pos, len(data) - 1)
        b = bytearray(data)
        b[pos] ^= 1 << rng.randrange(8)
        with open('%s/flip-%d' % (out, i), 'wb') as f:
            f.write(b)
    print('%d records; %d cuts, %d flips' % (len(offs), len(chosen), nflips))
    return 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == '--make-broken':
        return make_broken(sys.argv[2:])
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    return compare(sys.argv[1:])


if __name__ == '__main__':
    sys.exit(main())
