/*
 * What a JIT author gets back when a call fails: the right SW_E* code and,
 * from sw_jit_last_error, a reason that names the function, the field
 * (procs[i].u.frame.frame_size, ...) and the offending value.  Every
 * validation failure of the registry, the descriptor converters and the
 * CFI builder is fed once; each case checks the code and that the reason
 * contains the field.  tests/scripts/jit_reasons.sh checks that no
 * SW_EINVAL leaves src/jit without a reason.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "../harness.h"

/* The registry never reads code: these addresses need not be mapped. */
#define BASE 0x7d0000000000ull
/* src/jit/describe/describe.h: SW_JIT_DESCRIBE_MAX_OPS (internal) */
#define SW_JIT_DESCRIBE_MAX_OPS_FOR_TEST 65536

/* The reason of the last failure contains every one of the strings. */
#define CHECK_REASON(...) check_reason(__FILE__, __LINE__, (const char *const[]){ __VA_ARGS__, NULL })

static void check_reason(const char *file, int line, const char *const *want)
{
	const char *r = sw_jit_last_error();

	for (; *want; want++) {
		if (!r || !strstr(r, *want)) {
			printf("    %s:%d: reason \"%s\" lacks \"%s\"\n", file, line, r ? r : "(null)", *want);
			sw_test_failed_checks++;
		}
	}
}

static uint32_t epi_last;

/* A standard frame (push rbp; mov rbp, rsp ... pop rbp; ret at the end). */
static struct sw_jit_proc frame_proc(uint64_t start, uint64_t len, const char *name)
{
	struct sw_jit_proc p;

	memset(&p, 0, sizeof(p));
	p.start = start;
	p.end = start + len;
	p.name = name;
	p.kind = SW_JIT_UNWIND_FRAME;
	p.u.frame.flags = SW_JIT_FRAME_FP;
	epi_last = (uint32_t)len - 1;
	p.u.frame.nepilogues = 1;
	p.u.frame.epilogues = &epi_last;
	return p;
}

/* ------------------------------------------------------------ names */

static int cb_unnamed(void *arg, uint64_t pc, struct sw_jit_proc *out)
{
	(void)arg;
	*out = frame_proc(pc & ~(uint64_t)0xff, 0x100, NULL);
	return 0;
}

TEST(get_name_without_a_name_is_enoname)
{
	struct sw_jit_proc p[2] = {
		frame_proc(BASE + 0x000, 0x40, "named"),
		frame_proc(BASE + 0x040, 0x40, NULL),
	};
	sw_jit_handle_t h = 0, t = 0, c = 0;
	char name[32];
	uint64_t off = 0;

	CHECK_EQ(sw_jit_add_procs(p, 2, &h), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x45, name, sizeof(name), &off), SW_ENONAME);
	CHECK_STR(name, "");
	CHECK_STR(sw_strerror(SW_ENONAME), "procedure has no name");
	CHECK_EQ(sw_jit_get_name(BASE + 0x5, name, sizeof(name), &off), 0);
	CHECK_STR(name, "named");
	/* no procedure at all stays SW_ENOTFOUND */
	CHECK_EQ(sw_jit_get_name(BASE + 0x85, name, sizeof(name), &off), SW_ENOTFOUND);

	/* the same for a table's procedure and a callback's answer */
	CHECK_EQ(sw_jit_table_create(BASE + 0x1000, BASE + 0x2000, 4, &t), 0);
	struct sw_jit_proc q = frame_proc(BASE + 0x1000, 0x40, NULL);
	CHECK_EQ(sw_jit_table_append(t, &q, 1), 0);
	CHECK_EQ(sw_jit_table_publish(t), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x1001, name, sizeof(name), &off), SW_ENONAME);
	CHECK_EQ(sw_jit_get_name(BASE + 0x1801, name, sizeof(name), &off), SW_ENOTFOUND);
	CHECK_EQ(sw_jit_add_callback(BASE + 0x2000, BASE + 0x3000, cb_unnamed, NULL, &c), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x2101, name, sizeof(name), &off), SW_ENONAME);

	CHECK_EQ(sw_jit_remove(h), 0);
	CHECK_EQ(sw_jit_remove(t), 0);
	CHECK_EQ(sw_jit_remove(c), 0);
}


/* ------------------------------------------------------------ add_procs */

/* Register p alone: the code, then the reason holds each string. */
#define ADD1(p, code, ...)                                                \
	do {                                                                  \
		sw_jit_handle_t h_ = 0;                                           \
		int rc_ = sw_jit_add_procs(&(p), 1, &h_);                         \
		CHECK_EQ(rc_, code);                                              \
		if (rc_ == 0)                                                     \
			sw_jit_remove(h_);                                            \
		else                                                              \
			CHECK_REASON("sw_jit_add_procs: ", __VA_ARGS__);              \
	} while (0)

