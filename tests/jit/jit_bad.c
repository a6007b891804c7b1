/*
 * jit_bad: malformed registrations give error codes, never crashes, and
 * leave the registry unchanged.
 *
 *   overlap    between procedures of one call; with another handle (and
 *              adjacent ranges that are fine); with a table range and a
 *              callback range, both ways; between the FDEs of one
 *              .eh_frame and with a registered range; inside one table append
 *   cfi        unknown opcode, truncated instructions, bad register, CFI
 *              beyond SW_JIT_MAX_CFI; .eh_frame truncated at every length,
 *              with a bad CIE pointer, an unknown CIE version, an FDE with an
 *              empty range; 20000 random mutations of valid .eh_frame bytes
 *   ranges     empty, wrapping, >= 4 GiB ranges for every form
 *   args       NULL arguments and n == 0 everywhere; unknown kinds; frame
 *              descriptors with bad registers, duplicates, too many, epilogue
 *              offsets outside the procedure, frame_size >= 2^31; region
 *              lists with bad tags, ops outside their region, ADD of another
 *              register, POP_FRAMES without a frame, COPY_STATE of an unknown
 *              label, too many labels, an ALIAS out of range, regions longer
 *              than the procedure
 *   handles    double removal, handle 0, made-up handles, stale handles
 *              (also after their slot was reused), table calls on a
 *              non-table handle
 *   table      append out of order, overlapping, past the table's end, more
 *              than max_procs (SW_EFULL), max_procs 0 and > 2^24
 *   move       onto an occupied range (nothing changes), wrapping, onto its
 *              own range shifted, a table onto a procedure
 *   callback   answers outside the range, not containing the PC, empty:
 *              lookups and names fail cleanly, a walk through such code
 *              uses the fallbacks and ends; answers with an unknown kind,
 *              bad CFI, too much CFI: a walk gives an error, never a wrong
 *              frame
 * After each failed call the registry must still be empty (sw_jit_stats)
 * or unchanged.
 */
#include "jit_common.c"

#include <sys/mman.h>

static uint64_t base;            /* a reserved (PROT_NONE) 16 MiB area */
static struct emit_fn tmpl;      /* a frame-pointer function with 2 epilogues */
static struct emit_fn tmpl_leaf; /* a frameless leaf */

#define A(off) (base + (uint64_t)(off))

static size_t live_handles(void)
{
	struct sw_jit_stats st;

	if (sw_jit_get_stats(&st) != 0)
		return (size_t)-1;
	return st.handles;
}

static struct sw_jit_proc proc_at(const struct emit_fn *t, uint64_t start, int kind)
{
	struct sw_jit_proc p;

	emit_proc(t, kind, &p);
	p.start = start;
	p.end = start + (t->end - t->start);
	return p;
}

static uint64_t tsize(void)
{
	return tmpl.end - tmpl.start;
}

/* Registration through eh_frame bytes of fns placed at the given starts. */
static int add_eh(const uint64_t *starts, size_t n, sw_jit_handle_t *h)
{
	struct emit_fn f[4];
	const struct emit_fn *pf[4];
	uint8_t buf[2048];

	for (size_t i = 0; i < n; i++) {
		f[i] = tmpl;
		f[i].start = starts[i];
		f[i].end = starts[i] + tsize();
		pf[i] = &f[i];
	}
	int size = emit_eh_frame(pf, n, buf, sizeof(buf), 0, SW_CFI_B_ABSPTR);
	if (size < 0)
		return size;
	return sw_jit_add_eh_frame(buf, (size_t)size, (uint64_t)(uintptr_t)buf, NULL, 0, h);
}

/* Two CIE+FDE pairs built apart (the builder refuses overlapping
 * procedures) and concatenated: FDEs at a and b. */
static int add_eh_overlapping(uint64_t a, uint64_t b, sw_jit_handle_t *h)
{
	struct emit_fn f = tmpl;
	const struct emit_fn *pf = &f;
	uint8_t buf[2048];
	int n1, n2;

	f.start = a;
	f.end = a + tsize();
	n1 = emit_eh_frame(&pf, 1, buf, sizeof(buf), 0, SW_CFI_B_ABSPTR);
	if (n1 < 4)
		return n1;
	n1 -= 4;   /* drop the terminator */
	f.start = b;
	f.end = b + tsize();
	n2 = emit_eh_frame(&pf, 1, buf + n1, sizeof(buf) - (size_t)n1, 0, SW_CFI_B_ABSPTR);
	if (n2 < 0)
		return n2;
	return sw_jit_add_eh_frame(buf, (size_t)(n1 + n2), (uint64_t)(uintptr_t)buf, NULL, 0, h);
}

static int cb_none(void *arg, uint64_t pc, struct sw_jit_proc *out)
{
	(void)arg;
	(void)pc;
	(void)out;
	return -1;
}

/* ------------------------------------------------------------------ overlap */

