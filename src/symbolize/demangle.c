/*
 * sw_demangle: libiberty's demanglers in their callback form, which build
 * the result on the stack and hand it out in pieces -- no allocation, so
 * they run in a signal handler.  The output is c++filt's (binutils): the
 * same libiberty code with the same options, Rust first as its automatic
 * mode tries it (a legacy Rust name "_ZN...17h<hash>E" is also a valid
 * Itanium name; the Rust demangler recognizes the hash and takes it).
 *
 * Stack: the Itanium demangler keeps its work arrays in variable-length
 * arrays sized by the name (tens of bytes per character), so very long
 * names are refused (SW_DEMANGLE_MAX_LEN) rather than risking a small
 * signal stack.
 */
#include <libiberty/demangle.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "stackwalk.h"
#include "stackwalk/symbolize.h"

/* libiberty.a defines it; Debian's demangle.h does not declare it. */
int rust_demangle_callback(const char *mangled, int options, demangle_callbackref cb,
			   void *opaque);

/* c++filt's options: parameters, ANSI qualifiers, and its "verbose" form
 * (std::basic_string<char, ...> spelled out, Rust's hash kept). */
#define SW_DEMANGLE_OPTIONS (DMGL_PARAMS | DMGL_ANSI | DMGL_VERBOSE)

/* Longer names are not demangled.  Measured (tests aside): a name of 453
 * characters needs up to 64 KiB of stack, one of 893 up to 128 KiB: about
 * 130 bytes per character, so this bound keeps a call under ~136 KiB. */
#define SW_DEMANGLE_MAX_LEN 1024

struct out {
	char *buf;
	size_t size;   /* bytes in buf, >= 1 */
	size_t len;    /* bytes written, < size */
};

static void put(const char *s, size_t n, void *opaque)
{
	struct out *o = opaque;
	size_t room = o->size - 1 - o->len;

	if (n > room)
		n = room;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

SW_API int sw_demangle(const char *mangled, char *buf, size_t size)
{
	if (!mangled || !buf || size == 0)
		return SW_EINVAL;
	size_t len = strnlen(mangled, SW_DEMANGLE_MAX_LEN + 1);
	if (len > SW_DEMANGLE_MAX_LEN)
		return SW_EINVAL;
	struct out o = { buf, size, 0 };
	buf[0] = '\0';
	bool rust = mangled[0] == '_' && (mangled[1] == 'R' || mangled[1] == 'Z');
	if (rust && rust_demangle_callback(mangled, SW_DEMANGLE_OPTIONS, put, &o))
		return (int)(o.len > INT32_MAX ? INT32_MAX : o.len);
	o.len = 0;
	buf[0] = '\0';
	if (cplus_demangle_v3_callback(mangled, SW_DEMANGLE_OPTIONS, put, &o))
		return (int)(o.len > INT32_MAX ? INT32_MAX : o.len);
	buf[0] = '\0';
	return SW_EINVAL;
}
