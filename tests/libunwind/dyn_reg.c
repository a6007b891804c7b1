/*
 * _U_dyn_register / _U_dyn_cancel / _U_dyn_info_list_addr of stackwalk's
 * libunwind.so.8, checked through stackwalk's own API (sw_jit_lookup,
 * sw_get_proc_name_by_pc, sw_backtrace, sw_jit_last_error): linked with
 * BUILD/libunwind/libunwind.so.8 and libstackwalk.so.
 *
 *   dyn_reg valid     executed DYNAMIC (no frame pointer) and TABLE frames
 *                     unwind to main; every format named
 *   dyn_reg ops       executed DYNAMIC frames whose call site needs
 *                     LABEL_STATE/COPY_STATE, ALIAS, SAVE_REG (r12 in rbx,
 *                     read back through the walk)
 *   dyn_reg errors    invalid ops, bad pointers, corrupt tables: not
 *                     registered, not listed, a reason, no crash
 *   dyn_reg misc      double register, unknown cancel, overlaps, listed-only
 *                     registrations, the libunwind publisher not looping
 *   dyn_reg threads   concurrent register/lookup/cancel from 4 threads
 *
 * Prints "ok NAME" or "FAIL NAME: why" per check; exits 1 on any FAIL.
 * Reasons of _U_dyn_register's own checks are recorded with
 * libstackwalk's sw_jit_set_last_error and checked by their words.
 */
#define _GNU_SOURCE
#include <libunwind.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

static int failures;

#define CHECK(name, cond, ...) do { \
	if (cond) printf("ok %s\n", name); \
	else { failures++; printf("FAIL %s: ", name); printf(__VA_ARGS__); printf("\n"); } \
} while (0)

static uint8_t *page;           /* 4 pages RWX; a PROT_NONE page after them */
static uint8_t *guard;

static uint64_t A(size_t off) { return (uint64_t)(uintptr_t)(page + off); }

static unw_dyn_info_list_t *dlist(void)
{
	return (unw_dyn_info_list_t *)(uintptr_t)_U_dyn_info_list_addr();
}

static int listed(const unw_dyn_info_t *di)
{
	int n = 0;
	for (unw_dyn_info_t *d = dlist()->first; d && n < 1000000; d = d->next, n++)
		if (d == di)
			return 1;
	return 0;
}

static int list_len(void)
{
	int n = 0;
	for (unw_dyn_info_t *d = dlist()->first; d && n < 1000000; d = d->next)
		n++;
	return n;
}

static int registered(uint64_t pc)
{
	struct sw_jit_found f;
	return sw_jit_lookup(pc, &f) == 0;
}

static const char *name_at(uint64_t pc)
{
	static char buf[256];
	uint64_t off;
	if (sw_get_proc_name_by_pc(pc, buf, sizeof buf, &off) != 0)
		return "?";
	return buf;
}

/* _U_dyn_region_info_size(n) without its NULL arithmetic (clang's
 * -Wnull-pointer-subtraction) */
#define REGION_SIZE(n) (offsetof(unw_dyn_region_info_t, op) + (size_t)(n) * sizeof(unw_dyn_op_t))

/* The descriptions this program makes: they must stay valid while
 * registered, so they live until the end of main, which frees them all
 * (LeakSanitizer in the sanitizer run). */
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static void **kept;
static size_t nkept, capkept;

static void *keep_calloc(size_t size)
{
	void *p = calloc(1, size);
	if (!p)
		abort();
	pthread_mutex_lock(&kept_lock);
	if (nkept == capkept) {
		capkept = capkept ? 2 * capkept : 256;
		kept = realloc(kept, capkept * sizeof(*kept));
		if (!kept)
			abort();
	}
	kept[nkept++] = p;
	pthread_mutex_unlock(&kept_lock);
	return p;
}

static void free_kept(void)
{
	for (size_t i = 0; i < nkept; i++)
		free(kept[i]);
	free(kept);
	kept = NULL;
	nkept = capkept = 0;
}

static unw_dyn_region_info_t *region(int nops, int32_t insns)
{
	unw_dyn_region_info_t *r = keep_calloc(REGION_SIZE(nops));
	r->insn_count = insns;
	r->op_count = (uint32_t)nops;
	return r;
}

static unw_dyn_info_t *dyn(uint64_t start, uint64_t len, const char *name, unw_dyn_region_info_t *r)
{
	unw_dyn_info_t *d = keep_calloc(sizeof(*d));
	d->start_ip = start;
	d->end_ip = start + len;
	d->format = UNW_INFO_FORMAT_DYNAMIC;
	d->u.pi.name_ptr = (unw_word_t)(uintptr_t)name;
	d->u.pi.regions = r;
	return d;
}

/* ---------------------------------------------------------------- valid */

static int bt_depth_to_main;