TEST(frame_descriptor_reasons)
{
	const uint64_t at = BASE + 0x10000;
	struct sw_jit_proc p = frame_proc(at, 0x40, "f"), q;
	static uint32_t epis[2];
	static uint32_t far_epi = 0x40, early_epi = 2;

	q = p; q.u.frame.flags = 0x80;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.flags", "0x80");
	q = p; q.u.frame.nsaved = SW_JIT_FRAME_MAX_SAVED + 1;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.nsaved", "7");
	q = p; q.u.frame.frame_size = 0x80000000u;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.frame_size", "2147483648");
	q = p; q.u.frame.nsaved = 1; q.u.frame.saved[0] = SW_REG_RSP;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.saved[0]", "rsp");
	q = p; q.u.frame.nsaved = 2; q.u.frame.saved[0] = SW_REG_RBX; q.u.frame.saved[1] = SW_REG_RAX;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.saved[1]", "rax");
	q = p; q.u.frame.nsaved = 2; q.u.frame.saved[0] = q.u.frame.saved[1] = SW_REG_R12;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.saved[1]", "r12", "twice");
	q = p; q.u.frame.nsaved = 1; q.u.frame.saved[0] = SW_REG_RBP;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.saved[0]", "rbp", "SW_JIT_FRAME_FP");
	q = p; q.end = q.start + 2; q.u.frame.nepilogues = 0;
	ADD1(q, SW_EINVAL, "procs[0].u.frame", "prologue", "4 bytes", " 2 ");
	q = p; q.u.frame.nepilogues = 70000;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.nepilogues", "70000");
	q = p; q.u.frame.epilogues = NULL;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.epilogues", "NULL");
	q = p; q.u.frame.epilogues = &far_epi;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.epilogues[0]", "64", "not inside");
	q = p; q.u.frame.epilogues = &early_epi;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.epilogues[0]", "prologue");
	epis[0] = 0x3f; epis[1] = 0x20;
	q = p; q.u.frame.nepilogues = 2; q.u.frame.epilogues = epis;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.epilogues[1]", "32", "epilogues[0]");
	/* no FP, rbx r12 and 16 bytes: the epilogue needs add(4) + pops(3)
	 * before its ret, from offset 7 on */
	epis[0] = 8;
	q = p; q.u.frame.flags = 0; q.u.frame.nsaved = 2; q.u.frame.saved[0] = SW_REG_RBX;
	q.u.frame.saved[1] = SW_REG_R12; q.u.frame.frame_size = 16; q.u.frame.nepilogues = 1;
	q.u.frame.epilogues = epis;
	ADD1(q, SW_EINVAL, "procs[0].u.frame.epilogues[0]", "leaves 1 bytes", "7 needed");
	epis[0] = 14;
	ADD1(q, 0, "");
}

TEST(proc_reasons)
{
	const uint64_t at = BASE + 0x20000;
	struct sw_jit_proc p = frame_proc(at, 0x40, "f"), q, two[2];
	sw_jit_handle_t h = 0;
	static const struct sw_jit_line unsorted[2] = { { 8, 2 }, { 4, 3 } };
	static const struct sw_jit_line beyond[2] = { { 0, 1 }, { 0x40, 2 } };

	CHECK_EQ(sw_jit_add_procs(NULL, 1, &h), SW_EINVAL);
	CHECK_REASON("sw_jit_add_procs: procs: NULL");
	CHECK_EQ(sw_jit_add_procs(&p, 0, &h), SW_EINVAL);
	CHECK_REASON("sw_jit_add_procs: n: 0");
	CHECK_EQ(sw_jit_add_procs(&p, 1, NULL), SW_EINVAL);
	CHECK_REASON("sw_jit_add_procs: out: NULL");
	q = p; q.kind = 0;
	ADD1(q, SW_EINVAL, "procs[0].kind: 0");
	q = p; q.kind = 9;
	ADD1(q, SW_EINVAL, "procs[0].kind: 9");
	q = p; q.end = q.start;
	ADD1(q, SW_EINVAL, "procs[0].end", "not above");
	q = p; q.end = q.start - 1;
	ADD1(q, SW_EINVAL, "procs[0].end", "not above");
	q = p; q.end = q.start + (1ull << 32);
	ADD1(q, SW_EINVAL, "procs[0].end", "4 GiB");
	q = p; q.file = "x.c"; q.nlines = 2; q.lines = NULL;
	ADD1(q, SW_EINVAL, "procs[0].lines: NULL", "2");
	q = p; q.file = "x.c"; q.nlines = 2; q.lines = unsorted;
	ADD1(q, SW_EINVAL, "procs[0].lines[1].offset", "sorted");
	q = p; q.file = "x.c"; q.nlines = 2; q.lines = beyond;
	ADD1(q, SW_EINVAL, "procs[0].lines[1].offset", "64");

	/* the index in procs[] is the offending one */
	two[0] = frame_proc(at, 0x40, "a");
	two[1] = frame_proc(at + 0x100, 0x40, "b");
	two[1].u.frame.frame_size = 0x80000000u;
	CHECK_EQ(sw_jit_add_procs(two, 2, &h), SW_EINVAL);
	CHECK_REASON("sw_jit_add_procs: procs[1].u.frame.frame_size");
	two[1] = frame_proc(at + 0x20, 0x40, "b");
	CHECK_EQ(sw_jit_add_procs(two, 2, &h), SW_EOVERLAP);
	CHECK_REASON("sw_jit_add_procs: procs[1]", "overlaps procs[0]");
	CHECK_EQ(sw_jit_add_procs(&p, 1, &h), 0);
	q = frame_proc(at + 0x3f, 0x40, "q");
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EOVERLAP);
	CHECK_REASON("sw_jit_add_procs: procs[0]", "overlaps a registered range");
	CHECK_EQ(sw_jit_remove(h), 0);
}

