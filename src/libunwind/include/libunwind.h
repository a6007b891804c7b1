/*
 * libunwind.h — nongnu libunwind's API (x86-64, version 1.6 ABI) on
 * stackwalk.
 *
 * stackwalk's libunwind.so.8 / libunwind-x86_64.so.8 /
 * libunwind-ptrace.so.0 / libunwind-coredump.so.0 (src/libunwind) stand in
 * for nongnu libunwind: a program built against nongnu's header runs on
 * them unchanged (LD_LIBRARY_PATH or LD_PRELOAD), and a program built
 * against this header runs on either.  This header is written for
 * stackwalk; the types' layouts and constants are libunwind's ABI.
 *
 * Functions return 0 (or a positive count) on success and a negated
 * UNW_E* code on failure, as libunwind documents.  Names: with
 * UNW_LOCAL_ONLY defined before the include, unw_foo is _ULx86_64_foo
 * (this process only); else _Ux86_64_foo (local and remote address
 * spaces).  In stackwalk both are the same functions.
 *
 * Thread-safety and async-signal-safety are stated in docs of
 * src/libunwind/README (and per group below):
 *   - local unwinding (unw_getcontext, unw_init_local*, unw_step,
 *     unw_get_reg, unw_set_reg, unw_get_fpreg, unw_is_signal_frame,
 *     unw_get_proc_info, unw_backtrace*): thread-safe and
 *     async-signal-safe, no allocation, no lock;
 *   - unw_get_proc_name / unw_get_proc_name_by_ip: thread-safe; reads the
 *     module's symbol table, not async-signal-safe the first time a
 *     module is named;
 *   - address spaces (unw_create_addr_space, unw_destroy_addr_space,
 *     unw_set_caching_policy, unw_flush_cache) and _U_dyn_register /
 *     _U_dyn_cancel: thread-safe, not async-signal-safe;
 *   - a remote address space may be walked by one thread at a time.
 */
#ifndef STACKWALK_LIBUNWIND_H
#define STACKWALK_LIBUNWIND_H
/* nongnu's include guard too: a program that includes both gets one set
 * of types */
#ifndef LIBUNWIND_H
#define LIBUNWIND_H

#if !defined(__x86_64__)
#error "stackwalk's libunwind.h: x86-64 only for now"
#endif

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UNW_VERSION_MAJOR 1
#define UNW_VERSION_MINOR 6
#define UNW_VERSION_EXTRA 2
#define UNW_VERSION_CODE(maj, min) (((maj) << 16) | (min))
#define UNW_VERSION UNW_VERSION_CODE(UNW_VERSION_MAJOR, UNW_VERSION_MINOR)

/* stackwalk's implementation (a program may test for it) */
#define UNW_STACKWALK 1

#define UNW_TARGET x86_64
#define UNW_TARGET_X86_64 1

#define UNW_PASTE2(x, y) x##y
#define UNW_PASTE(x, y) UNW_PASTE2(x, y)
#ifdef UNW_LOCAL_ONLY
#define UNW_PREFIX UNW_PASTE(UNW_PASTE(_UL, UNW_TARGET), _)
#else
#define UNW_PREFIX UNW_PASTE(UNW_PASTE(_U, UNW_TARGET), _)
#endif
#define UNW_OBJ(fn) UNW_PASTE(UNW_PREFIX, fn)
#define UNW_ARCH_OBJ(fn) UNW_PASTE(UNW_PASTE(UNW_PASTE(_U, UNW_TARGET), _), fn)

typedef uint64_t unw_word_t;
typedef int64_t unw_sword_t;
typedef long double unw_tdep_fpreg_t;
typedef unw_tdep_fpreg_t unw_fpreg_t;
typedef int unw_regnum_t;

/* Registers: the DWARF numbers of the System V x86-64 psABI, then the
 * CFA (read-only: the frame's stack pointer). */
