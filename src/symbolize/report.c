/*
 * Reports for people (stackwalk/symbolize.h): the calling thread's
 * symbolized backtrace (sw_print_backtrace) and a crash handler that
 * prints the crashing thread's (sw_install_crash_handler).
 *
 * Line format, one line per source frame, innermost first, numbered as
 * gdb's `bt` numbers them (an inlined level is a frame of its own):
 *
 *   #N  0xPC in FUNCTION+0xOFF at FILE:LINE:COL (MODULE)
 *       the outermost source frame at PC: the function the machine code
 *       belongs to; OFF = PC - the function's start (PC is what the
 *       stack holds: a return address, or the interrupted instruction of
 *       the first frame of a crash)
 *   #N  inlined   in FUNCTION at FILE:LINE:COL
 *       a function inlined at that PC; the levels come before the line
 *       of the function they were inlined into, and each one's FILE:LINE
 *       is where it was executing (for the outer ones: the call site of
 *       the level below)
 *   #N  0xPC in ?? (MODULE+0xFILEOFFSET)
 *       no function known: the module and the PC's offset in its file
 *   #N  0xPC in ??
 *       not in any module
 *
 * " at FILE:LINE:COL" is left out when the file is unknown, ":COL" when
 * the column is, ":LINE:COL" when the line is.  PC is 16 hex digits.
 * FUNCTION is the demangled name (sw_sym_frame.name).
 *
 * Everything here that runs in a signal handler formats into a buffer on
 * the stack and write(2)s it: no stdio, no malloc, no locks.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <stackwalk.h>
#include <stackwalk/symbolize.h>

/* Frames printed at most (a stack overflow's recursion may be deep). */
#define REPORT_MAX_FRAMES 512
/* Source frames (inline levels) per PC kept. */
#define REPORT_MAX_INLINE 32

/* ---------------------------------------------------------------- format */

/* A line being formatted: text goes to `buf`, written out to `fd` when it
 * fills and at the end of the line (a line longer than the buffer is
 * written in pieces). */
struct line {
	int fd;
	size_t len;
	char buf[512];
};

/* write(2) all of buf, retrying after EINTR and partial writes; gives up
 * silently on other errors (nothing else can be done in a crash). */
static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void line_flush(struct line *l)
{
	write_all(l->fd, l->buf, l->len);
	l->len = 0;
}

static void put_char(struct line *l, char c)
{
	if (l->len == sizeof(l->buf))
		line_flush(l);
	l->buf[l->len++] = c;
}

static void put_str(struct line *l, const char *s)
{
	while (*s)
		put_char(l, *s++);
}

/* v in hex, "0x" first, at least `width` digits */
static void put_hex(struct line *l, uint64_t v, int width)
{
	char d[16];
	int n = 0;

	do {
		d[n++] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v != 0);
	put_str(l, "0x");
	for (int i = n; i < width; i++)
		put_char(l, '0');
	while (n > 0)
		put_char(l, d[--n]);
}

static void put_dec(struct line *l, uint64_t v)
{
	char d[20];
	int n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		put_char(l, d[--n]);
}

/* the line ends: newline, written out */
static void put_end(struct line *l)
{
	put_char(l, '\n');
	line_flush(l);
}

/* " at FILE:LINE:COL" as far as it is known */
static void put_location(struct line *l, const struct sw_sym_frame *f)
{
	if (f->file == NULL)
		return;
	put_str(l, " at ");
	put_str(l, f->file);
	if (f->line == 0)
		return;
	put_char(l, ':');
	put_dec(l, f->line);
	if (f->column != 0) {
		put_char(l, ':');
		put_dec(l, f->column);
	}
}

/*
 * Print the source frames at `pc` (what the stack holds), looked up at
 * `lookup` (pc, or pc - 1 for a return address), numbered from *num on.
 * Returns the number of lines printed.
 */
