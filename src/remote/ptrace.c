/*
 * sw_as_attach: the address space of another, running process.
 *
 * Design: copy now, unwind later.  Each thread of the target is stopped
 * on its own, as briefly as possible, and let go before the next one is
 * touched:
 *
 *     PTRACE_SEIZE, PTRACE_INTERRUPT, wait for the stop,
 *     PTRACE_GETREGSET, copy [SP - red zone, top of its stack mapping)
 *     with one process_vm_readv, PTRACE_DETACH
 *
 * and nothing else happens while it is stopped: /proc is read before
 * (maps, the thread list, each thread's name and state) and the modules
 * are described after, when every thread runs again.  Walks then read the
 * copies (and, rarely, the live memory: space.c), never a stopped target.
 * The process as a whole is never stopped: threads run while the others
 * are copied, so the stacks are not one instant's snapshot — each is
 * consistent in itself, which is what a walk needs.
 *
 * The target is always let go:
 *   - every path after a successful PTRACE_SEIZE ends in PTRACE_DETACH;
 *   - the stops are done by a helper thread, the "tracer" (ptrace links a
 *     tracee to the thread that attached).  Should a thread not stop in
 *     time (uninterruptible sleep, a vfork parent), it cannot be
 *     detached (PTRACE_DETACH needs a stopped tracee); the kernel detaches
 *     it when its tracer thread exits, which the helper does right after
 *     the last thread.  When the helper cannot be created the calling
 *     thread does the work (and such a thread stays traced until the
 *     process exits: a warning says so);
 *   - SIGINT, SIGTERM, SIGHUP and SIGQUIT are blocked in the thread doing
 *     the stops while a thread is stopped (the helper blocks every
 *     signal), so no handler of ours runs — or longjmps away — while a
 *     target thread waits; a signal that arrives is delivered after the
 *     detach.  If our process dies anyway, the kernel detaches its tracees.
 *
 * Nothing waits unboundedly: the wait for a stop polls waitpid(WNOHANG)
 * with short sleeps for at most 1 s (100 ms once a thread missed it) —
 * a blocking waitpid could hang on a thread that never stops, and cannot
 * be broken off without a signal handler of ours.  Threads made after
 * /proc/PID/task was listed are not copied; threads that exit meanwhile,
 * and a zombie thread-group leader (it has no registers to give), are
 * kept as SW_THREAD_GONE with a warning.
 *
 * Signals of the target are not lost: the stop we wait for after
 * PTRACE_INTERRUPT is PTRACE_EVENT_STOP (or the group-stop of a stopped
 * process, which the detach leaves in effect), but a signal-delivery-stop
 * can be reported first (a signal was being delivered to the thread).
 * The thread is stopped there as well: its registers are read at that
 * point and the signal is handed back with PTRACE_DETACH's data argument,
 * so it is delivered as if we had not been there.
 *
 * Modules come from /proc/PID/maps: each file that has an executable
 * mapping is added mapping by mapping (space.c merges consecutive ones),
 * opened through /proc/PID/map_files (the very file mapped: deleted or
 * replaced files, other mount namespaces — needs CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE), else /proc/PID/root + path (containers), else
 * the path.  The build-id is read from the target's memory (the note in
 * the first mapping) so space.c can check that the file opened is the one
 * mapped.  The vDSO is copied out of the target's memory.
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stackwalk.h>
#include <stackwalk/remote.h>

#include "arch/target.h"
#include "remote/remote.h"

/* Bytes below SP copied too: the System V red zone, where a leaf
 * function may keep data without moving SP. */
#define RED_ZONE 128u

/* /proc/PID/maps is read whole; a process has at most vm.max_map_count
 * (65530 by default) mappings of ~100 bytes: 64 MiB is plenty. */
#define MAPS_MAX (64u << 20)

/* Threads listed at most (the kernel's threads-max is far above any real
 * process; this bounds the arrays). */
#define THREADS_MAX (1u << 20)

/* How long a thread may take to reach its ptrace stop after
 * PTRACE_INTERRUPT; after one thread missed it, the others get the
 * shorter one (a hung file system stalls every thread alike). */
#define STOP_TIMEOUT_NS 1000000000ull
#define STOP_TIMEOUT_AFTER_MISS_NS 100000000ull

/* The PTRACE_PEEKDATA fallback reads at most this many bytes (one system
 * call per word, all while the thread is stopped). */
#define PEEK_MAX (128u << 10)

/* The scratch buffer stacks are copied into while a thread is stopped
 * starts this large, its pages touched before the first stop. */
#define SCRATCH_INITIAL (256u << 10)

/* ---------------------------------------------------------------- helpers */

static uint64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Read the small file `path` into buf (NUL-terminated).  Returns the bytes
 * read or -errno. */
