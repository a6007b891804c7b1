/*
 * unw_backtrace(buffer, size), its other name backtrace (nongnu exports
 * both: a program linked with -lunwind gets libunwind's backtrace instead
 * of glibc's), and unw_backtrace2(buffer, size, uc, flag) with uc NULL:
 * stackwalk's sw_backtrace entered by a tail jump, so that the trace is
 * the caller's: buffer[0] is the return address into the function that
 * called unw_backtrace, then the return addresses above it, as nongnu's
 * (and glibc's backtrace) are.  sw_backtrace is lock-free, allocates
 * nothing and reads the rule cache (src/unwind/backtrace.c).
 *
 * size <= 0 (or buffer NULL) gives 0 here, as nongnu's does, instead of
 * sw_backtrace's SW_EINVAL.  sw_backtrace cannot fail otherwise: its
 * first step is out of its own frame, which has CFI, so it returns at
 * least 1 and never a negative count.
 *
 * unw_backtrace2 with a context goes to backtrace.c (swu_backtrace_uc).
 */
	.text

	.globl	unw_backtrace
	.type	unw_backtrace, @function
	.weak	backtrace
	.type	backtrace, @function
	.p2align 4
unw_backtrace:
backtrace:
.Lbacktrace:
	.cfi_startproc
	testq	%rdi, %rdi
	jz	1f
	testl	%esi, %esi
	jle	1f
	jmp	sw_backtrace@PLT
1:	xorl	%eax, %eax
	ret
	.cfi_endproc
	.size	unw_backtrace, .-unw_backtrace
	.size	backtrace, .-backtrace

	.globl	unw_backtrace2
	.type	unw_backtrace2, @function
	.p2align 4
unw_backtrace2:
	.cfi_startproc
	testq	%rdx, %rdx
	jz	.Lbacktrace		/* a local name: no PLT */
	jmp	swu_backtrace_uc
	.cfi_endproc
	.size	unw_backtrace2, .-unw_backtrace2

	.section .note.GNU-stack,"",@progbits