static int print_pc(sw_symbolizer_t *s, int fd, int *num, uint64_t pc, uint64_t lookup)
{
	struct sw_sym_frame frames[REPORT_MAX_INLINE];
	struct sw_sym_module mod;
	struct line l = { .fd = fd, .len = 0 };
	int n, i;

	memset(&mod, 0, sizeof(mod));
	n = s ? sw_symbolize(s, lookup, frames, REPORT_MAX_INLINE, &mod) : SW_ENOTFOUND;
	if (n < 1) {
		put_char(&l, '#');
		put_dec(&l, (uint64_t)(*num)++);
		put_str(&l, "  ");
		put_hex(&l, pc, 16);
		put_str(&l, " in ??");
		put_end(&l);
		return 1;
	}
	if (n > REPORT_MAX_INLINE)
		n = REPORT_MAX_INLINE;  /* the innermost levels are the ones kept */
	for (i = 0; i < n; i++) {
		const struct sw_sym_frame *f = &frames[i];
		const char *name = f->name ? f->name : f->function;

		put_char(&l, '#');
		put_dec(&l, (uint64_t)(*num)++);
		put_str(&l, "  ");
		if (i < n - 1 && (f->flags & SW_SYM_FRAME_INLINED)) {
			put_str(&l, "inlined   in ");
			put_str(&l, name ? name : "??");
			put_location(&l, f);
			put_end(&l);
			continue;
		}
		put_hex(&l, pc, 16);
		put_str(&l, " in ");
		if (name == NULL) {
			put_str(&l, "?? (");
			put_str(&l, mod.path ? mod.path : "??");
			if (mod.file_offset != UINT64_MAX) {
				put_char(&l, '+');
				put_hex(&l, mod.file_offset + (pc - lookup), 0);
			}
			put_char(&l, ')');
			put_end(&l);
			continue;
		}
		put_str(&l, name);
		/* the offset of pc itself: mod.address is lookup's link-time address */
		if (f->function_start != 0 && mod.address + (pc - lookup) >= f->function_start) {
			put_char(&l, '+');
			put_hex(&l, mod.address + (pc - lookup) - f->function_start, 0);
		}
		put_location(&l, f);
		if (mod.path) {
			put_str(&l, " (");
			put_str(&l, mod.path);
			put_char(&l, ')');
		}
		put_end(&l);
	}
	return n;
}

/*
 * Walk from `cur` (already on the first frame to print) and print every
 * frame: the lookup PC is the IP for an interrupted frame (a signal
 * frame: the faulting instruction), else IP - 1 (sw_get_lookup_pc).
 * Returns the number of lines printed.
 */
static int print_walk(sw_symbolizer_t *s, int fd, sw_cursor_t *cur)
{
	int num = 0, frames = 0, rc;

	for (;;) {
		uint64_t ip = sw_get_ip(cur);

		if (ip == 0)
			break;
		if (frames == REPORT_MAX_FRAMES) {
			struct line l = { .fd = fd, .len = 0 };

			put_str(&l, "    ... (more frames not shown)");
			put_end(&l);
			break;
		}
		print_pc(s, fd, &num, ip, sw_get_lookup_pc(cur));
		frames++;
		rc = sw_step(cur);
		if (rc != 0) {
			if (rc < 0) {
				struct line l = { .fd = fd, .len = 0 };

				put_str(&l, "    (the walk stopped: ");
				put_str(&l, sw_strerror(rc));
				put_char(&l, ')');
				put_end(&l);
			}
			break;
		}
	}
	return num;
}

/* ------------------------------------------------------- sw_print_backtrace */

/* The process-wide symbolizer of sw_print_backtrace(NULL, fd): made at the
 * first such call, published with a compare-and-swap (release; readers
 * acquire, so they see it complete); a thread that loses the race frees
 * its own. */
static sw_symbolizer_t *_Atomic process_symbolizer;

