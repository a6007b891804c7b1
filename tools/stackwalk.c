/* stackwalk: command-line front end: `stackwalk cfi`, `symbolize`, `stack`, `perf`, `table`. */
#include <stdio.h>
#include <string.h>

#include "tools.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: stackwalk COMMAND [ARGS]\n"
		   "commands:\n"
		   "  cfi [--readelf | --pc ADDR] FILE   dump call frame information\n"
		   "  symbolize [-e FILE] [-afiCps] [-j SECTION] [--json] [ADDR...]\n"
		   "                                     addresses to functions, files, lines\n"
		   "                                     (addr2line-compatible; --help)\n"
		   "  perf [-i perf.data] [--no-symbols] samples of perf record --call-graph dwarf,\n"
		   "                                     unwound here, printed as perf script\n"
		   "  stack [--json] [--thread TID] [--max-frames N] PID | --core FILE [--exe FILE]\n"
		   "                                     every thread's stack of a process or core\n"
		   "                                     (--help)\n"
		   "  table [--rows] [--out BLOB] FILE | --check BLOB\n"
		   "                                     the compact unwind table of a module\n"
		   "                                     (--help)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "cfi") == 0)
		return cmd_cfi(argc - 1, argv + 1);
	if (strcmp(argv[1], "symbolize") == 0)
		return cmd_symbolize(argc - 1, argv + 1);
	if (strcmp(argv[1], "perf") == 0)
		return cmd_perf(argc - 1, argv + 1);
	if (strcmp(argv[1], "stack") == 0)
		return cmd_stack(argc - 1, argv + 1);
	if (strcmp(argv[1], "table") == 0)
		return cmd_table(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "stackwalk: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
