/*
 * The index nodes' slots (slab.h).
 */
#include <stdbool.h>
#include <sys/mman.h>

#include "jit/registry/slab.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif
#ifdef SLAB_ASAN
#include <sanitizer/asan_interface.h>
/* a free slot is poisoned: a reader still holding it is reported */
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* The chunk's first 64 bytes; its slots follow. */
struct sw_slab_chunk {
	struct sw_slab_chunk *next_partial, *prev_partial;
	struct sw_slab_chunk *next_all, *prev_all;
	void *free;                     /* free slots (linked through their first word) */
	uint32_t nfree, used, retired;  /* slots by state */
	uint32_t fresh;                 /* slots never handed out: [fresh, nslots) */
	uint32_t nslots;
	bool in_partial;
};

_Static_assert(sizeof(struct sw_slab_chunk) <= 64, "the chunk header fits in a cache line");

static struct sw_slab_chunk *chunk_of(const void *p)
{
	return (struct sw_slab_chunk *)((uintptr_t)p & ~(uintptr_t)(SW_SLAB_CHUNK - 1));
}

static char *slot_at(struct sw_slab_chunk *c, const struct sw_slab *s, uint32_t i)
{
	return (char *)c + 64 + (size_t)i * s->size;
}

static void partial_add(struct sw_slab *s, struct sw_slab_chunk *c)
{
	c->prev_partial = NULL;
	c->next_partial = s->partial;
	if (s->partial)
		s->partial->prev_partial = c;
	s->partial = c;
	c->in_partial = true;
}

static void partial_del(struct sw_slab *s, struct sw_slab_chunk *c)
{
	if (c->prev_partial)
		c->prev_partial->next_partial = c->next_partial;
	else
		s->partial = c->next_partial;
	if (c->next_partial)
		c->next_partial->prev_partial = c->prev_partial;
	c->in_partial = false;
}

/* A new chunk, aligned to its size: map twice that and trim. */
static struct sw_slab_chunk *chunk_map(struct sw_slab *s)
{
	char *m = mmap(NULL, 2 * SW_SLAB_CHUNK, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	char *a = (char *)(((uintptr_t)m + SW_SLAB_CHUNK - 1) & ~(uintptr_t)(SW_SLAB_CHUNK - 1));
	if (a > m)
		munmap(m, (size_t)(a - m));
	if (a + SW_SLAB_CHUNK < m + 2 * SW_SLAB_CHUNK)
		munmap(a + SW_SLAB_CHUNK, (size_t)(m + 2 * SW_SLAB_CHUNK - (a + SW_SLAB_CHUNK)));

	struct sw_slab_chunk *c = (struct sw_slab_chunk *)(void *)a;
	c->nslots = (uint32_t)((SW_SLAB_CHUNK - 64) / s->size);
	c->free = NULL;
	c->nfree = c->nslots;
	c->used = c->retired = c->fresh = 0;
	c->prev_all = NULL;
	c->next_all = s->all;
	if (s->all)
		s->all->prev_all = c;
	s->all = c;
	s->chunks++;
	POISON(slot_at(c, s, 0), (size_t)c->nslots * s->size);
	return c;
}

static void chunk_unmap(struct sw_slab *s, struct sw_slab_chunk *c)
{
	if (c->prev_all)
		c->prev_all->next_all = c->next_all;
	else
		s->all = c->next_all;
	if (c->next_all)
		c->next_all->prev_all = c->prev_all;
	s->chunks--;
	UNPOISON(c, SW_SLAB_CHUNK);
	munmap(c, SW_SLAB_CHUNK);
}

void *sw_slab_alloc(struct sw_slab *s)
{
	struct sw_slab_chunk *c = s->partial;
	char *p;

	if (!c) {
		if (s->spare) {
			c = s->spare;
			s->spare = NULL;
		} else if (!(c = chunk_map(s))) {
			return NULL;
		}
		partial_add(s, c);
	}
	if (c->free) {
		p = c->free;
		UNPOISON(p, s->size);
		c->free = *(void **)(void *)p;
	} else {
		p = slot_at(c, s, c->fresh++);  /* nfree > 0: a fresh one is left */
		UNPOISON(p, s->size);
	}
	c->nfree--;
	c->used++;
	if (c->nfree == 0)
		partial_del(s, c);
	return p;
}

void sw_slab_retire(struct sw_slab *s, void *p)
{
	struct sw_slab_chunk *c = chunk_of(p);

	(void)s;
	c->used--;
	c->retired++;
}

void sw_slab_free(struct sw_slab *s, void *p, int retired)
{
	struct sw_slab_chunk *c = chunk_of(p);

	if (retired)
		c->retired--;
	else
		c->used--;
	*(void **)p = c->free;
	c->free = p;
	POISON(p, s->size);
	c->nfree++;
	if (!c->in_partial && c->nfree > 0 && c != s->spare)
		partial_add(s, c);
	if (c->nfree == c->nslots) {
		/* empty: keep one, unmap the others */
		partial_del(s, c);
		if (!s->spare) {
			s->spare = c;
		} else {
			chunk_unmap(s, c);
		}
	}
}

size_t sw_slab_bytes(const struct sw_slab *s)
{
	size_t total = 0;

	for (const struct sw_slab_chunk *c = s->all; c; c = c->next_all)
		if (c->used)
			total += (size_t)(c->used + c->nfree) * s->size;
	return total;
}
