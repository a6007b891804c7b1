/*
 * table.build.libc: how long sw_table_build takes for the loaded libc's
 * .eh_frame (through its .eh_frame_hdr, as the unwinder would build it),
 * median of RUNS builds, in ms.  Used by bench/table.sh.
 *
 *   table_bench [RUNS]
 */
#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "table/table.h"

struct mod {
	uint64_t bias, hdr, end;
	char name[256];
};

static int cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct mod *m = arg;
	uint64_t hi = 0, hdr = 0;

	(void)size;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "/libc.so.6"))
		return 0;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
		if (ph->p_type == PT_GNU_EH_FRAME)
			hdr = a;
	}
	m->bias = info->dlpi_addr;
	m->hdr = hdr;
	m->end = hi;
	snprintf(m->name, sizeof(m->name), "%s", info->dlpi_name);
	return 1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 11;
	struct mod m = { 0 };
	struct sw_eh_hdr hdr;
	struct sw_cfi_section sec;
	struct sw_diag diag = { 0 };
	double ms[101];

	if (runs < 1 || runs > 101)
		runs = 11;
	dl_iterate_phdr(cb, &m);
	if (!m.hdr) {
		fprintf(stderr, "table_bench: libc.so.6 not found among the loaded modules\n");
		return 1;
	}
	if (sw_eh_hdr_parse(&hdr, (const void *)(uintptr_t)m.hdr, m.end - m.hdr, m.hdr, &diag) < 0 ||
	    !hdr.table) {
		fprintf(stderr, "table_bench: libc's .eh_frame_hdr has no table\n");
		return 1;
	}
	/* the source as the unwinder builds a loaded module's (src/unwind/tables.c) */
	struct sw_table_src src;
	sw_table_src_eh(&src, &sec, (const void *)(uintptr_t)hdr.eh_frame_ptr, m.end - hdr.eh_frame_ptr,
			hdr.eh_frame_ptr, &hdr, m.hdr);
	src.bias = m.bias;
	uint32_t size = 0, rows = 0, rules = 0;
	for (int i = 0; i < runs; i++) {
		struct sw_table *t = NULL;
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		int rc = sw_table_build(&src, &t, &diag);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (rc < 0) {
			char msg[200];
			sw_diag_format(&diag, msg, sizeof(msg));
			fprintf(stderr, "table_bench: %s\n", msg);
			return 1;
		}
		ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		size = t->size;
		rows = t->nrows;
		rules = t->nrules;
		sw_table_free(t);
	}
	qsort(ms, (size_t)runs, sizeof(ms[0]), cmp);
	fprintf(stderr, "bench: %s (loaded): %u-byte table, %u rows, %u rules; build ms min %.2f max %.2f\n",
		m.name, size, rows, rules, ms[0], ms[runs - 1]);
	printf("table.build.libc: %.2f ms\n", ms[runs / 2]);
	return 0;
}