static struct sw_jit_proc cfi_proc(const uint8_t *insns, size_t len)
{
	struct sw_jit_proc p = frame_proc(BASE + 0x30000, 0x40, "c");

	p.kind = SW_JIT_UNWIND_CFI;
	p.u.cfi.insns = insns;
	p.u.cfi.len = len;
	return p;
}

TEST(cfi_reasons)
{
	static const uint8_t bad_op[] = { 0x41, 0x3c };                 /* advance 1; 0x3c */
	static const uint8_t cut[] = { 0x0c, 0x07 };                    /* def_cfa rsp, <missing> */
	static const uint8_t badreg[] = { 0x05, 0xe0, 0x27, 0x01 };     /* offset_extended r5088 */
	static const uint8_t restore[] = { 0x0b };                      /* restore_state alone */
	static uint8_t nops[SW_JIT_MAX_CFI + 16];
	struct sw_jit_proc p;

	p = cfi_proc(NULL, 4);
	ADD1(p, SW_EINVAL, "procs[0].u.cfi.insns: NULL", "4");
	p = cfi_proc(bad_op, sizeof(bad_op));
	ADD1(p, SW_EBADOP, "procs[0].u.cfi.insns", "byte 1", "0x3c");
	p = cfi_proc(cut, sizeof(cut));
	ADD1(p, SW_ETRUNCATED, "procs[0].u.cfi.insns", "byte 0");
	p = cfi_proc(badreg, sizeof(badreg));
	ADD1(p, SW_EBADREG, "procs[0].u.cfi.insns", "fails when run", "byte 0");
	p = cfi_proc(restore, sizeof(restore));
	ADD1(p, SW_ERESTORE, "procs[0].u.cfi.insns", "fails when run", "byte 0");
	p = cfi_proc(nops, sizeof(nops));
	ADD1(p, SW_EINVAL, "procs[0]", "SW_JIT_MAX_CFI");
}

/* ------------------------------------------------------------ dynamic */

struct dyn_case {
	const char *what;               /* the field the reason must name */
	const char *also;
	int32_t insn_count;
	int nops;
	struct sw_jit_dyn_op op[3];
};

