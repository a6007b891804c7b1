/*
 * SW_JIT_PUB_PERF_MAP and SW_JIT_PUB_JITDUMP: perf's two ways to name JIT
 * code.
 *
 * perf map (tools/perf/Documentation/jit-interface.txt): /tmp/perf-PID.map,
 * one line "START SIZE name" per procedure (hexadecimal, no 0x), read by
 * perf report/script for samples in anonymous executable memory.  The file
 * is opened on first use (O_APPEND) and reopened after a fork.  The format
 * is append-only: an unpublish withdraws nothing (perf resolves a sample
 * with the last line covering its address, so code that reuses the range
 * and is published again wins).
 *
 * jitdump (tools/perf/Documentation/jitdump-specification.txt):
 * jit-PID.dump in $JITDUMPDIR, else the current directory.  The file
 * starts with the header; we then map its first page PROT_READ|PROT_EXEC
 * (the "marker" mapping: perf record sees the MMAP of a file named
 * jit-PID.dump and perf inject --jit reads it).  Per procedure we append
 *   JIT_CODE_UNWINDING_INFO  (when the chunk has an FDE for it): the
 *       procedure's CIE + FDE followed by an .eh_frame_hdr, laid out for
 *       the ELF file perf inject generates from the next record (genelf.c:
 *       .text at GEN_ELF_TEXT_OFFSET, .eh_frame at ALIGN_8(text + code
 *       size), .eh_frame_hdr right after it); GEN_ELF_TEXT_OFFSET is 0x80
 *       in perf 6.1 and 0x40 later, so every pointer is relative
 *       (pc_begin DW_EH_PE_pcrel, the header's table datarel), which is
 *       right for any 8-aligned text address;
 *   JIT_CODE_DEBUG_INFO  (when the procedure has line information): one
 *       entry per (offset, line) pair, with the absolute code address, the
 *       line, discriminator 0 and the file name written out in full
 *       (perf's genelf_debug.c compares each name with the previous one
 *       with strcmp, so the spec's "\xff\0" = same-file shorthand would
 *       become a file named "\xff"); an entry followed by another at the
 *       same offset is superseded and skipped.  perf inject keeps it for
 *       the next JIT_CODE_LOAD and turns it into that ELF's .debug_line,
 *       whose sequence ends at the last entry's address (genelf_debug.c
 *       add_debug_line): so that the last line covers the rest of the
 *       procedure we close the list with one more entry at its end
 *       address, repeating the last line;
 *   JIT_CODE_LOAD  the name, the address and a copy of the code bytes read
 *       from the process.
 * Timestamps: CLOCK_MONOTONIC
 * in ns (record with perf record -k 1).  An unpublish writes nothing: the
 * format has no unload record (JIT_CODE_MOVE is for moved code), and perf
 * keeps each CODE_LOAD's ELF for the samples taken while it was live.
 *
 * Both run under the registry's writer mutex, never in a signal handler.
 * Write errors make the publish fail with SW_EIO; records are written
 * whole with one writev each.
 */
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#include "arch/arch.h"
#include "dwarf/cfi.h"
#include "jit/error.h"
#include "jit/publishers/eh_format.h"
#include "jit/publishers/publish.h"

/* Name of an unnamed procedure in both files. */
static const char *proc_name(const struct sw_jit_chunk_proc *p, char *buf, size_t size)
{
	if (p->name && p->name[0])
		return p->name;
	snprintf(buf, size, "jit_%" PRIx64, p->start);
	return buf;
}

/* write() all of an iovec array, retrying short writes. */
static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);
		if (w < 0)
			return SW_EIO;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- perf map */

static int map_fd = -1;
static pid_t map_pid;

static int perf_map_publish(const struct sw_jit_chunk *c, void **cookie)
{
	if (!c || !cookie)
		return sw_jit_fail(SW_EINVAL, "perf map publisher: NULL chunk");
	*cookie = NULL;
	pid_t pid = getpid();
	if (map_fd < 0 || map_pid != pid) {   /* first use, or a forked child */
		char path[64];
		if (map_fd >= 0)
			close(map_fd);
		snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)pid);
		map_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (map_fd < 0)
			return SW_EIO;
		map_pid = pid;
	}

	/* all lines of the chunk in one write */
	size_t cap = 0;
	for (size_t i = 0; i < c->nprocs; i++)
		cap += 2 * 17 + 2 + (c->procs[i].name ? strlen(c->procs[i].name) : 24);
	char *buf = malloc(cap + 1);
	if (!buf)
		return SW_ENOMEM;
	size_t len = 0;
	for (size_t i = 0; i < c->nprocs; i++) {
		const struct sw_jit_chunk_proc *p = &c->procs[i];
		char tmp[32];
		const char *name = proc_name(p, tmp, sizeof tmp);
		size_t at = len;
		len += (size_t)snprintf(buf + len, cap + 1 - len, "%" PRIx64 " %" PRIx64 " %s\n",
					p->start, p->end - p->start, name);
		/* a newline inside a name would start a bogus line */
		for (size_t k = at; k + 1 < len; k++)
			if (buf[k] == '\n')
				buf[k] = ' ';
	}
	struct iovec iov = { buf, len };
	int rc = write_all(map_fd, &iov, 1);
	free(buf);
	return rc;
}

