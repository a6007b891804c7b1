/*
 * Helpers shared by the publishers that hand a chunk's unwind information
 * to tools with their own placement rules (GDB reads the chunk's bytes as
 * they are; perf's jitdump and nongnu libunwind need the FDEs elsewhere):
 * the list of a chunk's FDEs, and their rules re-encoded with absolute
 * pointers (eh_abs.h), so the bytes are valid at any address.
 *
 * Called by publishers under the registry's writer mutex; not used on the
 * unwind path.
 */
#ifndef SW_JIT_PUB_EH_H
#define SW_JIT_PUB_EH_H

#include <stddef.h>
#include <stdint.h>

#include "jit/publishers/publish.h"

/* One FDE of a chunk. */
struct sw_pub_fde {
	uint64_t start, end;    /* code range it covers */
	uint64_t fde_off;       /* offset of the FDE in chunk->eh_frame */
	uint64_t cie_off;       /* offset of its CIE in chunk->eh_frame */
};

/*
 * sw_pub_fdes - every FDE of the chunk's .eh_frame, in section order, into
 * a malloc'ed array (*out, *n; free() it).  Returns 0, SW_ENOMEM, or the
 * CFI parser's error for malformed bytes.
 */
int sw_pub_fdes(const struct sw_jit_chunk *c, struct sw_pub_fde **out, size_t *n);

/* sw_pub_find - the FDE (of n, sorted or not) whose range starts at
 * `start`, or NULL. */
const struct sw_pub_fde *sw_pub_find(const struct sw_pub_fde *f, size_t n, uint64_t start);

/*
 * sw_pub_eh_abs - the rules of the n FDEs f[0..n), each written as a CIE +
 * FDE pair with absolute pointers by sw_eh_abs_write (eh_abs.h), one pair
 * after the other; FDE i covers [f[i].start + pc_delta, f[i].end +
 * pc_delta).  No terminator.  `buf` NULL measures.  fde_offs, if not
 * NULL, receives each FDE's offset in the output.  Returns the size in
 * bytes, or SW_E* (a parse error, SW_EUNSUPPORTED: see sw_eh_abs_write).
 */
long sw_pub_eh_abs(const struct sw_jit_chunk *c, const struct sw_pub_fde *f, size_t n,
		   int64_t pc_delta, uint8_t *buf, uint64_t *fde_offs);

/* sw_pub_put4 / put8 - little-endian stores (unaligned). */
void sw_pub_put4(uint8_t *p, uint32_t v);
void sw_pub_put8(uint8_t *p, uint64_t v);

#endif /* SW_JIT_PUB_EH_H */
