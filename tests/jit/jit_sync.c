/*
 * jit_sync: synchronous unwinding through registered JIT code.
 *
 * main -> run_chain (C) -> jit_enter (asm) -> jit_f0 -> ... -> jit_f11
 * (generated, the 12 shapes of emit_shape) -> on_leaf (C).  In on_leaf,
 * for every registration form (enum form: .eh_frame bytes, add_procs with
 * each kind, a growable table with each kind, a lazy callback answering
 * with each kind):
 *   - a cursor walk from on_leaf: every JIT frame in order with its return
 *     address, SW_SRC_JIT proc info with the exact range, its name from
 *     sw_get_proc_name and sw_jit_get_name (with the offset), sw_jit_lookup
 *     (range, form), the callee-saved registers each frame holds;
 *     then jit_enter and run_chain with their callee-saved registers, main,
 *     and SW_END_OF_STACK;
 *   - sw_backtrace: the same return addresses;
 * both with an even argument (first epilogues) and an odd one (second
 * epilogues).  Then, per form:
 *   - a table's PCs before publish are not found (also with part published);
 *   - sw_jit_move: the code copied to a new mapping and the registration
 *     moved there: the walk passes the new addresses, the old ones are gone;
 *   - sw_jit_remove: names and lookups gone, a second removal is
 *     SW_EBADHANDLE; no stale cached rules: the code registered again with
 *     a wrong frame size for one function fails the walk, the right
 *     description passes again.
 */
#include "jit_common.c"

#define NFNS 12
#define MAXF 128

static struct emit_fn fns[NFNS];
static struct walk_expect expect;
static uint64_t entry[NCALLEE], caller[NCALLEE];
static int cur_form = -1;
static int leaf_mode;                /* 0: full checks, 1: count only, 2: record the walk */
static unsigned long leaf_calls, walks_ok;
static bool leaf_walk_ok;            /* leaf_mode 2: the walk's verdict */

static const char *sym(sw_cursor_t *c, char *buf, size_t size)
{
	uint64_t off;

	if (sw_get_proc_name(c, buf, size, &off) != 0)
		snprintf(buf, size, "?");
	return buf;
}

/* Check the walk from here; prints the frames on a mismatch. */
NOINLINE static uint64_t on_leaf(uint64_t arg)
{
	sw_context_t ctx;
	sw_cursor_t c, c2;
	void *pcs[MAXF];
	struct walk_fail f;
	char name[64];
	uint64_t off;

	leaf_calls++;
	if (leaf_mode == 1)
		return arg;
	if (leaf_mode == 2) {
		sw_getcontext(&ctx);
		leaf_walk_ok = sw_init_local(&c, &ctx) == 0 && sw_step(&c) == 0 &&
			       check_walk(&c, &expect, NFNS - 1, false, &f);
		return arg;
	}
	int n = sw_backtrace(pcs, MAXF);
	sw_getcontext(&ctx);
	CHECK_EQ(sw_init_local(&c, &ctx), 0, "sw_init_local");
	c2 = c;
	CHECK_EQ(sw_step(&c), 0, "[%s] first step out of on_leaf", form_names[cur_form]);
	/* names through the cursor (not async-signal-safe: only here) */
	sw_cursor_t cn = c;
	for (int j = NFNS - 1; j >= 0; j--) {
		int rc = sw_get_proc_name(&cn, name, sizeof(name), &off);
		CHECK(rc == 0 && strcmp(name, fns[j].name) == 0 && off == fns[j].call_ret,
		      "[%s] sw_get_proc_name of frame %s: %s %s+%#" PRIx64, form_names[cur_form],
		      fns[j].name, t_status(rc), rc == 0 ? name : "", off);
		/* the first JIT frame is found by on_leaf's CFI, the others
		 * by their JIT callee's description */
		if (j < NFNS - 1)
			CHECK(sw_get_frame_source(&cn) == SW_SRC_JIT && sw_is_reliable(&cn),
			      "[%s] frame %s found through the JIT registry (source %d)",
			      form_names[cur_form], fns[j].name, sw_get_frame_source(&cn));
		if (sw_step(&cn) != 0)
			break;
	}
	bool ok = check_walk(&c, &expect, NFNS - 1, false, &f);
	CHECK(ok, "[%s] walk from on_leaf(%" PRIu64 ")", form_names[cur_form], arg);
	if (!ok) {
		walk_print("  walk", &f);
		int i = 0;
		do {
			printf("  %2d %#" PRIx64 " %s\n", i++, sw_get_ip(&c2), sym(&c2, name, sizeof(name)));
		} while (sw_step(&c2) == 0 && i < 40);
	} else {
		walks_ok++;
	}
	/* sw_backtrace: pcs[0] in on_leaf, then the JIT return addresses */
	CHECK(n > NFNS + 3, "[%s] sw_backtrace gave %d frames", form_names[cur_form], n);
	for (int j = NFNS - 1, i = 1; j >= 0 && i < n; j--, i++)
		CHECK_EQ((uint64_t)(uintptr_t)pcs[i], fns[j].start + fns[j].call_ret,
			 "[%s] sw_backtrace frame %d", form_names[cur_form], i);
	if (n > NFNS + 1)
		CHECK_EQ((uint64_t)(uintptr_t)pcs[NFNS + 1], (uintptr_t)jit_enter_ret,
			 "[%s] sw_backtrace: jit_enter", form_names[cur_form]);
	return arg;
}

