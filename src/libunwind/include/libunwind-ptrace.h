/*
 * libunwind-ptrace.h — accessors for unwinding a process this program
 * traces (libunwind-ptrace.so.0).
 *
 *   unw_addr_space_t as = unw_create_addr_space(&_UPT_accessors, 0);
 *   void *upt = _UPT_create(pid);          // the thread must be stopped
 *   unw_init_remote(&c, as, upt); while (unw_step(&c) > 0) ...
 *   _UPT_destroy(upt);
 *
 * Not async-signal-safe; one thread at a time per _UPT_create handle.
 */
#ifndef STACKWALK_LIBUNWIND_PTRACE_H
#define STACKWALK_LIBUNWIND_PTRACE_H

#include <libunwind.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* a handle for thread `pid` (NULL: out of memory) */
extern void *_UPT_create(pid_t pid);
extern void _UPT_destroy(void *upt);

extern int _UPT_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			       int need_unwind_info, void *arg);
extern void _UPT_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg);
extern int _UPT_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg);
extern int _UPT_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
			   void *arg);
extern int _UPT_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write,
			   void *arg);
extern int _UPT_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			     void *arg);
extern int _UPT_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			      unw_word_t *offset, void *arg);
extern int _UPT_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg);
extern unw_accessors_t _UPT_accessors;

#ifdef __cplusplus
}
#endif

#endif /* STACKWALK_LIBUNWIND_PTRACE_H */
