/*
 * Shared helpers of the JIT registry tests (included by tests/jit/jit_*.c
 * programs, not a program itself):
 *
 *   - check counters and the closing line, as in tests/unwind/common.h;
 *   - jit_enter, an assembly trampoline that calls generated code with
 *     known values in the callee-saved registers (and optionally the trap
 *     flag set), so a test can check what unwinding recovers;
 *   - registration of a set of generated functions through each form of
 *     <stackwalk/jit.h> (enum form), and its removal.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "emit.h"

#define NOINLINE __attribute__((noinline))
#define UNUSED __attribute__((unused))

/* ------------------------------------------------------------------ checks */

#include "../check.h"

static UNUSED const char *t_status(int rc)
{
	return rc == 0 ? "0" : sw_strerror(rc);
}

/* ------------------------------------------------------------------ jit_enter */

/* The callee-saved registers jit_enter loads, in this order. */
#define NCALLEE 5
static const int callee_regs[NCALLEE] = { SW_REG_RBX, SW_REG_R12, SW_REG_R13, SW_REG_R14,
					  SW_REG_R15 };

/*
 * uint64_t jit_enter(uint64_t fn, uint64_t arg, const uint64_t regs[5],
 *                    uint64_t trap, uint64_t caller_regs[5]);
 *
 * Stores the caller's rbx, r12..r15 into caller_regs, loads regs[] into
 * them, sets EFLAGS.TF when `trap` (every instruction from fn's first one
 * on raises SIGTRAP, until jit_enter clears it after the call) and calls
 * fn(arg).  jit_enter_ret is the return address of that call.  rbp-based
 * frame with exact CFI.
 */
uint64_t jit_enter(uint64_t fn, uint64_t arg, const uint64_t *regs, uint64_t trap,
		   uint64_t *caller_regs);
extern const char jit_enter_ret[], jit_enter_end[];
__asm__(".text\n"
	".globl jit_enter\n"
	".type jit_enter, @function\n"
	"jit_enter:\n"
	".cfi_startproc\n"
	"	push %rbp\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset rbp, -16\n"
	"	mov %rsp, %rbp\n"
	".cfi_def_cfa_register rbp\n"
	"	push %rbx\n"
	".cfi_offset rbx, -24\n"
	"	push %r12\n"
	".cfi_offset r12, -32\n"
	"	push %r13\n"
	".cfi_offset r13, -40\n"
	"	push %r14\n"
	".cfi_offset r14, -48\n"
	"	push %r15\n"
	".cfi_offset r15, -56\n"
	"	sub $8, %rsp\n"
	"	mov %rbx, 0(%r8)\n"
	"	mov %r12, 8(%r8)\n"
	"	mov %r13, 16(%r8)\n"
	"	mov %r14, 24(%r8)\n"
	"	mov %r15, 32(%r8)\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	mov 0(%rdx), %rbx\n"
	"	mov 8(%rdx), %r12\n"
	"	mov 16(%rdx), %r13\n"
	"	mov 24(%rdx), %r14\n"
	"	mov 32(%rdx), %r15\n"
	"	test %rcx, %rcx\n"
	"	jz 1f\n"
	"	pushfq\n"
	"	orq $0x100, (%rsp)\n"
	"	popfq\n"
	"1:	call *%rax\n"
	".globl jit_enter_ret\n"
	"jit_enter_ret:\n"
	"	pushfq\n"
	"	andq $-0x101, (%rsp)\n"
	"	popfq\n"
	"	lea -40(%rbp), %rsp\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	".cfi_def_cfa rsp, 8\n"
	"	ret\n"
	".cfi_endproc\n"
	".globl jit_enter_end\n"
	"jit_enter_end:\n"
	".size jit_enter, .-jit_enter\n");

/* The values jit_enter loads: recognisable, different per call site. */
static UNUSED void driver_values(uint64_t regs[NCALLEE], uint64_t salt)
{
	for (int i = 0; i < NCALLEE; i++)
		regs[i] = 0xd1e0000000000000ull | (salt << 16) | (uint64_t)callee_regs[i];
}