/* The driver: calls the chain through jit_enter. */
NOINLINE static uint64_t run_chain(uint64_t arg)
{
	uint64_t r = jit_enter(fns[0].start, arg, entry, 0, caller);
	__asm__ volatile("" ::: "memory");   /* not a tail call */
	return r;
}

/* Walk the chain with both arguments; count successful walks. */
static void run_both(const char *what)
{
	unsigned long before = walks_ok;

	for (uint64_t arg = 40; arg < 42; arg++) {
		uint64_t r = run_chain(arg);
		CHECK_EQ(r, arg, "[%s] %s: the chain returns its argument", form_names[cur_form], what);
	}
	CHECK_EQ(walks_ok - before, 2, "[%s] %s: walks passed", form_names[cur_form], what);
}

/* Lookups and names of every function: present (want == 0) or not. */
static void check_present(const char *what, bool present, int jform)
{
	for (int j = 0; j < NFNS; j++) {
		struct sw_jit_found fd;
		char name[64];
		uint64_t off;
		uint64_t pc = fns[j].start + fns[j].body;
		int rc = sw_jit_lookup(pc, &fd);
		int rn = sw_jit_get_name(pc, name, sizeof(name), &off);
		if (present) {
			CHECK(rc == 0 && fd.start == fns[j].start && fd.end == fns[j].end &&
			      fd.form == jform,
			      "[%s] %s: sw_jit_lookup(%s+%#x): %s [%#" PRIx64 ", %#" PRIx64 ") form %d",
			      form_names[cur_form], what, fns[j].name, fns[j].body, t_status(rc),
			      fd.start, fd.end, fd.form);
			CHECK(rn == 0 && strcmp(name, fns[j].name) == 0 && off == fns[j].body,
			      "[%s] %s: sw_jit_get_name(%s+%#x): %s", form_names[cur_form], what,
			      fns[j].name, fns[j].body, t_status(rn));
		} else {
			CHECK_EQ(rc, SW_ENOTFOUND, "[%s] %s: sw_jit_lookup(%s)", form_names[cur_form],
				 what, fns[j].name);
			CHECK_EQ(rn, SW_ENOTFOUND, "[%s] %s: sw_jit_get_name(%s)", form_names[cur_form],
				 what, fns[j].name);
		}
	}
}

