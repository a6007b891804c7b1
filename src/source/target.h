/*
 * A target other than this process: what a remote or snapshot cursor
 * reads instead of its own memory and the local sources.
 *
 * src/remote implements it (an address space: another process, a core
 * file, a snapshot, include/stackwalk/remote.h); src/unwind's cursor calls
 * it.  Like source.h this sits below both, so neither includes the other.
 *
 * Every operation is async-signal-safe: no allocation, no lock.
 */
#ifndef SW_SOURCE_TARGET_H
#define SW_SOURCE_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "source/source.h"
#include "stackwalk.h"

struct sw_addr_space;

/* A target's own rule cache (the unwinder's slot format, unwind/
 * internal.h: 32-byte seqlocked slots): the local cache is keyed by this
 * process's PCs and never holds a target's rules.  `gen` moves when the
 * target's modules change (atomic); slots of older generations miss. */
struct sw_rule_cache {
	void *slots;                /* (1 << bits) slots of 32 bytes, zeroed */
	unsigned bits;
	uint32_t gen;               /* never 0 */
};

struct sw_compiled;

struct sw_remote {
	/* NULL: no cache (every step interprets the CFI) */
	struct sw_rule_cache *cache;
	/* `size` bytes of the target's memory at `addr` (its core memory,
	 * live memory, the read-only bytes of its module files; not the
	 * copied stacks, which the cursor reads itself): 0 or SW_EMEMORY. */
	int (*read)(const struct sw_remote *r, uint64_t addr, void *buf, size_t size);
	/* The FDE covering pc (addresses where the code is in the target):
	 * 0, SW_ENOTFOUND or a parse error.  info->from is left NULL: nothing
	 * to release; the bytes stay valid while the address space lives. */
	int (*find_fde)(const struct sw_remote *r, uint64_t pc, struct sw_fde_info *info);
	/* The address range of the module containing pc: 0 or SW_ENOTFOUND. */
	int (*module_range)(const struct sw_remote *r, uint64_t pc, uint64_t *start,
			    uint64_t *end);
	/* As sw_as_get_proc_name. */
	int (*name)(const struct sw_remote *r, uint64_t pc, char *buf, size_t size,
		    uint64_t *offset);
	/* The compact table's rule for pc (src/table/table.h's results:
	 * SW_TABLE_HIT with *rule and *end, the run-time address where the
	 * row ends; anything else: ask find_fde).  NULL: no tables. */
	int (*table_rule)(const struct sw_remote *r, uint64_t pc, struct sw_compiled *rule,
			  uint64_t *end);
};

/* Where a walk of a thread of a target starts. */
struct sw_target_start {
	const struct sw_remote *remote;
	uint64_t regs[SW_REG_COUNT];
	uint32_t valid;             /* bit r: regs[r] is known */
	const void *copy;           /* the copied stack: [copy_lo, copy_lo + copy_size) */
	uint64_t copy_lo;
	uint64_t copy_size;
};

/* The start of thread `i` of `as`: 0 or SW_EINVAL (src/remote). */
int sw_target_thread_start(const struct sw_addr_space *as, size_t i, struct sw_target_start *out);

/* The operations of `as` (src/remote); NULL when `as` is NULL. */
const struct sw_remote *sw_target_remote(const struct sw_addr_space *as);

#endif /* SW_SOURCE_TARGET_H */
