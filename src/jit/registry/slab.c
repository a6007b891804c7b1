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

/* A segment: SW_SLAB_SEG_CHUNKS chunks from one mmap. */
struct sw_slab_seg {
	struct sw_slab_seg *next, *prev;
	char *map;                      /* what mmap returned (SEG_MAP bytes) */
	char *chunks;                   /* the first chunk, aligned */
	uint32_t fresh;                 /* chunks handed out so far: [0, fresh) */
	uint32_t empty;                 /* of those, on the pool's empty list */
};

#define SEG_MAP ((SW_SLAB_SEG_CHUNKS + 1) * SW_SLAB_CHUNK)

/* The chunk's first 64 bytes; its slots follow. */
struct sw_slab_chunk {
	struct sw_slab_chunk *next, *prev;      /* partial or empty list */
	void *free;                     /* free slots (linked through their first word) */
	struct sw_slab_seg *seg;
	struct sw_slab *owner;          /* NULL: empty */
	uint32_t nfree, used, retired;  /* slots by state */
	uint32_t fresh;                 /* slots never handed out: [fresh, nslots) */
	uint32_t nslots;
	uint8_t listed;                 /* on owner's partial list */
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

static void list_add(struct sw_slab_chunk **head, struct sw_slab_chunk *c)
{
	c->prev = NULL;
	c->next = *head;
	if (*head)
		(*head)->prev = c;
	*head = c;
}

static void list_del(struct sw_slab_chunk **head, struct sw_slab_chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

/* A chunk for s: an empty one, a segment's next, or a new segment's. */
static struct sw_slab_chunk *chunk_get(struct sw_slab *s)
{
	struct sw_slab_pool *pool = s->pool;
	struct sw_slab_chunk *c = pool->empty;
	struct sw_slab_seg *g;

	if (c) {
		list_del(&pool->empty, c);
		pool->nempty--;
		c->seg->empty--;
	} else {
		g = pool->segs;
		if (!g || g->fresh == SW_SLAB_SEG_CHUNKS) {
			/* a new segment, its chunks aligned to their size (the
			 * unaligned ends stay mapped, never touched) */
			char *m = mmap(NULL, SEG_MAP, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				return NULL;
			char *chunks = (char *)(((uintptr_t)m + SW_SLAB_CHUNK - 1) &
						~(uintptr_t)(SW_SLAB_CHUNK - 1));
			/* the descriptor in the tail: at least a page is left
			 * after the chunks (m is page-aligned) */
			g = (struct sw_slab_seg *)(void *)(chunks + SW_SLAB_SEG_CHUNKS * SW_SLAB_CHUNK);
			g->map = m;
			g->chunks = chunks;
			g->fresh = g->empty = 0;
			g->prev = NULL;
			g->next = pool->segs;
			if (pool->segs)
				pool->segs->prev = g;
			pool->segs = g;
			POISON(g->chunks, SW_SLAB_SEG_CHUNKS * SW_SLAB_CHUNK);
		}
		c = (struct sw_slab_chunk *)(void *)(g->chunks + (size_t)g->fresh++ * SW_SLAB_CHUNK);
		UNPOISON(c, 64);
		c->seg = g;
	}
	c->owner = s;
	c->nslots = (uint32_t)((SW_SLAB_CHUNK - 64) / s->size);
	c->free = NULL;
	c->nfree = c->nslots;
	c->used = c->retired = c->fresh = 0;
	c->listed = 0;
	return c;
}

/* c has no used or retired slot left: to the pool (and its segment back
 * to the system when all of it is empty and enough is kept). */
static void chunk_put(struct sw_slab *s, struct sw_slab_chunk *c)
{
	struct sw_slab_pool *pool = s->pool;
	struct sw_slab_seg *g = c->seg;

	POISON(slot_at(c, s, 0), (size_t)c->nslots * s->size);
	c->owner = NULL;
	list_add(&pool->empty, c);
	pool->nempty++;
	g->empty++;
	if (g->empty < g->fresh || g->fresh < SW_SLAB_SEG_CHUNKS ||
	    pool->nempty - g->empty < SW_SLAB_KEEP_CHUNKS)
		return;
	for (uint32_t i = 0; i < g->fresh; i++)
		list_del(&pool->empty, (struct sw_slab_chunk *)(void *)(g->chunks + i * SW_SLAB_CHUNK));
	pool->nempty -= g->empty;
	if (g->prev)
		g->prev->next = g->next;
	else
		pool->segs = g->next;
	if (g->next)
		g->next->prev = g->prev;
	UNPOISON(g->chunks, SW_SLAB_SEG_CHUNKS * SW_SLAB_CHUNK);
	munmap(g->map, SEG_MAP);        /* the descriptor with it */
}

void *sw_slab_alloc(struct sw_slab *s)
{
	struct sw_slab_chunk *c = s->partial;
	char *p;

	if (!c) {
		if (!(c = chunk_get(s)))
			return NULL;
		list_add(&s->partial, c);
		c->listed = 1;
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
	if (c->nfree == 0) {
		list_del(&s->partial, c);
		c->listed = 0;
	}
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
	if (c->nfree == c->nslots) {
		if (c->listed)
			list_del(&s->partial, c);
		chunk_put(s, c);
	} else if (!c->listed) {
		list_add(&s->partial, c);
		c->listed = 1;
	}
}

size_t sw_slab_bytes(const struct sw_slab *s)
{
	size_t total = 0;

	if (!s->pool)
		return 0;
	for (const struct sw_slab_seg *g = s->pool->segs; g; g = g->next) {
		for (uint32_t i = 0; i < g->fresh; i++) {
			const struct sw_slab_chunk *c =
				(const struct sw_slab_chunk *)(const void *)(g->chunks + i * SW_SLAB_CHUNK);
			if (c->owner == s && c->used)
				total += (size_t)(c->used + c->nfree) * s->size;
		}
	}
	return total;
}