/*
 * The value callee-saved register `reg` holds in frame `j` of a chain
 * fns[0] -> ... -> fns[k] (j <= k, at fns[j]'s call, after its body wrote
 * its tags), when jit_enter loaded `entry` (NCALLEE values): the tag of the
 * innermost of fns[j], fns[j-1], ..., fns[0] that saves reg, else entry's.
 * Returns false for registers this cannot tell (rbp overwritten by a
 * frame pointer).
 */
static UNUSED bool expected_reg(const struct emit_fn *fns, int j, int reg, const uint64_t *entry,
				uint64_t *value)
{
	for (int i = j; i >= 0; i--) {
		if (fns[i].tag[reg]) {
			*value = fns[i].tag[reg];
			return true;
		}
		if (reg == SW_REG_RBP && fns[i].spec.fp)
			return false;
	}
	for (int i = 0; i < NCALLEE; i++)
		if (callee_regs[i] == reg) {
			*value = entry[i];
			return true;
		}
	return false;
}

/* ------------------------------------------------------------------ forms */

enum form {
	F_EH_FRAME,          /* sw_jit_add_eh_frame */
	F_PROCS_FRAME,       /* sw_jit_add_procs, SW_JIT_UNWIND_FRAME */
	F_PROCS_CFI,         /* ... SW_JIT_UNWIND_CFI */
	F_PROCS_DYN,         /* ... SW_JIT_UNWIND_DYN */
	F_TABLE_FRAME,       /* sw_jit_table_*, each kind */
	F_TABLE_CFI,
	F_TABLE_DYN,
	F_CALLBACK_FRAME,    /* sw_jit_add_callback answering with each kind */
	F_CALLBACK_CFI,
	F_CALLBACK_DYN,
	F_COUNT
};

static UNUSED const char *const form_names[F_COUNT] = {
	"eh_frame", "procs-frame", "procs-cfi", "procs-dyn", "table-frame", "table-cfi",
	"table-dyn", "callback-frame", "callback-cfi", "callback-dyn",
};

static UNUSED int form_kind(int form)
{
	switch (form) {
	case F_PROCS_FRAME: case F_TABLE_FRAME: case F_CALLBACK_FRAME:
		return SW_JIT_UNWIND_FRAME;
	case F_PROCS_CFI: case F_TABLE_CFI: case F_CALLBACK_CFI:
		return SW_JIT_UNWIND_CFI;
	case F_PROCS_DYN: case F_TABLE_DYN: case F_CALLBACK_DYN:
		return SW_JIT_UNWIND_DYN;
	default:
		return 0;
	}
}

/* The sw_jit_found.form a registration form gives. */
static UNUSED int form_jit_form(int form)
{
	switch (form) {
	case F_TABLE_FRAME: case F_TABLE_CFI: case F_TABLE_DYN:
		return SW_JIT_FORM_TABLE;
	case F_CALLBACK_FRAME: case F_CALLBACK_CFI: case F_CALLBACK_DYN:
		return SW_JIT_FORM_CALLBACK;
	default:
		return SW_JIT_FORM_EAGER;
	}
}

/*
 * A set of generated functions registered as one handle.  The lazy
 * callback answers from `fns` (sorted or not): the set must stay alive and
 * unchanged until the handle is removed.
 */
struct regset {
	struct emit_fn *fns;
	size_t n;
	int form;
	int kind;                    /* for callbacks: the kind answered with */
	uint64_t lo, hi;             /* table / callback range */
	sw_jit_handle_t h;
	unsigned long calls;         /* callback invocations */
};

static int regset_callback(void *arg, uint64_t pc, struct sw_jit_proc *out)
{
	struct regset *rs = arg;

	__atomic_fetch_add(&rs->calls, 1, __ATOMIC_RELAXED);
	for (size_t i = 0; i < rs->n; i++)
		if (pc >= rs->fns[i].start && pc < rs->fns[i].end)
			return emit_proc(&rs->fns[i], rs->kind, out) == 0 ? 0 : -1;
	return -1;
}

