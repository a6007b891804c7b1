/*
 * The symbolizer's memory: an mmap-backed bump arena, lock-free and
 * malloc-free (usable in a signal handler), with a cap on the bytes it
 * maps.  Nothing is freed before sw_arena_destroy.
 *
 * Thread-safety: sw_arena_alloc may be called from any number of threads
 * and signal handlers at once (compare-and-swap on the current chunk).
 * Async-signal-safe: sw_arena_alloc and sw_arena_destroy are (mmap/munmap).
 */
#ifndef SW_SYMBOLIZE_ARENA_H
#define SW_SYMBOLIZE_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct sw_arena_chunk;

struct sw_arena {
	struct sw_arena_chunk *_Atomic cur;  /* chunk being filled (list through ->prev) */
	struct sw_arena_chunk *_Atomic big;  /* chunks of one large block each */
	_Atomic uint64_t mapped;             /* bytes mapped so far */
	uint64_t cap;                        /* limit on `mapped` */
	_Atomic uint64_t refused;            /* allocations refused by the cap */
};

/* An empty arena that maps at most `cap` bytes (0: 4 GiB). */
void sw_arena_init(struct sw_arena *a, uint64_t cap);

/* Unmap every chunk. */
void sw_arena_destroy(struct sw_arena *a);

/* `size` bytes aligned to `align` (a power of two <= 4096), zeroed (fresh
 * mmap pages).  NULL when the cap is reached or mmap fails.  Large requests
 * get a chunk of their own. */
void *sw_arena_alloc(struct sw_arena *a, size_t size, size_t align);

/* Copy of the `len` bytes at `s` plus a NUL, or NULL. */
char *sw_arena_strndup(struct sw_arena *a, const char *s, size_t len);

/* Scratch memory outside the arena, for work lists and decompressors'
 * work areas: zeroed, each block its own mapping; sw_scratch_free keeps a
 * few freed blocks (up to 16, each at most 64 MiB) for the next requests
 * of their size class and unmaps the rest.  NULL on failure.
 * Thread-safe and async-signal-safe (atomic exchanges, mmap/munmap). */
void *sw_scratch_alloc(size_t size);
/* The same, not zeroed (a kept block keeps its old bytes). */
void *sw_scratch_alloc_dirty(size_t size);
void sw_scratch_free(void *p);

#endif /* SW_SYMBOLIZE_ARENA_H */
