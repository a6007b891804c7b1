/*
 * struct sw_jit_proc can grow (<stackwalk/jit.h>, "Growing struct
 * sw_jit_proc"): an array of the oldest, 80-byte layout (declared here
 * as a binary built against that header had it) still registers, is
 * found, named and unwound through; a larger future layout with a zero
 * tail works and a non-zero tail is refused; a size below the minimum is
 * SW_EINVAL; the unsized symbols keep today's 104-byte layout; a sized
 * callback is told the size of the struct it fills.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "../harness.h"

/* The registry never reads code: these addresses need not be mapped. */
#define BASE 0x7e1000000000ull

/* struct sw_jit_proc before the line fields (80 bytes). */
struct old_proc {
	uint64_t start, end;
	const char *name;
	int kind;
	uint64_t personality;
	uint64_t lsda;
	union {
		struct sw_jit_frame frame;
		struct sw_jit_cfi cfi;
		const struct sw_jit_dyn_region *dyn;
	} u;
};
_Static_assert(sizeof(struct old_proc) == SW_JIT_PROC_SIZE_MIN, "the 80-byte layout");

/* A later layout: today's fields and two more. */
struct future_proc {
	struct sw_jit_proc p;
	uint64_t new_field[2];
};

static const uint32_t last_byte = 0x3f;

static void frame_fp(struct sw_jit_frame *f)
{
	f->flags = SW_JIT_FRAME_FP;
	f->nepilogues = 1;
	f->epilogues = &last_byte;  /* the ret is the last byte */
}

/* Step once from pc inside an SW_JIT_FRAME_FP body: rbp points at the
 * saved rbp, the return address above it.  Returns the caller's pc. */
static uint64_t unwind_once(uint64_t pc, uint64_t *sp_after)
{
	static uint64_t stack[4];
	sw_context_t ctx;
	sw_cursor_t c;
	uint64_t ip = 0, sp = 0;

	stack[0] = 0x1111;                      /* the caller's rbp */
	stack[1] = BASE + 0x5000;               /* the return address */
	memset(&ctx, 0, sizeof(ctx));
	sw_context_set_reg(&ctx, SW_REG_RIP, pc);
	sw_context_set_reg(&ctx, SW_REG_RBP, (uint64_t)(uintptr_t)&stack[0]);
	sw_context_set_reg(&ctx, SW_REG_RSP, (uint64_t)(uintptr_t)&stack[0]);
	if (sw_init_local(&c, &ctx) != 0 || sw_step(&c) != 0)
		return 0;
	sw_get_reg(&c, SW_REG_IP, &ip);
	sw_get_reg(&c, SW_REG_SP, &sp);
	*sp_after = sp - (uint64_t)(uintptr_t)&stack[0];
	return ip;
}

TEST(old_80_byte_array_registers_names_unwinds)
{
	struct old_proc v[2];
	sw_jit_handle_t h = 0;
	struct sw_jit_found f;
	char name[32];
	uint64_t off, sp = 0;

	memset(v, 0, sizeof(v));
	for (int i = 0; i < 2; i++) {
		v[i].start = BASE + 0x40 * (uint64_t)i;
		v[i].end = v[i].start + 0x40;
		v[i].kind = SW_JIT_UNWIND_FRAME;
		frame_fp(&v[i].u.frame);
	}
	v[0].name = "old_zero";
	v[1].name = "old_one";
	CHECK_EQ(sw_jit_add_procs_sized(v, 2, sizeof(v[0]), &h), 0);
	/* element 1 is found where an 80-byte stride puts it (a 104-byte
	 * stride would read garbage there) */
	CHECK_EQ(sw_jit_lookup(BASE + 0x48, &f), 0);
	CHECK_EQ(f.start, BASE + 0x40);
	CHECK_EQ(f.end, BASE + 0x80);
	CHECK_EQ(sw_jit_get_name(BASE + 0x48, name, sizeof(name), &off), 0);
	CHECK_STR(name, "old_one");
	CHECK_EQ(off, 8);
	CHECK_EQ(unwind_once(BASE + 0x50, &sp), BASE + 0x5000);
	CHECK_EQ(sp, 16);                       /* CFA = rbp + 16 */
	CHECK_EQ(sw_jit_remove(h), 0);
}

