/*
 * libunwind-dynamic.h — libunwind-dynamic(3): describing code generated at
 * run time (x86-64 layouts of libunwind 1.6).  Included by libunwind.h.
 *
 * _U_dyn_register(di): from now on the procedures di describes are
 * unwound and named — by unw_step / unw_get_proc_name, and, because
 * stackwalk's registry receives them, by C++ exceptions (libgcc), gdb and
 * perf through stackwalk's publishers.  di and everything it points to
 * must stay valid and unchanged until _U_dyn_cancel(di).
 *   UNW_INFO_FORMAT_DYNAMIC: u.pi — a name and regions of operations;
 *   UNW_INFO_FORMAT_TABLE: u.ti — an .eh_frame_hdr-style search table
 *     in this process (pairs of int32 offsets from segbase: the
 *     procedure's start, its FDE; table_len in unw_word_t units);
 *   UNW_INFO_FORMAT_REMOTE_TABLE: u.rti — the same, by address.
 * Thread-safe; not async-signal-safe (they take the registry's lock).
 */
#ifndef STACKWALK_LIBUNWIND_DYNAMIC_H
#define STACKWALK_LIBUNWIND_DYNAMIC_H

#include <stddef.h>
#include <stdint.h>

#define _U_TDEP_QP_TRUE 0       /* x86-64 has no qualifying predicates */
#define _U_QP_TRUE _U_TDEP_QP_TRUE

typedef enum {
	UNW_DYN_STOP = 0,       /* the end of a region's operations */
	UNW_DYN_SAVE_REG,       /* reg is saved in register val */
	UNW_DYN_SPILL_FP_REL,   /* reg is saved at frame pointer + val */
	UNW_DYN_SPILL_SP_REL,   /* reg is saved at stack pointer + val */
	UNW_DYN_ADD,            /* reg += val (the stack pointer: the frame grows) */
	UNW_DYN_POP_FRAMES,     /* val frames are popped (epilogue) */
	UNW_DYN_LABEL_STATE,    /* remember the state as label val */
	UNW_DYN_COPY_STATE,     /* restore the state labelled val */
	UNW_DYN_ALIAS,          /* the unwind info of address val applies */
} unw_dyn_operation_t;

typedef enum {
	UNW_INFO_FORMAT_DYNAMIC,        /* u.pi: unw_dyn_proc_info_t */
	UNW_INFO_FORMAT_TABLE,          /* u.ti: unw_dyn_table_info_t */
	UNW_INFO_FORMAT_REMOTE_TABLE,   /* u.rti: unw_dyn_remote_table_info_t */
	UNW_INFO_FORMAT_ARM_EXIDX,      /* ARM only */
	UNW_INFO_FORMAT_IP_OFFSET,      /* REMOTE_TABLE, offsets from start_ip */
} unw_dyn_info_format_t;

typedef struct unw_dyn_op {
	int8_t tag;             /* unw_dyn_operation_t */
	int8_t qp;              /* _U_QP_TRUE */
	int16_t reg;            /* the register (UNW_X86_64_*) */
	int32_t when;           /* the instruction (index in the region) it applies after */
	unw_word_t val;
} unw_dyn_op_t;

typedef struct unw_dyn_region_info {
	struct unw_dyn_region_info *next;
	int32_t insn_count;     /* the region's length; on x86-64 in bytes */
	uint32_t op_count;
	unw_dyn_op_t op[1];     /* op_count operations */
} unw_dyn_region_info_t;

typedef struct unw_dyn_proc_info {
	unw_word_t name_ptr;    /* address of the procedure's name (NUL-terminated) */
	unw_word_t handler;     /* its personality routine, or 0 */
	uint32_t flags;
	int32_t pad0;
	unw_dyn_region_info_t *regions;
} unw_dyn_proc_info_t;

