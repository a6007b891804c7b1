/*
 * pub_tool: a JIT workload for the external tools of
 * tests/scripts/publishers.sh (GDB, perf).
 *
 *   pub_tool MASK|default FORM SECONDS [lines|many]
 *
 * Sets the publishers to MASK (SW_JIT_PUB_* bits; "default": leaves the
 * default set, no publisher call), generates the chain
 * main -> run_chain -> jit_f0 -> ... -> jit_f11 -> on_leaf (emit_chain,
 * each JIT function spinning a little) and registers it with FORM (an
 * index of jit_common.c's enum form).  With `lines` (procs and table
 * forms only) every procedure also gets line information: jit_f<i> is in
 * file chain_a.jit (even i) or chain_b.jit (odd i), with L = 1000 + 10 * i
 *     offset 0                     line L       (prologue)
 *     first body instruction       line L + 1   (tags, spin loop)
 *     the call instruction         line L + 2
 *     after the call               line L + 3
 *     each epilogue                line L + 4, L + 5
 * (a later entry at the same offset wins), so a JIT frame stopped at its
 * call is at FILE:L+2 and perf samples in the spin loop at FILE:L+1.
 * Then:
 *   - calls the chain once; on_leaf calls gdb_stop_here() (GDB's first
 *     breakpoint: bt lists jit_f11 ... jit_f0, run_chain, main);
 *   - keeps calling it for SECONDS (a profile for perf);
 *   - sw_jit_remove, then gdb_after_remove() (GDB's second breakpoint:
 *     the JIT names are gone; `jit_addr` holds jit_f3's address).
 * With `many` (FORM must be procs-frame): NFILL filler procedures
 * (64 bytes of `ret` each, named filler_<k>, placed right after the
 * chain's code) and the twelve chain functions are each registered with
 * one sw_jit_add_procs call, the chain functions after the first half of
 * the fillers (so they join the GDB publisher's groups of fillers from
 * below); then every filler k with k % 7 == 0 is removed and every other
 * one with k % 11 == 0 is moved (its code copied) 2 MiB up with
 * sw_jit_move.  The chain runs as above; at the end only jit_f3's
 * registration is removed before gdb_after_remove, and these globals
 * hold addresses for GDB's `info symbol`: removed_addr (filler_700,
 * removed), moved_addr / moved_old_addr (filler_11's new and old
 * address), kept_addr (filler_12); and before the run it prints
 * "pub_tool: gdb list N objects, linked right" (or BROKEN): the objects
 * in GDB's JIT list, which must be doubly linked with no action pending.
 * Prints "pub_tool: N calls" and exits 0, or 1 on a setup failure.
 */
#include <time.h>

#include "jit_common.c"
#include "gdb_jit.h"

#define NFNS 12

static struct emit_fn fns[NFNS];
volatile uint64_t jit_addr;          /* for GDB: an address inside jit_f3 */
static volatile int stop_once = 1;
volatile uint64_t removed_addr, moved_addr, moved_old_addr, kept_addr;   /* `many` */

#define NFILL 10000
#define MOVE_BY (2u << 20)

/* Print the number of objects in GDB's list and whether it is a proper
 * doubly linked list with no action pending. */
static void gdb_list_report(void)
{
	size_t n = 0;
	bool ok = __jit_debug_descriptor.action_flag == 0 && !__jit_debug_descriptor.relevant_entry;
	const struct jit_code_entry *prev = NULL;
	for (const struct jit_code_entry *e = __jit_debug_descriptor.first_entry; e; e = e->next_entry) {
		ok &= e->prev_entry == prev && e->symfile_addr && e->symfile_size >= 64 &&
		      memcmp(e->symfile_addr, "\177ELF", 4) == 0;
		prev = e;
		n++;
	}
	printf("pub_tool: gdb list %zu objects, %s\n", n, ok ? "linked right" : "BROKEN");
	fflush(stdout);   /* before GDB's batch ends the run */
}

NOINLINE void gdb_stop_here(void);
NOINLINE void gdb_after_remove(void);

