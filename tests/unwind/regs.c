/*
 * regs: register and frame accessors of the cursor.
 *
 * Two assembly frames with known registers sit between a C caller and the
 * C function that walks (leaf):
 *   C caller -> regs_outer -> regs_mid -> leaf     (the "mid" chain)
 *   C caller -> regs_outer -> regs_odd -> leaf     (the "odd" chain)
 * regs_outer and regs_mid keep a frame pointer, save every callee-saved
 * register with pushes and load distinct constants into them; regs_odd has
 * no frame pointer and rules the compiler rarely emits: r12 saved in rbx
 * (DW_CFA_register), r15 through DW_CFA_expression, r14 untouched.  They
 * record the values the checks need: SP and RBP at their call, the return
 * address they were called with, the C caller's callee-saved registers.
 *
 * Checked, exactly: each frame's IP, SP, RBP, RBX, R12-R15; SP after a step
 * is the CFA of the frame stepped out of; sw_get_cfa is the current frame's
 * CFA (header: "the SP value just before the call into this frame");
 * caller-saved registers give SW_EBADREG after a step; sw_is_signal_frame 0;
 * sw_step at the outermost frame returns SW_END_OF_STACK again and again;
 * sw_getcontext's snapshot (from assembly with known registers);
 * sw_set_reg/sw_get_reg; argument errors;
 * sw_get_proc_info: start/end of the assembly functions, source
 * SW_SRC_EH_FRAME_HDR, module_base, and for every frame of a walk the FDE,
 * start and LSDA libgcc finds; a C++ function with try/catch has a nonzero
 * LSDA and __gxx_personality_v0 as personality (regs_cxx.cc).
 */
#define _GNU_SOURCE
#include <link.h>
#include <ucontext.h>
#include <unwind.h>

#include "common.h"

/* ---------------------------------------------------------------- assembly frames */

uint64_t outer_ret, outer_sp, outer_rbp, outer_entry[6], mid_sp, mid_rbp, odd_sp, probe_sp;
int probe_rc;

