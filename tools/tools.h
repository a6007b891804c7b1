/* Subcommands of the `stackwalk` tool. */
#ifndef SW_TOOLS_TOOLS_H
#define SW_TOOLS_TOOLS_H

#include <stdbool.h>

#include "dwarf/cfi.h"

/* `stackwalk cfi ...`: returns the process exit status. */
int cmd_cfi(int argc, char **argv);

/* `stackwalk symbolize ...` (addr2line-compatible): the exit status. */
int cmd_symbolize(int argc, char **argv);

/* `stackwalk perf ...` (perf script for --call-graph dwarf data): the exit status. */
int cmd_perf(int argc, char **argv);

/* `stackwalk stack ...` (every thread of a process or a core): the exit status. */
int cmd_stack(int argc, char **argv);

/* `stackwalk table ...` (the compact unwind table of a module): the exit status. */
int cmd_table(int argc, char **argv);

/* Print one CFI section in the layout of readelf --debug-dump=frames-interp.
 * `loaded_from` is the file name readelf shows when it also loaded
 * separate debug files, else NULL.  With `check`, every printed row is
 * compared with the engine's row (sw_cfa_row_at) and differences are
 * reported on stderr and added to *mismatches.  Returns 0 or a negative
 * SW_E* code (the dump still goes as far as it can). */
int readelf_dump_section(const struct sw_cfi_section *sec, const char *loaded_from,
			 bool check, unsigned long *mismatches);

/* Disassemble a DWARF expression into buf (readelf's notation). */
void expr_print(const uint8_t *expr, uint64_t len, char *buf, size_t size);

#endif
