/*
 * stackwalk/remote.h — unwinding other processes, core files and stack
 * snapshots.
 *
 * An address space (sw_addr_space_t) is what a walk reads when the stack
 * is not its own: memory, the modules mapped there and their files, and
 * the threads with their registers.  Three kinds:
 *
 *   - another process (sw_as_attach): each thread is stopped with ptrace
 *     only as long as it takes to copy its registers and its stack (bulk
 *     reads with process_vm_readv), then let go; the process is detached
 *     and running when sw_as_attach returns, and every walk after that
 *     reads the copies.  Modules come from /proc/PID/maps, their files
 *     through /proc/PID/map_files or /proc/PID/root, so deleted files and
 *     files inside a container work;
 *   - a core file (sw_as_open_core): threads from NT_PRSTATUS (the
 *     faulting one's signal from NT_SIGINFO), memory from PT_LOAD, modules
 *     from NT_FILE or, when the core has none, from the dynamic linker's
 *     r_debug list in the core's memory; every file is checked against the
 *     build-id the core recorded;
 *   - a snapshot (sw_as_new): registers and a copy of the stack per walk,
 *     as perf_event's PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER give
 *     them, over modules the caller adds (sw_as_add_module).  Parsed module
 *     files are shared by every address space of the process, keyed by
 *     path and build-id (sw_as_cache_flush drops the unused ones).
 *
 * JIT code of the target is found through the GDB JIT interface
 * (__jit_debug_descriptor: stackwalk's own registry, LLVM, V8 --gdbjit
 * and others publish there) and named through /tmp/perf-PID.map.
 *
 * A walk uses the ordinary cursor: sw_init_remote or sw_init_snapshot,
 * then sw_step, sw_get_reg, sw_get_ip, sw_get_frame_source,
 * sw_is_reliable, sw_get_lookup_pc, sw_get_proc_info as for a local walk.
 * A walk reads nothing but the address space: no system call, no file
 * read, no allocation, no lock (a live process's memory outside the copied
 * stacks — rare: CFI expressions — is read with process_vm_readv).  An
 * address space is immutable once made, apart from the snapshot's module
 * list: any number of threads may walk it at once; adding and removing
 * modules must not race with walks of the same address space.
 *
 * Untrusted input (core files, stack contents, the target's memory and
 * files) gives error codes and messages, never a crash or a hang.
 */
#ifndef STACKWALK_REMOTE_H
#define STACKWALK_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <stackwalk.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_addr_space sw_addr_space_t;

enum sw_as_kind {
	SW_AS_PROCESS = 1,      /* sw_as_attach */
	SW_AS_CORE = 2,         /* sw_as_open_core */
	SW_AS_SNAPSHOT = 3,     /* sw_as_new */
	SW_AS_CALLBACKS = 4,    /* sw_as_new_callbacks (since 0.2) */
};

/* Options of the constructors; a zero-filled struct (or NULL) is the
 * default.  `size` is sizeof(struct sw_as_options) as the caller was
 * compiled (0 is taken as the current size). */
struct sw_as_options {
	size_t size;
	pid_t tid;              /* attach: only this thread (0: every thread) */
	size_t stack_max;       /* attach: bytes copied per thread stack, from SP
				 * (0: SW_AS_STACK_MAX_DEFAULT) */
	const char *exe;        /* core: the executable, when the core's path to
				 * it is wrong or missing (NULL: from the core) */
	const char *sysroot;    /* core: prefix for the module paths the core
				 * names (NULL: none) */
	unsigned flags;         /* SW_AS_* below */
	char *errbuf;           /* when not NULL: why a constructor failed, and
				 * nothing more (warnings: sw_as_warnings) */
	size_t errsize;
};

#define SW_AS_STACK_MAX_DEFAULT (8u << 20)

#define SW_AS_NO_JIT 0x1u       /* do not read the JIT interface or perf maps */

