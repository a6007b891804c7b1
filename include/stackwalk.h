/*
 * stackwalk — native stack unwinding for Linux.
 *
 * Public API.  Every function documents what it returns, whether it is
 * thread-safe and whether it is async-signal-safe.
 *
 * Conventions:
 *   - Functions that can fail return an `int`: 0 (or a positive count) on
 *     success, a negative `SW_E*` constant on failure.  No errno games.
 *   - "End of stack" is not an error: stepping APIs report it apart
 *     (SW_END_OF_STACK is a positive value).
 *
 * Stack use: sw_step, sw_backtrace* and sw_get_proc_name (once warm: the
 * first lookup in a module opens its files) use at most SW_STACK_BOUND
 * bytes of stack (4 KiB), so they fit a crash handler's small alternate
 * stack next to the kernel's signal frame.  The figure is the compiler's
 * (gcc -fcallgraph-info=su) for the deepest call chain, glibc's calls at
 * listed allowances, and tests/scripts/stack.sh enforces it.  A lazy JIT
 * callback's path (stackwalk/jit.h) is longer, plus the callback's own.
 */
#ifndef STACKWALK_H
#define STACKWALK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The release version.  These two lines are the one place it is kept: the
 * Makefile reads them (the installed file names, the .pc files) and the
 * library compiles them into sw_version().
 */
#define SW_VERSION_MAJOR 0
#define SW_VERSION_MINOR 2

/* Bytes of stack the signal-safe calls use at most (see above). */
#define SW_STACK_BOUND 4096

/* A version packed in an int: major in the high 16 bits, minor in the low
 * 16, so packed versions compare as the versions do (usable in #if). */
#define SW_VERSION_ENCODE(major, minor) ((major) * 65536 + (minor))
/* The version of the header a program was compiled with. */
#define SW_VERSION SW_VERSION_ENCODE(SW_VERSION_MAJOR, SW_VERSION_MINOR)

/*
 * SW_API marks the functions libstackwalk exports.  The library is built
 * with -fvisibility=hidden and a version script (mk/stackwalk.map): its
 * shared objects export these functions, under the version node
 * STACKWALK_0.1, and nothing else of stackwalk's own (tests/scripts/
 * exports.sh checks the set).
 */
#if defined(__GNUC__) || defined(__clang__)
#define SW_API __attribute__((visibility("default")))
#else
#define SW_API
#endif

/* Result codes.  All errors are negative; keep sw_strerror() in sync. */
enum sw_status {
	SW_OK = 0,
	SW_END_OF_STACK = 1,    /* not an error: the walk reached the outermost frame */

	SW_ETRUNCATED = -1,     /* read past the end of the data (section, entry, expression) */
	SW_ELEB128 = -2,        /* LEB128 value does not fit in 64 bits */
	SW_EENCODING = -3,      /* unsupported or malformed pointer encoding (DW_EH_PE_*) */
	SW_EBADCIE = -4,        /* FDE's CIE pointer does not point at a CIE */
	SW_EVERSION = -5,       /* unsupported CIE version */
	SW_EAUGMENTATION = -6,  /* unknown augmentation string character */
	SW_ELENGTH = -7,        /* entry length runs past the end of the section */
	SW_EBADOP = -8,         /* unknown or invalid DW_CFA_* / DW_OP_* opcode */
	SW_EBADREG = -9,        /* register number out of range */
	SW_ESTACKOVERFLOW = -10,  /* DWARF expression stack overflow */
	SW_ESTACKUNDERFLOW = -11, /* DWARF expression stack underflow */
	SW_ESTEPLIMIT = -12,    /* DWARF expression ran too many steps (loop?) */
	SW_EREMEMBER = -13,     /* DW_CFA_remember_state nested too deeply */
	SW_ERESTORE = -14,      /* DW_CFA_restore_state without remember_state */
	SW_ERANGE = -15,        /* FDE address range wraps around or is empty */
	SW_ENOTFOUND = -16,     /* no unwind information covers the address */
	SW_ENOTELF = -17,       /* not an ELF file */
	SW_EBADELF = -18,       /* malformed ELF (headers, section table, strings) */
	SW_EMEMORY = -19,       /* a memory or register read through a callback failed */
	SW_EDIVZERO = -20,      /* DWARF expression divides by zero */
	SW_EIO = -21,           /* I/O error opening or mapping a file */
	SW_ENOMEM = -22,        /* out of memory (never on the unwind path) */
	SW_EINVAL = -23,        /* invalid argument */
	SW_EUNSUPPORTED = -24,  /* valid but unsupported input (e.g. a 32-bit ELF) */
	SW_EBADHDR = -25,       /* malformed .eh_frame_hdr */
	SW_EALIGN = -26,        /* misaligned data (DW_EH_PE_aligned) */
	SW_EOVERLAP = -27,      /* JIT range overlaps a registered range */
	SW_EBADHANDLE = -28,    /* unknown or already removed JIT handle */
	SW_EFULL = -29,         /* a fixed JIT table is full (a growable table,
				 * the buffers of lazy descriptions) */
	SW_ENONAME = -30,       /* the procedure was found but has no name */
	SW_ETOODEEP = -31,      /* the stack has more frames than the walk could take
				 * (buffer full, or SW_MAX_SIGNAL_FRAMES) */
};

