/*
 * names_signal: sw_get_proc_name is async-signal-safe for modules it has
 * already seen.
 *
 *   names_signal DL_A DL_B      (two builds of chain_dl.c)
 *
 * 1. After a warm-up that names one address of every loaded module, name
 *    every frame of walks in the main thread and in a signal handler: no
 *    malloc (or any allocator entry), no dladdr/dladdr1 (the loader lock),
 *    no pthread_mutex_lock may happen inside sw_get_proc_name.  The calls
 *    are interposed here (the library is linked statically, so its calls
 *    bind to these definitions; under AddressSanitizer the allocator is
 *    counted through its hooks) and counted only while the calling thread
 *    is inside the name path.
 * 2. A storm: every thread's SIGPROF handler walks the
 *    interrupted stack and names every frame, while the main thread forks
 *    in a loop (each child names its own stack, which deadlocks if a lock
 *    was held across the fork) and two threads dlopen, call into and
 *    dlclose DL_A and DL_B.  Each sample's walk must reach the thread's
 *    routine by name; no child may fail; the counts of step 1 stay 0.
 *    Each thread's timer fires 1 ms after its previous handler returned
 *    (naming scans symbol tables: a periodic timer could fire again before
 *    a slow handler is done and starve the thread).  The work is bounded
 *    by counts (forks, reloads, samples), not time.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* ---------------------------------------------------------------- counting */

static __thread int in_names;          /* this thread is inside the name path */
static unsigned long n_dladdr, n_lock;

#define COUNT_ALLOC_WHEN in_names
#include "count_alloc.h"   /* n_alloc, n_free: allocator calls */

static int (*real_dladdr)(const void *, Dl_info *);
static int (*real_dladdr1)(const void *, Dl_info *, void **, int);
static int (*real_mutex_lock)(pthread_mutex_t *);

int dladdr(const void *addr, Dl_info *info)
{
	COUNT(n_dladdr);
	return real_dladdr(addr, info);
}

int dladdr1(const void *addr, Dl_info *info, void **extra, int flags)
{
	COUNT(n_dladdr);
	return real_dladdr1(addr, info, extra, flags);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	COUNT(n_lock);
	return real_mutex_lock(m);
}

static void resolve_real(void)
{
	real_dladdr = (int (*)(const void *, Dl_info *))dlsym(RTLD_NEXT, "dladdr");
	real_dladdr1 = (int (*)(const void *, Dl_info *, void **, int))dlsym(RTLD_NEXT, "dladdr1");
	real_mutex_lock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_lock");
	if (!real_dladdr || !real_dladdr1 || !real_mutex_lock) {
		fprintf(stderr, "dlsym(RTLD_NEXT) failed\n");
		exit(2);
	}
}

/* ---------------------------------------------------------------- naming */

/* Name every frame of a walk from `cur`; true when a frame named `want`
 * was seen and the walk ended at the outermost frame. */
static bool name_walk(sw_cursor_t *cur, const char *want)
{
	char name[128];
	uint64_t off;
	bool seen = false;
	int rc;

	in_names++;
	do {
		if (sw_get_proc_name(cur, name, sizeof(name), &off) == 0 && strcmp(name, want) == 0)
			seen = true;
	} while ((rc = sw_step(cur)) == 0);
	in_names--;
	return seen && rc == SW_END_OF_STACK;
}

NOINLINE static bool name_here(const char *want)
{
	sw_context_t ctx;
	sw_cursor_t cur;

	sw_getcontext(&ctx);
	sw_init_local(&cur, &ctx);
	return name_walk(&cur, want);
}

/* Warm-up: name one code address of every loaded module. */
static int warm_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && ph->p_memsz > 0) {
			sw_context_t ctx;
			sw_cursor_t cur;
			char name[128];
			uint64_t off;
			sw_getcontext(&ctx);
			sw_init_local(&cur, &ctx);
			sw_set_reg(&cur, SW_REG_IP, info->dlpi_addr + ph->p_vaddr + 1);
			sw_get_proc_name(&cur, name, sizeof(name), &off);
			++*(int *)arg;
			break;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- storm */

static const char *dl_paths[2];
static volatile int stop;
static unsigned long samples, bad_samples;

struct thread_want {
	const char *name;        /* the routine each sample's walk must name */
};
static __thread struct thread_want want;

static __thread timer_t my_timer;
static __thread volatile int timer_on;

/* (Re)arm the calling thread's one-shot 1 ms timer. */
static void arm(void)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = 1000000;
	timer_settime(my_timer, 0, &its, NULL);
}

static void on_prof(int signo, siginfo_t *si, void *uc)
{
	sw_cursor_t cur;
	int saved = errno;

	(void)signo;
	(void)si;
	if (!want.name) {
		errno = saved;
		return;
	}
	sw_init_ucontext(&cur, uc);
	if (!name_walk(&cur, want.name))
		__atomic_fetch_add(&bad_samples, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&samples, 1, __ATOMIC_RELAXED);
	if (timer_on)
		arm();
	errno = saved;
}

