/*
 * sw_jit_last_error and the recording side (error.h).  The state is one
 * initial-exec thread-local struct: reading or writing it is an
 * fs-relative access, no call, no allocation, async-signal-safe.  The
 * buffer always ends with a NUL, so even a reason a signal handler
 * replaced half way is a valid string.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "jit/error.h"

static __thread struct {
	uint32_t gen;           /* reasons recorded so far */
	int muted;
	char msg[SW_JIT_ERR_SIZE];
} err __attribute__((tls_model("initial-exec")));

/* ---------------------------------------------------------------- formatter */

/* Output into a fixed buffer; what does not fit is dropped. */
struct out {
	char *buf;
	size_t size, len;       /* len < size: buf[len] is the NUL */
};

static void put_c(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len++] = c;
}

static void put_s(struct out *o, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		put_c(o, *s++);
}

static void put_u(struct out *o, unsigned long long v, unsigned base)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		put_c(o, tmp[--n]);
}

/* The subset of printf the reasons use: %s %c %% and d/i/u/x with the
 * length modifiers l, ll, z and the '#' flag (0x prefix).  gcc and clang
 * check the arguments through the format attribute. */
static void vformat(struct out *o, const char *fmt, va_list ap)
{
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put_c(o, *f);
			continue;
		}
		bool alt = false;
		int lng = 0;            /* 0 int, 1 long, 2 long long, 3 size_t */
		f++;
		if (*f == '#') {
			alt = true;
			f++;
		}
		if (*f == 'z') {
			lng = 3;
			f++;
		} else {
			while (*f == 'l' && lng < 2) {
				lng++;
				f++;
			}
		}
		switch (*f) {
		case 's':
			put_s(o, va_arg(ap, const char *));
			break;
		case 'c':
			put_c(o, (char)va_arg(ap, int));
			break;
		case 'd':
		case 'i': {
			long long v = lng == 0 ? va_arg(ap, int) : lng == 1 ? va_arg(ap, long)
				    : lng == 2 ? va_arg(ap, long long) : (long long)va_arg(ap, size_t);
			if (v < 0) {
				put_c(o, '-');
				put_u(o, 0 - (unsigned long long)v, 10);
			} else {
				put_u(o, (unsigned long long)v, 10);
			}
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v = lng == 0 ? va_arg(ap, unsigned)
					     : lng == 1 ? va_arg(ap, unsigned long)
					     : lng == 2 ? va_arg(ap, unsigned long long) : va_arg(ap, size_t);
			if (*f == 'x' && alt)
				put_s(o, "0x");
			put_u(o, v, *f == 'x' ? 16 : 10);
			break;
		}
		case '%':
			put_c(o, '%');
			break;
		default:                /* not used by the reasons */
			if (!*f)
				return;
			put_c(o, '?');
			break;
		}
	}
}

/* ---------------------------------------------------------------- recording */

int sw_jit_fail(int code, const char *fmt, ...)
{
	struct out o = { err.msg, sizeof(err.msg), 0 };
	va_list ap;

	if (err.muted)
		return code;
	err.msg[0] = '\0';
	va_start(ap, fmt);
	vformat(&o, fmt, ap);
	va_end(ap);
	err.msg[o.len] = '\0';
	err.gen++;
	return code;
}

uint32_t sw_jit_err_mark(void)
{
	return err.gen;
}

int sw_jit_err_ctx(int rc, uint32_t mark, const char *fmt, ...)
{
	char pre[SW_JIT_ERR_SIZE];
	struct out o = { pre, sizeof(pre), 0 };
	va_list ap;

	if (rc >= 0 || err.muted)
		return rc;
	va_start(ap, fmt);
	vformat(&o, fmt, ap);
	va_end(ap);
	pre[o.len] = '\0';
	if (err.gen == mark) {
		/* the failure point said nothing: the code is the reason */
		if (o.len && pre[o.len - 1] == '.')
			pre[--o.len] = '\0';
		while (o.len && pre[o.len - 1] == ' ')
			pre[--o.len] = '\0';
		if (o.len && pre[o.len - 1] != ':')
			put_c(&o, ':');
		if (o.len)
			put_c(&o, ' ');
		put_s(&o, sw_strerror(rc));
		pre[o.len] = '\0';
		memcpy(err.msg, pre, o.len + 1);
		err.gen++;
		return rc;
	}
	/* prefix + the recorded reason, cut to the buffer */
	size_t have = strlen(err.msg), keep = have;
	if (o.len + keep > sizeof(err.msg) - 1)
		keep = sizeof(err.msg) - 1 - o.len;
	memmove(err.msg + o.len, err.msg, keep);
	memcpy(err.msg, pre, o.len);
	err.msg[o.len + keep] = '\0';
	return rc;
}

void sw_jit_err_mute(int delta)
{
	err.muted += delta;
}

/* ---------------------------------------------------------------- API */

const char *sw_jit_last_error(void)
{
	return err.msg;
}

int sw_jit_set_last_error(int code, const char *reason)
{
	return sw_jit_fail(code, "%s", reason ? reason : "");
}