/*
 * sw_strerror - a short, static description of a status code.
 * Returns: a string that is never NULL (unknown codes get "unknown error").
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API const char *sw_strerror(int status);

/*
 * sw_version - the version of the library the program runs with, packed
 * as SW_VERSION_ENCODE(major, minor): compare it with SW_VERSION (the
 * header the program was compiled with) or with SW_VERSION_ENCODE(0, 2)
 * to find a feature; (v >> 16) is the major, (v & 0xffff) the minor.
 * Returns the packed version (> 0 from 0.1 on).
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API uint32_t sw_version(void);

/* ------------------------------------------------------------------ *
 * Local unwinding (x86-64).
 *
 * Registers use DWARF numbering (System V psABI); SW_REG_IP is the return
 * address column.
 * ------------------------------------------------------------------ */

enum sw_reg {
	SW_REG_RAX = 0, SW_REG_RDX, SW_REG_RCX, SW_REG_RBX,
	SW_REG_RSI, SW_REG_RDI, SW_REG_RBP, SW_REG_RSP,
	SW_REG_R8, SW_REG_R9, SW_REG_R10, SW_REG_R11,
	SW_REG_R12, SW_REG_R13, SW_REG_R14, SW_REG_R15,
	SW_REG_RIP,
	SW_REG_COUNT,                   /* 17 */
	SW_REG_IP = SW_REG_RIP,
	SW_REG_SP = SW_REG_RSP,
};

/*
 * A register snapshot (sw_getcontext, or made by hand for sw_init_local).
 * Opaque, and sized for the largest architecture stackwalk may support
 * (AArch64: x0..x30, sp, pc, d8..d15, a flags word, and room): its size
 * stays the same when the library learns more, so programs built against
 * this header keep working.  Read and write its registers with
 * sw_context_get_reg / sw_context_set_reg; a zero-filled context
 * (memset, or `= { 0 }`) is valid and has every register 0.  The real
 * layout is checked to fit by a _Static_assert inside the library.
 */
typedef struct sw_context {
	uint64_t opaque[48];
} sw_context_t;

/* Caller-owned unwind cursor (no allocation).  The real state is checked
 * to fit by a _Static_assert inside the library. */
typedef struct sw_cursor {
	uint64_t opaque[64];
} sw_cursor_t;

/*
 * sw_getcontext - capture the caller's registers at the instruction after
 * the call (callee-saved registers, rsp, rip; caller-saved ones read 0).
 * Assembly, no syscall.  Returns 0.
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API int sw_getcontext(sw_context_t *ctx);

/*
 * sw_context_get_reg / sw_context_set_reg - a register of a snapshot
 * (enum sw_reg).  sw_getcontext stores the caller-saved registers as 0;
 * set_reg is how a context is made by hand (a zero-filled context, then
 * at least the IP, SP and the frame's callee-saved registers), e.g. from
 * registers another thread or a debugger saved.
 * Returns 0, SW_EBADREG (reg not in 0..SW_REG_COUNT-1) or SW_EINVAL (ctx
 * or value NULL).  Thread-safe: yes (the context is the caller's).
 * Async-signal-safe: yes.
 */
