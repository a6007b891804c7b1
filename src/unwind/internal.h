/*
 * Internals of the local unwinder: checked memory access, cursor state, the
 * rule cache, module lookup and the local sources of unwind information
 * (the module's .eh_frame through its header, the module file's CFI).  The
 * cursor asks every source through source/source.h and knows none by name;
 * what is specific to x86-64 (the compiled-rule packing, the no-CFI rules,
 * signal frames) comes from src/arch through arch/frame.h and
 * arch/sigframe.h.
 *
 * Everything reachable from sw_step / sw_backtrace is async-signal-safe:
 * no allocation, no locks, every read of stack or unknown memory through
 * sw_mem_read, at most SW_STACK_BOUND bytes of stack (tests/scripts/
 * stack.sh).
 */
#ifndef SW_UNWIND_INTERNAL_H
#define SW_UNWIND_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dwarf/cfi.h"
#include "source/source.h"
#include "source/target.h"
#include "stackwalk.h"

/* ---------------------------------------------------------------- memory */

/* Address range known to be readable for the whole walk (the thread's
 * stack, or the signal stack the walk started on).  A walk of another
 * target (source/target.h) has lo == hi == 0 and reads its copy of the
 * stack, then the target, through `remote`. */
struct sw_mem {
	uint64_t lo, hi;
	const struct sw_remote *remote;  /* NULL: this process */
	const uint8_t *copy;             /* remote: the copied stack ... */
	uint64_t copy_lo, copy_hi;       /* ... holding [copy_lo, copy_hi) */
	uint64_t last_fail;              /* remote: the last address a read
					  * failed at (0: none) */
};

/* Set `m` to the stack that contains `sp`: the calling thread's stack
 * (cached per thread after the first call), else its sigaltstack, else the
 * mapping found in /proc/self/maps.  Async-signal-safe. */
void sw_mem_init(struct sw_mem *m, uint64_t sp);

/* Read `size` (<= 64) bytes at `addr` into `buf`.  Inside m's range: a
 * plain copy.  Elsewhere: a probing read that fails cleanly on unmapped
 * memory (process_vm_readv).  Returns 0 or SW_EMEMORY.  Async-signal-safe. */
int sw_mem_read_bytes(const struct sw_mem *m, uint64_t addr, void *buf, unsigned size);

/* Do `size` bytes at `addr` lie inside m's range (a plain load may read
 * them)? */
static inline bool sw_mem_holds(const struct sw_mem *m, uint64_t addr, uint64_t size)
{
	return addr >= m->lo && addr < m->hi && size <= m->hi - addr;
}

/* Read 8 bytes at `addr` with the same checks; the in-range case is inline
 * because every step of every walk goes through it.  Not instrumented by
 * ASan (see copy_stack in memory.c): a wrong rule may point at a redzone,
 * which must give a wrong value, not an abort. */
__attribute__((no_sanitize("address")))
static inline int sw_mem_read(const struct sw_mem *m, uint64_t addr, uint64_t *out)
{
	if (__builtin_expect(sw_mem_holds(m, addr, 8), 1)) {
		__builtin_memcpy(out, (const void *)(uintptr_t)addr, 8);
		return 0;
	}
	return sw_mem_read_bytes(m, addr, out, 8);
}

/* ---------------------------------------------------------------- cursor state */

enum {
	SW_CUR_INTERRUPTED = 1,  /* IP is an interrupted PC, not a return address */
	SW_CUR_SIGNAL = 2,       /* frame was interrupted by a signal */
	SW_CUR_DONE = 4,         /* no caller */
};

struct sw_cursor_impl {
	uint64_t regs[SW_REG_COUNT];
	uint32_t valid;          /* bit r: regs[r] is known */
	uint32_t flags;          /* SW_CUR_* */
	uint32_t signals;        /* steps taken from signal frames (exempt from the
				  * growing-stack check): SW_MAX_SIGNAL_FRAMES at most */
	uint8_t how;             /* how this frame was found: enum sw_proc_source */
	uint8_t guessed;         /* a frame up to here was found by a heuristic */
	struct sw_mem mem;
};

_Static_assert(sizeof(struct sw_cursor_impl) <= sizeof(sw_cursor_t),
	       "sw_cursor_t is too small for the cursor state");

static inline const struct sw_mem *sw_cursor_mem(const sw_cursor_t *cursor)
{
	return &((const struct sw_cursor_impl *)(const void *)cursor)->mem;
}

/* The architecture's compiled rules: struct sw_compiled, its packing,
 * sw_apply_compiled (the body of every cached step), sw_compile_row and the
 * rules for frames without CFI. */
#include "arch/frame.h"

/* ---------------------------------------------------------------- rule cache */

/* The rule cache: PC -> compiled row, lock-free, shared by all threads
 * and signal handlers.  See cache.c for the memory ordering; the reader is
 * inline because every cached step runs it. */
#define SW_CACHE_BITS 13
#define SW_CACHE_SIZE (1u << SW_CACHE_BITS)   /* slots: 8192 x 32 bytes */

