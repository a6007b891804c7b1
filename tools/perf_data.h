/*
 * perf_data.h — a bounds-checked reader of perf.data files (`perf record`
 * output), for `stackwalk perf`.
 *
 * Depends on libc alone (fuzz/fuzz_perf.c links it by itself).  The file
 * is a byte buffer the caller owns (a mapping of the file, or the fuzzer's
 * input); nothing is copied, and every pointer an event holds points into
 * that buffer.  Multi-byte values are read with memcpy, so a buffer of any
 * alignment works.  Only little-endian files (the host's order on x86-64)
 * are read.
 *
 * Layout (the perf.data format, as documented in the kernel's
 * tools/perf/Documentation/perf.data-file-format.txt and the record
 * layouts of include/uapi/linux/perf_event.h):
 *
 *   file header: magic "PERFILE2", header size, attr entry size, three
 *                sections {offset, size} (attrs, data, event types) and a
 *                256-bit set of features
 *   attrs:       one perf_event_attr per event, each followed by the
 *                section of its sample ids (u64)
 *   data:        records, each {u32 type, u16 misc, u16 size} + payload
 *   features:    after the data section, one section {offset, size} per
 *                feature bit set (build-ids, event names, ...)
 *
 * A pipe-mode file (perf record -o -) has a 16-byte header and carries its
 * attrs as PERF_RECORD_HEADER_ATTR records; it is read too.
 *
 * Errors: every function that can fail returns a negative PD_E* code and
 * leaves a message with the file offset in pd_file.err.
 */
#ifndef SW_TOOLS_PERF_DATA_H
#define SW_TOOLS_PERF_DATA_H

#include <stddef.h>
#include <stdint.h>

/* Record types (perf_event.h, and perf's own from 64 on). */
enum {
	PD_RECORD_MMAP = 1,
	PD_RECORD_LOST = 2,
	PD_RECORD_COMM = 3,
	PD_RECORD_EXIT = 4,
	PD_RECORD_FORK = 7,
	PD_RECORD_SAMPLE = 9,
	PD_RECORD_MMAP2 = 10,
	PD_RECORD_HEADER_ATTR = 64,
	PD_RECORD_HEADER_BUILD_ID = 67,
	PD_RECORD_FINISHED_ROUND = 68,
	PD_RECORD_AUXTRACE = 71,
	PD_RECORD_COMPRESSED = 81,
};

/* perf_event_attr.sample_type bits. */
#define PD_SAMPLE_IP             (1ull << 0)
#define PD_SAMPLE_TID            (1ull << 1)
#define PD_SAMPLE_TIME           (1ull << 2)
#define PD_SAMPLE_ADDR           (1ull << 3)
#define PD_SAMPLE_READ           (1ull << 4)
#define PD_SAMPLE_CALLCHAIN      (1ull << 5)
#define PD_SAMPLE_ID             (1ull << 6)
#define PD_SAMPLE_CPU            (1ull << 7)
#define PD_SAMPLE_PERIOD         (1ull << 8)
#define PD_SAMPLE_STREAM_ID      (1ull << 9)
#define PD_SAMPLE_RAW            (1ull << 10)
#define PD_SAMPLE_BRANCH_STACK   (1ull << 11)
#define PD_SAMPLE_REGS_USER      (1ull << 12)
#define PD_SAMPLE_STACK_USER     (1ull << 13)
#define PD_SAMPLE_WEIGHT         (1ull << 14)
#define PD_SAMPLE_DATA_SRC       (1ull << 15)
#define PD_SAMPLE_IDENTIFIER     (1ull << 16)
#define PD_SAMPLE_TRANSACTION    (1ull << 17)
#define PD_SAMPLE_REGS_INTR      (1ull << 18)
#define PD_SAMPLE_PHYS_ADDR      (1ull << 19)
#define PD_SAMPLE_AUX            (1ull << 20)
#define PD_SAMPLE_CGROUP         (1ull << 21)
#define PD_SAMPLE_DATA_PAGE_SIZE (1ull << 22)
#define PD_SAMPLE_CODE_PAGE_SIZE (1ull << 23)
#define PD_SAMPLE_WEIGHT_STRUCT  (1ull << 24)
#define PD_SAMPLE_KNOWN          ((1ull << 25) - 1)