/* the callee of the JIT code: does the walk reach main? */
__attribute__((noinline)) void callee(void);
__attribute__((noinline)) void callee(void)
{
	void *pcs[64];
	int n = sw_backtrace(pcs, 64);
	bt_depth_to_main = -1;
	for (int i = 0; i < n; i++) {
		char nm[64];
		uint64_t off;
		if (sw_get_proc_name_by_pc((uint64_t)(uintptr_t)pcs[i] - 1, nm, sizeof nm, &off) == 0 &&
		    strcmp(nm, "run_code") == 0) {
			bt_depth_to_main = i;
			break;
		}
	}
}

static void *callee_slot;

/* sp-based: push rbx; push r12; sub rsp,24; mov rax,&slot; call [rax];
 * add rsp,24; pop r12; pop rbx; ret (27 bytes) */
static size_t gen_dyn_sp(uint8_t *p)
{
	size_t n = 0;
	uint64_t a = (uint64_t)(uintptr_t)&callee_slot;
	p[n++] = 0x53;
	p[n++] = 0x41, p[n++] = 0x54;
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xec, p[n++] = 0x18;
	p[n++] = 0x48, p[n++] = 0xb8;
	memcpy(p + n, &a, 8);
	n += 8;
	p[n++] = 0xff, p[n++] = 0x10;
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xc4, p[n++] = 0x18;
	p[n++] = 0x41, p[n++] = 0x5c;
	p[n++] = 0x5b;
	p[n++] = 0xc3;
	return n;
}

/* Clobbers rbx and r12 as the generated code's caller might expect them
 * back: the code saves and restores them. */
__attribute__((noinline)) void run_code(uint64_t at);
__attribute__((noinline)) void run_code(uint64_t at)
{
	void (*f)(void);
	memcpy(&f, &at, sizeof f);
	f();
	__asm__ volatile("" ::: "memory");
}

static size_t put_cie(uint8_t *p)
{
	static const uint8_t body[] = { 0, 0, 0, 0, 1, 'z', 'R', 0, 1, 0x78, 16, 1, 0x1b,
					0x0c, 7, 8, 0x90, 1, 0, 0 };
	uint32_t l = sizeof body;
	memcpy(p, &l, 4);
	memcpy(p + 4, body, sizeof body);
	return 4 + sizeof body;
}

/* FDE for a 27-byte gen_dyn_sp procedure at code */
static size_t put_fde(uint8_t *p, const uint8_t *cie, const uint8_t *code, uint32_t len)
{
	uint8_t b[64];
	size_t n = 0;
	uint32_t cp = (uint32_t)((p + 4) - cie);
	int32_t rel = (int32_t)(code - (p + 8));
	memcpy(b + n, &cp, 4), n += 4;
	memcpy(b + n, &rel, 4), n += 4;
	memcpy(b + n, &len, 4), n += 4;
	b[n++] = 0;
	b[n++] = 0x41, b[n++] = 0x0e, b[n++] = 16, b[n++] = 0x83, b[n++] = 2;   /* 1: push rbx */
	b[n++] = 0x42, b[n++] = 0x0e, b[n++] = 24, b[n++] = 0x8c, b[n++] = 3;   /* 3: push r12 */
	b[n++] = 0x44, b[n++] = 0x0e, b[n++] = 48;                             /* 7: sub */
	while ((n + 4) % 8)
		b[n++] = 0;
	uint32_t l = (uint32_t)n;
	memcpy(p, &l, 4);
	memcpy(p + 4, b, n);
	return n + 4;
}

static struct { int32_t start, fde; } tab1[2];

