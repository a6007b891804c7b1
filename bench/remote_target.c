/*
 * remote_target - the process bench/remote.sh unwinds from outside.
 * Built with -O2 and without frame pointers (-fomit-frame-pointer), so
 * every unwinder has to use the CFI.
 *
 *   remote_target threads N DEPTH
 *       N threads in all (the main thread and N-1 others), each DEPTH
 *       frames deep in rec() and then blocked in pause().  Prints "ready"
 *       on stdout once every thread is in place, then waits to be killed
 *       (and exits by itself after 5 minutes: SIGALRM).
 *   remote_target cpu MS
 *       CPU-bound work for MS milliseconds under a few frames of
 *       recursion (for perf record --call-graph dwarf), then exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_barrier_t barrier;
static int depth;
static volatile int stop;   /* never set: keeps block() from being noreturn */

/* the leaf of a blocked thread: wait for the others, then block; the main
 * thread says "ready" */
static __attribute__((noinline)) int block(int is_main)
{
	pthread_barrier_wait(&barrier);
	if (is_main) {
		puts("ready");
		fflush(stdout);
	}
	while (!stop)
		pause();
	return 0;
}

/* one frame per level; the volatile read after the call keeps gcc from
 * turning the recursion into a loop */
static __attribute__((noinline)) int rec(int d, int is_main)
{
	volatile int keep = d;

	if (d <= 1)
		return block(is_main);
	return rec(d - 1, is_main) + keep;
}

static void *thread_main(void *arg)
{
	(void)arg;
	rec(depth, 0);
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---------------------------------------------------------------- cpu */
static volatile unsigned long sink;

static __attribute__((noinline)) unsigned long work_a(unsigned long x)
{
	for (int i = 0; i < 20000; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	return x;
}

static __attribute__((noinline)) unsigned long work_b(unsigned long x)
{
	for (int i = 0; i < 20000; i++)
		x ^= (x << 13) ^ (x >> 7) ^ (x << 17);
	return x;
}

static __attribute__((noinline)) unsigned long cpu_rec(int d, unsigned long x)
{
	volatile unsigned long keep = x;

	if (d <= 1)
		return (x & 1) ? work_a(x) : work_b(x);
	return cpu_rec(d - 1, x + (unsigned long)d) ^ keep;
}

static int cpu(double ms)
{
	double end = now_ms() + ms;
	unsigned long x = 1;

	while (now_ms() < end) {
		for (int i = 0; i < 16; i++)
			x = cpu_rec(8 + (int)(x % 16), x);
		sink = x;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "cpu") == 0)
		return cpu(atof(argv[2]));
	if (argc != 4 || strcmp(argv[1], "threads") != 0) {
		fprintf(stderr, "usage: remote_target threads N DEPTH | cpu MS\n");
		return 2;
	}
	int n = atoi(argv[2]);
	depth = atoi(argv[3]);
	if (n < 1 || n > 1024 || depth < 1 || depth > 10000) {
		fprintf(stderr, "remote_target: N in 1..1024, DEPTH in 1..10000\n");
		return 2;
	}
	alarm(300);   /* never outlive a benchmark that forgot us */
	pthread_barrier_init(&barrier, NULL, (unsigned)n);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (int i = 1; i < n; i++) {
		pthread_t t;
		int err = pthread_create(&t, &attr, thread_main, NULL);

		if (err) {
			fprintf(stderr, "remote_target: pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	return rec(depth, 1);
}
