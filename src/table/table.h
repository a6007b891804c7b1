/*
 * Compact unwind tables: for every address of a module, the compiled rule
 * (arch/rule.h) that recovers the caller's CFA, return address and
 * callee-saved registers, found with a page index and a short binary
 * search instead of interpreting DWARF.
 *
 * A table is one position-independent blob (the bytes in memory are the
 * bytes on disk), built from a module's .eh_frame (through its
 * .eh_frame_hdr when there is one) or .debug_frame:
 *
 *   struct sw_table           the header below
 *   rules[nrules]             struct sw_compiled, deduplicated
 *   pages[npages + 1]         uint32_t: index of the first row that starts
 *                             in page p (pages[npages] = nrows)
 *   rows[nrows]               uint32_t: offset in its page << SW_TABLE_RULE_BITS
 *                             | rule index (or SW_TABLE_GAP / SW_TABLE_DWARF)
 *
 * Addresses are module-relative (run-time address - load bias), page p
 * covers [lo + p * page, lo + (p + 1) * page).  A row applies from its
 * start to the next row's start; the rows are sorted and consecutive rows
 * never repeat a rule.  Addresses no FDE covers are SW_TABLE_GAP rows (the
 * interpreter would find nothing there either), rows the packing cannot
 * hold (expressions, register or val_offset rules, rules for caller-saved
 * registers, signal frames, CFI that does not parse) are SW_TABLE_DWARF:
 * the caller asks the full interpreter, so nothing is lost.  Which FDE
 * covers an address follows the .eh_frame_hdr search (the FDE with the
 * greatest start <= pc, if its range holds pc); without a header,
 * addresses two FDEs cover are SW_TABLE_DWARF (conservatively: from where
 * an FDE starts inside earlier ones to the end of the furthest-reaching
 * earlier one, so the part of a long FDE after an FDE nested in it is
 * DWARF too).  Errors follow the interpreter: an FDE program that fails
 * part-way keeps its exact rows up to the failing row and is DWARF from
 * there (counted in bad_fdes); a header entry whose FDE does not parse (or
 * lies outside the section) is DWARF from its start to the next entry's
 * (the last entry's: one byte, its real extent being unknown).  The last
 * row is always SW_TABLE_GAP; a table with no FDE has no rows and no pages.
 *
 * Building allocates only with mmap (no malloc, no lock): a signal handler
 * may build.  Lookups read the blob only.
 */
#ifndef SW_TABLE_H
#define SW_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "arch/rule.h"
#include "dwarf/cfi.h"

#define SW_TABLE_MAGIC 0x31545753u   /* "SWT1" little-endian */
#define SW_TABLE_VERSION 1u
#define SW_TABLE_PAGE_SHIFT 12
#define SW_TABLE_RULE_BITS 20
#define SW_TABLE_RULE_MASK ((1u << SW_TABLE_RULE_BITS) - 1)
#define SW_TABLE_GAP 0xFFFFFu        /* no FDE covers the row */
#define SW_TABLE_DWARF 0xFFFFEu      /* the row needs the DWARF interpreter */
#define SW_TABLE_MAX_RULES 0xFFFFEu  /* rule indices are below this */

struct sw_table {
	uint32_t magic;          /* SW_TABLE_MAGIC */
	uint32_t version;        /* SW_TABLE_VERSION */
	uint16_t machine;        /* ELF e_machine of the rules' packing */
	uint16_t page_shift;     /* SW_TABLE_PAGE_SHIFT */
	uint32_t size;           /* bytes of the whole blob */
	uint64_t lo;             /* module-relative address of page 0 */
	uint32_t npages, nrows, nrules;
	uint32_t rules_off, pages_off, rows_off;  /* from the blob's start */
	/* what the builder saw (stackwalk table prints them) */
	uint32_t fdes;           /* FDEs read */
	uint32_t dwarf_rows;     /* rows that are SW_TABLE_DWARF */
	uint32_t gap_rows;       /* rows that are SW_TABLE_GAP */
	uint32_t bad_fdes;       /* FDEs whose CFI did not parse (their range
				  * is SW_TABLE_DWARF: the interpreter reports
				  * the error) */
	uint32_t build_id_len;   /* 0..20 */
	uint8_t build_id[20];    /* the module's, when the builder was given it */
	uint32_t reserved[3];
};

