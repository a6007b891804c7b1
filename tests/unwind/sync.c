/*
 * sync: at every synchronous point of the corpus (chains.c), sw_backtrace,
 * a sw_getcontext/sw_init_local/sw_step cursor walk and libgcc's
 * _Unwind_Backtrace must see the same stack, PC for PC, from the caller of
 * the point outward, to the same outermost frame.
 *
 *   sync DL_A DL_B [ROUNDS]
 *
 * DL_A and DL_B are two builds of chain_dl.c (different frame sizes, same
 * code layout under -fomit-frame-pointer): the main thread loads A, unwinds
 * through it, unloads it, loads B (usually at A's old address), unwinds
 * through B, and A again.  Then 4 threads run every chain ROUNDS times.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <unwind.h>

#include "chains.h"
#include "common.h"

#define MAXF 512
#define NTHREADS 4

static unsigned long points[CH_COUNT];
static unsigned long mismatches[CH_COUNT];
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *symname(void *pc)
{
	Dl_info di;

	if (pc && dladdr(pc, &di) && di.dli_sname)
		return di.dli_sname;
	return "?";
}

static void dump(int id, void **sw, int n, void **ug, int m, void **cw, int k)
{
	int most = n > m ? n : m;

	if (k + 1 > most)
		most = k + 1;
	pthread_mutex_lock(&print_lock);
	printf("  chain %s: sw_backtrace %d frames, _Unwind_Backtrace %d, cursor %d "
	       "(shown one down)\n", chain_names[id], n, m, k);
	for (int i = 0; i < most; i++) {
		void *a = i < n ? sw[i] : NULL, *b = i < m ? ug[i] : NULL;
		void *c = i >= 1 && i - 1 < k ? cw[i - 1] : NULL;
		printf("  %3d %c sw %-16p ug %-16p cur %-16p %s\n", i,
		       (a == b && (i == 0 || b == c)) ? ' ' : '*', a, b, c,
		       symname(b ? b : a));
	}
	pthread_mutex_unlock(&print_lock);
}

/*
 * The helper every chain ends in.  Frame layout of the three lists:
 *   sw[0]  return address into chain_point (after the sw_backtrace call)
 *   ug[0]  return address into chain_point (after the _Unwind_Backtrace call)
 *   sw[i] == ug[i] for i >= 1, sw[1] == __builtin_return_address(0)
 *   cw[i-1] == sw[i]  (the cursor starts in chain_point itself)
 * libgcc reports one last frame with IP 0 (the outermost frame's undefined
 * return address, after _start or clone3): it is dropped.
 */