static void test_overlap(void)
{
	struct sw_jit_proc p[3];
	sw_jit_handle_t h = 0, h2 = 0, h3 = 0;
	size_t before = live_handles();
	uint64_t s = tsize();

	/* within one call */
	p[0] = proc_at(&tmpl, A(0x1000), SW_JIT_UNWIND_FRAME);
	p[1] = proc_at(&tmpl, A(0x1000) + s - 1, SW_JIT_UNWIND_CFI);
	CHECK_EQ(sw_jit_add_procs(p, 2, &h), SW_EOVERLAP, "add_procs: two overlapping procs");
	p[1] = proc_at(&tmpl, A(0x1000), SW_JIT_UNWIND_CFI);
	CHECK_EQ(sw_jit_add_procs(p, 2, &h), SW_EOVERLAP, "add_procs: the same range twice");
	/* unsorted but disjoint is fine */
	p[0] = proc_at(&tmpl, A(0x2000), SW_JIT_UNWIND_FRAME);
	p[1] = proc_at(&tmpl, A(0x1000), SW_JIT_UNWIND_DYN);
	CHECK_EQ(sw_jit_add_procs(p, 2, &h), 0, "add_procs: two disjoint procs, unsorted");
	struct sw_jit_found fd;
	CHECK_EQ(sw_jit_lookup(A(0x1000), &fd), 0, "lookup after add");
	CHECK_EQ(live_handles(), before + 1, "one more handle");

	/* with another handle; adjacent ranges are fine */
	p[0] = proc_at(&tmpl, A(0x1000) + s - 8, SW_JIT_UNWIND_CFI);
	CHECK_EQ(sw_jit_add_procs(p, 1, &h2), SW_EOVERLAP, "add_procs: overlaps another handle");
	p[0] = proc_at(&tmpl, A(0x1000) - s + 1, SW_JIT_UNWIND_CFI);
	CHECK_EQ(sw_jit_add_procs(p, 1, &h2), SW_EOVERLAP, "add_procs: overlaps its start");
	p[0] = proc_at(&tmpl, A(0x1000) + s, SW_JIT_UNWIND_CFI);
	p[1] = proc_at(&tmpl, A(0x1000) - s, SW_JIT_UNWIND_FRAME);
	CHECK_EQ(sw_jit_add_procs(p, 2, &h2), 0, "add_procs: adjacent on both sides");
	uint64_t st = A(0x2000) + 3;
	CHECK_EQ(add_eh(&st, 1, &h3), SW_EOVERLAP, "eh_frame: FDE overlaps a handle");
	CHECK_EQ(add_eh_overlapping(A(0x8000), A(0x8000) + 16, &h3), SW_EOVERLAP,
		 "eh_frame: two overlapping FDEs");
	CHECK_EQ(sw_jit_lookup(A(0x8000), &fd), SW_ENOTFOUND, "nothing registered by the failed call");
	CHECK_EQ(sw_jit_table_create(A(0x1800), A(0x2100), 4, &h3), SW_EOVERLAP,
		 "table over registered procs");
	CHECK_EQ(sw_jit_add_callback(A(0x0f00), A(0x1001), cb_none, NULL, &h3), SW_EOVERLAP,
		 "callback over a registered proc");
	CHECK_EQ(sw_jit_remove(h2), 0, "remove");
	CHECK_EQ(sw_jit_remove(h), 0, "remove");

	/* a table, then everything else over it */
	CHECK_EQ(sw_jit_table_create(A(0x10000), A(0x20000), 8, &h), 0, "table_create");
	p[0] = proc_at(&tmpl, A(0x1ffff), SW_JIT_UNWIND_FRAME);
	CHECK_EQ(sw_jit_add_procs(p, 1, &h2), SW_EOVERLAP, "proc across a table's end");
	p[0] = proc_at(&tmpl, A(0x10000) - 4, SW_JIT_UNWIND_FRAME);
	CHECK_EQ(sw_jit_add_procs(p, 1, &h2), SW_EOVERLAP, "proc across a table's start");
	p[0] = proc_at(&tmpl, A(0x18000), SW_JIT_UNWIND_FRAME);
	CHECK_EQ(sw_jit_add_procs(p, 1, &h2), SW_EOVERLAP, "proc inside a table");
	CHECK_EQ(sw_jit_table_create(A(0x18000), A(0x19000), 8, &h2), SW_EOVERLAP, "table in a table");
	CHECK_EQ(sw_jit_add_callback(A(0x8000), A(0x10001), cb_none, NULL, &h2), SW_EOVERLAP,
		 "callback over a table");
	st = A(0x1fff0);
	CHECK_EQ(add_eh(&st, 1, &h2), SW_EOVERLAP, "eh_frame FDE in a table");
	/* a callback, then everything over it */
	CHECK_EQ(sw_jit_add_callback(A(0x20000), A(0x30000), cb_none, NULL, &h2), 0,
		 "callback adjacent to the table");
	CHECK_EQ(sw_jit_table_create(A(0x2ffff), A(0x31000), 8, &h3), SW_EOVERLAP,
		 "table over a callback");
	CHECK_EQ(sw_jit_add_callback(A(0x21000), A(0x22000), cb_none, NULL, &h3), SW_EOVERLAP,
		 "callback in a callback");
	p[0] = proc_at(&tmpl, A(0x25000), SW_JIT_UNWIND_CFI);
	CHECK_EQ(sw_jit_add_procs(p, 1, &h3), SW_EOVERLAP, "proc in a callback range");
	CHECK_EQ(sw_jit_lookup(A(0x25000), &fd), SW_ENOTFOUND, "a declining callback");

	/* one append with overlapping procs */
	p[0] = proc_at(&tmpl, A(0x10000), SW_JIT_UNWIND_FRAME);
	p[1] = proc_at(&tmpl, A(0x10000) + s - 1, SW_JIT_UNWIND_FRAME);
	int rc = sw_jit_table_append(h, p, 2);
	CHECK(rc == SW_EINVAL || rc == SW_EOVERLAP, "table_append of overlapping procs: %s",
	      t_status(rc));
	CHECK_EQ(sw_jit_table_publish(h), 0, "publish");
	CHECK_EQ(sw_jit_lookup(A(0x10000), &fd), SW_ENOTFOUND, "nothing appended by the failed append");
	CHECK_EQ(sw_jit_remove(h), 0, "remove table");
	CHECK_EQ(sw_jit_remove(h2), 0, "remove callback");
	CHECK_EQ(live_handles(), before, "handles back to where they were");
}

/* ------------------------------------------------------------------ CFI */

static int add_cfi(const uint8_t *insns, size_t len, sw_jit_handle_t *h)
{
	struct sw_jit_proc p = proc_at(&tmpl, A(0x40000), SW_JIT_UNWIND_CFI);

	p.u.cfi.insns = insns;
	p.u.cfi.len = len;
	return sw_jit_add_procs(&p, 1, h);
}

