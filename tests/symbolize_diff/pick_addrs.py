#!/usr/bin/env python3
"""pick_addrs.py N [SEED] < objdump -d output: N instruction starts, one
per line as 0x%x, chosen at random with a fixed seed (default 12) among
every instruction objdump disassembled, in address order.  With fewer
instructions than N, all of them."""
import random
import re
import sys

INSN = re.compile(r"^\s+([0-9a-f]+):\s+\S")


def main():
    n = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    addrs = []
    for line in sys.stdin:
        m = INSN.match(line)
        if m:
            addrs.append(int(m.group(1), 16))
    addrs = sorted(set(addrs))
    if len(addrs) > n:
        addrs = sorted(random.Random(seed).sample(addrs, n))
    for a in addrs:
        print("0x%x" % a)


if __name__ == "__main__":
    main()
