/*
 * jit_concur: unwinding through JIT code while the registry changes.
 *
 * Ten chains main/reader -> run_chain -> jit_enter -> jit_f0 -> ... ->
 * jit_f11 -> on_leaf, one per registration form (eh_frame, add_procs x 3
 * kinds, table x 3 kinds, callback x 3 kinds), registered for the whole
 * run.  NREADERS threads run the chains in turn; on_leaf walks out with a
 * cursor and checks every frame (check_walk: IPs, SW_SRC_JIT ranges, names,
 * lookups with the chain's form, callee-saved registers of each JIT
 * frame, jit_enter and run_chain, the end of the stack).
 *
 * Meanwhile the main thread churns the registry: it adds, moves and
 * removes registrations of every form (eh_frame, procs of each kind, a
 * table with one or two procedures, a callback answering with each kind)
 * in slots of a reserved area, in the gaps between the readers' functions,
 * and right before and after each chain (so they share index nodes with
 * the readers' entries), until TOTAL procedures have been registered.
 * Every writer call must succeed; no walk may fail.
 *
 *   jit_concur [TOTAL]        (default 100000; quick: 20000)
 */
#include "jit_common.c"

#include <pthread.h>
#include <sys/mman.h>
#include <time.h>

#define NFNS 12
#define NREADERS 3
#define SLOT 256                 /* bytes per churn slot */
#define AREA_SLOTS 2048          /* slots in the reserved area */

int main(int argc, char **argv);

/* ------------------------------------------------------------------ readers */

struct chain {
	struct emit_buf code;
	struct emit_fn fns[NFNS];
	struct regset rs;
	uint64_t lo, hi;
};

static struct chain chains[F_COUNT];
static volatile int stop;
static unsigned long walks, walk_failures;
#define MIN_WALKS 100   /* walks the readers must make while the writer churns */
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

/* the reader's current chain and expectations */
static __thread struct walk_expect *my_expect;
static __thread int my_form;

NOINLINE static uint64_t on_leaf(uint64_t arg)
{
	sw_context_t ctx;
	sw_cursor_t c;
	struct walk_fail f;

	sw_getcontext(&ctx);
	bool ok = sw_init_local(&c, &ctx) == 0 && sw_step(&c) == 0 &&
		  check_walk(&c, my_expect, NFNS - 1, false, &f);
	__atomic_fetch_add(&walks, 1, __ATOMIC_RELAXED);
	if (!ok && __atomic_fetch_add(&walk_failures, 1, __ATOMIC_RELAXED) < 5) {
		pthread_mutex_lock(&print_lock);
		printf("walk failed in chain %s: ", form_names[my_form]);
		walk_print("", &f);
		pthread_mutex_unlock(&print_lock);
	}
	return arg;
}

NOINLINE static uint64_t run_chain(const struct chain *ch, uint64_t arg, uint64_t *entry,
				   uint64_t *caller)
{
	uint64_t r = jit_enter(ch->fns[0].start, arg, entry, 0, caller);
	__asm__ volatile("" ::: "memory");   /* not a tail call */
	return r;
}

static void *reader(void *arg)
{
	uint64_t entry[NCALLEE], caller[NCALLEE];
	struct walk_expect e;
	uintptr_t id = (uintptr_t)arg;
	unsigned long n = 0;

	driver_values(entry, 0x100 + id);
	e.entry = entry;
	e.caller = caller;
	e.driver = (uint64_t)(uintptr_t)run_chain;
	e.main_fn = (uint64_t)(uintptr_t)reader;   /* the walk's outermost function */
	my_expect = &e;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		int form = (int)((n + id) % F_COUNT);
		e.fns = chains[form].fns;
		e.jform = form_jit_form(form);
		my_form = form;
		run_chain(&chains[form], n, entry, caller);
		n++;
	}
	return NULL;
}

/* ------------------------------------------------------------------ churn */

struct slot {
	uint64_t start, end;
	int movable;                 /* SLOT-sized: can be the target of a move */
	sw_jit_handle_t h;           /* 0: free */
	struct regset *cb;           /* callback registrations: their state */
};

static struct slot *slots;
static size_t nslots;
static struct emit_fn tmpl[3];   /* description templates (their code is not run) */
static unsigned long n_procs, n_adds, n_moves, n_removes, writer_errors;
static unsigned long by_form[F_COUNT];

/* Callback registrations answer from a one-function set whose addresses
 * follow the registration's slot. */
struct cbstate {
	struct regset rs;
	struct emit_fn fn;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void writer_fail(const char *what, int rc, const struct slot *s)
{
	writer_errors++;
	if (writer_errors <= 5)
		printf("churn: %s on [%#" PRIx64 ", %#" PRIx64 "): %s\n", what, s->start, s->end,
		       t_status(rc));
}

/* A template copied onto [start, ...): its size is the template's. */
static struct emit_fn placed(const struct emit_fn *t, uint64_t start, const char *name)
{
	struct emit_fn f = *t;

