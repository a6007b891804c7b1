/*
 * Loading the frame sections of an ELF file for the command-line tools:
 * .eh_frame, .debug_frame (zlib-compressed ones inflated), .eh_frame_hdr,
 * with relocations applied for relocatable objects (as readelf does), and
 * the separate debug files a file links to (build-id, .gnu_debuglink).
 */
#ifndef SW_TOOLS_FRAMES_H
#define SW_TOOLS_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elf/elf.h"

struct frame_section {
	char name[32];           /* ".eh_frame", ".debug_frame", ".eh_frame_hdr" */
	unsigned index;          /* section header index */
	uint32_t type;           /* SHT_* */
	uint64_t addr;           /* sh_addr */
	uint64_t size;           /* bytes of `data` (after decompression) */
	uint64_t sh_size;        /* size in the section header */
	const uint8_t *data;     /* NULL for NOBITS */
	uint8_t *owned;          /* heap copy when decompressed or relocated */
	bool is_eh;
	const char *error;       /* why the data could not be loaded, or NULL */
};

struct frame_file {
	struct sw_elf elf;
	char path[4096];
	struct frame_section secs[16];  /* frame sections in section-header order */
	unsigned nsecs;
};

/* Open `path` and collect its frame sections.  Returns 0 or a negative
 * SW_E* code (with a message in errbuf). */
int frame_file_open(struct frame_file *ff, const char *path, char *errbuf, size_t errsize);
void frame_file_close(struct frame_file *ff);

/* The first loaded section named `name`, or NULL. */
const struct frame_section *frame_file_find(const struct frame_file *ff, const char *name);

/* Paths of the separate debug files readelf would load for `ff`, in the
 * order readelf dumps them.  Returns the count (<= max). */
unsigned frame_file_separate(const struct frame_file *ff, char paths[][4096], unsigned max);

#endif /* SW_TOOLS_FRAMES_H */
