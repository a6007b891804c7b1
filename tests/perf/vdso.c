/*
 * The vDSO case of tests/scripts/perf_script.sh: clock_gettime in a loop
 * for about SECONDS (argv[1]), so most samples land in the vDSO, whose
 * code perf keeps in its build-id cache: both tools must unwind out of it
 * (stackwalk reads the cached copy) to loop() and main.
 */
#include <stdlib.h>
#include <time.h>

volatile long calls;

__attribute__((noinline)) long loop(double secs);

__attribute__((noinline)) long loop(double secs)
{
	struct timespec a, b;
	long n = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		clock_gettime(CLOCK_MONOTONIC, &b);
		n++;
	} while ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9 < secs);
	return n;
}

int main(int argc, char **argv)
{
	calls = loop(argc > 1 ? atof(argv[1]) : 0.5);
	return 0;   /* perf record exits with the program's status */
}
