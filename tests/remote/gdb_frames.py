# gdb_frames.py: every thread's frames as gdb sees them, for
# tests/scripts/remote_stack.sh and remote_core.sh:
#   gdb -batch -nx -p PID -x tests/remote/gdb_frames.py
# prints, per thread, "TID <lwp> <name>" then one line per frame:
#   "<pc hex> <kind> <function or ??>"
# where kind is gdb's frame type: normal, inline (a function inlined at the
# PC of the next real frame: the same PC), tailcall (a frame gdb infers from
# DW_TAG_call_site for a function that tail-called the frame below: not on
# the stack), sigtramp (the signal trampoline, __restore_rt), and
# others by gdb's name.  Frame PCs are gdb's frame.pc(): the interrupted
# instruction for the first frame and the frame a signal interrupted, the
# return address (not minus 1) for the others.
import gdb

gdb.execute("set pagination off")
gdb.execute("set backtrace past-main on")
gdb.execute("set backtrace past-entry on")
gdb.execute("set backtrace limit 5000")

KINDS = {
    gdb.NORMAL_FRAME: "normal",
    gdb.INLINE_FRAME: "inline",
    gdb.TAILCALL_FRAME: "tailcall",
    gdb.SIGTRAMP_FRAME: "sigtramp",
    gdb.DUMMY_FRAME: "dummy",
    gdb.ARCH_FRAME: "arch",
    gdb.SENTINEL_FRAME: "sentinel",
}

inf = gdb.selected_inferior()
for th in sorted(inf.threads(), key=lambda t: t.ptid[1]):
    th.switch()
    print("TID %d %s" % (th.ptid[1], th.name or ""))
    try:
        f = gdb.newest_frame()
    except gdb.error as e:
        print("error %s" % e)
        continue
    n = 0
    while f is not None and n < 5000:
        try:
            name = f.name() or "??"
        except gdb.error:
            name = "??"
        print("%x %s %s" % (f.pc(), KINDS.get(f.type(), str(f.type())), name))
        n += 1
        try:
            f = f.older()
        except gdb.error as e:
            print("error %s" % e)
            break
