/*
 * attach_probe - a manual check of sw_as_attach: attach to PID, print
 * every thread (id, name, how long it was stopped) and its frames (PC,
 * name+offset, how each frame was found), the modules and the warnings.
 * Compare with `eu-stack -p PID`.
 *
 *   attach_probe [-t TID] [-n] [-m] [-r REPEAT] PID
 *     -t TID     only that thread        -n  no JIT / perf map
 *     -m         list the modules        -r  attach REPEAT times, print
 *                                            the stop times only
 *
 * Exit status: 0, or 1 when sw_as_attach failed (its message on stderr).
 *
 * Not built by the Makefile (the acceptance tests drive `stackwalk
 * stack`); build by hand:
 *   make build/out/libstackwalk.a
 *   gcc -O2 -Iinclude tests/remote/attach_probe.c build/out/libstackwalk.a \
 *       -lpthread -ldl -o /tmp/attach_probe
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stackwalk.h>
#include <stackwalk/remote.h>

static void print_frames(const sw_addr_space_t *as, size_t i)
{
	sw_cursor_t c;
	int rc = sw_init_remote(&c, as, i);

	if (rc != 0) {
		printf("  (no walk: %s)\n", sw_strerror(rc));
		return;
	}
	for (int n = 0; n < 1024; n++) {
		char name[256];
		uint64_t pc = sw_get_ip(&c), off = 0;

		if (sw_as_get_proc_name(as, n ? pc - 1 : pc, name, sizeof(name), &off) != 0)
			snprintf(name, sizeof(name), "??");
		else if (n)
			off++;
		printf("#%-3d 0x%016" PRIx64 " %s+0x%" PRIx64 " [src %d]\n", n, pc, name, off,
		       sw_get_frame_source(&c));
		rc = sw_step(&c);
		if (rc == SW_END_OF_STACK)
			break;
		if (rc < 0) {
			printf("  (walk ended: %s%s)\n", sw_strerror(rc),
			       sw_cursor_stack_truncated(&c) ? ", the stack copy ended" : "");
			break;
		}
	}
}

int main(int argc, char **argv)
{
	struct sw_as_options opt = { .size = sizeof(opt) };
	char err[1024] = "";
	sw_addr_space_t *as;
	int o, rc, mods = 0, repeat = 0;

	opt.errbuf = err;
	opt.errsize = sizeof(err);
	while ((o = getopt(argc, argv, "t:nmr:")) != -1) {
		switch (o) {
		case 't': opt.tid = atoi(optarg); break;
		case 'n': opt.flags |= SW_AS_NO_JIT; break;
		case 'm': mods = 1; break;
		case 'r': repeat = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-t TID] [-n] [-m] [-r REPEAT] PID\n", argv[0]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: %s [-t TID] [-n] [-m] [-r REPEAT] PID\n", argv[0]);
		return 2;
	}
	for (int r = 0; r < (repeat > 0 ? repeat : 1); r++) {
		rc = sw_as_attach((pid_t)atoi(argv[optind]), &opt, &as);
		if (rc != 0) {
			fprintf(stderr, "sw_as_attach: %s: %s\n", sw_strerror(rc), err);
			return 1;
		}
		for (size_t i = 0; i < sw_as_thread_count(as); i++) {
			struct sw_as_thread t;

			if (sw_as_get_thread(as, i, &t) != 0)
				continue;
			if (repeat) {
				printf("stop_ns %" PRIu64 "\n", t.stop_ns);
				continue;
			}
			printf("TID %d (%s)%s: stopped %" PRIu64 " us, stack [0x%" PRIx64 ", 0x%" PRIx64
			       ") %" PRIu64 " bytes\n", (int)t.tid, t.name,
			       t.state == SW_THREAD_GONE ? " gone" : "", t.stop_ns / 1000, t.stack_lo,
			       t.stack_hi, t.stack_hi - t.stack_lo);
			if (t.state != SW_THREAD_GONE)
				print_frames(as, i);
		}
		if (mods && !repeat) {
			for (size_t i = 0; i < sw_as_module_count(as); i++) {
				struct sw_as_module m;

				if (sw_as_get_module(as, i, &m) == 0)
					printf("module [0x%" PRIx64 ", 0x%" PRIx64 ") bias 0x%" PRIx64
					       " flags 0x%x %s <- %s\n", m.start, m.end, m.bias,
					       m.flags, m.path, m.file ? m.file : "(none)");
			}
		}
		if (!repeat && sw_as_warnings(as)[0])
			printf("warnings:\n%s", sw_as_warnings(as));
		sw_as_free(as);
	}
	return 0;
}