static void t_valid(void)
{
	/* DYNAMIC at page+0 */
	size_t len = gen_dyn_sp(page);
	unw_dyn_region_info_t *r = region(9, (int32_t)len);
	_U_dyn_op_add(&r->op[0], _U_QP_TRUE, 0, UNW_X86_64_RSP, (unw_word_t)-8);
	_U_dyn_op_spill_sp_rel(&r->op[1], _U_QP_TRUE, 0, UNW_X86_64_RBX, 0);
	_U_dyn_op_add(&r->op[2], _U_QP_TRUE, 2, UNW_X86_64_RSP, (unw_word_t)-8);
	_U_dyn_op_spill_sp_rel(&r->op[3], _U_QP_TRUE, 2, UNW_X86_64_R12, 0);
	_U_dyn_op_add(&r->op[4], _U_QP_TRUE, 6, UNW_X86_64_RSP, (unw_word_t)-24);
	_U_dyn_op_add(&r->op[5], _U_QP_TRUE, 22, UNW_X86_64_RSP, 24);
	_U_dyn_op_add(&r->op[6], _U_QP_TRUE, 24, UNW_X86_64_RSP, 8);
	_U_dyn_op_pop_frames(&r->op[7], _U_QP_TRUE, 25, 1);
	_U_dyn_op_stop(&r->op[8]);
	unw_dyn_info_t *d = dyn(A(0), len, "valid_dyn", r);
	uint32_t g0 = dlist()->generation;
	_U_dyn_register(d);
	CHECK("valid-dyn-registered", registered(A(5)) && listed(d) && dlist()->generation != g0,
	      "registered %d listed %d (%s)", registered(A(5)), listed(d), sw_jit_last_error());
	CHECK("valid-dyn-name", strcmp(name_at(A(5)), "valid_dyn") == 0, "name %s", name_at(A(5)));
	callee_slot = (void *)callee;
	run_code(A(0));
	CHECK("valid-dyn-unwinds", bt_depth_to_main == 2, "run_code at depth %d (want 2: callee, "
	      "valid_dyn, run_code)", bt_depth_to_main);

	/* the description is copied: scribbling on it changes nothing */
	memset(r, 0xee, REGION_SIZE(9));
	run_code(A(0));
	CHECK("valid-dyn-copied", bt_depth_to_main == 2, "depth %d after the regions were "
	      "overwritten", bt_depth_to_main);

	/* TABLE: two copies of the code at page+0x100 and +0x140, FDEs at +0x800 */
	size_t l1 = gen_dyn_sp(page + 0x100);
	gen_dyn_sp(page + 0x140);
	uint8_t *eh = page + 0x800, *cie = eh;
	size_t n = put_cie(eh);
	uint8_t *f1 = eh + n;
	n += put_fde(eh + n, cie, page + 0x100, (uint32_t)l1);
	uint8_t *f2 = eh + n;
	n += put_fde(eh + n, cie, page + 0x140, (uint32_t)l1);
	uint64_t seg = A(0x100);
	tab1[0].start = 0;
	tab1[0].fde = (int32_t)((uint64_t)(uintptr_t)f1 - seg);
	tab1[1].start = 0x40;
	tab1[1].fde = (int32_t)((uint64_t)(uintptr_t)f2 - seg);
	unw_dyn_info_t *t = keep_calloc(sizeof(*t));
	t->start_ip = A(0x100);
	t->end_ip = A(0x140) + l1;
	t->format = UNW_INFO_FORMAT_TABLE;
	t->u.ti.name_ptr = (unw_word_t)(uintptr_t)"valid_table";
	t->u.ti.segbase = seg;
	t->u.ti.table_len = 2;
	t->u.ti.table_data = (unw_word_t *)(void *)tab1;
	_U_dyn_register(t);
	CHECK("valid-table-registered", registered(A(0x105)) && registered(A(0x145)) && listed(t),
	      "%d %d %d (%s)", registered(A(0x105)), registered(A(0x145)), listed(t),
	      sw_jit_last_error());
	char n1[256], n2[256];
	snprintf(n1, sizeof n1, "%s", name_at(A(0x105)));
	snprintf(n2, sizeof n2, "%s", name_at(A(0x145)));
	CHECK("valid-table-names", !strcmp(n1, "valid_table+0x0") && !strcmp(n2, "valid_table+0x40"),
	      "names %s, %s", n1, n2);
	run_code(A(0x140));
	CHECK("valid-table-unwinds", bt_depth_to_main == 2, "depth %d", bt_depth_to_main);

	/* REMOTE_TABLE of one procedure (its FDE again, a new copy of code) */
	size_t l3 = gen_dyn_sp(page + 0x180);
	uint8_t *f3 = eh + n;
	n += put_fde(eh + n, cie, page + 0x180, (uint32_t)l3);
	static struct { int32_t start, fde; } tab3[1];
	tab3[0].start = 0x180;
	tab3[0].fde = (int32_t)((uint64_t)(uintptr_t)f3 - A(0));
	unw_dyn_info_t *rt = keep_calloc(sizeof(*rt));
	rt->start_ip = A(0x180);
	rt->end_ip = A(0x180) + l3;
	rt->format = UNW_INFO_FORMAT_REMOTE_TABLE;
	rt->u.rti.name_ptr = (unw_word_t)(uintptr_t)"valid_rtable";
	rt->u.rti.segbase = A(0);
	rt->u.rti.table_len = 1;
	rt->u.rti.table_data = (unw_word_t)(uintptr_t)tab3;
	_U_dyn_register(rt);
	CHECK("valid-rtable-name", strcmp(name_at(A(0x185)), "valid_rtable") == 0, "name %s (%s)",
	      name_at(A(0x185)), sw_jit_last_error());
	run_code(A(0x180));
	CHECK("valid-rtable-unwinds", bt_depth_to_main == 2, "depth %d", bt_depth_to_main);

	/* IP_OFFSET: start offsets from start_ip */
	size_t l4 = gen_dyn_sp(page + 0x1c0);
	uint8_t *f4 = eh + n;
	n += put_fde(eh + n, cie, page + 0x1c0, (uint32_t)l4);
	static struct { int32_t start, fde; } tab4[1];
	tab4[0].start = 0;
	tab4[0].fde = (int32_t)((uint64_t)(uintptr_t)f4 - A(0));
	unw_dyn_info_t *ip = keep_calloc(sizeof(*ip));
	*ip = *rt;
	ip->next = ip->prev = NULL;
	ip->start_ip = A(0x1c0);
	ip->end_ip = A(0x1c0) + l4;
	ip->format = UNW_INFO_FORMAT_IP_OFFSET;
	ip->u.rti.name_ptr = (unw_word_t)(uintptr_t)"valid_ipoff";
	ip->u.rti.table_data = (unw_word_t)(uintptr_t)tab4;
	_U_dyn_register(ip);
	CHECK("valid-ipoffset-name", strcmp(name_at(A(0x1c5)), "valid_ipoff") == 0, "name %s (%s)",
	      name_at(A(0x1c5)), sw_jit_last_error());

	/* cancel: gone from the registry and the list */
	_U_dyn_cancel(t);
	CHECK("valid-cancel", !registered(A(0x105)) && !registered(A(0x145)) && !listed(t) &&
	      registered(A(5)), "table still registered %d/%d listed %d; dyn kept %d",
	      registered(A(0x105)), registered(A(0x145)), listed(t), registered(A(5)));
	_U_dyn_cancel(d);
	_U_dyn_cancel(rt);
	_U_dyn_cancel(ip);
	CHECK("valid-cancel-all", !registered(A(5)) && !registered(A(0x185)) &&
	      !registered(A(0x1c5)) && list_len() == 0, "list %d", list_len());
}

