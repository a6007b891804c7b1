/*
 * libunwind-coredump.h — accessors for unwinding the threads of a core
 * file (libunwind-coredump.so.0), on stackwalk's core reader.
 *
 *   struct UCD_info *ui = _UCD_create("core");
 *   unw_addr_space_t as = unw_create_addr_space(&_UCD_accessors, 0);
 *   _UCD_select_thread(ui, i);  unw_init_remote(&c, as, ui); ...
 *
 * Not async-signal-safe; one thread at a time per handle.
 */
#ifndef STACKWALK_LIBUNWIND_COREDUMP_H
#define STACKWALK_LIBUNWIND_COREDUMP_H

#include <libunwind.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct UCD_info;

extern struct UCD_info *_UCD_create(const char *filename);
extern void _UCD_destroy(struct UCD_info *ui);
extern int _UCD_get_num_threads(struct UCD_info *ui);
extern void _UCD_select_thread(struct UCD_info *ui, int n);
extern pid_t _UCD_get_pid(struct UCD_info *ui);
extern int _UCD_get_cursig(struct UCD_info *ui);
extern int _UCD_add_backing_file_at_segment(struct UCD_info *ui, int phdr_no,
					    const char *filename);
extern int _UCD_add_backing_file_at_vaddr(struct UCD_info *ui, unsigned long vaddr,
					  const char *filename);

extern int _UCD_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			       int need_unwind_info, void *arg);
extern void _UCD_put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg);
extern int _UCD_get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg);
extern int _UCD_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
			   void *arg);
extern int _UCD_access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write,
			   void *arg);
extern int _UCD_access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			     void *arg);
extern int _UCD_get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			      unw_word_t *offset, void *arg);
extern int _UCD_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg);
extern unw_accessors_t _UCD_accessors;

#ifdef __cplusplus
}
#endif

#endif /* STACKWALK_LIBUNWIND_COREDUMP_H */