struct sw_cache_slot {
	uint32_t seq;            /* seqlock: odd while a writer fills the slot */
	uint32_t gen;            /* generation the slot was filled in */
	uint64_t pc;             /* key: the lookup PC */
	uint64_t w0, w1;         /* a struct sw_compiled */
};

_Static_assert(sizeof(struct sw_cache_slot) == 32, "two slots per cache line");

extern struct sw_cache_slot sw_cache_table[SW_CACHE_SIZE] __attribute__((visibility("hidden")));
extern uint32_t sw_cache_generation __attribute__((visibility("hidden")));

static inline unsigned sw_cache_index_bits(uint64_t pc, unsigned bits)
{
	/* Fibonacci hashing spreads nearby return addresses */
	return (unsigned)((pc * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

/* The slot of return address `ra` in the process's table: its low bits
 * with the next ones (8 KiB .. 64 MiB) folded in, one shift and one xor:
 * shorter than a multiply on the cached walk's dependent chain.  The fold
 * keeps code laid out alike at aligned addresses (two JIT buffers, two
 * copies of a chain in separate mappings) from landing on the same slots,
 * where the low bits alone would make two threads evict each other at
 * every step (jit.unwind.threads2.speedup). */
static inline unsigned sw_cache_fold(uint64_t ra)
{
	return (unsigned)(ra ^ (ra >> SW_CACHE_BITS)) & (SW_CACHE_SIZE - 1);
}

/* Keyed by the lookup PC, indexed by pc + 1: the return address for every
 * frame but an interrupted one (arch/walk.h indexes by the return address
 * it just loaded). */
static inline unsigned sw_cache_index(uint64_t pc)
{
	return sw_cache_fold(pc + 1);
}

/* The rule for pc in slot `s` when it holds one of generation `gen`. */
static inline bool sw_cache_slot_get(struct sw_cache_slot *s, uint64_t pc, uint32_t gen,
				     struct sw_compiled *out)
{
	uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

	if (seq & 1)
		return false;
	if (__atomic_load_n(&s->pc, __ATOMIC_RELAXED) != pc ||
	    __atomic_load_n(&s->gen, __ATOMIC_RELAXED) != gen)
		return false;
	out->w0 = __atomic_load_n(&s->w0, __ATOMIC_RELAXED);
	out->w1 = __atomic_load_n(&s->w1, __ATOMIC_RELAXED);
	/* the payload loads above must complete before the re-check */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&s->seq, __ATOMIC_RELAXED) == seq;
}

static inline bool sw_cache_get(uint64_t pc, struct sw_compiled *out)
{
	return sw_cache_slot_get(&sw_cache_table[sw_cache_index(pc)], pc,
				 __atomic_load_n(&sw_cache_generation, __ATOMIC_RELAXED), out);
}

/* Store `rule` for pc in slot `s` (cache.c; see sw_cache_put). */
void sw_cache_slot_put(struct sw_cache_slot *s, uint64_t pc, const struct sw_compiled *rule,
		       uint32_t gen);

_Static_assert(sizeof(struct sw_cache_slot) == 32, "struct sw_rule_cache's slot size");

/* A target's cache (source/target.h), NULL when it has none. */
static inline struct sw_cache_slot *sw_rcache_slot(const struct sw_rule_cache *rc, uint64_t pc)
{
	return (struct sw_cache_slot *)rc->slots + sw_cache_index_bits(pc, rc->bits);
}

/* Store a rule computed from unwind information looked up after reading
 * generation `gen` (sw_cache_gen): a flush between the lookup and the put
 * makes the rule a miss instead of a stale hit.  SW_CACHE_NOGEN: nothing
 * is stored. */
void sw_cache_put(uint64_t pc, const struct sw_compiled *rule, uint32_t gen);

/* A generation no flush produces: "do not cache what you look up now". */
#define SW_CACHE_NOGEN 0u

/* dlcloses between their two flushes (dlhooks.c; atomic). */
extern uint32_t sw_unloads_active __attribute__((visibility("hidden")));

/* The generation to tag what a lookup made now finds (read it BEFORE the
 * lookup), or SW_CACHE_NOGEN while a dlclose may be unmapping a module:
 * what is found then may be gone before the dlclose's second flush.
 * dlhooks.c has the argument. */
static inline uint32_t sw_cache_gen(void)
{
	uint32_t gen = __atomic_load_n(&sw_cache_generation, __ATOMIC_ACQUIRE);

	return __atomic_load_n(&sw_unloads_active, __ATOMIC_ACQUIRE) ? SW_CACHE_NOGEN : gen;
}

/* ---------------------------------------------------------------- lookup */

/* A loaded module, as the dynamic loader describes it. */
struct sw_module {
	const void *identity;        /* its link map */
	const char *path;            /* l_name: "" for the main program */
	uint64_t base;               /* load bias */
	uint64_t map_start, map_end; /* the address range it occupies */
	uint64_t eh_hdr;             /* PT_GNU_EH_FRAME address, 0 if none */
	bool has_eh_hdr;
};

/* Resolve the optional glibc entry points (sw_init). */
void sw_modules_init(void);

/* The module containing `pc`.  Returns 0 or SW_ENOTFOUND.  Async-signal-
 * safe with _dl_find_object (glibc >= 2.35); the dl_iterate_phdr fallback
 * takes the loader lock. */
int sw_find_module(uint64_t pc, struct sw_module *mod);

/*
 * Find the FDE covering `pc`: the installed sources in rank order
 * (source/source.h): the JIT registry once code is registered, the
 * module's .eh_frame through .eh_frame_hdr, then its file's .eh_frame (when
 * there is no header) and .debug_frame.  Returns 0 (give the info back
 * with sw_fde_release), SW_ENOTFOUND or a parse error.
 */
int sw_find_fde(uint64_t pc, struct sw_fde_info *info);

static inline void sw_fde_release(struct sw_fde_info *info)
{
	sw_source_release(info);
}

/* The address range of the module containing `pc`, in the walk's target:
 * 0 or SW_ENOTFOUND.  Async-signal-safe. */
int sw_mem_module_range(const struct sw_mem *m, uint64_t pc, uint64_t *start, uint64_t *end);

/* The FDE covering `pc` in the walk's target: sw_find_fde, or the remote
 * target's own lookup. */
static inline int sw_mem_find_fde(const struct sw_mem *m, uint64_t pc, struct sw_fde_info *info)
{
	return m->remote ? m->remote->find_fde(m->remote, pc, info) : sw_find_fde(pc, info);
}

/* sw_get_proc_info for `pc`, reading the personality's GOT slot through
 * `mem` (procinfo.c).  Returns as sw_get_proc_info. */
int sw_proc_info_at(uint64_t pc, const struct sw_mem *mem, struct sw_proc_info *pi);

/* The local sources (modules.c, filecfi.c), installed by sw_init. */
extern const struct sw_source sw_module_source, sw_file_source;

/* The per-module tables' counters (filecfi.c, names.c, tables.c) for
 * sw_get_stats. */
void sw_file_cfi_stats(struct sw_stats *st);
void sw_names_stats(struct sw_stats *st);
void sw_tables_stats(struct sw_stats *st);

/* The compact table's rule for `pc` in this process (tables.c): SW_TABLE_HIT
 * (0) with *rule (its source set) and *end (the run-time address where the
 * row ends, UINT64_MAX after the last), SW_TABLE_NONE (no loaded module's
 * FDE covers pc: ask the other sources) or SW_TABLE_FALLBACK (ask the
 * interpreter).  Builds the module's table on first use.
 * Async-signal-safe. */
int sw_tables_rule(uint64_t pc, struct sw_compiled *rule, uint64_t *end);

/* The module whose link map is `identity` is about to be closed: no
 * lookup uses its table from now on (dlhooks.c, before the real dlclose). */
void sw_tables_forget(const void *identity);

/* dlclose interposition (dlhooks.c): resolved by sw_init; the generation
 * counts unloads (atomic). */
void sw_dlhooks_init(void);
extern uint32_t sw_module_generation __attribute__((visibility("hidden")));

/* ---------------------------------------------------------------- cursor */


/* A step from a signal frame (exempt from the growing-stack check, so the
 * only steps that can loop) counts against SW_MAX_SIGNAL_FRAMES; false
 * when the walk has taken them all. */
static inline bool sw_signal_budget(struct sw_cursor_impl *c)
{
	return !(c->flags & SW_CUR_SIGNAL) || c->signals < SW_MAX_SIGNAL_FRAMES;
}

/* Record a step's result in the cursor's state. */
static inline void sw_step_done(struct sw_cursor_impl *c, uint32_t flags_before, int rc)
{
	if (rc == SW_END_OF_STACK)
		c->flags |= SW_CUR_DONE;
	else if (rc == 0 && (flags_before & SW_CUR_SIGNAL))
		c->signals++;
}

/* One step of a walk of this process through the rule cache (never for a
 * target's cursor: sw_step sends those to the target's own cache first).
 * Returns true, with the step's result in *rc, when the cache held the
 * rule; false sends the caller to the full path (sw_step). */
static inline bool sw_step_cached(struct sw_cursor_impl *c, int *rc)
{
	struct sw_compiled rule;
	uint64_t pc = sw_lookup_pc(c);
	uint32_t flags = c->flags;

	if ((flags & SW_CUR_DONE) || !sw_signal_budget(c) || !sw_cache_get(pc, &rule))
		return false;
	*rc = sw_apply_compiled(c, &rule);
	sw_step_done(c, flags, *rc);
	return true;
}

/* Continue at `ctx` (arch assembly). */
__attribute__((noreturn)) void sw_arch_resume(const sw_context_t *ctx);

#endif /* SW_UNWIND_INTERNAL_H */
