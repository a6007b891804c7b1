#!/usr/bin/env python3
"""compare.py: compare addr2line-style outputs (-f -i -C -a) of several
symbolizers on the same addresses (tests/scripts/symbolize_diff.sh).

  compare.py --name NAME --addrs FILE --ref addr2line=RAW,DEM --ref llvm=RAW,DEM
             [--sw RAW,DEM] [--examples 3]
  compare.py --name NAME --addrs FILE --symtab NM_OUT --sw OUT

RAW is a tool's output without -C, DEM with -C.  Each output holds, per address, the address line ("0x..."), then per source
frame, innermost first, a function line ("??" unknown) and a "FILE:LINE"
line ("??:0" unknown).  Chains are compared after normalising:
  - " (discriminator N)" is dropped;
  - a line "?" is 0, a file "??" unknown;
  - file paths go through os.path.normpath (./ and ../); a chain equal
    only after that is counted as agreeing, and the count reported;
  - a GCC clone suffix on a function name (foo.cold, foo.part.0,
    foo.isra.0, foo.constprop.0, and the demangled "foo (.cold)") is
    dropped: llvm-addr2line names the outermost frame from .symtab, where
    clones carry it; addr2line (and DWARF) name the source function.
    Counted and reported like paths.

With two references: N addresses; the references agree on M (their raw
chains: linkage names, no demangler involved); stackwalk (--sw) agrees
with them on K of M: its raw chain equals theirs and its demangled one
equals the first reference's (addr2line: libiberty's demangler, the one
stackwalk carries).  Where the raw chains agree but the demangled ones
differ, the demanglers differ (libiberty vs LLVM's): reported, not counted.  Every address where
they differ is classed by its first difference; each class is counted and
its first few addresses printed.

With --symtab (the output of `nm -S --defined-only -C` on the unstripped
binary): only the outermost frame's function name is compared with the
name of the sized function symbol holding the address ("??" if none):
M = N, K = matching names.

The last line is machine-readable:
  RESULT NAME N M K     (K is "-" without --sw)
"""
import argparse
import os
import re
import sys

ADDR = re.compile(r"^0x([0-9a-fA-F]+)$")
DISCRIM = re.compile(r" \(discriminator \d+\)$")
CLONE_DEMANGLED = re.compile(r"( \(\.(cold|part\.\d+|isra\.\d+|constprop\.\d+|lto_priv\.\d+|localalias)\))+$")
CLONE_RAW = re.compile(r"(\.(cold|part\.\d+|isra\.\d+|constprop\.\d+|lto_priv\.\d+|localalias))+$")


def parse(path):
    """{address: [(function, file, line), ...]} from an addr2line -a output."""
    chains = {}
    cur = None
    pending = None
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            m = ADDR.match(line)
            if m and pending is None:
                cur = []
                chains[int(m.group(1), 16)] = cur
                continue
            if cur is None:
                continue
            if pending is None:
                pending = line
                continue
            loc = DISCRIM.sub("", line)
            file, _, ln = loc.rpartition(":")
            if not _:
                file, ln = loc, "0"
            try:
                lineno = int(ln)
            except ValueError:
                lineno = 0
            cur.append((pending, file, lineno))
            pending = None
    return chains


def norm_path(p):
    return p if p in ("??", "") else os.path.normpath(p)


def norm_name(n):
    n = CLONE_DEMANGLED.sub("", n)
    return CLONE_RAW.sub("", n)


def normalise(chain, names=True, paths=True):
    out = []
    for fn, file, line in chain:
        out.append((norm_name(fn) if names else fn, norm_path(file) if paths else file, line))
    # a single unknown frame is the same as "nothing known"
    if out == [("??", "??", 0)]:
        out = []
    return tuple(out)


def unknown(chain):
    return all(fn == "??" and file == "??" for fn, file, _ in chain)