static ssize_t read_small_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -errno;
	while (len + 1 < size) {
		ssize_t r = read(fd, buf + len, size - 1 - len);

		if (r < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	close(fd);
	return (ssize_t)len;
}

/* The decimal number after "key" at the start of a line of a
 * /proc/PID/status text (the first number of the line); -1 if absent. */
static long status_field(const char *status, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = status; p && *p;) {
		if (strncmp(p, key, klen) == 0) {
			char *end;
			long v;

			p += klen;
			while (*p == ' ' || *p == '\t')
				p++;
			errno = 0;
			v = strtol(p, &end, 10);
			return (end == p || errno) ? -1 : v;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* Read `size` bytes of the target at addr.  Returns the bytes read (short
 * at the first unreadable page) or -1. */
static ssize_t target_read(pid_t pid, uint64_t addr, void *buf, size_t size)
{
	struct iovec local = { .iov_base = buf, .iov_len = size };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = size };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0);
}

static bool target_read_all(pid_t pid, uint64_t addr, void *buf, size_t size)
{
	return target_read(pid, addr, buf, size) == (ssize_t)size;
}

/* ---------------------------------------------------------------- maps */

struct map {
	uint64_t start, end, pgoff;
	uint64_t inode;
	dev_t dev;
	char perms[5];          /* "r-xp" */
	const char *path;       /* "" for anonymous; into maps.text */
	bool deleted;           /* the path ended in " (deleted)", stripped */
};

struct maps {
	char *text;             /* the file, lines NUL-terminated in place */
	struct map *v;          /* in the kernel's order: by address */
	size_t n, cap;
};

static void maps_free(struct maps *m)
{
	free(m->text);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/*
 * One line of /proc/PID/maps, NUL-terminated:
 *   "START-END PERMS PGOFF MAJOR:MINOR INODE   PATH"
 * PATH (after padding spaces) is everything to the end of the line: it
 * may contain spaces, and ends in " (deleted)" when the file is gone.
 * Returns false for a line that does not parse.
 */
static bool parse_map_line(char *line, struct map *m)
{
	const char *p = line;
	uint64_t maj, min, inode = 0;
	size_t len;
	char *path;
	static const char deleted[] = " (deleted)";

	memset(m, 0, sizeof(*m));
	if (!sw_rs_parse_hex(&p, &m->start) || *p++ != '-' || !sw_rs_parse_hex(&p, &m->end) ||
	    *p++ != ' ')
		return false;
	for (int i = 0; i < 4; i++) {
		if (!p[i] || p[i] == ' ')
			return false;
		m->perms[i] = p[i];
	}
	p += 4;
	if (*p++ != ' ' || !sw_rs_parse_hex(&p, &m->pgoff) || *p++ != ' ')
		return false;
	if (!sw_rs_parse_hex(&p, &maj) || *p++ != ':' || !sw_rs_parse_hex(&p, &min) ||
	    *p++ != ' ')
		return false;
	for (unsigned n = 0; *p >= '0' && *p <= '9'; p++, n++) {
		if (n >= 20)
			return false;
		inode = inode * 10 + (uint64_t)(*p - '0');
	}
	if (m->end <= m->start)
		return false;
	m->inode = inode;
	m->dev = makedev((unsigned)maj, (unsigned)min);
	while (*p == ' ')
		p++;
	path = (char *)p;
	len = strlen(path);
	if (len > sizeof(deleted) - 1 && path[0] == '/' &&
	    strcmp(path + len - (sizeof(deleted) - 1), deleted) == 0) {
		path[len - (sizeof(deleted) - 1)] = '\0';
		m->deleted = true;
	}
	m->path = path;
	return true;
}

/* Read and parse a maps file (/proc/PID/maps, /proc/PID/task/TID/maps).
 * Returns 0 or -errno (the open's or the read's: EACCES/EPERM when we may
 * not, ENOENT/ESRCH when it is gone). */
static int maps_read(const char *path, struct maps *m)
{
	size_t len = 0, cap = 64u << 10;
	char *text = malloc(cap);
	int fd;

	memset(m, 0, sizeof(*m));
	if (!text)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		free(text);
		return -e;
	}
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *t;

			if (cap >= MAPS_MAX)
				break; /* absurdly large: parse what we have */
			t = realloc(text, cap * 2);
			if (!t) {
				close(fd);
				free(text);
				return -ENOMEM;
			}
			text = t;
			cap *= 2;
		}
		r = read(fd, text + len, cap - 1 - len);
		if (r < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			close(fd);
			free(text);
			return -e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	text[len] = '\0';
	m->text = text;

	for (char *line = text, *next; line && *line; line = next) {
		struct map e;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!parse_map_line(line, &e))
			continue;
		if (m->n == m->cap) {
			size_t ncap = m->cap ? m->cap * 2 : 256;
			struct map *v = realloc(m->v, ncap * sizeof(*v));

			if (!v) {
				maps_free(m);
				return -ENOMEM;
			}
			m->v = v;
			m->cap = ncap;
		}
		m->v[m->n++] = e;
	}
	return 0;
}

/* The mapping containing addr, or NULL.  The kernel lists mappings by
 * address, without overlaps: a binary search. */
static const struct map *maps_find(const struct maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

/* ---------------------------------------------------------------- threads */

/* The state letter and name of a thread from /proc/PID/task/TID/stat
 * ("TID (COMM) S ..."; COMM may hold ')' and spaces: the last ')' ends
 * it).  Returns 0 or -errno (ENOENT: the thread is gone). */
static int task_stat(pid_t pid, pid_t tid, char *state, char name[16])
{
	char path[64], buf[512];
	ssize_t r;
	char *open_paren, *close_paren;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	r = read_small_file(path, buf, sizeof(buf));
	if (r < 0)
		return (int)r;
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren || close_paren[1] != ' ')
		return -EINVAL;
	n = (size_t)(close_paren - open_paren - 1);
	if (n > 15)
		n = 15;
	memcpy(name, open_paren + 1, n);
	name[n] = '\0';
	*state = close_paren[2];
	return 0;
}

