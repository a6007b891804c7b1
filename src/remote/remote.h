/*
 * Internals of the address spaces of include/stackwalk/remote.h.
 *
 *   space.c   the address space: threads, memory segments, modules, their
 *             files (shared through a cache), the struct sw_remote a
 *             cursor reads through (source/target.h), snapshots, names
 *   ptrace.c  sw_as_attach: another process, through ptrace and /proc
 *   core.c    sw_as_open_core: ELF core files
 *   jit.c     the target's JIT code: the GDB JIT interface, perf maps
 *
 * A constructor makes an address space with sw_rs_new, fills it with the
 * sw_rs_add_* functions and ends with sw_rs_finish; after that it is
 * immutable (snapshots: sw_as_add_module / sw_as_remove_modules).
 * Construction may allocate and do I/O; the struct sw_remote operations
 * and the public getters may not.
 *
 * This layer includes nothing of src/unwind, src/jit, src/eh or
 * src/symbolize (tests/scripts/layers.sh).
 */
#ifndef SW_REMOTE_REMOTE_H
#define SW_REMOTE_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dwarf/cfi.h"
#include "elf/elf.h"
#include "source/target.h"
#include "stackwalk.h"
#include "stackwalk/remote.h"

/* A parsed ELF image a module's unwind information and names come from:
 * a file (shared by every address space through space.c's cache, keyed by
 * path and build-id) or a copy of the target's memory (the vDSO, a JIT
 * object; owned by its module). */
struct sw_rfile {
	struct sw_elf elf;
	unsigned refs;               /* cache: address spaces' modules using it */
	bool cached;                 /* in the cache (a file), else owned */
	void *image;                 /* memory images: the malloc'd bytes */
	char *key;                   /* cache: path, NUL, build-id hex */
	uint8_t build_id[40];
	uint32_t build_id_size;
	/* link-time addresses and bytes of the CFI sections (0/NULL: none) */
	uint64_t hdr_addr, hdr_size;
	const uint8_t *hdr;
	uint64_t eh_addr, eh_size;
	const uint8_t *eh;
	uint64_t dbg_size;
	const uint8_t *dbg;
	/* its compact table (src/table), built from .eh_frame through the
	 * header at the first walk that misses the rule cache in it, with
	 * link-time addresses; shared by every address space using the file;
	 * built once the file is hot (sw_table_threshold, table.h) */
	struct sw_table *table;      /* atomic: set once with table_state READY */
	uint32_t table_state;        /* SW_RF_TABLE_* (atomic) */
	uint32_t table_misses;       /* rule-cache misses in the file (atomic) */
};

enum {
	SW_RF_TABLE_NONE,            /* not built yet */
	SW_RF_TABLE_BUILDING,        /* a walk builds it (others interpret) */
	SW_RF_TABLE_READY,
	SW_RF_TABLE_FAILED,          /* no header, or the build failed */
};

struct sw_rmodule {
	struct sw_as_module pub;     /* pub.path / pub.file point at path / file */
	char *path;
	char *file;
	struct sw_rfile *rf;         /* NULL: no file (SW_MOD_NO_FILE) */
	struct sw_eh_hdr hdr;        /* .eh_frame_hdr at its address here */
	bool has_hdr;
	uint64_t first_pgoff;        /* the file offset mapped at pub.start */
};

/* Target memory held here: [start, start + avail) readable from `data`,
 * [start + avail, end) known to exist but not available (a truncated
 * core, pages the core did not dump). */
struct sw_rseg {
	uint64_t start, end;
	const uint8_t *data;
	uint64_t avail;
};

struct sw_rthread {
	struct sw_as_thread pub;
	uint8_t *stack;              /* the copied stack (malloc'd), or NULL */
	uint64_t stack_lo;           /* the address of stack[0] */
	size_t stack_size;
};

/* A name from a perf map: [start, start + size). */
struct sw_rname {
	uint64_t start, size;
	char *name;
	size_t seq;                  /* the order added (the last one wins) */
};

struct sw_addr_space {
	struct sw_remote ops;        /* first: what a cursor reads through */
	struct sw_rule_cache cache;  /* ops.cache: compiled rules of its walks */
	int kind;                    /* enum sw_as_kind */
	pid_t pid;                   /* the process (attach; a core's, for the
				      * perf map), 0 if unknown */
	bool live;                   /* attach: read memory outside the copies
				      * with process_vm_readv on pid ... */
	pid_t mem_pid;               /* ... or on this thread when > 0 (the
				      * leader has exited) */
	unsigned flags;              /* SW_AS_* of the options */
	struct sw_rthread *threads;
	size_t nthreads, cap_threads;
	struct sw_rmodule *mods;     /* sorted by start, not overlapping */
	size_t nmods, cap_mods;
	struct sw_rseg *segs;        /* sorted by start */
	size_t nsegs, cap_segs;
	struct sw_rname *names;      /* perf map, sorted by start */
	size_t nnames, cap_names;
	void **owned;                /* freed with the address space */
	size_t nowned, cap_owned;
	char *warn;                  /* warnings, '\n'-separated */
	size_t warn_len, warn_cap;
	char root[64];               /* attach: "/proc/PID/root", else "" */
	char sysroot[256];           /* core: the option's sysroot, else "" */
	struct sw_cb_state *cb;      /* SW_AS_CALLBACKS: callbacks.c's state
				      * (sw_rs_own'ed), else NULL */
};

/* A new, empty address space of `kind` with `opt`'s flags; NULL when out
 * of memory.  Free with sw_as_free. */
struct sw_addr_space *sw_rs_new(int kind, const struct sw_as_options *opt);

