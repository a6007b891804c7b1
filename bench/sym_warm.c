/*
 * sym_warm FILE ADDRS [ROUNDS]: warm, in-process symbolization cost.
 * One symbolizer (sw_symbolizer_new), every address of ADDRS (one
 * link-time address of FILE per line, 0x...) looked up once with
 * sw_symbolize_file to warm it up (files opened, units parsed), then ROUNDS
 * (default 20) timed passes over all of them.  Prints
 *   symbolize.warm.stackwalk: N ns/address
 * the best pass (least disturbed by the other work on the machine); on
 * stderr, how many addresses had a function name and the symbolizer's
 * counters.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <stackwalk/symbolize.h>

#include "bench_util.h"

#define MAX_FRAMES 64

int main(int argc, char **argv)
{
	struct sw_sym_frame frames[MAX_FRAMES];
	struct sw_sym_stats st;
	sw_symbolizer_t *s;
	uint64_t *addrs = NULL, a;
	size_t n = 0, cap = 0, named = 0;
	int rounds = argc > 3 ? atoi(argv[3]) : 20, rc;
	double best = 0;
	FILE *f;

	if (argc < 3 || rounds < 1) {
		fprintf(stderr, "usage: sym_warm FILE ADDRS [ROUNDS]\n");
		return 2;
	}
	f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	while (fscanf(f, "%" SCNx64, &a) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			addrs = realloc(addrs, cap * sizeof(*addrs));
			if (!addrs) {
				perror("sym_warm");
				return 1;
			}
		}
		addrs[n++] = a;
	}
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "sym_warm: no addresses in %s\n", argv[2]);
		return 1;
	}
	rc = sw_symbolizer_new(NULL, &s);
	if (rc != 0) {
		fprintf(stderr, "sym_warm: sw_symbolizer_new: %s\n", sw_strerror(rc));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		rc = sw_symbolize_file(s, argv[1], addrs[i], frames, MAX_FRAMES, NULL);
		if (rc < 0 && rc != SW_ENOTFOUND) {
			fprintf(stderr, "sym_warm: sw_symbolize_file(%s, 0x%" PRIx64 "): %s\n", argv[1],
				addrs[i], sw_strerror(rc));
			return 1;
		}
		if (rc >= 1 && frames[rc < MAX_FRAMES ? rc - 1 : MAX_FRAMES - 1].function)
			named++;
	}
	for (int r = 0; r < rounds; r++) {
		double t0 = now_ns(), t;
		uint64_t sink = 0;

		for (size_t i = 0; i < n; i++)
			sink += (uint64_t)sw_symbolize_file(s, argv[1], addrs[i], frames, MAX_FRAMES, NULL);
		t = (now_ns() - t0) / (double)n;
		if (r == 0 || t < best)
			best = t;
		__asm__ volatile("" : : "r"(sink));
	}
	if (sw_symbolizer_stats(s, &st) == 0)
		fprintf(stderr, "sym_warm: %zu of %zu addresses named; modules %" PRIu64 ", units %" PRIu64
			" (%" PRIu64 " parsed), arena %" PRIu64 " bytes\n", named, n, st.modules, st.units,
			st.units_parsed, st.arena_bytes);
	printf("symbolize.warm.stackwalk: %.1f ns/address\n", best);
	sw_symbolizer_free(s);
	free(addrs);
	return 0;
}