static int cmp_tid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* The threads of pid, the thread-group leader first, then by id.
 * Returns the count (>= 0) or -errno. */
static ssize_t list_threads(pid_t pid, pid_t **out)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	pid_t *v = NULL;
	size_t n = 0, cap = 0;

	*out = NULL;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL && n < THREADS_MAX) {
		char *end;
		long tid;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		errno = 0;
		tid = strtol(de->d_name, &end, 10);
		if (*end || errno || tid <= 0 || tid > INT32_MAX)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			pid_t *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[n++] = (pid_t)tid;
	}
	closedir(d);
	if (n > 1) {
		qsort(v, n, sizeof(*v), cmp_tid);
		for (size_t i = 1; i < n; i++) {
			if (v[i] == pid) {
				memmove(v + 1, v, i * sizeof(*v));
				v[0] = pid;
				break;
			}
		}
	}
	*out = v;
	return (ssize_t)n;
}

/* What the capture of all threads found. */
struct capture {
	struct sw_addr_space *as;
	pid_t pid;
	const pid_t *tids;
	size_t ntids;
	const struct maps *maps;
	uint64_t stack_max;
	bool own_tracer;        /* runs in the helper thread */
	/* results */
	pid_t live_tid;         /* a thread that was stopped: alive, with memory */
	size_t stopped;         /* threads whose registers were read */
	size_t copied;          /* ... and some of whose stack was copied */
	size_t gone;
	size_t timeouts;        /* threads that did not stop in time */
	int perm_errno;         /* PTRACE_SEIZE's errno when it refused (EPERM) */
	int fatal;              /* SW_ENOMEM, or 0 */
	uint64_t stop_ns_max;
	uint8_t *scratch;       /* the stack copy buffer */
	size_t scratch_cap;
};

/* How a wait for the stop ended. */
enum stop_result { STOP_OK, STOP_EXITED, STOP_TIMEOUT, STOP_ERROR };

/*
 * Wait until the seized, interrupted thread tid is in a ptrace stop, at
 * most timeout_ns.  *sig: the signal to hand back on detach (a
 * signal-delivery-stop's; 0 for PTRACE_EVENT_STOP).  Polls with WNOHANG
 * and short sleeps (5 us doubling to 200 us): a blocking waitpid could
 * wait forever on a thread that never stops, and nothing short of a
 * signal handler of ours (a library installs none) or pthread_cancel
 * (which needs libgcc_s) could break it off.
 */
static enum stop_result wait_stop(pid_t tid, uint64_t timeout_ns, int *sig, int *err)
{
	uint64_t t0 = now_ns();
	long sleep_ns = 5000;

	*sig = 0;
	for (;;) {
		int st = 0;
		pid_t r = waitpid(tid, &st, __WALL | WNOHANG);

		if (r == tid) {
			if (WIFEXITED(st) || WIFSIGNALED(st))
				return STOP_EXITED;
			if (WIFSTOPPED(st)) {
				/* PTRACE_EVENT_STOP: the interrupt's stop or a
				 * group-stop (kept by the detach); no event: a
				 * signal-delivery-stop, whose signal goes back. */
				if ((st >> 16) == 0)
					*sig = WSTOPSIG(st);
				return STOP_OK;
			}
			/* WIFCONTINUED (not asked for): wait on */
		}
		if (r < 0 && errno != EINTR) {
			*err = errno;
			/* ECHILD: not our tracee any more (it exited and was reaped) */
			return errno == ECHILD ? STOP_EXITED : STOP_ERROR;
		}
		if (now_ns() - t0 >= timeout_ns)
			return STOP_TIMEOUT;
		/* Sleep, not spin: a spinning tracer takes the CPU the woken
		 * tracee needs to reach its stop (measured on 2 cores: a
		 * sched_yield loop made the 90th percentile stop 20x longer). */
		struct timespec ts = { 0, sleep_ns };

		nanosleep(&ts, NULL);
		if (sleep_ns < 200000)
			sleep_ns *= 2;
	}
}

static bool scratch_reserve(struct capture *c, size_t size)
{
	uint8_t *p;
	size_t cap = c->scratch_cap ? c->scratch_cap : SCRATCH_INITIAL;

	if (size <= c->scratch_cap)
		return true;
	while (cap < size)
		cap *= 2;
	p = realloc(c->scratch, cap);
	if (!p)
		return false;
	c->scratch = p;
	c->scratch_cap = cap;
	return true;
}

/*
 * Copy the stack of the stopped thread tid (SP sp) into c->scratch:
 * [max(mapping start, sp - RED_ZONE), min(mapping end, sp + stack_max)).
 * Sets *lo; returns the bytes copied (0: none).
 */
