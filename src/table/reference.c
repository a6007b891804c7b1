/*
 * The interpreter's answer at an address, in a table's terms: what a table
 * built from the same section must say there (table.h).  The one
 * definition the differential test, the unit test and the fuzzer check
 * the builder against.
 */
#include "table/table.h"

int sw_table_reference(const struct sw_cfi_section *sec, const struct sw_eh_hdr *hdr, uint64_t pc,
		       struct sw_compiled *rule, uint64_t *fde_offset, int *lookup_rc)
{
	struct sw_fde fde;
	struct sw_cie cie;
	struct sw_cfa_row row;
	int rc = hdr ? sw_cfi_find_fde_hdr(hdr, sec, pc, &fde, &cie, NULL)
		     : sw_cfi_find_fde_linear(sec, pc, &fde, &cie, NULL);

	if (lookup_rc)
		*lookup_rc = rc;
	if (rc == SW_ENOTFOUND)
		return SW_TABLE_NONE;
	if (rc < 0)
		return SW_TABLE_FALLBACK;
	if (fde_offset)
		*fde_offset = fde.offset;
	if (sw_cfa_row_at(sec, &cie, &fde, pc, &row, NULL) < 0 ||
	    !sw_compile_row(&row, cie.signal_frame, rule))
		return SW_TABLE_FALLBACK;
	return SW_TABLE_HIT;
}
