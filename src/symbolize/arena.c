/* The symbolizer's mmap-backed, lock-free bump arena (arena.h). */
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "symbolize/arena.h"

#define CHUNK_SIZE (1u << 20)   /* ordinary chunks: 1 MiB */

struct sw_arena_chunk {
	struct sw_arena_chunk *prev;
	size_t size;                 /* bytes mapped, header included */
	_Atomic size_t used;         /* bytes handed out, header included */
};

#define HDR ((sizeof(struct sw_arena_chunk) + 63) & ~(size_t)63)

void sw_arena_init(struct sw_arena *a, uint64_t cap)
{
	atomic_init(&a->cur, NULL);
	atomic_init(&a->big, NULL);
	atomic_init(&a->mapped, 0);
	atomic_init(&a->refused, 0);
	a->cap = cap ? cap : (uint64_t)4 << 30;
}

static void unmap_list(struct sw_arena_chunk *c)
{
	while (c) {
		struct sw_arena_chunk *prev = c->prev;

		munmap(c, c->size);
		c = prev;
	}
}

void sw_arena_destroy(struct sw_arena *a)
{
	unmap_list(atomic_exchange(&a->cur, NULL));
	unmap_list(atomic_exchange(&a->big, NULL));
	atomic_store(&a->mapped, 0);
}

/* Map a chunk of `size` bytes if the cap allows. */
static struct sw_arena_chunk *map_chunk(struct sw_arena *a, size_t size)
{
	uint64_t old = atomic_load(&a->mapped);

	do {
		if (old + size > a->cap || old + size < old) {
			atomic_fetch_add(&a->refused, 1);
			return NULL;
		}
	} while (!atomic_compare_exchange_weak(&a->mapped, &old, old + size));
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		atomic_fetch_sub(&a->mapped, size);
		return NULL;
	}
	struct sw_arena_chunk *c = p;
	c->size = size;
	atomic_init(&c->used, HDR);
	return c;
}

/* Take [off, off + size) aligned from chunk c, or return false. */
static bool take(struct sw_arena_chunk *c, size_t size, size_t align, void **out)
{
	size_t used = atomic_load_explicit(&c->used, memory_order_relaxed);

	for (;;) {
		size_t off = (used + align - 1) & ~(align - 1);
		if (off > c->size || c->size - off < size)
			return false;
		if (atomic_compare_exchange_weak(&c->used, &used, off + size)) {
			*out = (char *)c + off;
			return true;
		}
	}
}

/* Push chunk c on the list of large blocks. */
static void push_big(struct sw_arena *a, struct sw_arena_chunk *c)
{
	struct sw_arena_chunk *head = atomic_load(&a->big);

	do
		c->prev = head;
	while (!atomic_compare_exchange_weak(&a->big, &head, c));
}

void *sw_arena_alloc(struct sw_arena *a, size_t size, size_t align)
{
	void *p;

	if (align == 0 || (align & (align - 1)) || align > 4096)
		return NULL;
	if (size == 0)
		size = 1;
	if (size > CHUNK_SIZE / 4) {
		/* a chunk of its own */
		size_t need = (HDR + size + 4095) & ~(size_t)4095;
		if (need < size)
			return NULL;
		struct sw_arena_chunk *c = map_chunk(a, need);
		if (!c || !take(c, size, align < 64 ? 64 : align, &p)) {
			if (c) {
				atomic_fetch_sub(&a->mapped, c->size);
				munmap(c, c->size);
			}
			return NULL;
		}
		atomic_store(&c->used, c->size);
		push_big(a, c);
		return p;
	}
	for (;;) {
		struct sw_arena_chunk *cur = atomic_load(&a->cur);
		if (cur && take(cur, size, align, &p))
			return p;
		struct sw_arena_chunk *c = map_chunk(a, CHUNK_SIZE);
		if (!c)
			return NULL;
		/* publish it unless another thread already replaced `cur` */
		c->prev = cur;
		if (atomic_compare_exchange_strong(&a->cur, &cur, c)) {
			if (take(c, size, align, &p))
				return p;
			continue;
		}
		/* lost the race: use the winner's chunk, give ours back */
		atomic_fetch_sub(&a->mapped, c->size);
		munmap(c, c->size);
	}
}

char *sw_arena_strndup(struct sw_arena *a, const char *s, size_t len)
{
	char *d = sw_arena_alloc(a, len + 1, 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = 0;
	}
	return d;
}

/*
 * Scratch blocks.  Parses grow their work lists by doubling and
 * decompressors ask for a few work areas, so the same sizes come back
 * again and again: a block given back is kept in one of a few slots
 * (taken and returned with atomic exchanges: no lock) and handed out
 * again, zeroed, instead of a new mapping, whose system calls and page
 * faults cost more than the work.  Sizes are rounded up to a power of
 * two from 64 KiB; blocks over 64 MiB are not kept.
 */
struct scratch_hdr {
	size_t size;     /* bytes mapped, header included */
	size_t pad[7];   /* keep user memory 64-byte aligned */
};

#define SCRATCH_SLOTS 16
#define SCRATCH_MIN ((size_t)64 << 10)
#define SCRATCH_KEEP ((size_t)64 << 20)

static struct scratch_hdr *_Atomic scratch_cache[SCRATCH_SLOTS];

static size_t scratch_round(size_t need)
{
	size_t r = SCRATCH_MIN;

	while (r < need) {
		if (r > SIZE_MAX / 2)
			return need;
		r *= 2;
	}
	return r;
}

static void *scratch_get(size_t size, bool zero)
{
	size_t need = sizeof(struct scratch_hdr) + size;

	if (need < size)
		return NULL;
	need = scratch_round(need);
	if (need <= SCRATCH_KEEP) {
		for (unsigned i = 0; i < SCRATCH_SLOTS; i++) {
			if (!atomic_load_explicit(&scratch_cache[i], memory_order_relaxed))
				continue;
			struct scratch_hdr *h = atomic_exchange(&scratch_cache[i], NULL);
			if (!h)
				continue;
			if (h->size == need) {
				if (zero)
					memset(h + 1, 0, size);
				return h + 1;
			}
			/* another size: put it back where there is room */
			struct scratch_hdr *expect = NULL;
			if (!atomic_compare_exchange_strong(&scratch_cache[i], &expect, h))
				munmap(h, h->size);
		}
	}
	void *p = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	((struct scratch_hdr *)p)->size = need;
	return (struct scratch_hdr *)p + 1;
}

void *sw_scratch_alloc(size_t size)
{
	return scratch_get(size, true);
}

void *sw_scratch_alloc_dirty(size_t size)
{
	return scratch_get(size, false);
}

void sw_scratch_free(void *p)
{
	if (!p)
		return;
	struct scratch_hdr *h = (struct scratch_hdr *)p - 1;
	if (h->size <= SCRATCH_KEEP) {
		for (unsigned i = 0; i < SCRATCH_SLOTS; i++) {
			struct scratch_hdr *expect = NULL;
			if (atomic_compare_exchange_strong(&scratch_cache[i], &expect, h))
				return;
		}
	}
	munmap(h, h->size);
}