SW_API int sw_context_get_reg(const sw_context_t *ctx, int reg, uint64_t *value);
SW_API int sw_context_set_reg(sw_context_t *ctx, int reg, uint64_t value);

/*
 * sw_init - one-time initialisation: resolves the optional glibc entry
 * points and sizes the caches.  Called implicitly by every entry point
 * below (then async-signal-safe only once it has completed: call it early,
 * e.g. from main, before unwinding from signal handlers).
 * Returns 0.  Thread-safe: yes.  Async-signal-safe: no.
 */
SW_API int sw_init(void);

/*
 * sw_init_local - start a walk at the frame captured by sw_getcontext.
 * Returns 0 or SW_EINVAL.  Thread-safe: yes (the cursor is the caller's).
 * Async-signal-safe: yes.
 */
SW_API int sw_init_local(sw_cursor_t *cursor, const sw_context_t *ctx);

/*
 * sw_init_ucontext - start a walk at the interrupted frame described by a
 * ucontext_t (the third argument of an SA_SIGINFO handler).  The first
 * frame's IP is the interrupted instruction, not a return address.
 * Returns 0 or SW_EINVAL.  Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API int sw_init_ucontext(sw_cursor_t *cursor, const void *ucontext);

/*
 * A walk has no frame-count limit: every step must make the stack grow
 * (the caller's CFA above the current SP, else SW_ERANGE), which ends
 * loops and corrupt chains.  Only frames interrupted by signals are exempt
 * (a handler may run on another stack), so a walk passes at most this many
 * of them (nested signals), then sw_step returns SW_ETOODEEP.
 */
#define SW_MAX_SIGNAL_FRAMES 256

/*
 * sw_step - move the cursor to the caller's frame.
 * Returns 0 (moved), SW_END_OF_STACK (the current frame is the outermost:
 * no caller; also for the bottom of a makecontext() stack, glibc's
 * __start_context), or a negative error: SW_ENOTFOUND (no unwind
 * information and no fallback applies), SW_EMEMORY (a stack read failed),
 * SW_ERANGE (the CFA did not grow: corrupt or looping stack), SW_ETOODEEP
 * (more than SW_MAX_SIGNAL_FRAMES signal frames), or a CFI parse error.
 * After an error the cursor stays on the frame it was on.
 * Thread-safe: yes.  Async-signal-safe: yes.  Allocates nothing, no locks.
 * Stack: at most SW_STACK_BOUND bytes.
 */
SW_API int sw_step(sw_cursor_t *cursor);

/*
 * sw_get_reg / sw_set_reg - a register of the cursor's current frame
 * (enum sw_reg).  Registers the unwind information cannot recover (the
 * caller-saved ones after a step) give SW_EBADREG.
 * Returns 0, SW_EBADREG or SW_EINVAL.  Thread-safe, async-signal-safe: yes.
 */
SW_API int sw_get_reg(const sw_cursor_t *cursor, int reg, uint64_t *value);
SW_API int sw_set_reg(sw_cursor_t *cursor, int reg, uint64_t value);

/* The current frame's IP, SP, and canonical frame address (the SP value
 * just before the call into this frame, i.e. the caller's SP; computed by
 * looking up the frame's rule, 0 when that fails or there is no caller).
 * Thread-safe, async-signal-safe: yes. */
SW_API uint64_t sw_get_ip(const sw_cursor_t *cursor);
SW_API uint64_t sw_get_sp(const sw_cursor_t *cursor);
SW_API uint64_t sw_get_cfa(const sw_cursor_t *cursor);

/* 1 when the current frame was interrupted by a signal (its IP is the
 * interrupted instruction), else 0.  Thread-safe, async-signal-safe: yes. */
SW_API int sw_is_signal_frame(const sw_cursor_t *cursor);