TEST(dyn_reasons)
{
	static const struct dyn_case cases[] = {
		{ "region[0].op[0].tag", "9", 8, 1, { { 9, 0, 0, 0, 0 } } },
		{ "region[0].op[0].when", "8", 8, 1, { { SW_DYN_ADD, 0, SW_REG_RSP, 8, (uint64_t)-8 } } },
		{ "region[0].op[0].when", "-5", 8, 1, { { SW_DYN_ADD, 0, SW_REG_RSP, -5, (uint64_t)-8 } } },
		{ "region[0].op[0].reg", "ADD", 8, 1, { { SW_DYN_ADD, 0, SW_REG_RBX, 0, 8 } } },
		{ "region[0].op[0].val", "rsp +=", 8, 1, { { SW_DYN_ADD, 0, SW_REG_RSP, 0, 13 } } },
		{ "region[0].op[1].reg", "5000", 8, 2, { { SW_DYN_ADD, 0, SW_REG_RSP, 0, (uint64_t)-8 },
							{ SW_DYN_SPILL_SP_REL, 0, 5000, 0, 0 } } },
		{ "region[0].op[1]", "SPILL_FP_REL", 8, 2,
		  { { SW_DYN_ADD, 0, SW_REG_RSP, 0, (uint64_t)-8 },
		    { SW_DYN_SPILL_FP_REL, 0, SW_REG_RBX, 0, (uint64_t)-8 } } },
		{ "region[0].op[1].val", "multiple of 8", 8, 2,
		  { { SW_DYN_ADD, 0, SW_REG_RSP, 0, (uint64_t)-8 },
		    { SW_DYN_SPILL_SP_REL, 0, SW_REG_RBX, 0, 3 } } },
		{ "region[0].op[0].val", "rbp", 8, 1, { { SW_DYN_SAVE_REG, 0, SW_REG_RSP, 0, SW_REG_RAX } } },
		{ "region[0].op[0].reg", "40", 8, 1, { { SW_DYN_SAVE_REG, 0, 40, 0, SW_REG_RAX } } },
		{ "region[0].op[0].val", "POP_FRAMES", 8, 1, { { SW_DYN_POP_FRAMES, 0, 0, 0, 1 } } },
		{ "region[0].op[0].val", "77", 8, 1, { { SW_DYN_COPY_STATE, 0, 0, 0, 77 } } },
		{ "region[0].op[0].val", "outside the procedure", 8, 1,
		  { { SW_DYN_ALIAS, 0, 0, 2, 0x1000 } } },
		{ "region[0].op[0].val", "before the alias point", 8, 1,
		  { { SW_DYN_ALIAS, 0, 0, 0, 4 } } },          /* val: start + 4 */
		{ "region[0].op[1]", "ALIAS", 8, 2, { { SW_DYN_ALIAS, 0, 0, 5, 0 },   /* val: start */
						      { SW_DYN_ADD, 0, SW_REG_RSP, 6, 0 } } },
		{ "region[0].insn_count", "100000", 100000, 0, { { 0 } } },
		{ "region[0].insn_count", "100000", -100000, 0, { { 0 } } },
	};
	union {
		struct sw_jit_dyn_region r;
		uint8_t bytes[sizeof(struct sw_jit_dyn_region) + 4 * sizeof(struct sw_jit_dyn_op)];
	} d;
	struct sw_jit_proc p = frame_proc(BASE + 0x40000, 0x40, "d");

	p.kind = SW_JIT_UNWIND_DYN;
	p.u.dyn = &d.r;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&d, 0, sizeof(d));
		d.r.insn_count = cases[i].insn_count;
		d.r.op_count = (uint32_t)cases[i].nops;
		for (int k = 0; k < cases[i].nops; k++)
			d.r.op[k] = cases[i].op[k];
		if (d.r.op[0].tag == SW_DYN_ALIAS && d.r.op[0].val < 0x1000)
			d.r.op[0].val += p.start;
		ADD1(p, SW_EINVAL, "procs[0].u.dyn ", cases[i].what, cases[i].also);
	}

	/* a negative length on a region that is not the last */
	struct sw_jit_dyn_region last = { 0 };
	memset(&d, 0, sizeof(d));
	d.r.insn_count = -4;
	d.r.next = &last;
	ADD1(p, SW_EINVAL, "procs[0].u.dyn region[0].insn_count", "not the last");

	/* one label too many */
	{
		union {
			struct sw_jit_dyn_region r;
			uint8_t bytes[sizeof(struct sw_jit_dyn_region) +
				      (SW_JIT_DYN_MAX_LABELS + 1) * sizeof(struct sw_jit_dyn_op)];
		} l;
		memset(&l, 0, sizeof(l));
		l.r.insn_count = 16;
		l.r.op_count = SW_JIT_DYN_MAX_LABELS + 1;
		for (int k = 0; k <= SW_JIT_DYN_MAX_LABELS; k++) {
			l.r.op[k].tag = SW_DYN_LABEL_STATE;
			l.r.op[k].when = k;
			l.r.op[k].val = (uint64_t)k + 1;
		}
		p.u.dyn = &l.r;
		ADD1(p, SW_EINVAL, "procs[0].u.dyn region[0].op[8].val", "SW_JIT_DYN_MAX_LABELS");
	}
	/* POP_FRAMES back past the 8 frames it can return to: 9 one-byte
	 * regions each opening a frame, then a pop of all 9 */
	{
		union {
			struct sw_jit_dyn_region r;
			uint8_t bytes[sizeof(struct sw_jit_dyn_region) + sizeof(struct sw_jit_dyn_op)];
		} f[10];
		memset(f, 0, sizeof(f));
		for (int k = 0; k < 10; k++) {
			f[k].r.insn_count = 1;
			f[k].r.op_count = 1;
			f[k].r.next = k < 9 ? &f[k + 1].r : NULL;
			f[k].r.op[0] = (struct sw_jit_dyn_op){ SW_DYN_ADD, 0, SW_REG_RSP, 0, (uint64_t)-8 };
		}
		f[9].r.op[0] = (struct sw_jit_dyn_op){ SW_DYN_POP_FRAMES, 0, 0, 0, 9 };
		p.u.dyn = &f[0].r;
		ADD1(p, SW_EINVAL, "procs[0].u.dyn region[9].op[0].val", "8 frames");
	}
	/* a cyclic list */
	{
		struct sw_jit_dyn_region a = { 0 }, b = { 0 };
		a.next = &b;
		b.next = &a;
		p.u.dyn = &a;
		ADD1(p, SW_EINVAL, "procs[0].u.dyn", "4096 regions");
	}
	/* too many ops */
	{
		size_t nops = SW_JIT_DESCRIBE_MAX_OPS_FOR_TEST + 1;
		struct sw_jit_dyn_region *r = calloc(1, sizeof(*r) + nops * sizeof(struct sw_jit_dyn_op));
		r->insn_count = 8;
		r->op_count = (uint32_t)nops;
		for (size_t k = 0; k < nops; k++)
			r->op[k] = (struct sw_jit_dyn_op){ SW_DYN_LABEL_STATE, 0, 0, 0, 1 };
		p.u.dyn = r;
		ADD1(p, SW_EINVAL, "procs[0].u.dyn", "65536 ops");
		free(r);
	}
}