static sw_symbolizer_t *get_process_symbolizer(void)
{
	sw_symbolizer_t *s = atomic_load_explicit(&process_symbolizer, memory_order_acquire);
	sw_symbolizer_t *expected = NULL;

	if (s)
		return s;
	if (sw_symbolizer_new(NULL, &s) != 0)
		return NULL;
	if (atomic_compare_exchange_strong_explicit(&process_symbolizer, &expected, s,
						    memory_order_acq_rel, memory_order_acquire))
		return s;
	sw_symbolizer_free(s);
	return expected;
}

/* noinline: its own frame is the one the walk skips */
__attribute__((noinline)) SW_API int sw_print_backtrace(sw_symbolizer_t *s, int fd)
{
	sw_context_t ctx;
	sw_cursor_t cur;
	int rc;

	if (fd < 0)
		return SW_EINVAL;
	if (s == NULL) {
		s = get_process_symbolizer();
		if (s == NULL)
			return SW_ENOMEM;
	}
	sw_getcontext(&ctx);
	rc = sw_init_local(&cur, &ctx);
	if (rc < 0)
		return rc;
	/* the first frame is this function's: start at its caller */
	rc = sw_step(&cur);
	if (rc < 0)
		return rc;
	if (rc == SW_END_OF_STACK)
		return 0;
	rc = print_walk(s, fd, &cur);
	/* keep the call to print_walk from being a tail call (this frame is
	 * the one the walk starts from) */
	__asm__ volatile("" ::: "memory");
	return rc;
}

/* ------------------------------------------------------------ crash handler */

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
#define NCRASH (sizeof(crash_signals) / sizeof(crash_signals[0]))

/* The handler's state, set by sw_install_crash_handler under `install_lock`
 * before the handlers are installed (sigaction orders it before any
 * delivery); `crash_fd` may change by a later install. */
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static bool installed;
static sw_symbolizer_t *crash_symbolizer;
static _Atomic int crash_fd = 2;
static struct sigaction previous[NCRASH];   /* dispositions before install */
/* the thread (kernel tid) inside the handler, 0 when none */
static _Atomic long crash_owner;

#define ALTSTACK_SIZE (256 * 1024)

static int signal_slot(int sig)
{
	for (size_t i = 0; i < NCRASH; i++)
		if (crash_signals[i] == sig)
			return (int)i;
	return -1;
}

static const char *signal_name(int sig, const char **desc)
{
	switch (sig) {
	case SIGSEGV: *desc = "Segmentation fault"; return "SIGSEGV";
	case SIGBUS: *desc = "Bus error"; return "SIGBUS";
	case SIGILL: *desc = "Illegal instruction"; return "SIGILL";
	case SIGFPE: *desc = "Floating point exception"; return "SIGFPE";
	case SIGABRT: *desc = "Aborted"; return "SIGABRT";
	default: *desc = "signal"; return "signal";
	}
}

/* The process dies of `sig` now: default disposition, then the signal
 * again (pending until this handler returns, as sig is blocked in it;
 * a fault that recurs when the instruction runs again is forced by the
 * kernel anyway). */
static void die_by_default(int sig)
{
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	syscall(SYS_tgkill, (long)getpid(), syscall(SYS_gettid), (long)sig);
}