static void test_cfi(void)
{
	sw_jit_handle_t h = 0;
	size_t before = live_handles();
	int rc;

	static const uint8_t unknown_op[] = { 0x41, 0x3c };              /* advance 1; 0x3c */
	CHECK_EQ(add_cfi(unknown_op, sizeof(unknown_op), &h), SW_EBADOP, "CFI: unknown opcode");
	static const uint8_t expr_garbage[] = { 0x0f, 0x02, 0xff, 0xff };    /* def_cfa_expression, bad op */
	rc = add_cfi(expr_garbage, sizeof(expr_garbage), &h);   /* may be caught only when run */
	CHECK(rc <= 0, "CFI: def_cfa_expression with an unknown DW_OP: %s", t_status(rc));
	if (rc == 0)
		sw_jit_remove(h);
	static const uint8_t truncated[] = { 0x0c, 0x07 };               /* def_cfa rsp, <missing> */
	rc = add_cfi(truncated, sizeof(truncated), &h);
	CHECK(rc == SW_ETRUNCATED || rc == SW_EINVAL, "CFI: truncated def_cfa: %s", t_status(rc));
	static const uint8_t trunc_uleb[] = { 0x0e, 0x80 };              /* def_cfa_offset, uleb cut */
	rc = add_cfi(trunc_uleb, sizeof(trunc_uleb), &h);
	CHECK(rc == SW_ETRUNCATED || rc == SW_EINVAL, "CFI: truncated LEB128: %s", t_status(rc));
	static const uint8_t trunc_adv[] = { 0x03, 0x01 };               /* advance_loc2, 1 byte */
	rc = add_cfi(trunc_adv, sizeof(trunc_adv), &h);
	CHECK(rc == SW_ETRUNCATED || rc == SW_EINVAL, "CFI: truncated advance_loc2: %s", t_status(rc));
	static const uint8_t badreg[] = { 0x05, 0xe0, 0x27, 0x01 };      /* offset_extended r5088 */
	rc = add_cfi(badreg, sizeof(badreg), &h);
	CHECK_EQ(rc, SW_EBADREG, "CFI: register 5088");
	static const uint8_t restore_state[] = { 0x0b };                 /* restore_state alone */
	rc = add_cfi(restore_state, sizeof(restore_state), &h);
	CHECK(rc < 0, "CFI: restore_state without remember_state: %s", t_status(rc));
	if (rc == 0)
		sw_jit_remove(h);
	static const uint8_t empty[1] = { 0 };
	rc = add_cfi(empty, 0, &h);
	CHECK_EQ(rc, 0, "CFI: no instructions is valid (the CIE state)");
	if (rc == 0)
		CHECK_EQ(sw_jit_remove(h), 0, "remove");
	rc = add_cfi(NULL, 4, &h);
	CHECK_EQ(rc, SW_EINVAL, "CFI: NULL instructions with len 4");
	/* more CFI than SW_JIT_MAX_CFI: nops */
	uint8_t *nops = calloc(SW_JIT_MAX_CFI + 16, 1);
	rc = add_cfi(nops, SW_JIT_MAX_CFI + 16, &h);
	CHECK_EQ(rc, SW_EINVAL, "CFI: %d bytes", SW_JIT_MAX_CFI + 16);
	free(nops);
	CHECK_EQ(live_handles(), before, "no handle left by the failures");

	/* .eh_frame: valid bytes, cut at every length */
	uint8_t buf[1024], mut[1024];
	struct emit_fn f = tmpl;
	f.start = A(0x50000);
	f.end = f.start + tsize();
	const struct emit_fn *pf = &f;
	int size = emit_eh_frame(&pf, 1, buf, sizeof(buf), 0, SW_CFI_B_ABSPTR);
	CHECK(size > 0, "emit_eh_frame: %s", t_status(size));
	if (size <= 0)
		return;
	uint64_t eh = (uint64_t)(uintptr_t)buf;
	unsigned long accepted = 0, rejected = 0;
	for (int cut = 0; cut < size - 4; cut++) {
		rc = sw_jit_add_eh_frame(buf, (size_t)cut, eh, NULL, 0, &h);
		if (rc == 0) {
			/* a cut exactly after the FDE (before the terminator) is valid */
			accepted++;
			sw_jit_remove(h);
		} else {
			rejected++;
		}
	}
	CHECK(rejected >= (unsigned long)size - 6, "eh_frame cut short: %lu rejected, %lu accepted",
	      rejected, accepted);
	CHECK_EQ(sw_jit_add_eh_frame(buf, (size_t)size, eh, NULL, 0, &h), 0, "eh_frame intact");
	CHECK_EQ(sw_jit_remove(h), 0, "remove");
	/* the FDE's CIE pointer (bytes 4..8 of the FDE) made wrong */
	uint32_t cie_len;
	memcpy(&cie_len, buf, 4);
	uint32_t fde = cie_len + 4;
	memcpy(mut, buf, (size_t)size);
	mut[fde + 4] ^= 0x40;
	rc = sw_jit_add_eh_frame(mut, (size_t)size, (uint64_t)(uintptr_t)mut, NULL, 0, &h);
	CHECK(rc < 0, "eh_frame: bad CIE pointer: %s", t_status(rc));
	memcpy(mut, buf, (size_t)size);
	mut[8] = 9;   /* CIE version */
	rc = sw_jit_add_eh_frame(mut, (size_t)size, (uint64_t)(uintptr_t)mut, NULL, 0, &h);
	CHECK_EQ(rc, SW_EVERSION, "eh_frame: CIE version 9");
	/* the FDE's pc_range (absptr: bytes 16..24 of the FDE) zero */
	memcpy(mut, buf, (size_t)size);
	memset(mut + fde + 16, 0, 8);
	rc = sw_jit_add_eh_frame(mut, (size_t)size, (uint64_t)(uintptr_t)mut, NULL, 0, &h);
	CHECK(rc == SW_EINVAL || rc == SW_ERANGE, "eh_frame: empty FDE range: %s", t_status(rc));
	/* >= 4 GiB */
	memcpy(mut, buf, (size_t)size);
	uint64_t big = 1ull << 32;
	memcpy(mut + fde + 16, &big, 8);
	rc = sw_jit_add_eh_frame(mut, (size_t)size, (uint64_t)(uintptr_t)mut, NULL, 0, &h);
	CHECK_EQ(rc, SW_EINVAL, "eh_frame: 4 GiB FDE range");
	/* only a CIE */
	rc = sw_jit_add_eh_frame(buf, cie_len + 4, eh, NULL, 0, &h);
	CHECK_EQ(rc, SW_EINVAL, "eh_frame: no FDE");
	CHECK_EQ(live_handles(), before, "no handle left by the failures");

	/* random mutations: no crash; what is accepted can be removed */
	uint64_t x = 0x1234567;
	int n = t_quick() ? 5000 : 20000;
	accepted = 0;
	for (int i = 0; i < n; i++) {
		memcpy(mut, buf, (size_t)size);
		int flips = 1 + (int)(x % 4);
		for (int k = 0; k < flips; k++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			mut[(x >> 33) % (uint64_t)size] = (uint8_t)(x >> 20);
		}
		rc = sw_jit_add_eh_frame(mut, (size_t)size, (uint64_t)(uintptr_t)mut, NULL, 0, &h);
		if (rc == 0) {
			accepted++;
			struct sw_jit_found fd;
			char name[16];
			uint64_t off;
			sw_jit_lookup(A(0x50000), &fd);
			sw_jit_get_name(A(0x50000), name, sizeof(name), &off);
			CHECK_EQ(sw_jit_remove(h), 0, "remove a mutated registration");
		}
	}
	printf("jit_bad: %d mutated .eh_frame registrations, %lu accepted\n", n, accepted);
	CHECK_EQ(live_handles(), before, "no handle left by the mutations");
}