/* ---------------------------------------------------------------- ops */

static uint64_t r12_seen;

/* the callee of the SAVE_REG code: r12 as the walk finds it in run_r12's
 * frame (two steps up: the JIT frame, then run_r12) */
__attribute__((noinline)) void callee_r12(void);
__attribute__((noinline)) void callee_r12(void)
{
	sw_context_t ctx;
	sw_cursor_t cur;
	r12_seen = 0;
	sw_getcontext(&ctx);
	if (sw_init_local(&cur, &ctx) != 0 || sw_step(&cur) != 0 || sw_step(&cur) != 0)
		return;
	sw_get_reg(&cur, SW_REG_R12, &r12_seen);
}

/* run_r12(code): r12 = 0x5a5a1234, then call code (with CFI) */
void run_r12(uint64_t code);
__asm__(".text\n"
	".globl run_r12\n"
	".type run_r12, @function\n"
	"run_r12:\n"
	".cfi_startproc\n"
	"\tpush %r12\n"
	"\t.cfi_def_cfa_offset 16\n"
	"\t.cfi_offset %r12, -16\n"
	"\tmov $0x5a5a1234, %r12\n"
	"\tcall *%rdi\n"
	"\tpop %r12\n"
	"\t.cfi_def_cfa_offset 8\n"
	"\tret\n"
	".cfi_endproc\n"
	".size run_r12, .-run_r12\n");

static size_t put_call(uint8_t *p)
{
	uint64_t a = (uint64_t)(uintptr_t)&callee_slot;
	p[0] = 0x48, p[1] = 0xb8;
	memcpy(p + 2, &a, 8);
	p[10] = 0xff, p[11] = 0x10;
	return 12;
}

