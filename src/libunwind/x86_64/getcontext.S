/*
 * nongnu libunwind's x86-64 context functions, on glibc's ucontext_t
 * (unw_context_t; offsets in ucontext_offsets.h, checked by cursor.c):
 *
 *   int _Ux86_64_getcontext(ucontext_t *uc)
 *   swu_setcontext(const ucontext_t *uc)   (_Ux86_64_setcontext's body,
 *                                           does not return)
 *
 * No system call in any of them (nongnu's getcontext makes none either:
 * the signal mask is neither saved nor restored).
 */
#include "ucontext_offsets.h"

	.text

/*
 * _Ux86_64_getcontext: the caller's registers at the instruction after
 * the call: rax = 0 (what this call returns, so that resuming the context
 * returns 0 again, as glibc's setcontext makes getcontext do; nongnu
 * stores rax as it was at the call), every other general register as it
 * is at the call (the caller-saved ones hold whatever the caller left in
 * them), rsp as it is once this function has returned, rip = the return
 * address, rflags; uc_mcontext.fpregs points at the context's own
 * __fpregs_mem, which receives the x87/SSE state (fxsave).  uc_flags,
 * uc_link, uc_stack and uc_sigmask are not touched.  Returns 0.
 *
 * fxsave needs a 16-byte aligned buffer; ucontext_t is only 8-byte
 * aligned, so a context at an address that is 8 mod 16 is saved through
 * an aligned buffer on the stack and copied (512 bytes of this leaf's own
 * stack, below the red zone's use: nothing of the caller is written).
 */
	.globl	_Ux86_64_getcontext
	.type	_Ux86_64_getcontext, @function
	.p2align 4
_Ux86_64_getcontext:
	.cfi_startproc
	movq	$0, SWU_UC_RAX(%rdi)
	movq	%rbx, SWU_UC_RBX(%rdi)
	movq	%rcx, SWU_UC_RCX(%rdi)
	movq	%rdx, SWU_UC_RDX(%rdi)
	movq	%rsi, SWU_UC_RSI(%rdi)
	movq	%rdi, SWU_UC_RDI(%rdi)
	movq	%rbp, SWU_UC_RBP(%rdi)
	movq	%r8, SWU_UC_R8(%rdi)
	movq	%r9, SWU_UC_R9(%rdi)
	movq	%r10, SWU_UC_R10(%rdi)
	movq	%r11, SWU_UC_R11(%rdi)
	movq	%r12, SWU_UC_R12(%rdi)
	movq	%r13, SWU_UC_R13(%rdi)
	movq	%r14, SWU_UC_R14(%rdi)
	movq	%r15, SWU_UC_R15(%rdi)
	leaq	8(%rsp), %rax		/* rsp once we have returned */
	movq	%rax, SWU_UC_RSP(%rdi)
	movq	(%rsp), %rax		/* rip: our return address */
	movq	%rax, SWU_UC_RIP(%rdi)
	pushfq
	.cfi_adjust_cfa_offset 8
	popq	SWU_UC_EFL(%rdi)
	.cfi_adjust_cfa_offset -8
	leaq	SWU_UC_FPREGS_MEM(%rdi), %rax
	movq	%rax, SWU_UC_FPREGS_PTR(%rdi)
	testb	$15, %al
	jnz	1f
	fxsave	(%rax)
	xorl	%eax, %eax
	ret
1:	/* misaligned: through an aligned buffer on our stack */
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset %rbp, 0
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	subq	$SWU_FXSAVE_SIZE, %rsp
	andq	$-16, %rsp
	fxsave	(%rsp)
	movq	%rdi, %rdx		/* the context, kept */
	movq	%rax, %rdi		/* destination: __fpregs_mem */
	movq	%rsp, %rsi
	movl	$(SWU_FXSAVE_SIZE / 8), %ecx
	rep movsq			/* DF is clear at calls (psABI) */
	movq	%rdx, %rdi
	movq	SWU_UC_RCX(%rdi), %rcx	/* the caller's rcx, rsi, rdi: */
	movq	SWU_UC_RSI(%rdi), %rsi	/* caller-saved, but restored so */
	movq	%rbp, %rsp		/* that the only register this */
	.cfi_def_cfa_register %rsp	/* function changes is rax, as on */
	popq	%rbp			/* the aligned path (rdx aside) */
	.cfi_adjust_cfa_offset -8
	.cfi_restore %rbp
	movq	SWU_UC_RDX(%rdi), %rdx
	xorl	%eax, %eax
	ret
	.cfi_endproc
	.size	_Ux86_64_getcontext, .-_Ux86_64_getcontext

/*
 * swu_setcontext (cursor.c's _Ux86_64_setcontext, after telling ASan):
 * continue at uc's rip with every general register
 * of uc and rsp = uc's rsp; the x87/SSE state is loaded from
 * uc_mcontext.fpregs first when that is not NULL (fxrstor, through an
 * aligned copy when needed); rflags is not restored (its status flags are
 * dead across the call that made the context), nor is the signal mask
 * (nongnu's reloads uc_sigmask although its getcontext never stores it).
 *
 * Nothing the target frame owns is written: the target's rdi, rax and
 * rip go to three slots just below its 128-byte red zone (F = target rsp
 * - 152), rsp moves to F, and `pop; pop; ret $128` lands on the target
 * rsp.  Safe if a signal arrives at any instruction (the kernel writes
 * below rsp - 128): when F lies below the current rsp, rsp moves down to
 * F before anything is written; when it lies above, the slots are
 * written while still below-rsp-safe memory holds them (above rsp), and
 * every read of uc is done before rsp moves up past it.  (A context
 * stored within 152 bytes below its own rsp would be overwritten before
 * it is read: no context is, not the kernel's, whose register state lies
 * below the signal frame's fpstate area.)
 *
 * The CFI says at every instruction that the caller is the frame being
 * resumed, as stackwalk's own resume does: while rdi holds uc, every
 * register of the target is found through it (DW_OP_breg5), and the frame
 * is a signal frame ('S': the target rip is where it resumes).
 */
