/*
 * The publishers a registration gets by default (<stackwalk/jit.h>
 * SW_JIT_PUB_DEFAULT), and the environment variables that change them.
 *
 * On by default: what makes generated code visible to the consumers that
 * look without being asked -- C++ exceptions (SW_JIT_PUB_LIBGCC), a
 * debugger (SW_JIT_PUB_GDB) and nongnu libunwind when the process has it
 * (SW_JIT_PUB_LIBUNWIND).  Off by default: perf's files, which cost a
 * file write per procedure and are only read by a profiling session the
 * user starts on purpose -- opt-in through the environment, as V8's
 * --perf-basic-prof / --perf-prof, .NET's DOTNET_PerfMapEnabled and the
 * JVM's agents do it:
 *
 *   SW_JIT_PERF=1 | map     add SW_JIT_PUB_PERF_MAP (/tmp/perf-PID.map)
 *   SW_JIT_PERF=jitdump     add SW_JIT_PUB_JITDUMP (jit-PID.dump)
 *   SW_JIT_PERF=map,jitdump both; 0 or empty: neither
 *   SW_JIT_PUBLISHERS=LIST  replace the default set: names from libgcc,
 *                           gdb, perf-map, jitdump, libunwind, all, none,
 *                           separated by commas or spaces (SW_JIT_PERF is
 *                           added to it)
 *
 * Unknown names are ignored; an empty variable counts as unset.  Read once, at the registry's first use of
 * the defaults (first registration or sw_jit_set_publishers);
 * sw_jit_set_publishers overrides the result.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk/jit.h>

#include "jit/publishers/publish.h"

static const struct {
	const char *name;
	unsigned mask;
} names[] = {
	{ "libgcc", SW_JIT_PUB_LIBGCC },
	{ "gdb", SW_JIT_PUB_GDB },
	{ "perf-map", SW_JIT_PUB_PERF_MAP },
	{ "map", SW_JIT_PUB_PERF_MAP },
	{ "1", SW_JIT_PUB_PERF_MAP },
	{ "jitdump", SW_JIT_PUB_JITDUMP },
	{ "libunwind", SW_JIT_PUB_LIBUNWIND },
	{ "all", SW_JIT_PUB_ALL },
	{ "none", 0 },
	{ "0", 0 },
};

/* The mask named by a list of names (commas or spaces between them);
 * `perf` restricts the names to those of SW_JIT_PERF. */
static unsigned parse(const char *s, bool perf)
{
	unsigned mask = 0;

	while (*s) {
		size_t len = strcspn(s, ", ");
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			unsigned m = names[i].mask;
			if (perf && (m & ~(unsigned)(SW_JIT_PUB_PERF_MAP | SW_JIT_PUB_JITDUMP)))
				continue;
			if (strlen(names[i].name) == len && strncmp(names[i].name, s, len) == 0)
				mask |= m;
		}
		s += len;
		s += strspn(s, ", ");
	}
	return mask;
}

unsigned sw_jit_pub_initial(void)
{
	const char *list = getenv("SW_JIT_PUBLISHERS");
	const char *perf = getenv("SW_JIT_PERF");
	unsigned mask = list && *list ? parse(list, false) : SW_JIT_PUB_DEFAULT;

	if (perf)
		mask |= parse(perf, true);
	return mask;
}
