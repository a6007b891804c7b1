/*
 * A JIT written only against libunwind-dynamic(3) (nongnu's <libunwind.h>,
 * linked with -lunwind): it generates machine code at run time into an
 * mmap'd page and describes it with _U_dyn_register, one procedure (or
 * two) per format:
 *
 *   jit_dyn_fp     UNW_INFO_FORMAT_DYNAMIC, frame-pointer convention
 *                  (push rbp; mov rbp,rsp; push rbx; sub rsp,24), two
 *                  regions (a prologue of 9 bytes, then the last 19 bytes:
 *                  negative insn_count), handler __gxx_personality_v0
 *   jit_dyn_sp     UNW_INFO_FORMAT_DYNAMIC without frame pointer (push
 *                  rbx; push r12; sub rsp,24), SPILL_SP_REL, POP_FRAMES
 *   jit_table+0x0, jit_table+0x20   UNW_INFO_FORMAT_TABLE, two
 *                  procedures, hand-assembled .eh_frame CIE + FDEs, the
 *                  search table of {start_ip_offset, fde_offset}
 *   jit_rtable     UNW_INFO_FORMAT_REMOTE_TABLE, one procedure, its own
 *                  CIE + FDE
 *
 * Each procedure calls the next one through a slot (call [rax]); the last
 * calls the C++ function probe().  Usage:
 *
 *   dyn_jit bt FMT      FMT = dyn_fp | dyn_sp | table | rtable | chain:
 *                       probe() walks with unw_step and prints
 *                       "bt: NAME NAME ..." (unw_get_proc_name, "?" when it
 *                       fails) up to main
 *   dyn_jit throw FMT   probe() throws; main prints "caught 42"
 *   dyn_jit list        walks the list at _U_dyn_info_list_addr (as a
 *                       remote reader would): prints "list: N gen-changed"
 *   dyn_jit churn N     N times: register a DYNAMIC procedure over the
 *                       code of jit_dyn_fp under a new name and cancel it;
 *                       then cancel jit_dyn_fp itself and print the chain's
 *                       backtrace, then register it again and print it
 * Exit status 0 unless something unexpected (a throw not caught exits by
 * std::terminate).
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

extern "C" int __gxx_personality_v0(int, int, uint64_t, void *, void *);
/* exported by nongnu's libunwind (and stackwalk's), not in nongnu's header */
extern "C" unw_word_t _U_dyn_info_list_addr(void);
extern "C" void probe(void);
extern "C" void run_one(int first);

static int mode_throw;
static void *slot[6];           /* the callee of each procedure */

extern "C" __attribute__((noinline)) void probe(void)
{
	if (mode_throw)
		throw 42;
	unw_context_t ctx;
	unw_cursor_t c;
	char line[4096];
	size_t at = 0;
	at += (size_t)snprintf(line + at, sizeof line - at, "bt:");
	unw_getcontext(&ctx);
	int rc = unw_init_local(&c, &ctx);
	if (rc < 0) {
		printf("bt: init %d\n", rc);
		return;
	}
	for (int depth = 0; depth < 40; depth++) {
		char name[256];
		unw_word_t off = 0;
		int r = unw_get_proc_name(&c, name, sizeof name, &off);
		at += (size_t)snprintf(line + at, sizeof line - at, " %s", r == 0 ? name : "?");
		if (r == 0 && strcmp(name, "main") == 0)
			break;
		if (at > sizeof line - 300)
			break;
		r = unw_step(&c);
		if (r <= 0) {
			at += (size_t)snprintf(line + at, sizeof line - at, " [step %d]", r);
			break;
		}
	}
	printf("%s\n", line);
	fflush(stdout);
}

/* ---------------------------------------------------------------- code */

static uint8_t *page;
static size_t pagesz = 4096;
enum { P_DYN_FP, P_DYN_SP, P_TAB_A, P_TAB_B, P_RTAB, NPROC };
static const uint64_t proc_off[NPROC] = { 0x000, 0x040, 0x080, 0x0a0, 0x0c0 };
static size_t proc_len[NPROC];

/* mov rax, &slot[i]; call [rax] */
static size_t emit_call(uint8_t *p, int i)
{
	uint64_t a = (uint64_t)(uintptr_t)&slot[i];
	p[0] = 0x48, p[1] = 0xb8;
	memcpy(p + 2, &a, 8);
	p[10] = 0xff, p[11] = 0x10;
	return 12;
}