static void t_ops(void)
{
	uint8_t *p;
	size_t n;

	/* LABEL_STATE / COPY_STATE: an early epilogue before the body.
	 * 0 push rbx; 1 sub rsp,16; 5 jmp 13; 7 add rsp,16; 11 pop rbx;
	 * 12 ret; 13 call; 25 add rsp,16; 29 pop rbx; 30 ret */
	p = page + 0x200;
	n = 0;
	p[n++] = 0x53;
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xec, p[n++] = 0x10;
	p[n++] = 0xeb, p[n++] = 0x06;
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xc4, p[n++] = 0x10;
	p[n++] = 0x5b;
	p[n++] = 0xc3;
	n += put_call(p + n);
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xc4, p[n++] = 0x10;
	p[n++] = 0x5b;
	p[n++] = 0xc3;
	unw_dyn_region_info_t *r = region(10, (int32_t)n);
	_U_dyn_op_add(&r->op[0], _U_QP_TRUE, 0, UNW_X86_64_RSP, (unw_word_t)-8);
	_U_dyn_op_spill_sp_rel(&r->op[1], _U_QP_TRUE, 0, UNW_X86_64_RBX, 0);
	_U_dyn_op_add(&r->op[2], _U_QP_TRUE, 4, UNW_X86_64_RSP, (unw_word_t)-16);
	r->op[3] = (unw_dyn_op_t){ UNW_DYN_LABEL_STATE, _U_QP_TRUE, 0, 4, 1 };
	_U_dyn_op_add(&r->op[4], _U_QP_TRUE, 10, UNW_X86_64_RSP, 16);
	_U_dyn_op_pop_frames(&r->op[5], _U_QP_TRUE, 11, 1);
	r->op[6] = (unw_dyn_op_t){ UNW_DYN_COPY_STATE, _U_QP_TRUE, 0, 12, 1 };
	_U_dyn_op_add(&r->op[7], _U_QP_TRUE, 28, UNW_X86_64_RSP, 16);
	_U_dyn_op_pop_frames(&r->op[8], _U_QP_TRUE, 29, 1);
	_U_dyn_op_stop(&r->op[9]);
	unw_dyn_info_t *d1 = dyn(A(0x200), n, "ops_copy_state", r);
	_U_dyn_register(d1);
	callee_slot = (void *)callee;
	bt_depth_to_main = -9;
	if (registered(A(0x200)))
		run_code(A(0x200));
	CHECK("ops-label-copy-state", bt_depth_to_main == 2, "depth %d (%s)", bt_depth_to_main,
	      sw_jit_last_error());

	/* ALIAS: the call runs in a copy of bytes 7..18, whose own region
	 * ends with POP_FRAMES; LABEL/COPY bring the epilogue back.
	 * R1 (19 bytes): 0 push rbx; 1 sub rsp,16; 5 jmp 19; 7 call (dead
	 * original, 7..18).  R2 (12): 19 call, ALIAS of start+7.  R3 (6):
	 * 31 add rsp,16; 35 pop rbx; 36 ret */
	p = page + 0x280;
	n = 0;
	p[n++] = 0x53;
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xec, p[n++] = 0x10;
	p[n++] = 0xeb, p[n++] = 0x0c;
	n += put_call(p + n);
	n += put_call(p + n);
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xc4, p[n++] = 0x10;
	p[n++] = 0x5b;
	p[n++] = 0xc3;
	unw_dyn_region_info_t *r1 = region(6, 19), *r2 = region(2, 12), *r3 = region(4, 6);
	_U_dyn_op_add(&r1->op[0], _U_QP_TRUE, 0, UNW_X86_64_RSP, (unw_word_t)-8);
	_U_dyn_op_spill_sp_rel(&r1->op[1], _U_QP_TRUE, 0, UNW_X86_64_RBX, 0);
	_U_dyn_op_add(&r1->op[2], _U_QP_TRUE, 4, UNW_X86_64_RSP, (unw_word_t)-16);
	_U_dyn_op_label_state(&r1->op[3], 2);
	r1->op[3].when = 4;
	_U_dyn_op_pop_frames(&r1->op[4], _U_QP_TRUE, 18, 1);
	_U_dyn_op_stop(&r1->op[5]);
	_U_dyn_op_alias(&r2->op[0], _U_QP_TRUE, -1, A(0x280 + 7));
	_U_dyn_op_stop(&r2->op[1]);
	/* (no ADD for the add rsp: an ADD would make R3 a frame of its own,
	 * and POP_FRAMES 1 would pop that one) */
	_U_dyn_op_copy_state(&r3->op[0], 2);
	_U_dyn_op_pop_frames(&r3->op[1], _U_QP_TRUE, 4, 1);
	_U_dyn_op_stop(&r3->op[2]);
	r1->next = r2;
	r2->next = r3;
	unw_dyn_info_t *d2 = dyn(A(0x280), n, "ops_alias", r1);
	_U_dyn_register(d2);
	bt_depth_to_main = -9;
	if (registered(A(0x280)))
		run_code(A(0x280));
	CHECK("ops-alias", bt_depth_to_main == 2, "depth %d (%s)", bt_depth_to_main,
	      sw_jit_last_error());

	/* SAVE_REG: r12 kept in rbx while r12 is clobbered.
	 * 0 push rbx; 1 mov rbx,r12; 4 xor r12d,r12d; 7 sub rsp,16;
	 * 11 call; 23 add rsp,16; 27 mov r12,rbx; 30 pop rbx; 31 ret */
	p = page + 0x300;
	n = 0;
	p[n++] = 0x53;
	p[n++] = 0x4c, p[n++] = 0x89, p[n++] = 0xe3;
	p[n++] = 0x45, p[n++] = 0x31, p[n++] = 0xe4;
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xec, p[n++] = 0x10;
	n += put_call(p + n);
	p[n++] = 0x48, p[n++] = 0x83, p[n++] = 0xc4, p[n++] = 0x10;
	p[n++] = 0x49, p[n++] = 0x89, p[n++] = 0xdc;
	p[n++] = 0x5b;
	p[n++] = 0xc3;
	r = region(8, (int32_t)n);
	_U_dyn_op_add(&r->op[0], _U_QP_TRUE, 0, UNW_X86_64_RSP, (unw_word_t)-8);
	_U_dyn_op_spill_sp_rel(&r->op[1], _U_QP_TRUE, 0, UNW_X86_64_RBX, 0);
	_U_dyn_op_save_reg(&r->op[2], _U_QP_TRUE, 3, UNW_X86_64_R12, UNW_X86_64_RBX);
	_U_dyn_op_add(&r->op[3], _U_QP_TRUE, 10, UNW_X86_64_RSP, (unw_word_t)-16);
	_U_dyn_op_add(&r->op[4], _U_QP_TRUE, 26, UNW_X86_64_RSP, 16);
	_U_dyn_op_save_reg(&r->op[5], _U_QP_TRUE, 29, UNW_X86_64_R12, UNW_X86_64_R12);
	_U_dyn_op_pop_frames(&r->op[6], _U_QP_TRUE, 30, 1);
	_U_dyn_op_stop(&r->op[7]);
	unw_dyn_info_t *d3 = dyn(A(0x300), n, "ops_save_reg", r);
	_U_dyn_register(d3);
	callee_slot = (void *)callee_r12;
	int reg3 = registered(A(0x300));
	if (reg3)
		run_r12(A(0x300));
	CHECK("ops-save-reg", r12_seen == 0x5a5a1234, "registered %d, r12 in the caller's frame "
	      "%#llx, want 0x5a5a1234 (%s)", reg3, (unsigned long long)r12_seen,
	      sw_jit_last_error());
	callee_slot = (void *)callee;
	_U_dyn_cancel(d1);
	_U_dyn_cancel(d2);
	_U_dyn_cancel(d3);
}

