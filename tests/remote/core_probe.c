/*
 * core_probe: open a core file with sw_as_open_core and print what a
 * stack tool would (tests/scripts/core_bad.sh compares it with eu-stack,
 * and runs it over damaged cores: it must never crash nor hang).
 *
 *   core_probe [--exe EXE] [--sysroot DIR] [--max N] CORE
 *       open: RC MESSAGE
 *       warning: LINE                      (sw_as_warnings, one per line)
 *       thread I TID NAME signal=S fault=ADDR stack=LO-HI
 *       module START-END bias=B flags=F PATH FILE|-
 *       frame I J PC MODULE NAME+OFF source=S
 *       end I RC                           (sw_step's last return)
 *   core_probe --mutate SEED COUNT [--exe EXE] CORE
 *       COUNT variants of CORE, each with 1..8 bits flipped (in the
 *       headers, the notes, the stacks near each thread's SP, anywhere),
 *       opened and walked in turn; prints "variants N opened M frames F".
 *
 * Exits 0 unless something crashed (a sanitizer or a signal says so), 2
 * on bad usage or an unreadable CORE.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stackwalk.h"
#include "stackwalk/remote.h"

static const char *opt_exe, *opt_sysroot;
static int opt_max = 256;

static int open_core(const char *path, sw_addr_space_t **as, char *err, size_t errsize)
{
	struct sw_as_options o;
	memset(&o, 0, sizeof o);
	o.size = sizeof o;
	o.exe = opt_exe;
	o.sysroot = opt_sysroot;
	o.flags = SW_AS_NO_JIT;
	o.errbuf = err;
	o.errsize = errsize;
	err[0] = 0;
	return sw_as_open_core(path, &o, as);
}

/* Walk thread i; print its frames when `out`.  Returns the frame count. */
static int walk(const sw_addr_space_t *as, size_t i, FILE *out)
{
	sw_cursor_t cur;
	int rc = sw_init_remote(&cur, as, i), n = 0;
	if (rc != 0) {
		if (out)
			fprintf(out, "end %zu %d\n", i, rc);
		return 0;
	}
	for (;;) {
		uint64_t pc = sw_get_ip(&cur), off = 0;
		char name[256] = "??", mod[64] = "??";
		struct sw_as_module m;
		if (sw_as_get_proc_name(as, sw_get_lookup_pc(&cur), name, sizeof name, &off) != 0)
			snprintf(name, sizeof name, "??");
		if (sw_as_find_module(as, pc, &m) >= 0) {
			const char *b = strrchr(m.path, '/');
			snprintf(mod, sizeof mod, "%s", b ? b + 1 : m.path);
		}
		if (out)
			fprintf(out, "frame %zu %d %#" PRIx64 " %s %s+%#" PRIx64 " source=%d\n", i, n, pc,
				mod, name, off, sw_get_frame_source(&cur));
		n++;
		if (n >= opt_max) {
			rc = SW_ETOODEEP;
			break;
		}
		rc = sw_step(&cur);
		if (rc != 0)
			break;
	}
	if (out)
		fprintf(out, "end %zu %d\n", i, rc);
	return n;
}

static int probe(const char *path)
{
	char err[512];
	sw_addr_space_t *as = NULL;
	int rc = open_core(path, &as, err, sizeof err);
	printf("open: %d %s\n", rc, rc ? err : "");
	if (rc != 0)
		return 0;
	const char *w = sw_as_warnings(as);
	while (*w) {
		const char *nl = strchr(w, '\n');
		int len = nl ? (int)(nl - w) : (int)strlen(w);
		printf("warning: %.*s\n", len, w);
		w += len + (nl != NULL);
	}
	size_t nt = sw_as_thread_count(as), nm = sw_as_module_count(as);
	for (size_t i = 0; i < nt; i++) {
		struct sw_as_thread t;
		if (sw_as_get_thread(as, i, &t) != 0)
			continue;
		printf("thread %zu %d %s signal=%d fault=%#" PRIx64 " stack=%#" PRIx64 "-%#" PRIx64 "\n",
		       i, (int)t.tid, t.name[0] ? t.name : "-", t.signal, t.fault_addr, t.stack_lo,
		       t.stack_hi);
	}
	for (size_t i = 0; i < nm; i++) {
		struct sw_as_module m;
		if (sw_as_get_module(as, i, &m) != 0)
			continue;
		printf("module %#" PRIx64 "-%#" PRIx64 " bias=%#" PRIx64 " flags=%#x %s %s\n", m.start,
		       m.end, m.bias, m.flags, m.path, m.file ? m.file : "-");
	}
	for (size_t i = 0; i < nt; i++)
		walk(as, i, stdout);
	sw_as_free(as);
	return 0;
}

/* xorshift64*: a fixed-seed stream, the same on every machine */
static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

struct range {
	uint64_t off, len;
};