static size_t copy_stack(struct capture *c, pid_t tid, uint64_t sp, uint64_t *lo)
{
	const struct map *m = maps_find(c->maps, sp);
	uint64_t start = sp >= RED_ZONE ? sp - RED_ZONE : 0;
	uint64_t end = sp + c->stack_max < sp ? UINT64_MAX : sp + c->stack_max;
	ssize_t r;

	if (m) {
		if (start < m->start)
			start = m->start;
		if (end > m->end)
			end = m->end;
	}
	/* else: a mapping made after maps was read (a new thread's stack);
	 * the read stops at its end by itself */
	*lo = start;
	if (end <= start || !scratch_reserve(c, (size_t)(end - start)))
		return 0;
	/* by thread id: the process id's task may be an exited leader,
	 * without memory */
	r = target_read(tid, start, c->scratch, (size_t)(end - start));
	if (r <= 0 && start < sp) {
		/* the red zone lies in an unreadable page: from SP */
		*lo = start = sp;
		r = target_read(tid, start, c->scratch, (size_t)(end - start));
	}
	if (r > 0)
		return (size_t)r;

	/* process_vm_readv refused (no CONFIG_CROSS_MEMORY_ATTACH, a seccomp
	 * filter): PTRACE_PEEKDATA word by word, bounded. */
	*lo = start;
	size_t n = 0, max = (size_t)(end - start) < PEEK_MAX ? (size_t)(end - start) : PEEK_MAX;

	while (n + sizeof(long) <= max) {
		long w;

		errno = 0;
		w = ptrace(PTRACE_PEEKDATA, tid, (void *)(uintptr_t)(start + n), NULL);
		if (w == -1 && errno)
			break;
		memcpy(c->scratch + n, &w, sizeof(w));
		n += sizeof(w);
	}
	return n;
}

static void thread_gone(struct capture *c, struct sw_as_thread *t, const char *why)
{
	t->state = SW_THREAD_GONE;
	sw_rs_warn(c->as, "thread %d%s%s%s: %s", (int)t->tid, t->name[0] ? " (" : "", t->name,
		   t->name[0] ? ")" : "", why);
	c->gone++;
	if (sw_rs_add_thread(c->as, t, NULL, 0, 0) != 0)
		c->fatal = SW_ENOMEM;
}

/*
 * Stop thread tid, copy its registers and stack, let it go, add it.
 * Returns 0, or -1 to stop the capture (ptrace refused, out of memory).
 */
static int capture_one(struct capture *c, pid_t tid, uint64_t *timeout_ns)
{
	struct sw_as_thread t;
	/* the architecture's register set, as NT_PRSTATUS carries it
	 * (PTRACE_GETREGSET; aligned for the word reads of sw_arch_user_regs) */
	uint64_t ur[(SW_ARCH_USER_REGS_SIZE + 7) / 8];
	uint64_t regs[SW_REG_COUNT];
	sigset_t block, old;
	enum stop_result res;
	uint64_t t0, t1, lo = 0;
	size_t size = 0;
	int sig = 0, err = 0, detach_err = 0, rc;
	bool regs_ok = false;
	char state = '?';

	memset(&t, 0, sizeof(t));
	t.tid = tid;
	rc = task_stat(c->pid, tid, &state, t.name);
	if (rc == -ENOENT || rc == -ESRCH) {
		thread_gone(c, &t, "exited before it could be stopped");
		return 0;
	}
	if (state == 'Z' || state == 'X') {
		/* A zombie (an exited thread-group leader whose other threads
		 * live on) never reaches a ptrace stop: do not seize it. */
		thread_gone(c, &t, "exited (zombie), no registers");
		return 0;
	}

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &block, &old);

	/* ---- the thread is stopped from here ... */
	t0 = now_ns();
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)0) != 0) {
		err = errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (err == ESRCH) {
			thread_gone(c, &t, "exited before it could be stopped");
			return 0;
		}
		if (err == EPERM || err == EACCES) {
			/* an exiting thread refuses with EPERM too */
			if (task_stat(c->pid, tid, &state, t.name) != 0 || state == 'Z' ||
			    state == 'X') {
				thread_gone(c, &t, "exited before it could be stopped");
				return 0;
			}
			if (c->stopped == 0) {
				c->perm_errno = err;
				return -1;
			}
			thread_gone(c, &t, "ptrace refused (another tracer attached meanwhile?)");
			return 0;
		}
		thread_gone(c, &t, strerror(err));
		return 0;
	}
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) != 0)
		err = errno; /* ESRCH: it is exiting; the wait says so */
	res = wait_stop(tid, *timeout_ns, &sig, &err);
	if (res == STOP_OK) {
		struct iovec io = { ur, SW_ARCH_USER_REGS_SIZE };
		if (ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)NT_PRSTATUS, &io) == 0 &&
		    io.iov_len == SW_ARCH_USER_REGS_SIZE) {
			regs_ok = true;
			sw_arch_user_regs(ur, regs);
			size = copy_stack(c, tid, regs[SW_REG_SP], &lo);
		} else {
			err = errno; /* ESRCH: killed (SIGKILL) while stopped */
		}
		/* hand back the signal of a signal-delivery-stop */
		if (ptrace(PTRACE_DETACH, tid, NULL, (void *)(uintptr_t)sig) != 0)
			detach_err = errno; /* ESRCH: killed meanwhile */
	}
	t1 = now_ns();
	/* ---- ... to here */
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	t.stop_ns = t1 - t0;
	if (t.stop_ns > c->stop_ns_max)
		c->stop_ns_max = t.stop_ns;
	if (res == STOP_TIMEOUT) {
		/* It is seized with an interrupt pending: it stops as soon as
		 * it can, and only its tracer thread's exit lets it go. */
		*timeout_ns = STOP_TIMEOUT_AFTER_MISS_NS;
		c->timeouts++;
		thread_gone(c, &t, c->own_tracer
			? "did not stop in time (uninterruptible sleep? vfork?): left out; "
			  "it is detached when the attaching helper thread exits"
			: "did not stop in time (uninterruptible sleep? vfork?): left out; "
			  "it stays traced until this process exits");
		return 0;
	}
	if (res == STOP_EXITED) {
		thread_gone(c, &t, "exited while being stopped");
		return 0;
	}
	if (res == STOP_ERROR) {
		sw_rs_warn(c->as, "thread %d: waitpid: %s", (int)tid, strerror(err));
		thread_gone(c, &t, "could not be stopped");
		return 0;
	}
	if (detach_err && detach_err != ESRCH)
		sw_rs_warn(c->as, "thread %d: PTRACE_DETACH: %s", (int)tid, strerror(detach_err));
	if (!regs_ok) {
		thread_gone(c, &t, "exited while stopped, before its registers were read");
		return 0;
	}

	/* Running again: keep the copy. */
	uint8_t *stack = NULL;

	sw_rs_regs_to_context(regs, &t.regs);
	t.state = SW_THREAD_STOPPED;
	if (size > 0) {
		stack = malloc(size);
		if (!stack) {
			c->fatal = SW_ENOMEM;
			return -1;
		}
		memcpy(stack, c->scratch, size);
		t.stack_lo = lo;
		t.stack_hi = lo + size;
		c->copied++;
	} else {
		sw_rs_warn(c->as, "thread %d: its stack at 0x%" PRIx64 " could not be read",
			   (int)tid, regs[SW_REG_SP]);
	}
	if (c->stopped++ == 0)
		c->live_tid = tid;
	if (sw_rs_add_thread(c->as, &t, stack, lo, size) != 0) {
		c->fatal = SW_ENOMEM;
		return -1;
	}
	return 0;
}

