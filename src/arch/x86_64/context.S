/*
 * x86-64 register capture and resume.
 *
 * The context (struct sw_context_impl, context.h: the library's view of
 * the opaque sw_context_t) is 17 64-bit slots in DWARF register order
 * (rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip) followed by a flags word;
 * offsets below are slot * 8.  context_layout.h names them (SW_CTX_*) and
 * context_layout.c checks each against the C layout with offsetof and
 * _Static_assert; keep the numbers here equal to those names (or use them:
 * this file goes through the preprocessor and may include the header).
 */
	.text

/*
 * int sw_getcontext(struct sw_context *ctx)
 *
 * Captures the caller's state at the instruction after the call: the
 * callee-saved registers (rbx rbp r12-r15), rsp as it is after this
 * function returns, and rip = the return address.  Caller-saved registers
 * are dead across a call, so they are stored as 0 rather than left
 * uninitialised.  No syscall, no stack writes; returns 0.
 */
	.globl	sw_getcontext
	.type	sw_getcontext, @function
	.p2align 4
sw_getcontext:
	.cfi_startproc
	movq	$0, 0(%rdi)		/* rax */
	movq	$0, 8(%rdi)		/* rdx */
	movq	$0, 16(%rdi)		/* rcx */
	movq	%rbx, 24(%rdi)
	movq	$0, 32(%rdi)		/* rsi */
	movq	$0, 40(%rdi)		/* rdi */
	movq	%rbp, 48(%rdi)
	leaq	8(%rsp), %rax		/* rsp once we have returned */
	movq	%rax, 56(%rdi)
	movq	$0, 64(%rdi)		/* r8 */
	movq	$0, 72(%rdi)		/* r9 */
	movq	$0, 80(%rdi)		/* r10 */
	movq	$0, 88(%rdi)		/* r11 */
	movq	%r12, 96(%rdi)
	movq	%r13, 104(%rdi)
	movq	%r14, 112(%rdi)
	movq	%r15, 120(%rdi)
	movq	(%rsp), %rax		/* rip: our return address */
	movq	%rax, 128(%rdi)
	movq	$0, 136(%rdi)		/* flags */
	xorl	%eax, %eax
	ret
	.cfi_endproc
	.size	sw_getcontext, .-sw_getcontext

/*
 * void sw_arch_resume(const struct sw_context *ctx)   (noreturn)
 *
 * Loads every general register from ctx and continues at ctx->rip with
 * rsp = ctx->rsp.  Vector registers are left as they are.
 *
 * Async-signal-correct at every instruction: a signal handler may run on
 * this stack between any two instructions and writes its frame below the
 * stack pointer, where ctx may lie (it is usually a local of the caller,
 * and the target rsp is above it).  So every read of ctx comes first, into
 * registers (rax and rcx wait in xmm0/xmm1, the target rip in rcx); only
 * then does rsp move, to one slot below the target's 128-byte red zone,
 * where the target rip is stored; `ret $128` pops it and lands exactly on
 * the target rsp.  Nothing the target owns is written: not its red zone,
 * not the slots above.
 *
 * The CFI says at every instruction that the caller is the frame being
 * resumed (a sampled walk from here continues there, as the code will),
 * and marks this a signal frame ('S'): the target's rip is where it
 * resumes, not a return address.  Until rdi is overwritten, every
 * register of the target is found through ctx (DW_OP_breg5); afterwards
 * the registers hold the target's values, the CFA is rax + 136 and then
 * rsp + 136, and the rip is in rcx and then at the top of the stack.
 */
#define RESUME_SLOT	136		/* 128-byte red zone + the rip slot */

/* DW_CFA_expression REG, [DW_OP_breg5 OFF]: register REG is at rdi + OFF */
.macro CFI_AT_CTX reg, off
	.if \off < 64
	.cfi_escape 0x10, \reg, 2, 0x75, \off
	.else
	.cfi_escape 0x10, \reg, 3, 0x75, (\off & 0x7f) | 0x80, \off >> 7
	.endif
.endm

	.globl	sw_arch_resume
	.hidden	sw_arch_resume		/* internal: not exported by the .so */
	.type	sw_arch_resume, @function
	.p2align 4
sw_arch_resume:
	.cfi_startproc
	.cfi_signal_frame
	/* DW_CFA_def_cfa_expression [DW_OP_breg5 56; DW_OP_deref]: the target rsp */
	.cfi_escape 0x0f, 3, 0x75, 56, 0x06
	CFI_AT_CTX 0, 0			/* rax */
	CFI_AT_CTX 1, 8			/* rdx */
	CFI_AT_CTX 2, 16		/* rcx */
	CFI_AT_CTX 3, 24		/* rbx */
	CFI_AT_CTX 4, 32		/* rsi */
	CFI_AT_CTX 5, 40		/* rdi */
	CFI_AT_CTX 6, 48		/* rbp */
	CFI_AT_CTX 8, 64
	CFI_AT_CTX 9, 72
	CFI_AT_CTX 10, 80
	CFI_AT_CTX 11, 88
	CFI_AT_CTX 12, 96
	CFI_AT_CTX 13, 104
	CFI_AT_CTX 14, 112
	CFI_AT_CTX 15, 120
	CFI_AT_CTX 16, 128		/* rip */
	movq	0(%rdi), %xmm0		/* target rax */
	movq	16(%rdi), %xmm1		/* target rcx */
	movq	56(%rdi), %rax
	subq	$RESUME_SLOT, %rax	/* the new rsp */
	movq	128(%rdi), %rcx		/* target rip */
	movq	8(%rdi), %rdx
	movq	24(%rdi), %rbx
	movq	32(%rdi), %rsi
	movq	48(%rdi), %rbp
	movq	64(%rdi), %r8
	movq	72(%rdi), %r9
	movq	80(%rdi), %r10
	movq	88(%rdi), %r11
	movq	96(%rdi), %r12
	movq	104(%rdi), %r13
	movq	112(%rdi), %r14
	movq	120(%rdi), %r15
	movq	40(%rdi), %rdi		/* the last read of ctx */
	.cfi_def_cfa %rax, RESUME_SLOT
	.cfi_register %rip, %rcx
	.cfi_undefined %rax		/* in xmm0 */
	.cfi_undefined %rcx		/* in xmm1 */
	.cfi_same_value %rdx
	.cfi_same_value %rbx
	.cfi_same_value %rsi
	.cfi_same_value %rdi
	.cfi_same_value %rbp
	.cfi_same_value %r8
	.cfi_same_value %r9
	.cfi_same_value %r10
	.cfi_same_value %r11
	.cfi_same_value %r12
	.cfi_same_value %r13
	.cfi_same_value %r14
	.cfi_same_value %r15
	movq	%rax, %rsp
	.cfi_def_cfa_register %rsp
	movq	%rcx, (%rsp)
	.cfi_offset %rip, -RESUME_SLOT
	movq	%xmm1, %rcx
	.cfi_same_value %rcx
	movq	%xmm0, %rax
	.cfi_same_value %rax
	ret	$(RESUME_SLOT - 8)	/* rip = target rip; rsp = target rsp */
	.cfi_endproc
	.size	sw_arch_resume, .-sw_arch_resume

	.section .note.GNU-stack,"",@progbits
