/*
 * libFuzzer target: a core file as sw_as_open_core reads it
 * (src/remote/core.c: ELF header, program headers, PT_LOAD, the notes
 * NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE, the module
 * headers and the dynamic linker's r_debug list in the core's memory, the
 * vDSO image), then walks of every thread through the address space
 * (src/remote/space.c and the cursor's remote path).
 *
 * Input layout: the core file itself, written to a memfd that is opened
 * through /proc/self/fd (the reader takes a path).  No JIT interface nor
 * perf map (SW_AS_NO_JIT: a perf map under /tmp would make runs depend
 * on the machine); the module paths the input names are opened as they
 * are (real files on this machine, build-ids checked).  Each thread is
 * walked for at most 256 steps and every frame's PC named.
 * fuzz/make_seeds_core.sh makes seeds from gcore cores of a small program
 * (shrunk to the bytes a walk reads: notes, the stacks near SP, the
 * modules' headers, the vDSO).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stackwalk.h"
#include "stackwalk/remote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static int core_fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (core_fd < 0) {
		core_fd = memfd_create("fuzz_core", MFD_CLOEXEC);
		CHECK(core_fd >= 0);
	}
	CHECK(ftruncate(core_fd, 0) == 0);
	size_t done = 0;
	while (done < size) {
		ssize_t n = pwrite(core_fd, data + done, size - done, (off_t)done);
		CHECK(n > 0);
		done += (size_t)n;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", core_fd);

	char err[256];
	err[0] = 0;
	struct sw_as_options opt;
	memset(&opt, 0, sizeof opt);
	opt.size = sizeof opt;
	opt.flags = SW_AS_NO_JIT;
	opt.errbuf = err;
	opt.errsize = sizeof err;
	sw_addr_space_t *as = NULL;
	int rc = sw_as_open_core(path, &opt, &as);
	if (rc != 0) {
		CHECK(as == NULL);
		CHECK(memchr(err, 0, sizeof err) != NULL);
		return 0;
	}
	CHECK(as && sw_as_kind(as) == SW_AS_CORE);
	(void)strlen(sw_as_warnings(as));

	size_t nmods = sw_as_module_count(as);
	for (size_t i = 0; i < nmods; i++) {
		struct sw_as_module m;
		CHECK(sw_as_get_module(as, i, &m) == 0);
		CHECK(m.start <= m.end);
		(void)strlen(m.path);
		if (m.file)
			(void)strlen(m.file);
	}
	size_t n = sw_as_thread_count(as);
	CHECK(n > 0);
	for (size_t i = 0; i < n; i++) {
		struct sw_as_thread t;
		CHECK(sw_as_get_thread(as, i, &t) == 0);
		CHECK(memchr(t.name, 0, sizeof t.name) != NULL);
		sw_cursor_t cur;
		if (sw_init_remote(&cur, as, i) != 0)
			continue;
		for (int step = 0; step < 256; step++) {
			char name[128];
			uint64_t off = 0;
			uint64_t pc = sw_get_ip(&cur);
			if (sw_as_get_proc_name(as, sw_get_lookup_pc(&cur), name, sizeof name, &off) == 0)
				CHECK(memchr(name, 0, sizeof name) != NULL);
			(void)sw_as_find_module(as, pc, NULL);
			(void)sw_get_frame_source(&cur);
			if (sw_step(&cur) != 0)
				break;
		}
		uint8_t word[8];
		(void)sw_as_read(as, t.stack_lo, word, sizeof word);
	}
	sw_as_free(as);
	/* the parsed files the input named: not kept across inputs */
	sw_as_cache_flush();
	return 0;
}