__asm__(".text\n"
	".p2align 4\n"
	".globl regs_outer\n"
	".type regs_outer, @function\n"
	"regs_outer:\n"                        /* regs_outer(mid_fn, leaf_fn) */
	".cfi_startproc\n"
	"movq (%rsp), %rax\n"
	"movq %rax, outer_ret(%rip)\n"
	"movq %rbx, outer_entry+0(%rip)\n"
	"movq %rbp, outer_entry+8(%rip)\n"
	"movq %r12, outer_entry+16(%rip)\n"
	"movq %r13, outer_entry+24(%rip)\n"
	"movq %r14, outer_entry+32(%rip)\n"
	"movq %r15, outer_entry+40(%rip)\n"
	"pushq %rbp\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset %rbp, -16\n"
	"movq %rsp, %rbp\n"
	".cfi_def_cfa_register %rbp\n"
	"pushq %rbx\n"
	".cfi_offset %rbx, -24\n"
	"pushq %r12\n"
	".cfi_offset %r12, -32\n"
	"pushq %r13\n"
	".cfi_offset %r13, -40\n"
	"pushq %r14\n"
	".cfi_offset %r14, -48\n"
	"pushq %r15\n"
	".cfi_offset %r15, -56\n"
	"subq $8, %rsp\n"
	"movabsq $0x2222222222222203, %rbx\n"
	"movabsq $0x222222222222220c, %r12\n"
	"movabsq $0x222222222222220d, %r13\n"
	"movabsq $0x222222222222220e, %r14\n"
	"movabsq $0x222222222222220f, %r15\n"
	"movq %rsp, outer_sp(%rip)\n"
	"movq %rbp, outer_rbp(%rip)\n"
	"movq %rdi, %rax\n"
	"movq %rsi, %rdi\n"
	"call *%rax\n"
	".globl outer_ra\n"
	"outer_ra:\n"
	"leaq -40(%rbp), %rsp\n"
	"popq %r15\n"
	"popq %r14\n"
	"popq %r13\n"
	"popq %r12\n"
	"popq %rbx\n"
	"popq %rbp\n"
	".cfi_def_cfa %rsp, 8\n"
	"ret\n"
	".globl outer_end\n"
	"outer_end:\n"
	".cfi_endproc\n"
	".size regs_outer, .-regs_outer\n"

	".p2align 4\n"
	".globl regs_mid\n"
	".type regs_mid, @function\n"
	"regs_mid:\n"                          /* regs_mid(leaf_fn) */
	".cfi_startproc\n"
	"pushq %rbp\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset %rbp, -16\n"
	"movq %rsp, %rbp\n"
	".cfi_def_cfa_register %rbp\n"
	"pushq %rbx\n"
	".cfi_offset %rbx, -24\n"
	"pushq %r12\n"
	".cfi_offset %r12, -32\n"
	"pushq %r13\n"
	".cfi_offset %r13, -40\n"
	"pushq %r14\n"
	".cfi_offset %r14, -48\n"
	"pushq %r15\n"
	".cfi_offset %r15, -56\n"
	"subq $8, %rsp\n"
	"movabsq $0x1111111111111103, %rbx\n"
	"movabsq $0x111111111111110c, %r12\n"
	"movabsq $0x111111111111110d, %r13\n"
	"movabsq $0x111111111111110e, %r14\n"
	"movabsq $0x111111111111110f, %r15\n"
	"movq %rsp, mid_sp(%rip)\n"
	"movq %rbp, mid_rbp(%rip)\n"
	"call *%rdi\n"
	".globl mid_ra\n"
	"mid_ra:\n"
	"leaq -40(%rbp), %rsp\n"
	"popq %r15\n"
	"popq %r14\n"
	"popq %r13\n"
	"popq %r12\n"
	"popq %rbx\n"
	"popq %rbp\n"
	".cfi_def_cfa %rsp, 8\n"
	"ret\n"
	".globl mid_end\n"
	"mid_end:\n"
	".cfi_endproc\n"
	".size regs_mid, .-regs_mid\n"

	".p2align 4\n"
	".globl regs_odd\n"
	".type regs_odd, @function\n"
	"regs_odd:\n"                          /* regs_odd(leaf_fn) */
	".cfi_startproc\n"
	"pushq %rbx\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset %rbx, -16\n"
	"pushq %r13\n"
	".cfi_def_cfa_offset 24\n"
	".cfi_offset %r13, -24\n"
	"movq %r12, %rbx\n"
	".cfi_register %r12, %rbx\n"
	"subq $8, %rsp\n"
	".cfi_def_cfa_offset 32\n"
	"movq %r15, (%rsp)\n"
	".cfi_escape 0x10, 0x0f, 0x02, 0x77, 0x00\n"   /* DW_CFA_expression r15: DW_OP_breg7 0 */
	"movabsq $0x333333333333330c, %r12\n"
	"movabsq $0x333333333333330d, %r13\n"
	"movabsq $0x333333333333330f, %r15\n"
	"movq %rsp, odd_sp(%rip)\n"
	"call *%rdi\n"
	".globl odd_ra\n"
	"odd_ra:\n"
	"movq (%rsp), %r15\n"
	"addq $8, %rsp\n"
	".cfi_def_cfa_offset 24\n"
	"popq %r13\n"
	".cfi_def_cfa_offset 16\n"
	"movq %rbx, %r12\n"
	"popq %rbx\n"
	".cfi_def_cfa_offset 8\n"
	"ret\n"
	".globl odd_end\n"
	"odd_end:\n"
	".cfi_endproc\n"
	".size regs_odd, .-regs_odd\n"

	".p2align 4\n"
	".globl ctx_probe\n"
	".type ctx_probe, @function\n"
	"ctx_probe:\n"                         /* ctx_probe(sw_context_t *ctx) */
	".cfi_startproc\n"
	"pushq %rbp\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset %rbp, -16\n"
	"pushq %rbx\n"
	".cfi_def_cfa_offset 24\n"
	".cfi_offset %rbx, -24\n"
	"pushq %r12\n"
	".cfi_def_cfa_offset 32\n"
	".cfi_offset %r12, -32\n"
	"pushq %r13\n"
	".cfi_def_cfa_offset 40\n"
	".cfi_offset %r13, -40\n"
	"pushq %r14\n"
	".cfi_def_cfa_offset 48\n"
	".cfi_offset %r14, -48\n"
	"pushq %r15\n"
	".cfi_def_cfa_offset 56\n"
	".cfi_offset %r15, -56\n"
	"subq $8, %rsp\n"
	".cfi_def_cfa_offset 64\n"
	"movabsq $0x4444444444444403, %rbx\n"
	"movabsq $0x4444444444444406, %rbp\n"
	"movabsq $0x444444444444440c, %r12\n"
	"movabsq $0x444444444444440d, %r13\n"
	"movabsq $0x444444444444440e, %r14\n"
	"movabsq $0x444444444444440f, %r15\n"
	"movabsq $0x4444444444444400, %rax\n"   /* caller-saved registers: garbage */
	"movabsq $0x4444444444444401, %rdx\n"
	"movabsq $0x4444444444444402, %rcx\n"
	"movabsq $0x4444444444444404, %rsi\n"
	"movabsq $0x4444444444444408, %r8\n"
	"movabsq $0x4444444444444409, %r9\n"
	"movabsq $0x444444444444440a, %r10\n"
	"movabsq $0x444444444444440b, %r11\n"
	"movq %rsp, probe_sp(%rip)\n"
	"call sw_getcontext\n"
	".globl probe_ra\n"
	"probe_ra:\n"
	"movl %eax, probe_rc(%rip)\n"
	"addq $8, %rsp\n"
	".cfi_def_cfa_offset 56\n"
	"popq %r15\n"
	".cfi_def_cfa_offset 48\n"
	"popq %r14\n"
	".cfi_def_cfa_offset 40\n"
	"popq %r13\n"
	".cfi_def_cfa_offset 32\n"
	"popq %r12\n"
	".cfi_def_cfa_offset 24\n"
	"popq %rbx\n"
	".cfi_def_cfa_offset 16\n"
	"popq %rbp\n"
	".cfi_def_cfa_offset 8\n"
	"ret\n"
	".cfi_endproc\n"
	".size ctx_probe, .-ctx_probe\n");

