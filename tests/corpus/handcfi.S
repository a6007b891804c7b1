/*
 * Hand-written CFI for the readelf comparison: what compilers rarely emit
 * but assembly does — a signal-frame CIE, remember/restore state, register
 * and val_offset rules, CFA and register expressions (.cfi_escape), a
 * zero-length advance, undefined rip.  Assembled twice: with .eh_frame and
 * (-DDEBUG_FRAME) with .debug_frame, where GNU as writes the "S"
 * augmentation without "z".
 */
#ifdef DEBUG_FRAME
	.cfi_sections .debug_frame
#endif
	.text
	.globl	hand_signal
	.type	hand_signal, @function
hand_signal:
	.cfi_startproc
	.cfi_signal_frame
	nop
	.cfi_escape 0x0f, 0x03, 0x77, 0xa0, 0x01	/* CFA = [rsp + 160] */
	nop
	.cfi_escape 0x10, 0x03, 0x02, 0x77, 0x20	/* rbx at rsp + 32 */
	nop
	ret
	.cfi_endproc
	.size	hand_signal, .-hand_signal

	.globl	hand_states
	.type	hand_states, @function
hand_states:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	pushq	%rbx
	.cfi_offset %rbx, -24
	.cfi_register %r12, %r13
	.cfi_val_offset %r14, -8
	testq	%rdi, %rdi
	je	1f
	.cfi_remember_state
	popq	%rbx
	.cfi_restore %rbx
	popq	%rbp
	.cfi_def_cfa %rsp, 8
	ret
1:
	.cfi_restore_state
	.cfi_same_value %r12
	.cfi_undefined %rip
	nop
	ud2
	.cfi_endproc
	.size	hand_states, .-hand_states

	.section .note.GNU-stack,"",@progbits