/* ------------------------------------------------------------------ ranges */

static void test_ranges(void)
{
	sw_jit_handle_t h = 0;
	size_t before = live_handles();
	struct sw_jit_proc p = proc_at(&tmpl_leaf, A(0x60000), SW_JIT_UNWIND_CFI);
	struct sw_jit_proc q;

	q = p;
	q.end = q.start;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "proc: empty range");
	q = p;
	q.end = q.start - 1;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "proc: wrapping range");
	q = p;
	q.end = q.start + (1ull << 32);
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "proc: 4 GiB range");
	q = p;
	q.start = UINT64_MAX - 2;
	q.end = 2;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "proc: range around 2^64");
	CHECK_EQ(sw_jit_table_create(A(0x60000), A(0x60000), 4, &h), SW_EINVAL, "table: empty");
	CHECK_EQ(sw_jit_table_create(A(0x60000), A(0x50000), 4, &h), SW_EINVAL, "table: wrapping");
	CHECK_EQ(sw_jit_table_create(A(0), A(0) + (1ull << 32), 4, &h), SW_EINVAL, "table: 4 GiB");
	CHECK_EQ(sw_jit_add_callback(A(0x60000), A(0x60000), cb_none, NULL, &h), SW_EINVAL,
		 "callback: empty");
	CHECK_EQ(sw_jit_add_callback(A(0x60000), A(0x5ffff), cb_none, NULL, &h), SW_EINVAL,
		 "callback: wrapping");
	CHECK_EQ(sw_jit_add_callback(0, 1ull << 33, cb_none, NULL, &h), SW_EINVAL,
		 "callback: 8 GiB");
	CHECK_EQ(live_handles(), before, "no handle left");
}

/* ------------------------------------------------------------------ arguments */

