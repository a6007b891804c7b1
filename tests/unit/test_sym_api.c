/*
 * libstackwalk_symbolize's public API on this very program (built -O2 -g
 * by the Makefile): names, files and lines of its own call sites, JIT
 * procedures, the module of every PC, options, concurrent use, and the
 * crash-handler promise — a lookup from a signal handler after a warm-up
 * calls no malloc (this program interposes malloc and counts the calls
 * made while the handler runs).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../harness.h"
#include "stackwalk.h"
#include "stackwalk/jit.h"
#include "stackwalk/symbolize.h"

/* ---- malloc counting: calls made inside the signal handler.  Plain
 * builds interpose malloc; under AddressSanitizer (which owns malloc) the
 * sanitizer's allocation hooks count instead. */
static _Atomic int in_handler;
static _Atomic int handler_mallocs;

#if defined(__SANITIZE_ADDRESS__)
void __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
						void (*f)(const volatile void *));

static void count_malloc(const volatile void *p, size_t n)
{
	(void)p, (void)n;
	if (atomic_load(&in_handler))
		atomic_fetch_add(&handler_mallocs, 1);
}

static void count_free(const volatile void *p)
{
	if (p && atomic_load(&in_handler))
		atomic_fetch_add(&handler_mallocs, 1);
}

__attribute__((constructor)) static void install_hooks(void)
{
	__sanitizer_install_malloc_and_free_hooks(count_malloc, count_free);
}
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n)
{
	if (atomic_load(&in_handler))
		atomic_fetch_add(&handler_mallocs, 1);
	return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	if (atomic_load(&in_handler))
		atomic_fetch_add(&handler_mallocs, 1);
	return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	if (atomic_load(&in_handler))
		atomic_fetch_add(&handler_mallocs, 1);
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (p && atomic_load(&in_handler))
		atomic_fetch_add(&handler_mallocs, 1);
	__libc_free(p);
}
#endif

/* ---- call sites with known lines */
static __attribute__((noinline)) uint64_t return_address(void)
{
	uint64_t ra = (uint64_t)(uintptr_t)__builtin_return_address(0);
	__asm__ volatile("" ::: "memory");
	return ra;
}

static int site_line;

/* the call on the line recorded: its return address - 1 lies in it */
static __attribute__((noinline)) uint64_t known_site(void)
{
	uint64_t pc; site_line = __LINE__; pc = return_address();
	__asm__ volatile("" ::: "memory");
	return pc - 1;
}

static const char *base(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;
	return s ? s + 1 : path;
}

static sw_symbolizer_t *make(void)
{
	sw_symbolizer_t *s = NULL;
	CHECK_EQ(sw_symbolizer_new(NULL, &s), 0);
	return s;
}

TEST(own_call_site)
{
	sw_symbolizer_t *s = make();
	struct sw_sym_frame f[8];
	struct sw_sym_module m;
	uint64_t pc = known_site();
	int n = sw_symbolize(s, pc, f, 8, &m);

	CHECK(n >= 1);
	if (n >= 1) {
		CHECK_STR(f[0].function, "known_site");
		CHECK_STR(base(f[0].file), "test_sym_api.c");
		CHECK_EQ(f[0].line, site_line);
		CHECK(f[0].column > 0);
		CHECK(!(f[0].flags & SW_SYM_FRAME_INLINED));
		CHECK(f[0].function_start <= m.address);
		CHECK(f[0].function_start == (uint64_t)(uintptr_t)known_site - m.base);
	}
	/* the module: this program, its build-id as the file says */
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = 0;
	CHECK_STR(m.path, exe);
	CHECK_EQ(m.address, pc - m.base);
	CHECK(m.file_offset != UINT64_MAX);
	CHECK(m.build_id_size == 20);

	/* the same address through the file API */
	struct sw_sym_frame g[8];
	struct sw_sym_module gm;
	CHECK_EQ(sw_symbolize_file(s, exe, m.address, g, 8, &gm), n);
	CHECK_STR(g[0].function, f[0].function);
	CHECK_EQ(g[0].line, f[0].line);
	CHECK_EQ(gm.file_offset, m.file_offset);
	sw_symbolizer_free(s);
}

