/*
 * sym_rusage STDIN_FILE CMD [ARGS...]: run CMD once with its stdin from
 * STDIN_FILE ("-" for /dev/null) and its stdout on /dev/null, and print on
 * stdout "CPU_US MAXRSS_KB": the user + system CPU time CMD used, in
 * microseconds, and its peak resident set (ru_maxrss), both from wait4's
 * rusage of that one child (so the figure covers the whole process, setup
 * included, and nothing else).  Exits 1 when CMD cannot be run, is killed
 * by a signal or exits non-zero.  CMD's stderr is left alone.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rusage ru;
	pid_t pid;
	int status, in, null;

	if (argc < 3) {
		fprintf(stderr, "usage: sym_rusage STDIN_FILE|- CMD [ARGS...]\n");
		return 2;
	}
	in = open(strcmp(argv[1], "-") == 0 ? "/dev/null" : argv[1], O_RDONLY);
	null = open("/dev/null", O_WRONLY);
	if (in < 0 || null < 0) {
		perror("sym_rusage: open");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("sym_rusage: fork");
		return 1;
	}
	if (pid == 0) {
		dup2(in, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("sym_rusage: wait4");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "sym_rusage: %s failed (status 0x%x)\n", argv[2], status);
		return 1;
	}
	printf("%lld %ld\n",
	       (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
		       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec,
	       ru.ru_maxrss);
	return 0;
}
