/*
 * Rule cache: PC -> compiled CFA row, shared by every thread and signal
 * handler, without locks or allocation.
 *
 * A direct-mapped table of SW_CACHE_SIZE slots.  Each slot is guarded by a
 * sequence number (a seqlock):
 *   writer: CAS seq from even s to odd s+1 (if that fails, someone else is
 *           writing the slot: skip, the cache is only a hint), store the
 *           payload words with relaxed atomics, store seq = s+2 (release).
 *   reader: load seq (acquire); odd -> miss; load the payload words
 *           (relaxed); acquire fence; reload seq; changed -> miss.
 * A signal handler that interrupts a writer on the same slot sees an odd
 * sequence and misses, so there is no deadlock.  Every access to shared
 * words is atomic, so the scheme is data-race free (and TSan-clean).
 *
 * Invalidation: each slot records the generation it was filled in;
 * sw_flush_cache bumps the global generation, which turns every slot into a
 * miss at once.
 */
#include <string.h>

#include "unwind/internal.h"

#define SW_CACHE_SIZE 8192   /* slots (power of two): 8192 x 48 bytes */
#define PAYLOAD_WORDS 4

struct slot {
	uint32_t seq;
	uint32_t gen;
	uint64_t pc;
	uint64_t payload[PAYLOAD_WORDS];   /* a struct sw_compiled */
};

_Static_assert(sizeof(struct sw_compiled) <= PAYLOAD_WORDS * 8, "compiled rule too large");

static struct slot table[SW_CACHE_SIZE];
static uint32_t generation = 1;

static inline struct slot *slot_for(uint64_t pc)
{
	/* Fibonacci hashing spreads nearby return addresses */
	return &table[(pc * 0x9E3779B97F4A7C15ull) >> (64 - 13)];
}

_Static_assert(SW_CACHE_SIZE == 1 << 13, "slot_for's shift assumes 8192 slots");

bool sw_cache_get(uint64_t pc, struct sw_compiled *out)
{
	struct slot *s = slot_for(pc);
	uint64_t words[PAYLOAD_WORDS];
	uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

	if (seq & 1)
		return false;
	if (__atomic_load_n(&s->pc, __ATOMIC_RELAXED) != pc ||
	    __atomic_load_n(&s->gen, __ATOMIC_RELAXED) != __atomic_load_n(&generation, __ATOMIC_RELAXED))
		return false;
	for (int i = 0; i < PAYLOAD_WORDS; i++)
		words[i] = __atomic_load_n(&s->payload[i], __ATOMIC_RELAXED);
	/* the payload loads above must complete before the re-check */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != seq)
		return false;
	memcpy(out, words, sizeof(*out));
	return true;
}

void sw_cache_put(uint64_t pc, const struct sw_compiled *rule)
{
	struct slot *s = slot_for(pc);
	uint64_t words[PAYLOAD_WORDS] = { 0 };
	uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);

	if (seq & 1)
		return;
	if (!__atomic_compare_exchange_n(&s->seq, &seq, seq + 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return;
	/* the odd sequence is visible before any payload store (acquire on
	 * the CAS orders later stores after it for readers that see them) */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(words, rule, sizeof(*rule));
	__atomic_store_n(&s->pc, pc, __ATOMIC_RELAXED);
	__atomic_store_n(&s->gen, __atomic_load_n(&generation, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
	for (int i = 0; i < PAYLOAD_WORDS; i++)
		__atomic_store_n(&s->payload[i], words[i], __ATOMIC_RELAXED);
	/* publish: readers that acquire seq+2 see the whole payload */
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

void sw_flush_cache(void)
{
	__atomic_fetch_add(&generation, 1, __ATOMIC_RELEASE);
}

/* Compile one register rule into (kind, off); false if it needs more. */
static bool compile_reg(const struct sw_rule *r, uint8_t *kind, int16_t *off)
{
	switch (r->kind) {
	case SW_RULE_UNSET:
	case SW_RULE_SAME:
		*kind = SW_CR_SAME;
		*off = 0;
		return true;
	case SW_RULE_UNDEFINED:
		*kind = SW_CR_UNDEFINED;
		*off = 0;
		return true;
	case SW_RULE_OFFSET:
	case SW_RULE_VAL_OFFSET:
		if (r->value < INT16_MIN || r->value > INT16_MAX)
			return false;
		*kind = r->kind == SW_RULE_OFFSET ? SW_CR_OFFSET : SW_CR_VAL_OFFSET;
		*off = (int16_t)r->value;
		return true;
	default:
		return false;
	}
}

bool sw_compile_row(const struct sw_cfa_row *row, bool signal, struct sw_compiled *out)
{
	static const uint8_t regs[SW_CR_N] = { SW_REG_RBX, SW_REG_RBP, SW_REG_R12, SW_REG_R13,
					       SW_REG_R14, SW_REG_R15, SW_REG_RIP };

	memset(out, 0, sizeof(*out));
	if (row->cfa_kind != SW_CFA_RULE_REG || row->cfa_reg > SW_REG_R15 ||
	    row->cfa_offset < INT32_MIN || row->cfa_offset > INT32_MAX || row->ra_reg != SW_REG_RIP)
		return false;
	/* caller-saved registers with rules (signal frames, hand-written asm)
	 * need the full interpreter */
	static const uint8_t volatile_regs[] = { SW_REG_RAX, SW_REG_RDX, SW_REG_RCX, SW_REG_RSI,
						 SW_REG_RDI, SW_REG_RSP, SW_REG_R8, SW_REG_R9,
						 SW_REG_R10, SW_REG_R11 };
	for (unsigned i = 0; i < sizeof(volatile_regs); i++) {
		uint8_t k = row->regs[volatile_regs[i]].kind;
		if (k != SW_RULE_UNSET && k != SW_RULE_UNDEFINED && k != SW_RULE_SAME)
			return false;
	}
	out->cfa_reg = (uint8_t)row->cfa_reg;
	out->cfa_off = (int32_t)row->cfa_offset;
	out->flags = signal ? SW_CF_SIGNAL : 0;
	for (int i = 0; i < SW_CR_N; i++)
		if (!compile_reg(&row->regs[regs[i]], &out->kind[i], &out->off[i]))
			return false;
	return true;
}