static void test_args(void)
{
	sw_jit_handle_t h = 0;
	size_t before = live_handles();
	struct sw_jit_proc p = proc_at(&tmpl, A(0x70000), SW_JIT_UNWIND_FRAME), q;
	uint8_t buf[8] = { 0 };
	struct sw_jit_found fd;
	char name[8];
	uint64_t off;
	int rc;

	CHECK_EQ(sw_jit_add_procs(NULL, 1, &h), SW_EINVAL, "add_procs(NULL)");
	CHECK_EQ(sw_jit_add_procs(&p, 1, NULL), SW_EINVAL, "add_procs(out NULL)");
	CHECK_EQ(sw_jit_add_procs(&p, 0, &h), SW_EINVAL, "add_procs(n 0)");
	CHECK_EQ(sw_jit_add_eh_frame(NULL, 8, 0, NULL, 0, &h), SW_EINVAL, "add_eh_frame(NULL)");
	CHECK_EQ(sw_jit_add_eh_frame(buf, 0, 0, NULL, 0, &h), SW_EINVAL, "add_eh_frame(size 0)");
	CHECK(sw_jit_add_eh_frame(buf, 8, 0, NULL, 0, &h) < 0, "add_eh_frame(zeros)");
	CHECK_EQ(sw_jit_add_eh_frame(buf, 8, 0, NULL, 0, NULL), SW_EINVAL, "add_eh_frame(out NULL)");
	CHECK_EQ(sw_jit_table_create(A(0x70000), A(0x71000), 4, NULL), SW_EINVAL, "table_create(NULL)");
	CHECK_EQ(sw_jit_add_callback(A(0x70000), A(0x71000), NULL, NULL, &h), SW_EINVAL,
		 "add_callback(NULL callback)");
	CHECK_EQ(sw_jit_add_callback(A(0x70000), A(0x71000), cb_none, NULL, NULL), SW_EINVAL,
		 "add_callback(out NULL)");
	CHECK_EQ(sw_jit_lookup(A(0x70000), NULL), SW_EINVAL, "lookup(NULL)");
	CHECK_EQ(sw_jit_get_name(A(0x70000), NULL, 8, &off), SW_EINVAL, "get_name(NULL)");
	rc = sw_jit_get_name(A(0x70000), name, 0, &off);
	CHECK(rc == SW_EINVAL || rc == SW_ENOTFOUND, "get_name(size 0): %s", t_status(rc));
	CHECK_EQ(sw_jit_lookup(A(0x70000), &fd), SW_ENOTFOUND, "lookup of nothing");
	CHECK_EQ(sw_jit_get_stats(NULL), SW_EINVAL, "stats(NULL)");

	/* unknown kinds */
	q = p;
	q.kind = 0;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "kind 0");
	q.kind = 4;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "kind 4");
	q.kind = -1;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "kind -1");

	/* frame descriptors */
	uint32_t far_epi[1] = { (uint32_t)tsize() };
	q = p;
	q.u.frame.nsaved = SW_JIT_FRAME_MAX_SAVED + 1;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "frame: nsaved 7");
	q = p;
	q.u.frame.saved[0] = SW_REG_RSP;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "frame: saves rsp");
	q = p;
	q.u.frame.saved[0] = SW_REG_RAX;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "frame: saves rax");
	q = p;
	q.u.frame.nsaved = 2;
	q.u.frame.saved[0] = q.u.frame.saved[1] = SW_REG_R12;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "frame: r12 twice");
	q = p;
	q.u.frame.nsaved = 1;
	q.u.frame.saved[0] = SW_REG_RBP;   /* with FP */
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "frame: rbp saved again with FP");
	q = p;
	q.u.frame.frame_size = 0x80000000u;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "frame: frame_size 2^31");
	CHECK(strstr(sw_jit_last_error(), "procs[0].u.frame.frame_size: 2147483648"),
	      "frame: the reason \"%s\" names frame_size", sw_jit_last_error());
	q = p;
	q.u.frame.nepilogues = 1;
	q.u.frame.epilogues = far_epi;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "frame: epilogue at the end offset");
	q = p;
	q.u.frame.nepilogues = 1;
	q.u.frame.epilogues = NULL;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "frame: NULL epilogues");
	q = p;
	q.u.frame.flags = 0x80;
	CHECK_EQ(sw_jit_add_procs(&q, 1, &h), SW_EINVAL, "frame: unknown flag");
	q = p;
	q.end = q.start + 2;   /* shorter than the prologue */
	rc = sw_jit_add_procs(&q, 1, &h);
	CHECK_EQ(rc, SW_EINVAL, "frame: procedure shorter than its prologue and epilogues");
	if (rc == 0)
		sw_jit_remove(h);

	/* region lists */
	union {
		struct sw_jit_dyn_region r;
		uint8_t bytes[sizeof(struct sw_jit_dyn_region) + 4 * sizeof(struct sw_jit_dyn_op)];
	} d;
	const struct sw_jit_dyn_region *rp = &d.r;
	static const struct {
		const char *what;
		const char *field;       /* what sw_jit_last_error must name */
		int32_t insn_count;
		int nops;
		struct sw_jit_dyn_op op[3];
	} bad[] = {
		{ "tag 9", "u.dyn region[0].op[0].tag", 8, 1, { { 9, 0, 0, 0, 0 } } },
		{ "tag -1", "u.dyn region[0].op[0].tag", 8, 1, { { -1, 0, 0, 0, 0 } } },
		{ "when past the region", "u.dyn region[0].op[0].when", 8, 1,
		  { { SW_DYN_ADD, 0, SW_REG_RSP, 8, (uint64_t)-8 } } },
		{ "when negative", "u.dyn region[0].op[0].when", 8, 1,
		  { { SW_DYN_ADD, 0, SW_REG_RSP, -5, (uint64_t)-8 } } },
		{ "ADD of rbx", "u.dyn region[0].op[0].reg", 8, 1, { { SW_DYN_ADD, 0, SW_REG_RBX, 0, 8 } } },
		{ "spill of register 5000", "u.dyn region[0].op[1].reg", 8, 2,
		  { { SW_DYN_ADD, 0, SW_REG_RSP, 0, (uint64_t)-8 }, { SW_DYN_SPILL_SP_REL, 0, 5000, 0, 0 } } },
		{ "FP_REL spill without FP", "u.dyn region[0].op[1]", 8, 2,
		  { { SW_DYN_ADD, 0, SW_REG_RSP, 0, (uint64_t)-8 },
		    { SW_DYN_SPILL_FP_REL, 0, SW_REG_RBX, 0, (uint64_t)-8 } } },
		{ "POP_FRAMES without a frame", "u.dyn region[0].op[0].val", 8, 1,
		  { { SW_DYN_POP_FRAMES, 0, 0, 0, 1 } } },
		{ "POP_FRAMES 5 of 1", "u.dyn region[0].op[1].val", 8, 2,
		  { { SW_DYN_ADD, 0, SW_REG_RSP, 0, (uint64_t)-8 }, { SW_DYN_POP_FRAMES, 0, 0, 2, 5 } } },
		{ "COPY_STATE of an unknown label", "u.dyn region[0].op[0].val", 8, 1,
		  { { SW_DYN_COPY_STATE, 0, 0, 0, 77 } } },
		{ "ALIAS outside the procedure", "u.dyn region[0].op[0].val", 8, 1,
		  { { SW_DYN_ALIAS, 0, 0, 2, 0x1000 } } },
		{ "ALIAS forward", "u.dyn region[0].op[0].val", 8, 1,
		  { { SW_DYN_ALIAS, 0, 0, 0, 0 } } },   /* val patched: start + 4 */
		{ "region longer than the procedure", "u.dyn region[0].insn_count", 100000, 0, { { 0 } } },
		{ "negative length beyond the procedure", "u.dyn region[0].insn_count", -100000, 0,
		  { { 0 } } },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&d, 0, sizeof(d));
		d.r.insn_count = bad[i].insn_count;
		d.r.op_count = (uint32_t)bad[i].nops;
		for (int k = 0; k < bad[i].nops; k++)
			d.r.op[k] = bad[i].op[k];
		q = p;
		q.kind = SW_JIT_UNWIND_DYN;
		q.u.dyn = rp;
		if (strcmp(bad[i].what, "ALIAS forward") == 0)
			d.r.op[0].val = q.start + 4;
		rc = sw_jit_add_procs(&q, 1, &h);
		CHECK(rc == SW_EINVAL || rc == SW_EBADREG, "dyn: %s: %s", bad[i].what, t_status(rc));
		if (rc == 0)
			sw_jit_remove(h);
		else
			CHECK(strstr(sw_jit_last_error(), bad[i].field) &&
			      strstr(sw_jit_last_error(), "sw_jit_add_procs: procs[0]."),
			      "dyn: %s: the reason \"%s\" names %s", bad[i].what, sw_jit_last_error(),
			      bad[i].field);
	}
	/* 9 labels */
	{
		union {
			struct sw_jit_dyn_region r;
			uint8_t bytes[sizeof(struct sw_jit_dyn_region) +
				      (SW_JIT_DYN_MAX_LABELS + 1) * sizeof(struct sw_jit_dyn_op)];
		} l;
		memset(&l, 0, sizeof(l));
		l.r.insn_count = 8;
		l.r.op_count = SW_JIT_DYN_MAX_LABELS + 1;
		for (int k = 0; k <= SW_JIT_DYN_MAX_LABELS; k++) {
			l.r.op[k].tag = SW_DYN_LABEL_STATE;
			l.r.op[k].when = k;
			l.r.op[k].val = (uint64_t)k + 1;
		}
		q = p;
		q.kind = SW_JIT_UNWIND_DYN;
		q.u.dyn = &l.r;
		rc = sw_jit_add_procs(&q, 1, &h);
		CHECK_EQ(rc, SW_EINVAL, "dyn: %d labels", SW_JIT_DYN_MAX_LABELS + 1);
		if (rc == 0)
			sw_jit_remove(h);
	}
	/* a cyclic region list must not hang */
	{
		struct sw_jit_dyn_region *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
		a->insn_count = 0;
		b->insn_count = 0;
		a->next = b;
		b->next = a;
		q = p;
		q.kind = SW_JIT_UNWIND_DYN;
		q.u.dyn = a;
		rc = sw_jit_add_procs(&q, 1, &h);
		CHECK_EQ(rc, SW_EINVAL, "dyn: a cyclic list of empty regions");
		if (rc == 0)
			sw_jit_remove(h);
		free(a);
		free(b);
	}
	CHECK_EQ(live_handles(), before, "no handle left");
}