void regs_outer(void (*mid)(void (*)(void)), void (*leaf)(void));
void regs_mid(void (*leaf)(void));
void regs_odd(void (*leaf)(void));
void outer_ra(void);
void outer_end(void);
void mid_ra(void);
void mid_end(void);
void odd_ra(void);
void odd_end(void);
void ctx_probe(sw_context_t *ctx);
void probe_ra(void);

#define A(f) ((uint64_t)(uintptr_t)(f))

/* the C++ side (regs_cxx.cc) */
int cxx_with_catch(void (*cb)(int), int x);
uint64_t cxx_personality(void);
uint64_t cxx_fn(void);

/* libgcc's FDE lookup */
struct dwarf_eh_bases {
	void *tbase, *dbase, *func;
};
extern const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

static const int caller_saved[] = { SW_REG_RAX, SW_REG_RDX, SW_REG_RCX, SW_REG_RSI, SW_REG_RDI,
				    SW_REG_R8, SW_REG_R9, SW_REG_R10, SW_REG_R11 };
static const char *const reg_names[SW_REG_COUNT] = {
	"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip",
};

static uint64_t exe_base;

static int first_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(uint64_t *)arg = (uint64_t)info->dlpi_addr;
	return 1;
}

static void expect_reg(const char *where, sw_cursor_t *cur, int reg, uint64_t want)
{
	uint64_t v = 0;
	int rc = sw_get_reg(cur, reg, &v);

	CHECK_EQ(rc, 0, "%s: sw_get_reg(%s)", where, reg_names[reg]);
	if (rc == 0)
		CHECK_EQ(v, want, "%s: %s", where, reg_names[reg]);
}

static void expect_caller_saved_bad(const char *where, sw_cursor_t *cur)
{
	for (unsigned i = 0; i < sizeof(caller_saved) / sizeof(caller_saved[0]); i++) {
		uint64_t v = 0x5a5a;
		CHECK_EQ(sw_get_reg(cur, caller_saved[i], &v), SW_EBADREG, "%s: sw_get_reg(%s)", where,
			 reg_names[caller_saved[i]]);
		CHECK_EQ(v, 0x5a5a, "%s: sw_get_reg(%s) left the output alone", where,
			 reg_names[caller_saved[i]]);
	}
}

static void expect_proc(const char *where, sw_cursor_t *cur, uint64_t start, uint64_t end)
{
	struct sw_proc_info pi;
	struct dwarf_eh_bases bases;
	uint64_t ip = sw_get_ip(cur);
	const void *fde = _Unwind_Find_FDE((void *)(uintptr_t)(ip - 1), &bases);

	CHECK_EQ(sw_get_proc_info(cur, &pi), 0, "%s: sw_get_proc_info", where);
	CHECK_EQ(pi.start, start, "%s: proc start", where);
	CHECK_EQ(pi.end, end, "%s: proc end", where);
	CHECK_EQ(pi.lsda, 0, "%s: no LSDA", where);
	CHECK_EQ(pi.personality, 0, "%s: no personality", where);
	CHECK_EQ(pi.fde, A(fde), "%s: the FDE libgcc finds", where);
	CHECK_EQ(pi.module_base, exe_base, "%s: module base (the executable's load bias)", where);
	CHECK_EQ(pi.source, SW_SRC_EH_FRAME_HDR, "%s: source", where);
}

