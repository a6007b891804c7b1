/*
 * Decompression of debug sections (zlib, zstd) and of MiniDebugInfo (xz)
 * with the real libraries, whose work areas come from sw_scratch_alloc
 * (their own mappings, unmapped when the library frees them): no malloc,
 * so a first lookup from a signal handler may decompress.
 *
 * Each function decodes into a buffer the caller sized from the header it
 * read (Elf64_Chdr.ch_size, the .zdebug size, the xz index) and accepts
 * the result only when the stream ends exactly at that size: a header
 * that lies in either direction rejects the section.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createDCtx_advanced, ZSTD_customMem */
#include <limits.h>
#include <lzma.h>
#include <stdatomic.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "stackwalk.h"
#include "symbolize/file_internal.h"

uint64_t sw_sym_arena_room(const struct sw_arena *a)
{
	uint64_t cap = a->cap ? a->cap : (uint64_t)4 << 30;
	uint64_t mapped = atomic_load_explicit(&a->mapped, memory_order_relaxed);

	return mapped < cap ? cap - mapped : 0;
}

/* ---- zlib ---- */

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	if (size != 0 && items > SIZE_MAX / size)
		return Z_NULL;
	return sw_scratch_alloc((size_t)items * size);
}

static void z_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	sw_scratch_free(p);
}

int sw_sym_inflate(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size)
{
	/* one call each way: uInt counts, so both sides must fit in 32 bits */
	if (in_size > UINT_MAX || out_size > UINT_MAX)
		return SW_EBADELF;
	z_stream z;
	memset(&z, 0, sizeof(z));
	z.zalloc = z_alloc;
	z.zfree = z_free;
	if (inflateInit(&z) != Z_OK)
		return SW_ENOMEM;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)in_size;
	z.next_out = out;
	z.avail_out = (uInt)out_size;
	/* Z_FINISH with all the output room there is: Z_STREAM_END exactly
	 * when the stream is complete and fits; a longer one stops with
	 * Z_BUF_ERROR, a truncated one too (no input left). */
	int zr = inflate(&z, Z_FINISH);
	bool ok = zr == Z_STREAM_END && z.total_out == out_size;
	bool nomem = zr == Z_MEM_ERROR;
	inflateEnd(&z);
	return ok ? 0 : nomem ? SW_ENOMEM : SW_EBADELF;
}

/* ---- zstd ---- */

static void *zstd_alloc(void *opaque, size_t size)
{
	(void)opaque;
	return sw_scratch_alloc(size);
}

static void zstd_free(void *opaque, void *p)
{
	(void)opaque;
	sw_scratch_free(p);
}

int sw_sym_unzstd(const uint8_t *in, size_t in_size, uint8_t *out, size_t out_size)
{
	ZSTD_customMem mem = { zstd_alloc, zstd_free, NULL };
	ZSTD_DCtx *dctx = ZSTD_createDCtx_advanced(mem);

	if (!dctx)
		return SW_ENOMEM;
	/* Decodes every frame of `in`; more output than out_size is the
	 * error dstSize_tooSmall, a truncated frame srcSize_wrong. */
	size_t n = ZSTD_decompressDCtx(dctx, out, out_size, in, in_size);
	int rc = !ZSTD_isError(n) && n == out_size ? 0
		 : ZSTD_isError(n) && ZSTD_getErrorCode(n) == ZSTD_error_memory_allocation
			 ? SW_ENOMEM
			 : SW_EBADELF;
	ZSTD_freeDCtx(dctx);
	return rc;
}

/* ---- xz (MiniDebugInfo) ---- */

static void *xz_alloc(void *opaque, size_t nmemb, size_t size)
{
	(void)opaque;
	if (size != 0 && nmemb > SIZE_MAX / size)
		return NULL;
	return sw_scratch_alloc(nmemb * size);
}

static void xz_free(void *opaque, void *p)
{
	(void)opaque;
	sw_scratch_free(p);
}

/* The decoders' memory: a MiniDebugInfo image made with xz's presets needs
 * at most its dictionary (64 MiB at -9) plus a little. */
#define XZ_MEMLIMIT ((uint64_t)128 << 20)

int sw_sym_unxz(const uint8_t *in, size_t in_size, uint64_t limit, struct sw_arena *a,
		uint8_t **out, size_t *out_size)
{
	const lzma_allocator al = { xz_alloc, xz_free, NULL };

	/* Stream padding (NUL bytes in multiples of four) may follow. */
	while (in_size >= LZMA_STREAM_HEADER_SIZE + 4 && in[in_size - 1] == 0 &&
	       in[in_size - 2] == 0 && in[in_size - 3] == 0 && in[in_size - 4] == 0)
		in_size -= 4;
	if (in_size < 2 * LZMA_STREAM_HEADER_SIZE)
		return SW_EBADELF;

	/* The footer says where the index is; the index gives the size. */
	lzma_stream_flags footer;
	if (lzma_stream_footer_decode(&footer, in + in_size - LZMA_STREAM_HEADER_SIZE) != LZMA_OK ||
	    footer.backward_size > in_size - 2 * LZMA_STREAM_HEADER_SIZE)
		return SW_EBADELF;
	size_t pos = in_size - LZMA_STREAM_HEADER_SIZE - (size_t)footer.backward_size;
	lzma_index *idx = NULL;
	uint64_t memlimit = XZ_MEMLIMIT;
	if (lzma_index_buffer_decode(&idx, &memlimit, &al, in, &pos,
				     in_size - LZMA_STREAM_HEADER_SIZE) != LZMA_OK)
		return SW_EBADELF;
	uint64_t usize = lzma_index_uncompressed_size(idx);
	lzma_index_end(idx, &al);

	if (usize == 0 || usize > limit || usize > SW_SYM_MAX_MINI || usize > sw_sym_arena_room(a))
		return SW_EBADELF;
	uint8_t *buf = sw_arena_alloc(a, (size_t)usize, 8);
	if (!buf)
		return SW_ENOMEM;
	size_t in_pos = 0, out_pos = 0;
	memlimit = XZ_MEMLIMIT;
	lzma_ret r = lzma_stream_buffer_decode(&memlimit, 0, &al, in, &in_pos, in_size, buf,
					       &out_pos, (size_t)usize);
	/* The whole input is one stream, and it fills the buffer exactly. */
	if (r != LZMA_OK || in_pos != in_size || out_pos != usize)
		return r == LZMA_MEM_ERROR ? SW_ENOMEM : SW_EBADELF;
	*out = buf;
	*out_size = (size_t)usize;
	return 0;
}