TEST(future_size_with_zero_tail)
{
	struct future_proc v[2];
	sw_jit_handle_t h = 0, t = 0;
	char name[32];
	uint64_t off, sp = 0;

	memset(v, 0, sizeof(v));
	for (int i = 0; i < 2; i++) {
		v[i].p.start = BASE + 0x1000 + 0x40 * (uint64_t)i;
		v[i].p.end = v[i].p.start + 0x40;
		v[i].p.kind = SW_JIT_UNWIND_FRAME;
		v[i].p.name = i ? "future_one" : "future_zero";
		frame_fp(&v[i].p.u.frame);
	}
	CHECK_EQ(sw_jit_add_procs_sized(v, 2, sizeof(v[0]), &h), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x1044, name, sizeof(name), &off), 0);
	CHECK_STR(name, "future_one");
	CHECK_EQ(unwind_once(BASE + 0x1050, &sp), BASE + 0x5000);
	CHECK_EQ(sw_jit_remove(h), 0);

	/* a field this library does not know, set: refused, with a reason */
	v[1].new_field[1] = 1;
	CHECK_EQ(sw_jit_add_procs_sized(v, 2, sizeof(v[0]), &h), SW_EINVAL);
	CHECK(strstr(sw_jit_last_error(), "procs[1]") != NULL);
	v[1].new_field[1] = 0;

	/* tables take the same sizes */
	CHECK_EQ(sw_jit_table_create(BASE + 0x2000, BASE + 0x3000, 4, &t), 0);
	for (int i = 0; i < 2; i++) {
		v[i].p.start += 0x1000;
		v[i].p.end += 0x1000;
	}
	CHECK_EQ(sw_jit_table_append_sized(t, v, 2, sizeof(v[0])), 0);
	CHECK_EQ(sw_jit_table_publish(t), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x2044, name, sizeof(name), &off), 0);
	CHECK_STR(name, "future_one");
	struct old_proc o;
	memset(&o, 0, sizeof(o));
	o.start = BASE + 0x2100;
	o.end = BASE + 0x2140;
	o.name = "old_in_table";
	o.kind = SW_JIT_UNWIND_FRAME;
	frame_fp(&o.u.frame);
	CHECK_EQ(sw_jit_table_append_sized(t, &o, 1, sizeof(o)), 0);
	CHECK_EQ(sw_jit_table_publish(t), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x2110, name, sizeof(name), &off), 0);
	CHECK_STR(name, "old_in_table");
	CHECK_EQ(unwind_once(BASE + 0x2110, &sp), BASE + 0x5000);
	CHECK_EQ(sw_jit_remove(t), 0);
}

TEST(size_below_minimum_is_einval)
{
	struct sw_jit_proc p;
	sw_jit_handle_t h = 0;

	memset(&p, 0, sizeof(p));
	p.start = BASE + 0x4000;
	p.end = BASE + 0x4040;
	p.kind = SW_JIT_UNWIND_FRAME;
	frame_fp(&p.u.frame);
	CHECK_EQ(sw_jit_add_procs_sized(&p, 1, SW_JIT_PROC_SIZE_MIN - 8, &h), SW_EINVAL);
	CHECK(strstr(sw_jit_last_error(), "elem_size") != NULL);
	CHECK_EQ(sw_jit_add_procs_sized(&p, 1, 0, &h), SW_EINVAL);
	CHECK_EQ(sw_jit_table_append_sized(1, &p, 1, 16), SW_EINVAL);
	/* the minimum itself is fine */
	CHECK_EQ(sw_jit_add_procs_sized(&p, 1, SW_JIT_PROC_SIZE_MIN, &h), 0);
	CHECK_EQ(sw_jit_remove(h), 0);
}

TEST(unsized_symbols_keep_the_104_byte_layout)
{
	/* what binaries built before the macros call: the functions
	 * themselves (parentheses suppress the macros) */
	struct sw_jit_proc v[2];
	sw_jit_handle_t h = 0;
	char name[32];
	uint64_t off;

	CHECK_EQ(sizeof(struct sw_jit_proc), SW_JIT_PROC_SIZE_V2);
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 2; i++) {
		v[i].start = BASE + 0x6000 + 0x40 * (uint64_t)i;
		v[i].end = v[i].start + 0x40;
		v[i].kind = SW_JIT_UNWIND_FRAME;
		frame_fp(&v[i].u.frame);
	}
	v[1].name = "v2_one";
	CHECK_EQ((sw_jit_add_procs)(v, 2, &h), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x6041, name, sizeof(name), &off), 0);
	CHECK_STR(name, "v2_one");
	CHECK_EQ(sw_jit_remove(h), 0);
}

static size_t told_size;

static int sized_answer(void *arg, uint64_t pc, struct sw_jit_proc *out, size_t out_size)
{
	(void)arg;
	told_size = out_size;
	/* a callback built against an older header fills its 80 bytes only */
	struct old_proc o;
	memset(&o, 0, sizeof(o));
	o.start = pc & ~(uint64_t)0x3f;
	o.end = o.start + 0x40;
	o.name = "sized_cb";
	o.kind = SW_JIT_UNWIND_FRAME;
	frame_fp(&o.u.frame);
	memcpy(out, &o, sizeof(o) < out_size ? sizeof(o) : out_size);
	return 0;
}

TEST(sized_callback_is_told_the_size)
{
	sw_jit_handle_t h = 0;
	char name[32];
	uint64_t off, sp = 0;

	CHECK_EQ(sw_jit_add_callback_sized(BASE + 0x8000, BASE + 0x9000, sized_answer, NULL, &h), 0);
	CHECK_EQ(sw_jit_add_callback_sized(BASE + 0xa000, BASE + 0xb000, NULL, NULL, &h), SW_EINVAL);
	CHECK_EQ(sw_jit_get_name(BASE + 0x8050, name, sizeof(name), &off), 0);
	CHECK_STR(name, "sized_cb");
	CHECK_EQ(off, 0x10);
	CHECK_EQ(told_size, sizeof(struct sw_jit_proc));
	CHECK_EQ(unwind_once(BASE + 0x8050, &sp), BASE + 0x5000);
	CHECK_EQ(sw_jit_remove(h), 0);
}

SW_TEST_MAIN
