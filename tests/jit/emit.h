/*
 * emit — a small x86-64 machine-code emitter for the JIT registry tests
 * (tests/jit/jit_*.c) and the JIT benchmark (bench/jit_bench.c includes
 * tests/jit/emit.c).
 *
 * It generates functions with the C signature
 *
 *     uint64_t fn(uint64_t arg);
 *
 * into an mmap'ed read-write-execute buffer, and records for each one what
 * every registration form of <stackwalk/jit.h> needs: the standard-frame
 * descriptor (struct sw_jit_frame), DWARF CFI instructions (struct
 * sw_jit_cfi, written by hand), a libunwind-dynamic region list (struct
 * sw_jit_dyn_region) and, on request, .eh_frame bytes (the CFI builder).
 * Every description is exact at every instruction.
 *
 * Layout of a generated function (only the canonical encodings documented
 * for struct sw_jit_frame are used in prologues and epilogues):
 *
 *   prologue  [push rbp; mov rbp, rsp]            spec.fp
 *             push saved[0] ... push saved[n-1]
 *             [sub rsp, frame_size]                imm8 when <= 127, else imm32
 *   body      [mov [rsp+off], rsp ...]             frames > 4 KiB: every page
 *                                                  touched, top-down
 *             mov saved[i], tag(saved[i]) ...      recognisable values (.tag[])
 *             [mov ecx, spin; 1: dec ecx; jnz 1b]  spec.spin > 0
 *             mov rax, target; call rax            EMIT_CALL_C
 *          |  call rel32                           EMIT_CALL_JIT
 *          |  mov rax, rdi                         EMIT_LEAF: returns arg
 *             [test al, 1; jnz epilogue2]          spec.two_epilogues: the
 *                                                  second one runs when the
 *                                                  return value is odd
 *   epilogue  without fp: [add rsp, frame_size]; pop saved[n-1..0]; ret
 *             with fp:    leave; ret                          (nsaved == 0)
 *                         lea rsp, [rbp - 8*nsaved]; pops; pop rbp; ret
 *   [epilogue2] the same bytes without fp; with fp:
 *             [add rsp, frame_size]; pops; pop rbp; ret
 *
 * rdi (the argument) is passed unchanged to the callee; rax, rcx and the
 * flags are clobbered; the saved registers are restored.  The stack is
 * 16-byte aligned at the call (frame_size is rounded up for that).
 *
 * Thread-safety: an emit_buf and an emit_fn are used by one thread at a
 * time; generated code may run in any thread.  Not async-signal-safe
 * (emit_fn allocates the region list).
 */
#ifndef SW_TEST_JIT_EMIT_H
#define SW_TEST_JIT_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

/* A code buffer: one mmap'ed RWX mapping, filled from the start. */
struct emit_buf {
	uint8_t *base;            /* the mapping */
	size_t size;              /* its size in bytes */
	size_t used;              /* bytes generated so far */
};

/*
 * emit_buf_init - map `size` bytes (rounded up to pages) read-write-execute,
 * at `hint` if possible (0: anywhere).  Returns 0, or -1 (mmap failed).
 * emit_buf_free - unmap (the struct is zeroed).
 */
int emit_buf_init(struct emit_buf *b, size_t size, uint64_t hint);
void emit_buf_free(struct emit_buf *b);

/* emit_spec.call */
enum emit_call {
	EMIT_LEAF = 0,            /* returns its argument */
	EMIT_CALL_C = 1,          /* mov rax, imm64; call rax: any address */
	EMIT_CALL_JIT = 2,        /* call rel32: target within +-2 GiB */
};

#define EMIT_MAX_SAVED 5          /* rbx, r12..r15 (or rbp without fp) */
#define EMIT_MAX_EPILOGUES 2
#define EMIT_MAX_CFI 256          /* bytes of hand-written CFI per function */
#define EMIT_NAME_MAX 48

/* What to generate. */
struct emit_spec {
	const char *name;         /* copied (truncated to EMIT_NAME_MAX - 1) */
	int fp;                   /* push rbp; mov rbp, rsp */
	uint8_t nsaved;           /* 0..EMIT_MAX_SAVED */
	uint8_t saved[EMIT_MAX_SAVED];   /* DWARF numbers, push order: SW_REG_RBX,
					  * SW_REG_R12..R15, SW_REG_RBP (only
					  * without fp); each at most once */
	uint32_t frame_size;      /* bytes below the pushes; rounded up to a
				   * multiple of 8, and by 8 more when the
				   * function calls and rsp would be misaligned */
	int call;                 /* enum emit_call */
	uint64_t target;          /* the callee (EMIT_CALL_C / EMIT_CALL_JIT) */
	int two_epilogues;        /* a second epilogue (taken for odd results) */
	uint32_t spin;            /* iterations of a countdown loop before the
				   * call (or the leaf's return), 0: none */
};