/* ------------------------------------------------------------------ handles */

static void test_handles(void)
{
	struct sw_jit_proc p = proc_at(&tmpl, A(0x80000), SW_JIT_UNWIND_CFI);
	sw_jit_handle_t h1, h2, t;
	size_t before = live_handles();

	CHECK_EQ(sw_jit_remove(0), SW_EBADHANDLE, "remove(0)");
	CHECK_EQ(sw_jit_move(0, 16), SW_EBADHANDLE, "move(0)");
	CHECK_EQ(sw_jit_remove(0xdeadbeefcafeull), SW_EBADHANDLE, "remove(made up)");
	CHECK_EQ(sw_jit_remove(UINT64_MAX), SW_EBADHANDLE, "remove(~0)");
	CHECK_EQ(sw_jit_table_append(0xdeadbeefcafeull, &p, 1), SW_EBADHANDLE, "append(made up)");
	CHECK_EQ(sw_jit_table_publish(0xdeadbeefcafeull), SW_EBADHANDLE, "publish(made up)");

	CHECK_EQ(sw_jit_add_procs(&p, 1, &h1), 0, "add");
	CHECK_EQ(sw_jit_table_append(h1, &p, 1), SW_EBADHANDLE, "append on a procs handle");
	CHECK_EQ(sw_jit_table_publish(h1), SW_EBADHANDLE, "publish on a procs handle");
	CHECK_EQ(sw_jit_remove(h1), 0, "remove");
	CHECK_EQ(sw_jit_remove(h1), SW_EBADHANDLE, "double remove");
	CHECK_EQ(sw_jit_move(h1, 64), SW_EBADHANDLE, "move after remove");
	/* the slot reused: the stale handle must not reach the new registration */
	for (int i = 0; i < 64; i++) {
		CHECK_EQ(sw_jit_add_procs(&p, 1, &h2), 0, "add again");
		CHECK(h2 != h1, "a new handle differs from the stale one");
		CHECK_EQ(sw_jit_remove(h1), SW_EBADHANDLE, "stale handle after reuse");
		CHECK_EQ(sw_jit_move(h1, 64), SW_EBADHANDLE, "stale move after reuse");
		struct sw_jit_found fd;
		CHECK(sw_jit_lookup(p.start, &fd) == 0 && fd.start == p.start, "the new registration intact");
		CHECK_EQ(sw_jit_remove(h2), 0, "remove");
	}
	CHECK_EQ(sw_jit_table_create(A(0x90000), A(0x91000), 2, &t), 0, "table");
	CHECK_EQ(sw_jit_remove(t), 0, "remove table");
	CHECK_EQ(sw_jit_table_append(t, &p, 1), SW_EBADHANDLE, "append on a removed table");
	CHECK_EQ(sw_jit_table_publish(t), SW_EBADHANDLE, "publish on a removed table");
	CHECK_EQ(sw_jit_remove(t), SW_EBADHANDLE, "double remove of a table");
	CHECK_EQ(live_handles(), before, "no handle left");
}

/* ------------------------------------------------------------------ tables */

static void test_table(void)
{
	sw_jit_handle_t t;
	struct sw_jit_proc p[4];
	uint64_t s = tsize();
	size_t before = live_handles();
	int rc;

	CHECK_EQ(sw_jit_table_create(A(0xa0000), A(0xa1000), 0, &t), SW_EINVAL, "max_procs 0");
	CHECK_EQ(sw_jit_table_create(A(0xa0000), A(0xa1000), (1u << 24) + 1, &t), SW_EINVAL,
		 "max_procs 2^24 + 1");
	CHECK_EQ(sw_jit_table_create(A(0xa0000), A(0xa1000), 3, &t), 0, "table_create");
	for (int i = 0; i < 4; i++)
		p[i] = proc_at(&tmpl, A(0xa0000) + (uint64_t)i * 0x100, SW_JIT_UNWIND_FRAME);
	struct sw_jit_proc rev[2] = { p[1], p[0] };
	CHECK_EQ(sw_jit_table_append(t, rev, 2), SW_EINVAL, "append unsorted");
	CHECK_EQ(sw_jit_table_append(t, NULL, 1), SW_EINVAL, "append NULL");
	CHECK_EQ(sw_jit_table_append(t, &p[1], 1), 0, "append p1");
	CHECK_EQ(sw_jit_table_append(t, &p[0], 1), SW_EINVAL, "append before the last one");
	struct sw_jit_proc ov = proc_at(&tmpl, A(0xa0100) + s - 1, SW_JIT_UNWIND_FRAME);
	rc = sw_jit_table_append(t, &ov, 1);
	CHECK(rc == SW_EINVAL || rc == SW_EOVERLAP, "append overlapping the last one: %s", t_status(rc));
	struct sw_jit_proc past = proc_at(&tmpl, A(0xa1000) - 4, SW_JIT_UNWIND_FRAME);
	CHECK_EQ(sw_jit_table_append(t, &past, 1), SW_EINVAL, "append past the table's end");
	struct sw_jit_proc outside = proc_at(&tmpl, A(0xa2000), SW_JIT_UNWIND_FRAME);
	CHECK_EQ(sw_jit_table_append(t, &outside, 1), SW_EINVAL, "append outside the table");
	struct sw_jit_proc badk = p[2];
	badk.kind = 9;
	CHECK_EQ(sw_jit_table_append(t, &badk, 1), SW_EINVAL, "append a bad description");
	CHECK_EQ(sw_jit_table_append(t, &p[2], 2), 0, "append p2, p3: full");
	struct sw_jit_proc more = proc_at(&tmpl, A(0xa0800), SW_JIT_UNWIND_FRAME);
	CHECK_EQ(sw_jit_table_append(t, &more, 1), SW_EFULL, "append to a full table");
	CHECK_EQ(sw_jit_table_publish(t), 0, "publish");
	CHECK_EQ(sw_jit_table_publish(t), 0, "publish again (nothing staged)");
	struct sw_jit_found fd;
	CHECK(sw_jit_lookup(p[3].start, &fd) == 0 && fd.start == p[3].start, "published p3");
	CHECK_EQ(sw_jit_lookup(p[0].start, &fd), SW_ENOTFOUND, "p0 was never appended");
	CHECK_EQ(sw_jit_lookup(A(0xa0fff), &fd), SW_ENOTFOUND, "a PC between procedures");
	CHECK_EQ(sw_jit_remove(t), 0, "remove");
	CHECK_EQ(live_handles(), before, "no handle left");
}