/* ---------------------------------------------------------------- the walks */

enum { CHAIN_MID, CHAIN_ODD };
static int chain;

/* What a frame must hold. */
struct frame_expect {
	const char *name;
	uint64_t ip, sp, cfa;          /* cfa: this frame's CFA (0: not checked) */
	uint64_t rbx, rbp, r12, r13, r14, r15;
	uint64_t start, end;           /* procedure; 0: not checked */
};

static void check_frame(sw_cursor_t *cur, const struct frame_expect *f)
{
	CHECK_EQ(sw_get_ip(cur), f->ip, "%s: IP", f->name);
	CHECK_EQ(sw_get_sp(cur), f->sp, "%s: SP", f->name);
	expect_reg(f->name, cur, SW_REG_RIP, f->ip);
	expect_reg(f->name, cur, SW_REG_RSP, f->sp);
	expect_reg(f->name, cur, SW_REG_RBX, f->rbx);
	expect_reg(f->name, cur, SW_REG_RBP, f->rbp);
	expect_reg(f->name, cur, SW_REG_R12, f->r12);
	expect_reg(f->name, cur, SW_REG_R13, f->r13);
	expect_reg(f->name, cur, SW_REG_R14, f->r14);
	expect_reg(f->name, cur, SW_REG_R15, f->r15);
	expect_caller_saved_bad(f->name, cur);
	CHECK_EQ(sw_is_signal_frame(cur), 0, "%s: not a signal frame", f->name);
	if (f->cfa)
		CHECK_EQ(sw_get_cfa(cur), f->cfa,
			 "%s: sw_get_cfa is this frame's CFA (the SP before the call into it)", f->name);
	if (f->start)
		expect_proc(f->name, cur, f->start, f->end);
}

/* a register of a snapshot (sw_context_t is opaque) */
static uint64_t ctx_reg(const sw_context_t *ctx, int reg)
{
	uint64_t v = 0;

	CHECK_EQ(sw_context_get_reg(ctx, reg, &v), 0, "sw_context_get_reg(%s)", reg_names[reg]);
	return v;
}