/* perf_event_header.misc bits used here. */
#define PD_MISC_CPUMODE_MASK     0x7u
#define PD_MISC_KERNEL           1u
#define PD_MISC_USER             2u
#define PD_MISC_COMM_EXEC        (1u << 13)   /* COMM */
#define PD_MISC_MMAP_DATA        (1u << 13)   /* MMAP, MMAP2: not executable */
#define PD_MISC_MMAP_BUILD_ID    (1u << 14)   /* MMAP2: build-id, not inode */
#define PD_MISC_BUILD_ID_SIZE    (1u << 15)   /* HEADER_BUILD_ID: size byte */

/* Callchain context markers (PERF_CONTEXT_*): entries >= PD_CONTEXT_MAX. */
#define PD_CONTEXT_HV            ((uint64_t)-32)
#define PD_CONTEXT_KERNEL        ((uint64_t)-128)
#define PD_CONTEXT_USER          ((uint64_t)-512)
#define PD_CONTEXT_MAX           ((uint64_t)-4095)

/* perf_event x86-64 user registers (arch/x86/include/uapi/asm/perf_regs.h):
 * bit i of sample_regs_user selects register i, stored in bit order. */
enum {
	PD_X86_AX, PD_X86_BX, PD_X86_CX, PD_X86_DX, PD_X86_SI, PD_X86_DI,
	PD_X86_BP, PD_X86_SP, PD_X86_IP, PD_X86_FLAGS, PD_X86_CS, PD_X86_SS,
	PD_X86_DS, PD_X86_ES, PD_X86_FS, PD_X86_GS,
	PD_X86_R8, PD_X86_R9, PD_X86_R10, PD_X86_R11,
	PD_X86_R12, PD_X86_R13, PD_X86_R14, PD_X86_R15,
	PD_X86_NREGS,
};

enum pd_status {
	PD_OK = 0,
	PD_EOF = 0,             /* pd_next: no more records */
	PD_EFORMAT = -1,        /* malformed or truncated (message in err) */
	PD_EUNSUPPORTED = -2,   /* valid but not read here (big-endian, ...) */
	PD_ENOMEM = -3,
};

/* One event (perf_event_attr and what perf's header says about it). */
struct pd_attr {
	uint32_t type;              /* PERF_TYPE_* */
	uint64_t config;
	uint64_t sample_type;       /* PD_SAMPLE_* */
	uint64_t read_format;       /* PERF_FORMAT_* */
	uint64_t flags;             /* the attr's bit-field word */
	uint64_t branch_sample_type;
	uint64_t sample_regs_user;  /* bit i: PD_X86_* register i */
	uint32_t sample_stack_user; /* bytes of user stack requested */
	uint64_t sample_regs_intr;  /* PERF_SAMPLE_REGS_INTR's mask */
	int sample_id_all;          /* non-sample records carry the id trailer */
	const uint8_t *ids;         /* nr_ids u64 sample ids (unaligned) */
	uint64_t nr_ids;
	char name[64];              /* from HEADER_EVENT_DESC, "" if none */
};

/* A build-id the header recorded for a file (HEADER_BUILD_ID). */
struct pd_build_id {
	int32_t pid;                /* -1: the kernel */
	uint8_t size;               /* bytes of id (20 when not recorded) */
	uint8_t id[20];
	const char *filename;       /* NUL-terminated inside the buffer */
};

struct pd_file {
	const uint8_t *buf;         /* the whole file */
	uint64_t size;
	int pipe;                   /* pipe-mode file: attrs come as records */
	uint64_t data_off, data_end;    /* the records: [data_off, data_end) */
	uint64_t features[4];       /* HEADER_* feature bits */
	struct pd_attr *attrs;      /* malloc'd */
	size_t nattrs;
	struct pd_build_id *build_ids;  /* malloc'd */
	size_t nbuild_ids;
	uint64_t records;           /* records read by pd_next so far */
	char err[256];              /* the last error, with its file offset */
};

