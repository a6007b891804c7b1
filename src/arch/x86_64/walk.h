/*
 * The cached walk of x86-64: the inner loop of sw_backtrace and
 * sw_backtrace_ucontext while every rule is in the rule cache.
 *
 * A step through sw_step_cached keeps the cursor in memory, so each frame
 * waits for its own stores to come back (the IP it just wrote is the next
 * lookup's key, the SP the next CFA's base) and runs the general rule
 * decoder.  This loop keeps IP, SP and RBP (the CFA's base in every
 * compiled rule of ordinary code) in registers and indexes the cache by
 * the return address itself (sw_cache_fold), so the dependent chain per
 * frame is: return address -> cache slot -> CFA -> next return address.
 * The other callee-saved registers go to the cursor as they are restored
 * (nothing waits for them).  It takes exactly the steps sw_apply_compiled
 * would and stops, with the cursor up to date, at the first frame it
 * cannot take as simply: a miss, a rule based on another register, an
 * outermost rule, a register the rule leaves undefined, a stack that does
 * not grow, a read outside the walk's stack; the caller's full step then
 * takes that frame, with every check and error of its own.
 *
 * Local walks only (the process's rule cache), from a frame that is not
 * interrupted (cursor flags 0).  The cache generation is read once per
 * run: a flush during the walk (a dlclose, say) concerns code this
 * thread's stack cannot be returning into, since the frames on it are
 * live.  Async-signal-safe: no allocation, no lock.
 */
#ifndef SW_ARCH_X86_64_WALK_H
#define SW_ARCH_X86_64_WALK_H

#include "unwind/internal.h"

/* Rules this loop leaves to the full step: outermost, or with registers
 * made undefined (w0 bit 39, bits 54..59; rule.h). */
#define SW_WALK_SLOW_BITS (((uint64_t)SW_CF_OUTERMOST << 36) | (63ull << 54))

/* Near the ends of the stack (the outermost frames lie within 1 KiB of
 * its top): every slot the rule reads, one by one, inside the walk's
 * stack. */
static inline bool sw_walk_slots_in(const struct sw_cursor_impl *c, const struct sw_compiled *rule,
				    uint64_t cfa)
{
	uint64_t a = cfa + (uint64_t)sw_cr_ra_off(rule);
	bool in = sw_mem_holds(&c->mem, a, 8);

	for (unsigned m = sw_cr_saved(rule); m; m &= m - 1) {
		a = cfa + (uint64_t)sw_cr_off(rule, (unsigned)__builtin_ctz(m));
		in &= sw_mem_holds(&c->mem, a, 8);
	}
	return in;
}

_Static_assert(sizeof(struct sw_cache_slot) == 32, "walk.h's slot offset assumes 32-byte slots");

/* Take cached steps from `c` (flags 0), recording each new IP in pcs[n..max).
 * Returns the new n; the cursor holds the last frame reached. */
static inline int sw_walk_cached(struct sw_cursor_impl *c, void **pcs, int max, int n)
{
	uint64_t ip = c->regs[SW_REG_RIP], sp = c->regs[SW_REG_RSP], bp = c->regs[SW_REG_RBP];
	uint64_t last = 0;                      /* w0 of the last rule taken */
	/* every slot of a frame lies within SW_CR_REACH of the CFA: one
	 * check for all of them when the CFA is that far inside the stack
	 * (sw_cr_window_in, with its invariant part taken out of the loop) */
	const uint64_t lo = c->mem.lo + SW_CR_REACH, span = c->mem.hi - c->mem.lo - 2 * SW_CR_REACH;
	uint32_t valid = c->valid, gen = __atomic_load_n(&sw_cache_generation, __ATOMIC_RELAXED);
	void **p = pcs + n, **end = pcs + max;
	struct sw_cache_slot *tab = sw_cache_table;

	if (c->mem.hi - c->mem.lo < 2 * SW_CR_REACH || n >= max)
		return n;
	/* the table's address in a register, not rematerialised per field */
	__asm__("" : "+r"(tab));
	do {
		/* tab + sw_cache_fold(ip), as a byte offset computed in one
		 * step less: (ip ^ ip >> 13) * 32 == ip * 32 ^ ip >> 8 */
		struct sw_cache_slot *s = (struct sw_cache_slot *)(void *)((char *)tab +
			(((ip << 5) ^ (ip >> (SW_CACHE_BITS - 5))) & ((uint64_t)(SW_CACHE_SIZE - 1) << 5)));
		uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		uint64_t w0 = __atomic_load_n(&s->w0, __ATOMIC_RELAXED);
		uint64_t w1 = __atomic_load_n(&s->w1, __ATOMIC_RELAXED);
		uint64_t key = __atomic_load_n(&s->pc, __ATOMIC_RELAXED);
		uint32_t sgen = __atomic_load_n(&s->gen, __ATOMIC_RELAXED);
		uint64_t cfa, ra;

		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if ((seq & 1) || key != ip - 1 || sgen != gen || ip == 0 ||
		    __atomic_load_n(&s->seq, __ATOMIC_RELAXED) != seq || (w0 & SW_WALK_SLOW_BITS))
			break;

		struct sw_compiled rule = { w0, w1 };
		unsigned reg = sw_cr_cfa_reg(&rule);
		if (reg == SW_REG_RSP)
			cfa = sp;
		else if (reg == SW_REG_RBP && (valid & (1u << SW_REG_RBP)))
			cfa = bp;
		else
			break;
		cfa += (uint64_t)(int64_t)sw_cr_cfa_off(&rule);
		if (cfa <= sp)
			break;
		if (__builtin_expect(cfa - lo >= span, 0) && !sw_walk_slots_in(c, &rule, cfa))
			break;
		ra = sw_walk_load(cfa + (uint64_t)sw_cr_ra_off(&rule));
		if (ra == 0)
			break;
		/* the frame is taken */
		unsigned saved = sw_cr_saved(&rule);
		uint32_t got = 0;
		if (saved & 2) {                        /* rbp (rule.h: i = 1) */
			bp = sw_walk_load(cfa + (uint64_t)sw_cr_off(&rule, 1));
			got = 1u << SW_REG_RBP;
		}
		for (unsigned m = saved & ~2u; m; m &= m - 1) {
			unsigned i = (unsigned)__builtin_ctz(m);
			c->regs[sw_cs_reg[i]] = sw_walk_load(cfa + (uint64_t)sw_cr_off(&rule, i));
			got |= 1u << sw_cs_reg[i];
		}
		valid = (valid & SW_CALLEE_SAVED) | got | (1u << SW_REG_RSP) | (1u << SW_REG_RIP);
		last = w0;
		sp = cfa;
		ip = ra;
		*p++ = (void *)(uintptr_t)ra;
	} while (p < end);
	c->regs[SW_REG_RIP] = ip;
	c->regs[SW_REG_RSP] = sp;
	c->regs[SW_REG_RBP] = bp;
	c->valid = valid;
	if (p != pcs + n) {
		struct sw_compiled r = { last, 0 };
		c->how = (uint8_t)sw_cr_source(&r);
	}
	return (int)(p - pcs);
}

#endif /* SW_ARCH_X86_64_WALK_H */
