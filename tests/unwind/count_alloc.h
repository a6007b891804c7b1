/*
 * Counting allocator calls, for the "allocates nothing" tests (noalloc.c,
 * names_signal.c).
 *
 * The including file defines COUNT_ALLOC_WHEN, an expression that says
 * whether a call made now counts (e.g. a flag set around the code under
 * test), before including this header; it gets n_alloc and n_free and
 * install_alloc_counting(), to call once from main.
 *
 * The plain build interposes malloc, calloc, realloc, free, memalign,
 * aligned_alloc, posix_memalign and valloc (forwarding to glibc's __libc_*
 * entry points); under AddressSanitizer, which owns the allocator, the
 * counting goes through its malloc/free hooks instead.
 */
#ifndef SW_TEST_COUNT_ALLOC_H
#define SW_TEST_COUNT_ALLOC_H

#include <errno.h>
#include <malloc.h>
#include <stddef.h>

#ifndef COUNT_ALLOC_WHEN
#error "define COUNT_ALLOC_WHEN before including count_alloc.h"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define USE_SAN_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define USE_SAN_HOOKS 1
#endif
#endif

static unsigned long n_alloc, n_free;

#define COUNT(x)                                                   \
	do {                                                           \
		if (COUNT_ALLOC_WHEN)                                      \
			__atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED);         \
	} while (0)

#ifdef USE_SAN_HOOKS
/* <sanitizer/allocator_interface.h> (not shipped by every compiler) */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));

static void on_malloc(const volatile void *p, size_t size)
{
	(void)p;
	(void)size;
	COUNT(n_alloc);
}

static void on_free(const volatile void *p)
{
	(void)p;
	COUNT(n_free);
}

static void install_alloc_counting(void)
{
	__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

void *malloc(size_t size)
{
	COUNT(n_alloc);
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	COUNT(n_alloc);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	COUNT(n_alloc);
	return __libc_realloc(p, size);
}

void free(void *p)
{
	if (p)
		COUNT(n_free);
	__libc_free(p);
}

void *memalign(size_t align, size_t size)
{
	COUNT(n_alloc);
	return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	COUNT(n_alloc);
	return __libc_memalign(align, size);
}

void *valloc(size_t size)
{
	COUNT(n_alloc);
	return __libc_memalign(4096, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	COUNT(n_alloc);
	void *p = __libc_memalign(align, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

static void install_alloc_counting(void)
{
}
#endif

#endif /* SW_TEST_COUNT_ALLOC_H */