/* ------------------------------------------------------------------ move */

static void test_move(void)
{
	struct sw_jit_proc p[2];
	sw_jit_handle_t a, b, t;
	struct sw_jit_found fd;
	uint64_t s = tsize();
	size_t before = live_handles();

	p[0] = proc_at(&tmpl, A(0xb0000), SW_JIT_UNWIND_DYN);
	p[1] = proc_at(&tmpl, A(0xb0000) + 0x100, SW_JIT_UNWIND_CFI);
	CHECK_EQ(sw_jit_add_procs(p, 2, &a), 0, "add a");
	p[0] = proc_at(&tmpl, A(0xb1000), SW_JIT_UNWIND_FRAME);
	CHECK_EQ(sw_jit_add_procs(p, 1, &b), 0, "add b");
	CHECK_EQ(sw_jit_move(a, 0x1000), SW_EOVERLAP, "move a onto b");
	CHECK_EQ(sw_jit_move(a, 0x1000 - 0x100 - (int64_t)s + 1), SW_EOVERLAP,
		 "move a's second proc onto b's first byte");
	CHECK_EQ(sw_jit_move(a, (int64_t)(0x1000 - 0x100 - s)), 0, "move a right up to b");
	CHECK(sw_jit_lookup(A(0xb1000) - 1, &fd) == 0 && fd.end == A(0xb1000), "a ends right before b");
	CHECK_EQ(sw_jit_move(a, -(int64_t)(0x1000 - 0x100 - s)), 0, "and back");
	CHECK(sw_jit_lookup(A(0xb0000), &fd) == 0 && fd.start == A(0xb0000),
	      "a unchanged after the failed moves");
	CHECK(sw_jit_lookup(A(0xb1000), &fd) == 0 && fd.start == A(0xb1000), "b unchanged");
	CHECK_EQ(sw_jit_move(a, 16), 0, "move a onto its own range shifted");
	CHECK_EQ(sw_jit_move(a, -16), 0, "and back");
	CHECK_EQ(sw_jit_move(a, 0), 0, "move by 0");
	CHECK_EQ(sw_jit_move(a, INT64_MIN), SW_EINVAL, "move wrapping below 0");
	CHECK_EQ(sw_jit_move(a, (int64_t)(UINT64_MAX - A(0xb0000)) - 8), SW_EINVAL,
		 "move wrapping past 2^64");
	/* an .eh_frame registration (pc-relative 4-byte fields) moved 1 TiB
	 * away: refused (SW_EINVAL), or done and then found there */
	{
		uint64_t st = A(0xd0000);
		struct emit_fn f = tmpl;
		const struct emit_fn *pf = &f;
		uint8_t buf[512];
		sw_jit_handle_t e;
		f.start = st;
		f.end = st + s;
		int size = emit_eh_frame(&pf, 1, buf, sizeof(buf), st - 0x1000, SW_CFI_B_PCREL4);
		CHECK_EQ(sw_jit_add_eh_frame(buf, (size_t)size, st - 0x1000, NULL, 0, &e), 0, "eh_frame");
		int64_t far = (int64_t)1 << 40;
		int rc = sw_jit_move(e, far);
		CHECK(rc == SW_EINVAL || rc == 0, "move eh_frame by 1 TiB: %s", t_status(rc));
		uint64_t at = rc == 0 ? st + (uint64_t)far : st;
		CHECK(sw_jit_lookup(at + 1, &fd) == 0 && fd.start == at && fd.end == at + s,
		      "eh_frame found at %#" PRIx64 " after the move (%s)", at, t_status(rc));
		CHECK_EQ(sw_jit_remove(e), 0, "remove");
	}
	CHECK_EQ(sw_jit_table_create(A(0xc0000), A(0xc8000), 4, &t), 0, "table");
	CHECK_EQ(sw_jit_move(t, -(int64_t)(0xc0000 - 0xb1000) - 0x100), SW_EOVERLAP,
		 "move the table onto b");
	CHECK_EQ(sw_jit_move(b, 0xc4000 - 0xb1000), SW_EOVERLAP, "move b into the table");
	CHECK(sw_jit_lookup(A(0xb1000), &fd) == 0 && fd.start == A(0xb1000), "b unchanged");
	CHECK_EQ(sw_jit_remove(t), 0, "remove");
	CHECK_EQ(sw_jit_remove(a), 0, "remove");
	CHECK_EQ(sw_jit_remove(b), 0, "remove");
	CHECK_EQ(live_handles(), before, "no handle left");
}

/* ------------------------------------------------------------------ callbacks */

enum { CB_BEFORE, CB_AFTER, CB_OUTSIDE, CB_KIND, CB_BADCFI, CB_HUGECFI, CB_EMPTY, CB_COUNT };
static const char *const cb_names[CB_COUNT] = {
	"answer starting after the PC", "answer ending before the PC", "answer outside the range",
	"unknown kind", "bad CFI", "CFI beyond SW_JIT_MAX_CFI", "empty answer",
};
static struct emit_fn cb_fns[4];
static int cb_mode;
static uint64_t cb_lo, cb_hi;
static uint8_t huge_cfi[SW_JIT_MAX_CFI * 2];

static int cb_bad(void *arg, uint64_t pc, struct sw_jit_proc *out)
{
	static const uint8_t badop[] = { 0x3c, 0x3d };
	(void)arg;
	for (int i = 0; i < 4; i++) {
		if (pc < cb_fns[i].start || pc >= cb_fns[i].end)
			continue;
		emit_proc(&cb_fns[i], SW_JIT_UNWIND_CFI, out);
		switch (cb_mode) {
		case CB_BEFORE:
			out->start = pc + 1;
			break;
		case CB_AFTER:
			out->end = pc;
			break;
		case CB_OUTSIDE:
			out->start = cb_lo - 16;
			break;
		case CB_KIND:
			out->kind = 42;
			break;
		case CB_BADCFI:
			out->u.cfi.insns = badop;
			out->u.cfi.len = sizeof(badop);
			break;
		case CB_HUGECFI:
			out->u.cfi.insns = huge_cfi;
			out->u.cfi.len = sizeof(huge_cfi);
			break;
		case CB_EMPTY:
			out->end = out->start;
			break;
		}
		return 0;
	}
	return -1;
}

