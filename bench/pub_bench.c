/*
 * pub_bench: what publishing costs per registration.
 *
 *   pub_bench N
 *
 * Registers N procedures one sw_jit_add_procs call each (standard-frame
 * descriptors with names, 64-byte procedures in a mapped, readable range:
 * jitdump copies the code) with the publishers of each mode on, then
 * removes them (not timed).  Prints, in ns per procedure:
 *   jit.register.gdb             GDB JIT interface (an ELF object each)
 *   jit.register.perf            perf map line + jitdump records
 *   jit.register.libgcc          __register_frame (libgcc_s here)
 *   jit.register.all_publishers  all of them (nongnu libunwind too when
 *                                loaded: it is not, in this program)
 * and the registration without publishers on stderr for reference.  The
 * median of 3 rounds per mode.  perf files go to $JITDUMPDIR (run.sh
 * points it at a scratch directory) and /tmp/perf-PID.map, removed after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "bench_util.h"

static uint8_t *code;
static size_t nprocs;
static sw_jit_handle_t *handles;
static char (*names)[32];

static double round_ns(unsigned mask)
{
	static const uint32_t ret_at = 63;
	double t0, t1;

	if (sw_jit_set_publishers(mask) < 0) {
		fprintf(stderr, "pub_bench: sw_jit_set_publishers(%#x) failed\n", mask);
		exit(1);
	}
	t0 = now_ns();
	for (size_t i = 0; i < nprocs; i++) {
		struct sw_jit_proc p;
		memset(&p, 0, sizeof(p));
		p.start = (uint64_t)(uintptr_t)code + i * 64;
		p.end = p.start + 64;
		p.name = names[i];
		p.kind = SW_JIT_UNWIND_FRAME;
		p.u.frame.flags = SW_JIT_FRAME_FP;
		p.u.frame.nepilogues = 1;
		p.u.frame.epilogues = &ret_at;
		int rc = sw_jit_add_procs(&p, 1, &handles[i]);
		if (rc < 0) {
			fprintf(stderr, "pub_bench: sw_jit_add_procs: %s\n", sw_strerror(rc));
			exit(1);
		}
	}
	t1 = now_ns();
	for (size_t i = 0; i < nprocs; i++)
		sw_jit_remove(handles[i]);
	sw_jit_set_publishers(0);
	return (t1 - t0) / (double)nprocs;
}

static double median3(unsigned mask)
{
	double r[3];

	for (int i = 0; i < 3; i++)
		r[i] = round_ns(mask);
	qsort(r, 3, sizeof(r[0]), cmp_double);
	return r[1];
}

int main(int argc, char **argv)
{
	nprocs = argc > 1 ? strtoul(argv[1], NULL, 0) : 20000;
	code = mmap(NULL, nprocs * 64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	handles = calloc(nprocs, sizeof(*handles));
	names = calloc(nprocs, sizeof(*names));
	if (code == MAP_FAILED || !handles || !names)
		return 1;
	memset(code, 0xc3, nprocs * 64);        /* ret: jitdump copies real bytes */
	for (size_t i = 0; i < nprocs; i++)
		snprintf(names[i], sizeof(names[i]), "jit_fn_%zu", i);

	double base = median3(0);
	double gdb = median3(SW_JIT_PUB_GDB);
	double perf = median3(SW_JIT_PUB_PERF_MAP | SW_JIT_PUB_JITDUMP);
	double gcc = median3(SW_JIT_PUB_LIBGCC);
	double all = median3(SW_JIT_PUB_ALL);

	fprintf(stderr, "pub_bench: %zu procedures; without publishers %.1f ns/proc\n", nprocs, base);
	printf("jit.register.gdb: %.1f ns/proc\n", gdb);
	printf("jit.register.perf: %.1f ns/proc\n", perf);
	printf("jit.register.libgcc: %.1f ns/proc\n", gcc);
	printf("jit.register.all_publishers: %.1f ns/proc\n", all);

	char map[64];
	snprintf(map, sizeof(map), "/tmp/perf-%d.map", (int)getpid());
	unlink(map);
	return 0;
}
