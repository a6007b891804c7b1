/*
 * libFuzzer target: a callbacks address space (sw_as_new_callbacks,
 * src/remote/callbacks.c) over untrusted target memory, walked with the
 * ordinary cursor: the FDE and CIE bytes the space copies into its arena,
 * the CFI they hold, and the stack the rules read — what the drop-in
 * libunwind's unw_init_remote walks for strace, perf and any program with
 * its own accessors.
 *
 * Input layout (little-endian): u32 fde offset, u32 section offset,
 * u32 section size, u8 flags (bit 0: .debug_frame, bit 1: small arena
 * with SW_AS_CB_RECYCLE), then 17 u64 registers, then the target's memory
 * image, mapped at BASE.  RIP and RSP are offsets into the image (taken
 * modulo its size), the other registers are used as they are.
 * find_cfi answers every PC inside the image with the input's FDE (the
 * space checks that it covers the PC); reads outside the image fail.  A
 * walk takes at most 128 steps; every frame is named (no names: a
 * callback returning SW_ENOTFOUND) and its proc info read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stackwalk.h"
#include "stackwalk/remote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define BASE 0x400000ull
#define HDR (4 + 4 + 4 + 1 + 17 * 8)

struct image {
	const uint8_t *mem;
	size_t size;
	uint32_t fde, section, section_size;
	int debug_frame;
};

static int read_cb(void *arg, uint64_t addr, void *buf, size_t size)
{
	const struct image *im = arg;

	if (addr < BASE || addr - BASE > im->size || size > im->size - (addr - BASE))
		return SW_EMEMORY;
	memcpy(buf, im->mem + (addr - BASE), size);
	return 0;
}

static int find_cfi_cb(void *arg, uint64_t pc, struct sw_as_cfi *out)
{
	const struct image *im = arg;

	if (pc < BASE || pc - BASE >= im->size)
		return SW_ENOTFOUND;
	out->format = im->debug_frame ? SW_AS_CFI_DEBUG_FRAME : SW_AS_CFI_EH_FRAME;
	out->fde = BASE + im->fde;
	out->section = BASE + im->section;
	out->section_size = im->section_size;
	out->module_start = BASE;
	out->module_end = BASE + im->size;
	return 0;
}

static int name_cb(void *arg, uint64_t pc, char *buf, size_t size, uint64_t *offset)
{
	(void)arg;
	(void)pc;
	(void)buf;
	(void)size;
	(void)offset;
	return SW_ENOTFOUND;
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	struct image im = {
		.mem = data + HDR,
		.size = size - HDR,
		.fde = le32(data),
		.section = le32(data + 4),
		.section_size = le32(data + 8),
		.debug_frame = data[12] & 1,
	};
	if (im.size == 0)
		return 0;
	struct sw_as_callbacks cb;
	memset(&cb, 0, sizeof cb);
	cb.size = sizeof cb;
	cb.arg = &im;
	cb.read = read_cb;
	cb.find_cfi = find_cfi_cb;
	cb.get_proc_name = name_cb;
	if (data[12] & 2) {
		cb.arena_size = 256;
		cb.flags = SW_AS_CB_RECYCLE;
	}
	sw_addr_space_t *as = NULL;
	CHECK(sw_as_new_callbacks(&cb, NULL, &as) == 0 && as);

	sw_context_t ctx;
	memset(&ctx, 0, sizeof ctx);
	for (int r = 0; r < SW_REG_COUNT; r++) {
		uint64_t v;
		memcpy(&v, data + 13 + 8 * r, sizeof v);
		if (r == SW_REG_IP || r == SW_REG_SP)
			v = BASE + v % im.size;
		CHECK(sw_context_set_reg(&ctx, r, v) == 0);
	}
	sw_cursor_t cur;
	if (sw_init_snapshot(&cur, as, &ctx, NULL, 0) == 0) {
		for (int i = 0; i < 128; i++) {
			struct sw_proc_info pi;
			char name[64];
			uint64_t off;
			(void)sw_get_proc_info(&cur, &pi);
			(void)sw_get_proc_name(&cur, name, sizeof name, &off);
			int rc = sw_step(&cur);
			CHECK(rc <= SW_END_OF_STACK);
			if (rc != 0)
				break;
		}
	}
	CHECK(sw_as_flush(as) == 0);
	sw_as_free(as);
	return 0;
}
