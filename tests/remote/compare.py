#!/usr/bin/env python3
"""compare.py: per thread, the PCs `stackwalk stack` found against eu-stack's
and gdb's, for tests/scripts/remote_stack.sh and remote_core.sh.

  compare.py [--sw SW.json] [--sw-text SW.txt] [--eu EU.txt] [--gdb GDB.txt]
             [--tids TID,...] [--label NAME]

Inputs:
  --sw       `stackwalk stack --json` (the reference side of every comparison)
  --sw-text  `stackwalk stack` text: its "#N  0xPC" lines must be the JSON's
  --eu       `eu-stack -p PID` / `eu-stack --core`: "TID N:" then "#N  0xPC ..."
  --gdb      tests/remote/gdb_frames.py's output: "TID N name", then
             "PC KIND NAME" per frame
  --tids     only these threads

Normalisation (found by running the three on the same stopped threads and
documented here):
  - every tool prints the PC as the stack holds it: frame #0 and a frame a
    signal interrupted show the interrupted instruction, the others the
    return address itself (not minus 1; eu-stack looks names up at PC - 1
    for those but prints the PC; gdb's frame.pc() is the return address).
    So no PC is adjusted.
  - gdb's INLINE frames (functions inlined at the PC of the next frame:
    same PC) are not machine frames: left out.  eu-stack and stackwalk
    show them only as names of one frame.
  - gdb's TAILCALL frames are frames gdb infers from DW_TAG_call_site for a
    function that left the stack with a tail call (jmp): they are on no
    stack, and no other unwinder can see them.  Left out, and counted apart
    ("gdb tail-call frames").
  - gdb's SIGTRAMP frame (<signal handler called>, at __restore_rt) is a
    frame of eu-stack and stackwalk too: kept.
Everything else that differs is printed, thread by thread, and makes the
exit status 1.  A difference in the last frame only, where one tool ends
the walk one frame earlier or later (e.g. _start's caller), is reported as
"outermost" with both frames named, and is a difference all the same.

Prints one line per check last: "RESULT NAME ok|fail SUMMARY" (NAME: text,
eu-stack, gdb, stackwalk), and exits 1 when one failed.
"""
import json
import re
import sys


def parse_sw(path):
    with open(path) as f:
        doc = json.load(f)
    out = {}
    for t in doc["threads"]:
        out[t["tid"]] = {
            "pcs": [int(fr["pc"], 16) for fr in t["frames"]],
            "names": [fr["function"] or "??" for fr in t["frames"]],
            "end": t["end"],
            "name": t["name"],
        }
    return out


def parse_sw_text(path):
    out, cur = {}, None
    for line in open(path, errors="replace"):
        m = re.match(r'^Thread (\d+) "', line)
        if m:
            cur = out.setdefault(int(m.group(1)), [])
            continue
        m = re.match(r"^#(\d+) +0x([0-9a-f]+) in ", line)
        if m and cur is not None:
            cur.append(int(m.group(2), 16))
    return out


def parse_eu(path):
    out, cur = {}, None
    for line in open(path, errors="replace"):
        m = re.match(r"^TID (\d+):", line)
        if m:
            cur = out.setdefault(int(m.group(1)), {"pcs": [], "names": []})
            continue
        m = re.match(r"^#(\d+) +0x([0-9a-f]+) ?(.*)$", line)
        if m and cur is not None:
            cur["pcs"].append(int(m.group(2), 16))
            cur["names"].append(m.group(3).strip() or "??")
    return out


def parse_gdb(path):
    out, cur = {}, None
    for line in open(path, errors="replace"):
        m = re.match(r"^TID (\d+)", line)
        if m:
            cur = out.setdefault(int(m.group(1)), {"pcs": [], "names": [], "tail": 0})
            continue
        m = re.match(r"^([0-9a-f]+) (\w+) (.*)$", line)
        if m and cur is not None:
            kind = m.group(2)
            if kind == "inline":
                continue
            if kind == "tailcall":
                cur["tail"] += 1
                continue
            cur["pcs"].append(int(m.group(1), 16))
            cur["names"].append(m.group(3))
    return out


def diff(label, tid, sw, ref):
    a, b = sw["pcs"], ref["pcs"]
    if a == b:
        return True
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    print("DIFF %s thread %d: stackwalk %d frames, %s %d frames, first difference at #%d"
          % (label, tid, len(a), label, len(b), n))
    for i in range(max(0, n - 2), min(max(len(a), len(b)), n + 3)):
        sa = "0x%x %s" % (a[i], sw["names"][i]) if i < len(a) else "-"
        sb = "0x%x %s" % (b[i], ref["names"][i]) if i < len(b) else "-"
        print("    #%-3d stackwalk %-60s %s %s" % (i, sa[:60], label, sb))
    if n == min(len(a), len(b)):
        print("    (outermost: one walk ends %d frame(s) %s; stackwalk's end: %s)"
              % (abs(len(a) - len(b)), "earlier" if len(a) < len(b) else "later", sw["end"]))
    return False


def main(argv):
    args = {}
    i = 0
    while i < len(argv):
        args[argv[i]] = argv[i + 1]
        i += 2
    try:
        sw = parse_sw(args["--sw"])
    except (OSError, ValueError, KeyError) as e:
        print("RESULT stackwalk fail no usable JSON from stackwalk (%s)" % e)
        return 1
    tids = sorted(sw)
    if "--tids" in args:
        want = {int(x) for x in args["--tids"].split(",") if x}
        tids = [t for t in tids if t in want]
        missing = want - set(sw)
        for t in sorted(missing):
            print("MISSING thread %d: not in stackwalk's output" % t)
    label = args.get("--label", "")
    frames = sum(len(sw[t]["pcs"]) for t in tids)
    results = []
    for t in tids:
        if not sw[t]["pcs"]:
            print("EMPTY thread %d: stackwalk has no frame (%s)" % (t, sw[t]["end"]))
            results.append(("stackwalk", False, "thread %d has no frame" % t))
    if "--sw-text" in args:
        text = parse_sw_text(args["--sw-text"])
        nbad = 0
        for t in tids:
            if text.get(t) != sw[t]["pcs"]:
                print("DIFF text thread %d: the text output's PCs are not the JSON's" % t)
                nbad += 1
        results.append(("text", nbad == 0, "threads=%d frames=%d differ=%d" % (len(tids), frames, nbad)))
    refs = []
    if "--eu" in args:
        refs.append(("eu-stack", parse_eu(args["--eu"])))
    if "--gdb" in args:
        refs.append(("gdb", parse_gdb(args["--gdb"])))
    for name, ref in refs:
        same = differ = tail = 0
        for t in tids:
            if t not in ref:
                print("DIFF %s thread %d: not in %s's output" % (name, t, name))
                differ += 1
                continue
            tail += ref[t].get("tail", 0)
            if diff(name, t, sw[t], ref[t]):
                same += 1
            else:
                differ += 1
        if "--tids" not in args:
            for t in sorted(set(ref) - set(sw)):
                print("DIFF %s thread %d: in %s's output, not in stackwalk's" % (name, t, name))
                differ += 1
        extra = " gdb_tailcall_frames_left_out=%d" % tail if name == "gdb" else ""
        results.append((name, differ == 0, "threads=%d frames=%d same=%d differ=%d%s"
                        % (len(tids), frames, same, differ, extra)))
    for name, good, summary in results:
        print("RESULT %s %s %s%s" % (name, "ok" if good else "fail", label + " " if label else "", summary))
    return 0 if all(good for _, good, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