static void test_form(int form, struct emit_buf *code)
{
	struct regset rs = { .fns = fns, .n = NFNS, .form = form };
	int kind = form_kind(form);
	int jform = form_jit_form(form);
	int rc;

	cur_form = form;
	bool table = form == F_TABLE_FRAME || form == F_TABLE_CFI || form == F_TABLE_DYN;
	if (table) {
		/* staged, not published: in the table's range but not found */
		rc = regset_add(&rs, false);
		CHECK_EQ(rc, 0, "[%s] table create + append: %s", form_names[form], t_status(rc));
		if (rc != 0)
			return;
		check_present("before publish", false, jform);
		CHECK_EQ(regset_remove(&rs), 0, "[%s] remove the unpublished table", form_names[form]);

		/* half published: fns are at descending addresses, so the first
		 * (lowest) half is fns[NFNS/2..NFNS) */
		struct sw_jit_proc procs[NFNS];
		sw_jit_handle_t h = 0;
		for (int i = 0; i < NFNS; i++)
			emit_proc(&fns[NFNS - 1 - i], kind, &procs[i]);
		rc = sw_jit_table_create(fns[NFNS - 1].start, fns[0].end, NFNS, &h);
		CHECK_EQ(rc, 0, "[%s] sw_jit_table_create", form_names[form]);
		CHECK_EQ(sw_jit_table_append(h, procs, NFNS / 2), 0, "[%s] append", form_names[form]);
		CHECK_EQ(sw_jit_table_publish(h), 0, "[%s] publish", form_names[form]);
		CHECK_EQ(sw_jit_table_append(h, procs + NFNS / 2, NFNS - NFNS / 2), 0,
			 "[%s] append", form_names[form]);
		for (int j = 0; j < NFNS; j++) {
			struct sw_jit_found fd;
			rc = sw_jit_lookup(fns[j].start, &fd);
			if (j >= NFNS / 2)
				CHECK(rc == 0 && fd.start == fns[j].start && fd.form == SW_JIT_FORM_TABLE,
				      "[%s] published %s: %s", form_names[form], fns[j].name, t_status(rc));
			else
				CHECK_EQ(rc, SW_ENOTFOUND, "[%s] staged %s", form_names[form], fns[j].name);
		}
		CHECK_EQ(sw_jit_table_publish(h), 0, "[%s] publish", form_names[form]);
		for (int j = 0; j < NFNS; j++) {
			struct sw_jit_found fd;
			rc = sw_jit_lookup(fns[j].start, &fd);
			CHECK(rc == 0 && fd.start == fns[j].start && fd.form == SW_JIT_FORM_TABLE,
			      "[%s] published %s: %s", form_names[form], fns[j].name, t_status(rc));
		}
		CHECK_EQ(sw_jit_remove(h), 0, "[%s] remove", form_names[form]);
	}
	rc = regset_add(&rs, true);
	CHECK_EQ(rc, 0, "[%s] registration: %s", form_names[form], t_status(rc));
	if (rc != 0)
		return;
	check_present("registered", true, jform);
	expect.jform = jform;
	run_both("registered");
	if ((form == F_CALLBACK_FRAME || form == F_CALLBACK_CFI || form == F_CALLBACK_DYN))
		CHECK(rs.calls > 0, "[%s] the callback was called", form_names[form]);

	/* move: copy the code (all of it: rel32 calls stay valid) */
	struct emit_buf moved;
	CHECK_EQ(emit_buf_init(&moved, code->size, 0), 0, "mmap");
	memcpy(moved.base, code->base, code->used);
	moved.used = code->used;
	int64_t delta = (int64_t)((uintptr_t)moved.base - (uintptr_t)code->base);
	struct emit_fn old[NFNS];
	memcpy(old, fns, sizeof(old));
	for (int j = 0; j < NFNS; j++)
		emit_relocate(&fns[j], delta);
	rc = sw_jit_move(rs.h, delta);
	CHECK_EQ(rc, 0, "[%s] sw_jit_move by %#" PRIx64, form_names[form], (uint64_t)delta);
	check_present("moved", true, jform);
	run_both("moved");
	for (int j = 0; j < NFNS; j++) {
		struct sw_jit_found fd;
		CHECK_EQ(sw_jit_lookup(old[j].start + old[j].body, &fd), SW_ENOTFOUND,
			 "[%s] the old address of %s after the move", form_names[form], old[j].name);
	}

	/* remove */
	sw_jit_handle_t h = rs.h;
	CHECK_EQ(regset_remove(&rs), 0, "[%s] sw_jit_remove", form_names[form]);
	check_present("removed", false, jform);
	CHECK_EQ(sw_jit_remove(h), SW_EBADHANDLE, "[%s] second sw_jit_remove", form_names[form]);
	CHECK_EQ(sw_jit_move(h, 4096), SW_EBADHANDLE, "[%s] sw_jit_move after remove",
		 form_names[form]);
	/* a walk now finds no JIT procedure: run the chain without checks and
	 * make sure nothing claims the JIT addresses */
	leaf_mode = 1;
	run_chain(7);
	leaf_mode = 0;

	for (int j = 0; j < NFNS; j++)
		emit_relocate(&fns[j], -delta);
	emit_buf_free(&moved);

	/* no stale rules: the same code registered again with a wrong frame
	 * size for jit_f4 (rules of the correct one were cached above) must
	 * now fail the walk, and the right one pass again */
	struct sw_jit_proc procs[NFNS];
	for (int j = 0; j < NFNS; j++)
		emit_proc(&fns[j], SW_JIT_UNWIND_FRAME, &procs[j]);
	procs[4].u.frame.frame_size += 16;
	CHECK_EQ(sw_jit_add_procs(procs, NFNS, &h), 0, "[%s] wrong description", form_names[form]);
	expect.jform = SW_JIT_FORM_EAGER;
	leaf_mode = 2;
	run_chain(8);
	CHECK(!leaf_walk_ok, "[%s] the walk uses the new (wrong) description, not cached rules",
	      form_names[form]);
	CHECK_EQ(sw_jit_remove(h), 0, "[%s] remove", form_names[form]);
	procs[4].u.frame.frame_size -= 16;
	CHECK_EQ(sw_jit_add_procs(procs, NFNS, &h), 0, "[%s] right description", form_names[form]);
	run_chain(8);
	CHECK(leaf_walk_ok, "[%s] and the right one again", form_names[form]);
	CHECK_EQ(sw_jit_remove(h), 0, "[%s] remove", form_names[form]);
	leaf_mode = 0;
}

