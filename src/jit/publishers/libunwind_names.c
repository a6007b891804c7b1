/*
 * Names of published JIT procedures for nongnu libunwind's
 * unw_get_proc_name.
 *
 * libunwind 1.6 (Debian bookworm) cannot name a procedure registered with
 * a table format: get_proc_name (src/mi/Gget_proc_name.c) switches on
 * `((unw_dyn_info_t *)pi.unwind_info)->format`, but for table formats
 * pi.unwind_info is the DWARF CIE information of the FDE, so the call
 * fails with UNW_EINVAL; and UNW_INFO_FORMAT_DYNAMIC, which it can name,
 * is not unwound on x86-64.  So we define the local unwinder's
 * unw_get_proc_name (the symbol _ULx86_64_get_proc_name that
 * <libunwind.h> maps it to under UNW_LOCAL_ONLY): while the libunwind
 * publisher holds chunks, a PC the registry names gets that name; every
 * other call goes to libunwind's own function (found with
 * dlsym(RTLD_NEXT) at the first registration).
 *
 * This takes effect when the definition comes first in symbol lookup:
 * libstackwalk.a linked into the program, or libstackwalk.so ahead of
 * libunwind.so.  The offset is from the procedure's start.  Like
 * libunwind, we look a return address up at ip - 1 (so a call that ends
 * a procedure is named after its caller); the frame's kind is not
 * visible through the public API, so ip - 1 is used when ip is exactly a
 * procedure's start and ip - 1 lies in another JIT procedure.
 *
 * With stackwalk's drop-in libunwind.so.8 (src/libunwind) as the
 * process's libunwind, the libunwind publisher publishes nothing
 * (libunwind.c: is_stackwalks), so sw_pub_lu_live stays 0 and
 * real_get_proc_name is never set by sw_pub_lu_names_init: this function,
 * when it comes first (libstackwalk.so linked ahead of libunwind.so.8),
 * only looks up the next definition with dlsym(RTLD_NEXT) -- the
 * drop-in's, which names registry procedures itself -- and calls it; when
 * libunwind.so.8 comes first (the usual -lunwind link, libstackwalk.so
 * being its dependency) this function is never reached.  Checked by
 * tests/scripts/libunwind_dyn.sh ("libstackwalk linked first").
 *
 * Thread-safe and async-signal-safe as far as the registry lookup goes
 * (sw_jit_get_name takes no lock); libunwind's own function is as safe as
 * it is.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "arch/arch.h"
#include "jit/publishers/libunwind.h"

#define LU_REG_IP SW_ARCH_UNW_REG_IP

typedef int (*get_proc_name_fn)(void *cursor, char *buf, size_t len, uint64_t *off);
typedef int (*get_reg_fn)(void *cursor, int reg, uint64_t *val);

static get_proc_name_fn real_get_proc_name;
static get_reg_fn get_reg;

void sw_pub_lu_names_init(void)
{
	void *p = dlsym(RTLD_NEXT, SW_ARCH_UNW_LOCAL_STR(get_proc_name));
	void *r = dlsym(RTLD_DEFAULT, SW_ARCH_UNW_LOCAL_STR(get_reg));
	if (p && r) {
		memcpy(&get_reg, &r, sizeof r);
		/* release: the wrapper reads it with acquire */
		get_proc_name_fn f;
		memcpy(&f, &p, sizeof p);
		__atomic_store_n(&real_get_proc_name, f, __ATOMIC_RELEASE);
	}
}

int SW_ARCH_UNW_LOCAL(get_proc_name)(void *cursor, char *buf, size_t len, uint64_t *off);

__attribute__((visibility("default")))
/* Weak: linked statically with libunwind.a, libunwind's own definition
 * wins (no names for JIT code, but no duplicate symbol); against
 * libunwind.so this definition still comes first. */
__attribute__((weak)) int SW_ARCH_UNW_LOCAL(get_proc_name)(void *cursor, char *buf, size_t len,
							 uint64_t *off)
{
	get_proc_name_fn real = __atomic_load_n(&real_get_proc_name, __ATOMIC_ACQUIRE);
	if (!real) {
		/* no registration yet: find libunwind's own function now */
		void *p = dlsym(RTLD_NEXT, SW_ARCH_UNW_LOCAL_STR(get_proc_name));
		if (!p)
			return -1;   /* UNW_EUNSPEC */
		memcpy(&real, &p, sizeof p);
	}
	uint64_t ip;
	if (__atomic_load_n(&sw_pub_lu_live, __ATOMIC_ACQUIRE) && get_reg && buf && len &&
	    get_reg(cursor, LU_REG_IP, &ip) == 0) {
		uint64_t o;
		int rc = sw_jit_get_name(ip, buf, len, &o);
		if (rc == 0 && o == 0 && ip > 0) {
			uint64_t o2;
			char tmp[8];
			if (sw_jit_get_name(ip - 1, tmp, sizeof tmp, &o2) == 0) {
				rc = sw_jit_get_name(ip - 1, buf, len, &o);
				o += 1;
			}
		}
		if (rc == 0) {
			if (off)
				*off = o;
			return 0;
		}
	}
	return real(cursor, buf, len, off);
}
