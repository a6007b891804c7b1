/*
 * FDE lookup and row computation benchmark over a real library's
 * .eh_frame / .eh_frame_hdr (default: libstdc++, the largest common one).
 *
 *   cfi_bench [FILE [NAME]]
 *
 * Collects the pc_begin of every FDE plus one pseudo-random PC inside each
 * FDE, shuffles them, and times, with CLOCK_MONOTONIC over enough
 * iterations for each run to last about RUN_NS:
 *   cfi.fde_lookup.NAME           sw_cfi_find_fde_hdr (binary search + FDE/CIE parse)
 *   cfi.fde_lookup_hdr_only.NAME  sw_eh_hdr_lookup alone
 *   cfi.row_at.NAME               sw_cfa_row_at (FDE and CIE already parsed)
 * Each figure is the median of RUNS runs, printed as `name: value unit`
 * on stdout; everything else goes to stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dwarf/cfi.h"
#include "elf/elf.h"
#include "stackwalk.h"
#include "bench_util.h"

#define RUNS 5
#define RUN_NS 200000000.0   /* aim for ~0.2 s per timed run */

struct probe {
	uint64_t pc;
	struct sw_fde fde;       /* for the row benchmark */
	struct sw_cie cie;
};

static volatile uint64_t sink;


enum what { FIND_FDE, HDR_ONLY, ROW_AT };

struct ctx {
	const struct sw_eh_hdr *hdr;
	const struct sw_cfi_section *sec;
	struct probe *p;
	size_t n;
};

/* One pass over all probes; returns the number of failures. */
static size_t pass(const struct ctx *c, enum what w)
{
	size_t fails = 0;
	uint64_t acc = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct probe *p = &c->p[i];
		int rc;

		switch (w) {
		case FIND_FDE: {
			struct sw_fde fde;
			struct sw_cie cie;
			fde.pc_begin = 0;
			rc = sw_cfi_find_fde_hdr(c->hdr, c->sec, p->pc, &fde, &cie, NULL);
			acc += fde.pc_begin;
			break;
		}
		case HDR_ONLY: {
			uint64_t addr = 0, start = 0;
			rc = sw_eh_hdr_lookup(c->hdr, p->pc, &addr, &start);
			acc += addr ^ start;
			break;
		}
		default: {
			struct sw_cfa_row row;
			row.loc = 0;
			row.cfa_offset = 0;
			rc = sw_cfa_row_at(c->sec, &p->cie, &p->fde, p->pc, &row, NULL);
			acc += row.loc + (uint64_t)row.cfa_offset;
			break;
		}
		}
		fails += rc != 0;
	}
	sink += acc;
	return fails;
}

/* Median ns per operation over RUNS runs. */
static double bench(const struct ctx *c, enum what w, const char *label)
{
	double t0, t, times[RUNS];
	unsigned iters;
	size_t fails;

	/* warm up, check, and size the runs */
	t0 = now_ns();
	fails = pass(c, w);
	t = now_ns() - t0;
	if (fails)
		fprintf(stderr, "cfi_bench: %s: %zu of %zu probes failed\n", label, fails, c->n);
	iters = t > 0 ? (unsigned)(RUN_NS / t) : 1000;
	if (iters < 1)
		iters = 1;
	for (int r = 0; r < RUNS; r++) {
		t0 = now_ns();
		for (unsigned k = 0; k < iters; k++)
			pass(c, w);
		times[r] = (now_ns() - t0) / ((double)iters * (double)c->n);
	}
	qsort(times, RUNS, sizeof(times[0]), cmp_double);
	fprintf(stderr, "cfi_bench: %s: %u x %zu per run, runs %.1f..%.1f ns\n", label, iters,
		c->n, times[0], times[RUNS - 1]);
	return times[RUNS / 2];
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
	const char *name = argc > 2 ? argv[2] : "libstdcxx";
	struct sw_elf elf;
	struct sw_elf_section eh, eh_hdr;
	struct sw_cfi_section sec;
	struct sw_eh_hdr hdr;
	struct sw_cfi_entry ent;
	struct sw_diag diag;
	struct probe *p;
	size_t n = 0, cap = 1024, nfde = 0;
	uint64_t off = 0;
	char msg[200];
	int rc;

	rc = sw_elf_open_file(&elf, path);
	if (rc < 0) {
		fprintf(stderr, "cfi_bench: %s: %s\n", path, sw_strerror(rc));
		return 1;
	}
	if (sw_elf_find_section(&elf, ".eh_frame", &eh) < 0 || !eh.data ||
	    sw_elf_find_section(&elf, ".eh_frame_hdr", &eh_hdr) < 0 || !eh_hdr.data) {
		fprintf(stderr, "cfi_bench: %s: no .eh_frame / .eh_frame_hdr\n", path);
		return 1;
	}
	sw_cfi_section_init(&sec, eh.data, eh.size, eh.addr, true, ".eh_frame");
	sec.datarel = eh_hdr.addr;
	memset(&diag, 0, sizeof(diag));
	rc = sw_eh_hdr_parse(&hdr, eh_hdr.data, eh_hdr.size, eh_hdr.addr, &diag);
	if (rc < 0) {
		sw_diag_format(&diag, msg, sizeof(msg));
		fprintf(stderr, "cfi_bench: %s: %s\n", path, msg);
		return 1;
	}

	p = malloc(cap * sizeof(*p));
	if (!p)
		return 1;
	/* every FDE: its first PC and one PC inside */
	while (sw_cfi_entry_at(&sec, off, &ent, NULL) == 0 && ent.kind != SW_CFI_ZERO) {
		struct sw_fde fde;
		struct sw_cie cie;

		if (ent.kind == SW_CFI_FDE &&
		    sw_cfi_parse_fde(&sec, off, &fde, &cie, NULL) == 0 && fde.pc_end > fde.pc_begin) {
			uint64_t pcs[2] = { fde.pc_begin,
					    fde.pc_begin + rng() % (fde.pc_end - fde.pc_begin) };
			nfde++;
			for (int k = 0; k < 2; k++) {
				if (n == cap) {
					cap *= 2;
					p = realloc(p, cap * sizeof(*p));
					if (!p)
						return 1;
				}
				p[n].pc = pcs[k];
				p[n].fde = fde;
				p[n].cie = cie;
				n++;
			}
		}
		off = ent.end;
	}
	if (n == 0) {
		fprintf(stderr, "cfi_bench: %s: no FDEs\n", path);
		return 1;
	}
	/* Fisher-Yates: no locality between consecutive lookups */
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)(rng() % (i + 1));
		struct probe t = p[i];
		p[i] = p[j];
		p[j] = t;
	}
	fprintf(stderr, "cfi_bench: %s: %zu FDEs (header lists %" PRIu64 "), %zu probe PCs\n",
		path, nfde, hdr.fde_count, n);

	struct ctx c = { .hdr = &hdr, .sec = &sec, .p = p, .n = n };
	double find = bench(&c, FIND_FDE, "sw_cfi_find_fde_hdr");
	double hdr_only = bench(&c, HDR_ONLY, "sw_eh_hdr_lookup");
	double row = bench(&c, ROW_AT, "sw_cfa_row_at");

	printf("cfi.fde_lookup.%s: %.1f ns/lookup\n", name, find);
	printf("cfi.fde_lookup_hdr_only.%s: %.1f ns/lookup\n", name, hdr_only);
	printf("cfi.row_at.%s: %.1f ns/row\n", name, row);
	free(p);
	sw_elf_close(&elf);
	return 0;
}
