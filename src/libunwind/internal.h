/*
 * src/libunwind: nongnu libunwind's ABI (include/libunwind.h here) on
 * stackwalk's public API only (stackwalk.h, stackwalk/jit.h,
 * stackwalk/remote.h): no header of src/ other than this folder's is
 * included (tests/scripts/layers.sh).
 *
 * Libraries (Makefile, "libunwind"): BUILD/libunwind/
 *   libunwind.so.8          local + generic (remote) unwinding, _U_dyn_*,
 *                           unw_backtrace: src/libunwind/ (*.c) and
 *                           src/libunwind/ARCH/ (needs libstackwalk.so.0)
 *   libunwind-x86_64.so.8   nothing of its own: needs libunwind.so.8, which
 *                           defines the _Ux86_64_* names programs linked
 *                           against nongnu's libunwind-x86_64 look up
 *   libunwind-ptrace.so.0   _UPT_*: src/libunwind/ptrace/
 *   libunwind-coredump.so.0 _UCD_*: src/libunwind/coredump/
 * Exports: objects are built -fvisibility=hidden; SWU_API marks the
 * libunwind ABI, which src/libunwind/libunwind.map keeps unversioned (as
 * nongnu's are).
 *
 * nongnu exports every function twice: _ULx86_64_NAME (UNW_LOCAL_ONLY) and
 * _Ux86_64_NAME (generic).  Here both are one function: define it as
 * unw_NAME with this header's UNW_LOCAL_ONLY names and add SWU_ALIAS(NAME).
 */
#ifndef SW_LIBUNWIND_INTERNAL_H
#define SW_LIBUNWIND_INTERNAL_H

#ifndef UNW_LOCAL_ONLY
#define UNW_LOCAL_ONLY
#endif
#include <libunwind.h>
#include <stackwalk.h>
#include <stackwalk/remote.h>

#define SWU_API __attribute__((visibility("default")))

/* _Ux86_64_NAME as another name of _ULx86_64_NAME */
#define SWU_GENERIC(fn) UNW_PASTE(UNW_PASTE(UNW_PASTE(_U, UNW_TARGET), _), fn)
#define SWU_LOCAL(fn) UNW_PASTE(UNW_PASTE(UNW_PASTE(_UL, UNW_TARGET), _), fn)
#define SWU_STR2(x) #x
#define SWU_STR(x) SWU_STR2(x)
#define SWU_ALIAS(fn) \
	extern __typeof(SWU_LOCAL(fn)) SWU_GENERIC(fn) \
		__attribute__((alias(SWU_STR(SWU_LOCAL(fn))), visibility("default")))

/* An address space: unw_local_addr_space (kind SWU_AS_LOCAL) or one of
 * unw_create_addr_space (SWU_AS_REMOTE). */
enum { SWU_AS_LOCAL = 1, SWU_AS_REMOTE = 2 };

struct unw_addr_space {
	int kind;                       /* SWU_AS_* */
	int byteorder;
	int caching;                    /* unw_caching_policy_t */
	int pad;
	unw_accessors_t acc;            /* remote: the caller's accessors */
	/* remote.c's: the stackwalk address space the walks read through
	 * (sw_as_new_callbacks), and the arg of the walk in progress */
	sw_addr_space_t *sw;
	void *cur_arg;
	uint64_t reserved[8];
};

/* The state inside unw_cursor_t (1016 bytes). */
#define SWU_CURSOR_MAGIC 0x53575543u        /* "SWUC" */

enum {
	SWU_C_REMOTE = 0x1,             /* walks a remote address space */
	SWU_C_SIGNAL_INIT = 0x2,        /* unw_init_local2(UNW_INIT_SIGNAL_FRAME) */
	SWU_C_STEPPED = 0x4,            /* unw_step has moved it at least once */
	SWU_C_END = 0x8,                /* unw_step returned 0 */
};

struct swu_cursor {
	sw_cursor_t sw;                 /* stackwalk's cursor */
	uint32_t magic;                 /* SWU_CURSOR_MAGIC once initialised */
	uint32_t flags;                 /* SWU_C_* */
	struct unw_addr_space *as;
	void *arg;                      /* unw_init_remote's */
	/* local.c: the context the walk started from (unw_resume, fp regs) */
	const unw_context_t *ctx;
	uint64_t local[16];             /* local.c's own */
	uint64_t remote[32];            /* remote.c's own */
};
_Static_assert(sizeof(struct swu_cursor) <= sizeof(unw_cursor_t), "unw_cursor_t is too small");

static inline struct swu_cursor *swu_cursor(unw_cursor_t *c)
{
	return (struct swu_cursor *)(void *)c;
}

/* addrspace.c: the address space of unw_local_addr_space */
extern struct unw_addr_space swu_local_as;

/* Before a sw_* call on the cursor of a remote address space: the walk's
 * accessor argument, which remote.c's callbacks pass to the accessors. */
static inline void swu_enter(struct swu_cursor *c)
{
	if (c->as && c->as->kind == SWU_AS_REMOTE)
		c->as->cur_arg = c->arg;
}

/* stackwalk's SW_E* result as a negated UNW_E* code (errors.c) */
int swu_error(int sw_status);

#endif /* SW_LIBUNWIND_INTERNAL_H */