NOINLINE void gdb_stop_here(void)
{
	__asm__ __volatile__("" ::: "memory");
}

NOINLINE void gdb_after_remove(void)
{
	__asm__ __volatile__("" ::: "memory");
}

NOINLINE static uint64_t on_leaf(uint64_t arg)
{
	if (stop_once) {
		stop_once = 0;
		gdb_stop_here();
	}
	return arg;
}

__attribute__((noipa)) static uint64_t run_chain(uint64_t arg)
{
	uint64_t (*f)(uint64_t) = (uint64_t (*)(uint64_t))(uintptr_t)fns[0].start;
	uint64_t r = f(arg);
	__asm__ __volatile__("" ::: "memory");
	return r + 1;
}

/* Line information of fns[i] (the scheme in the header comment) into
 * out[0..6); returns the number of entries. */
static uint32_t fn_lines(const struct emit_fn *f, size_t i, struct sw_jit_line *out)
{
	uint32_t base = 1000 + 10 * (uint32_t)i, n = 0;
	uint32_t call_len = f->spec.call == EMIT_CALL_C ? 2 : 5;   /* call rax / call rel32 */
	struct sw_jit_line want[6] = {
		{ 0, base },
		{ f->body, base + 1 },
		{ f->call_ret ? f->call_ret - call_len : f->body, base + 2 },
		{ f->call_ret, base + 3 },
	};
	uint32_t nwant = f->call_ret ? 4 : 2;
	for (uint32_t e = 0; e < f->nepilogues; e++)
		want[nwant++] = (struct sw_jit_line){ f->epilogue_start[e], base + 4 + e };
	for (uint32_t k = 0; k < nwant; k++) {
		if (n && want[k].offset < out[n - 1].offset)
			continue;
		if (n && want[k].offset == out[n - 1].offset)
			n--;
		out[n++] = want[k];
	}
	return n;
}