def classify(a, b, an, bn):
    """The first difference between chains a and b (named an, bn)."""
    if not a and not b:
        return None
    if unknown(a) and not unknown(b):
        return "%s: nothing known, %s: known" % (an, bn)
    if unknown(b) and not unknown(a):
        return "%s: nothing known, %s: known" % (bn, an)
    for i, (x, y) in enumerate(zip(a, b)):
        where = "innermost frame" if i == 0 else "inlined caller frame"
        if x[0] != y[0]:
            if x[0] == "??" or y[0] == "??":
                return "function unknown in one (%s)" % where
            return "function differs (%s)" % where
        if x[1] != y[1]:
            if x[1] == "??" or y[1] == "??":
                return "file unknown in one (%s)" % where
            if os.path.basename(x[1]) == os.path.basename(y[1]):
                return "file path differs, same base name (%s)" % where
            return "file differs (%s)" % where
        if x[2] != y[2]:
            if x[2] == 0 or y[2] == 0:
                return "line 0 in one (%s)" % where
            return "line differs (%s)" % where
    if len(a) != len(b):
        longer = an if len(a) > len(b) else bn
        return "inline depth differs (%s has more frames)" % longer
    return "differs"


def fmt_chain(c, width=110):
    if not c:
        return ["?? ??:0"]
    out = []
    for fn, file, line in c:
        if len(fn) > width:
            fn = fn[: width - 3] + "..."
        out.append("%s  %s:%d" % (fn, file, line))
    return out


class Classes:
    def __init__(self, title, examples):
        self.title = title
        self.examples = examples
        self.counts = {}
        self.shown = {}

    def add(self, cls, addr, sides):
        self.counts[cls] = self.counts.get(cls, 0) + 1
        ex = self.shown.setdefault(cls, [])
        if len(ex) < self.examples:
            ex.append((addr, sides))

    def report(self):
        if not self.counts:
            print("  %s: none" % self.title)
            return
        print("  %s: %d addresses" % (self.title, sum(self.counts.values())))
        for cls, n in sorted(self.counts.items(), key=lambda kv: -kv[1]):
            print("    %6d  %s" % (n, cls))
            for addr, sides in self.shown[cls]:
                print("            0x%x" % addr)
                for label, chain in sides:
                    for i, l in enumerate(fmt_chain(chain)):
                        print("              %-10s %s" % (label if i == 0 else "", l))


def load_symtab(path):
    """Sorted [(start, end, name)] of the sized symbols in nm -S output."""
    syms = []
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) < 4 or parts[2] not in "tTwW" or len(parts[2]) != 1:
                continue
            try:
                start, size = int(parts[0], 16), int(parts[1], 16)
            except ValueError:
                continue
            if size:
                syms.append((start, start + size, parts[3]))
    syms.sort()
    return syms


def symtab_names(syms, addr):
    """The names of every sized symbol holding addr (aliases: several)."""
    import bisect

    names = set()
    i = bisect.bisect_right(syms, (addr, float("inf"), "")) - 1
    while i >= 0 and addr - syms[i][0] <= 1 << 24:
        if addr < syms[i][1]:
            names.add(syms[i][2])
        i -= 1
    return names or {"??"}


def dir0_doubled(ref, sw):
    """ref is sw with its leading directory repeated ("libio/libio/x.h" for
    "libio/x.h"): with a relative DW_AT_comp_dir, addr2line and llvm join
    it to DWARF 5's directory 0, which already is the compilation
    directory."""
    if ref == sw or not ref.endswith("/" + sw):
        return False
    pre = ref[: -len(sw) - 1]
    return sw.startswith(pre + "/")


