// Shared by the C++ exception tests (tests/eh/*.cc, tests/scripts/eh.sh).
//
// Each program prints deterministic lines on stdout -- the same whichever
// unwinder runs it (libgcc_s, libstackwalk_unwind by LD_PRELOAD, or linked)
// -- and reports on stderr which library defines _Unwind_RaiseException,
// so the driver can check that the stackwalk library really is the one in
// use:  "eh: unwinder <path of the defining object>".
#ifndef SW_TEST_EH_COMMON_H
#define SW_TEST_EH_COMMON_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

// eh_report_unwinder - print on stderr the object that defines the
// process's _Unwind_RaiseException (global lookup order), and
// _Unwind_Resume (what landing pads call).
static inline void eh_report_unwinder(void)
{
	const char *syms[] = { "_Unwind_RaiseException", "_Unwind_Resume", "_Unwind_GetIP" };
	for (const char *s : syms) {
		void *p = dlsym(RTLD_DEFAULT, s);
		Dl_info di;
		if (p && dladdr(p, &di) && di.dli_fname)
			fprintf(stderr, "eh: unwinder %s %s\n", s, di.dli_fname);
		else
			fprintf(stderr, "eh: unwinder %s not found\n", s);
	}
}

// quick mode (the sanitizer run) shrinks loops
static inline bool eh_quick(void)
{
	const char *m = getenv("SW_TEST_MODE");
	return m && strcmp(m, "quick") == 0;
}

// Deterministic check: prints "ok WHAT" or "FAIL WHAT (detail)"; counts.
static int eh_failures;
#define EH_CHECK(cond, what, ...)                                               \
	do {                                                                    \
		if (cond) {                                                     \
			printf("ok %s\n", what);                                \
		} else {                                                        \
			eh_failures++;                                          \
			printf("FAIL %s: %s: ", what, #cond);                   \
			printf(__VA_ARGS__);                                    \
			printf("\n");                                           \
		}                                                               \
		fflush(stdout);                                                 \
	} while (0)

static inline int eh_finish(const char *name)
{
	printf("%s: %s\n", name, eh_failures ? "FAILED" : "done");
	fflush(stdout);
	return eh_failures ? 1 : 0;
}

#endif