TEST(libc_function_named)
{
	sw_symbolizer_t *s = make();
	struct sw_sym_frame f[8];
	struct sw_sym_module m;
	void *fn = dlsym(RTLD_DEFAULT, "getpid");
	int n = sw_symbolize(s, (uint64_t)(uintptr_t)fn, f, 8, &m);

	CHECK(n >= 1);
	CHECK(m.path && strstr(m.path, "libc.so.6"));
	/* by DWARF (libc6-dbg) or by .symtab/.dynsym: getpid or an alias */
	CHECK(n >= 1 && f[n > 8 ? 7 : n - 1].function &&
	      strstr(f[n > 8 ? 7 : n - 1].function, "getpid"));
	sw_symbolizer_free(s);
}

TEST(unknown_pc)
{
	sw_symbolizer_t *s = make();
	struct sw_sym_frame f[2];
	void *anon = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK_EQ(sw_symbolize(s, (uint64_t)(uintptr_t)anon + 16, f, 2, NULL), SW_ENOTFOUND);
	munmap(anon, 4096);
	CHECK_EQ(sw_symbolize_file(s, "/nonexistent/file", 0x1000, f, 2, NULL), SW_EIO);
	CHECK_EQ(sw_symbolize(NULL, 0, f, 2, NULL), SW_EINVAL);
	CHECK_EQ(sw_symbolize(s, 0x1000, NULL, 2, NULL), SW_EINVAL);
	sw_symbolizer_free(s);
}

TEST(options)
{
	sw_symbolizer_t *s = NULL;
	struct sw_sym_options o = { .size = sizeof(o), .flags = 0x80 };

	CHECK_EQ(sw_symbolizer_new(&o, &s), SW_EINVAL);
	o.size = 4;
	o.flags = 0;
	CHECK_EQ(sw_symbolizer_new(&o, &s), SW_EINVAL);
	CHECK_EQ(sw_symbolizer_new(NULL, NULL), SW_EINVAL);
	sw_symbolizer_free(NULL);

	/* symbol tables only: no file or line */
	o.size = sizeof(o);
	o.flags = SW_SYM_NO_DWARF;
	CHECK_EQ(sw_symbolizer_new(&o, &s), 0);
	struct sw_sym_frame f[4];
	uint64_t pc = known_site();
	CHECK_EQ(sw_symbolize(s, pc, f, 4, NULL), 1);
	CHECK_STR(f[0].function, "known_site");
	/* a static function: its file from the symbol table's STT_FILE
	 * (no directory), no line */
	CHECK_STR(f[0].file, "test_sym_api.c");
	CHECK_EQ(f[0].line, 0);
	CHECK(f[0].flags & SW_SYM_FRAME_SYMTAB);
	sw_symbolizer_free(s);

	/* a tiny memory cap: shorter answers, never a crash */
	o.flags = 0;
	o.memory_cap = 1 << 20;
	CHECK_EQ(sw_symbolizer_new(&o, &s), 0);
	int n = sw_symbolize(s, pc, f, 4, NULL);
	CHECK(n == 1 || n == SW_ENOMEM);
	struct sw_sym_stats st;
	CHECK_EQ(sw_symbolizer_stats(s, &st), 0);
	CHECK(st.arena_bytes <= (1 << 20));
	sw_symbolizer_free(s);
}