static void gen_code(void)
{
	uint8_t *p;
	size_t n;

	/* jit_dyn_fp: 0 push rbp; 1 mov rbp,rsp; 4 push rbx; 5 sub rsp,24;
	 * 9 call; 21 add rsp,24; 25 pop rbx; 26 pop rbp; 27 ret */
	p = page + proc_off[P_DYN_FP];
	n = 0;
	p[n++] = 0x55;
	p[n++] = 0x48, p[n++] = 0x89, p[n++] = 0xe5;
	p[n++] = 0x53;
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xec, p[n++] = 0x18;
	n += emit_call(p + n, P_DYN_FP);
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xc4, p[n++] = 0x18;
	p[n++] = 0x5b;
	p[n++] = 0x5d;
	p[n++] = 0xc3;
	proc_len[P_DYN_FP] = n;         /* 28 */

	/* jit_dyn_sp: 0 push rbx; 1 push r12; 3 sub rsp,24; 7 call;
	 * 19 add rsp,24; 23 pop r12; 25 pop rbx; 26 ret */
	p = page + proc_off[P_DYN_SP];
	n = 0;
	p[n++] = 0x53;
	p[n++] = 0x41, p[n++] = 0x54;
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xec, p[n++] = 0x18;
	n += emit_call(p + n, P_DYN_SP);
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xc4, p[n++] = 0x18;
	p[n++] = 0x41, p[n++] = 0x5c;
	p[n++] = 0x5b;
	p[n++] = 0xc3;
	proc_len[P_DYN_SP] = n;         /* 27 */

	/* the table procedures: 0 push rbx; 1 sub rsp,16; 5 call;
	 * 17 add rsp,16; 21 pop rbx; 22 ret */
	for (int i = P_TAB_A; i <= P_RTAB; i++) {
		p = page + proc_off[i];
		n = 0;
		p[n++] = 0x53;
		p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xec, p[n++] = 0x10;
		n += emit_call(p + n, i);
		p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xc4, p[n++] = 0x10;
		p[n++] = 0x5b;
		p[n++] = 0xc3;
		proc_len[i] = n;        /* 23 */
	}
}

/* ---------------------------------------------------------------- .eh_frame by hand */

static uint8_t *eh;             /* in the page, from 0x400 */
static size_t eh_len;

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* A CIE: version 1, "zR", code align 1, data align -8, RA 16, FDE
 * encoding pcrel|sdata4; initial instructions def_cfa rsp+8, offset rip. */
static size_t emit_cie(uint8_t *p)
{
	static const uint8_t body[] = {
		0, 0, 0, 0,             /* CIE id */
		1,                      /* version */
		'z', 'R', 0,
		1,                      /* code align */
		0x78,                   /* data align -8 */
		16,                     /* return address column */
		1, 0x1b,                /* augmentation data: FDE encoding */
		0x0c, 7, 8,             /* def_cfa rsp, 8 */
		0x90, 1,                /* offset rip, cfa-8 */
		0, 0,                   /* nops: 4 + 20 = 24 bytes */
	};
	put32(p, sizeof body);
	memcpy(p + 4, body, sizeof body);
	return 4 + sizeof body;
}

/* An FDE for a table procedure at code (see gen_code) using the CIE at
 * cie. */
static size_t emit_fde(uint8_t *p, uint8_t *cie, uint8_t *code, uint32_t len)
{
	uint8_t b[64];
	size_t n = 0;
	put32(b + n, (uint32_t)((p + 4) - cie)); n += 4;        /* CIE pointer */
	int32_t rel = (int32_t)(code - (p + 8));
	memcpy(b + n, &rel, 4); n += 4;                         /* pc_begin */
	put32(b + n, len); n += 4;                              /* pc_range */
	b[n++] = 0;                                             /* augmentation data */
	b[n++] = 0x41;                  /* advance 1 (after push rbx) */
	b[n++] = 0x0e, b[n++] = 16;     /* def_cfa_offset 16 */
	b[n++] = 0x83, b[n++] = 2;      /* offset rbx, cfa-16 */
	b[n++] = 0x44;                  /* advance 4 (after sub) */
	b[n++] = 0x0e, b[n++] = 32;
	b[n++] = 0x4c;                  /* advance 12 (17: after call) ... */
	b[n++] = 0x44;                  /* advance 4 (21: after add) */
	b[n++] = 0x0e, b[n++] = 16;
	b[n++] = 0x41;                  /* advance 1 (22: after pop rbx) */
	b[n++] = 0x0e, b[n++] = 8;
	while ((n + 4) % 8)
		b[n++] = 0;             /* DW_CFA_nop */
	put32(p, (uint32_t)n);
	memcpy(p + 4, b, n);
	return n + 4;
}