def same_but_dir0(got, want):
    if len(got) != len(want):
        return False
    return all(g[0] == w[0] and g[2] == w[2] and (g[1] == w[1] or dir0_doubled(w[1], g[1]))
               for g, w in zip(got, want))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--addrs", required=True)
    ap.add_argument("--ref", action="append", default=[])
    ap.add_argument("--sw")
    ap.add_argument("--symtab")
    ap.add_argument("--examples", type=int, default=3)
    args = ap.parse_args()

    with open(args.addrs) as f:
        addrs = [int(l, 16) for l in f if l.strip()]
    n = len(addrs)
    # --symtab: --sw is one file (names only); otherwise RAW[,DEMANGLED]
    sw = parse(args.sw) if args.sw and args.symtab else None
    print("%s: %d addresses" % (args.name, n))

    if args.symtab:
        syms = load_symtab(args.symtab)
        k = 0
        cls = Classes("stackwalk vs symbol table", args.examples)
        for a in addrs:
            wants = symtab_names(syms, a)
            want = " | ".join(sorted(wants))
            chain = sw.get(a) if sw is not None else None
            got = chain[-1][0] if chain else "??"
            if norm_name(got) in {norm_name(w) for w in wants}:
                k += 1
            elif chain is None:
                cls.add("no output for the address", a, [("nm", [(want, "??", 0)])])
            else:
                c = "stackwalk names nothing, nm does" if got == "??" else \
                    "stackwalk names it, nm does not" if want == "??" else "names differ"
                cls.add(c, a, [("nm", [(want, "??", 0)]), ("stackwalk", chain)])
        if sw is not None:
            print("  stackwalk agrees with nm on %d of %d" % (k, n))
            cls.report()
        print("RESULT %s %d %d %s" % (args.name, n, n, k if sw is not None else "-"))
        return 0

    if len(args.ref) != 2:
        ap.error("two --ref LABEL=RAW,DEMANGLED")
    refs = []
    for r in args.ref:
        label, _, paths = r.partition("=")
        raw, _, dem = paths.partition(",")
        refs.append((label, parse(raw), parse(dem) if dem else {}))
    (la, ra, da), (lb, rb, db) = refs

    # the references agree on the raw chains (linkage names: no demangler
    # involved); the demangled chain expected from stackwalk is the first
    # reference's (addr2line: libiberty's demangler, which stackwalk uses)
    agree = []
    path_only = clone_only = 0
    rr = Classes("%s vs %s (raw names)" % (la, lb), args.examples)
    for a in addrs:
        ca, cb = ra.get(a), rb.get(a)
        if ca is None or cb is None:
            rr.add("no output from %s" % (la if ca is None else lb), a, [])
            continue
        x, y = normalise(ca), normalise(cb)
        if x == y:
            agree.append((a, x, normalise(da[a]) if a in da else None))
            if normalise(ca, names=False) != normalise(cb, names=False):
                clone_only += 1
            elif normalise(ca, paths=False) != normalise(cb, paths=False):
                path_only += 1
        else:
            rr.add(classify(x, y, la, lb), a, [(la, x), (lb, y)])
    m = len(agree)
    print("  references (%s, %s) agree on %d of %d (%.2f%%)" % (la, lb, m, n, 100.0 * m / max(n, 1)))
    print("  of them, equal only after normalising: %d clone suffixes (foo.cold / \"foo (.cold)\"), %d paths (./ ../)"
          % (clone_only, path_only))
    rr.report()
    if da and db:
        dc = Classes("%s vs %s demangled (-C), where the raw chains agree" % (la, lb), args.examples)
        for a, _, _ in agree:
            x, y = normalise(da.get(a, [])), normalise(db.get(a, []))
            if x != y:
                dc.add(classify(x, y, la, lb) + " [demanglers]", a, [(la, x), (lb, y)])
        dc.report()

    k = "-"
    if args.sw:
        k = 0
        sraw, _, sdem = args.sw.partition(",")
        sw_raw = parse(sraw)
        sw_dem = parse(sdem) if sdem else None
        sc = Classes("stackwalk vs references (where they agree)", args.examples)
        dir0 = 0
        for a, want, want_dem in agree:
            chain = sw_raw.get(a)
            if chain is None:
                sc.add("no output from stackwalk", a, [("refs", want)])
                continue
            got = normalise(chain)
            doubled = got != want and same_but_dir0(got, want)
            if got != want and not doubled:
                sc.add(classify(got, want, "stackwalk", "refs"), a, [("refs", want), ("stackwalk", got)])
                continue
            if sw_dem is not None and want_dem is not None:
                dchain = sw_dem.get(a)
                if dchain is None:
                    sc.add("no output from stackwalk -C", a, [("refs", want_dem)])
                    continue
                gd = normalise(dchain)
                if gd != want_dem and not same_but_dir0(gd, want_dem):
                    sc.add(classify(gd, want_dem, "stackwalk", la) + " [-C]", a,
                           [(la + " -C", want_dem), ("stackwalk -C", gd)])
                    continue
            dir0 += doubled
            k += 1
        print("  stackwalk agrees with them on %d of %d (%.3f%%)" % (k, m, 100.0 * k / max(m, 1)))
        if dir0:
            print("  of them, %d where the references double a relative compilation directory (DWARF 5"
                  " directory 0: they print D/D/file, stackwalk D/file; stackwalk is right)" % dir0)
        sc.report()
    print("RESULT %s %d %d %s" % (args.name, n, m, k))
    return 0


if __name__ == "__main__":
    sys.exit(main())