static int cmp_start(const void *a, const void *b)
{
	const struct sw_jit_proc *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Register fns with line information through sw_jit_add_procs (procs
 * forms) or a growable table published in two batches (table forms). */
static int add_with_lines(int form, sw_jit_handle_t *h)
{
	static struct sw_jit_line lines[NFNS][6];
	struct sw_jit_proc procs[NFNS];
	int kind = form_kind(form), rc;

	for (size_t i = 0; i < NFNS; i++) {
		if (emit_proc(&fns[i], kind, &procs[i]) != 0)
			return SW_EINVAL;
		procs[i].file = i % 2 ? "chain_b.jit" : "chain_a.jit";
		procs[i].lines = lines[i];
		procs[i].nlines = fn_lines(&fns[i], i, lines[i]);
	}
	qsort(procs, NFNS, sizeof(procs[0]), cmp_start);
	switch (form) {
	case F_PROCS_FRAME: case F_PROCS_CFI: case F_PROCS_DYN:
		return sw_jit_add_procs(procs, NFNS, h);
	case F_TABLE_FRAME: case F_TABLE_CFI: case F_TABLE_DYN:
		rc = sw_jit_table_create(procs[0].start, procs[NFNS - 1].end, NFNS, h);
		if (rc == 0)
			rc = sw_jit_table_append(*h, procs, NFNS / 2);
		if (rc == 0)
			rc = sw_jit_table_publish(*h);
		if (rc == 0)
			rc = sw_jit_table_append(*h, procs + NFNS / 2, NFNS - NFNS / 2);
		if (rc == 0)
			rc = sw_jit_table_publish(*h);
		return rc;
	default:
		return SW_EINVAL;   /* the other forms carry no line information */
	}
}

/* `many` (header comment): fillers after the chain in b, the chain's
 * functions one registration each in h[0..NFNS). */
static int add_many(struct emit_buf *b, sw_jit_handle_t h[NFNS])
{
	static const uint32_t ret_at = 63;
	static sw_jit_handle_t fh[NFILL];
	static char names[NFILL][16];
	uint8_t *fill = b->base + ((b->used + 63) & ~(size_t)63);
	int rc;

	if ((size_t)(fill - b->base) + NFILL * 64 + MOVE_BY > b->size)
		return SW_ENOMEM;
	memset(fill, 0xc3, NFILL * 64);
	for (size_t k = 0; k <= NFILL; k++) {
		if (k == NFILL / 2) {
			for (size_t i = 0; i < NFNS; i++) {
				struct sw_jit_proc p;
				if (emit_proc(&fns[i], form_kind(F_PROCS_FRAME), &p) != 0)
					return SW_EINVAL;
				if ((rc = sw_jit_add_procs(&p, 1, &h[i])) < 0)
					return rc;
			}
		}
		if (k == NFILL)
			break;
		struct sw_jit_proc p;
		memset(&p, 0, sizeof(p));
		snprintf(names[k], sizeof(names[k]), "filler_%zu", k);
		p.start = sw_jit_addr(fill + k * 64);
		p.end = p.start + 64;
		p.name = names[k];
		p.kind = SW_JIT_UNWIND_FRAME;
		p.u.frame.flags = SW_JIT_FRAME_FP;
		p.u.frame.nepilogues = 1;
		p.u.frame.epilogues = &ret_at;
		if ((rc = sw_jit_add_procs(&p, 1, &fh[k])) < 0)
			return rc;
	}
	for (size_t k = 0; k < NFILL; k += 7)
		if ((rc = sw_jit_remove(fh[k])) < 0)
			return rc;
	for (size_t k = 0; k < NFILL; k += 11) {
		if (k % 7 == 0)
			continue;
		memcpy(fill + k * 64 + MOVE_BY, fill + k * 64, 64);
		if ((rc = sw_jit_move(fh[k], MOVE_BY)) < 0)
			return rc;
	}
	removed_addr = sw_jit_addr(fill + 700 * 64 + 4);
	moved_addr = sw_jit_addr(fill + 11 * 64 + MOVE_BY + 4);
	moved_old_addr = sw_jit_addr(fill + 11 * 64 + 4);
	kept_addr = sw_jit_addr(fill + 12 * 64 + 4);
	gdb_list_report();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4 && !(argc == 5 && (strcmp(argv[4], "lines") == 0 || strcmp(argv[4], "many") == 0))) {
		fprintf(stderr, "usage: pub_tool MASK|default FORM SECONDS [lines|many]\n");
		return 1;
	}
	bool with_lines = argc == 5 && strcmp(argv[4], "lines") == 0;
	bool many = argc == 5 && strcmp(argv[4], "many") == 0;
	sw_jit_handle_t many_h[NFNS];
	/* "default": no publisher call, the default set */
	bool dflt = strcmp(argv[1], "default") == 0;
	unsigned mask = dflt ? 0 : (unsigned)strtoul(argv[1], NULL, 0);
	int form = atoi(argv[2]);
	double secs = atof(argv[3]);
	struct emit_buf b;
	if (emit_buf_init(&b, many ? 4 << 20 : 1 << 20, 0) != 0 ||
	    emit_chain(&b, fns, NFNS, (uint64_t)(uintptr_t)on_leaf, 2000) != 0) {
		printf("emit failed\n");
		return 1;
	}
	jit_addr = fns[3].start + 4;
	if (!dflt && sw_jit_set_publishers(mask) < 0) {
		printf("sw_jit_set_publishers failed\n");
		return 1;
	}
	struct regset rs = { .fns = fns, .n = NFNS, .form = form, .kind = form_kind(form) };
	int rc = with_lines ? add_with_lines(form, &rs.h) :
		 many ? (form == F_PROCS_FRAME ? add_many(&b, many_h) : SW_EINVAL) :
		 regset_add(&rs, true);
	if (rc != 0) {
		printf("register: %s\n", t_status(rc));
		return 1;
	}
	unsigned long calls = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		run_chain(calls++);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) * 1e-9 < secs);
	rc = many ? sw_jit_remove(many_h[3]) : regset_remove(&rs);
	if (rc != 0) {
		printf("remove: %s\n", t_status(rc));
		return 1;
	}
	gdb_after_remove();
	printf("pub_tool: %lu calls\n", calls);
	return 0;
}