static void start_timer(void)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGPROF;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &my_timer) != 0) {
		perror("timer_create");
		exit(2);
	}
	timer_on = 1;
	arm();
}

static void stop_timer(void)
{
	timer_on = 0;
	timer_delete(my_timer);
}

static volatile int spin_sink;

static int dl_cb(int id)
{
	for (int i = 0; i < 20000; i++)
		spin_sink += id;
	return 0;
}

struct dl_arg {
	int which, rounds;
	int failures;
};

NOINLINE static void *dl_worker(void *p)
{
	struct dl_arg *a = p;

	want.name = "dl_worker";
	start_timer();
	for (int i = 0; i < a->rounds || !stop; i++) {
		void *h = dlopen(dl_paths[a->which], RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			a->failures++;
			continue;
		}
		int (*entry)(int, int (*)(int), int) =
			(int (*)(int, int (*)(int), int))dlsym(h, "dl_entry");
		if (entry)
			entry(3, dl_cb, 1);
		else
			a->failures++;
		dlclose(h);
	}
	stop_timer();
	want.name = NULL;
	return NULL;
}

/* The main thread's loop: fork; each child names its own stack. */
NOINLINE static int fork_loop(int forks, unsigned long min_samples, int *child_failures)
{
	int done = 0;

	for (int i = 0; i < forks || __atomic_load_n(&samples, __ATOMIC_RELAXED) < min_samples; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return -1;
		}
		if (pid == 0)
			_exit(name_here("fork_loop") ? 0 : 1);
		int st;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			++*child_failures;
		done++;
	}
	return done;
}

int main(int argc, char **argv)
{
	int quick = t_quick();
	int walks = quick ? 200 : 1000, forks = quick ? 100 : 400, rounds = quick ? 60 : 300;
	unsigned long min_samples = quick ? 300 : 2000;
	struct sigaction sa;
	int modules = 0, child_failures = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DL_A DL_B\n", argv[0]);
		return 2;
	}
	dl_paths[0] = argv[1];
	dl_paths[1] = argv[2];
	resolve_real();
	install_alloc_counting();
	sw_init();

	/* 1. warm-up, then walks named in the main thread and a handler */
	dl_iterate_phdr(warm_cb, &modules);
	CHECK(modules >= 3, "warm-up named %d modules", modules);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_prof;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPROF, &sa, NULL);
	want.name = "main";
	int bad = 0;
	for (int i = 0; i < walks; i++)
		if (!name_here("main"))
			bad++;
	for (int i = 0; i < walks / 10; i++)
		raise(SIGPROF);
	printf("names_signal: after warm-up (%d modules), %d named walks + %d in a handler: "
	       "%lu allocator calls, %lu dladdr calls, %lu mutex locks\n",
	       modules, walks, walks / 10, n_alloc + n_free, n_dladdr, n_lock);
	CHECK_EQ(bad, 0, "named walks in main that did not name main");
	CHECK_EQ(bad_samples, 0, "handler walks that did not name main");
	CHECK_EQ(n_alloc + n_free, 0, "allocator calls in sw_get_proc_name after warm-up");
	CHECK_EQ(n_dladdr, 0, "dladdr calls in sw_get_proc_name after warm-up");
	CHECK_EQ(n_lock, 0, "mutex locks in sw_get_proc_name after warm-up");
	fflush(stdout);

	/* 2. the storm */
	unsigned long a0 = n_alloc + n_free, d0 = n_dladdr, l0 = n_lock;
	pthread_t th[2];
	struct dl_arg args[2] = { { 0, rounds, 0 }, { 1, rounds, 0 } };
	samples = bad_samples = 0;
	for (int i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, dl_worker, &args[i]) != 0) {
			perror("pthread_create");
			return 2;
		}
	start_timer();
	int done = fork_loop(forks, min_samples, &child_failures);
	stop_timer();
	want.name = NULL;
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	printf("names_signal: storm: %d forks, %lu samples (%lu bad), %d failed children, "
	       "%lu allocator calls, %lu dladdr calls, %lu mutex locks in the name path\n",
	       done, samples, bad_samples, child_failures, n_alloc + n_free - a0, n_dladdr - d0,
	       n_lock - l0);
	CHECK(done >= forks, "forks done: %d", done);
	CHECK(samples > 0, "samples taken");
	CHECK_EQ(bad_samples, 0, "samples whose walk did not name the thread's routine");
	CHECK_EQ(child_failures, 0, "children whose named walk failed");
	CHECK_EQ(args[0].failures + args[1].failures, 0, "dlopen/dlsym failures");
	CHECK_EQ(n_alloc + n_free - a0, 0, "allocator calls in the name path during the storm");
	CHECK_EQ(n_dladdr - d0, 0, "dladdr calls in the name path during the storm");
	CHECK_EQ(n_lock - l0, 0, "mutex locks in the name path during the storm");
	return t_finish("names_signal");
}