TEST(demangle)
{
	char buf[256];

	CHECK(sw_demangle("_ZN6shapes9ProcessorIdE5applyEi", buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "shapes::Processor<double>::apply(int)");
	CHECK_EQ(sw_demangle("main", buf, sizeof(buf)), SW_EINVAL);
	/* truncation keeps a terminated prefix */
	CHECK(sw_demangle("_ZN6shapes9ProcessorIdE5applyEi", buf, 8) > 0);
	CHECK_EQ(strlen(buf), 7);
}

/* JIT code (in no module): named by the registry, marked as such, and the
 * name outlives the registration */
TEST(jit_procedure)
{
	uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct sw_jit_proc p;
	sw_jit_handle_t h;

	CHECK(code != MAP_FAILED);
	memset(&p, 0, sizeof(p));
	p.start = sw_jit_addr(code);
	p.end = p.start + 64;
	p.name = "jitted_fn";
	p.kind = SW_JIT_UNWIND_FRAME;
	static const struct sw_jit_line lines[] = { { 0, 10 }, { 4, 11 }, { 12, 13 } };
	p.file = "generated.js";
	p.lines = lines;
	p.nlines = 3;
	int rc = sw_jit_add_procs(&p, 1, &h);
	CHECK_EQ(rc, 0);
	if (rc != 0)
		return;
	sw_symbolizer_t *s = make();
	struct sw_sym_frame f[2];
	struct sw_sym_module m;
	int n = sw_symbolize(s, p.start + 8, f, 2, &m);
	CHECK_EQ(n, 1);
	CHECK_STR(f[0].function, "jitted_fn");
	CHECK(f[0].flags & SW_SYM_FRAME_JIT);
	CHECK_EQ(f[0].function_start, p.start);
	CHECK_STR(f[0].file, "generated.js");
	CHECK_EQ(f[0].line, 11);
	CHECK_STR(m.path, "[jit]");
	CHECK_EQ(sw_symbolize(s, p.start + 40, f, 2, &m), 1);
	CHECK_EQ(f[0].line, 13);
	char file[64];
	uint32_t line = 0;
	CHECK_EQ(sw_jit_get_line(p.start, file, sizeof(file), &line), 0);
	CHECK_EQ(line, 10);
	CHECK_STR(file, "generated.js");
	CHECK_EQ(sw_jit_get_line(p.start + 64, file, sizeof(file), &line), SW_ENOTFOUND);
	const char *name = f[0].function, *fname = f[0].file;
	CHECK_EQ(sw_jit_remove(h), 0);
	CHECK_STR(name, "jitted_fn");
	CHECK_STR(fname, "generated.js");
	CHECK_EQ(sw_jit_get_line(p.start, file, sizeof(file), &line), SW_ENOTFOUND);
	CHECK_EQ(sw_symbolize(s, p.start + 8, f, 2, &m), SW_ENOTFOUND);
	sw_symbolizer_free(s);
	munmap(code, 4096);
}

/* the table and callback forms carry lines too */
static const struct sw_jit_line cb_lines[] = { { 0, 100 }, { 16, 101 } };

static int cb_describe(void *arg, uint64_t pc, struct sw_jit_proc *out)
{
	uint64_t base = (uint64_t)(uintptr_t)arg;
	(void)pc;
	out->start = base;
	out->end = base + 32;
	out->name = "lazy_fn";
	out->kind = SW_JIT_UNWIND_FRAME;
	out->file = "lazy.src";
	out->lines = cb_lines;
	out->nlines = 2;
	return 0;
}

TEST(jit_lines_table_and_callback)
{
	uint8_t *code = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t start = sw_jit_addr(code);
	sw_jit_handle_t t, c;
	char file[64];
	uint32_t line = 0;

	CHECK_EQ(sw_jit_table_create(start, start + 4096, 16, &t), 0);
	struct sw_jit_proc p;
	memset(&p, 0, sizeof(p));
	p.start = start + 64;
	p.end = start + 128;
	p.name = "table_fn";
	p.kind = SW_JIT_UNWIND_FRAME;
	static const struct sw_jit_line tl[] = { { 0, 7 }, { 8, 9 } };
	p.file = "table.src";
	p.lines = tl;
	p.nlines = 2;
	CHECK_EQ(sw_jit_table_append(t, &p, 1), 0);
	CHECK_EQ(sw_jit_table_publish(t), 0);
	CHECK_EQ(sw_jit_get_line(start + 64 + 9, file, sizeof(file), &line), 0);
	CHECK_EQ(line, 9);
	CHECK_STR(file, "table.src");

	CHECK_EQ(sw_jit_add_callback(start + 4096, start + 8192, cb_describe,
				     (void *)(uintptr_t)(start + 4096), &c), 0);
	sw_symbolizer_t *s = make();
	struct sw_sym_frame f[2];
	CHECK_EQ(sw_symbolize(s, start + 4096 + 20, f, 2, NULL), 1);
	CHECK_STR(f[0].function, "lazy_fn");
	CHECK_STR(f[0].file, "lazy.src");
	CHECK_EQ(f[0].line, 101);
	CHECK_EQ(sw_symbolize(s, start + 64 + 1, f, 2, NULL), 1);
	CHECK_STR(f[0].function, "table_fn");
	CHECK_EQ(f[0].line, 7);
	sw_symbolizer_free(s);
	CHECK_EQ(sw_jit_remove(c), 0);
	CHECK_EQ(sw_jit_remove(t), 0);
	munmap(code, 8192);
}

/* ---- from a signal handler, after a warm-up: no malloc */
static sw_symbolizer_t *sig_s;
static uint64_t sig_pc;
static struct sw_sym_frame sig_f[8];
static int sig_n;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_store(&in_handler, 1);
	sig_n = sw_symbolize(sig_s, sig_pc, sig_f, 8, NULL);
	void *pcs[64];
	int depth = sw_backtrace(pcs, 64);
	for (int i = 1; i < depth; i++) {
		struct sw_sym_frame f[8];
		sw_symbolize(sig_s, (uint64_t)(uintptr_t)pcs[i] - 1, f, 8, NULL);
	}
	atomic_store(&in_handler, 0);
}

