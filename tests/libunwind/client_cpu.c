/*
 * A CPU-bound program for tests/scripts/libunwind_clients.sh: gperftools'
 * CPU profiler (libprofiler.so.0, LD_PRELOAD, CPUPROFILE) samples it from
 * its SIGPROF handler, unwinding with libunwind (unw_getcontext,
 * unw_init_local, unw_step through the signal frame), once with nongnu
 * libunwind and once with stackwalk's; `google-pprof --text --stacks`
 * prints the sampled stacks, which the script compares.
 *
 * Three hot paths, about a third of the time each, none inlined and none
 * reached by a tail call:
 *   main -> path_a -> path_b -> spin_ab          (a loop in the program)
 *   main -> path_c -> spin_c                     (another one)
 *   main -> sort_work -> qsort (libc) -> ... -> by_value
 *                                                (samples in libc and in a
 *                                                callback called from libc)
 *
 *   client_cpu ROUNDS   (about 10 ms of work per round)
 * Prints to stderr the path of the libunwind.so.8 mapped into the process
 * ("libunwind: PATH", or "libunwind: none").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* external, so that no compiler clones or renames them */
double spin_ab(long n);
double path_b(long n);
double path_a(long n);
unsigned long spin_c(long n);
unsigned long path_c(long n);
int by_value(const void *a, const void *b);
unsigned long sort_work(unsigned *v, size_t n, unsigned seed);

volatile double dsink;
volatile unsigned long usink;

__attribute__((noinline)) double spin_ab(long n)
{
	double s = 0;

	for (long i = 0; i < n; i++) {
		s += (double)i * 0.5;
		__asm__ volatile("" : "+x"(s));
	}
	return s;
}

__attribute__((noinline)) double path_b(long n)
{
	double r = spin_ab(n);
	dsink += r;
	return r + 1;
}

__attribute__((noinline)) double path_a(long n)
{
	double r = path_b(n);
	dsink += r;
	return r + 1;
}

__attribute__((noinline)) unsigned long spin_c(long n)
{
	unsigned long h = 1469598103934665603UL;

	for (long i = 0; i < n; i++) {
		h = (h ^ (unsigned long)i) * 1099511628211UL;
		__asm__ volatile("" : "+r"(h));
	}
	return h;
}

__attribute__((noinline)) unsigned long path_c(long n)
{
	unsigned long r = spin_c(n);
	usink += r;
	return r + 1;
}

__attribute__((noinline)) int by_value(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	/* a little work per comparison, so samples land here too */
	for (int i = 0; i < 8; i++) {
		x = x * 2654435761u + 1;
		y = y * 2654435761u + 1;
		__asm__ volatile("" : "+r"(x), "+r"(y));
	}
	return (x > y) - (x < y);
}

__attribute__((noinline)) unsigned long sort_work(unsigned *v, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		v[i] = seed;
	}
	qsort(v, n, sizeof *v, by_value);
	usink += v[0];
	return v[n / 2];
}

static void which_libunwind(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096], found[4096] = "none";

	if (f) {
		while (fgets(line, sizeof line, f)) {
			char *path = strchr(line, '/');
			if (path && strstr(path, "/libunwind.so.8")) {
				path[strcspn(path, "\n")] = 0;
				snprintf(found, sizeof found, "%s", path);
				break;
			}
		}
		fclose(f);
	}
	fprintf(stderr, "libunwind: %s\n", found);
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 100;
	static unsigned v[20000];
	unsigned long r = 0;
	double d = 0;

	which_libunwind();
	for (long i = 0; i < rounds; i++) {
		d += path_a(3000000);
		r += path_c(4000000);
		r += sort_work(v, sizeof v / sizeof v[0], (unsigned)i);
	}
	printf("%f %lu\n", d, r);
	return 0;
}
