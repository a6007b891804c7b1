/*
 * An allocating program for tests/scripts/libunwind_clients.sh: heaptrack
 * records its allocations' backtraces (through libunwind's unw_backtrace
 * in heaptrack's preload library), once with nongnu libunwind and once
 * with stackwalk's, and the script compares them.
 *
 * Allocation sites at known depths, none inlined and none reached by a
 * tail call (every caller uses its callee's result afterwards):
 *   main -> level_1 -> level_2 -> level_3 -> alloc_deep    malloc x 50
 *   main -> alloc_shallow                                  calloc x 20
 *   main -> recurse x 10 -> alloc_leaf                     malloc x 7
 *   main -> alloc_realloc                                  realloc x 5
 * Everything is freed except alloc_leaf's blocks (leaks: heaptrack's
 * leak report names them too).
 *
 * Prints to stderr the path of the libunwind.so.8 mapped into the
 * process ("libunwind: PATH", or "libunwind: none"), so that the script
 * sees which library heaptrack's preload library got.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* external, so that no compiler clones or renames them */
unsigned long alloc_deep(int n);
unsigned long level_3(int n);
unsigned long level_2(int n);
unsigned long level_1(int n);
unsigned long alloc_shallow(int n);
unsigned long alloc_leaf(int n);
unsigned long recurse(int depth, int n);
unsigned long alloc_realloc(int n);

static void *keep[128];
static int nkeep;
volatile unsigned long sink;

static void hold(void *p)
{
	if (!p)
		abort();
	memset(p, 1, 8);
	keep[nkeep++] = p;
}

__attribute__((noinline)) unsigned long alloc_deep(int n)
{
	for (int i = 0; i < n; i++)
		hold(malloc(64 + (size_t)i));
	return (unsigned long)nkeep;
}

__attribute__((noinline)) unsigned long level_3(int n)
{
	unsigned long r = alloc_deep(n);
	sink += r;
	return r + 3;
}

__attribute__((noinline)) unsigned long level_2(int n)
{
	unsigned long r = level_3(n);
	sink += r;
	return r + 2;
}

__attribute__((noinline)) unsigned long level_1(int n)
{
	unsigned long r = level_2(n);
	sink += r;
	return r + 1;
}

__attribute__((noinline)) unsigned long alloc_shallow(int n)
{
	for (int i = 0; i < n; i++)
		hold(calloc(4, 32));
	return (unsigned long)nkeep;
}

__attribute__((noinline)) unsigned long alloc_leaf(int n)
{
	unsigned long s = 0;

	for (int i = 0; i < n; i++) {
		char *p = malloc(100);
		if (!p)
			abort();
		p[0] = (char)i;
		s += (unsigned long)(unsigned char)p[0];
		/* leaked on purpose: not kept */
		__asm__ volatile("" : : "r"(p) : "memory");
	}
	return s;
}

__attribute__((noinline)) unsigned long recurse(int depth, int n)
{
	unsigned long r = depth ? recurse(depth - 1, n) : alloc_leaf(n);
	sink += r;
	return r + (unsigned long)depth;
}

__attribute__((noinline)) unsigned long alloc_realloc(int n)
{
	char *p = NULL;

	for (int i = 0; i < n; i++) {
		p = realloc(p, 1000 * (size_t)(i + 1));
		if (!p)
			abort();
		p[0] = 1;
	}
	hold(p);
	return (unsigned long)nkeep;
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

int main(void)
{
	unsigned long r = 0;

	r += level_1(50);
	r += alloc_shallow(20);
	r += recurse(10, 7);
	r += alloc_realloc(5);
	which_libunwind();
	for (int i = 0; i < nkeep; i++)
		free(keep[i]);
	printf("%lu\n", r + sink);
	return 0;
}
