/*
 * local_cxx: C++ frames.  A walk from inside a template member function
 * called through a lambda, a virtual function and a function with a
 * try/catch block prints unw_get_proc_name's names (mangled, as nongnu
 * gives them), whether unw_get_proc_info gives an LSDA and which
 * personality routine (the try/catch frame), for the comparison; checks
 * the mangled names of the frames it knows; then throws an exception
 * through the same frames and catches it (the walk must not disturb
 * C++ exception handling).
 */
#include "local_common.h"      /* first: _GNU_SOURCE */

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdexcept>

static volatile int sink;

/* the frames walk_here saw in the program: name and whether an LSDA */
static char seen[16][128];
static int seen_lsda[16], nseen;

static void walk_here(void)
{
	unw_context_t uc;
	unw_cursor_t c;
	char b[96];

	unw_getcontext(&uc);
	unw_init_local(&c, &uc);
	int i = 0;
	do {
		unw_word_t ip = 0, off = 0;
		unw_proc_info_t pi;
		char name[128];
		unw_get_reg(&c, UNW_REG_IP, &ip);
		if (!lu_in_main(ip))
			continue;
		if (unw_get_proc_name(&c, name, sizeof(name), &off) < 0)
			strcpy(name, "?");
		int rc = unw_get_proc_info(&c, &pi);
		if (nseen < 16) {
			snprintf(seen[nseen], sizeof(seen[nseen]), "%s", name);
			seen_lsda[nseen++] = rc == 0 && pi.lsda != 0;
		}
		printf("#%d %s+%#lx lsda=%d handler=%s\n", i, name, (unsigned long)off,
		       rc == 0 && pi.lsda != 0,
		       rc == 0 && pi.handler ? lu_norm(b, sizeof(b), pi.handler, 0) : "0");
		i++;
	} while (unw_step(&c) > 0);
}

namespace ns {
struct Base {
	virtual ~Base() {}
	virtual int go(int x) = 0;
};

template <typename T> struct Worker : Base {
	LU_NOINLINE_ATTR static int run(T x)
	{
		walk_here();
		if (x < 0)
			throw std::runtime_error("thrown through the walked frames");
		LU_KEEP();
		return (int)x + sink;
	}
	LU_NOINLINE_ATTR int go(int x) override
	{
		auto f = [](int y) LU_NOINLINE_ATTR { int r = Worker<T>::run((T)y); LU_KEEP(); return r; };
		int r = f(x);
		LU_KEEP();
		return r;
	}
};
}

LU_NOINLINE_ATTR int guarded(ns::Base *b, int x);
LU_NOINLINE_ATTR int guarded(ns::Base *b, int x)
{
	try {
		int r = b->go(x);
		LU_KEEP();
		return r;
	} catch (const std::exception &e) {
		printf("caught: %s\n", e.what());
		return -1;
	}
}

int main()
{
	static const char *const expect[] = { "_ZN2ns6WorkerIiE3runEi",
					      "_ZZN2ns6WorkerIiE2goEiENKUliE_clEi",
					      "_ZN2ns6WorkerIiE2goEi", "_Z7guardedPN2ns4BaseEi", "main" };

	setvbuf(stdout, NULL, _IOLBF, 0);
	ns::Worker<int> w;
	ns::Base *volatile b = &w;
	int r = guarded(b, 3);
	printf("returned %d\n", r);
	LU_CHECK(r == 3, "guarded(3) = %d", r);
	/* walk_here itself is static: maybe inlined, maybe a frame */
	int k0 = nseen > 0 && strstr(seen[0], "walk_here") ? 1 : 0;
	for (int k = 0; k < 5; k++) {
		LU_CHECK(k + k0 < nseen && !strcmp(seen[k + k0], expect[k]),
			 "frame %d: '%s', expected '%s'", k, k + k0 < nseen ? seen[k + k0] : "", expect[k]);
	}
	/* the try/catch block's frame has an LSDA (others may, for cleanups) */
	LU_CHECK(3 + k0 < nseen && seen_lsda[3 + k0], "guarded() has no LSDA");
	r = guarded(b, -1);
	printf("returned %d\n", r);
	LU_CHECK(r == -1, "guarded(-1) = %d", r);
	printf("%s\n", lu_failed ? "FAILED" : "OK");
	return lu_failed;
}
