/*
 * Private to src/symbolize/file.c and its helpers: the decompressors of
 * compressed debug sections and of MiniDebugInfo (decompress.c), and the
 * function-symbol table builder (symtab.c).
 *
 * Every decompressor gets an allocator backed by sw_scratch_alloc (never
 * malloc) and writes into memory the caller took from the arena.  Input is
 * hostile: a stream that does not decode to exactly the announced size is
 * an error, never a short or padded section.
 */
#ifndef SW_SYMBOLIZE_FILE_INTERNAL_H
#define SW_SYMBOLIZE_FILE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "symbolize/arena.h"
#include "symbolize/file.h"

/* The largest section or MiniDebugInfo image decompressed: 4 GiB
 * (ch_size beyond it is refused before any allocation). */
#define SW_SYM_MAX_SECTION ((uint64_t)4 << 30)

/* MiniDebugInfo images are small symbol tables: refuse larger ones. */
#define SW_SYM_MAX_MINI ((uint64_t)256 << 20)

/* Decompress the zlib stream `in` into `out`, which must be filled
 * exactly: the stream ends (Z_STREAM_END) after precisely `out_size`
 * bytes.  Returns 0, SW_EBADELF (corrupt, short or long stream) or
 * SW_ENOMEM (no scratch memory). */
int sw_sym_inflate(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size);

/* The same for zstd frames (one or more, concatenated). */
int sw_sym_unzstd(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size);

/* Decompress the xz stream `in` (one stream; its index gives the size)
 * into 8-byte-aligned arena memory of at most `limit` bytes.  Returns 0
 * and sets *out / *out_size, SW_EBADELF or SW_ENOMEM. */
int sw_sym_unxz(const uint8_t *in, size_t in_size, uint64_t limit, struct sw_arena *a,
		uint8_t **out, size_t *out_size);

/* Bytes the arena may still map before its cap. */
uint64_t sw_sym_arena_room(const struct sw_arena *a);

/* One image whose function symbols go into the table, in order of
 * preference among equal candidates. */
struct sw_sym_source {
	const struct sw_elf *elf;
	unsigned symtab;           /* section index of .symtab or .dynsym */
	uint8_t rank;              /* lower: preferred on ties */
};

/* Build f->syms / f->nsyms from `n` sources (see file.h).  A symbol
 * without size also gets its limit (the end of its executable section, or
 * the next symbol's start), kept after the table: sw_sym_file_symbol
 * reads it through sw_sym_limits.  Returns 0 or SW_ENOMEM. */
int sw_sym_build_table(struct sw_sym_file *f, const struct sw_sym_source *src, size_t n,
		       struct sw_arena *a);

/* The limits array that follows f->syms[0..nsyms-1] in the same arena
 * block: limits[i] is the first address past symbol i. */
static inline const uint64_t *sw_sym_limits(const struct sw_sym_file *f)
{
	return (const uint64_t *)(const void *)(f->syms + f->nsyms);
}

#endif /* SW_SYMBOLIZE_FILE_INTERNAL_H */
