/*
 * A tracer written against nongnu libunwind-ptrace (built with nongnu's
 * headers, linked with -lunwind-ptrace -lunwind-generic): attach to PID,
 * walk the stopped thread with unw_init_remote/unw_step and print one
 * line per frame, "IP NAME+OFFSET", then detach.  tests/scripts/
 * libunwind_remote.sh runs it on nongnu's libraries and on stackwalk's
 * (LD_LIBRARY_PATH) and compares.  Also exercises unw_get_proc_info,
 * unw_get_proc_info_by_ip and unw_flush_cache on the remote space.
 */
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	pid_t pid = argc > 1 ? (pid_t)atoi(argv[1]) : 0;
	int status, n = 0, rc = 0;

	if (pid <= 0 || ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0 ||
	    waitpid(pid, &status, __WALL) != pid) {
		perror("attach");
		return 2;
	}
	unw_addr_space_t as = unw_create_addr_space(&_UPT_accessors, 0);
	void *upt = _UPT_create(pid);
	unw_cursor_t c;
	if (!as || !upt || (rc = unw_init_remote(&c, as, upt)) < 0) {
		printf("init failed: %d\n", rc);
		return 1;
	}
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			/* again from a flushed cache: the same frames */
			unw_flush_cache(as, 0, 0);
			if (unw_init_remote(&c, as, upt) < 0)
				return 1;
			printf("--\n");
		}
		n = 0;
		do {
			unw_word_t ip = 0, off = 0;
			char name[256] = "";
			unw_proc_info_t pi, pi2;
			unw_get_reg(&c, UNW_REG_IP, &ip);
			if (unw_get_proc_name(&c, name, sizeof(name), &off) < 0)
				snprintf(name, sizeof(name), "?");
			int okpi = unw_get_proc_info(&c, &pi) == 0;
			int okby = unw_get_proc_info_by_ip(as, pi.start_ip, &pi2, upt) == 0;
			printf("#%d %s+0x%lx%s\n", n, name, (unsigned long)off,
			       okpi && okby && pi2.start_ip == pi.start_ip && pi2.end_ip == pi.end_ip &&
					       ip >= pi.start_ip && ip <= pi.end_ip ?
				       " [pi]" :
				       "");
			n++;
		} while (n < 64 && (rc = unw_step(&c)) > 0);
		printf("end %d\n", rc);
	}
	_UPT_destroy(upt);
	unw_destroy_addr_space(as);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	return 0;
}