typedef enum {
	UNW_X86_64_RAX, UNW_X86_64_RDX, UNW_X86_64_RCX, UNW_X86_64_RBX,
	UNW_X86_64_RSI, UNW_X86_64_RDI, UNW_X86_64_RBP, UNW_X86_64_RSP,
	UNW_X86_64_R8, UNW_X86_64_R9, UNW_X86_64_R10, UNW_X86_64_R11,
	UNW_X86_64_R12, UNW_X86_64_R13, UNW_X86_64_R14, UNW_X86_64_R15,
	UNW_X86_64_RIP,
#ifdef CONFIG_MSABI_SUPPORT
	/* only in a libunwind built for the MS ABI; stackwalk's is not:
	 * without it register 17 is the CFA */
	UNW_X86_64_XMM0, UNW_X86_64_XMM1, UNW_X86_64_XMM2, UNW_X86_64_XMM3,
	UNW_X86_64_XMM4, UNW_X86_64_XMM5, UNW_X86_64_XMM6, UNW_X86_64_XMM7,
	UNW_X86_64_XMM8, UNW_X86_64_XMM9, UNW_X86_64_XMM10, UNW_X86_64_XMM11,
	UNW_X86_64_XMM12, UNW_X86_64_XMM13, UNW_X86_64_XMM14, UNW_X86_64_XMM15,
	UNW_TDEP_LAST_REG = UNW_X86_64_XMM15,
#else /* !CONFIG_MSABI_SUPPORT */
	UNW_TDEP_LAST_REG = UNW_X86_64_RIP,
#endif
	UNW_X86_64_CFA,
	UNW_TDEP_IP = UNW_X86_64_RIP,
	UNW_TDEP_SP = UNW_X86_64_RSP,
	UNW_TDEP_BP = UNW_X86_64_RBP,
	UNW_TDEP_EH = UNW_X86_64_RAX,
} x86_64_regnum_t;

#define UNW_TDEP_NUM_EH_REGS 2  /* rax, rdx carry exception arguments */
#define UNW_TDEP_CURSOR_LEN 127

typedef struct unw_tdep_save_loc { char unused; } unw_tdep_save_loc_t;
typedef struct { char unused; } unw_tdep_proc_info_t;
/* the context is a ucontext_t: unw_getcontext fills uc_mcontext.gregs */
typedef ucontext_t unw_tdep_context_t;

#define unw_tdep_getcontext UNW_ARCH_OBJ(getcontext)
#define unw_tdep_is_fpreg UNW_ARCH_OBJ(is_fpreg)
extern int unw_tdep_getcontext(unw_tdep_context_t *);
extern int unw_tdep_is_fpreg(int);

/* Error codes; functions return them negated. */
typedef enum {
	UNW_ESUCCESS = 0,
	UNW_EUNSPEC,            /* unspecified error */
	UNW_ENOMEM,             /* out of memory */
	UNW_EBADREG,            /* no such register, or not readable here */
	UNW_EREADONLYREG,       /* the register cannot be written */
	UNW_ESTOPUNWIND,        /* the walk cannot go on */
	UNW_EINVALIDIP,         /* the IP is not in any known code */
	UNW_EBADFRAME,          /* the frame's unwind information is bad */
	UNW_EINVAL,             /* bad argument, or not supported */
	UNW_EBADVERSION,        /* unwind information of an unknown version */
	UNW_ENOINFO,            /* no unwind information for the IP */
} unw_error_t;

typedef enum {
	UNW_REG_IP = UNW_TDEP_IP,
	UNW_REG_SP = UNW_TDEP_SP,
	UNW_REG_EH = UNW_TDEP_EH,
	UNW_REG_LAST = UNW_TDEP_LAST_REG,
} unw_frame_regnum_t;

#define UNW_NUM_EH_REGS UNW_TDEP_NUM_EH_REGS

typedef enum {
	UNW_CACHE_NONE,
	UNW_CACHE_GLOBAL,
	UNW_CACHE_PER_THREAD,
} unw_caching_policy_t;

typedef enum {
	UNW_INIT_SIGNAL_FRAME = 1,  /* the context was taken in a signal frame */
} unw_init_local2_flags_t;

typedef struct unw_cursor {
	unw_word_t opaque[UNW_TDEP_CURSOR_LEN];
} unw_cursor_t;

