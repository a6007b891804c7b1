/*
 * reload: a module unloaded and another loaded at the same address, with
 * call sites at the same PCs but different unwind rules (chain_dl.c built
 * with two frame sizes), must be unwound with the new module's rules.
 *
 * Here the dlopen/dlclose calls are made by a plugin host library
 * (reload_host.c, itself dlopened), not by the program: the case of a
 * program whose libraries load and unload modules.  In the module's
 * callback sw_backtrace and libgcc's _Unwind_Backtrace must agree PC for PC.
 *
 *   reload HOST_SO DL_A DL_B
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <unwind.h>

#include "common.h"

#define MAXF 128

static const char *round_name;

NOINLINE static void compare(void)
{
	void *sw[MAXF], *ug[MAXF];
	struct ug_state st = { ug, 0, MAXF };
	int n = sw_backtrace(sw, MAXF);

	_Unwind_Backtrace(ug_cb, &st);
	if (st.n > 0 && ug[st.n - 1] == NULL)
		st.n--;
	bool same = n == st.n && n >= 2;
	for (int i = 1; same && i < n; i++)
		same = sw[i] == ug[i];
	CHECK(same, "%s: sw_backtrace (%d frames) and _Unwind_Backtrace (%d) differ", round_name, n,
	      st.n);
	if (!same)
		for (int i = 0; i < n || i < st.n; i++)
			printf("  %2d %c sw %-18p ug %p\n", i, i > 0 && i < n && i < st.n && sw[i] == ug[i] ? ' ' : '*',
			       i < n ? sw[i] : NULL, i < st.n ? ug[i] : NULL);
}

static int cb(int id)
{
	compare();
	return id;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s HOST_SO DL_A DL_B\n", argv[0]);
		return 2;
	}
	sw_init();
	void *host = dlopen(argv[1], RTLD_NOW);
	if (!host) {
		fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
		return 2;
	}
	int (*cycle)(const char *, int (*)(int), int, void **) =
		(int (*)(const char *, int (*)(int), int, void **))dlsym(host, "host_cycle");
	void *ea = NULL, *eb = NULL, *ea2 = NULL;

	round_name = "A";
	cycle(argv[2], cb, 1, &ea);
	round_name = "B (after A was unloaded)";
	cycle(argv[3], cb, 2, &eb);
	round_name = "A again (after B was unloaded)";
	cycle(argv[2], cb, 3, &ea2);
	/* glibc maps a module into the hole the last one left; under the
	 * sanitizers their own mappings may take it: then nothing was shown */
	printf("reload: dl_entry of A at %p, B at %p, A again at %p%s\n", ea, eb, ea2,
	       ea == eb && eb == ea2 ? " (same address: the case under test)"
				     : " (different addresses: inconclusive)");
	return t_finish("reload");
}