	f.start = start;
	f.end = start + (t->end - t->start);
	snprintf(f.name, sizeof(f.name), "%s", name);
	return f;
}

static void churn_add(struct slot *s, int form)
{
	uint64_t size = s->end - s->start;
	struct emit_fn two[2];
	size_t n = 1;
	int rc;

	/* what fits: a random template, else the smallest one, else (small
	 * gaps) a description-free procedure (CFI, 0 bytes) */
	const struct emit_fn *t = &tmpl[rnd() % 3];
	if (t->end - t->start > size)
		t = &tmpl[0];
	if (size < tmpl[0].end - tmpl[0].start) {
		struct sw_jit_proc p;
		memset(&p, 0, sizeof(p));
		p.start = s->start;
		p.end = s->end;
		p.name = "churn_gap";
		p.kind = SW_JIT_UNWIND_CFI;
		p.u.cfi.insns = tmpl[0].cfi;
		p.u.cfi.len = 0;
		rc = sw_jit_add_procs(&p, 1, &s->h);
		if (rc)
			writer_fail("add_procs (gap)", rc, s);
		else
			n_procs++;
		by_form[F_PROCS_CFI]++;
		return;
	}
	two[0] = placed(t, s->start, "churn_a");
	if ((form == F_PROCS_FRAME || form == F_PROCS_CFI || form == F_PROCS_DYN ||
	     form == F_TABLE_FRAME || form == F_TABLE_CFI || form == F_TABLE_DYN ||
	     form == F_EH_FRAME) && size / 2 >= t->end - t->start && (rnd() & 1)) {
		two[1] = placed(&tmpl[0], s->start + size / 2, "churn_b");
		n = 2;
	}
	if (form >= F_CALLBACK_FRAME) {
		struct cbstate *cb = calloc(1, sizeof(*cb));
		if (!cb)
			abort();
		cb->fn = two[0];
		cb->rs.fns = &cb->fn;
		cb->rs.n = 1;
		cb->rs.form = form;
		cb->rs.lo = s->start;
		cb->rs.hi = s->end;
		rc = regset_add(&cb->rs, true);
		if (rc) {
			writer_fail("add_callback", rc, s);
			free(cb);
			return;
		}
		s->h = cb->rs.h;
		s->cb = &cb->rs;
	} else {
		struct regset rs = { .fns = two, .n = n, .form = form };
		if (form >= F_TABLE_FRAME) {
			rs.lo = s->start;
			rs.hi = s->end;
		}
		rc = regset_add(&rs, true);
		if (rc) {
			writer_fail(form_names[form], rc, s);
			return;
		}
		s->h = rs.h;
	}
	n_procs += n;
	n_adds++;
	by_form[form]++;
}

static void churn_remove(struct slot *s)
{
	int rc = sw_jit_remove(s->h);

	if (rc)
		writer_fail("remove", rc, s);
	s->h = 0;
	if (s->cb) {
		free((struct cbstate *)(void *)s->cb);
		s->cb = NULL;
	}
	n_removes++;
}

/* Move slot a's registration to the free slot b (same size). */
static void churn_move(struct slot *a, struct slot *b)
{
	int64_t delta = (int64_t)(b->start - a->start);

	if (a->cb) {
		/* the callback answers from its set: it follows the move
		 * (readers never look up churned ranges, so the order of the
		 * two updates does not matter here) */
		struct cbstate *cb = (struct cbstate *)(void *)a->cb;
		int rc = sw_jit_move(a->h, delta);
		if (rc) {
			writer_fail("move (callback)", rc, a);
			return;
		}
		cb->fn.start += (uint64_t)delta;
		cb->fn.end += (uint64_t)delta;
	} else {
		int rc = sw_jit_move(a->h, delta);
		if (rc) {
			writer_fail("move", rc, a);
			return;
		}
	}
	b->h = a->h;
	b->cb = a->cb;
	a->h = 0;
	a->cb = NULL;
	n_moves++;
}

static void add_slot(uint64_t start, uint64_t end, int movable)
{
	if (end <= start)
		return;
	slots[nslots].start = start;
	slots[nslots].end = end;
	slots[nslots].movable = movable;
	nslots++;
}

int main(int argc, char **argv)
{
	pthread_t th[NREADERS];
	struct emit_buf scratch, area;
	unsigned long total = argc > 1 ? strtoul(argv[1], NULL, 10) : (t_quick() ? 20000 : 100000);

	setvbuf(stdout, NULL, _IOLBF, 0);
	sw_init();
	/* the readers' chains, each registered with its form */
	for (int form = 0; form < F_COUNT; form++) {
		struct chain *ch = &chains[form];
		if (emit_buf_init(&ch->code, 1 << 16, 0) != 0 ||
		    emit_chain(&ch->code, ch->fns, NFNS, (uint64_t)(uintptr_t)on_leaf, 0) != 0) {
			printf("jit_concur: cannot generate the chains\n");
			return 2;
		}
		ch->rs.fns = ch->fns;
		ch->rs.n = NFNS;
		ch->rs.form = form;
		int rc = regset_add(&ch->rs, true);
		CHECK_EQ(rc, 0, "registering chain %s: %s", form_names[form], t_status(rc));
		ch->lo = ch->rs.lo;
		ch->hi = ch->rs.hi;
	}
	/* templates: frame-pointer shapes and a leaf (no SW_DYN_ALIAS: their
	 * region lists are address-independent) */
	static const int shapes[3] = { 3, 0, 5 };
	emit_buf_init(&scratch, 1 << 16, 0);
	for (int i = 0; i < 3; i++) {
		struct emit_spec s;
		emit_shape((size_t)shapes[i], "tmpl", &s);
		if (emit_fn(&scratch, &s, &tmpl[i]) != 0)
			return 2;
	}

	/* slots: a reserved area (PROT_NONE), before/after each chain, gaps */
	slots = calloc(AREA_SLOTS + 4 * F_COUNT * NFNS, sizeof(*slots));
	if (!slots || emit_buf_init(&area, AREA_SLOTS * SLOT, 0) != 0)
		return 2;
	mprotect(area.base, area.size, PROT_NONE);
	for (size_t i = 0; i < AREA_SLOTS; i++)
		add_slot((uint64_t)(uintptr_t)area.base + i * SLOT,
			 (uint64_t)(uintptr_t)area.base + (i + 1) * SLOT, 1);
	for (int form = 0; form < F_COUNT; form++) {
		struct chain *ch = &chains[form];
		add_slot(ch->lo - SLOT, ch->lo, 1);
		add_slot(ch->hi, ch->hi + SLOT, 1);
		/* gaps: fns are at descending addresses (tables and callbacks
		 * reserve their whole range) */
		for (int j = NFNS - 1; j > 0 && form_jit_form(form) == SW_JIT_FORM_EAGER; j--)
			add_slot(ch->fns[j].end, ch->fns[j - 1].start, 0);
	}
	printf("jit_concur: %d chains, %d readers, %zu churn slots\n", F_COUNT, NREADERS, nslots);

	for (uintptr_t i = 0; i < NREADERS; i++)
		if (pthread_create(&th[i], NULL, reader, (void *)i) != 0) {
			perror("pthread_create");
			return 2;
		}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int form = 0;
	/* bounded by counts, not time: churn the procedures asked for, and go
	 * on until the readers have walked during the churn (on a loaded
	 * machine they may get the processor late) */
	while (n_procs < total || __atomic_load_n(&walks, __ATOMIC_RELAXED) < MIN_WALKS) {
		struct slot *s = &slots[rnd() % nslots];
		if (!s->h) {
			churn_add(s, form);
			form = (form + 1) % F_COUNT;
			continue;
		}
		if (s->movable && (rnd() % 3) == 0) {
			struct slot *t = &slots[rnd() % nslots];
			if (!t->h && t->movable && t->end - t->start == s->end - s->start) {
				churn_move(s, t);
				continue;
			}
		}
		churn_remove(s);
	}
	for (size_t i = 0; i < nslots; i++)
		if (slots[i].h)
			churn_remove(&slots[i]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(th[i], NULL);

	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("jit_concur: churned %lu procedures in %lu registrations (%lu moves, %lu removals) "
	       "in %.1f s; %lu walks checked meanwhile, %lu failed; %lu writer errors\n", n_procs,
	       n_adds, n_moves, n_removes, secs, walks, walk_failures, writer_errors);
	printf("jit_concur: registrations by form:");
	for (int f = 0; f < F_COUNT; f++)
		printf(" %s %lu", form_names[f], by_form[f]);
	printf("\n");
	CHECK(n_procs >= total, "procedures churned: %lu", n_procs);
	CHECK(walks >= MIN_WALKS, "walks during the churn: %lu", walks);
	CHECK_EQ(walk_failures, 0, "walks that failed");
	CHECK_EQ(writer_errors, 0, "writer calls that failed");

	struct sw_jit_stats st;
	CHECK_EQ(sw_jit_get_stats(&st), 0, "sw_jit_stats");
	CHECK_EQ(st.handles, F_COUNT, "live handles after the churn (the chains')");
	printf("jit_concur: stats: %zu entries, %zu handles, index %zu B, records %zu B, unwind %zu B, "
	       "retired %zu B\n", st.entries, st.handles, st.index_bytes, st.record_bytes,
	       st.unwind_bytes, st.retired_bytes);
	for (int f = 0; f < F_COUNT; f++)
		CHECK_EQ(regset_remove(&chains[f].rs), 0, "removing chain %s", form_names[f]);
	CHECK_EQ(sw_jit_get_stats(&st), 0, "sw_jit_stats");
	CHECK_EQ(st.handles, 0, "live handles at the end");
	return t_finish("jit_concur");
}
