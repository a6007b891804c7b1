/*
 * The one checked helper through which the unwinder reads stack and
 * unknown memory.
 *
 * Fast path: the calling thread's stack.  Its bounds come from the mapping
 * that contains our own frame in /proc/self/maps, parsed once per thread
 * with open/read/close (all async-signal-safe) into a fixed buffer, and
 * cached in initial-exec TLS (no __tls_get_addr, so no allocation).  A
 * thread's stack mapping never shrinks while the thread runs, so the
 * cached range stays readable.  A walk that starts on another stack (a
 * signal stack, a fiber, a hand-made context) trusts that stack's mapping
 * for the duration of the walk only.
 *
 * Slow path: anything else (another stack, CFI expressions pointing at
 * data) is read with process_vm_readv on our own pid, which returns EFAULT
 * instead of faulting on unmapped memory.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "unwind/internal.h"

struct range {
	uint64_t lo, hi;
};

/* The calling thread's stack mapping, learnt once per thread. */
static __thread struct range tls_stack __attribute__((tls_model("initial-exec")));

/* The value of hex digit `c`, or -1. */
static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The mapping of /proc/self/maps containing `addr`, or false.  Parsed a
 * character at a time through a small buffer (this runs on signal stacks:
 * stackwalk.h's stack bound), so a line of any length (a long path) is
 * skipped whole: only each line's "lo-hi p" head is looked at. */
static bool find_mapping(uint64_t addr, struct range *out)
{
	char buf[512];
	uint64_t lo = 0, hi = 0;
	enum { LO, HI, PERM, REST } field = LO;
	bool found = false;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	while (!found && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n && !found; i++) {
			char c = buf[i];
			int d;
			if (c == '\n') {
				field = LO;
				lo = hi = 0;
				continue;
			}
			switch (field) {
			case LO:
			case HI:
				if ((d = hex_digit(c)) >= 0) {
					if (field == LO)
						lo = lo << 4 | (unsigned)d;
					else
						hi = hi << 4 | (unsigned)d;
				} else {
					/* "lo-hi ", or a line to skip */
					field = field == LO && c == '-' ? HI :
						field == HI && c == ' ' ? PERM : REST;
				}
				break;
			case PERM:
				/* only readable mappings count */
				if (c == 'r' && addr >= lo && addr < hi) {
					out->lo = lo;
					out->hi = hi;
					found = true;
				}
				field = REST;
				break;
			case REST:
				break;
			}
		}
	}
	close(fd);
	return found;
}

/* True when `r` (the cached thread stack) holds our own current frame, and
 * so is mapped right now.  Only then may the cache be trusted. */
static inline bool holds_our_frame(const struct range *r)
{
	uint64_t here = (uint64_t)(uintptr_t)__builtin_frame_address(0);

	return here >= r->lo && here < r->hi;
}

/* The signal stack we are running on, if any. */
static bool on_sigaltstack(struct range *r)
{
	stack_t ss;

	if (sigaltstack(NULL, &ss) != 0 || !(ss.ss_flags & SS_ONSTACK))
		return false;
	r->lo = (uint64_t)(uintptr_t)ss.ss_sp;
	r->hi = r->lo + ss.ss_size;
	return true;
}

void sw_mem_init(struct sw_mem *m, uint64_t sp)
{
	struct range r = tls_stack, alt = { 0, 0 };
	uint64_t here = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	bool alt_known = false, alt_checked = false;

	/* The cached range is trusted only while our own frame lies in it: we
	 * are running on it, so it is mapped.  That keeps a fiber's stack,
	 * freed after a walk on it, from being trusted later.  When our frame
	 * left the range — another stack, or the main stack grew below the
	 * part seen so far — look our frame's mapping up again, unless we run
	 * on a signal stack, which says nothing about the thread's stack. */
	if (!holds_our_frame(&r)) {
		alt_known = on_sigaltstack(&alt);
		alt_checked = true;
		r.lo = r.hi = 0;
		if (!(alt_known && here >= alt.lo && here < alt.hi) && find_mapping(here, &r))
			tls_stack = r;
	}
	if (sp >= r.lo && sp < r.hi) {
		m->lo = r.lo;
		m->hi = r.hi;
		return;
	}
	if (!alt_checked)
		alt_known = on_sigaltstack(&alt);
	if (alt_known && sp >= alt.lo && sp < alt.hi) {
		m->lo = alt.lo;
		m->hi = alt.hi;
		return;
	}
	/* elsewhere (the interrupted thread stack seen from a signal stack, a
	 * fiber, a hand-made context): trust the mapping holding sp for this
	 * walk only */
	if (find_mapping(sp, &r)) {
		m->lo = r.lo;
		m->hi = r.hi;
	} else {
		m->lo = m->hi = 0;
	}
}

/* Read through the kernel, which reports unmapped memory as EFAULT. */
static int probe_read(uint64_t addr, void *buf, unsigned size)
{
	struct iovec local = { buf, size };
	struct iovec remote = { (void *)(uintptr_t)addr, size };
	long n = syscall(SYS_process_vm_readv, (long)syscall(SYS_getpid), &local, 1L,
			 &remote, 1L, 0L);

	return n == (long)size ? 0 : SW_EMEMORY;
}

/*
 * Copy stack bytes the walk decided to trust.  Not memcpy: in a program
 * built with AddressSanitizer the interceptor would abort on a redzone or
 * a dead local that a wrong rule made us read (the walk must end with an
 * error code instead), even though the memory is mapped.
 */
__attribute__((no_sanitize("address"), noinline))
static void copy_stack(void *dst, uint64_t addr, unsigned size)
{
	const volatile uint8_t *src = (const volatile uint8_t *)(uintptr_t)addr;
	uint8_t *d = dst;

	for (unsigned i = 0; i < size; i++)
		d[i] = src[i];
}

/* A walk of another target: its copied stack, else the target itself.
 * A failed read is recorded for sw_cursor_stack_truncated: `m` lives in
 * the cursor being stepped, which the walk owns (the const is the read
 * interface's, not the object's). */
static int remote_read(const struct sw_mem *m, uint64_t addr, void *buf, unsigned size)
{
	if (addr >= m->copy_lo && addr < m->copy_hi && size <= m->copy_hi - addr) {
		memcpy(buf, m->copy + (addr - m->copy_lo), size);
		return 0;
	}
	if (m->remote->read(m->remote, addr, buf, size) == 0)
		return 0;
	((struct sw_mem *)m)->last_fail = addr;
	return SW_EMEMORY;
}

int sw_mem_read_bytes(const struct sw_mem *m, uint64_t addr, void *buf, unsigned size)
{
	if (sw_mem_holds(m, addr, size)) {
		copy_stack(buf, addr, size);
		return 0;
	}
	if (addr == 0 || addr + size < addr)
		return SW_EMEMORY;
	if (m->remote)
		return remote_read(m, addr, buf, size);
	/* the thread's own stack, when the walk started elsewhere (under the
	 * same rule as sw_mem_init: only while we run on it) */
	struct range t = tls_stack;
	if (addr >= t.lo && addr < t.hi && size <= t.hi - addr && holds_our_frame(&t)) {
		copy_stack(buf, addr, size);
		return 0;
	}
	return probe_read(addr, buf, size);
}

int sw_mem_module_range(const struct sw_mem *m, uint64_t pc, uint64_t *start, uint64_t *end)
{
	struct sw_module mod;

	if (m->remote)
		return m->remote->module_range(m->remote, pc, start, end);
	if (sw_find_module(pc, &mod) < 0)
		return SW_ENOTFOUND;
	*start = mod.map_start;
	*end = mod.map_end;
	return 0;
}
