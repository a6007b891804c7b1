/*
 * SW_JIT_PUB_GDB internals shared by gdb.c (GDB's list, groups, the
 * publisher's ops) and gdb_object.c (the in-memory ELF object GDB reads:
 * .text, .eh_frame, symbols and, with line information, DWARF 4
 * .debug_info/.debug_abbrev/.debug_line).
 */
#ifndef SW_JIT_PUB_GDB_H
#define SW_JIT_PUB_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jit/publishers/publish.h"

/* The declarations of the gdb manual ("Declarations"); the names and the
 * layout are the interface. */
enum { JIT_NOACTION = 0, JIT_REGISTER_FN = 1, JIT_UNREGISTER_FN = 2 };

struct jit_code_entry {
	struct jit_code_entry *next_entry;
	struct jit_code_entry *prev_entry;
	const char *symfile_addr;
	uint64_t symfile_size;
};

struct jit_descriptor {
	uint32_t version;
	uint32_t action_flag;   /* JIT_* */
	struct jit_code_entry *relevant_entry;
	struct jit_code_entry *first_entry;
};

/* Both symbols must be visible to GDB under these exact names, with
 * default visibility even in the shared library.  The version is static
 * because GDB may read it before any registration. */
void __jit_debug_register_code(void);
extern struct jit_descriptor __jit_debug_descriptor;

static inline bool proc_has_lines(const struct sw_jit_chunk_proc *p)
{
	return p->file && p->lines && p->nlines;
}

/* What one object describes: the chunks of a group (or one solo chunk),
 * sorted by lo, and the hull they cover. */
struct mem;

struct view {
	struct mem *const *m;
	size_t n;
	uint64_t lo, hi;
	size_t nprocs;          /* over all chunks */
};

struct group;

/* One object in GDB's list: the entry and the ELF image right after it. */
struct gdb_obj {
	struct jit_code_entry entry;
	size_t off_eh;          /* the image's .eh_frame */
	size_t cap;             /* bytes allocated for the image */
	/* ELF image follows, 8-aligned */
};

/* One publication (the cookie): a chunk and where its CFI is. */
struct mem {
	const struct sw_jit_chunk *c;
	struct group *g;        /* its group; NULL: solo */
	struct gdb_obj *solo;   /* solo: its own object */
	const uint8_t *eh;      /* grouped: its CIE + FDE pairs, every pointer
				 * absolute, no terminator: in `eh_tmp` until
				 * the first object holding it is built, then
				 * in its group's current object */
	uint8_t *eh_tmp;
	uint32_t eh_len;
	uint32_t nsym, strsz;   /* its named procedures, their names' bytes */
	bool lines;             /* some procedure has line information */
};

/*
 * Build the ELF image of v (NULL: out of memory).  Grouped (solo false):
 * .eh_frame is the members' absolute bytes one after the other plus a
 * terminator, at the image's own address.  Solo (one chunk): the chunk's
 * bytes as they are, at the address they were encoded for.  Called under
 * gdb.c's lock (the spare image is shared).
 */
/* hidden: shared by gdb.c and gdb_object.c only */
#pragma GCC visibility push(hidden)
struct gdb_obj *sw_gdb_build(const struct view *v, bool solo);
/* Free an image built by sw_gdb_build (kept as the spare; same lock). */
void sw_gdb_obj_free(struct gdb_obj *o);
#pragma GCC visibility pop

#endif /* SW_JIT_PUB_GDB_H */