NOINLINE static void leaf(void)
{
	sw_context_t ctx;
	sw_cursor_t cur;
	uint64_t fa = A(__builtin_frame_address(0));
	const char *cn = chain == CHAIN_MID ? "mid chain" : "odd chain";
	int rc;

	memset(&ctx, 0x5a, sizeof(ctx));
	CHECK_EQ(sw_getcontext(&ctx), 0, "sw_getcontext's result");
	/* the snapshot */
	CHECK_EQ(ctx_reg(&ctx, SW_REG_RBP), fa, "%s: sw_getcontext: rbp is leaf's frame pointer", cn);
	CHECK(ctx_reg(&ctx, SW_REG_RSP) < fa && fa - ctx_reg(&ctx, SW_REG_RSP) < 4096,
	      "%s: sw_getcontext: rsp %#" PRIx64 " just below the frame pointer %#" PRIx64, cn,
	      ctx_reg(&ctx, SW_REG_RSP), fa);

	CHECK_EQ(sw_init_local(&cur, &ctx), 0, "sw_init_local");
	CHECK_EQ(sw_get_ip(&cur), ctx_reg(&ctx, SW_REG_RIP), "%s: frame 0's IP", cn);
	CHECK_EQ(sw_get_sp(&cur), ctx_reg(&ctx, SW_REG_RSP), "%s: frame 0's SP", cn);
	/* leaf keeps a frame pointer (it takes __builtin_frame_address), so
	 * its CFA, the SP before the call into it, is rbp + 16 */
	CHECK_EQ(sw_get_cfa(&cur), fa + 16, "%s: frame 0's CFA is its frame pointer + 16", cn);
	CHECK_EQ(sw_is_signal_frame(&cur), 0, "%s: frame 0 is not a signal frame", cn);
	expect_reg(cn, &cur, SW_REG_RBP, fa);
	{
		struct sw_proc_info pi;
		CHECK_EQ(sw_get_proc_info(&cur, &pi), 0, "%s: frame 0's proc info", cn);
		CHECK_EQ(pi.start, A(leaf), "%s: frame 0 is in leaf", cn);
		CHECK_EQ(pi.source, SW_SRC_EH_FRAME_HDR, "%s: frame 0's source", cn);
		CHECK_EQ(pi.module_base, exe_base, "%s: frame 0's module base", cn);
	}

	struct frame_expect f1, f2, f3;
	if (chain == CHAIN_MID) {
		f1 = (struct frame_expect){ "regs_mid", A(mid_ra), mid_sp, mid_rbp + 16,
					    0x1111111111111103ull, mid_rbp, 0x111111111111110cull,
					    0x111111111111110dull, 0x111111111111110eull,
					    0x111111111111110full, A(regs_mid), A(mid_end) };
	} else {
		f1 = (struct frame_expect){ "regs_odd", A(odd_ra), odd_sp, odd_sp + 32,
					    0x222222222222220cull, outer_rbp, 0x333333333333330cull,
					    0x333333333333330dull, 0x222222222222220eull,
					    0x333333333333330full, A(regs_odd), A(odd_end) };
	}
	f2 = (struct frame_expect){ "regs_outer", A(outer_ra), outer_sp, outer_rbp + 16,
				    0x2222222222222203ull, outer_rbp, 0x222222222222220cull,
				    0x222222222222220dull, 0x222222222222220eull, 0x222222222222220full,
				    A(regs_outer), A(outer_end) };
	f3 = (struct frame_expect){ "regs_outer's C caller", outer_ret, outer_rbp + 16, 0,
				    outer_entry[0], outer_entry[1], outer_entry[2], outer_entry[3],
				    outer_entry[4], outer_entry[5], 0, 0 };

	/* frame 0 -> 1: SP after the step is the CFA of leaf = f1.sp */
	uint64_t cfa_before = sw_get_cfa(&cur);
	rc = sw_step(&cur);
	CHECK_EQ(rc, 0, "%s: step to %s", cn, f1.name);
	(void)cfa_before;
	check_frame(&cur, &f1);

	cfa_before = sw_get_cfa(&cur);
	rc = sw_step(&cur);
	CHECK_EQ(rc, 0, "%s: step to regs_outer", cn);
	CHECK_EQ(sw_get_sp(&cur), cfa_before,
		 "%s: SP after the step = the CFA sw_get_cfa gave on %s", cn, f1.name);
	CHECK_EQ(sw_get_sp(&cur), f1.cfa, "%s: SP after the step = %s's CFA", cn, f1.name);
	check_frame(&cur, &f2);

	cfa_before = sw_get_cfa(&cur);
	rc = sw_step(&cur);
	CHECK_EQ(rc, 0, "%s: step to regs_outer's caller", cn);
	CHECK_EQ(sw_get_sp(&cur), cfa_before,
		 "%s: SP after the step = the CFA sw_get_cfa gave on regs_outer", cn);
	check_frame(&cur, &f3);

	/* on to the end, which repeats */
	int frames = 4;
	while ((rc = sw_step(&cur)) == 0 && frames < 1000) {
		frames++;
		expect_caller_saved_bad(cn, &cur);
	}
	CHECK_EQ(rc, SW_END_OF_STACK, "%s: the walk ends at the outermost frame (%d frames)", cn, frames);
	uint64_t end_ip = sw_get_ip(&cur), end_sp = sw_get_sp(&cur);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(sw_step(&cur), SW_END_OF_STACK, "%s: stepping again at the end (%d)", cn, i + 1);
		CHECK_EQ(sw_get_ip(&cur), end_ip, "%s: the cursor stays at the end (IP)", cn);
		CHECK_EQ(sw_get_sp(&cur), end_sp, "%s: the cursor stays at the end (SP)", cn);
	}
}

