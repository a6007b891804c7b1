/*
 * What the local_*.c programs of tests/scripts/libunwind_local.sh share.
 * Each program is built against nongnu's libunwind.h and against
 * stackwalk's (src/libunwind/include), and run on both libraries; the
 * script compares what they print.  So everything printed is made
 * independent of where things are loaded and of the environment:
 *   - a code address is "module+0xOFF" (dladdr's module, basename), or
 *     "name+0xOFF" through unw_get_proc_name in the program itself;
 *   - a stack address is "sp+0xN" / "sp-0xN" relative to the frame's SP;
 *   - small numbers are printed as they are.
 * Lines starting with '~' are printed for the log only: they may differ
 * between the libraries where nongnu's answer is not sane (the script
 * leaves them out of the comparison).
 *
 * lu_ours() tells which library runs (stackwalk's libunwind.so.8 needs
 * libstackwalk.so.0): checks of documented behaviour that nongnu
 * does not follow are made only there.
 */
#ifndef LOCAL_COMMON_H
#define LOCAL_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <inttypes.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* a function that stays a frame of its own, under its own name */
#ifdef __clang__
#define LU_NOINLINE_ATTR __attribute__((noinline, used))
#else
#define LU_NOINLINE_ATTR __attribute__((noinline, noclone, used))
#endif
#define LU_NOINLINE static LU_NOINLINE_ATTR
/* an empty asm after a call: no tail call, the frame stays */
#define LU_KEEP() __asm__ volatile("" ::: "memory")
/* v may have changed here, as far as the compiler knows: a check of it
 * afterwards reads the register (or slot) it was kept in */
#define LU_OPAQUE(v) __asm__ volatile("" : "+r"(v))

static int lu_failed;

#define LU_CHECK(cond, ...)                                                       \
	do {                                                                      \
		if (!(cond)) {                                                    \
			printf("CHECK FAILED %s:%d: ", __FILE__, __LINE__);       \
			printf(__VA_ARGS__);                                      \
			printf("\n");                                             \
			lu_failed = 1;                                            \
		}                                                                 \
	} while (0)

static inline int lu_ours(void)
{
	/* the library defining unw_step needs libstackwalk.so.0 (a program
	 * may load libstackwalk itself: its presence alone tells nothing) */
	static int known = -1;
	void *fn = dlsym(RTLD_DEFAULT, "_ULx86_64_step");
	Dl_info di;
	struct link_map *lm = NULL;
	const char *strtab = NULL;

	if (known >= 0)
		return known;
	known = 0;
	if (!fn || !dladdr1(fn, &di, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return known;
	for (const ElfW(Dyn) *d = lm->l_ld; d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_STRTAB)
			strtab = (const char *)d->d_un.d_ptr;
	for (const ElfW(Dyn) *d = lm->l_ld; strtab && d->d_tag != DT_NULL; d++)
		if (d->d_tag == DT_NEEDED && !strncmp(strtab + d->d_un.d_val, "libstackwalk.so", 15))
			known = 1;
	return known;
}

/* the module base of the program itself */
static inline uintptr_t lu_main_base(void)
{
	Dl_info di;

	if (dladdr((void *)(uintptr_t)&lu_main_base, &di) && di.dli_fbase)
		return (uintptr_t)di.dli_fbase;
	return 0;
}

static inline int lu_in_main(uint64_t addr)
{
	Dl_info di;

	return addr && dladdr((void *)(uintptr_t)addr, &di) && di.dli_fbase &&
	       (uintptr_t)di.dli_fbase == lu_main_base();
}

/* a value, normalised (see above) into buf */
static inline const char *lu_norm(char *buf, size_t size, uint64_t v, uint64_t sp)
{
	Dl_info di;

	if (v < 0x10000) {
		snprintf(buf, size, "%#" PRIx64, v);
	} else if (sp && v - sp + (1u << 20) < (2u << 20)) {
		if (v >= sp)
			snprintf(buf, size, "sp+%#" PRIx64, v - sp);
		else
			snprintf(buf, size, "sp-%#" PRIx64, sp - v);
	} else if (dladdr((void *)(uintptr_t)v, &di) && di.dli_fbase &&
		   (uintptr_t)di.dli_fbase == lu_main_base()) {
		/* the program: its two builds have different file names */
		snprintf(buf, size, "exe+%#" PRIx64, v - (uint64_t)(uintptr_t)di.dli_fbase);
	} else if (dladdr((void *)(uintptr_t)v, &di) && di.dli_fbase && di.dli_fname) {
		const char *b = strrchr(di.dli_fname, '/');
		snprintf(buf, size, "%s+%#" PRIx64, b ? b + 1 : di.dli_fname,
			 v - (uint64_t)(uintptr_t)di.dli_fbase);
	} else {
		snprintf(buf, size, "%#" PRIx64, v);
	}
	return buf;
}

#endif /* LOCAL_COMMON_H */