int main(void)
{
	struct emit_buf code;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sw_init();
	if (emit_buf_init(&code, 1 << 20, 0) != 0 ||
	    emit_chain(&code, fns, NFNS, (uint64_t)(uintptr_t)on_leaf, 0) != 0) {
		printf("jit_sync: cannot generate the chain\n");
		return 2;
	}
	driver_values(entry, 0x51);
	expect.fns = fns;
	expect.entry = entry;
	expect.caller = caller;
	expect.driver = (uint64_t)(uintptr_t)run_chain;
	expect.main_fn = (uint64_t)(uintptr_t)main;
	for (int j = 0; j < NFNS; j++)
		printf("jit_sync: %-8s [%#" PRIx64 ", %#" PRIx64 ") fp %d saved %u frame %u "
		       "epilogues %u\n", fns[j].name, fns[j].start, fns[j].end, fns[j].spec.fp,
		       fns[j].spec.nsaved, fns[j].spec.frame_size, fns[j].nepilogues);

	for (int form = 0; form < F_COUNT; form++) {
		unsigned long before = t_fail;
		test_form(form, &code);
		printf("jit_sync: form %-15s %s\n", form_names[form], t_fail == before ? "ok" : "FAILED");
	}
	printf("jit_sync: %lu walks checked\n", walks_ok);
	for (int j = 0; j < NFNS; j++)
		emit_fn_free(&fns[j]);
	emit_buf_free(&code);
	return t_finish("jit_sync");
}