/* ---------------------------------------------------------------- errors */

/* Register d; it must be refused: not registered, not listed; the reason
 * (when want is not NULL) must contain want. */
static void refused(const char *name, unw_dyn_info_t *d, const char *want)
{
	uint32_t g0 = dlist()->generation;
	_U_dyn_register(d);
	const char *why = sw_jit_last_error();
	struct sw_jit_found fd;
	int reg = d->start_ip < d->end_ip && sw_jit_lookup(d->start_ip, &fd) == 0 &&
		  fd.start == d->start_ip;
	int why_ok = !want || strstr(why, want) != NULL;
	CHECK(name, !reg && !listed(d) && dlist()->generation == g0 && why_ok,
	      "registered %d listed %d generation %s; reason \"%s\" (want \"%s\")", reg,
	      listed(d), dlist()->generation == g0 ? "same" : "changed", why, want ? want : "");
	if (!reg && !listed(d))
		printf("  reason: %s\n", why);
	_U_dyn_cancel(d);   /* not registered: a no-op */
}

static unw_dyn_region_info_t *one_op(int8_t tag, int16_t reg, int32_t when, unw_word_t val)
{
	unw_dyn_region_info_t *r = region(2, 16);
	r->op[0] = (unw_dyn_op_t){ tag, _U_QP_TRUE, reg, when, val };
	_U_dyn_op_stop(&r->op[1]);
	return r;
}