/* ------------------------------------------------------------ builder */

TEST(builder_reasons)
{
	uint8_t buf[256];
	sw_cfi_builder_t b;
	const uint64_t code = BASE + 0x50000;

#define FRESH() sw_cfi_b_init(&b, buf, sizeof(buf), (uint64_t)(uintptr_t)buf, SW_CFI_B_ABSPTR)
#define OPEN() (FRESH(), sw_cfi_b_startproc(&b, code, 64))
	CHECK_EQ(sw_cfi_b_init(NULL, buf, sizeof(buf), 0, SW_CFI_B_ABSPTR), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_init: b is NULL");
	CHECK_EQ(sw_cfi_b_init(&b, buf, sizeof(buf), 0, 7), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_init: ptr_mode: 7");
	FRESH();
	CHECK_EQ(sw_cfi_b_def_cfa_offset(&b, 16), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_def_cfa_offset: ", "outside a procedure");
	FRESH();
	CHECK_EQ(sw_cfi_b_startproc(&b, code, 0), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_startproc: code_size: 0");
	FRESH();
	CHECK_EQ(sw_cfi_b_startproc(&b, UINT64_MAX - 4, 8), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_startproc: code_start", "wraps");
	OPEN();
	CHECK_EQ(sw_cfi_b_startproc(&b, code + 64, 8), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_startproc: ", "inside a procedure");
	OPEN();
	sw_cfi_b_endproc(&b);
	CHECK_EQ(sw_cfi_b_startproc(&b, code + 32, 64), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_startproc: code_start", "overlaps");
	FRESH();
	CHECK_EQ(sw_cfi_b_endproc(&b), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_endproc: ", "outside a procedure");
	OPEN();
	CHECK_EQ(sw_cfi_b_finish(&b), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_finish: ", "inside a procedure");
	FRESH();
	CHECK(sw_cfi_b_finish(&b) > 0);
	CHECK_EQ(sw_cfi_b_finish(&b), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_finish: ", "after sw_cfi_b_finish");
	OPEN();
	sw_cfi_b_advance(&b, 8);
	CHECK_EQ(sw_cfi_b_advance(&b, 4), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_advance: code_offset: 4", "8");
	OPEN();
	CHECK_EQ(sw_cfi_b_advance(&b, 64), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_advance: code_offset: 64", "code_size 64");
	OPEN();
	CHECK_EQ(sw_cfi_b_def_cfa_offset(&b, -12), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_def_cfa_offset: offset", "-12");
	OPEN();
	CHECK_EQ(sw_cfi_b_offset(&b, SW_REG_RBX, -12), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_offset: offset", "-12", "multiple of 8");
	OPEN();
	CHECK_EQ(sw_cfi_b_adjust_cfa_offset(&b, INT64_MAX), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_adjust_cfa_offset: delta");
	OPEN();
	CHECK_EQ(sw_cfi_b_rel_offset(&b, SW_REG_RBX, INT64_MIN), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_rel_offset: offset");
	OPEN();
	CHECK_EQ(sw_cfi_b_restore(&b, 5000), SW_EBADREG);
	CHECK_REASON("sw_cfi_b_restore: reg: 5000", "SW_CFI_B_MAX_REG");
	OPEN();
	CHECK_EQ(sw_cfi_b_register(&b, SW_REG_RBX, 6000), SW_EBADREG);
	CHECK_REASON("sw_cfi_b_register: reg2: 6000");
	OPEN();
	for (int i = 0; i < SW_CFI_B_REMEMBER_MAX; i++)
		sw_cfi_b_remember_state(&b);
	CHECK_EQ(sw_cfi_b_remember_state(&b), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_remember_state: ", "SW_CFI_B_REMEMBER_MAX");
	OPEN();
	CHECK_EQ(sw_cfi_b_restore_state(&b), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_restore_state: ", "remember_state");
	OPEN();
	sw_cfi_b_def_cfa_offset(&b, 16);
	CHECK_EQ(sw_cfi_b_personality(&b, 0x00 /* absptr */, 0x1234), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_personality: ", "after the procedure's first directive");
	OPEN();
	CHECK_EQ(sw_cfi_b_lsda(&b, 0x30, 0x1234), SW_EENCODING);
	CHECK_REASON("sw_cfi_b_lsda: encoding: 0x30");
	OPEN();
	CHECK_EQ(sw_cfi_b_escape(&b, NULL, 3), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_escape: bytes: NULL", "3");
	/* output too small */
	sw_cfi_b_init(&b, buf, 16, (uint64_t)(uintptr_t)buf, SW_CFI_B_ABSPTR);
	sw_cfi_b_startproc(&b, code, 64);
	CHECK_EQ(sw_cfi_b_endproc(&b), SW_ETRUNCATED);
	CHECK_REASON("sw_cfi_b_endproc: ", "16-byte buffer");
	/* pc-relative 4-byte FDE addresses 2^40 away */
	sw_cfi_b_init(&b, buf, sizeof(buf), (uint64_t)(uintptr_t)buf, SW_CFI_B_PCREL4);
	sw_cfi_b_startproc(&b, (uint64_t)(uintptr_t)buf + (1ull << 40), 64);
	CHECK_EQ(sw_cfi_b_endproc(&b), SW_EENCODING);
	CHECK_REASON("sw_cfi_b_endproc: code_start", "2 GiB", "SW_CFI_B_PCREL8");

	/* sticky: later calls keep the first failure's reason, until another
	 * failure replaced it; then they say where the error came from */
	OPEN();
	CHECK_EQ(sw_cfi_b_advance(&b, 99), SW_EINVAL);
	CHECK_EQ(sw_cfi_b_endproc(&b), SW_EINVAL);
	CHECK_EQ(sw_cfi_b_finish(&b), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_advance: code_offset: 99");
	CHECK_EQ(sw_cfi_b_status(NULL), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_status: b is NULL");
	CHECK_EQ(sw_cfi_b_finish(&b), SW_EINVAL);
	CHECK_REASON("sw_cfi_b_finish: the builder failed earlier, in sw_cfi_b_advance");
#undef OPEN
#undef FRESH
}

/* ------------------------------------------------------------ other calls */

static int cb_bad_answer(void *arg, uint64_t pc, struct sw_jit_proc *out)
{
	(void)arg;
	*out = frame_proc(pc + 1, 0x10, "late");     /* does not contain pc */
	return 0;
}

static void *fail_elsewhere(void *arg)
{
	(void)arg;
	sw_jit_remove(0);       /* its own reason, in its own thread */
	return NULL;
}

TEST(registry_reasons)
{
	uint8_t zeros[64] = { 0 }, junk[64];
	sw_jit_handle_t h = 0, t = 0, c = 0;
	struct sw_jit_found fd;
	char name[16];
	uint64_t off;
	const uint64_t at = BASE + 0x60000;

	CHECK_EQ(sw_jit_add_eh_frame(NULL, 8, 0, NULL, 0, &h), SW_EINVAL);
	CHECK_REASON("sw_jit_add_eh_frame: eh_frame: NULL");
	CHECK_EQ(sw_jit_add_eh_frame(zeros, 0, 0, NULL, 0, &h), SW_EINVAL);
	CHECK_REASON("sw_jit_add_eh_frame: size: 0");
	CHECK_EQ(sw_jit_add_eh_frame(zeros, 8, 0, NULL, 0, NULL), SW_EINVAL);
	CHECK_REASON("sw_jit_add_eh_frame: out: NULL");
	CHECK_EQ(sw_jit_add_eh_frame(zeros, 8, 0, NULL, 2, &h), SW_EINVAL);
	CHECK_REASON("sw_jit_add_eh_frame: names: NULL", "nnames 2");
	CHECK_EQ(sw_jit_add_eh_frame(zeros, sizeof(zeros), 0, NULL, 0, &h), SW_EINVAL);
	CHECK_REASON("sw_jit_add_eh_frame: eh_frame: no FDE");
	memset(junk, 0xff, sizeof(junk));
	CHECK(sw_jit_add_eh_frame(junk, sizeof(junk), 0, NULL, 0, &h) < 0);
	CHECK_REASON("sw_jit_add_eh_frame: eh_frame: ", "offset 0x");

	/* .eh_frame bytes with a 4 GiB FDE and two overlapping FDEs */
	uint8_t eh[256];
	sw_cfi_builder_t b;
	sw_cfi_b_init(&b, eh, sizeof(eh), (uint64_t)(uintptr_t)eh, SW_CFI_B_ABSPTR);
	sw_cfi_b_startproc(&b, at, 0x100000000ull);
	sw_cfi_b_endproc(&b);
	int size = sw_cfi_b_finish(&b);
	CHECK(size > 0);
	CHECK_EQ(sw_jit_add_eh_frame(eh, (size_t)size, (uint64_t)(uintptr_t)eh, NULL, 0, &h),
		 SW_EINVAL);
	CHECK_REASON("sw_jit_add_eh_frame: eh_frame FDE[0]", "pc_range", "4 GiB");
	sw_cfi_b_init(&b, eh, sizeof(eh), (uint64_t)(uintptr_t)eh, SW_CFI_B_ABSPTR);
	sw_cfi_b_startproc(&b, at, 0x40);
	sw_cfi_b_endproc(&b);
	sw_cfi_b_startproc(&b, at + 0x100, 0x40);
	sw_cfi_b_endproc(&b);
	size = sw_cfi_b_finish(&b);
	/* the second FDE's pc_begin (absptr, 8 bytes after its header) made
	 * to overlap the first */
	uint32_t cie_len, fde1_len;
	memcpy(&cie_len, eh, 4);
	memcpy(&fde1_len, eh + cie_len + 4, 4);
	uint64_t overlap = at + 0x20;
	memcpy(eh + cie_len + 4 + fde1_len + 4 + 8, &overlap, 8);
	CHECK_EQ(sw_jit_add_eh_frame(eh, (size_t)size, (uint64_t)(uintptr_t)eh, NULL, 0, &h),
		 SW_EOVERLAP);
	CHECK_REASON("sw_jit_add_eh_frame: eh_frame FDE[1]", "overlaps eh_frame FDE[0]");

	/* tables */
	CHECK_EQ(sw_jit_table_create(at, at + 0x1000, 4, NULL), SW_EINVAL);
	CHECK_REASON("sw_jit_table_create: out: NULL");
	CHECK_EQ(sw_jit_table_create(at, at, 4, &t), SW_EINVAL);
	CHECK_REASON("sw_jit_table_create: end");
	CHECK_EQ(sw_jit_table_create(at, at + 0x1000, 0, &t), SW_EINVAL);
	CHECK_REASON("sw_jit_table_create: max_procs: 0");
	CHECK_EQ(sw_jit_table_create(at, at + 0x1000, 2, &t), 0);
	CHECK_EQ(sw_jit_table_create(at + 0x800, at + 0x2000, 2, &h), SW_EOVERLAP);
	CHECK_REASON("sw_jit_table_create: [start, end)", "overlaps a registered range");
	struct sw_jit_proc p[3] = {
		frame_proc(at + 0x100, 0x40, "a"), frame_proc(at + 0x000, 0x40, "b"),
		frame_proc(at + 0x200, 0x40, "c"),
	};
	CHECK_EQ(sw_jit_table_append(0x12345678, p, 1), SW_EBADHANDLE);
	CHECK_REASON("sw_jit_table_append: table: 0x12345678");
	CHECK_EQ(sw_jit_table_append(t, NULL, 1), SW_EINVAL);
	CHECK_REASON("sw_jit_table_append: procs: NULL");
	CHECK_EQ(sw_jit_table_append(t, p, 3), SW_EFULL);
	CHECK_REASON("sw_jit_table_append: n: 3", "max_procs 2");
	CHECK_EQ(sw_jit_table_append(t, p, 2), SW_EINVAL);
	CHECK_REASON("sw_jit_table_append: procs[1].start", "sorted");
	struct sw_jit_proc q = frame_proc(at - 0x10, 0x40, "q");
	CHECK_EQ(sw_jit_table_append(t, &q, 1), SW_EINVAL);
	CHECK_REASON("sw_jit_table_append: procs[0].start", "table's start");
	q = frame_proc(at + 0xfe0, 0x40, "q");
	CHECK_EQ(sw_jit_table_append(t, &q, 1), SW_EINVAL);
	CHECK_REASON("sw_jit_table_append: procs[0].end", "table's end");
	q = p[2];
	q.kind = 7;
	CHECK_EQ(sw_jit_table_append(t, &q, 1), SW_EINVAL);
	CHECK_REASON("sw_jit_table_append: procs[0].kind: 7");
	static const uint8_t restore[] = { 0x0b };
	q = p[2];
	q.kind = SW_JIT_UNWIND_CFI;
	q.u.cfi.insns = restore;
	q.u.cfi.len = 1;
	CHECK_EQ(sw_jit_table_append(t, &q, 1), SW_ERESTORE);
	CHECK_REASON("sw_jit_table_append: procs[0].u.cfi.insns", "fails when run");
	static uint8_t nops[SW_JIT_MAX_CFI];
	q.u.cfi.insns = nops;
	q.u.cfi.len = sizeof(nops);
	CHECK_EQ(sw_jit_table_append(t, &q, 1), SW_EINVAL);
	CHECK_REASON("sw_jit_table_append: procs[0]", "SW_JIT_MAX_CFI");
	CHECK_EQ(sw_jit_table_publish(0x12345678), SW_EBADHANDLE);
	CHECK_REASON("sw_jit_table_publish: table: 0x12345678");

	/* callbacks */
	CHECK_EQ(sw_jit_add_callback(at + 0x1000, at + 0x2000, NULL, NULL, &c), SW_EINVAL);
	CHECK_REASON("sw_jit_add_callback: callback: NULL");
	CHECK_EQ(sw_jit_add_callback(at + 0x1000, at + 0x2000, cb_bad_answer, NULL, NULL), SW_EINVAL);
	CHECK_REASON("sw_jit_add_callback: out: NULL");
	CHECK_EQ(sw_jit_add_callback(at + 0x2000, at + 0x1000, cb_bad_answer, NULL, &c), SW_EINVAL);
	CHECK_REASON("sw_jit_add_callback: end");
	CHECK_EQ(sw_jit_add_callback(at + 0x1000, at + 0x2000, cb_bad_answer, NULL, &c), 0);
	CHECK_EQ(sw_jit_lookup(at + 0x1100, &fd), SW_EINVAL);
	CHECK_REASON("sw_jit_lookup: the callback's answer", "does not contain");
	CHECK_EQ(sw_jit_get_name(at + 0x1100, name, sizeof(name), &off), SW_EINVAL);
	CHECK_REASON("sw_jit_get_name: the callback's answer");
	CHECK_EQ(sw_jit_publish(c, SW_JIT_PUB_PERF_MAP), SW_EINVAL);
	CHECK_REASON("sw_jit_publish: mask", "callback range");

	/* handles, moves, publishers, NULL outputs */
	CHECK_EQ(sw_jit_remove(0), SW_EBADHANDLE);
	CHECK_REASON("sw_jit_remove: handle: 0x0");
	CHECK_EQ(sw_jit_move(0x777, 16), SW_EBADHANDLE);
	CHECK_REASON("sw_jit_move: handle: 0x777");
	CHECK_EQ(sw_jit_move(t, INT64_MIN), SW_EINVAL);
	CHECK_REASON("sw_jit_move: delta", "address space");
	CHECK_EQ(sw_jit_move(t, 0x1000), SW_EOVERLAP);
	CHECK_REASON("sw_jit_move: delta", "overlaps a registered range");
	CHECK_EQ(sw_jit_set_publishers(0x40), SW_EINVAL);
	CHECK_REASON("sw_jit_set_publishers: mask", "0x40");
	CHECK_EQ(sw_jit_publish(t, 0x40), SW_EINVAL);
	CHECK_REASON("sw_jit_publish: mask", "0x40");
	CHECK_EQ(sw_jit_publish(0x777, 0), SW_EBADHANDLE);
	CHECK_REASON("sw_jit_publish: handle: 0x777");
	CHECK_EQ(sw_jit_lookup(at, NULL), SW_EINVAL);
	CHECK_REASON("sw_jit_lookup: out: NULL");
	CHECK_EQ(sw_jit_get_name(at, NULL, 8, &off), SW_EINVAL);
	CHECK_REASON("sw_jit_get_name: buf");
	CHECK_EQ(sw_jit_get_stats(NULL), SW_EINVAL);
	CHECK_REASON("sw_jit_get_stats: out: NULL");

	/* misses are answers: they keep the reason; so do successes */
	CHECK_EQ(sw_jit_lookup(at + 0x3000, &fd), SW_ENOTFOUND);
	CHECK_EQ(sw_jit_get_name(at + 0x3000, name, sizeof(name), &off), SW_ENOTFOUND);
	CHECK_EQ(sw_jit_publish(t, 0), 0);
	CHECK_REASON("sw_jit_get_stats: out: NULL");
	/* each thread has its own */
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, fail_elsewhere, NULL), 0);
	pthread_join(th, NULL);
	CHECK_REASON("sw_jit_get_stats: out: NULL");

	CHECK_EQ(sw_jit_remove(t), 0);
	CHECK_EQ(sw_jit_remove(c), 0);
}

SW_TEST_MAIN
