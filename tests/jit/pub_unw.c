/*
 * pub_unw: SW_JIT_PUB_LIBUNWIND against nongnu libunwind (linked with
 * -lunwind).
 *
 * main -> run_chain (C) -> jit_f0 -> ... -> jit_f11 (generated, the 12
 * shapes of emit_shape, registered with each eager and table form while
 * the libunwind publisher is on: a default publisher, no publisher call)
 * -> on_leaf (C).  In on_leaf:
 *   - unw_backtrace: the return address of every JIT frame in order, then
 *     run_chain's frame, and it goes on to main;
 *   - a unw_step loop from unw_getcontext: the same frames, and
 *     unw_get_proc_name gives each JIT function's name and offset, then
 *     run_chain and main;
 * with an even and an odd argument (each epilogue).  While registered,
 * libunwind's dynamic list (_U_dyn_info_list) covers the code; after
 * sw_jit_remove it does not.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "jit_common.c"

extern unw_word_t _U_dyn_info_list_addr(void);

#define NFNS 12
#define MAXF 128

static struct emit_fn fns[NFNS];
static int cur_form;
static uint64_t run_chain_ret;       /* return address into run_chain */

NOINLINE static uint64_t on_leaf(uint64_t arg)
{
	void *pcs[MAXF], *ref[MAXF];
	int nref = sw_backtrace(ref, MAXF);
	int n = unw_backtrace(pcs, MAXF);
	int k = 0;

	/* run_chain's return address: the frame after jit_f0 in stackwalk's
	 * own (separately tested) backtrace */
	run_chain_ret = 0;
	for (int i = 0; i + 1 < nref; i++)
		if ((uint64_t)ref[i] == fns[0].start + fns[0].call_ret)
			run_chain_ret = (uint64_t)ref[i + 1];
	CHECK(run_chain_ret != 0, "sw_backtrace passes jit_f0");

	/* find our own frame, then the JIT frames must follow in order */
	while (k < n && (uint64_t)pcs[k] != fns[NFNS - 1].start + fns[NFNS - 1].call_ret)
		k++;
	CHECK(k < n, "[%s] unw_backtrace: jit_f11's return address not found (%d frames)",
	      form_names[cur_form], n);
	for (int j = NFNS - 1; j >= 0 && k < n; j--, k++)
		CHECK_EQ((uint64_t)pcs[k], fns[j].start + fns[j].call_ret,
			 "[%s] unw_backtrace frame of %s\n", form_names[cur_form], fns[j].name);
	CHECK(k < n && (uint64_t)pcs[k] == run_chain_ret,
	      "[%s] unw_backtrace: run_chain after jit_f0", form_names[cur_form]);

	/* the cursor walk with names */
	unw_context_t uc;
	unw_cursor_t c;
	unw_getcontext(&uc);
	CHECK_EQ(unw_init_local(&c, &uc), 0, "unw_init_local\n");
	char name[128];
	unw_word_t off, ip;
	int j = NFNS - 1, seen_main = 0, steps = 0, rc;
	bool in_jit = false;
	do {
		unw_get_reg(&c, UNW_REG_IP, &ip);
		rc = unw_get_proc_name(&c, name, sizeof name, &off);
		if (!in_jit && ip == fns[NFNS - 1].start + fns[NFNS - 1].call_ret)
			in_jit = true;
		if (in_jit && j >= 0) {
			CHECK_EQ(ip, fns[j].start + fns[j].call_ret, "[%s] unw_step frame %s\n",
				 form_names[cur_form], fns[j].name);
			CHECK(rc == 0 && strcmp(name, fns[j].name) == 0 && off == fns[j].call_ret,
			      "[%s] unw_get_proc_name of %s: rc %d, %s+%#lx", form_names[cur_form],
			      fns[j].name, rc, rc == 0 ? name : "", (unsigned long)off);
			j--;
		} else if (in_jit && j == -1) {
			CHECK(rc == 0 && strcmp(name, "run_chain") == 0,
			      "[%s] after jit_f0: %s", form_names[cur_form], rc == 0 ? name : "?");
			j--;
		}
		if (rc == 0 && strcmp(name, "main") == 0)
			seen_main = 1;
	} while (unw_step(&c) > 0 && ++steps < MAXF);
	CHECK(in_jit && j < -1, "[%s] unw_step: JIT frames reached (%d left)", form_names[cur_form],
	      j + 2);
	CHECK(seen_main, "[%s] unw_step reaches main", form_names[cur_form]);
	return arg;
}

__attribute__((noipa)) static uint64_t run_chain(uint64_t arg)
{
	uint64_t (*f)(uint64_t) = (uint64_t (*)(uint64_t))(uintptr_t)fns[0].start;
	uint64_t r = f(arg);
	__asm__ __volatile__("" ::: "memory");   /* keep the call a call */
	return r + 1;
}

/* Does an entry of libunwind's dynamic list (_U_dyn_info_list) cover pc? */
static bool dyn_covers(uint64_t pc)
{
	unw_dyn_info_list_t *l = (unw_dyn_info_list_t *)(uintptr_t)_U_dyn_info_list_addr();
	for (unw_dyn_info_t *d = l->first; d; d = d->next)
		if (pc >= d->start_ip && pc < d->end_ip)
			return true;
	return false;
}

int main(void)
{
	struct emit_buf b;
	if (emit_buf_init(&b, 1 << 20, 0) != 0 ||
	    emit_chain(&b, fns, NFNS, (uint64_t)(uintptr_t)on_leaf, 0) != 0) {
		printf("emit failed\n");
		return 1;
	}
	static const int forms[] = { F_PROCS_FRAME, F_EH_FRAME, F_PROCS_CFI, F_PROCS_DYN,
				     F_TABLE_FRAME, F_TABLE_CFI, F_TABLE_DYN };
	/* no publisher call: SW_JIT_PUB_LIBUNWIND is a default publisher */
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		struct regset rs = { .fns = fns, .n = NFNS, .form = forms[i],
				     .kind = form_kind(forms[i]) };
		cur_form = forms[i];
		int rc = regset_add(&rs, true);
		CHECK_EQ(rc, 0, "[%s] register\n", form_names[cur_form]);
		if (rc != 0)
			continue;
		CHECK(dyn_covers(fns[3].start), "[%s] libunwind's dynamic list covers jit_f3",
		      form_names[cur_form]);
		run_chain(2);
		run_chain(3);
		CHECK_EQ(regset_remove(&rs), 0, "[%s] remove\n", form_names[cur_form]);
		CHECK(!dyn_covers(fns[3].start), "[%s] libunwind still lists jit_f3 after sw_jit_remove",
		      form_names[cur_form]);
	}
	return t_finish("pub_unw");
}