static int cmp_fn_ptr(const void *a, const void *b)
{
	const struct emit_fn *x = *(const struct emit_fn *const *)a;
	const struct emit_fn *y = *(const struct emit_fn *const *)b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Register rs->fns[0..n) with rs->form.  For tables and callbacks the range
 * is [lo, hi) when set, else the functions' hull.  `publish` = false leaves
 * a table's procedures staged.  Returns 0 or the failing call's status.
 */
static UNUSED int regset_add(struct regset *rs, bool publish)
{
	const struct emit_fn **sorted;
	struct sw_jit_proc *procs;
	int rc = 0;

	sorted = calloc(rs->n, sizeof(*sorted));
	procs = calloc(rs->n, sizeof(*procs));
	if (!sorted || !procs)
		abort();
	for (size_t i = 0; i < rs->n; i++)
		sorted[i] = &rs->fns[i];
	qsort(sorted, rs->n, sizeof(*sorted), cmp_fn_ptr);
	if (!rs->lo && !rs->hi) {
		rs->lo = sorted[0]->start;
		rs->hi = sorted[rs->n - 1]->end;
	}
	rs->kind = form_kind(rs->form);
	rs->h = 0;
	switch (rs->form) {
	case F_EH_FRAME: {
		/* pc-relative to a made-up address next to the code: the
		 * registry decodes them as if the bytes lived there */
		uint64_t eh_addr = rs->lo - 0x10000;
		const char **names = calloc(rs->n, sizeof(*names));
		int size = emit_eh_frame((const struct emit_fn *const *)sorted, rs->n, NULL, 0, eh_addr,
					 SW_CFI_B_PCREL4);
		uint8_t *eh = size > 0 ? malloc((size_t)size) : NULL;
		if (!names || !eh) {
			printf("emit_eh_frame (measuring): %s\n", t_status(size));
			abort();
		}
		for (size_t i = 0; i < rs->n; i++)
			names[i] = sorted[i]->name;
		size = emit_eh_frame((const struct emit_fn *const *)sorted, rs->n, eh, (size_t)size,
				     eh_addr, SW_CFI_B_PCREL4);
		rc = size < 0 ? size : sw_jit_add_eh_frame(eh, (size_t)size, eh_addr, names, rs->n, &rs->h);
		free(eh);
		free(names);
		break;
	}
	case F_PROCS_FRAME: case F_PROCS_CFI: case F_PROCS_DYN:
		for (size_t i = 0; i < rs->n; i++)
			emit_proc(&rs->fns[i], rs->kind, &procs[i]);
		rc = sw_jit_add_procs(procs, rs->n, &rs->h);
		break;
	case F_TABLE_FRAME: case F_TABLE_CFI: case F_TABLE_DYN:
		for (size_t i = 0; i < rs->n; i++)
			emit_proc(sorted[i], rs->kind, &procs[i]);
		rc = sw_jit_table_create(rs->lo, rs->hi, rs->n + 4, &rs->h);
		/* in two batches: the table grows */
		if (rc == 0 && rs->n / 2 > 0)
			rc = sw_jit_table_append(rs->h, procs, rs->n / 2);
		if (rc == 0 && publish && rs->n / 2 > 0)
			rc = sw_jit_table_publish(rs->h);
		if (rc == 0)
			rc = sw_jit_table_append(rs->h, procs + rs->n / 2, rs->n - rs->n / 2);
		if (rc == 0 && publish)
			rc = sw_jit_table_publish(rs->h);
		if (rc != 0 && rs->h) {
			sw_jit_remove(rs->h);
			rs->h = 0;
		}
		break;
	default:
		rc = sw_jit_add_callback(rs->lo, rs->hi, regset_callback, rs, &rs->h);
		break;
	}
	free(procs);
	free(sorted);
	return rc;
}

static UNUSED int regset_remove(struct regset *rs)
{
	int rc = sw_jit_remove(rs->h);
	rs->h = 0;
	rs->lo = rs->hi = 0;
	return rc;
}

/* ------------------------------------------------------------------ walk checks */

/* Why a walk did not match (filled by check_walk, printed by walk_print). */
enum walk_what {
	W_OK, W_STEP, W_IP, W_SOURCE, W_RANGE, W_NAME, W_NAME_OFF, W_REG, W_ENTER,
	W_ENTER_REG, W_DRIVER, W_DRIVER_REG, W_MAIN, W_END, W_LOOKUP, W_LOOKUP_RANGE,
	W_LOOKUP_FORM,
};
static UNUSED const char *const walk_names[] = {
	"ok", "sw_step failed", "wrong IP", "proc source is not SW_SRC_JIT",
	"sw_get_proc_info range", "sw_jit_get_name", "sw_jit_get_name offset",
	"callee-saved register of a JIT frame", "jit_enter frame expected",
	"callee-saved register of the jit_enter frame", "driver frame expected",
	"callee-saved register of the driver frame", "main not reached",
	"walk did not end with SW_END_OF_STACK", "sw_jit_lookup", "sw_jit_lookup range",
	"sw_jit_lookup form",
};

struct walk_fail {
	int what;                    /* enum walk_what */
	int frame;                   /* 0: the first frame checked */
	int reg;                     /* W_*REG: the register */
	uint64_t got, want;
};

/* What a walk through a chain must see. */
struct walk_expect {
	const struct emit_fn *fns;   /* the chain fns[0] -> ... */
	int jform;                   /* expected sw_jit_found.form, 0: not checked */
	const uint64_t *entry;       /* registers jit_enter loaded */
	const uint64_t *caller;      /* the driver's registers (jit_enter's caller_regs) */
	uint64_t driver;             /* the driver function (its FDE start) */
	uint64_t main_fn;            /* main (or a thread routine): must be on the walk */
};

#define WFAIL(w, fr, g, wa)                                                     \
	do {                                                                    \
		f->what = (w);                                                  \
		f->frame = (fr);                                                \
		f->got = (uint64_t)(g);                                         \
		f->want = (uint64_t)(wa);                                       \
		return false;                                                   \
	} while (0)

/*
 * The cursor is on a frame in fns[k]: interrupted (its IP is the
 * interrupted instruction) or at fns[k]'s call.  Walk out and check every
 * frame: the JIT frames fns[k], ..., fns[0] (IP, proc info, name, lookup,
 * callee-saved registers), jit_enter (registers = entry), the driver
 * (registers = caller), then on to main and the end of the stack.
 * Async-signal-safe.  Returns true, or false with *f filled.
 */
static UNUSED bool check_walk(sw_cursor_t *c, const struct walk_expect *e, int k, bool interrupted,
			      struct walk_fail *f)
{
	const struct emit_fn *fns = e->fns;
	int frame = 0, rc;
	uint64_t v, want;

	memset(f, 0, sizeof(*f));
	for (int j = k; j >= 0; j--, frame++) {
		const struct emit_fn *fn = &fns[j];
		uint64_t ip = sw_get_ip(c);
		bool first = interrupted && j == k;
		uint64_t pc = first ? ip : ip - 1;
		if (!first && ip != fn->start + fn->call_ret)
			WFAIL(W_IP, frame, ip, fn->start + fn->call_ret);
		if (first && (ip < fn->start || ip >= fn->end))
			WFAIL(W_IP, frame, ip, fn->start);
		struct sw_proc_info pi;
		rc = sw_get_proc_info(c, &pi);
		if (rc != 0 || pi.source != SW_SRC_JIT)
			WFAIL(W_SOURCE, frame, rc ? (uint64_t)(int64_t)rc : (uint64_t)pi.source, SW_SRC_JIT);
		if (pi.start != fn->start || pi.end != fn->end)
			WFAIL(W_RANGE, frame, pi.start, fn->start);
		char name[EMIT_NAME_MAX];
		uint64_t off = 0;
		rc = sw_jit_get_name(pc, name, sizeof(name), &off);
		if (rc != 0 || strcmp(name, fn->name) != 0)
			WFAIL(W_NAME, frame, (uint64_t)(int64_t)rc, 0);
		if (off != pc - fn->start)
			WFAIL(W_NAME_OFF, frame, off, pc - fn->start);
		struct sw_jit_found fd;
		rc = sw_jit_lookup(pc, &fd);
		if (rc != 0)
			WFAIL(W_LOOKUP, frame, (uint64_t)(int64_t)rc, 0);
		if (fd.start != fn->start || fd.end != fn->end)
			WFAIL(W_LOOKUP_RANGE, frame, fd.start, fn->start);
		if (e->jform && fd.form != e->jform)
			WFAIL(W_LOOKUP_FORM, frame, fd.form, e->jform);
		if (!first) {
			for (int r = 0; r < SW_REG_RIP; r++) {
				if (!expected_reg(fns, j, r, e->entry, &want))
					continue;
				if (sw_get_reg(c, r, &v) != 0 || v != want) {
					f->reg = r;
					WFAIL(W_REG, frame, v, want);
				}
			}
		}
		rc = sw_step(c);
		if (rc != 0)
			WFAIL(W_STEP, frame, (uint64_t)(int64_t)rc, 0);
	}
	/* jit_enter */
	if (sw_get_ip(c) != (uint64_t)(uintptr_t)jit_enter_ret)
		WFAIL(W_ENTER, frame, sw_get_ip(c), (uintptr_t)jit_enter_ret);
	for (int i = 0; i < NCALLEE; i++)
		if (sw_get_reg(c, callee_regs[i], &v) != 0 || v != e->entry[i]) {
			f->reg = callee_regs[i];
			WFAIL(W_ENTER_REG, frame, v, e->entry[i]);
		}
	rc = sw_step(c);
	frame++;
	if (rc != 0)
		WFAIL(W_STEP, frame - 1, (uint64_t)(int64_t)rc, 0);
	/* the driver */
	struct sw_proc_info pi;
	if (sw_get_proc_info(c, &pi) != 0 || pi.start != e->driver)
		WFAIL(W_DRIVER, frame, pi.start, e->driver);
	for (int i = 0; i < NCALLEE; i++)
		if (sw_get_reg(c, callee_regs[i], &v) != 0 || v != e->caller[i]) {
			f->reg = callee_regs[i];
			WFAIL(W_DRIVER_REG, frame, v, e->caller[i]);
		}
	bool seen_main = false;
	int limit = 256;
	while ((rc = sw_step(c)) == 0 && --limit > 0) {
		frame++;
		if (sw_get_proc_info(c, &pi) == 0 && pi.start == e->main_fn)
			seen_main = true;
	}
	if (!seen_main)
		WFAIL(W_MAIN, frame, (uint64_t)(int64_t)rc, 0);
	if (rc != SW_END_OF_STACK)
		WFAIL(W_END, frame, (uint64_t)(int64_t)rc, SW_END_OF_STACK);
	return true;
}

static UNUSED void walk_print(const char *prefix, const struct walk_fail *f)
{
	printf("%s: %s at frame %d", prefix, walk_names[f->what], f->frame);
	if (f->what == W_REG || f->what == W_ENTER_REG || f->what == W_DRIVER_REG)
		printf(" (DWARF register %d)", f->reg);
	if (f->what == W_STEP || f->what == W_END || f->what == W_SOURCE || f->what == W_NAME ||
	    f->what == W_LOOKUP)
		printf(": %s (%" PRId64 ")", (int64_t)f->got < 0 ? sw_strerror((int)f->got) : "",
		       (int64_t)f->got);
	else
		printf(": got %#" PRIx64 ", want %#" PRIx64, f->got, f->want);
	printf("\n");
}