static void t_errors(void)
{
	uint64_t c = A(0x400);
	refused("err-op-tag", dyn(c, 16, "e", one_op(42, 0, 0, 0)), "tag");
	refused("err-add-not-sp", dyn(c, 16, "e", one_op(UNW_DYN_ADD, UNW_X86_64_RBX, 0, 8)),
		"ADD applies to rsp");
	refused("err-fp-rel-without-fp",
		dyn(c, 16, "e", one_op(UNW_DYN_SPILL_FP_REL, UNW_X86_64_RBX, 0, (unw_word_t)-16)),
		"frame pointer");
	refused("err-copy-unknown-label", dyn(c, 16, "e", one_op(UNW_DYN_COPY_STATE, 0, -1, 7)),
		"COPY_STATE");
	refused("err-when-past-region", dyn(c, 16, "e", one_op(UNW_DYN_ADD, UNW_X86_64_RSP, 16,
								  (unw_word_t)-8)), "when");
	refused("err-alias-outside", dyn(c, 16, "e", one_op(UNW_DYN_ALIAS, 0, 3, A(0x900))),
		"UNW_DYN_ALIAS");
	refused("err-regions-unmapped", dyn(c, 16, "e", (unw_dyn_region_info_t *)(uintptr_t)guard),
		"cannot be read");
	refused("err-name-unmapped", dyn(c, 16, (const char *)guard, NULL), "name_ptr");
	unw_dyn_region_info_t *cyc = region(1, 4);
	cyc->next = cyc;
	refused("err-region-cycle", dyn(c, 16, "e", cyc), "regions");
	/* ops running into the guard page: op_count says more than exists */
	unw_dyn_region_info_t *edge = (unw_dyn_region_info_t *)(void *)(guard - 16 - 2 * sizeof(unw_dyn_op_t));
	edge->next = NULL;
	edge->insn_count = 16;
	edge->op_count = 1000;
	edge->op[0] = (unw_dyn_op_t){ UNW_DYN_ADD, 0, UNW_X86_64_RSP, 0, (unw_word_t)-8 };
	edge->op[1] = (unw_dyn_op_t){ UNW_DYN_ADD, 0, UNW_X86_64_RSP, 1, (unw_word_t)-8 };
	refused("err-ops-past-mapping", dyn(c, 16, "e", edge), "cannot be read");
	/* the same ended by STOP is fine */
	edge->op_count = 2;
	unw_dyn_info_t *ok2 = dyn(c, 16, "edge_ok", edge);
	_U_dyn_register(ok2);
	CHECK("ops-up-to-op_count", registered(c) && listed(ok2), "%s", sw_jit_last_error());
	_U_dyn_cancel(ok2);

	unw_dyn_info_t *e = dyn(c, 0, "e", NULL);
	refused("err-empty-range", e, "empty");
	e = dyn(c, 16, "e", NULL);
	e->format = UNW_INFO_FORMAT_ARM_EXIDX;
	refused("err-format-arm", e, "ARM");
	e = dyn(c, 16, "e", NULL);
	e->format = 99;
	refused("err-format-unknown", e, "format 99");

	/* tables */
	static struct { int32_t start, fde; } tb[4];
	uint8_t *eh = page + 0xa00;
	size_t n = put_cie(eh);
	uint8_t *f = eh + n;
	gen_dyn_sp(page + 0x500);
	n += put_fde(eh + n, eh, page + 0x500, 27);
	uint64_t seg = A(0x500);
	unw_dyn_info_t *t = keep_calloc(sizeof(*t));
	t->start_ip = seg;
	t->end_ip = seg + 27;
	t->format = UNW_INFO_FORMAT_TABLE;
	t->u.ti.name_ptr = (unw_word_t)(uintptr_t)"bad_table";
	t->u.ti.segbase = seg;
	t->u.ti.table_len = 1;
	t->u.ti.table_data = (unw_word_t *)(void *)guard;
	refused("err-table-unmapped", t, "table_data");
	t->u.ti.table_data = (unw_word_t *)(void *)tb;
	t->u.ti.table_len = 0;
	refused("err-table-empty", t, "table_len");
	t->u.ti.table_len = 1;
	tb[0].start = 0;
	tb[0].fde = (int32_t)(A(0xf00) - seg);        /* zeros: length 0 */
	refused("err-table-fde-zero-length", t, "length");
	tb[0].fde = (int32_t)((uint64_t)(uintptr_t)guard - seg);
	refused("err-table-fde-unmapped", t, "cannot be read");
	tb[0].fde = (int32_t)((uint64_t)(uintptr_t)f - seg);
	t->end_ip = seg + 10;
	refused("err-table-fde-outside", t, "not inside");
	t->end_ip = seg + 27;
	tb[1] = tb[0];
	t->u.ti.table_len = 2;
	refused("err-table-unsorted", t, "sorted");
	t->u.ti.table_len = 1;
	/* an FDE whose CIE pointer leads to garbage (a copy of the FDE with a
	 * bad pointer) */
	uint8_t *g = page + 0xc00;
	memcpy(g, f, 32);
	uint32_t bogus = 8;     /* points 4 bytes before the FDE: into nothing */
	memset(g - 8, 0x11, 8);
	memcpy(g + 4, &bogus, 4);
	{
		int32_t rel;
		memcpy(&rel, f + 8, 4);
		rel += (int32_t)(f - g);
		memcpy(g + 8, &rel, 4);
	}
	tb[0].fde = (int32_t)((uint64_t)(uintptr_t)g - seg);
	refused("err-table-bad-cie", t, "table entry 0");
	/* garbage instructions in a valid FDE: the registry's parser */
	tb[0].fde = (int32_t)((uint64_t)(uintptr_t)f - seg);
	uint8_t save = f[17];   /* the first instruction */
	f[17] = 0x3f;           /* an undefined DW_CFA opcode */
	refused("err-table-bad-cfi", t, "sw_jit_add_eh_frame");
	f[17] = save;
	/* and now it is fine */
	_U_dyn_register(t);
	CHECK("table-after-errors", registered(seg) && listed(t) &&
	      !strcmp(name_at(seg + 3), "bad_table"), "%d %d %s (%s)", registered(seg), listed(t),
	      name_at(seg + 3), sw_jit_last_error());
	_U_dyn_cancel(t);
	CHECK("errors-leave-nothing", list_len() == 0, "list %d", list_len());
}

/* ---------------------------------------------------------------- misc */

