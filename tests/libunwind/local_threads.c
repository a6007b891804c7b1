/*
 * local_threads: concurrent unwinding.  8 threads, each with its own
 * recursion depth (4 + its index), walk their stacks many times at once
 * (2000 iterations, 200 in quick mode) with unw_getcontext +
 * unw_init_local + unw_step and unw_backtrace, and name a frame with
 * unw_get_proc_name every 50 iterations; every walk must give the same
 * IPs as the thread's first one, and end with unw_step 0 (the thread's
 * outermost frame, glibc's clone3).  Prints each thread's frame count and
 * the names of its first frames (the same on both libraries).
 */
#include "local_common.h"      /* first: _GNU_SOURCE */

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>

#define NTHREADS 8
#define MAXF 64

struct job {
	int id, depth, iters;
	int frames, mismatches, bad_end, bad_names;
	uint64_t ref[MAXF];
	int nref;
	char names[4][64];
};

static volatile int sink;

/* one walk into ips[]; returns the frame count, or -1 when unw_step did
 * not end with 0 */
LU_NOINLINE int walk(uint64_t *ips)
{
	unw_context_t uc;
	unw_cursor_t c;
	unw_word_t ip;
	int n = 0, rc;

	unw_getcontext(&uc);
	if (unw_init_local(&c, &uc) < 0)
		return -1;
	do {
		unw_get_reg(&c, UNW_REG_IP, &ip);
		if (n < MAXF)
			ips[n] = ip;
		n++;
	} while ((rc = unw_step(&c)) > 0);
	return rc == 0 ? n : -1;
}

LU_NOINLINE int work(struct job *j, int d)
{
	if (d > 0) {
		int r = work(j, d - 1);
		LU_KEEP();
		return r + sink;
	}
	uint64_t ips[MAXF];
	void *bt[MAXF];
	int n = walk(ips);
	if (n < 0) {
		j->bad_end++;
		return 0;
	}
	if (j->nref == 0) {
		j->nref = n;
		memcpy(j->ref, ips, sizeof(ips[0]) * (size_t)(n < MAXF ? n : MAXF));
		/* the first frames' names, once */
		unw_context_t uc;
		unw_cursor_t c;
		unw_word_t off;
		unw_getcontext(&uc);
		unw_init_local(&c, &uc);
		for (int k = 0; k < 4; k++) {
			if (unw_get_proc_name(&c, j->names[k], sizeof(j->names[k]), &off) < 0)
				strcpy(j->names[k], "?");
			if (unw_step(&c) <= 0)
				break;
		}
		return 0;
	}
	/* walk() is called from the same place every time: the same IPs */
	if (n != j->nref || memcmp(ips, j->ref, sizeof(ips[0]) * (size_t)(n < MAXF ? n : MAXF)))
		j->mismatches++;
	int nb = unw_backtrace(bt, MAXF);
	/* bt[0] is in work() (after the unw_backtrace call), then the same
	 * return addresses as the walk's frames 2.. */
	if (nb != n - 1)
		j->mismatches++;
	else
		for (int k = 1; k < nb && k + 1 < MAXF; k++)
			if ((uint64_t)(uintptr_t)bt[k] != ips[k + 1])
				j->mismatches++;
	return n;
}

static void *thread_main(void *arg)
{
	struct job *j = arg;

	for (int i = 0; i < j->iters; i++) {
		int n = work(j, j->depth);
		if (n > 0)
			j->frames = n;
		if (i % 50 == 49) {
			unw_context_t uc;
			unw_cursor_t c;
			char name[64];
			unw_word_t off;
			unw_getcontext(&uc);
			unw_init_local(&c, &uc);
			if (unw_get_proc_name(&c, name, sizeof(name), &off) < 0 ||
			    strcmp(name, "thread_main"))
				j->bad_names++;
		}
	}
	return NULL;
}

int main(void)
{
	int iters = getenv("SW_TEST_MODE") && !strcmp(getenv("SW_TEST_MODE"), "quick") ? 200 : 2000;
	pthread_t th[NTHREADS];
	struct job jobs[NTHREADS];

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(jobs, 0, sizeof(jobs));
	for (int i = 0; i < NTHREADS; i++) {
		jobs[i].id = i;
		jobs[i].depth = 4 + i;
		jobs[i].iters = iters;
		if (pthread_create(&th[i], NULL, thread_main, &jobs[i]) != 0) {
			printf("pthread_create failed\n");
			return 2;
		}
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NTHREADS; i++) {
		struct job *j = &jobs[i];
		printf("thread %d: %d frames, first: %s %s %s %s\n", i, j->frames, j->names[0],
		       j->names[1], j->names[2], j->names[3]);
		LU_CHECK(j->frames == j->nref && j->frames >= j->depth + 4,
			 "thread %d: %d frames (first walk %d)", i, j->frames, j->nref);
		LU_CHECK(!j->mismatches, "thread %d: %d walks differ from the first", i, j->mismatches);
		LU_CHECK(!j->bad_end, "thread %d: %d walks did not end with unw_step 0", i, j->bad_end);
		LU_CHECK(!j->bad_names, "thread %d: %d wrong names", i, j->bad_names);
	}
	printf("%s\n", lu_failed ? "FAILED" : "OK");
	return lu_failed;
}