TEST(signal_handler_no_malloc)
{
	CHECK_EQ(sw_symbolizer_new(NULL, &sig_s), 0);
	CHECK(sw_symbolizer_preload(sig_s) >= 2);
	sig_pc = known_site();
	/* warm-up: the same lookups outside the handler */
	struct sw_sym_frame f[8];
	CHECK(sw_symbolize(sig_s, sig_pc, f, 8, NULL) >= 1);
	void *pcs[64];
	int depth = sw_backtrace(pcs, 64);
	for (int i = 1; i < depth; i++)
		sw_symbolize(sig_s, (uint64_t)(uintptr_t)pcs[i] - 1, f, 8, NULL);

	signal(SIGUSR1, on_usr1);
	raise(SIGUSR1);
	signal(SIGUSR1, SIG_DFL);
	CHECK_EQ(atomic_load(&handler_mallocs), 0);
	CHECK(sig_n >= 1);
	CHECK_STR(sig_f[0].function, "known_site");
	CHECK_EQ(sig_f[0].line, site_line);
	sw_symbolizer_free(sig_s);
}

/* ---- many threads on one symbolizer, all from cold */
static sw_symbolizer_t *thr_s;
static uint64_t thr_pc;

static void *worker(void *arg)
{
	long bad = 0;
	(void)arg;
	for (int i = 0; i < 200; i++) {
		struct sw_sym_frame f[8];
		int n = sw_symbolize(thr_s, thr_pc, f, 8, NULL);
		if (n < 1 || !f[0].function || strcmp(f[0].function, "known_site") ||
		    f[0].line != (uint32_t)site_line)
			bad++;
	}
	return (void *)bad;
}

TEST(threads)
{
	pthread_t t[8];

	CHECK_EQ(sw_symbolizer_new(NULL, &thr_s), 0);
	thr_pc = known_site();
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	long bad = 0;
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	CHECK_EQ(bad, 0);
	sw_symbolizer_free(thr_s);
}

SW_TEST_MAIN