static void t_misc(void)
{
	uint64_t c = A(0x600);
	unw_dyn_info_t *a = dyn(c, 32, "misc_a", NULL);
	_U_dyn_register(a);
	uint32_t g = dlist()->generation;
	_U_dyn_register(a);
	CHECK("double-register", listed(a) && list_len() == 1 && dlist()->generation == g &&
	      strstr(sw_jit_last_error(), "already registered") != NULL,
	      "list %d (%s)", list_len(), sw_jit_last_error());
	unw_dyn_info_t stranger;
	memset(&stranger, 0, sizeof stranger);
	_U_dyn_cancel(&stranger);
	_U_dyn_cancel(NULL);
	_U_dyn_register(NULL);
	CHECK("cancel-unknown", listed(a) && list_len() == 1 && dlist()->generation == g,
	      "list %d", list_len());

	unw_dyn_info_t *b = dyn(c + 16, 32, "misc_b", NULL);
	refused("overlap-refused", b, "overlap");
	/* the same start as a registered procedure: only listed */
	unw_dyn_info_t *same = dyn(c, 32, "misc_same", NULL);
	_U_dyn_register(same);
	CHECK("same-start-listed", listed(same) && !strcmp(name_at(c + 1), "misc_a"),
	      "listed %d name %s", listed(same), name_at(c + 1));
	_U_dyn_cancel(same);
	CHECK("listed-cancel-keeps", registered(c) && !listed(same), "registered %d",
	      registered(c));
	_U_dyn_cancel(a);
	CHECK("cancel-removes", !registered(c) && list_len() == 0, "list %d", list_len());

	/* code registered through stackwalk's own API, default publishers:
	 * the libunwind publisher must see that the process's _U_dyn_register
	 * is ours and publish nothing (no second listing, no deadlock) */
	struct sw_jit_proc p;
	memset(&p, 0, sizeof p);
	p.start = A(0x700);
	p.end = A(0x700) + 32;
	p.name = "sw_api_proc";
	p.kind = SW_JIT_UNWIND_FRAME;
	sw_jit_handle_t h;
	int rc = sw_jit_add_procs(&p, 1, &h);
	CHECK("publisher-no-loop", rc == 0 && list_len() == 0 && registered(A(0x700)),
	      "rc %d list %d (%s)", rc, list_len(), sw_jit_last_error());
	/* a JIT that registers the same code with both APIs: listed only */
	unw_dyn_info_t *both = dyn(A(0x700), 32, "both", NULL);
	_U_dyn_register(both);
	CHECK("both-apis-listed", listed(both) && !strcmp(name_at(A(0x701)), "sw_api_proc"),
	      "listed %d name %s", listed(both), name_at(A(0x701)));
	_U_dyn_cancel(both);
	CHECK("both-apis-cancel-keeps", registered(A(0x700)), "gone");
	sw_jit_remove(h);
}

/* ---------------------------------------------------------------- threads */

#define NTHREADS 4
static long iters = 2000;

static void *worker(void *arg)
{
	long t = (long)(intptr_t)arg, bad = 0;
	char nm[32];
	snprintf(nm, sizeof nm, "thr%ld", t);
	for (long i = 0; i < iters; i++) {
		uint64_t s = A(0x1000 + (size_t)t * 0x400 + (size_t)(i % 16) * 0x40);
		unw_dyn_info_t d;
		memset(&d, 0, sizeof d);
		d.start_ip = s;
		d.end_ip = s + 32;
		d.format = UNW_INFO_FORMAT_DYNAMIC;
		d.u.pi.name_ptr = (unw_word_t)(uintptr_t)nm;
		_U_dyn_register(&d);
		char buf[32];
		uint64_t off;
		if (sw_get_proc_name_by_pc(s + 4, buf, sizeof buf, &off) != 0 || strcmp(buf, nm))
			bad++;
		_U_dyn_cancel(&d);
		if (registered(s))
			bad++;
	}
	return (void *)(intptr_t)bad;
}

static void t_threads(void)
{
	pthread_t th[NTHREADS];
	uint32_t g0 = dlist()->generation;
	long bad = 0;
	for (long t = 0; t < NTHREADS; t++)
		pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t);
	for (long t = 0; t < NTHREADS; t++) {
		void *r;
		pthread_join(th[t], &r);
		bad += (long)(intptr_t)r;
	}
	CHECK("threads", bad == 0 && list_len() == 0 &&
	      dlist()->generation - g0 == (uint32_t)(2 * NTHREADS * iters),
	      "%ld bad lookups, list %d, generation +%u (want %ld)", bad, list_len(),
	      dlist()->generation - g0, 2 * NTHREADS * iters);
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	const char *m = getenv("SW_TEST_MODE");
	if (m && !strcmp(m, "quick"))
		iters = 300;
	page = mmap(NULL, 5 * pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (page == MAP_FAILED)
		return 2;
	guard = page + 4 * pg;
	mprotect(guard, pg, PROT_NONE);
	if (!strcmp(what, "valid") || !strcmp(what, "all"))
		t_valid();
	if (!strcmp(what, "ops") || !strcmp(what, "all"))
		t_ops();
	if (!strcmp(what, "errors") || !strcmp(what, "all"))
		t_errors();
	if (!strcmp(what, "misc") || !strcmp(what, "all"))
		t_misc();
	if (!strcmp(what, "threads") || !strcmp(what, "all"))
		t_threads();
	free_kept();
	return failures ? 1 : 0;
}