enum sw_table_result {
	SW_TABLE_HIT = 0,        /* *rule is the row's rule */
	SW_TABLE_NONE = 1,       /* no FDE covers the address */
	SW_TABLE_FALLBACK = 2,   /* ask the DWARF interpreter */
};

static inline const struct sw_compiled *sw_table_rules(const struct sw_table *t)
{
	return (const struct sw_compiled *)(const void *)((const char *)t + t->rules_off);
}

static inline const uint32_t *sw_table_pages(const struct sw_table *t)
{
	return (const uint32_t *)(const void *)((const char *)t + t->pages_off);
}

static inline const uint32_t *sw_table_rows(const struct sw_table *t)
{
	return (const uint32_t *)(const void *)((const char *)t + t->rows_off);
}

/*
 * The rule for module-relative address `addr`: SW_TABLE_HIT (with *rule),
 * SW_TABLE_NONE or SW_TABLE_FALLBACK.  When `end` is not NULL it receives
 * the module-relative address where the row ends (the next row's start,
 * UINT64_MAX after the last).  The table must be one sw_table_build made
 * or sw_table_check accepted.  Async-signal-safe; reads the blob only.
 */
static inline int sw_table_lookup(const struct sw_table *t, uint64_t addr,
				  struct sw_compiled *rule, uint64_t *end)
{
	const uint32_t *pages = sw_table_pages(t), *rows = sw_table_rows(t);
	uint64_t rel = addr - t->lo;
	uint32_t p, lo, hi, key, r, idx;

	if (addr < t->lo || (rel >> SW_TABLE_PAGE_SHIFT) >= t->npages)
		return SW_TABLE_NONE;
	p = (uint32_t)(rel >> SW_TABLE_PAGE_SHIFT);
	key = (uint32_t)(rel & ((1u << SW_TABLE_PAGE_SHIFT) - 1)) << SW_TABLE_RULE_BITS |
	      SW_TABLE_RULE_MASK;
	/* the last row of this page starting at or before addr, else the
	 * last row of an earlier page */
	lo = pages[p];
	hi = pages[p + 1];
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (rows[mid] <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return SW_TABLE_NONE;
	r = lo - 1;
	if (end) {
		if (r + 1 >= t->nrows) {
			*end = UINT64_MAX;
		} else {
			uint32_t q = p;
			while (pages[q + 1] <= r + 1)
				q++;
			*end = t->lo + ((uint64_t)q << SW_TABLE_PAGE_SHIFT) +
			       (rows[r + 1] >> SW_TABLE_RULE_BITS);
		}
	}
	idx = rows[r] & SW_TABLE_RULE_MASK;
	if (idx == SW_TABLE_GAP)
		return SW_TABLE_NONE;
	if (idx >= t->nrules)
		return SW_TABLE_FALLBACK;
	*rule = sw_table_rules(t)[idx];
	return SW_TABLE_HIT;
}

/*
 * When to build a module's table (policy.c): at its sw_table_threshold-th
 * rule-cache miss, SW_TABLE_THRESHOLD unless SW_TABLES=N was in the
 * environment when the library was loaded; 0 (SW_TABLES=0): never, every
 * miss is interpreted.  A program that unwinds a module a few times (one
 * exception, a crash report) interprets those few FDEs instead of paying
 * for a whole table; one that walks it over and over (a profiler,
 * repeated throws) gets the table early.  Read it with a relaxed atomic
 * load.
 */
#define SW_TABLE_THRESHOLD 64
extern uint32_t sw_table_threshold;

/* What to build a table from. */
struct sw_table_src {
	const struct sw_cfi_section *sec;  /* .eh_frame or .debug_frame */
	const struct sw_eh_hdr *hdr;       /* sec's .eh_frame_hdr, or NULL:
					    * the FDEs are found by scanning sec */
	uint64_t bias;                     /* subtracted from every FDE address */
	const uint8_t *build_id;           /* copied into the header (may be NULL) */
	size_t build_id_len;
};

/*
 * A loaded or mapped module's .eh_frame (`eh_size` bytes at `eh`, at
 * address `eh_addr`) found through its .eh_frame_hdr `hdr` (parsed, at
 * `hdr_addr`: the base of datarel pointers) as a source in *src, with
 * *sec its section (both the caller's; bias and build ID left 0).  A
 * header without search table: the FDEs are found by scanning.
 */
static inline void sw_table_src_eh(struct sw_table_src *src, struct sw_cfi_section *sec,
				   const void *eh, size_t eh_size, uint64_t eh_addr,
				   const struct sw_eh_hdr *hdr, uint64_t hdr_addr)
{
	sw_cfi_section_init(sec, eh, eh_size, eh_addr, true, ".eh_frame");
	sec->datarel = hdr_addr;
	*src = (struct sw_table_src){ .sec = sec, .hdr = hdr->table ? hdr : NULL };
}

/* sw_table_lookup at address `pc` of a module loaded with `bias`: on a
 * hit, the rule says it came through the module's .eh_frame_hdr and *end
 * (when not NULL) is an address too. */
static inline int sw_table_rule_at(const struct sw_table *t, uint64_t pc, uint64_t bias,
				   struct sw_compiled *rule, uint64_t *end)
{
	int rc = sw_table_lookup(t, pc - bias, rule, end);