/* A generated function and its descriptions.  Addresses are absolute. */
struct emit_fn {
	char name[EMIT_NAME_MAX];
	struct emit_spec spec;    /* as generated (frame_size rounded; name -> .name) */
	uint64_t start, end;      /* the code [start, end) */
	uint32_t body;            /* code offset of the first body instruction */
	uint32_t call_ret;        /* code offset of the return address of its
				   * call (0 for a leaf) */
	uint32_t nepilogues;
	uint32_t epilogue_start[EMIT_MAX_EPILOGUES];   /* code offsets */
	uint32_t epilogues[EMIT_MAX_EPILOGUES];        /* offsets of each `ret` */
	uint64_t tag[SW_REG_COUNT];   /* value the body puts into each saved
				       * register (by DWARF number), 0 if none */

	/* Descriptions, ready to be pointed at by a struct sw_jit_proc (see
	 * emit_proc).  .frame.epilogues points into this struct. */
	struct sw_jit_frame frame;
	uint8_t cfi[EMIT_MAX_CFI];    /* DWARF CFI instructions (struct sw_jit_cfi) */
	size_t cfi_len;
	struct sw_jit_dyn_region *dyn;   /* malloc'ed list, freed by emit_fn_free */
};

/*
 * emit_fn - generate one function at the buffer's current position (16-byte
 * aligned) and fill *out.  Returns 0, or -1 (the buffer is full, a bad
 * spec, a call target out of rel32 range, out of memory).
 */
int emit_fn(struct emit_buf *b, const struct emit_spec *spec, struct emit_fn *out);

/* emit_fn_free - free what emit_fn allocated (the region list). */
void emit_fn_free(struct emit_fn *f);

/*
 * emit_relocate - the function's code was copied by `delta` bytes (all of a
 * chain by the same delta keeps its rel32 calls valid): update start/end
 * and the addresses inside the descriptions (SW_DYN_ALIAS).  Returns 0 or -1.
 */
int emit_relocate(struct emit_fn *f, int64_t delta);

/*
 * emit_proc - fill *out to register f with `kind` (enum
 * sw_jit_unwind_kind); the descriptions stay in *f, which must outlive the
 * registration call (lazy callbacks: the registration).  Returns 0 or -1.
 */
int emit_proc(const struct emit_fn *f, int kind, struct sw_jit_proc *out);

/*
 * emit_eh_frame - .eh_frame bytes (CFI builder: one CIE, one FDE per
 * function in the given order, terminator) for n functions, pointers
 * encoded with `ptr_mode` (enum sw_cfi_b_ptr_mode) for bytes used at
 * `eh_addr`.  buf == NULL measures.  Returns the size or a negative SW_E*.
 */
int emit_eh_frame(const struct emit_fn *const *fns, size_t n, void *buf, size_t size,
		  uint64_t eh_addr, int ptr_mode);

/*
 * emit_shape - a spec for the i-th of a cycle of EMIT_SHAPES varied shapes
 * (with and without fp, saved-register subsets and orders, frame sizes 0,
 * 8, 120, 128, 1000, 8200, one or two epilogues), with call and target
 * still EMIT_LEAF / 0 and the given name.
 */
#define EMIT_SHAPES 12
void emit_shape(size_t i, const char *name, struct emit_spec *out);

/*
 * emit_chain - n >= 1 functions fns[0] -> fns[1] -> ... -> fns[n-1] (rel32
 * calls), each of shape emit_shape(i, "jit_f<i>"); fns[n-1] calls the C
 * function `leaf` (uint64_t leaf(uint64_t)) or, when leaf == 0, is itself a
 * leaf.  Call fns[0].start with the argument.  spin as in emit_spec, for
 * every function.  Returns 0 or -1 (free with emit_fn_free on each).
 */
int emit_chain(struct emit_buf *b, struct emit_fn *fns, size_t n, uint64_t leaf, uint32_t spin);

#endif /* SW_TEST_JIT_EMIT_H */