static void capture_all(struct capture *c)
{
	uint64_t timeout = STOP_TIMEOUT_NS;

	/* Touch the scratch pages now, so the first stop does not pay for
	 * page faults. */
	if (scratch_reserve(c, SCRATCH_INITIAL))
		memset(c->scratch, 0, c->scratch_cap);
	for (size_t i = 0; i < c->ntids; i++) {
		if (capture_one(c, c->tids[i], &timeout) != 0)
			break;
	}
	free(c->scratch);
	c->scratch = NULL;
	c->scratch_cap = 0;
}

static void *tracer_main(void *arg)
{
	/* This thread only waits for stops: sleep as exactly as asked (the
	 * default timer slack, 50 us, would add to every thread's stop). */
	prctl(PR_SET_TIMERSLACK, 1000ul, 0ul, 0ul, 0ul);
	capture_all(arg);
	return NULL;
}

/*
 * Run capture_all in a helper thread (the tracer; see the header comment)
 * with every signal blocked, or in this thread if none can be made.
 */
static void capture_run(struct capture *c)
{
	pthread_t th;
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	c->own_tracer = true;
	rc = pthread_create(&th, NULL, tracer_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0) {
		pthread_join(th, NULL);
		return;
	}
	c->own_tracer = false;
	capture_all(c);
}

/* ---------------------------------------------------------------- errors */

/* Explain why ptrace (or /proc/PID/maps) refused: another tracer, another
 * user, a process that is not dumpable, Yama's ptrace_scope. */