/*
 * sw_as_attach - copy the threads of process `pid` (registers and stacks)
 * and describe its modules.  Each thread is stopped with PTRACE_SEIZE +
 * PTRACE_INTERRUPT only while its registers and stack are copied, then
 * detached; threads that exit meanwhile are left out (a warning).
 * Returns 0 (*out set; free with sw_as_free), SW_EINVAL, SW_ENOTFOUND (no
 * such process), SW_EUNSUPPORTED (ptrace refused: a message in
 * opt->errbuf says what to change — Yama's ptrace_scope, another user's
 * process, a process already traced), SW_EMEMORY (nothing could be
 * copied), SW_ENOMEM.
 * Thread-safe: yes (do not attach to the calling process).
 * Async-signal-safe: no.  The target is always resumed and detached, also
 * when this fails; a SIGINT or SIGTERM that arrives meanwhile is held off
 * until the target is let go.
 */
SW_API int sw_as_attach(pid_t pid, const struct sw_as_options *opt, sw_addr_space_t **out);

/*
 * sw_as_open_core - read the core file at `path`.
 * Returns 0 (*out set; warnings such as a truncated core or a module file
 * missing or not matching its build-id are in sw_as_warnings), SW_EIO,
 * SW_ENOTELF, SW_EBADELF (not an ELF core, or no thread in it),
 * SW_EUNSUPPORTED (not x86-64), SW_ENOMEM.
 * Thread-safe: yes.  Async-signal-safe: no.
 */
SW_API int sw_as_open_core(const char *path, const struct sw_as_options *opt,
			   sw_addr_space_t **out);

/*
 * sw_as_new - an empty snapshot address space: add modules with
 * sw_as_add_module, then walk copies of stacks with sw_init_snapshot.
 * Returns 0, SW_EINVAL or SW_ENOMEM.  Thread-safe: yes.  Async-signal-safe: no.
 */
SW_API int sw_as_new(const struct sw_as_options *opt, sw_addr_space_t **out);

/* sw_as_free - free an address space (NULL: nothing).  No walk of it may
 * be running.  Thread-safe: per address space.  Async-signal-safe: no. */
SW_API void sw_as_free(sw_addr_space_t *as);

/* sw_as_kind - the enum sw_as_kind of `as` (SW_EINVAL for NULL).
 * Thread-safe: yes.  Async-signal-safe: yes. */
SW_API int sw_as_kind(const sw_addr_space_t *as);

/*
 * sw_as_warnings - what went wrong without making the address space
 * useless, one message per line ("" when nothing), e.g. a truncated core,
 * a module whose file is missing or has another build-id, a thread that
 * exited before it could be stopped.  Valid until the next call on `as`.
 * Thread-safe: as the address space.  Async-signal-safe: no.
 */
SW_API const char *sw_as_warnings(const sw_addr_space_t *as);

/* ---------------------------------------------------------------- threads */

enum sw_thread_state {
	SW_THREAD_STOPPED = 0,  /* registers and stack copied */
	SW_THREAD_GONE = 1,     /* exited before its registers could be read */
};

struct sw_as_thread {
	pid_t tid;
	int state;              /* enum sw_thread_state */
	char name[16];          /* comm, "" if unknown */
	int signal;             /* core: the signal that killed the process, on
				 * the thread it hit (NT_SIGINFO / pr_cursig); 0 */
	int reserved0;
	uint64_t fault_addr;    /* with `signal`: siginfo's si_addr, else 0 */
	uint64_t stack_lo;      /* the stack bytes copied (attach), or found in */
	uint64_t stack_hi;      /* the core's memory: [stack_lo, stack_hi) */
	uint64_t stop_ns;       /* attach: how long the thread was stopped */
	uint64_t reserved[4];
	sw_context_t regs;      /* its registers (all 17, caller-saved too) */
};

/* sw_as_thread_count - threads in `as` (0 for a snapshot or NULL).
 * Thread-safe: yes.  Async-signal-safe: yes. */
SW_API size_t sw_as_thread_count(const sw_addr_space_t *as);

/* sw_as_get_thread - thread `i` (0 .. count-1; the faulting thread of a
 * core first).  Returns 0 or SW_EINVAL.  Thread-safe: yes.
 * Async-signal-safe: yes. */
SW_API int sw_as_get_thread(const sw_addr_space_t *as, size_t i, struct sw_as_thread *out);