typedef unw_tdep_context_t unw_context_t;
#define unw_getcontext(uc) unw_tdep_getcontext(uc)
#define unw_is_fpreg(r) unw_tdep_is_fpreg(r)

typedef struct unw_addr_space *unw_addr_space_t;

#define UNW_PI_FLAG_FIRST_TDEP_BIT 16
#define UNW_PI_FLAG_DEBUG_FRAME 32  /* the info is .debug_frame, not .eh_frame */

typedef struct unw_proc_info {
	unw_word_t start_ip;    /* the procedure's first byte */
	unw_word_t end_ip;      /* one past its last byte */
	unw_word_t lsda;        /* its language-specific data area, or 0 */
	unw_word_t handler;     /* its personality routine, or 0 */
	unw_word_t gp;          /* global pointer: 0 on x86-64 */
	unw_word_t flags;       /* UNW_PI_FLAG_* */
	int format;             /* UNW_INFO_FORMAT_* of unwind_info */
	int unwind_info_size;
	void *unwind_info;      /* the implementation's, for put_unwind_info */
	unw_tdep_proc_info_t extra;
} unw_proc_info_t;

typedef int (*unw_reg_states_callback)(void *token, void *reg_states_data,
				       size_t reg_states_data_size, unw_word_t start_ip,
				       unw_word_t end_ip);

/* A remote address space's accessors: `arg` is unw_init_remote's. */
typedef struct unw_accessors {
	/* the unwind information of the procedure containing ip
	 * (need_unwind_info: fill format/unwind_info too) */
	int (*find_proc_info)(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			      int need_unwind_info, void *arg);
	/* release what find_proc_info put in pi->unwind_info */
	void (*put_unwind_info)(unw_addr_space_t as, unw_proc_info_t *pi, void *arg);
	/* the address of the target's _U_dyn_info_list (or -UNW_ENOINFO) */
	int (*get_dyn_info_list_addr)(unw_addr_space_t as, unw_word_t *addr, void *arg);
	/* read (write = 0) or write one word of the target's memory */
	int (*access_mem)(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
			  void *arg);
	/* read or write a register of the frame unw_init_remote starts at */
	int (*access_reg)(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write,
			  void *arg);
	int (*access_fpreg)(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			    void *arg);
	int (*resume)(unw_addr_space_t as, unw_cursor_t *c, void *arg);
	/* optional (NULL): the name of the procedure containing addr */
	int (*get_proc_name)(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			     unw_word_t *offset, void *arg);
} unw_accessors_t;

typedef enum unw_save_loc_type {
	UNW_SLT_NONE,           /* not saved: not an lvalue */
	UNW_SLT_MEMORY,         /* saved in memory at u.addr */
	UNW_SLT_REG,            /* saved in register u.regnum */
} unw_save_loc_type_t;

typedef struct unw_save_loc {
	unw_save_loc_type_t type;
	union {
		unw_word_t addr;
		unw_regnum_t regnum;
	} u;
	unw_tdep_save_loc_t extra;
} unw_save_loc_t;

#include "libunwind-dynamic.h"

#define unw_local_addr_space UNW_OBJ(local_addr_space)
#define unw_create_addr_space UNW_OBJ(create_addr_space)
#define unw_destroy_addr_space UNW_OBJ(destroy_addr_space)
#define unw_get_accessors UNW_ARCH_OBJ(get_accessors)
#define unw_init_local UNW_OBJ(init_local)
#define unw_init_local2 UNW_OBJ(init_local2)
#define unw_init_remote UNW_OBJ(init_remote)
#define unw_step UNW_OBJ(step)
#define unw_resume UNW_OBJ(resume)
#define unw_get_proc_info UNW_OBJ(get_proc_info)
#define unw_get_proc_info_by_ip UNW_OBJ(get_proc_info_by_ip)
#define unw_reg_states_iterate UNW_OBJ(reg_states_iterate)
#define unw_apply_reg_state UNW_OBJ(apply_reg_state)
#define unw_get_reg UNW_OBJ(get_reg)
#define unw_set_reg UNW_OBJ(set_reg)
#define unw_get_fpreg UNW_OBJ(get_fpreg)
#define unw_set_fpreg UNW_OBJ(set_fpreg)
#define unw_get_save_loc UNW_OBJ(get_save_loc)
#define unw_is_signal_frame UNW_OBJ(is_signal_frame)
#define unw_get_proc_name UNW_OBJ(get_proc_name)
#define unw_get_proc_name_by_ip UNW_OBJ(get_proc_name_by_ip)
#define unw_set_caching_policy UNW_OBJ(set_caching_policy)
#define unw_set_cache_size UNW_OBJ(set_cache_size)
#define unw_regname UNW_ARCH_OBJ(regname)
#define unw_flush_cache UNW_ARCH_OBJ(flush_cache)
#define unw_strerror UNW_ARCH_OBJ(strerror)

