/*
 * The one checked helper through which the unwinder reads stack and
 * unknown memory.
 *
 * Fast path: the calling thread's stack.  Its bounds come from the mapping
 * that contains the stack pointer in /proc/self/maps, parsed once per
 * thread with open/read/close (all async-signal-safe) into a fixed buffer,
 * and cached in initial-exec TLS (no __tls_get_addr, so no allocation).
 * A stack mapping never shrinks while its thread runs, so a cached range
 * stays readable.
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

static __thread struct range tls_stack __attribute__((tls_model("initial-exec")));

/* Parse one hex number; advances *p. */
static uint64_t parse_hex(const char **p, const char *end)
{
	uint64_t v = 0;

	for (; *p < end; (*p)++) {
		char c = **p;
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else
			break;
		v = v << 4 | d;
	}
	return v;
}

/* The mapping of /proc/self/maps containing `addr`, or false. */
static bool find_mapping(uint64_t addr, struct range *out)
{
	char buf[4096];
	size_t have = 0;
	bool found = false;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		/* handle every complete line in the buffer */
		char *line = buf, *nl;
		while ((nl = memchr(line, '\n', have - (size_t)(line - buf))) != NULL) {
			const char *p = line;
			uint64_t lo = parse_hex(&p, nl);
			if (p < nl && *p == '-') {
				p++;
				uint64_t hi = parse_hex(&p, nl);
				/* "lo-hi perms": only readable mappings count */
				if (addr >= lo && addr < hi && p + 1 < nl && p[1] == 'r') {
					out->lo = lo;
					out->hi = hi;
					found = true;
					break;
				}
			}
			line = nl + 1;
		}
		if (found)
			break;
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof(buf))   /* absurd line: skip it */
			have = 0;
	}
	close(fd);
	return found;
}

void sw_mem_init(struct sw_mem *m, uint64_t sp)
{
	struct range r = tls_stack;

	if (!(sp >= r.lo && sp < r.hi)) {
		stack_t ss;
		/* on a signal stack: trust its bounds, keep the thread cache */
		if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK) &&
		    sp >= (uint64_t)ss.ss_sp && sp < (uint64_t)ss.ss_sp + ss.ss_size) {
			m->lo = (uint64_t)ss.ss_sp;
			m->hi = (uint64_t)ss.ss_sp + ss.ss_size;
			return;
		}
		if (!find_mapping(sp, &r)) {
			m->lo = m->hi = 0;
			return;
		}
		tls_stack = r;
	}
	m->lo = r.lo;
	m->hi = r.hi;
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

int sw_mem_read_bytes(const struct sw_mem *m, uint64_t addr, void *buf, unsigned size)
{
	if (addr >= m->lo && addr < m->hi && size <= m->hi - addr) {
		memcpy(buf, (const void *)(uintptr_t)addr, size);
		return 0;
	}
	if (addr == 0 || addr + size < addr)
		return SW_EMEMORY;
	/* the thread's own stack, when the walk started elsewhere */
	if (addr >= tls_stack.lo && addr < tls_stack.hi && size <= tls_stack.hi - addr) {
		memcpy(buf, (const void *)(uintptr_t)addr, size);
		return 0;
	}
	return probe_read(addr, buf, size);
}