static void explain_permission(const struct sw_as_options *opt, pid_t pid, const char *status,
			       int err)
{
	char path[64], buf[64], exe[64];
	long tracer = status_field(status, "TracerPid:");
	long uid = status_field(status, "Uid:");
	uid_t me = geteuid();
	struct stat st;
	ssize_t r;

	if (tracer > 0) {
		snprintf(path, sizeof(path), "/proc/%ld/comm", tracer);
		r = read_small_file(path, exe, sizeof(exe));
		if (r > 0 && exe[r - 1] == '\n')
			exe[r - 1] = '\0';
		sw_rs_error(opt,
			    "cannot attach to process %d: it is already traced by process %ld%s%s%s; "
			    "a process has one tracer at a time (a debugger, strace): detach that "
			    "one first",
			    (int)pid, tracer, r > 0 ? " (" : "", r > 0 ? exe : "", r > 0 ? ")" : "");
		return;
	}
	if (uid >= 0 && me != 0 && (uid_t)uid != me) {
		sw_rs_error(opt,
			    "cannot attach to process %d: it is owned by uid %ld, we are uid %ld: "
			    "run as that user, or as root (CAP_SYS_PTRACE)",
			    (int)pid, uid, (long)me);
		return;
	}
	/* /proc/PID of a process that is not dumpable (setuid, capabilities
	 * gained, prctl(PR_SET_DUMPABLE, 0)) belongs to root */
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (me != 0 && uid >= 0 && stat(path, &st) == 0 && st.st_uid != (uid_t)uid) {
		sw_rs_error(opt,
			    "cannot attach to process %d: it is not dumpable (a setuid program, "
			    "or prctl(PR_SET_DUMPABLE, 0)): only root (CAP_SYS_PTRACE) may attach",
			    (int)pid);
		return;
	}
	r = read_small_file("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof(buf));
	if (r > 0) {
		int scope = atoi(buf);

		if (scope == 1 && me != 0) {
			sw_rs_error(opt,
				    "cannot attach to process %d: kernel.yama.ptrace_scope is 1 (a "
				    "process may only trace its own descendants): run as root "
				    "(CAP_SYS_PTRACE), or `echo 0 > /proc/sys/kernel/yama/ptrace_scope` "
				    "as root, or let the target call prctl(PR_SET_PTRACER, ...) "
				    "(see man ptrace, \"/proc/sys/kernel/yama/ptrace_scope\")",
				    (int)pid);
			return;
		}
		if (scope == 2) {
			sw_rs_error(opt,
				    "cannot attach to process %d: kernel.yama.ptrace_scope is 2 (only "
				    "CAP_SYS_PTRACE may attach): run as root, or `echo 0 > "
				    "/proc/sys/kernel/yama/ptrace_scope` as root (see man ptrace)",
				    (int)pid);
			return;
		}
		if (scope >= 3) {
			sw_rs_error(opt,
				    "cannot attach to process %d: kernel.yama.ptrace_scope is %d "
				    "(ptrace is disabled until the next reboot; see man ptrace)",
				    (int)pid, scope);
			return;
		}
	}
	sw_rs_error(opt,
		    "cannot attach to process %d: %s (no CAP_SYS_PTRACE in this container? a "
		    "seccomp filter or an LSM such as SELinux/AppArmor refusing ptrace?)",
		    (int)pid, strerror(err));
}

/* ---------------------------------------------------------------- modules */

/* The build-id of the ELF image mapped at m (file offset 0), read from the
 * target's memory: its PT_NOTE within that first mapping.  Returns the
 * size (0: none found). */
static size_t read_build_id(pid_t pid, const struct map *m, uint8_t id[40])
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	uint64_t len = m->end - m->start;
	size_t phnum;

	if (m->pgoff != 0 || m->perms[0] != 'r' || !target_read_all(pid, m->start, &eh, sizeof(eh)))
		return 0;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff >= len)
		return 0;
	phnum = eh.e_phnum < 64 ? eh.e_phnum : 64;
	if (phnum == 0 || eh.e_phoff + phnum * sizeof(Elf64_Phdr) > len ||
	    !target_read_all(pid, m->start + eh.e_phoff, ph, phnum * sizeof(Elf64_Phdr)))
		return 0;
	for (size_t i = 0; i < phnum; i++) {
		uint8_t note[512];
		size_t off = 0, size;

		if (ph[i].p_type != PT_NOTE || ph[i].p_offset >= len || ph[i].p_filesz > len ||
		    ph[i].p_offset + ph[i].p_filesz > len)
			continue;
		size = ph[i].p_filesz < sizeof(note) ? (size_t)ph[i].p_filesz : sizeof(note);
		if (!target_read_all(pid, m->start + ph[i].p_offset, note, size))
			continue;
		/* notes: namesz, descsz, type, name (4-aligned), desc (4-aligned) */
		while (off + 12 <= size) {
			uint32_t namesz, descsz, type;
			size_t name_off = off + 12, desc_off;

			memcpy(&namesz, note + off, 4);
			memcpy(&descsz, note + off + 4, 4);
			memcpy(&type, note + off + 8, 4);
			if (namesz > size || descsz > size)
				break;
			desc_off = name_off + ((namesz + 3u) & ~3u);
			if (desc_off + descsz > size)
				break;
			if (type == NT_GNU_BUILD_ID && namesz == 4 &&
			    memcmp(note + name_off, "GNU", 4) == 0 && descsz > 0 && descsz <= 40) {
				memcpy(id, note + desc_off, descsz);
				return descsz;
			}
			off = desc_off + ((descsz + 3u) & ~3u);
		}
	}
	return 0;
}

/* Copy the vDSO out of the target and add it. */
static void add_vdso(struct sw_addr_space *as, pid_t pid, const struct map *m)
{
	size_t size = (size_t)(m->end - m->start);
	uint64_t bias = m->start;
	uint8_t *image;
	const Elf64_Ehdr *eh;

	if (size > (64u << 20)) {
		sw_rs_warn(as, "[vdso] at 0x%" PRIx64 " is too large (%zu bytes): left out",
			   m->start, size);
		return;
	}
	image = malloc(size);
	if (!image)
		return;
	if (!target_read_all(pid, m->start, image, size)) {
		sw_rs_warn(as, "[vdso] at 0x%" PRIx64 " could not be read: %s", m->start,
			   strerror(errno));
		free(image);
		return;
	}
	/* bias: the mapping holds the image from file offset 0, so the
	 * PT_LOAD at offset 0 is at m->start (its p_vaddr is usually 0) */
	eh = (const Elf64_Ehdr *)image;
	if (size >= sizeof(*eh) && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
	    eh->e_phentsize == sizeof(Elf64_Phdr) && eh->e_phoff < size &&
	    eh->e_phnum <= (size - eh->e_phoff) / sizeof(Elf64_Phdr)) {
		for (size_t i = 0; i < eh->e_phnum; i++) {
			Elf64_Phdr ph;

			memcpy(&ph, image + eh->e_phoff + i * sizeof(ph), sizeof(ph));
			if (ph.p_type == PT_LOAD && ph.p_offset == 0) {
				bias = m->start - ph.p_vaddr;
				break;
			}
		}
	}
	/* takes the image, also on failure (a warning then) */
	sw_rs_add_image_module(as, m->start, m->end, bias, "[vdso]", image, size, SW_MOD_VDSO);
}