static void perf_map_unpublish(void *cookie)
{
	(void)cookie;   /* append-only format: nothing to withdraw */
}

const struct sw_jit_pub_ops sw_jit_pub_perf_map = {
	.name = "perf-map",
	.bit = SW_JIT_PUB_PERF_MAP,
	.publish = perf_map_publish,
	.unpublish = perf_map_unpublish,
};

/* ---------------------------------------------------------------- jitdump */

#define JITDUMP_MAGIC 0x4A695444u         /* "JiTD" as a little-endian word */
#define JITDUMP_VERSION 1

enum { JIT_CODE_LOAD = 0, JIT_CODE_MOVE = 1, JIT_CODE_DEBUG_INFO = 2, JIT_CODE_CLOSE = 3,
       JIT_CODE_UNWINDING_INFO = 4 };

struct jd_header {
	uint32_t magic;
	uint32_t version;
	uint32_t total_size;    /* of this header */
	uint32_t elf_mach;
	uint32_t pad1;
	uint32_t pid;
	uint64_t timestamp;
	uint64_t flags;
};
_Static_assert(sizeof(struct jd_header) == 40, "jitdump header");

struct jd_prefix {
	uint32_t id;
	uint32_t total_size;    /* of the record, prefix included */
	uint64_t timestamp;
};

struct jd_load {
	struct jd_prefix p;
	uint32_t pid, tid;
	uint64_t vma, code_addr, code_size, code_index;
	/* name, NUL, code bytes */
};
_Static_assert(sizeof(struct jd_load) == 56, "JIT_CODE_LOAD layout");

struct jd_unwind {
	struct jd_prefix p;
	uint64_t unwinding_size;      /* .eh_frame + .eh_frame_hdr bytes */
	uint64_t eh_frame_hdr_size;   /* the trailing .eh_frame_hdr part */
	uint64_t mapped_size;         /* bytes of it mapped after the code: 0 */
	/* .eh_frame, .eh_frame_hdr, padding to 8 */
};
_Static_assert(sizeof(struct jd_unwind) == 40, "JIT_CODE_UNWINDING_INFO layout");

struct jd_debug {
	struct jd_prefix p;
	uint64_t code_addr;     /* the procedure's start */
	uint64_t nr_entry;
	/* nr_entry entries, then padding to 8 */
};
_Static_assert(sizeof(struct jd_debug) == 32, "JIT_CODE_DEBUG_INFO layout");

/* One entry of JIT_CODE_DEBUG_INFO (perf's struct debug_entry): packed,
 * each directly after the previous one's file name. */
struct jd_debug_entry {
	uint64_t addr;          /* absolute code address */
	uint32_t lineno;        /* 1-based */
	uint32_t discrim;       /* 0 */
	/* file name, NUL-terminated */
};
_Static_assert(sizeof(struct jd_debug_entry) == 16, "debug_entry layout");

/* perf's genelf.h: the generated ELF's .text address and file offset. */
#define GEN_ELF_TEXT_OFFSET ((uint64_t)sizeof(Elf64_Ehdr))
#define EH_HDR_SIZE 20   /* version, 3 encodings, eh_frame_ptr, count, 1 entry */