/*
 * sw_init_remote - start a walk at thread `i` of `as` (the address space
 * must outlive the walk).  The first frame is the thread's interrupted
 * instruction (sw_is_signal_frame says 0: it is not a signal frame).
 * Returns 0 or SW_EINVAL (no such thread, or it is SW_THREAD_GONE).
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API int sw_init_remote(sw_cursor_t *cursor, const sw_addr_space_t *as, size_t i);

/*
 * sw_init_snapshot - start a walk at `regs` (IP and SP at least; all of
 * them as the sample has them) over `size` bytes of stack copied from
 * the address in regs' SP (`stack` stays owned by the caller and must
 * outlive the walk).  A read beyond the copy fails: the walk then ends
 * with SW_EMEMORY, and sw_cursor_stack_truncated() says it was the copy
 * that ended.
 * Returns 0 or SW_EINVAL.  Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API int sw_init_snapshot(sw_cursor_t *cursor, const sw_addr_space_t *as,
			    const sw_context_t *regs, const void *stack, size_t size);

/* sw_cursor_stack_truncated - 1 when the last sw_step of a snapshot or
 * remote walk failed because it read beyond the copied stack, else 0.
 * Thread-safe, async-signal-safe: yes. */
SW_API int sw_cursor_stack_truncated(const sw_cursor_t *cursor);

/* ---------------------------------------------------------------- modules */

enum {
	SW_MOD_MAIN = 0x1,      /* the executable */
	SW_MOD_VDSO = 0x2,      /* the vDSO, read from the target's memory */
	SW_MOD_JIT = 0x4,       /* code published through the GDB JIT interface */
	SW_MOD_NO_FILE = 0x8,   /* its file could not be opened (or did not
				 * match the build-id): no unwind info, no names */
	SW_MOD_NO_CFI = 0x10,   /* the file has neither .eh_frame nor .debug_frame */
	SW_MOD_DELETED = 0x20,  /* the target maps a file since deleted */
};

struct sw_as_module {
	uint64_t start, end;    /* the addresses it occupies */
	uint64_t bias;          /* load bias: address = link-time address + bias */
	const char *path;       /* as the target names it ("[vdso]", the JIT
				 * object's name) */
	const char *file;       /* the file opened here (through /proc/PID/
				 * map_files, the sysroot, ...), NULL if none */
	uint8_t build_id[40];
	uint32_t build_id_size; /* 0: none */
	uint32_t flags;         /* SW_MOD_* */
	uint64_t reserved[4];
};

/* sw_as_module_count - modules of `as`, sorted by address (0 for NULL).
 * Thread-safe: yes.  Async-signal-safe: yes. */
SW_API size_t sw_as_module_count(const sw_addr_space_t *as);

/* sw_as_get_module - module `i`.  Returns 0 or SW_EINVAL.  The strings stay
 * valid while the module is in `as`.  Thread-safe: yes.
 * Async-signal-safe: yes. */
SW_API int sw_as_get_module(const sw_addr_space_t *as, size_t i, struct sw_as_module *out);

/* sw_as_find_module - the module containing `addr`: its index (>= 0), and
 * *out when not NULL.  Returns the index or SW_ENOTFOUND.
 * Thread-safe: yes.  Async-signal-safe: yes. */
SW_API int sw_as_find_module(const sw_addr_space_t *as, uint64_t addr, struct sw_as_module *out);

/*
 * sw_as_add_module - snapshot: the file `path` is mapped at [start, end)
 * from file offset `pgoff` (a PERF_RECORD_MMAP2: one call per mapping; the
 * mappings of one file are merged into one module).  `build_id` (may be
 * NULL) is checked against the file's.  A file that cannot be opened still
 * gives a module (SW_MOD_NO_FILE) so its PCs are named by path.  Replaces
 * any module that overlapped the range.
 * Returns 0, SW_EINVAL (not a snapshot, empty range) or SW_ENOMEM.
 * Thread-safe: not with walks of the same address space.
 * Async-signal-safe: no (opens and maps the file).
 */
SW_API int sw_as_add_module(sw_addr_space_t *as, uint64_t start, uint64_t end, uint64_t pgoff,
			    const char *path, const uint8_t *build_id, size_t build_id_size);

/* sw_as_remove_modules - snapshot: forget the modules (and perf-map
 * names) overlapping [start, end) (munmap, exec: pass 0, UINT64_MAX).
 * Returns the number of modules removed.  Thread-safe: not with walks of
 * the same address space.  Async-signal-safe: no. */
SW_API int sw_as_remove_modules(sw_addr_space_t *as, uint64_t start, uint64_t end);