static void crash_handler(int sig, siginfo_t *info, void *ucontext)
{
	long tid = syscall(SYS_gettid);
	long expected = 0;
	int fd = atomic_load_explicit(&crash_fd, memory_order_relaxed);
	int slot = signal_slot(sig);
	const char *desc, *name = signal_name(sig, &desc);
	struct line l = { .fd = fd, .len = 0 };
	sw_cursor_t cur;
	int saved_errno = errno;

	if (!atomic_compare_exchange_strong(&crash_owner, &expected, tid)) {
		if (expected == tid) {
			/* a crash inside the handler itself */
			put_str(&l, "*** ");
			put_str(&l, name);
			put_str(&l, " inside the crash handler ***");
			put_end(&l);
			die_by_default(sig);
			return;
		}
		/* another thread is reporting its crash and will end the
		 * process: wait for that (bounded: 30 s), then die */
		for (int i = 0; i < 3000; i++) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		die_by_default(sig);
		return;
	}

	put_str(&l, "*** ");
	put_str(&l, name);
	put_str(&l, " (");
	put_str(&l, desc);
	put_str(&l, ")");
	if (info && info->si_code > 0 && sig != SIGABRT) {
		/* raised by the kernel for the instruction: a fault address */
		put_str(&l, " at address ");
		put_hex(&l, (uint64_t)(uintptr_t)info->si_addr, 0);
	} else if (info) {
		put_str(&l, " sent by pid ");
		put_dec(&l, (uint64_t)(uint32_t)info->si_pid);
	}
	put_str(&l, " ***");
	put_end(&l);

	if (ucontext && sw_init_ucontext(&cur, ucontext) == 0)
		print_walk(crash_symbolizer, fd, &cur);

	/* restore the previous disposition and let it act */
	if (slot >= 0) {
		const struct sigaction *prev = &previous[slot];
		bool prev_is_handler = (prev->sa_flags & SA_SIGINFO) ||
				       (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN);

		sigaction(sig, prev, NULL);
		if (!(prev_is_handler && info && info->si_code > 0 && sig != SIGABRT))
			syscall(SYS_tgkill, (long)getpid(), tid, (long)sig);
		/* else: a fault raised by an instruction; returning runs it
		 * again, and the previous handler gets the real siginfo */
	} else {
		die_by_default(sig);
	}
	atomic_store(&crash_owner, 0);
	errno = saved_errno;
}

/* An alternate signal stack for the calling thread, unless it has one. */
static int install_altstack(void)
{
	stack_t old, st;
	void *mem;

	if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE))
		return 0;
	mem = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
		   -1, 0);
	if (mem == MAP_FAILED)
		return SW_ENOMEM;
	/* the lowest page is a guard: an overflow of the handler's stack
	 * faults instead of writing below it */
	mprotect(mem, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE);
	st.ss_sp = mem;
	st.ss_size = ALTSTACK_SIZE;
	st.ss_flags = 0;
	if (sigaltstack(&st, NULL) != 0) {
		munmap(mem, ALTSTACK_SIZE);
		return SW_ENOMEM;
	}
	return 0;
}

/*
 * Threads other than the installing one use an alternate stack only when
 * they set one up themselves (sigaltstack is per thread and the kernel
 * picks the stack when it delivers the signal): without one, the handler
 * runs on the crashing thread's own stack — fine for every crash but a
 * stack overflow of that thread, whose report is then lost.
 */
SW_API int sw_install_crash_handler(const struct sw_crash_options *opts)
{
	int fd = 2, rc = 0;
	struct sigaction sa;
	size_t i;

	if (opts) {
		if (opts->size < offsetof(struct sw_crash_options, flags) + sizeof(opts->flags) ||
		    opts->flags != 0 || opts->fd < 0)
			return SW_EINVAL;
		fd = opts->fd;
	}
	sw_init();
	pthread_mutex_lock(&install_lock);
	atomic_store(&crash_fd, fd);
	if (installed) {
		/* handlers already in place: a new fd, this thread's stack */
		rc = install_altstack();
		goto out;
	}
	if (crash_symbolizer == NULL) {
		rc = sw_symbolizer_new(NULL, &crash_symbolizer);
		if (rc != 0)
			goto out;
	}
	rc = sw_symbolizer_preload(crash_symbolizer);
	if (rc < 0)
		goto out;
	rc = install_altstack();
	if (rc < 0)
		goto out;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NCRASH; i++) {
		if (sigaction(crash_signals[i], &sa, &previous[i]) != 0) {
			/* cannot happen for these signals; undo what was done */
			while (i-- > 0)
				sigaction(crash_signals[i], &previous[i], NULL);
			rc = SW_EINVAL;
			goto out;
		}
	}
	installed = true;
	rc = 0;
out:
	pthread_mutex_unlock(&install_lock);
	return rc < 0 ? rc : 0;
}