	if (rc == SW_TABLE_HIT) {
		sw_cr_set_source(rule, SW_SRC_EH_FRAME_HDR);
		if (end && *end != UINT64_MAX)
			*end += bias;
	}
	return rc;
}

/*
 * Build the table of `src` into a new mmap'ed blob (*out; give it back with
 * sw_table_free).  Returns 0, SW_ENOMEM (mmap failed), SW_EFULL (more
 * rules than SW_TABLE_MAX_RULES, or a module over 4 GiB), SW_ERANGE (an
 * FDE address below src->bias), or a parse error of the section's
 * structure with *diag saying where: with a header, SW_EBADHDR for a
 * header without a search table, a table not sorted by address or one
 * that lists an FDE twice (linkers write neither; the check bounds the
 * work); without one, the first entry or FDE header that does not parse
 * (the interpreter's linear scan stops there too).  An FDE whose CFI
 * program does not parse is no error (see above; counted in bad_fdes).
 * Work and scratch memory are bounded by the section's size: each FDE's
 * program runs once.
 * Thread-safe; async-signal-safe (allocates with mmap only, takes no lock).
 */
int sw_table_build(const struct sw_table_src *src, struct sw_table **out, struct sw_diag *diag);

/* Unmap a table sw_table_build made.  Async-signal-safe. */
void sw_table_free(struct sw_table *t);

/*
 * Check that `size` bytes at `blob` are a whole, consistent table (from a
 * file or any other untrusted place) for this architecture, so that
 * sw_table_lookup may read it: header fields, offsets and counts inside
 * the blob, pages non-decreasing, rows sorted, rule indices valid.
 * It wants the exact layout sw_table_build writes (the header, rules,
 * pages and rows back to back, the counts in the header true, no repeated
 * rule, a final gap row).  Returns 0 or SW_EBADHDR / SW_ETRUNCATED /
 * SW_EVERSION / SW_EUNSUPPORTED, SW_EALIGN (blob not 8-byte aligned: the
 * rules are 64-bit words) or SW_EINVAL (NULL), with diag->section saying
 * what is wrong ("compact table: ...": SW_EBADHDR's own text speaks of
 * .eh_frame_hdr) and diag->offset where.  Async-signal-safe.
 */
int sw_table_check(const void *blob, size_t size, struct sw_diag *diag);

/*
 * The interpreter's answer at `pc` in a table's terms, the reference a
 * table built from `sec` (and `hdr`, NULL: scanned) must match: the FDE
 * search the unwinder makes (through the header, else a scan), the CFA
 * row at pc, compiled.  SW_TABLE_HIT with *rule (source bits 0),
 * SW_TABLE_NONE (no FDE covers pc) or SW_TABLE_FALLBACK (the search or the
 * row failed, or the packing cannot hold the row).  *lookup_rc (when not
 * NULL): the FDE search's code; *fde_offset (when not NULL and an FDE was
 * found): its section offset.  For tests and fuzzers (reference.c).
 */
int sw_table_reference(const struct sw_cfi_section *sec, const struct sw_eh_hdr *hdr, uint64_t pc,
		       struct sw_compiled *rule, uint64_t *fde_offset, int *lookup_rc);

#endif /* SW_TABLE_H */
