/*
 * A core reader written against nongnu libunwind-coredump (nongnu's
 * headers, -lunwind-coredump -lunwind-generic): every thread of the core
 * file, each frame as "IP-OFFSET-IN-NAME NAME+OFFSET".  tests/scripts/
 * libunwind_remote.sh runs it on nongnu's libraries and on stackwalk's.
 * The arguments after the core are "ADDRESS:PATH" backing files (from the
 * target's /proc/PID/maps), for _UCD_add_backing_file_at_vaddr: nongnu
 * needs them; stackwalk's core reader finds the files itself (NT_FILE).
 */
#include <libunwind-coredump.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct UCD_info *ui = argc > 1 ? _UCD_create(argv[1]) : NULL;
	unw_addr_space_t as = unw_create_addr_space(&_UCD_accessors, 0);

	if (!ui || !as) {
		printf("cannot open the core\n");
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		char *colon = strchr(argv[i], ':');
		if (colon)
			(void)_UCD_add_backing_file_at_vaddr(ui, strtoul(argv[i], NULL, 16), colon + 1);
	}
	int n = _UCD_get_num_threads(ui);
	printf("threads %d\n", n);
	for (int t = 0; t < n; t++) {
		unw_cursor_t c;
		int rc, k = 0;
		_UCD_select_thread(ui, t);
		if ((rc = unw_init_remote(&c, as, ui)) < 0) {
			printf("thread %d: init %d\n", t, rc);
			continue;
		}
		do {
			char name[256] = "?";
			unw_word_t off = 0;
			if (unw_get_proc_name(&c, name, sizeof(name), &off) < 0)
				snprintf(name, sizeof(name), "?");
			printf("#%d %s+0x%lx\n", k, name, (unsigned long)off);
		} while (++k < 64 && (rc = unw_step(&c)) > 0);
		printf("end %d\n", rc);
	}
	unw_destroy_addr_space(as);
	_UCD_destroy(ui);
	return 0;
}