typedef struct unw_dyn_table_info {
	unw_word_t name_ptr;    /* address of the table's name */
	unw_word_t segbase;     /* the base of the table's offsets */
	unw_word_t table_len;   /* in unw_word_t units */
	unw_word_t *table_data;
} unw_dyn_table_info_t;

typedef struct unw_dyn_remote_table_info {
	unw_word_t name_ptr;
	unw_word_t segbase;
	unw_word_t table_len;
	unw_word_t table_data;  /* the table's address */
} unw_dyn_remote_table_info_t;

typedef struct unw_dyn_info {
	struct unw_dyn_info *next;      /* the registration list (libunwind's) */
	struct unw_dyn_info *prev;
	unw_word_t start_ip;            /* first address covered */
	unw_word_t end_ip;              /* first address not covered */
	unw_word_t gp;                  /* 0 on x86-64 */
	int32_t format;                 /* unw_dyn_info_format_t */
	int32_t pad;
	unw_word_t load_offset;
	union {
		unw_dyn_proc_info_t pi;
		unw_dyn_table_info_t ti;
		unw_dyn_remote_table_info_t rti;
	} u;
} unw_dyn_info_t;

/* What _U_dyn_info_list_addr() points at: a remote reader (gdb, a remote
 * libunwind) walks `first` while `generation` stays the same. */
typedef struct unw_dyn_info_list {
	uint32_t version;
	uint32_t generation;
	unw_dyn_info_t *first;
} unw_dyn_info_list_t;

#define _U_dyn_region_info_size(op_count) \
	(offsetof(unw_dyn_region_info_t, op) + (size_t)(op_count) * sizeof(unw_dyn_op_t))

#ifdef __cplusplus
extern "C" {
#endif
extern void _U_dyn_register(unw_dyn_info_t *di);
extern void _U_dyn_cancel(unw_dyn_info_t *di);
extern unw_word_t _U_dyn_info_list_addr(void);
#ifdef __cplusplus
}
#endif

#define _U_dyn_op(tag, qp, when, reg, val) ((unw_dyn_op_t){ (tag), (qp), (reg), (when), (val) })
#define _U_dyn_op_save_reg(op, qp, when, reg, dst) \
	(*(op) = _U_dyn_op(UNW_DYN_SAVE_REG, (qp), (when), (reg), (dst)))
#define _U_dyn_op_spill_fp_rel(op, qp, when, reg, offset) \
	(*(op) = _U_dyn_op(UNW_DYN_SPILL_FP_REL, (qp), (when), (reg), (offset)))
#define _U_dyn_op_spill_sp_rel(op, qp, when, reg, offset) \
	(*(op) = _U_dyn_op(UNW_DYN_SPILL_SP_REL, (qp), (when), (reg), (offset)))
#define _U_dyn_op_add(op, qp, when, reg, value) \
	(*(op) = _U_dyn_op(UNW_DYN_ADD, (qp), (when), (reg), (value)))
#define _U_dyn_op_pop_frames(op, qp, when, num_frames) \
	(*(op) = _U_dyn_op(UNW_DYN_POP_FRAMES, (qp), (when), 0, (num_frames)))
#define _U_dyn_op_label_state(op, label) \
	(*(op) = _U_dyn_op(UNW_DYN_LABEL_STATE, _U_QP_TRUE, -1, 0, (label)))
#define _U_dyn_op_copy_state(op, label) \
	(*(op) = _U_dyn_op(UNW_DYN_COPY_STATE, _U_QP_TRUE, -1, 0, (label)))
#define _U_dyn_op_alias(op, qp, when, addr) \
	(*(op) = _U_dyn_op(UNW_DYN_ALIAS, (qp), (when), 0, (addr)))
#define _U_dyn_op_stop(op) (*(op) = _U_dyn_op(UNW_DYN_STOP, _U_QP_TRUE, -1, 0, 0))

#endif /* STACKWALK_LIBUNWIND_DYNAMIC_H */