/* The fields of one record, as its type has them. */
struct pd_event {
	uint32_t type;              /* PD_RECORD_* */
	uint16_t misc;
	uint16_t size;
	uint64_t offset;            /* of the record in the file */
	const struct pd_attr *attr; /* the event it belongs to (NULL: none) */

	/* SAMPLE fields, and the sample_id_all trailer of other records
	 * (have_* says which were there) */
	int have_tid, have_time, have_cpu;
	uint32_t pid, tid;
	uint64_t time;
	uint32_t cpu;
	uint64_t id, ip, addr, stream_id, period;

	/* SAMPLE only */
	const uint8_t *callchain;   /* nr_callchain u64 (unaligned): pd_u64() */
	uint64_t nr_callchain;
	uint64_t regs_abi;          /* 0: no user registers (kernel thread) */
	uint64_t regs_mask;         /* the attr's sample_regs_user */
	uint64_t regs[PD_X86_NREGS];    /* by PD_X86_* index (0 if absent) */
	uint64_t regs_present;      /* bit i: regs[i] came from the sample */
	const uint8_t *stack;       /* STACK_USER: the copy from SP */
	uint64_t stack_size;        /* bytes in `stack` */
	uint64_t stack_dyn_size;    /* of them, valid (the kernel's dyn_size) */

	/* MMAP / MMAP2 */
	uint64_t map_start, map_len, map_pgoff;
	uint32_t map_prot, map_flags;   /* MMAP2 only; MMAP: PROT_EXEC unless
					 * PD_MISC_MMAP_DATA */
	uint8_t build_id[20];
	uint8_t build_id_size;      /* MMAP2 with PD_MISC_MMAP_BUILD_ID, else 0 */
	const char *filename;       /* NUL-terminated inside the buffer */

	/* COMM */
	const char *comm;

	/* FORK / EXIT */
	uint32_t ppid, ptid;
};

/* pd_u64 - the i-th u64 of an unaligned array in the buffer. */
static inline uint64_t pd_u64(const uint8_t *p, uint64_t i)
{
	uint64_t v;
	__builtin_memcpy(&v, p + i * 8, 8);
	return v;
}

/*
 * pd_open - read the header of the perf.data file in buf[0..size): the
 * attrs, their ids, the build-id and event-description features.  `buf`
 * must stay valid until pd_close.
 * Returns PD_OK, PD_EFORMAT, PD_EUNSUPPORTED or PD_ENOMEM (message in
 * f->err).  f is zeroed first; pd_close it also after a failure.
 */
int pd_open(struct pd_file *f, const void *buf, uint64_t size);

/* pd_close - free what pd_open allocated (the buffer stays the caller's). */
void pd_close(struct pd_file *f);

/*
 * pd_next - the record at *pos (start with *pos = f->data_off), parsed
 * into *ev; *pos moves past it.  Records of types not known here are
 * returned with only the header fields set.
 * Returns 1 (a record), PD_EOF (0: *pos reached the end of the data) or a
 * negative PD_E* (message in f->err with the offset; the file cannot be
 * read further: a record's size is what finds the next one).
 */
int pd_next(struct pd_file *f, uint64_t *pos, struct pd_event *ev);

/* pd_find_build_id - the HEADER_BUILD_ID entry for `filename` (and pid,
 * or any pid when none matches), NULL if none. */
const struct pd_build_id *pd_find_build_id(const struct pd_file *f, int32_t pid,
					   const char *filename);

/* pd_has_feature - 1 when the header has feature bit `bit`. */
int pd_has_feature(const struct pd_file *f, unsigned bit);

/* Feature bits (HEADER_*) read here. */
#define PD_FEAT_BUILD_ID   2
#define PD_FEAT_EVENT_DESC 12

#endif