/* sw_getcontext's snapshot, taken from assembly with known registers */
static void getcontext_snapshot(void)
{
	sw_context_t ctx;
	static const struct { int reg; uint64_t want; } want[] = {
		{ SW_REG_RBX, 0x4444444444444403ull }, { SW_REG_RBP, 0x4444444444444406ull },
		{ SW_REG_R12, 0x444444444444440cull }, { SW_REG_R13, 0x444444444444440dull },
		{ SW_REG_R14, 0x444444444444440eull }, { SW_REG_R15, 0x444444444444440full },
	};

	memset(&ctx, 0x5a, sizeof(ctx));
	ctx_probe(&ctx);
	CHECK_EQ(probe_rc, 0, "sw_getcontext's result");
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK_EQ(ctx_reg(&ctx, want[i].reg), want[i].want, "sw_getcontext: %s", reg_names[want[i].reg]);
	CHECK_EQ(ctx_reg(&ctx, SW_REG_RSP), probe_sp, "sw_getcontext: rsp once it has returned");
	CHECK_EQ(ctx_reg(&ctx, SW_REG_RIP), A(probe_ra), "sw_getcontext: rip = its return address");
	for (unsigned i = 0; i < sizeof(caller_saved) / sizeof(caller_saved[0]); i++)
		CHECK_EQ(ctx_reg(&ctx, caller_saved[i]), 0,
			 "sw_getcontext: caller-saved %s reads 0 (header: \"caller-saved ones read 0\")",
			 reg_names[caller_saved[i]]);
}