/* Is the run of mappings v[i..j) of one file the executable's? */
static bool is_exe(const struct map *m, const char *exe_path, const struct stat *exe_st)
{
	if (exe_path[0] && strcmp(m->path, exe_path) == 0)
		return true;
	return exe_st && m->inode != 0 && m->inode == exe_st->st_ino && m->dev == exe_st->st_dev;
}

/*
 * Add the modules: every file with an executable mapping (data files such
 * as locale-archive are left out), mapping by mapping, and the vDSO.
 */
static int add_modules(struct sw_addr_space *as, pid_t pid, pid_t tid, const struct maps *maps)
{
	char exe_path[4096], link[64], open_path[4200];
	struct stat exe_st;
	bool have_exe_st, main_done = false, map_files_ok = true;
	ssize_t r;

	/* the thread's: the leader may have exited */
	snprintf(link, sizeof(link), "/proc/%d/task/%d/exe", (int)pid, (int)tid);
	r = readlink(link, exe_path, sizeof(exe_path) - 1);
	exe_path[r > 0 ? r : 0] = '\0';
	if (r > 10 && strcmp(exe_path + r - 10, " (deleted)") == 0)
		exe_path[r - 10] = '\0';
	have_exe_st = stat(link, &exe_st) == 0;

	for (size_t i = 0; i < maps->n;) {
		const struct map *m = &maps->v[i];
		size_t j;
		bool exec = false, main = false;
		uint8_t id[40];
		size_t id_size;

		if (strcmp(m->path, "[vdso]") == 0) {
			add_vdso(as, tid, m);
			i++;
			continue;
		}
		if (m->path[0] != '/') {
			i++; /* anonymous, [heap], [stack], [vvar], [vsyscall] */
			continue;
		}
		/* the run of consecutive mappings of this file */
		for (j = i; j < maps->n && strcmp(maps->v[j].path, m->path) == 0 &&
			    maps->v[j].inode == m->inode; j++)
			exec |= maps->v[j].perms[2] == 'x';
		if (!exec) {
			i = j;
			continue;
		}
		if (!main_done && is_exe(m, exe_path, have_exe_st ? &exe_st : NULL)) {
			main = true;
			main_done = true;
		}
		id_size = read_build_id(tid, m, id);
		for (; i < j; i++) {
			const struct map *e = &maps->v[i];
			unsigned flags = (main ? SW_MOD_MAIN : 0) | (e->deleted ? SW_MOD_DELETED : 0);
			int rc, fd = -1;

			/* the kernel names map_files entries "%lx-%lx" */
			if (map_files_ok) {
				snprintf(open_path, sizeof(open_path), "/proc/%d/map_files/%" PRIx64
					 "-%" PRIx64, (int)pid, e->start, e->end);
				fd = open(open_path, O_RDONLY | O_CLOEXEC);
				if (fd >= 0)
					close(fd);
				else if (errno == EPERM || errno == EACCES)
					map_files_ok = false; /* no capability: none will open */
			}
			if (fd < 0) {
				snprintf(open_path, sizeof(open_path), "%s%s", as->root, e->path);
				if (access(open_path, R_OK) != 0)
					snprintf(open_path, sizeof(open_path), "%s", e->path);
			}
			rc = sw_rs_add_mapping(as, e->start, e->end, e->pgoff, e->path, open_path,
					       id_size ? id : NULL, id_size, flags);
			if (rc == SW_ENOMEM)
				return rc;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- attach */

int sw_as_attach(pid_t pid, const struct sw_as_options *opt_in, sw_addr_space_t **out)
{
	struct sw_as_options opt;
	struct sw_addr_space *as = NULL;
	struct maps maps;
	struct capture c;
	char path[64], status[4096];
	pid_t *tids = NULL;
	ssize_t ntids;
	long tgid;
	int rc;

	/* the caller's struct may be older (smaller) than ours */
	memset(&opt, 0, sizeof(opt));
	if (opt_in) {
		size_t n = opt_in->size ? opt_in->size : sizeof(opt);

		memcpy(&opt, opt_in, n < sizeof(opt) ? n : sizeof(opt));
	}
	opt.size = sizeof(opt);
	if (!out) {
		sw_rs_error(&opt, "sw_as_attach: out is NULL");
		return SW_EINVAL;
	}
	*out = NULL;
	if (pid <= 0) {
		sw_rs_error(&opt, "sw_as_attach: invalid process id %d", (int)pid);
		return SW_EINVAL;
	}
	if (pid == getpid()) {
		sw_rs_error(&opt, "cannot attach to the calling process %d (walk it with "
			    "sw_init_local)", (int)pid);
		return SW_EINVAL;
	}

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small_file(path, status, sizeof(status)) < 0) {
		sw_rs_error(&opt, "no process %d", (int)pid);
		return SW_ENOTFOUND;
	}
	/* a thread id stands for its process */
	tgid = status_field(status, "Tgid:");
	if (tgid > 0 && tgid != pid) {
		if (tgid == getpid()) {
			sw_rs_error(&opt, "cannot attach to a thread (%d) of the calling process",
				    (int)pid);
			return SW_EINVAL;
		}
		pid = (pid_t)tgid;
	}
	if (opt.tid < 0) {
		sw_rs_error(&opt, "sw_as_attach: invalid thread id %d", (int)opt.tid);
		return SW_EINVAL;
	}
	ntids = list_threads(pid, &tids);
	if (ntids == -ENOMEM)
		return SW_ENOMEM;
	if (ntids <= 0) {
		free(tids);
		sw_rs_error(&opt, "no process %d (or it has no thread left)", (int)pid);
		return SW_ENOTFOUND;
	}
	if (opt.tid > 0) {
		ssize_t k = 0;

		while (k < ntids && tids[k] != opt.tid)
			k++;
		if (k == ntids) {
			free(tids);
			sw_rs_error(&opt, "process %d has no thread %d", (int)pid, (int)opt.tid);
			return SW_ENOTFOUND;
		}
	}

	/* The maps of the process are its leader's: empty when the leader
	 * has exited while other threads run on; then a live thread's. */
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	rc = maps_read(path, &maps);
	for (ssize_t k = 0; rc == 0 && maps.n == 0 && k < ntids && k < 16; k++) {
		maps_free(&maps);
		snprintf(path, sizeof(path), "/proc/%d/task/%d/maps", (int)pid, (int)tids[k]);
		rc = maps_read(path, &maps);
		if (rc == -ENOENT || rc == -ESRCH)
			rc = 0; /* that thread is gone: the next one */
	}
	if (rc != 0)
		free(tids);
	if (rc == -ENOENT || rc == -ESRCH) {
		sw_rs_error(&opt, "no process %d", (int)pid);
		return SW_ENOTFOUND;
	}
	if (rc == -EACCES || rc == -EPERM) {
		explain_permission(&opt, pid, status, -rc);
		return SW_EUNSUPPORTED;
	}
	if (rc == -ENOMEM)
		return SW_ENOMEM;
	if (rc < 0) {
		sw_rs_error(&opt, "cannot read /proc/%d/maps: %s", (int)pid, strerror(-rc));
		return SW_ENOTFOUND;
	}
	if (maps.n == 0) {
		char state = '?', name[16];

		maps_free(&maps);
		free(tids);
		if (task_stat(pid, pid, &state, name) != 0 || state == 'Z' || state == 'X') {
			sw_rs_error(&opt, "process %d has exited", (int)pid);
			return SW_ENOTFOUND;
		}
		sw_rs_error(&opt, "process %d has no user address space (a kernel thread?)",
			    (int)pid);
		return SW_EUNSUPPORTED;
	}
	if (opt.tid > 0) {
		tids[0] = opt.tid;
		ntids = 1;
	}

	as = sw_rs_new(SW_AS_PROCESS, &opt);
	if (!as) {
		maps_free(&maps);
		free(tids);
		return SW_ENOMEM;
	}
	as->pid = pid;
	as->live = true;
	snprintf(as->root, sizeof(as->root), "/proc/%d/root", (int)pid);

	memset(&c, 0, sizeof(c));
	c.as = as;
	c.pid = pid;
	c.tids = tids;
	c.ntids = (size_t)ntids;
	c.maps = &maps;
	c.stack_max = opt.stack_max ? opt.stack_max : SW_AS_STACK_MAX_DEFAULT;
	capture_run(&c);
	free(tids);

	if (c.fatal) {
		rc = c.fatal;
		goto fail;
	}
	if (c.stopped == 0) {
		if (c.perm_errno) {
			explain_permission(&opt, pid, status, c.perm_errno);
			rc = SW_EUNSUPPORTED;
		} else if (c.timeouts) {
			sw_rs_error(&opt, "process %d: no thread reached a ptrace stop in time "
				    "(uninterruptible sleep: a hung file system or device?)", (int)pid);
			rc = SW_EMEMORY;
		} else if (opt.tid > 0) {
			sw_rs_error(&opt, "thread %d of process %d exited before it could be stopped",
				    (int)opt.tid, (int)pid);
			rc = SW_ENOTFOUND;
		} else {
			sw_rs_error(&opt, "process %d exited while its threads were being stopped",
				    (int)pid);
			rc = SW_ENOTFOUND;
		}
		goto fail;
	}
	if (c.copied == 0) {
		sw_rs_error(&opt, "process %d: no thread's stack could be read", (int)pid);
		rc = SW_EMEMORY;
		goto fail;
	}

	/* An exited leader has no root or map_files of its own any more:
	 * reach the files through a live thread (jit.c reads the perf map
	 * through as->root too). */
	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	if (c.live_tid != pid && access(path, X_OK) != 0) {
		snprintf(as->root, sizeof(as->root), "/proc/%d/task/%d/root", (int)pid,
			 (int)c.live_tid);
		as->mem_pid = c.live_tid;   /* space.c's live reads, too */
	}
	rc = add_modules(as, pid, c.live_tid, &maps);
	if (rc != 0)
		goto fail;
	maps_free(&maps);

	if (!(opt.flags & SW_AS_NO_JIT))
		sw_rs_load_jit(as);
	rc = sw_rs_finish(as);
	if (rc != 0) {
		sw_rs_error(&opt, "process %d: nothing usable was found", (int)pid);
		sw_as_free(as);
		return rc;
	}
	*out = as;
	return 0;

fail:
	maps_free(&maps);
	sw_as_free(as);
	return rc;
}