static int mutate(const char *path, uint64_t seed, long count)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		fprintf(stderr, "core_probe: %s: %s\n", path, strerror(errno));
		return 2;
	}
	size_t size = (size_t)st.st_size;
	uint8_t *orig = malloc(size);
	if (!orig || read(fd, orig, size) != (ssize_t)size) {
		fprintf(stderr, "core_probe: cannot read %s\n", path);
		return 2;
	}
	close(fd);

	/* where the flips go: headers, notes, stacks near SP, anywhere */
	struct range hdr = {0, 0}, notes[8], stacks[64];
	size_t nnotes = 0, nstacks = 0;
	Elf64_Ehdr eh;
	memcpy(&eh, orig, sizeof eh);
	hdr.len = eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr);
	if (hdr.len > size)
		hdr.len = size;
	char err[512];
	sw_addr_space_t *as = NULL;
	if (open_core(path, &as, err, sizeof err) != 0) {
		fprintf(stderr, "core_probe: %s: %s\n", path, err);
		return 2;
	}
	for (unsigned i = 0; i < eh.e_phnum && eh.e_phoff + (i + 1) * sizeof(Elf64_Phdr) <= size; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, orig + eh.e_phoff + i * sizeof ph, sizeof ph);
		if (ph.p_type == PT_NOTE && nnotes < 8 && ph.p_offset < size)
			notes[nnotes++] = (struct range){ph.p_offset, ph.p_filesz};
		if (ph.p_type != PT_LOAD)
			continue;
		for (size_t t = 0; t < sw_as_thread_count(as) && nstacks < 64; t++) {
			struct sw_as_thread th;
			sw_as_get_thread(as, t, &th);
			uint64_t sp = 0;
			sw_context_get_reg(&th.regs, SW_REG_RSP, &sp);
			if (sp < ph.p_vaddr || sp >= ph.p_vaddr + ph.p_filesz)
				continue;
			uint64_t lo = sp - ph.p_vaddr, len = 4096;
			if (len > ph.p_filesz - lo)
				len = ph.p_filesz - lo;
			stacks[nstacks++] = (struct range){ph.p_offset + lo, len};
		}
	}
	sw_as_free(as);

	char tmp[] = "/tmp/core_probe.XXXXXX";
	int tfd = mkstemp(tmp);
	if (tfd < 0 || write(tfd, orig, size) != (ssize_t)size) {
		fprintf(stderr, "core_probe: temp file: %s\n", strerror(errno));
		return 2;
	}
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	long opened = 0, frames = 0;
	for (long v = 0; v < count; v++) {
		uint64_t pos[8];
		int nflip = 1 + (int)(rng() % 8);
		for (int k = 0; k < nflip; k++) {
			struct range r = {0, size};
			switch (rng() % 4) {
			case 0: r = hdr; break;
			case 1: if (nnotes) r = notes[rng() % nnotes]; break;
			case 2: if (nstacks) r = stacks[rng() % nstacks]; break;
			default: break;
			}
			if (r.len == 0 || r.off >= size)
				r = (struct range){0, size};
			if (r.len > size - r.off)
				r.len = size - r.off;
			pos[k] = r.off + rng() % r.len;
			uint8_t b = orig[pos[k]] ^ (uint8_t)(1u << (rng() % 8));
			if (pwrite(tfd, &b, 1, (off_t)pos[k]) != 1)
				return 2;
		}
		as = NULL;
		if (open_core(tmp, &as, err, sizeof err) == 0) {
			opened++;
			(void)sw_as_warnings(as);
			for (size_t t = 0; t < sw_as_thread_count(as); t++)
				frames += walk(as, t, NULL);
			sw_as_free(as);
		}
		for (int k = 0; k < nflip; k++)
			if (pwrite(tfd, &orig[pos[k]], 1, (off_t)pos[k]) != 1)
				return 2;
	}
	close(tfd);
	unlink(tmp);
	free(orig);
	printf("variants %ld opened %ld frames %ld\n", count, opened, frames);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;
	long count = 0;
	uint64_t seed = 0;
	bool do_mutate = false;
	while (i < argc && argv[i][0] == '-' && argv[i][1] == '-') {
		if (strcmp(argv[i], "--exe") == 0 && i + 1 < argc) {
			opt_exe = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--sysroot") == 0 && i + 1 < argc) {
			opt_sysroot = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc) {
			opt_max = atoi(argv[i + 1]);
			i += 2;
		} else if (strcmp(argv[i], "--mutate") == 0 && i + 2 < argc) {
			do_mutate = true;
			seed = strtoull(argv[i + 1], NULL, 0);
			count = strtol(argv[i + 2], NULL, 0);
			i += 3;
		} else {
			break;
		}
	}
	if (i + 1 != argc) {
		fprintf(stderr, "usage: core_probe [--exe EXE] [--sysroot DIR] [--max N] "
				"[--mutate SEED COUNT] CORE\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return do_mutate ? mutate(argv[i], seed, count) : probe(argv[i]);
}