/*
 * sw_as_load_perf_map - snapshot: name code through a perf map (lines
 * "START SIZE NAME", hex; /tmp/perf-PID.map as JITs write it), for
 * sw_as_get_proc_name.  Attach and core spaces read the process's own map
 * themselves.  A later line for the same start wins, as in perf.
 * Returns the number of entries read, SW_EIO (cannot be opened),
 * SW_EINVAL or SW_ENOMEM.  Thread-safe: not with walks of the same
 * address space.  Async-signal-safe: no.
 */
SW_API int sw_as_load_perf_map(sw_addr_space_t *as, const char *path);

/* sw_as_cache_flush - drop the parsed module files no address space uses
 * any more (they are otherwise kept for the next snapshot of the same
 * file).  Returns the number dropped.  Thread-safe: yes (a lock).
 * Async-signal-safe: no. */
SW_API int sw_as_cache_flush(void);

/*
 * sw_as_get_proc_name - the name of the procedure containing `pc` in
 * `as`: JIT objects' and modules' symbol tables (.symtab, .dynsym), then
 * the perf map (/tmp/perf-PID.map) of the process.  Raw (mangled) names;
 * truncated to fit `size`, NUL-terminated when size > 0.
 * Returns 0, SW_ENOTFOUND (no module contains pc) or SW_ENONAME.
 * Thread-safe: yes.  Async-signal-safe: yes (linear scans: for tools).
 */
SW_API int sw_as_get_proc_name(const sw_addr_space_t *as, uint64_t pc, char *buf, size_t size,
			       uint64_t *offset);

/*
 * sw_as_read - read `size` bytes of the target's memory at `addr`: the
 * copied stacks, the core's memory, the live process (attach), and
 * read-only bytes of the module files.
 * Returns 0, SW_EMEMORY or SW_EINVAL.  Thread-safe: yes.
 * Async-signal-safe: yes.
 */
SW_API int sw_as_read(const sw_addr_space_t *as, uint64_t addr, void *buf, size_t size);

/* ---------------------------------------------------------------- callbacks
 *
 * (Since STACKWALK_0.2.)  An address space whose memory and unwind
 * information come from the caller: a tool that already keeps the target's
 * memory and modules its own way (a debugger, a profiler's sample, an
 * emulator, nongnu libunwind's accessors) walks it with stackwalk's
 * unwinder.  Walks start with sw_init_snapshot(cursor, as, regs, stack,
 * size): every read outside the optional stack copy goes to cb->read.
 *
 * For each PC a step needs, cb->find_cfi names the FDE covering it (an
 * address cb->read understands, or bytes in this process); stackwalk reads
 * the FDE and its CIE once, copies them into a fixed arena the address
 * space allocates at creation (keyed by FDE address, so a PC seen again
 * costs one find_cfi call and no read), and keeps the rules it compiles
 * in the space's own rule cache.  No walk allocates.  A full arena is an
 * error of the step (SW_EFULL), never silent: sw_as_flush empties it.
 *
 * One walk at a time per callbacks address space (the arena and the rule
 * cache are filled by walks); different spaces are independent.  The
 * callbacks are called on the walking thread, from sw_step,
 * sw_get_proc_info, sw_get_proc_name, sw_as_read and sw_as_get_proc_name;
 * they may do anything but walk or flush the same space.  Their answers
 * are untrusted: every read is bounded, bad entries give error codes.
 */

/* What find_cfi reports: the layout of the section the FDE is in. */
enum sw_as_cfi_format {
	SW_AS_CFI_EH_FRAME = 1,     /* .eh_frame: CIE pointers relative to the
				     * field, pointers in the CIE's encodings */
	SW_AS_CFI_DEBUG_FRAME = 2,  /* .debug_frame: CIE pointers are offsets
				     * from the section's start */
};

/* The unwind information of one PC.  stackwalk zero-fills it and sets
 * `size` before calling find_cfi; a callback writes no field that does not
 * fit in `size`. */