/* Where the current frame's unwind information came from. */
enum sw_proc_source {
	SW_SRC_NONE = 0,
	SW_SRC_EH_FRAME_HDR,            /* .eh_frame through .eh_frame_hdr */
	SW_SRC_EH_FRAME,                /* .eh_frame scanned (no header) */
	SW_SRC_DEBUG_FRAME,             /* .debug_frame read from the file */
	SW_SRC_FRAME_POINTER,           /* no CFI: rbp chain */
	SW_SRC_RETURN_ADDRESS,          /* first frame: return address at SP */
	SW_SRC_SIGNAL_TRAMPOLINE,       /* __restore_rt recognised by its bytes */
	SW_SRC_JIT,                     /* the JIT registry */
	SW_SRC_STACK_SCAN,              /* no CFI: return address found by scanning
					 * the first stack slots */
};

/*
 * sw_get_frame_source - how the cursor's current frame was found: the
 * enum sw_proc_source of the rule that recovered its registers from the
 * frame below it.  SW_SRC_NONE for the frame the walk started at (its
 * registers came from the context); SW_SRC_EH_FRAME_HDR, SW_SRC_EH_FRAME,
 * SW_SRC_DEBUG_FRAME, SW_SRC_JIT: the callee's CFI, from that source;
 * SW_SRC_SIGNAL_TRAMPOLINE: the registers a signal frame saved (glibc's
 * __restore_rt, with or without CFI); and the heuristics for code without
 * CFI: SW_SRC_FRAME_POINTER (CFA = rbp + 16), SW_SRC_RETURN_ADDRESS (an
 * interrupted frame whose IP is not code: the return address at SP),
 * SW_SRC_STACK_SCAN (an interrupted frame in a prologue: a return address
 * just after a call instruction in the first stack slots).
 * Returns the source.  Thread-safe, async-signal-safe: yes.
 */
SW_API int sw_get_frame_source(const sw_cursor_t *cursor);

/*
 * sw_is_reliable - 1 while every frame of the walk so far was found from
 * unwind information (CFI, JIT descriptions, signal frames), 0 from the
 * first frame a heuristic found (frame pointer, return address at SP,
 * stack scan) on: that frame may be wrong, and so may every frame after
 * it, as the Linux kernel's ORC unwinder marks a guessed frame.
 * Returns 1 or 0.  Thread-safe, async-signal-safe: yes.
 */
SW_API int sw_is_reliable(const sw_cursor_t *cursor);

/*
 * sw_get_lookup_pc - the address that identifies the current frame's code
 * (for its unwind information, procedure and name): the IP itself for an
 * interrupted frame (sw_is_signal_frame) or an IP of 0, else IP - 1, in
 * the call instruction (a return address may follow a noreturn call that
 * ends its function).  Every lookup of stackwalk uses it.
 * Returns the address.  Thread-safe, async-signal-safe: yes.
 */
SW_API uint64_t sw_get_lookup_pc(const sw_cursor_t *cursor);

struct sw_proc_info {
	uint64_t start;                 /* first address of the procedure (FDE) */
	uint64_t end;                   /* one past its last address */
	uint64_t lsda;                  /* language-specific data area, 0 if none */
	uint64_t personality;           /* personality routine, 0 if none */
	uint64_t fde;                   /* address of the FDE, 0 if none */
	uint64_t module_base;           /* load bias of the module */
	int source;                     /* enum sw_proc_source */
	/* Room to grow: the library sets these to 0.  Later versions give
	 * them meanings (0 meaning "not known") instead of growing the struct,
	 * whose size (128 bytes) stays fixed, so a program built against an
	 * older header keeps passing a buffer of the right size. */
	uint32_t reserved32;
	uint64_t reserved[9];
};

/*
 * sw_get_proc_info - the procedure containing the current frame's IP.
 * Returns 0, SW_ENOTFOUND, or a CFI parse error.
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API int sw_get_proc_info(sw_cursor_t *cursor, struct sw_proc_info *info);

/* ------------------------------------------------------------------ *
 * Unwind information by address, without a cursor: for symbolizers,
 * profilers that keep their own caches, and C++ runtimes (an _Unwind_*
 * implementation, a personality routine, _Unwind_Find_FDE).  Every
 * source a walk asks is asked here, in the same order: registered JIT
 * code, the module's .eh_frame (through .eh_frame_hdr), its file's
 * .eh_frame/.debug_frame.
 *
 * `pc` is the address looked up, as is.  For a return address (an entry
 * of sw_backtrace after the first, or sw_get_ip of a frame that is not a
 * signal frame) pass the address minus 1: a call can be the last
 * instruction of a procedure, and its return address then belongs to the
 * next one.  For an interrupted instruction (a signal frame, pcs[0] of
 * sw_backtrace_ucontext) pass it unchanged.
 * ------------------------------------------------------------------ */

