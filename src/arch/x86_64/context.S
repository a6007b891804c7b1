/*
 * x86-64 register capture and resume.
 *
 * struct sw_context is 17 64-bit slots in DWARF register order
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
 * rsp = ctx->rsp.  rdi and rip travel through two slots just below the
 * target rsp (dead stack there: the frame being resumed owns everything
 * above rsp only), so the final `ret` both sets rip and leaves rsp exact.
 */
	.globl	sw_arch_resume
	.type	sw_arch_resume, @function
	.p2align 4
sw_arch_resume:
	.cfi_startproc
	movq	56(%rdi), %rax		/* target rsp */
	subq	$16, %rax
	movq	40(%rdi), %rcx		/* target rdi */
	movq	%rcx, 0(%rax)
	movq	128(%rdi), %rcx		/* target rip */
	movq	%rcx, 8(%rax)
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
	movq	16(%rdi), %rcx
	movq	%rax, %rsp		/* target rsp - 16 */
	movq	0(%rdi), %rax
	popq	%rdi			/* target rdi; rsp = target - 8 */
	ret				/* rip = target rip; rsp = target */
	.cfi_endproc
	.size	sw_arch_resume, .-sw_arch_resume

	.section .note.GNU-stack,"",@progbits
