/*
 * One symbolizer shared by 6 threads from cold, under ThreadSanitizer
 * (tests/scripts/tsan.sh): every thread symbolizes the same mix of PCs —
 * this program's functions, libc's (DWARF from libc6-dbg when installed)
 * and an address through the file API — so files are opened, DWARF units
 * parsed, line tables decoded and names demangled concurrently, published
 * lock-free.  Every thread must get the answer a single thread gets.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <stackwalk/symbolize.h>

#define NT 6
#define NPC 6

static sw_symbolizer_t *shared;
static uint64_t pcs[NPC];
static char want[NPC][512];

static __attribute__((noinline)) int leaf(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

static void describe(sw_symbolizer_t *s, uint64_t pc, char *out, size_t size)
{
	struct sw_sym_frame f[16];
	int n = sw_symbolize(s, pc, f, 16, NULL);
	size_t len = (size_t)snprintf(out, size, "%d", n);
	for (int i = 0; i < n && i < 16 && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, " %s@%s:%u",
					f[i].name ? f[i].name : "??", f[i].file ? f[i].file : "??",
					f[i].line);
}

static void *worker(void *arg)
{
	long bad = 0;
	(void)arg;
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < NPC; i++) {
			char got[512];
			describe(shared, pcs[(i + round) % NPC], got, sizeof(got));
			if (strcmp(got, want[(i + round) % NPC]) != 0) {
				fprintf(stderr, "pc %#llx: got %s, want %s\n",
					(unsigned long long)pcs[(i + round) % NPC], got,
					want[(i + round) % NPC]);
				bad++;
			}
		}
	}
	return (void *)bad;
}

int main(void)
{
	const char *libc_fns[] = { "strtoul", "bsearch", "strtod", "ecvt" };
	sw_symbolizer_t *ref;

	pcs[0] = (uint64_t)(uintptr_t)leaf;
	pcs[1] = (uint64_t)(uintptr_t)main + 4;
	for (int i = 0; i < 4; i++)
		pcs[2 + i] = (uint64_t)(uintptr_t)dlsym(RTLD_DEFAULT, libc_fns[i]) + 8;
	/* the expected answers, from a symbolizer used by one thread */
	if (sw_symbolizer_new(NULL, &ref) != 0)
		return 2;
	for (int i = 0; i < NPC; i++)
		describe(ref, pcs[i], want[i], sizeof(want[i]));
	sw_symbolizer_free(ref);

	if (sw_symbolizer_new(NULL, &shared) != 0)
		return 2;
	pthread_t t[NT];
	for (int i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	long bad = 0;
	for (int i = 0; i < NT; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	struct sw_sym_stats st;
	sw_symbolizer_stats(shared, &st);
	printf("tsan_sym: %d threads x 20 rounds x %d pcs, %ld wrong; %llu files, %llu of %llu units parsed\n",
	       NT, NPC, bad, (unsigned long long)st.modules, (unsigned long long)st.units_parsed,
	       (unsigned long long)st.units);
	for (int i = 0; i < NPC; i++)
		printf("  %s\n", want[i]);
	sw_symbolizer_free(shared);
	return bad ? 1 : leaf(-1);
}