struct sw_as_cfi {
	size_t size;            /* sizeof(struct sw_as_cfi) as libstackwalk
				 * was compiled */
	int format;             /* enum sw_as_cfi_format */
	int reserved0;
	uint64_t fde;           /* address of the FDE (its length field) */
	uint64_t section;       /* address of the section's first byte
				 * (required for .debug_frame; 0: unknown for
				 * .eh_frame) */
	uint64_t section_size;  /* its size: the FDE and its CIE must lie in
				 * [section, section + section_size) (0:
				 * unknown, the entries' lengths bound them) */
	const void *data;       /* NULL: the entries are read with cb->read at
				 * these addresses.  Else the section's bytes
				 * in this process (section_size of them,
				 * required; e.g. a .debug_frame read from the
				 * file), read from here instead */
	uint64_t text_base;     /* DW_EH_PE_textrel base (0: none) */
	uint64_t data_base;     /* DW_EH_PE_datarel base (0: none) */
	uint64_t bias;          /* added to the code addresses the entries
				 * give (range, LSDA, personality slot): 0 for
				 * a loaded .eh_frame, the load bias for a
				 * .debug_frame of link-time addresses */
	uint64_t module_start;  /* the module containing pc, for the
				 * frame-pointer fallback's check of return */
	uint64_t module_end;    /* addresses (0, 0: unknown) */
	uint64_t reserved[4];
};

struct sw_as_callbacks {
	size_t size;            /* sizeof(struct sw_as_callbacks) as the caller
				 * was compiled (0: the current size) */
	void *arg;              /* passed to every callback */
	/* Required: `size` bytes of the target's memory at `addr` into buf.
	 * Returns 0, or any negative value (the read failed: SW_EMEMORY for
	 * the walk). */
	int (*read)(void *arg, uint64_t addr, void *buf, size_t size);
	/* Required: the unwind information for pc (*out zero-filled, `size`
	 * set).  Returns 0 (*out filled), SW_ENOTFOUND (no CFI covers pc:
	 * the walk uses its fallback rules, as for code without CFI), or
	 * another negative SW_E* code, which the step returns (values that
	 * are not SW_E* codes become SW_EMEMORY).  An FDE that does not
	 * cover pc counts as SW_ENOTFOUND. */
	int (*find_cfi)(void *arg, uint64_t pc, struct sw_as_cfi *out);
	/* Optional (NULL: no names): the name of the procedure containing
	 * pc into buf (NUL-terminated, truncated to fit) and pc's offset in
	 * it.  Returns 0, SW_ENOTFOUND (pc is in no known code) or
	 * SW_ENONAME. */
	int (*get_proc_name)(void *arg, uint64_t pc, char *buf, size_t size, uint64_t *offset);
	/* Bytes of the FDE/CIE arena (0: SW_AS_ARENA_DEFAULT; at most
	 * SW_AS_ARENA_MAX).  About one entry per 64 bytes is indexed. */
	size_t arena_size;
	unsigned flags;         /* SW_AS_CB_* below */
};

/* When the arena is full, empty it and go on instead of failing the step
 * with SW_EFULL: a walk needs an FDE only during the step that looked it
 * up, so this only costs reading the evicted entries again. */
#define SW_AS_CB_RECYCLE 0x1u

#define SW_AS_ARENA_DEFAULT (1u << 20)
#define SW_AS_ARENA_MAX (1u << 30)

/*
 * sw_as_new_callbacks - an address space over `cb` (copied; cb->arg and
 * the functions must stay valid while the space lives).  `opt` may be
 * NULL (only its errbuf is used).  Its arena and rule cache are allocated
 * here, once.  Its rule cache stays valid until sw_as_flush.
 * Returns 0 (*out set; free with sw_as_free), SW_EINVAL (NULL out or cb,
 * no read or find_cfi, an arena size above SW_AS_ARENA_MAX) or SW_ENOMEM.
 * Thread-safe: yes.  Async-signal-safe: no.
 */
SW_API int sw_as_new_callbacks(const struct sw_as_callbacks *cb, const struct sw_as_options *opt,
			       sw_addr_space_t **out);

/*
 * sw_as_flush - forget what walks of `as` cached: its compiled rules (any
 * kind of address space) and, for a callbacks space, the FDEs and CIEs in
 * its arena.  Call it when the target's code or unwind information
 * changed (a callbacks space cannot know), or when a walk reported
 * SW_EFULL.  No walk of `as` may be running.
 * Returns 0 or SW_EINVAL (NULL).  Thread-safe: not with walks of `as`.
 * Async-signal-safe: yes.
 */
SW_API int sw_as_flush(sw_addr_space_t *as);

#ifdef __cplusplus
}
#endif

#endif /* STACKWALK_REMOTE_H */