/* ---------------------------------------------------------------- registration */

static unw_dyn_info_t di_fp, di_sp, di_tab, di_rtab;
static unw_dyn_region_info_t *reg_fp1, *reg_fp2, *reg_sp;
static struct { int32_t start, fde; } tab_a[2], tab_r[1];

static unw_dyn_region_info_t *region(int nops, int32_t insns)
{
	unw_dyn_region_info_t *r = (unw_dyn_region_info_t *)calloc(1, _U_dyn_region_info_size(nops));
	r->insn_count = insns;
	r->op_count = (uint32_t)nops;
	return r;
}

static void describe(void)
{
	uint64_t base = (uint64_t)(uintptr_t)page;

	/* jit_dyn_fp: region 1 = bytes 0..8 (the prologue) */
	reg_fp1 = region(7, 9);
	_U_dyn_op_add(&reg_fp1->op[0], _U_QP_TRUE, 0, UNW_X86_64_RSP, (unw_word_t)-8);
	_U_dyn_op_spill_sp_rel(&reg_fp1->op[1], _U_QP_TRUE, 0, UNW_X86_64_RBP, 0);
	_U_dyn_op_save_reg(&reg_fp1->op[2], _U_QP_TRUE, 3, UNW_X86_64_RSP, UNW_X86_64_RBP);
	_U_dyn_op_add(&reg_fp1->op[3], _U_QP_TRUE, 4, UNW_X86_64_RSP, (unw_word_t)-8);
	_U_dyn_op_spill_fp_rel(&reg_fp1->op[4], _U_QP_TRUE, 4, UNW_X86_64_RBX, (unw_word_t)-8);
	_U_dyn_op_add(&reg_fp1->op[5], _U_QP_TRUE, 8, UNW_X86_64_RSP, (unw_word_t)-24);
	_U_dyn_op_stop(&reg_fp1->op[6]);
	/* region 2 = the last 19 bytes (9..27): pop rbp at 26 ends the frame */
	reg_fp2 = region(2, -19);
	_U_dyn_op_pop_frames(&reg_fp2->op[0], _U_QP_TRUE, 26 - 9, 1);
	_U_dyn_op_stop(&reg_fp2->op[1]);
	reg_fp1->next = reg_fp2;
	di_fp.start_ip = base + proc_off[P_DYN_FP];
	di_fp.end_ip = di_fp.start_ip + proc_len[P_DYN_FP];
	di_fp.format = UNW_INFO_FORMAT_DYNAMIC;
	di_fp.u.pi.name_ptr = (unw_word_t)(uintptr_t)"jit_dyn_fp";
	di_fp.u.pi.handler = (unw_word_t)(uintptr_t)&__gxx_personality_v0;
	di_fp.u.pi.regions = reg_fp1;

	/* jit_dyn_sp: one region */
	reg_sp = region(9, (int32_t)proc_len[P_DYN_SP]);
	_U_dyn_op_add(&reg_sp->op[0], _U_QP_TRUE, 0, UNW_X86_64_RSP, (unw_word_t)-8);
	_U_dyn_op_spill_sp_rel(&reg_sp->op[1], _U_QP_TRUE, 0, UNW_X86_64_RBX, 0);
	_U_dyn_op_add(&reg_sp->op[2], _U_QP_TRUE, 2, UNW_X86_64_RSP, (unw_word_t)-8);
	_U_dyn_op_spill_sp_rel(&reg_sp->op[3], _U_QP_TRUE, 2, UNW_X86_64_R12, 0);
	_U_dyn_op_add(&reg_sp->op[4], _U_QP_TRUE, 6, UNW_X86_64_RSP, (unw_word_t)-24);
	_U_dyn_op_add(&reg_sp->op[5], _U_QP_TRUE, 22, UNW_X86_64_RSP, 24);
	_U_dyn_op_add(&reg_sp->op[6], _U_QP_TRUE, 24, UNW_X86_64_RSP, 8);
	_U_dyn_op_pop_frames(&reg_sp->op[7], _U_QP_TRUE, 25, 1);
	_U_dyn_op_stop(&reg_sp->op[8]);
	di_sp.start_ip = base + proc_off[P_DYN_SP];
	di_sp.end_ip = di_sp.start_ip + proc_len[P_DYN_SP];
	di_sp.format = UNW_INFO_FORMAT_DYNAMIC;
	di_sp.u.pi.name_ptr = (unw_word_t)(uintptr_t)"jit_dyn_sp";
	di_sp.u.pi.regions = reg_sp;

	/* .eh_frame at page + 0x400: CIE, FDE a, FDE b (TABLE); CIE, FDE r
	 * (REMOTE_TABLE) */
	eh = page + 0x400;
	size_t n = 0;
	uint8_t *cie1 = eh + n;
	n += emit_cie(eh + n);
	uint8_t *fa = eh + n;
	n += emit_fde(eh + n, cie1, page + proc_off[P_TAB_A], (uint32_t)proc_len[P_TAB_A]);
	uint8_t *fb = eh + n;
	n += emit_fde(eh + n, cie1, page + proc_off[P_TAB_B], (uint32_t)proc_len[P_TAB_B]);
	uint8_t *cie2 = eh + n;
	n += emit_cie(eh + n);
	uint8_t *fr = eh + n;
	n += emit_fde(eh + n, cie2, page + proc_off[P_RTAB], (uint32_t)proc_len[P_RTAB]);
	eh_len = n;

	/* TABLE: segbase = the code's start */
	uint64_t seg = base + proc_off[P_TAB_A];
	tab_a[0].start = (int32_t)(base + proc_off[P_TAB_A] - seg);
	tab_a[0].fde = (int32_t)((uint64_t)(uintptr_t)fa - seg);
	tab_a[1].start = (int32_t)(base + proc_off[P_TAB_B] - seg);
	tab_a[1].fde = (int32_t)((uint64_t)(uintptr_t)fb - seg);
	di_tab.start_ip = base + proc_off[P_TAB_A];
	di_tab.end_ip = base + proc_off[P_TAB_B] + proc_len[P_TAB_B];
	di_tab.format = UNW_INFO_FORMAT_TABLE;
	di_tab.u.ti.name_ptr = (unw_word_t)(uintptr_t)"jit_table";
	di_tab.u.ti.segbase = seg;
	di_tab.u.ti.table_len = sizeof tab_a / sizeof(unw_word_t);
	di_tab.u.ti.table_data = (unw_word_t *)(void *)tab_a;

	/* REMOTE_TABLE: segbase = the page */
	tab_r[0].start = (int32_t)proc_off[P_RTAB];
	tab_r[0].fde = (int32_t)((uint64_t)(uintptr_t)fr - base);
	di_rtab.start_ip = base + proc_off[P_RTAB];
	di_rtab.end_ip = di_rtab.start_ip + proc_len[P_RTAB];
	di_rtab.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di_rtab.u.rti.name_ptr = (unw_word_t)(uintptr_t)"jit_rtable";
	di_rtab.u.rti.segbase = base;
	di_rtab.u.rti.table_len = sizeof tab_r / sizeof(unw_word_t);
	di_rtab.u.rti.table_data = (unw_word_t)(uintptr_t)tab_r;
}