static unsigned long wrong_frames, leaf_walks;
static int leaf_rc;

/* Walk out: every step that succeeds through the chain must land on the
 * right return address (a fallback may get there; a bad answer must not
 * lead anywhere else). */
NOINLINE static uint64_t bad_leaf(uint64_t arg)
{
	sw_context_t ctx;
	sw_cursor_t c;
	int rc, n = 0;

	sw_getcontext(&ctx);
	sw_init_local(&c, &ctx);
	leaf_walks++;
	for (int j = 3; j >= -1; j--) {
		rc = sw_step(&c);
		leaf_rc = rc;
		if (rc != 0)
			break;
		uint64_t want = j >= 0 ? cb_fns[j].start + cb_fns[j].call_ret
				       : (uint64_t)(uintptr_t)jit_enter_ret;
		if (sw_get_ip(&c) != want) {
			wrong_frames++;
			printf("jit_bad:   (%s: step %d landed on %#" PRIx64 ", not %#" PRIx64 ")\n",
			       cb_names[cb_mode], n, sw_get_ip(&c), want);
			break;
		}
		n++;
	}
	if (rc == 0)   /* on to the end: no crash, no hang */
		while (sw_step(&c) == 0 && ++n < 200)
			;
	return arg;
}

static void test_callbacks(void)
{
	struct emit_buf code;
	uint64_t entry[NCALLEE], caller[NCALLEE];
	sw_jit_handle_t h;

	memset(huge_cfi, 0, sizeof(huge_cfi));   /* DW_CFA_nop */
	if (emit_buf_init(&code, 1 << 16, 0) != 0 ||
	    emit_chain(&code, cb_fns, 4, (uint64_t)(uintptr_t)bad_leaf, 0) != 0) {
		CHECK(0, "cannot generate the chain");
		return;
	}
	cb_lo = (uint64_t)(uintptr_t)code.base;
	cb_hi = cb_lo + code.used;
	driver_values(entry, 7);
	for (cb_mode = 0; cb_mode < CB_COUNT; cb_mode++) {
		struct sw_jit_found fd;
		char name[32];
		uint64_t off;
		/* a new registration per mode: answers must not change while
		 * registered */
		CHECK_EQ(sw_jit_add_callback(cb_lo, cb_hi, cb_bad, NULL, &h), 0, "add_callback");
		int rc = sw_jit_lookup(cb_fns[1].start + 2, &fd);
		/* a bad range is refused by lookups; a bad description (kind,
		 * CFI) is only met when a frame is described */
		bool bad_range = cb_mode <= CB_OUTSIDE || cb_mode == CB_EMPTY;
		if (bad_range)
			CHECK(rc < 0, "callback %s: sw_jit_lookup gives an error: %s",
			      cb_names[cb_mode], t_status(rc));
		else
			CHECK(rc < 0 || (fd.start == cb_fns[1].start && fd.end == cb_fns[1].end),
			      "callback %s: sw_jit_lookup: %s", cb_names[cb_mode], t_status(rc));
		rc = sw_jit_get_name(cb_fns[1].start + 2, name, sizeof(name), &off);
		if (bad_range)
			CHECK(rc < 0, "callback %s: sw_jit_get_name gives an error: %s",
			      cb_names[cb_mode], t_status(rc));
		/* an invalid description must not give a wrong frame; a refused
		 * answer is "no JIT information": the unwinder's fallbacks
		 * apply (the frame-pointer rule skips the frameless jit_f3,
		 * as it would compiled code without CFI) -- no check beyond
		 * "no crash, the walk ends" */
		unsigned long before = wrong_frames, walks_before = leaf_walks;
		sw_jit_remove(0);   /* a reason of our own, which the walk must keep */
		jit_enter(cb_fns[0].start, 3, entry, 0, caller);
		CHECK(strstr(sw_jit_last_error(), "sw_jit_remove: handle: 0x0") != NULL,
		      "callback %s: the unwinder's walk replaced the thread's reason with \"%s\"",
		      cb_names[cb_mode], sw_jit_last_error());
		CHECK_EQ(leaf_walks, walks_before + 1, "callback %s: the walk ran", cb_names[cb_mode]);
		if (!bad_range)
			CHECK_EQ(wrong_frames, before, "callback %s: wrong frames (last step: %s)",
				 cb_names[cb_mode], t_status(leaf_rc));
		printf("jit_bad: callback %-30s: walk from the leaf ended with %s\n", cb_names[cb_mode],
		       t_status(leaf_rc));
		CHECK_EQ(sw_jit_remove(h), 0, "remove");
	}
	for (int i = 0; i < 4; i++)
		emit_fn_free(&cb_fns[i]);
	emit_buf_free(&code);
}

int main(void)
{
	struct emit_buf scratch;
	struct emit_spec s;
	void *area;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sw_init();
	area = mmap(NULL, 16 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED || emit_buf_init(&scratch, 1 << 16, 0) != 0)
		return 2;
	base = (uint64_t)(uintptr_t)area + 0x100000;
	emit_shape(5, "tmpl", &s);   /* fp, 5 saved, 2 epilogues */
	if (emit_fn(&scratch, &s, &tmpl) != 0)
		return 2;
	emit_shape(3, "leaf", &s);
	if (emit_fn(&scratch, &s, &tmpl_leaf) != 0)
		return 2;

	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
		{ "overlap", test_overlap }, { "cfi", test_cfi }, { "ranges", test_ranges },
		{ "args", test_args }, { "handles", test_handles }, { "table", test_table },
		{ "move", test_move }, { "callbacks", test_callbacks },
	};
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		unsigned long before = t_fail;
		tests[i].fn();
		printf("jit_bad: %-10s %s\n", tests[i].name, t_fail == before ? "ok" : "FAILED");
	}
	CHECK_EQ(live_handles(), 0, "no handle left at the end");
	emit_fn_free(&tmpl);
	emit_fn_free(&tmpl_leaf);
	return t_finish("jit_bad");
}