/* The search of an .eh_frame_hdr-style table (di: UNW_INFO_FORMAT_
 * REMOTE_TABLE or TABLE) that a remote find_proc_info accessor calls, as
 * perf does; nongnu exports it without declaring it. */
#define dwarf_search_unwind_table UNW_OBJ(dwarf_search_unwind_table)

extern unw_addr_space_t unw_local_addr_space;

extern unw_addr_space_t unw_create_addr_space(unw_accessors_t *accessors, int byteorder);
extern void unw_destroy_addr_space(unw_addr_space_t as);
extern unw_accessors_t *unw_get_accessors(unw_addr_space_t as);
extern void unw_flush_cache(unw_addr_space_t as, unw_word_t lo, unw_word_t hi);
extern int unw_set_caching_policy(unw_addr_space_t as, unw_caching_policy_t policy);
extern int unw_set_cache_size(unw_addr_space_t as, size_t size, int flags);
extern const char *unw_regname(unw_regnum_t reg);

extern int unw_init_local(unw_cursor_t *c, unw_context_t *ctx);
extern int unw_init_local2(unw_cursor_t *c, unw_context_t *ctx, int flags);
extern int unw_init_remote(unw_cursor_t *c, unw_addr_space_t as, void *arg);
/* > 0: stepped to the caller; 0: the last frame; < 0: -UNW_E* */
extern int unw_step(unw_cursor_t *c);
extern int unw_resume(unw_cursor_t *c);
extern int unw_get_proc_info(unw_cursor_t *c, unw_proc_info_t *pi);
extern int unw_get_proc_info_by_ip(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
				   void *arg);
extern int unw_reg_states_iterate(unw_cursor_t *c, unw_reg_states_callback cb, void *token);
extern int unw_apply_reg_state(unw_cursor_t *c, void *reg_states_data);
extern int unw_get_reg(unw_cursor_t *c, int reg, unw_word_t *val);
extern int unw_set_reg(unw_cursor_t *c, int reg, unw_word_t val);
extern int unw_get_fpreg(unw_cursor_t *c, int reg, unw_fpreg_t *val);
extern int unw_set_fpreg(unw_cursor_t *c, int reg, unw_fpreg_t val);
extern int unw_get_save_loc(unw_cursor_t *c, int reg, unw_save_loc_t *loc);
extern int unw_is_signal_frame(unw_cursor_t *c);
extern int unw_get_proc_name(unw_cursor_t *c, char *buf, size_t len, unw_word_t *offset);
extern int unw_get_proc_name_by_ip(unw_addr_space_t as, unw_word_t ip, char *buf, size_t len,
				   unw_word_t *offset, void *arg);
extern const char *unw_strerror(int err);

extern int dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
				     unw_proc_info_t *pi, int need_unwind_info, void *arg);

/* The return addresses of the calling thread's stack, innermost first:
 * the number stored (at most `size`).  unw_backtrace2 starts at `uc`
 * (NULL: here); flag UNW_INIT_SIGNAL_FRAME as for unw_init_local2. */
extern int unw_backtrace(void **buffer, int size);
extern int unw_backtrace2(void **buffer, int size, unw_context_t *uc, int flag);

#ifdef __cplusplus
}
#endif

#endif /* LIBUNWIND_H */
#endif /* STACKWALK_LIBUNWIND_H */