typedef void (*entry_fn)(void);

extern "C" __attribute__((noinline)) void run_one(int first)
{
	entry_fn f = (entry_fn)(void *)(page + proc_off[first]);
	f();
	__asm__ volatile("" ::: "memory");   /* not a tail call */
}

static void set_chain(const int *procs, int n)
{
	for (int i = 0; i < n; i++)
		slot[procs[i]] = i + 1 < n ? (void *)(page + proc_off[procs[i + 1]]) : (void *)probe;
}

static int select_fmt(const char *fmt)
{
	static const int fp[] = { P_DYN_FP }, sp[] = { P_DYN_SP }, tab[] = { P_TAB_A, P_TAB_B },
		rt[] = { P_RTAB }, chain[] = { P_DYN_FP, P_DYN_SP, P_TAB_A, P_TAB_B, P_RTAB };
	if (!strcmp(fmt, "dyn_fp")) { set_chain(fp, 1); return P_DYN_FP; }
	if (!strcmp(fmt, "dyn_sp")) { set_chain(sp, 1); return P_DYN_SP; }
	if (!strcmp(fmt, "table")) { set_chain(tab, 2); return P_TAB_A; }
	if (!strcmp(fmt, "rtable")) { set_chain(rt, 1); return P_RTAB; }
	if (!strcmp(fmt, "chain")) { set_chain(chain, 5); return P_DYN_FP; }
	fprintf(stderr, "unknown format %s\n", fmt);
	exit(2);
}