/* sw_set_reg / sw_get_reg and argument errors */
NOINLINE static void reg_api(void)
{
	sw_context_t ctx;
	sw_cursor_t cur;
	uint64_t v = 0;
	ucontext_t uc;
	void *pcs[4];
	struct sw_proc_info pi;

	sw_getcontext(&ctx);
	CHECK_EQ(sw_init_local(&cur, &ctx), 0, "sw_init_local");
	CHECK_EQ(sw_step(&cur), 0, "one step");
	CHECK_EQ(sw_set_reg(&cur, SW_REG_RAX, 0x1234), 0, "sw_set_reg(rax)");
	CHECK_EQ(sw_get_reg(&cur, SW_REG_RAX, &v), 0, "sw_get_reg(rax) after sw_set_reg");
	CHECK_EQ(v, 0x1234, "rax as set");
	CHECK_EQ(sw_set_reg(&cur, SW_REG_R11, 77), 0, "sw_set_reg(r11)");
	CHECK_EQ(sw_get_reg(&cur, SW_REG_R11, &v), 0, "sw_get_reg(r11)");
	CHECK_EQ(v, 77, "r11 as set");
	CHECK_EQ(sw_get_reg(&cur, SW_REG_RDX, &v), SW_EBADREG, "an unset caller-saved register");
	CHECK_EQ(sw_set_reg(&cur, SW_REG_RBX, 0xb0b), 0, "sw_set_reg(rbx)");
	CHECK_EQ(sw_get_reg(&cur, SW_REG_RBX, &v), 0, "sw_get_reg(rbx)");
	CHECK_EQ(v, 0xb0b, "rbx as set");
	CHECK_EQ(sw_set_reg(&cur, SW_REG_IP, 0x1000), 0, "sw_set_reg(ip)");
	CHECK_EQ(sw_get_ip(&cur), 0x1000, "sw_get_ip after sw_set_reg(ip)");
	CHECK_EQ(sw_get_proc_info(&cur, &pi), SW_ENOTFOUND, "sw_get_proc_info at an IP in no module");
	CHECK_EQ(sw_set_reg(&cur, SW_REG_SP, 0x7000), 0, "sw_set_reg(sp)");
	CHECK_EQ(sw_get_sp(&cur), 0x7000, "sw_get_sp after sw_set_reg(sp)");

	/* register numbers and pointers */
	CHECK_EQ(sw_get_reg(&cur, SW_REG_COUNT, &v), SW_EBADREG, "sw_get_reg(17)");
	CHECK_EQ(sw_get_reg(&cur, 1000, &v), SW_EBADREG, "sw_get_reg(1000)");
	CHECK_EQ(sw_set_reg(&cur, SW_REG_COUNT, 1), SW_EBADREG, "sw_set_reg(17)");
	int neg = sw_get_reg(&cur, -1, &v);
	CHECK(neg == SW_EBADREG || neg == SW_EINVAL, "sw_get_reg(-1): %s", t_status(neg));
	neg = sw_set_reg(&cur, -1, 1);
	CHECK(neg == SW_EBADREG || neg == SW_EINVAL, "sw_set_reg(-1): %s", t_status(neg));
	CHECK_EQ(sw_get_reg(&cur, SW_REG_RBX, NULL), SW_EINVAL, "sw_get_reg(.., NULL)");
	CHECK_EQ(sw_init_local(NULL, &ctx), SW_EINVAL, "sw_init_local(NULL, ctx)");
	CHECK_EQ(sw_init_local(&cur, NULL), SW_EINVAL, "sw_init_local(cursor, NULL)");
	memset(&uc, 0, sizeof(uc));
	CHECK_EQ(sw_init_ucontext(NULL, &uc), SW_EINVAL, "sw_init_ucontext(NULL, uc)");
	CHECK_EQ(sw_init_ucontext(&cur, NULL), SW_EINVAL, "sw_init_ucontext(cursor, NULL)");
	CHECK_EQ(sw_backtrace_ucontext(NULL, pcs, 4), SW_EINVAL, "sw_backtrace_ucontext(NULL, ..)");
	CHECK_EQ(sw_backtrace_ucontext(&uc, NULL, 4), SW_EINVAL, "sw_backtrace_ucontext(uc, NULL, 4)");
	CHECK_EQ(sw_backtrace_ucontext(&uc, pcs, 0), 0, "sw_backtrace_ucontext(uc, pcs, 0)");
	CHECK_EQ(sw_backtrace(pcs, -1), SW_EINVAL, "sw_backtrace(pcs, -1)");

	/* a context made by hand: zero-filled, then set */
	memset(&ctx, 0, sizeof(ctx));
	for (int r = 0; r < SW_REG_COUNT; r++) {
		CHECK_EQ(sw_context_get_reg(&ctx, r, &v), 0, "sw_context_get_reg(%s)", reg_names[r]);
		CHECK_EQ(v, 0, "a zero-filled context's %s", reg_names[r]);
		CHECK_EQ(sw_context_set_reg(&ctx, r, 0x100u + (uint64_t)r), 0, "sw_context_set_reg(%s)",
			 reg_names[r]);
	}
	for (int r = 0; r < SW_REG_COUNT; r++)
		CHECK_EQ(ctx_reg(&ctx, r), 0x100u + (uint64_t)r, "%s as set in the context", reg_names[r]);
	CHECK_EQ(sw_init_local(&cur, &ctx), 0, "sw_init_local on a hand-made context");
	CHECK_EQ(sw_get_ip(&cur), 0x100u + SW_REG_IP, "the hand-made context's IP");
	CHECK_EQ(sw_get_sp(&cur), 0x100u + SW_REG_SP, "the hand-made context's SP");
	CHECK_EQ(sw_get_reg(&cur, SW_REG_R12, &v), 0, "the hand-made context's r12");
	CHECK_EQ(v, 0x100u + SW_REG_R12, "r12 from the hand-made context");
	CHECK_EQ(sw_context_get_reg(&ctx, SW_REG_COUNT, &v), SW_EBADREG, "sw_context_get_reg(17)");
	CHECK_EQ(sw_context_get_reg(&ctx, -1, &v), SW_EBADREG, "sw_context_get_reg(-1)");
	CHECK_EQ(sw_context_set_reg(&ctx, SW_REG_COUNT, 1), SW_EBADREG, "sw_context_set_reg(17)");
	CHECK_EQ(sw_context_set_reg(&ctx, -1, 1), SW_EBADREG, "sw_context_set_reg(-1)");
	CHECK_EQ(sw_context_get_reg(NULL, SW_REG_IP, &v), SW_EINVAL, "sw_context_get_reg(NULL, ..)");
	CHECK_EQ(sw_context_get_reg(&ctx, SW_REG_IP, NULL), SW_EINVAL, "sw_context_get_reg(.., NULL)");
	CHECK_EQ(sw_context_set_reg(NULL, SW_REG_IP, 1), SW_EINVAL, "sw_context_set_reg(NULL, ..)");

	/* output structs: the reserved words come back zeroed */
	memset(&pi, 0xa5, sizeof(pi));
	sw_getcontext(&ctx);
	CHECK_EQ(sw_init_local(&cur, &ctx), 0, "sw_init_local");
	CHECK_EQ(sw_get_proc_info(&cur, &pi), 0, "sw_get_proc_info in reg_api");
	CHECK_EQ(pi.reserved32, 0, "sw_proc_info.reserved32 is 0");
	for (unsigned i = 0; i < sizeof(pi.reserved) / sizeof(pi.reserved[0]); i++)
		CHECK_EQ(pi.reserved[i], 0, "sw_proc_info.reserved[%u] is 0", i);
	struct sw_stats st;
	memset(&st, 0xa5, sizeof(st));
	CHECK_EQ(sw_get_stats(&st), 0, "sw_get_stats");
	for (unsigned i = 0; i < sizeof(st.reserved) / sizeof(st.reserved[0]); i++)
		CHECK_EQ(st.reserved[i], 0, "sw_stats.reserved[%u] is 0", i);
}