/* Append a warning line (printf format; truncated at 1 KiB a line; the
 * list stops growing at 64 KiB with a last line saying so). */
void sw_rs_warn(struct sw_addr_space *as, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Write the constructor's failure message to opt->errbuf (when given). */
void sw_rs_error(const struct sw_as_options *opt, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Free `p` (malloc'd) with the address space.  Returns 0 or SW_ENOMEM (then
 * `p` was freed already). */
int sw_rs_own(struct sw_addr_space *as, void *p);

/* Add a thread.  `stack` (malloc'd, may be NULL) becomes the address
 * space's; [stack_lo, stack_lo + stack_size) are the bytes it holds.
 * Returns 0 or SW_ENOMEM (then `stack` was freed). */
int sw_rs_add_thread(struct sw_addr_space *as, const struct sw_as_thread *t, uint8_t *stack,
		     uint64_t stack_lo, size_t stack_size);

/* Add target memory (see struct sw_rseg); `data` must live as long as the
 * address space (the core's mapping, or sw_rs_own'ed).  Returns 0 or
 * SW_ENOMEM. */
int sw_rs_add_segment(struct sw_addr_space *as, uint64_t start, uint64_t end,
		      const uint8_t *data, uint64_t avail);

/*
 * Add one mapping of the file `path` (as the target names it) at
 * [start, end) from file offset `pgoff`, opened here from `open_path`
 * (NULL: `path`, under the sysroot for a core).  Consecutive mappings of
 * the same path make one module: its bias comes from the first mapping
 * (the PT_LOAD holding pgoff).  `build_id` (NULL: unknown) must match the
 * file's, else the module gets SW_MOD_NO_FILE and a warning.  `flags`:
 * SW_MOD_MAIN, SW_MOD_DELETED.  A file that cannot be opened gives a
 * module with SW_MOD_NO_FILE and a warning.
 * Returns 0, SW_EINVAL or SW_ENOMEM.
 */
int sw_rs_add_mapping(struct sw_addr_space *as, uint64_t start, uint64_t end, uint64_t pgoff,
		      const char *path, const char *open_path, const uint8_t *build_id,
		      size_t build_id_size, unsigned flags);

/*
 * Add a module whose load bias is known (a core's r_debug link map: l_addr)
 * from the file `path` (opened from `open_path`, NULL: `path`): its range
 * is its PT_LOAD segments moved by `bias`.  Returns 0, SW_EINVAL (no file,
 * no PT_LOAD: nothing added, a warning) or SW_ENOMEM.
 */
int sw_rs_add_file_module(struct sw_addr_space *as, uint64_t bias, const char *path,
			  const char *open_path, const uint8_t *build_id, size_t build_id_size,
			  unsigned flags);

/*
 * Add a module from an ELF image copied out of the target (the vDSO; a JIT
 * object, whose sections carry their addresses in the target: bias 0).
 * `image` (malloc'd) becomes the module's.  [start, end): the vDSO's
 * mapping; 0, 0: the range of the image's executable sections (JIT).
 * Returns 0, SW_EINVAL (not a usable ELF image: freed, a warning) or
 * SW_ENOMEM (freed).
 */
int sw_rs_add_image_module(struct sw_addr_space *as, uint64_t start, uint64_t end, uint64_t bias,
			   const char *name, void *image, size_t size, unsigned flags);

/* A name for [start, start + size) (perf map).  Returns 0 or SW_ENOMEM. */
int sw_rs_add_name(struct sw_addr_space *as, uint64_t start, uint64_t size, const char *name);

/* Sort and index what was added; call once, last.  Returns 0 or SW_EINVAL
 * (nothing usable: no thread for a process or core). */
int sw_rs_finish(struct sw_addr_space *as);

/* The runtime address of the symbol `name` in the modules' symbol tables
 * (.dynsym, .symtab): 0 or SW_ENOTFOUND.  For the readers of the target's
 * own structures (__jit_debug_descriptor, _r_debug). */
int sw_rs_symbol_addr(const struct sw_addr_space *as, const char *name, uint64_t *addr);

/* The number of the `n` elements of `size` bytes at `base`, sorted by the
 * uint64_t start address each begins with, whose start is <= addr (so the
 * candidate holding addr is element result - 1): modules, segments,
 * names, a core's segments. */
size_t sw_rs_upper_bound(const void *base, size_t n, size_t size, uint64_t addr);

/* A hexadecimal number (an optional 0x, up to 64 bits) at *p, which is
 * moved past it: /proc/PID/maps, perf maps.  False when there is no digit
 * or it does not fit (*p and *out unchanged). */
bool sw_rs_parse_hex(const char **p, uint64_t *out);

/* jit.c: add the target's JIT objects (GDB JIT interface) as modules and
 * its perf map's names (/tmp/perf-PID.map, through as->root).  Call after
 * the files' modules are added, before sw_rs_finish (sw_rs_symbol_addr
 * works before it).  Returns the number of JIT objects added (>= 0; what
 * goes wrong is a warning). */
int sw_rs_load_jit(struct sw_addr_space *as);

/* Load the perf map at `path` into names.  Returns the entries read or a
 * negative code (SW_EIO when it cannot be opened).  jit.c. */
int sw_rs_load_perf_map(struct sw_addr_space *as, const char *path);

/* DWARF registers into a context (the architecture's register set of
 * ptrace and NT_PRSTATUS is read by sw_arch_user_regs, arch/target.h). */
void sw_rs_regs_to_context(const uint64_t regs[SW_REG_COUNT], sw_context_t *ctx);

#endif /* SW_REMOTE_REMOTE_H */
