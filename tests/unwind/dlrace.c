/*
 * dlrace: unloading racing with unwinding.  Threads churn dlopen/dlclose of
 * two builds of chain_dl.c (call sites at the same PCs, different CFA
 * offsets), so that one thread's dlclose of A often unmaps it while another
 * thread maps B into the hole and unwinds through it at once.  Every walk
 * through the library — a cursor walk and sw_backtrace, which share the
 * rule cache — must agree PC for PC with libgcc's _Unwind_Backtrace and
 * end at the outermost frame: a rule cached for A and applied at B's PCs
 * derails it.
 *
 *   dlrace DL_A DL_B [ITERATIONS]
 *
 * ITERATIONS (per thread; default 1000, 300 with SW_TEST_MODE=quick)
 * bounds the work: the verdict does not depend on the machine's speed.
 * The race needs a thread to lose the processor inside dlclose; with more
 * threads than cores that happens within a few thousand iterations.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <unwind.h>

#include "chains.h"
#include "common.h"

#define MAXF 64
#define NTHREADS 6

static const char *libs[2];
static int iterations;
static unsigned long walks, bad_walks, same_base;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static void *entry_seen[2];   /* dl_entry's address, per library, last seen (atomic) */

NOINLINE static void walk(int lib)
{
	void *sw[MAXF], *ug[MAXF], *cw[MAXF];
	struct ug_state st = { ug, 0, MAXF };
	sw_context_t ctx;
	sw_cursor_t cur;
	int n, k = 0, last;

	sw_getcontext(&ctx);
	if (sw_init_local(&cur, &ctx) != 0) {
		CHECK(0, "sw_init_local");
		return;
	}
	while ((last = sw_step(&cur)) == 0 && k < MAXF)
		cw[k++] = (void *)(uintptr_t)sw_get_ip(&cur);
	n = sw_backtrace(sw, MAXF);
	_Unwind_Backtrace(ug_cb, &st);
	if (st.n > 0 && ug[st.n - 1] == NULL)
		st.n--;   /* libgcc's outermost frame with IP 0 */

	/* sw[0] and ug[0] are in this function, cw[0] is its return address:
	 * from there outward the three lists must be the same */
	bool ok = last == SW_END_OF_STACK && n == st.n && k == n - 1 && n >= 4;
	for (int i = 1; ok && i < n; i++)
		ok = sw[i] == ug[i] && cw[i - 1] == sw[i];
	__atomic_fetch_add(&walks, 1, __ATOMIC_RELAXED);
	if (ok) {
		T_OK();
		return;
	}
	T_BAD();
	if (__atomic_fetch_add(&bad_walks, 1, __ATOMIC_RELAXED) >= 3)
		return;
	pthread_mutex_lock(&print_lock);
	printf("FAIL walk through %s: cursor ended with %s after %d frames, sw_backtrace %d "
	       "frames, _Unwind_Backtrace %d\n", libs[lib], t_status(last), k, n, st.n);
	for (int i = 1; i < n || i < st.n || i <= k; i++) {
		void *a = i < n ? sw[i] : NULL, *b = i < st.n ? ug[i] : NULL;
		void *c = i - 1 < k ? cw[i - 1] : NULL;
		printf("  %3d %c sw %-16p cur %-16p ug %p\n", i, a == b && b == c ? ' ' : '*', a, c,
		       b);
	}
	fflush(stdout);
	pthread_mutex_unlock(&print_lock);
}

static __thread int cur_lib;

static int cb(int id)
{
	walk(cur_lib);
	return id;
}

/*
 * The libraries take turns: a thread loads the library of the current
 * phase, but only once no thread holds the other one (a holder leaves the
 * count just before its dlclose), so the new library is mapped into the
 * hole the other's last dlclose leaves — often while that dlclose is still
 * returning.  Every thread ends a phase now and then.
 */
static int phase;
static int holders[2];

static void *worker(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int i = 0; i < iterations; i++) {
		int lib = __atomic_load_n(&phase, __ATOMIC_ACQUIRE) & 1;
		while (__atomic_load_n(&holders[!lib], __ATOMIC_ACQUIRE) > 0)
			sched_yield();
		__atomic_fetch_add(&holders[lib], 1, __ATOMIC_ACQ_REL);
		void *h = dlopen(libs[lib], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			CHECK(0, "dlopen %s: %s", libs[lib], dlerror());
			break;
		}
		dl_entry_fn entry = (dl_entry_fn)dlsym(h, "dl_entry");
		if (!entry) {
			CHECK(0, "dlsym dl_entry in %s", libs[lib]);
			dlclose(h);
			break;
		}
		void *other = __atomic_load_n(&entry_seen[!lib], __ATOMIC_RELAXED);
		if (other == (void *)entry)
			__atomic_fetch_add(&same_base, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&entry_seen[lib], (void *)entry, __ATOMIC_RELAXED);
		cur_lib = lib;
		int r = entry(3, cb, t);
		OPAQUE(r);
		if ((i + t) % 3 == 0)
			__atomic_fetch_add(&phase, 1, __ATOMIC_RELEASE);
		__atomic_fetch_sub(&holders[lib], 1, __ATOMIC_ACQ_REL);
		dlclose(h);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];

	if (argc < 3) {
		fprintf(stderr, "usage: %s DL_A DL_B [ITERATIONS]\n", argv[0]);
		return 2;
	}
	libs[0] = argv[1];
	libs[1] = argv[2];
	iterations = argc > 3 ? atoi(argv[3]) : t_quick() ? 300 : 1000;
	sw_init();

	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) != 0) {
			perror("pthread_create");
			return 2;
		}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);

	printf("dlrace: %d threads x %d iterations: %lu walks, %lu wrong; %lu loads found the "
	       "other library's address\n", NTHREADS, iterations, walks, bad_walks, same_base);
	CHECK_EQ(walks, (unsigned long)NTHREADS * iterations, "every iteration walked");
	CHECK(same_base > 0, "a library was never loaded where the other had been: nothing "
	      "was tested");
	return t_finish("dlrace");
}
