/*
 * Sources of unwind information, behind one interface.
 *
 * The cursor knows no source by name: for a PC it asks the installed
 * sources in rank order (sw_source_find) until one answers, uses the FDE
 * and CIE it lends, and gives them back (sw_source_release).  A source is
 * a find / release / name triple:
 *
 *   rank              source                                   lives in
 *   SW_RANK_JIT       the JIT registry (once code is registered) src/jit/registry
 *   SW_RANK_MODULE    a loaded module's .eh_frame (.eh_frame_hdr) src/unwind/modules.c
 *   SW_RANK_FILE      the module file's .eh_frame / .debug_frame src/unwind/filecfi.c
 *
 * (a module's compact table, src/table, answers before SW_RANK_MODULE
 * without being a source: it gives compiled rules, not FDEs).  This layer sits
 * below both the unwinder and the registry and depends on neither, so the
 * registry needs nothing from src/unwind, and a program that never
 * registers JIT code links none of it: the registry installs its source at
 * its first registration.
 *
 * Every find/release/name is async-signal-safe: no allocation, no locks.
 */
#ifndef SW_SOURCE_H
#define SW_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "dwarf/cfi.h"

struct sw_source;

/* The unwind information for one PC, lent by a source until released. */
struct sw_fde_info {
	struct sw_cfi_section sec;   /* the section the FDE and CIE come from */
	struct sw_fde fde;           /* addresses where the code is now */
	struct sw_cie cie;
	uint64_t module_base;        /* load bias, 0 for JIT code */
	int source;                  /* enum sw_proc_source */
	const struct sw_source *from;/* the lender, NULL when nothing is held */
	union {                      /* what the lender holds until release */
		struct {             /* JIT: its read section, and the buffer a
				      * lazy description was converted into
				      * (index + 1, 0 for none) */
			uint32_t token;
			uint32_t scratch;
		} jit;
		struct {             /* file: the table slot (index + 1, 0 for
				      * none), or a mapping made for this lookup */
			uint32_t slot;
			const void *map;
			size_t map_size;
		} file;
	} held;
};

struct sw_source {
	const char *what;            /* for messages */
	/* The FDE covering pc: 0 (info filled, held until release),
	 * SW_ENOTFOUND (not this source's: the next one is asked) or an
	 * error (this source's PC, but its information is broken). */
	int (*find)(uint64_t pc, struct sw_fde_info *info);
	/* Give back what find lent (NULL: never holds anything). */
	void (*release)(struct sw_fde_info *info);
	/* The name of the procedure containing pc and pc's offset in it:
	 * 0, SW_ENOTFOUND or SW_ENONAME (NULL: this source names nothing; the
	 * symbol tables of modules are not a source of unwind information). */
	int (*name)(uint64_t pc, char *buf, size_t size, uint64_t *offset);
	/* The FDE covering pc in libgcc's in-memory layout, for a source
	 * whose bytes are not simply a loaded .eh_frame (NULL: use find):
	 * 0 with *fde (in the source's memory, or copied with absolute
	 * pointers into buf: *copied = 1) and *start (the code's start now),
	 * SW_ENOTFOUND, or an error. */
	int (*eh_fde)(uint64_t pc, void *buf, size_t size, const void **fde, uint64_t *start,
		      int *copied);
};

enum sw_source_rank {
	SW_RANK_JIT,
	SW_RANK_MODULE,
	SW_RANK_FILE,
	SW_RANK_COUNT,
};

/* Install `s` at `rank` (replacing what was there; NULL removes).  A
 * release store: lookups that start afterwards see it.  Thread-safe. */
void sw_source_install(enum sw_source_rank rank, const struct sw_source *s);

/* Ask the sources in rank order.  Returns 0 (release the info), SW_ENOTFOUND
 * or the answering source's error. */
int sw_source_find(uint64_t pc, struct sw_fde_info *info);

/* The same for the ranks first <= rank < last only (the unwinder asks the
 * JIT registry, then a module's compact table, then the other ranks). */
int sw_source_find_ranks(uint64_t pc, unsigned first, unsigned last, struct sw_fde_info *info);

/* Give the info back to its lender. */
static inline void sw_source_release(struct sw_fde_info *info)
{
	const struct sw_source *from = info->from;

	if (from) {
		info->from = NULL;
		if (from->release)
			from->release(info);
	}
}

/* The first answer of a source with an eh_fde operation (above):
 * 0, SW_ENOTFOUND (none knows pc) or an error. */
int sw_source_eh_fde(uint64_t pc, void *buf, size_t size, const void **fde, uint64_t *start,
		     int *copied);

/* The first name a source with a name operation gives for pc: 0,
 * SW_ENOTFOUND (none knows pc) or SW_ENONAME. */
int sw_source_name(uint64_t pc, char *buf, size_t size, uint64_t *offset);

#endif /* SW_SOURCE_H */