/*
 * sw_get_proc_info_by_pc - the procedure containing `pc`, as
 * sw_get_proc_info gives it for a frame at that PC (an indirect
 * personality pointer is read through the checked memory reader).
 * Returns 0, SW_ENOTFOUND, SW_EINVAL (info is NULL) or a CFI parse error.
 * Thread-safe: yes, no locks.  Async-signal-safe: yes, after sw_init has
 * completed (the first lookup in a module whose unwind information is
 * read from its file opens and maps that file, as a walk does).
 */
SW_API int sw_get_proc_info_by_pc(uint64_t pc, struct sw_proc_info *info);

/*
 * sw_info_generation - a number that changes whenever unwind information
 * looked up earlier may have become stale: a module was unloaded
 * (dlclose), JIT code was removed or moved, or sw_flush_cache was called.
 * To cache answers of the lookups above per PC, read it BEFORE the lookup
 * and store it with the answer; the answer holds while the number is the
 * same.  0 means that such a change is in progress (a dlclose between
 * unmapping the module and returning): cache nothing looked up then.
 * Information added (dlopen, a new JIT registration) need not change the
 * number: cache answers that were found, not SW_ENOTFOUND.
 * Returns the generation, or 0.  Thread-safe: yes (an acquire load).
 * Async-signal-safe: yes.
 */
SW_API uint32_t sw_info_generation(void);

/*
 * sw_unmap_begin / sw_unmap_end - bracket the unmapping of code whose
 * unwind information stackwalk may have cached and cannot see go away
 * (stackwalk does this itself around every dlclose it intercepts; JIT
 * code needs none: sw_jit_remove / sw_jit_move flush before they return,
 * and the JIT frees or reuses the memory only after that): sw_unmap_begin
 * before the code's memory may be unmapped or reused, sw_unmap_end once
 * the call that unmapped it has returned.  Both flush the rule cache, and in between nothing looked up
 * is cached (sw_info_generation returns 0), so no walk applies the old
 * code's rules to code mapped there next -- even by another thread, before
 * the unmapping call returns.  Brackets nest and may overlap across
 * threads; every sw_unmap_begin needs one sw_unmap_end.  (A dlclose
 * interposer of your own, or libstackwalk_unwind.so's, calls these.)
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API void sw_unmap_begin(void);
SW_API void sw_unmap_end(void);

/* The FDE covering a PC, in .eh_frame's in-memory layout. */
struct sw_eh_fde {
	const void *fde;                /* the FDE: its CIE pointer leads to its CIE,
					 * as in any .eh_frame section */
	uint64_t start;                 /* first address of the procedure: what
					 * libgcc returns as dwarf_eh_bases.func (for
					 * code moved with sw_jit_move, the code's
					 * address now, not the FDE's pc_begin) */
	int copied;                     /* 1: the CIE + FDE were re-encoded into the
					 * caller's buffer, 0: the bytes in memory */
	int source;                     /* SW_SRC_EH_FRAME_HDR, SW_SRC_EH_FRAME or
					 * SW_SRC_JIT */
	uint64_t reserved[2];           /* 0; room to grow */
};

/*
 * sw_find_eh_fde - the FDE covering `pc`, for consumers that read
 * .eh_frame bytes themselves (what libgcc's _Unwind_Find_FDE returns).
 * Textrel and datarel bases are not used on x86-64 (libgcc's are 0).
 *   - A module's FDE is its .eh_frame in memory: valid while the module
 *     stays loaded.
 *   - A JIT registration's FDE points into the registered bytes when
 *     their pc-relative pointers were encoded for where they live: valid
 *     until the registration is removed or moved (sw_jit_remove,
 *     sw_jit_move).  Otherwise (bytes registered for another address, a
 *     description or callback converted on demand) the CIE + FDE are
 *     re-encoded with absolute pointers into buf[0..size) (copied = 1):
 *     valid while the buffer is; 2048 bytes hold the copy of any
 *     description the sw_jit_* forms accept.
 * Returns 0, SW_ENOTFOUND, SW_EUNSUPPORTED (unwind information exists but
 * not as .eh_frame in memory: .debug_frame read from the file, or a JIT
 * FDE that cannot be re-encoded), SW_ETRUNCATED (buf too small for the
 * copy), SW_EINVAL (out is NULL) or a CFI parse error.
 * Thread-safe: yes, no locks.  Async-signal-safe: yes, after sw_init has
 * completed.
 */