static int jd_fd = -1;
static pid_t jd_pid;
static void *jd_marker;
static size_t jd_marker_len;
static uint64_t jd_index;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int jd_open(void)
{
	pid_t pid = getpid();
	if (jd_fd >= 0 && jd_pid == pid)
		return 0;
	if (jd_fd >= 0) {   /* forked: the parent's file is not ours */
		if (jd_marker)
			munmap(jd_marker, jd_marker_len);
		close(jd_fd);
		jd_marker = NULL;
		jd_fd = -1;
	}
	const char *dir = getenv("JITDUMPDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/jit-%d.dump", dir && dir[0] ? dir : ".", (int)pid);
	int fd = open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0666);
	if (fd < 0)
		return SW_EIO;

	struct jd_header h = {
		.magic = JITDUMP_MAGIC, .version = JITDUMP_VERSION,
		.total_size = sizeof h, .elf_mach = SW_ARCH_ELF_MACHINE,
		.pid = (uint32_t)pid, .timestamp = now_ns(), .flags = 0,
	};
	struct iovec iov = { &h, sizeof h };
	if (write_all(fd, &iov, 1) < 0) {
		close(fd);
		return SW_EIO;
	}
	/* the marker: perf record records this executable mapping of the
	 * file; it stays mapped while the process lives */
	long pg = sysconf(_SC_PAGESIZE);
	jd_marker_len = pg > 0 ? (size_t)pg : 4096;
	jd_marker = mmap(NULL, jd_marker_len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (jd_marker == MAP_FAILED) {
		jd_marker = NULL;
		close(fd);
		return SW_EIO;
	}
	jd_fd = fd;
	jd_pid = pid;
	return 0;
}

/* The unwinding record for one procedure (f) and its code size. */
static int jd_unwind(const struct sw_jit_chunk *c, const struct sw_pub_fde *f, uint64_t csize)
{
	int64_t delta = (int64_t)GEN_ELF_TEXT_OFFSET - (int64_t)f->start;
	long eh = sw_pub_eh_abs(c, f, 1, delta, NULL, NULL);
	if (eh < 0)
		return (int)eh;
	size_t ehsz = (size_t)eh + 4;                    /* + terminator */
	size_t usz = ehsz + EH_HDR_SIZE;
	size_t total = sizeof(struct jd_unwind) + usz;
	size_t padded = (total + 7) & ~(size_t)7;
	uint8_t *rec = calloc(1, padded);
	if (!rec)
		return SW_ENOMEM;

	struct jd_unwind *u = (struct jd_unwind *)(void *)rec;
	u->p.id = JIT_CODE_UNWINDING_INFO;
	u->p.total_size = (uint32_t)padded;
	u->p.timestamp = now_ns();
	u->unwinding_size = usz;
	u->eh_frame_hdr_size = EH_HDR_SIZE;
	u->mapped_size = 0;

	uint8_t *ehp = rec + sizeof *u;
	uint64_t fde_off;
	sw_pub_eh_abs(c, f, 1, delta, ehp, &fde_off);
	/* terminator: already zero */

	/* Make pc_begin pc-relative (DW_EH_PE_pcrel|sdata8): perf versions
	 * place .text at 0x80 (6.1) or 0x40 (later), always 8-aligned, with
	 * .eh_frame at ALIGN_8(text + size): the distance from the FDE to the
	 * code is the same for every such text address, so the bytes are
	 * right for both.  The re-encoded CIE's 'R' byte is the last byte of
	 * its augmentation data (eh_abs.h). */
	struct sw_cfi_section sec;
	struct sw_cie cie;
	struct sw_diag diag;
	uint64_t eh_addr = (GEN_ELF_TEXT_OFFSET + csize + 7) & ~(uint64_t)7;
	sw_cfi_section_init(&sec, ehp, ehsz, eh_addr, true, ".eh_frame");
	if (sw_cfi_parse_cie(&sec, 0, &cie, &diag) != 0 || !cie.aug_data_len) {
		free(rec);
		return SW_EUNSUPPORTED;
	}
	((uint8_t *)(uintptr_t)cie.aug_data)[cie.aug_data_len - 1] = 0x1c;
	sw_pub_put8(ehp + fde_off + 8, GEN_ELF_TEXT_OFFSET - (eh_addr + fde_off + 8));

	/* .eh_frame_hdr right after it: only differences of addresses, so
	 * again independent of where perf puts .text */
	uint64_t hdr_addr = eh_addr + ehsz;
	uint8_t *h = ehp + ehsz;
	h[0] = 1;                       /* version */
	h[1] = 0x1b;                    /* eh_frame_ptr: pcrel | sdata4 */
	h[2] = 0x03;                    /* fde_count: udata4 */
	h[3] = 0x3b;                    /* table: datarel | sdata4 */
	sw_pub_put4(h + 4, (uint32_t)(eh_addr - (hdr_addr + 4)));
	sw_pub_put4(h + 8, 1);
	sw_pub_put4(h + 12, (uint32_t)(GEN_ELF_TEXT_OFFSET - hdr_addr));
	sw_pub_put4(h + 16, (uint32_t)(eh_addr + fde_off - hdr_addr));

	struct iovec iov = { rec, padded };
	int rc = write_all(jd_fd, &iov, 1);
	free(rec);
	return rc;
}

