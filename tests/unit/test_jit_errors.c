/*
 * What a JIT author gets back when a call fails: the right SW_E* code and,
 * from sw_jit_last_error, a reason that names the function, the field
 * (procs[i].u.frame.frame_size, ...) and the offending value.  Every
 * validation failure of the registry, the descriptor converters and the
 * CFI builder is fed once; each case checks the code and that the reason
 * contains the field.  tests/scripts/jit_reasons.sh checks that no
 * SW_EINVAL leaves src/jit without a reason.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "../harness.h"

/* The registry never reads code: these addresses need not be mapped. */
#define BASE 0x7d0000000000ull

static uint32_t epi_last;

/* A standard frame (push rbp; mov rbp, rsp ... pop rbp; ret at the end). */
static struct sw_jit_proc frame_proc(uint64_t start, uint64_t len, const char *name)
{
	struct sw_jit_proc p;

	memset(&p, 0, sizeof(p));
	p.start = start;
	p.end = start + len;
	p.name = name;
	p.kind = SW_JIT_UNWIND_FRAME;
	p.u.frame.flags = SW_JIT_FRAME_FP;
	epi_last = (uint32_t)len - 1;
	p.u.frame.nepilogues = 1;
	p.u.frame.epilogues = &epi_last;
	return p;
}

/* ------------------------------------------------------------ names */

static int cb_unnamed(void *arg, uint64_t pc, struct sw_jit_proc *out)
{
	(void)arg;
	*out = frame_proc(pc & ~(uint64_t)0xff, 0x100, NULL);
	return 0;
}

TEST(get_name_without_a_name_is_enoname)
{
	struct sw_jit_proc p[2] = {
		frame_proc(BASE + 0x000, 0x40, "named"),
		frame_proc(BASE + 0x040, 0x40, NULL),
	};
	sw_jit_handle_t h = 0, t = 0, c = 0;
	char name[32];
	uint64_t off = 0;

	CHECK_EQ(sw_jit_add_procs(p, 2, &h), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x45, name, sizeof(name), &off), SW_ENONAME);
	CHECK_STR(name, "");
	CHECK_STR(sw_strerror(SW_ENONAME), "procedure has no name");
	CHECK_EQ(sw_jit_get_name(BASE + 0x5, name, sizeof(name), &off), 0);
	CHECK_STR(name, "named");
	/* no procedure at all stays SW_ENOTFOUND */
	CHECK_EQ(sw_jit_get_name(BASE + 0x85, name, sizeof(name), &off), SW_ENOTFOUND);

	/* the same for a table's procedure and a callback's answer */
	CHECK_EQ(sw_jit_table_create(BASE + 0x1000, BASE + 0x2000, 4, &t), 0);
	struct sw_jit_proc q = frame_proc(BASE + 0x1000, 0x40, NULL);
	CHECK_EQ(sw_jit_table_append(t, &q, 1), 0);
	CHECK_EQ(sw_jit_table_publish(t), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x1001, name, sizeof(name), &off), SW_ENONAME);
	CHECK_EQ(sw_jit_get_name(BASE + 0x1801, name, sizeof(name), &off), SW_ENOTFOUND);
	CHECK_EQ(sw_jit_add_callback(BASE + 0x2000, BASE + 0x3000, cb_unnamed, NULL, &c), 0);
	CHECK_EQ(sw_jit_get_name(BASE + 0x2101, name, sizeof(name), &off), SW_ENONAME);

	CHECK_EQ(sw_jit_remove(h), 0);
	CHECK_EQ(sw_jit_remove(t), 0);
	CHECK_EQ(sw_jit_remove(c), 0);
}

SW_TEST_MAIN