SW_API int sw_find_eh_fde(uint64_t pc, void *buf, size_t size, struct sw_eh_fde *out);

/*
 * sw_get_proc_name - name of the procedure containing the current frame's
 * IP and the offset of the IP in it: registered JIT code, else the symbol
 * tables (.symtab of the separate debug file, .symtab, .dynsym) read from
 * the files of loaded modules and from the vDSO's image.  The separate
 * debug file is found as gdb finds it, by build-id or .gnu_debuglink,
 * under /usr/lib/debug or the ':'-separated directories of the
 * environment variable SW_DEBUG_DIR (read when a module is first named).  The name is
 * truncated to fit `size` (always NUL-terminated when size > 0).
 * The name is always a symbol that contains the looked-up PC (the IP, or
 * IP - 1 for a return address; the IP itself when that is a symbol's
 * first byte and IP - 1 is in none): a sized symbol, or a size-0 function
 * symbol (hand-written assembly) only when no sized one contains the PC
 * and no other symbol of the section starts between it and the PC.
 * Returns 0, SW_ENOTFOUND (no symbol contains the PC).
 * Thread-safe: yes, no locks.
 * Async-signal-safe: yes for modules already named once (a warm-up call
 * with an IP in each module, e.g. one named walk from main, makes later
 * calls from signal handlers, or in a child after fork, take no lock, call
 * neither the loader nor malloc, and make no system call).  The first call
 * for a module opens and maps its files (open, fstat, mmap, and snprintf
 * for the debug file's path): safe in practice, not guaranteed by POSIX.
 * Needs glibc >= 2.35 (_dl_find_object); older C libraries find the module
 * with dl_iterate_phdr, which takes the loader lock.  Modules whose file
 * cannot be opened are named through dladdr (the loader lock) from .dynsym.
 * Stack: at most SW_STACK_BOUND bytes once warm; a module's first call
 * opens files with more (PATH_MAX buffers).
 */
SW_API int sw_get_proc_name(sw_cursor_t *cursor, char *buf, size_t size, uint64_t *offset);

/*
 * sw_get_proc_name_by_pc - the same without a cursor: the name of the
 * procedure (registered JIT code first, then the module's symbols) that
 * contains `pc` itself, and pc's offset in it.  Pass a return address
 * minus 1 to name the call (what sw_get_lookup_pc gives).
 * Returns 0, SW_ENOTFOUND, or SW_EINVAL (buf NULL or size 0).
 * Thread-safe: yes.  Async-signal-safe: as sw_get_proc_name.
 */
SW_API int sw_get_proc_name_by_pc(uint64_t pc, char *buf, size_t size, uint64_t *offset);

/*
 * sw_backtrace - return addresses of the calling thread's stack, innermost
 * first, like glibc backtrace(): pcs[0] is the address sw_backtrace
 * returns to.  At most `max` entries, as deep as the stack goes (no other
 * limit).
 * Returns the number stored (>= 0), or a negative error when not even the
 * first frame could be read.  A return value equal to `max` means the
 * buffer filled: the trace may be cut (use sw_backtrace2 to know).  A
 * smaller one is the whole stack, or as far as it could be unwound (an
 * error ended the walk: sw_backtrace2 tells which).
 * Thread-safe: yes.  Async-signal-safe: yes (after sw_init).  Allocates
 * nothing, takes no locks.  Stack: at most SW_STACK_BOUND bytes (so are
 * sw_backtrace2 and sw_backtrace_ucontext*).
 */
SW_API int sw_backtrace(void **pcs, int max);

/*
 * sw_backtrace2 - sw_backtrace that says how the trace ended: *status
 * (when not NULL) receives SW_END_OF_STACK when pcs holds the whole stack
 * (to its outermost frame), SW_ETOODEEP when the buffer filled before the
 * end (the stack has more frames), or the negative error of the step that
 * failed (the trace stops at the last frame that could be unwound).
 * Returns as sw_backtrace.  Thread-safe, async-signal-safe: as sw_backtrace.
 */