/* The line record of procedure p (which has lines). */
static int jd_debug_info(const struct sw_jit_chunk_proc *p)
{
	size_t flen = strlen(p->file) + 1, n = 1;   /* + the closing entry */
	for (uint32_t k = 0; k < p->nlines; k++)
		if (k + 1 == p->nlines || p->lines[k + 1].offset != p->lines[k].offset)
			n++;
	size_t total = sizeof(struct jd_debug) + n * (sizeof(struct jd_debug_entry) + flen);
	size_t padded = (total + 7) & ~(size_t)7;
	if (padded > UINT32_MAX)
		return sw_jit_fail(SW_EINVAL, "jitdump publisher: lines of %s: a DEBUG_INFO record "
				   "of 4 GiB or more", p->name ? p->name : "(no name)");
	uint8_t *rec = calloc(1, padded);
	if (!rec)
		return SW_ENOMEM;

	struct jd_debug *d = (struct jd_debug *)(void *)rec;
	d->p.id = JIT_CODE_DEBUG_INFO;
	d->p.total_size = (uint32_t)padded;
	d->p.timestamp = now_ns();
	d->code_addr = p->start;
	d->nr_entry = n;
	uint8_t *at = rec + sizeof *d;
	for (uint32_t k = 0; k < p->nlines; k++) {
		if (k + 1 < p->nlines && p->lines[k + 1].offset == p->lines[k].offset)
			continue;
		struct jd_debug_entry e = {
			.addr = p->start + p->lines[k].offset, .lineno = p->lines[k].line,
			.discrim = 0,
		};
		memcpy(at, &e, sizeof e);   /* entries are unaligned */
		memcpy(at + sizeof e, p->file, flen);
		at += sizeof e + flen;
	}
	struct jd_debug_entry last = {
		.addr = p->end, .lineno = p->lines[p->nlines - 1].line, .discrim = 0,
	};
	memcpy(at, &last, sizeof last);
	memcpy(at + sizeof last, p->file, flen);

	struct iovec iov = { rec, padded };
	int rc = write_all(jd_fd, &iov, 1);
	free(rec);
	return rc;
}

static int jitdump_publish(const struct sw_jit_chunk *c, void **cookie)
{
	if (!c || !cookie)
		return sw_jit_fail(SW_EINVAL, "jitdump publisher: NULL chunk");
	*cookie = NULL;
	int rc = jd_open();
	if (rc < 0)
		return rc;

	struct sw_pub_fde *fdes = NULL;
	size_t nfdes = 0;
	if (sw_pub_fdes(c, &fdes, &nfdes) < 0)
		nfdes = 0;   /* names without unwinding information */

	uint32_t tid = (uint32_t)syscall(SYS_gettid);
	for (size_t i = 0; i < c->nprocs && rc == 0; i++) {
		const struct sw_jit_chunk_proc *p = &c->procs[i];
		uint64_t csize = p->end - p->start;
		const struct sw_pub_fde *f = sw_pub_find(fdes, nfdes, p->start);
		if (f && f->end == p->end)
			(void)jd_unwind(c, f, csize);   /* optional: the load record matters */
		if (p->file && p->lines && p->nlines)
			(void)jd_debug_info(p);         /* optional too */

		char tmp[32];
		const char *name = proc_name(p, tmp, sizeof tmp);
		size_t nlen = strlen(name) + 1;
		struct jd_load l = {
			.p = { JIT_CODE_LOAD, (uint32_t)(sizeof l + nlen + csize), now_ns() },
			.pid = (uint32_t)getpid(), .tid = tid,
			.vma = p->start, .code_addr = p->start, .code_size = csize,
			.code_index = jd_index++,
		};
		struct iovec iov[3] = {
			{ &l, sizeof l },
			{ (void *)(uintptr_t)name, nlen },
			{ (void *)(uintptr_t)p->start, (size_t)csize },   /* the code itself */
		};
		rc = write_all(jd_fd, iov, 3);
	}
	free(fdes);
	return rc;
}

static void jitdump_unpublish(void *cookie)
{
	(void)cookie;   /* no unload record in the format */
}

const struct sw_jit_pub_ops sw_jit_pub_jitdump = {
	.name = "jitdump",
	.bit = SW_JIT_PUB_JITDUMP,
	.publish = jitdump_publish,
	.unpublish = jitdump_unpublish,
};
