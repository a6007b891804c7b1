/*
 * Publishers (<stackwalk/jit.h> SW_JIT_PUB_*): the registry hands each
 * eager registration, and each published batch of a growable table, to
 * the publishers enabled for it as a chunk.  One file per publisher
 * (src/jit/pub_*.c) defines its ops; the registry calls them under its
 * writer mutex, never from an unwinder.
 */
#ifndef SW_JIT_PUBLISH_H
#define SW_JIT_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include <stackwalk/jit.h>

struct sw_jit_chunk_proc {
	uint64_t start, end;    /* code range */
	const char *name;       /* NULL when unnamed */
	/* line information (struct sw_jit_line in <stackwalk/jit.h>), or
	 * file NULL / nlines 0 */
	const char *file;
	const struct sw_jit_line *lines;
	uint32_t nlines;
};

/* What a publisher sees.  Everything stays valid and unchanged until the
 * publisher's unpublish returns (the registry keeps the bytes). */
struct sw_jit_chunk {
	const uint8_t *eh_frame;        /* CIEs + FDEs + 4-byte zero terminator */
	size_t eh_size;                 /* including the terminator */
	uint64_t eh_vaddr;              /* pc-relative base: == eh_frame unless
					 * the bytes were encoded elsewhere */
	size_t nprocs;
	const struct sw_jit_chunk_proc *procs;  /* sorted by start */
	uint64_t lo, hi;                /* lowest start, highest end */
};

struct sw_jit_pub_ops {
	const char *name;
	unsigned bit;                   /* SW_JIT_PUB_* */
	/* Publish; *cookie is handed back to unpublish.  Returns 0 or SW_E*
	 * (e.g. SW_EUNSUPPORTED when the consumer is absent: the registry
	 * then forgets the chunk for this publisher). */
	int (*publish)(const struct sw_jit_chunk *chunk, void **cookie);
	void (*unpublish)(void *cookie);
};

extern const struct sw_jit_pub_ops sw_jit_pub_libgcc;
extern const struct sw_jit_pub_ops sw_jit_pub_gdb;
extern const struct sw_jit_pub_ops sw_jit_pub_perf_map;
extern const struct sw_jit_pub_ops sw_jit_pub_jitdump;
extern const struct sw_jit_pub_ops sw_jit_pub_libunwind;

/* The default publishers: SW_JIT_PUB_DEFAULT as changed by the
 * environment (SW_JIT_PUBLISHERS, SW_JIT_PERF; default.c).  Not
 * thread-safe against setenv; the registry calls it once, under its
 * writer mutex. */
unsigned sw_jit_pub_initial(void);

#endif /* SW_JIT_PUBLISH_H */