SW_API int sw_backtrace2(void **pcs, int max, int *status);

/*
 * sw_backtrace_ucontext - the same from a signal handler's ucontext_t:
 * pcs[0] is the interrupted PC, then the return addresses above it.
 * Returns as sw_backtrace.  Thread-safe, async-signal-safe: yes.
 * sw_backtrace_ucontext2 also reports how it ended, as sw_backtrace2.
 */
SW_API int sw_backtrace_ucontext(const void *ucontext, void **pcs, int max);
SW_API int sw_backtrace_ucontext2(const void *ucontext, void **pcs, int max, int *status);

/*
 * sw_resume - continue execution in the cursor's current frame with its
 * registers (as longjmp does for a setjmp point).  Does not return on
 * success; returns SW_EINVAL when the frame's IP or SP are unknown.
 * General registers only (vector registers keep their current values).
 * Writes nothing the resumed frame owns: not the 128-byte red zone below
 * its SP, only the 8 bytes below that.  Correct if a signal arrives at any
 * instruction, and a walk sampled inside it continues in the resumed frame.
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API int sw_resume(sw_cursor_t *cursor);

/*
 * sw_flush_cache - forget every cached unwind rule (stackwalk does this
 * itself when it sees modules or JIT registrations change).  When you
 * replace code by other means, call it once the old code can no longer
 * run and before its addresses are reused — a call only afterwards leaves
 * a window in which another thread may apply the old code's cached rules
 * to the new — and again once the new code is in place.
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API void sw_flush_cache(void);

/*
 * Per-module tables.  stackwalk keeps two fixed tables indexed by loaded
 * module: the files of modules whose unwind information is read from the
 * file (.eh_frame without .eh_frame_hdr, .debug_frame), and the symbol
 * tables sw_get_proc_name reads.  Entries of unloaded modules are reused.
 * A lookup the table cannot hold (every entry describes a loaded module,
 * or the module's entry is being filled by another thread or by the code
 * a signal handler interrupted) maps the module's files for that lookup
 * alone: slower, same answer.  Such lookups are counted here, so a program
 * that keeps more modules loaded than the tables hold can see it.
 */
struct sw_stats {
	uint32_t file_cfi_capacity;     /* entries of the file-CFI table */
	uint32_t file_cfi_used;         /* entries holding a module (loaded, or
					 * unloaded and not reused yet) */
	uint64_t file_cfi_reclaimed;    /* entries reused after their module was
					 * unloaded (or its file replaced) */
	uint64_t file_cfi_overflow;     /* unwind lookups served without an entry */
	uint32_t names_capacity;        /* the same for the name table */
	uint32_t names_used;
	uint64_t names_reclaimed;
	uint64_t names_overflow;        /* sw_get_proc_name calls served without
					 * an entry */
	/* The compact unwind tables (src/table): a loaded module's table is
	 * built from its .eh_frame the first time a walk misses the rule
	 * cache in it, and answers later misses without interpreting DWARF. */
	uint32_t tables_capacity;       /* entries of the table of tables */
	uint32_t tables_used;           /* entries holding a module */
	uint64_t tables_built;          /* tables built */
	uint64_t tables_failed;         /* modules whose table could not be built
					 * (unwound by the DWARF interpreter) */
	uint64_t tables_reclaimed;      /* entries reused after an unload */
	uint64_t tables_overflow;       /* lookups that found no free entry (the
					 * interpreter answered) */
	uint64_t table_dwarf_steps;     /* steps whose row the table leaves to the
					 * interpreter (expressions, signal frames) */
	/* Room to grow, as in struct sw_proc_info: set to 0 by the library,
	 * later counters take these words; the size (128 bytes) stays fixed. */
	uint64_t reserved[4];
};

/*
 * sw_get_stats - the counters above, since the process started (a
 * snapshot: each field is read atomically, the set is not).
 * Returns 0 or SW_EINVAL (stats is NULL).
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API int sw_get_stats(struct sw_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* STACKWALK_H */