#define SLOTS 152			/* red zone + rdi, rax, rip */

/* DW_CFA_expression REG, [DW_OP_breg5 OFF]: register REG is at rdi + OFF
 * (OFF from 64 to 8191: a two-byte SLEB128) */
.macro CFI_AT_UC reg, off
	.cfi_escape 0x10, \reg, 3, 0x75, (\off & 0x7f) | 0x80, \off >> 7
.endm

	.globl	swu_setcontext
	.hidden	swu_setcontext		/* internal: not exported */
	.type	swu_setcontext, @function
	.p2align 4
swu_setcontext:
	.cfi_startproc
	.cfi_signal_frame
	/* DW_CFA_def_cfa_expression [DW_OP_breg5 SWU_UC_RSP; DW_OP_deref] */
	.cfi_escape 0x0f, 4, 0x75, (SWU_UC_RSP & 0x7f) | 0x80, SWU_UC_RSP >> 7, 0x06
	CFI_AT_UC 0, SWU_UC_RAX
	CFI_AT_UC 1, SWU_UC_RDX
	CFI_AT_UC 2, SWU_UC_RCX
	CFI_AT_UC 3, SWU_UC_RBX
	CFI_AT_UC 4, SWU_UC_RSI
	CFI_AT_UC 5, SWU_UC_RDI
	CFI_AT_UC 6, SWU_UC_RBP
	CFI_AT_UC 8, SWU_UC_R8
	CFI_AT_UC 9, SWU_UC_R9
	CFI_AT_UC 10, SWU_UC_R10
	CFI_AT_UC 11, SWU_UC_R11
	CFI_AT_UC 12, SWU_UC_R12
	CFI_AT_UC 13, SWU_UC_R13
	CFI_AT_UC 14, SWU_UC_R14
	CFI_AT_UC 15, SWU_UC_R15
	CFI_AT_UC 16, SWU_UC_RIP
	movq	SWU_UC_FPREGS_PTR(%rdi), %rax
	testq	%rax, %rax
	jz	2f
	testb	$15, %al
	jnz	1f
	fxrstor	(%rax)
	jmp	2f
1:	/* misaligned image: copied to an aligned buffer on our stack (rdi
	 * keeps uc: the CFI reads through it) */
	movq	%rsp, %r8
	subq	$SWU_FXSAVE_SIZE, %rsp
	andq	$-16, %rsp
	xorl	%ecx, %ecx
3:	movq	(%rax,%rcx), %rdx
	movq	%rdx, (%rsp,%rcx)
	addq	$8, %rcx
	cmpq	$SWU_FXSAVE_SIZE, %rcx
	jb	3b
	fxrstor	(%rsp)
	movq	%r8, %rsp
2:	movq	SWU_UC_RSP(%rdi), %rax
	subq	$SLOTS, %rax		/* F */
	cmpq	%rsp, %rax
	jae	4f
	movq	%rax, %rsp		/* F below us: take it first */
4:	movq	SWU_UC_RDI(%rdi), %rcx
	movq	%rcx, 0(%rax)
	movq	SWU_UC_RAX(%rdi), %rcx
	movq	%rcx, 8(%rax)
	movq	SWU_UC_RIP(%rdi), %rcx
	movq	%rcx, 16(%rax)
	movq	SWU_UC_RCX(%rdi), %rcx
	movq	SWU_UC_RDX(%rdi), %rdx
	movq	SWU_UC_RBX(%rdi), %rbx
	movq	SWU_UC_RSI(%rdi), %rsi
	movq	SWU_UC_RBP(%rdi), %rbp
	movq	SWU_UC_R8(%rdi), %r8
	movq	SWU_UC_R9(%rdi), %r9
	movq	SWU_UC_R10(%rdi), %r10
	movq	SWU_UC_R11(%rdi), %r11
	movq	SWU_UC_R12(%rdi), %r12
	movq	SWU_UC_R13(%rdi), %r13
	movq	SWU_UC_R14(%rdi), %r14
	movq	SWU_UC_R15(%rdi), %r15
	movq	%rax, %rsp		/* the last use of uc was above */
	.cfi_def_cfa %rsp, SLOTS
	.cfi_offset %rdi, -SLOTS
	.cfi_offset %rax, -SLOTS + 8
	.cfi_offset %rip, -SLOTS + 16
	.cfi_same_value %rdx
	.cfi_same_value %rcx
	.cfi_same_value %rbx
	.cfi_same_value %rsi
	.cfi_same_value %rbp
	.cfi_same_value %r8
	.cfi_same_value %r9
	.cfi_same_value %r10
	.cfi_same_value %r11
	.cfi_same_value %r12
	.cfi_same_value %r13
	.cfi_same_value %r14
	.cfi_same_value %r15
	popq	%rdi
	.cfi_adjust_cfa_offset -8
	.cfi_same_value %rdi
	popq	%rax
	.cfi_adjust_cfa_offset -8
	.cfi_same_value %rax
	ret	$(SLOTS - 24)		/* rip = target rip; rsp = target rsp */
	.cfi_endproc
	.size	swu_setcontext, .-swu_setcontext

	.section .note.GNU-stack,"",@progbits