/* ---------------------------------------------------------------- proc info vs libgcc */

#define MAXF 64

struct ug_frame {
	uint64_t ip, start, lsda;
};

struct ugf_state {
	struct ug_frame *f;
	int n, max;
};

static _Unwind_Reason_Code ugf_cb(struct _Unwind_Context *ctx, void *arg)
{
	struct ugf_state *s = arg;

	if (s->n >= s->max)
		return _URC_NORMAL_STOP;
	s->f[s->n].ip = (uint64_t)_Unwind_GetIP(ctx);
	s->f[s->n].start = (uint64_t)_Unwind_GetRegionStart(ctx);
	s->f[s->n].lsda = (uint64_t)_Unwind_GetLanguageSpecificData(ctx);
	s->n++;
	return _URC_NO_REASON;
}

static int cxx_frames_seen;

/* Called from the C++ function inside its try block. */
NOINLINE static void from_cxx(int x)
{
	struct ug_frame ug[MAXF];
	struct ugf_state st = { ug, 0, MAXF };
	sw_context_t ctx;
	sw_cursor_t cur;
	int k = 0, rc;

	_Unwind_Backtrace(ugf_cb, &st);
	if (st.n > 0 && ug[st.n - 1].ip == 0)
		st.n--;
	sw_getcontext(&ctx);
	sw_init_local(&cur, &ctx);
	do {
		struct sw_proc_info pi;
		struct dwarf_eh_bases bases;
		uint64_t ip = sw_get_ip(&cur);
		const void *fde = _Unwind_Find_FDE((void *)(uintptr_t)(ip - 1), &bases);
		rc = sw_get_proc_info(&cur, &pi);
		CHECK_EQ(rc, 0, "frame %d: sw_get_proc_info", k);
		CHECK_EQ(pi.fde, A(fde), "frame %d (IP %#" PRIx64 "): the FDE libgcc finds", k, ip);
		CHECK_EQ(pi.start, A(bases.func), "frame %d: start = libgcc's", k);
		CHECK(pi.start <= ip - 1 && ip - 1 < pi.end, "frame %d: IP - 1 in [start, end)", k);
		if (k < st.n) {
			/* frame 0: a different call site in the same function */
			if (k > 0)
				CHECK_EQ(ip, ug[k].ip, "frame %d: the same frame as libgcc's", k);
			CHECK_EQ(pi.start, ug[k].start, "frame %d: _Unwind_GetRegionStart", k);
			CHECK_EQ(pi.lsda, ug[k].lsda, "frame %d: _Unwind_GetLanguageSpecificData", k);
		}
		if (pi.start == cxx_fn()) {
			cxx_frames_seen++;
			CHECK(pi.lsda != 0, "the C++ function with try/catch has an LSDA");
			CHECK_EQ(pi.personality, cxx_personality(), "its personality is __gxx_personality_v0");
		} else if (pi.start == A(from_cxx)) {
			CHECK_EQ(pi.lsda, 0, "the C function has no LSDA");
			CHECK_EQ(pi.personality, 0, "the C function has no personality");
		}
		k++;
	} while ((rc = sw_step(&cur)) == 0 && k < MAXF);
	CHECK_EQ(rc, SW_END_OF_STACK, "the walk from C++ ends at the outermost frame");
	CHECK_EQ(k, st.n, "frames: stackwalk %d, libgcc %d", k, st.n);
	(void)x;
}

int main(void)
{
	dl_iterate_phdr(first_module, &exe_base);
	sw_init();

	getcontext_snapshot();
	chain = CHAIN_MID;
	regs_outer(regs_mid, leaf);
	chain = CHAIN_ODD;
	regs_outer(regs_odd, leaf);
	reg_api();

	CHECK_EQ(cxx_with_catch(from_cxx, 3), 3, "the C++ function's normal return");
	CHECK_EQ(cxx_frames_seen, 1, "the walk went through the C++ frame");
	CHECK_EQ(cxx_with_catch(from_cxx, -1), -1, "C++ exceptions work in this program");
	return t_finish("regs");
}
