/*
 * Internals of the local unwinder: cursor state, checked memory access,
 * unwind-info lookup, compiled rules and their cache.
 *
 * Everything reachable from sw_step / sw_backtrace is async-signal-safe:
 * no allocation, no locks, every read of stack or unknown memory through
 * sw_mem_read.
 */
#ifndef SW_UNWIND_INTERNAL_H
#define SW_UNWIND_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "dwarf/cfi.h"
#include "stackwalk.h"

/* Frames a walk may take before it is declared a loop. */
#define SW_MAX_FRAMES 4096

/* ---------------------------------------------------------------- memory */

/* Address range known to be readable for the whole walk (the thread's
 * stack, or the signal stack the walk started on). */
struct sw_mem {
	uint64_t lo, hi;
};

/* Set `m` to the stack that contains `sp`: the calling thread's stack
 * (cached per thread after the first call), else its sigaltstack, else the
 * mapping found in /proc/self/maps.  Async-signal-safe. */
void sw_mem_init(struct sw_mem *m, uint64_t sp);

/* Read 8 bytes at `addr`.  Inside m's range: a plain load.  Elsewhere: a
 * probing read that fails cleanly on unmapped memory (process_vm_readv).
 * Returns 0 or SW_EMEMORY.  Async-signal-safe. */
int sw_mem_read(const struct sw_mem *m, uint64_t addr, uint64_t *out);

/* Read `size` (<= 64) bytes at `addr` into `buf` with the same checks. */
int sw_mem_read_bytes(const struct sw_mem *m, uint64_t addr, void *buf, unsigned size);

/* ---------------------------------------------------------------- rules */

/* Where a register comes from in the caller, relative to this frame. */
enum sw_crule {
	SW_CR_SAME = 0,      /* unchanged (no rule, or same_value) */
	SW_CR_OFFSET,        /* saved at CFA + off */
	SW_CR_VAL_OFFSET,    /* value is CFA + off */
	SW_CR_UNDEFINED,     /* not recoverable */
};

/* Registers a compiled rule restores: the callee-saved ones and rip. */
enum { SW_CR_RBX, SW_CR_RBP, SW_CR_R12, SW_CR_R13, SW_CR_R14, SW_CR_R15, SW_CR_RIP, SW_CR_N };

/* A CFA-table row compiled to what x86-64 unwinding needs; rows that need
 * more (expressions, register-to-register rules) are not compiled and go
 * through the full interpreter each time. */
struct sw_compiled {
	int32_t cfa_off;     /* CFA = reg[cfa_reg] + cfa_off */
	uint8_t cfa_reg;     /* DWARF register 0..15 */
	uint8_t flags;       /* SW_CF_* */
	uint8_t kind[SW_CR_N];   /* enum sw_crule */
	int16_t off[SW_CR_N];
};

enum {
	SW_CF_SIGNAL = 1,    /* the FDE's CIE has the 'S' augmentation */
	SW_CF_FP = 2,        /* synthesised frame-pointer rule (no CFI) */
	SW_CF_RA_SP = 4,     /* synthesised return-address-at-SP rule */
};

/* Compile a row; false when it needs the full interpreter. */
bool sw_compile_row(const struct sw_cfa_row *row, bool signal, struct sw_compiled *out);

/* The rule cache: PC -> compiled row, lock-free, shared by all threads
 * and signal handlers.  See cache.c for the memory ordering. */
bool sw_cache_get(uint64_t pc, struct sw_compiled *out);
void sw_cache_put(uint64_t pc, const struct sw_compiled *rule);

/* ---------------------------------------------------------------- lookup */

/* The unwind information for one PC: the FDE and its CIE. */
struct sw_fde_info {
	struct sw_cfi_section sec;   /* the .eh_frame it came from */
	struct sw_fde fde;
	struct sw_cie cie;
	uint64_t module_base;        /* load bias */
	int source;                  /* enum sw_proc_source */
};

/* Find the FDE covering `pc` in the loaded modules.  Returns 0,
 * SW_ENOTFOUND or a parse error.  Async-signal-safe with _dl_find_object
 * (glibc >= 2.35); the dl_iterate_phdr fallback takes the loader lock. */
int sw_find_fde(uint64_t pc, struct sw_fde_info *info);

/* ---------------------------------------------------------------- cursor */

enum {
	SW_CUR_INTERRUPTED = 1,  /* IP is an interrupted PC, not a return address */
	SW_CUR_SIGNAL = 2,       /* frame was interrupted by a signal */
	SW_CUR_DONE = 4,         /* no caller */
};

struct sw_cursor_impl {
	uint64_t regs[SW_REG_COUNT];
	uint32_t valid;          /* bit r: regs[r] is known */
	uint32_t flags;          /* SW_CUR_* */
	uint64_t cfa;            /* this frame's CFA once computed (0 before) */
	uint32_t depth;          /* frames stepped so far */
	struct sw_mem mem;
};

_Static_assert(sizeof(struct sw_cursor_impl) <= sizeof(sw_cursor_t),
	       "sw_cursor_t is too small for the cursor state");

/* Continue at `ctx` (arch assembly). */
__attribute__((noreturn)) void sw_arch_resume(const sw_context_t *ctx);

#endif /* SW_UNWIND_INTERNAL_H */
