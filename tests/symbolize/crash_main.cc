// tests/symbolize: crash.sh's program.  `crash_main ACTION` installs the
// crash handler (report on fd 2) and calls into the library:
//   segv | abort | fpe | print  (enum lib_action)
#include <cstdio>
#include <cstring>

#include <stackwalk/symbolize.h>

#include "crash_lib.h"

int main(int argc, char **argv)
{
	static const char *const names[] = { "segv", "abort", "fpe", "print" };
	struct sw_crash_options opts;
	int action = -1, zero = 0;

	for (int i = 0; i < 4; i++)
		if (argc > 1 && strcmp(argv[1], names[i]) == 0)
			action = i;
	if (action < 0) {
		fprintf(stderr, "usage: %s segv|abort|fpe|print\n", argv[0]);
		return 2;
	}
	memset(&opts, 0, sizeof(opts));
	opts.size = sizeof(opts);
	opts.fd = 2;
	int rc = sw_install_crash_handler(&opts);
	if (rc != 0) {
		fprintf(stderr, "sw_install_crash_handler: %s\n", sw_strerror(rc));
		return 3;
	}
	// SEGV: a NULL target the compiler cannot see; FPE: a zero divisor
	int *target = action == LIB_FPE ? &zero : (argc > 5 ? &argc : nullptr);
	int r = lib_entry(action, target);  // MAIN_LINE
	printf("result %d\n", r);
	return 0;
}