NOINLINE void chain_point(int id)
{
	void *sw[MAXF], *ug[MAXF], *cw[MAXF], *shortbt[5];
	struct ug_state st = { ug, 0, MAXF };
	sw_context_t ctx;
	sw_cursor_t cur;
	int n, k = 0, last, rc;
	_Unwind_Reason_Code urc;
	void *ra = __builtin_return_address(0);

	n = sw_backtrace(sw, MAXF);
	urc = _Unwind_Backtrace(ug_cb, &st);
	sw_getcontext(&ctx);
	rc = sw_init_local(&cur, &ctx);
	while ((last = sw_step(&cur)) == 0 && k < MAXF)
		cw[k++] = (void *)(uintptr_t)sw_get_ip(&cur);
	CHECK(st.n >= 2 && ug[st.n - 1] == NULL,
	      "chain %s: libgcc's last frame has IP 0", chain_names[id]);
	if (st.n >= 2 && ug[st.n - 1] == NULL)
		st.n--;

	__atomic_fetch_add(&points[id], 1, __ATOMIC_RELAXED);
	bool ok = true;
	CHECK_EQ(rc, 0, "chain %s: sw_init_local", chain_names[id]);
	CHECK_EQ(urc, _URC_END_OF_STACK, "chain %s: _Unwind_Backtrace's result", chain_names[id]);
	CHECK(n > 2 && n < MAXF, "chain %s: sw_backtrace returned %d", chain_names[id], n);
	CHECK_EQ(last, SW_END_OF_STACK, "chain %s: the cursor walk ended with %s after %d frames",
		 chain_names[id], t_status(last), k);
	if (n < 2 || st.n < 2 || k < 1)
		ok = false;
	else {
		CHECK_EQ(sw[1], ra, "chain %s: sw_backtrace's frame 1 is chain_point's return address",
			 chain_names[id]);
		CHECK_EQ(ug[1], ra, "chain %s: libgcc's frame 1 is chain_point's return address",
			 chain_names[id]);
		CHECK_EQ(cw[0], ra, "chain %s: the cursor's first step lands on the return address",
			 chain_names[id]);
		ok = sw[1] == ra && ug[1] == ra && cw[0] == ra;
	}
	/* the lists from chain_point's caller outward */
	if (ok && (n != st.n || k != n - 1))
		ok = false;
	for (int i = 1; ok && i < n; i++)
		if (sw[i] != ug[i] || cw[i - 1] != sw[i])
			ok = false;
	CHECK(ok, "chain %s: sw_backtrace, cursor walk and _Unwind_Backtrace differ",
	      chain_names[id]);
	if (!ok && __atomic_fetch_add(&mismatches[id], 1, __ATOMIC_RELAXED) < 2)
		dump(id, sw, n, ug, st.n, cw, k);

	/* a short buffer: exactly `max` entries, the same prefix */
	if (id == CH_RECURSE) {
		int s = sw_backtrace(shortbt, 5);
		CHECK_EQ(s, 5, "sw_backtrace(pcs, 5) in a deep stack");
		if (s == 5 && n >= 5)
			CHECK(memcmp(&shortbt[1], &sw[1], 4 * sizeof(void *)) == 0,
			      "sw_backtrace(pcs, 5) is a prefix of the full trace");
		CHECK_EQ(sw_backtrace(shortbt, 0), 0, "sw_backtrace(pcs, 0)");
		CHECK_EQ(sw_backtrace(NULL, 5), SW_EINVAL, "sw_backtrace(NULL, 5)");
	}
}

static int rounds;
static const char *dl_a, *dl_b;

static void *worker(void *arg)
{
	(void)arg;
	chain_dl_path = dl_a;
	for (int r = 0; r < rounds; r++)
		chain_run_all();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];

	if (argc < 3) {
		fprintf(stderr, "usage: %s DL_A DL_B [ROUNDS]\n", argv[0]);
		return 2;
	}
	dl_a = argv[1];
	dl_b = argv[2];
	rounds = argc > 3 ? atoi(argv[3]) : 3;
	sw_init();
	chains_init();

	/* main thread: every chain, then the unload/reload sequence */
	chain_dl_path = dl_a;
	for (int r = 0; r < rounds; r++)
		chain_run_all();
	void *entry_a = chain_dl_last_entry;
	chain_dl_path = dl_b;
	chain_run(CH_DL);
	void *entry_b = chain_dl_last_entry;
	chain_dl_path = dl_a;
	chain_run(CH_DL);
	printf("sync: dl_entry of A at %p, of B at %p (%s address)\n", entry_a, entry_b,
	       entry_a == entry_b ? "same" : "different");

	/* threads, while the main thread keeps loading and unloading */
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0) {
			perror("pthread_create");
			return 2;
		}
	for (int r = 0; r < rounds; r++) {
		chain_dl_path = (r & 1) ? dl_a : dl_b;
		chain_run(CH_DL);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);

	unsigned long total = 0;
	for (int id = 0; id < CH_COUNT; id++) {
		printf("sync: chain %-9s %5lu points, %lu mismatched\n", chain_names[id], points[id],
		       mismatches[id]);
		total += points[id];
		CHECK(points[id] > 0, "chain %s was never reached", chain_names[id]);
	}
	printf("sync: %lu points compared\n", total);
	return t_finish("sync");
}