static int list_has(const unw_dyn_info_t *di, uint32_t *gen, int *count)
{
	unw_dyn_info_list_t *l = (unw_dyn_info_list_t *)(uintptr_t)_U_dyn_info_list_addr();
	int found = 0, n = 0;
	*gen = l->generation;
	for (unw_dyn_info_t *d = l->first; d && n < 100000; d = d->next, n++)
		if (d == di)
			found = 1;
	if (count)
		*count = n;
	return found;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: dyn_jit bt|throw FMT | list | churn N\n");
		return 2;
	}
	page = (uint8_t *)mmap(NULL, pagesz, PROT_READ | PROT_WRITE | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	gen_code();
	describe();
	_U_dyn_register(&di_fp);
	_U_dyn_register(&di_sp);
	_U_dyn_register(&di_tab);
	_U_dyn_register(&di_rtab);

	if (!strcmp(argv[1], "bt") && argc > 2) {
		run_one(select_fmt(argv[2]));
		return 0;
	}
	if (!strcmp(argv[1], "throw") && argc > 2) {
		int first = select_fmt(argv[2]);
		mode_throw = 1;
		try {
			run_one(first);
			printf("not thrown\n");
		} catch (int v) {
			printf("caught %d\n", v);
		}
		return 0;
	}
	if (!strcmp(argv[1], "list")) {
		uint32_t g0, g1, g2;
		int n0, n1;
		int all = list_has(&di_fp, &g0, &n0) && list_has(&di_sp, &g0, NULL) &&
			  list_has(&di_tab, &g0, NULL) && list_has(&di_rtab, &g0, NULL);
		_U_dyn_cancel(&di_sp);
		int gone = !list_has(&di_sp, &g1, &n1);
		_U_dyn_register(&di_sp);
		int back = list_has(&di_sp, &g2, NULL);
		unw_dyn_info_list_t *l = (unw_dyn_info_list_t *)(uintptr_t)_U_dyn_info_list_addr();
		printf("list: %d entries, all4 %d, cancel removes %d (%d left), re-register %d, "
		       "generation %s, version %u\n", n0, all, gone, n1, back,
		       g0 != g1 && g1 != g2 ? "changes" : "unchanged", l->version);
		return 0;
	}
	if (!strcmp(argv[1], "churn") && argc > 2) {
		long n = atol(argv[2]);
		/* the code of jit_dyn_fp is registered: churn a copy of it in
		 * the page's second half */
		uint8_t *copy = page + 0x800;
		memcpy(copy, page + proc_off[P_DYN_FP], proc_len[P_DYN_FP]);
		uint64_t lo = (uint64_t)(uintptr_t)copy;
		for (long i = 0; i < n; i++) {
			unw_dyn_info_t *d = (unw_dyn_info_t *)calloc(1, sizeof(*d));
			d->start_ip = lo + (uint64_t)(i % 32) * 32;
			d->end_ip = d->start_ip + proc_len[P_DYN_FP];
			d->format = UNW_INFO_FORMAT_DYNAMIC;
			d->u.pi.name_ptr = (unw_word_t)(uintptr_t)"jit_churn";
			d->u.pi.regions = reg_fp1;
			_U_dyn_register(d);
			_U_dyn_cancel(d);
			free(d);
		}
		uint32_t g;
		int cnt;
		list_has(&di_fp, &g, &cnt);
		printf("churn: %ld done, list %d\n", n, cnt);
		static const int only_fp[] = { P_DYN_FP };
		set_chain(only_fp, 1);
		_U_dyn_cancel(&di_fp);
		printf("after cancel ");
		fflush(stdout);
		run_one(P_DYN_FP);
		_U_dyn_register(&di_fp);
		printf("after re-register ");
		fflush(stdout);
		run_one(P_DYN_FP);
		return 0;
	}
	fprintf(stderr, "usage: dyn_jit bt|throw FMT | list | churn N\n");
	return 2;
}
