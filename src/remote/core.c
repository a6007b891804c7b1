/*
 * sw_as_open_core: an ELF core file as an address space
 * (include/stackwalk/remote.h).
 *
 *   - memory: every PT_LOAD, as far as the file holds it (a truncated core
 *     keeps its segments, with fewer bytes available, and a warning);
 *   - threads: NT_PRSTATUS (registers, tid), the faulting one first (its
 *     pr_cursig, si_addr from the NT_SIGINFO that follows it: the kernel
 *     and gdb both write a thread's siginfo after its prstatus);
 *   - modules: NT_FILE, each file's build-id read from the ELF headers the
 *     core holds at its first mapping (the kernel dumps the first page of
 *     ELF file mappings, gcore the read-only segments); when a core has no
 *     usable NT_FILE (qemu, some gcore versions), the dynamic linker's
 *     r_debug link map in the core's memory, found through AT_PHDR's
 *     PT_DYNAMIC and DT_DEBUG; the vDSO copied from the core's memory.
 *
 * Trust model: the file is hostile.  Every offset, size and count is
 * checked in the form `off <= total && len <= total - off` (no addition
 * that can wrap), fields are copied out with memcpy (no alignment
 * assumption), and every loop is bounded by the input's size or a fixed
 * limit.  What is wrong but not fatal is a warning (sw_as_warnings).
 *
 * The core is read into a malloc'd buffer that the address space owns
 * (sw_rs_own): segments point into it.  Mapping it (mmap) would spare the
 * copy and the memory for big cores, but the address space can only
 * free() what it owns (an sw_rs_own_mapping(as, addr, len) that munmaps
 * would allow it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/target.h"
#include "remote/remote.h"

/* x86-64 layouts of the kernel's core notes (linux/elfcore.h, the
 * compat-free 64-bit structs). */
#define PRSTATUS_SIZE SW_ARCH_PRSTATUS_SIZE
#define PRSTATUS_CURSIG 12      /* short */
#define PRSTATUS_PID 32         /* int */
#define PRSTATUS_REG SW_ARCH_PRSTATUS_REG   /* the architecture's user_regs_struct */
#define PRPSINFO_SIZE 136
#define PRPSINFO_PID 24         /* int */
#define PRPSINFO_FNAME 40       /* char[16] */
#define SIGINFO_SIGNO 0         /* int */
#define SIGINFO_ADDR 16         /* void *si_addr of the fault signals */
#define SIGINFO_MIN 24

#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif
#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

/* Limits on what the core's memory describes (the file bounds the rest). */
#define LINK_MAP_MAX 4096       /* r_debug entries followed */
#define NAME_MAX_LEN 4096       /* a name read from the target's memory */
#define DYN_MAX 4096            /* PT_DYNAMIC entries read */
#define MOD_PHNUM_MAX 128       /* program headers of a mapped module (on the stack) */
#define NOTE_READ_MAX 4096      /* bytes of a module's PT_NOTE read */
#define VDSO_MAX (1u << 20)     /* bytes copied for the vDSO */

/* A PT_LOAD as read here: [start, end) in the target, the first `avail`
 * bytes at `data`. */
struct cseg {
	uint64_t start, end, avail;  /* start first: sw_rs_upper_bound's key */
	const uint8_t *data;
};

/* One NT_FILE entry; `path` points into the core's bytes (NUL-terminated,
 * checked).  `group`: index of the first entry (in path order) with the
 * same path, where the per-file facts are kept. */
struct cmap {
	uint64_t start, end, pgoff;
	const char *path;
	size_t path_len;             /* without a " (deleted)" suffix */
	bool deleted;
	size_t group;
};

/* Per-file facts of an NT_FILE path (kept on its group's first entry). */
struct cfile {
	bool skip;                   /* mapped bytes are not ELF: not a module */
	unsigned flags;              /* SW_MOD_MAIN */
	uint8_t build_id[40];
	size_t build_id_size;
};

struct core {
	struct sw_addr_space *as;
	const struct sw_as_options *opt;
	const uint8_t *data;         /* the file's bytes */
	uint64_t size;
	struct cseg *segs;           /* sorted by start */
	size_t nsegs;
	/* notes */
	char fname[16];              /* NT_PRPSINFO's pr_fname */
	bool have_file_note;
	const uint8_t *file_note;    /* NT_FILE's descriptor */
	uint64_t file_note_size;
	uint64_t at_sysinfo_ehdr, at_phdr, at_phnum, at_entry, at_execfn;
	/* threads, in note order, before they are handed over */
	struct sw_as_thread *threads;
	size_t nthreads, cap_threads;
	size_t sig_thread;           /* + 1: the thread an NT_SIGINFO followed
				      * (the one the signal hit), 0: none */
	uint64_t notes_cut;          /* bytes of notes beyond the end of the file */
};

/* ------------------------------------------------------------ utilities */

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Read the whole file at `fd` (fstat's size, or what is there) into a
 * malloc'd buffer.  Returns 0 or SW_EIO / SW_ENOMEM (message in opt). */
static int read_file(int fd, const char *path, const struct sw_as_options *opt, uint8_t **out,
		     uint64_t *out_size)
{
	struct stat st;
	if (fstat(fd, &st) != 0) {
		sw_rs_error(opt, "%s: fstat: %s", path, strerror(errno));
		return SW_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		sw_rs_error(opt, "%s: not a regular file", path);
		return SW_EIO;
	}
	if ((uint64_t)st.st_size > SIZE_MAX / 2) {
		sw_rs_error(opt, "%s: too big (%lld bytes)", path, (long long)st.st_size);
		return SW_ENOMEM;
	}
	size_t cap = (size_t)st.st_size;
	uint8_t *buf = malloc(cap ? cap : 1);
	if (!buf) {
		sw_rs_error(opt, "%s: out of memory reading %zu bytes", path, cap);
		return SW_ENOMEM;
	}
	size_t got = 0;
	while (got < cap) {
		ssize_t n = read(fd, buf + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sw_rs_error(opt, "%s: read: %s", path, strerror(errno));
			free(buf);
			return SW_EIO;
		}
		if (n == 0)
			break;      /* shrank meanwhile: take what is there */
		got += (size_t)n;
	}
	*out = buf;
	*out_size = got;
	return 0;
}

/* Bytes [off, off + len) of the file, or NULL when outside it. */
static const uint8_t *file_bytes(const struct core *c, uint64_t off, uint64_t len)
{
	if (off > c->size || len > c->size - off)
		return NULL;
	return c->data + off;
}

/* The segment whose range holds addr, or NULL (binary search on start;
 * hostile segments may overlap: any one holding addr will do). */
static const struct cseg *find_seg(const struct core *c, uint64_t addr)
{
	size_t lo = sw_rs_upper_bound(c->segs, c->nsegs, sizeof(*c->segs), addr);
	/* lo: first with start > addr; look back a little for an overlap */
	for (size_t k = 0; k < 4 && lo > 0; k++, lo--) {
		const struct cseg *s = &c->segs[lo - 1];
		if (addr >= s->start && addr < s->end)
			return s;
	}
	return NULL;
}

/* Read `size` bytes of the core's memory at `addr` (across segments).
 * Returns 0 or SW_EMEMORY. */
static int mem_read(const struct core *c, uint64_t addr, void *buf, size_t size)
{
	uint8_t *p = buf;
	while (size > 0) {
		const struct cseg *s = find_seg(c, addr);
		if (!s)
			return SW_EMEMORY;
		uint64_t off = addr - s->start;
		if (off >= s->avail)
			return SW_EMEMORY;
		uint64_t n = s->avail - off;
		if (n > size)
			n = size;
		memcpy(p, s->data + off, (size_t)n);
		p += n;
		size -= (size_t)n;
		if (size > 0 && addr + n < addr)
			return SW_EMEMORY;
		addr += n;
	}
	return 0;
}

static int mem_u64(const struct core *c, uint64_t addr, uint64_t *v)
{
	return mem_read(c, addr, v, 8);
}

/* A NUL-terminated string at addr (at most size - 1 bytes, read in chunks
 * so a string at the end of a segment works).  Returns its length or -1. */
static long mem_string(const struct core *c, uint64_t addr, char *buf, size_t size)
{
	size_t len = 0;
	while (len + 1 < size) {
		size_t chunk = size - 1 - len;
		if (chunk > 64)
			chunk = 64;
		/* shrink the chunk to what the segment holds */
		const struct cseg *s = find_seg(c, addr + len);
		if (!s || addr + len < addr)
			return -1;
		uint64_t off = addr + len - s->start;
		if (off >= s->avail)
			return -1;
		if (chunk > s->avail - off)
			chunk = (size_t)(s->avail - off);
		memcpy(buf + len, s->data + off, chunk);
		void *nul = memchr(buf + len, 0, chunk);
		if (nul)
			return (long)((char *)nul - buf);
		len += chunk;
	}
	return -1;     /* too long */
}

static int cmp_seg(const void *a, const void *b)
{
	const struct cseg *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* ------------------------------------------------------------ headers */

/* Check the ELF header; find the program headers.  Returns 0 or a code
 * (message in opt). */
static int check_header(struct core *c, const char *path, uint64_t *phoff, uint64_t *phnum)
{
	const uint8_t *e = c->data;
	if (c->size < EI_NIDENT || memcmp(e, ELFMAG, SELFMAG) != 0) {
		sw_rs_error(c->opt, "%s: not an ELF file", path);
		return SW_ENOTELF;
	}
	if (e[EI_CLASS] != ELFCLASS64 || e[EI_DATA] != ELFDATA2LSB) {
		sw_rs_error(c->opt, "%s: %s ELF core: only 64-bit little-endian x86-64 cores are supported",
			    path, e[EI_CLASS] == ELFCLASS32 ? "a 32-bit" : "an unsupported");
		return SW_EUNSUPPORTED;
	}
	if (c->size < sizeof(Elf64_Ehdr)) {
		sw_rs_error(c->opt, "%s: truncated ELF header (%llu bytes)", path,
			    (unsigned long long)c->size);
		return SW_EBADELF;
	}
	Elf64_Ehdr eh;
	memcpy(&eh, e, sizeof eh);
	if (eh.e_type != ET_CORE) {
		sw_rs_error(c->opt, "%s: not a core file (ELF type %u; an executable or library?)", path,
			    (unsigned)eh.e_type);
		return SW_EBADELF;
	}
	if (eh.e_machine != SW_ARCH_ELF_MACHINE) {
		sw_rs_error(c->opt, "%s: a core of machine %u; only %s (%u) is supported", path,
			    (unsigned)eh.e_machine, SW_ARCH_ELF_MACHINE_NAME,
			    (unsigned)SW_ARCH_ELF_MACHINE);
		return SW_EUNSUPPORTED;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr)) {
		sw_rs_error(c->opt, "%s: bad program header size %u", path, (unsigned)eh.e_phentsize);
		return SW_EBADELF;
	}
	uint64_t n = eh.e_phnum;
	if (n == PN_XNUM) {
		/* more than 0xfffe segments: the count is section 0's sh_info */
		const uint8_t *sh = file_bytes(c, eh.e_shoff, sizeof(Elf64_Shdr));
		if (!sh || eh.e_shoff == 0) {
			sw_rs_error(c->opt, "%s: PN_XNUM program headers without section 0", path);
			return SW_EBADELF;
		}
		Elf64_Shdr s0;
		memcpy(&s0, sh, sizeof s0);
		n = s0.sh_info;
	}
	if (n == 0) {
		sw_rs_error(c->opt, "%s: no program headers", path);
		return SW_EBADELF;
	}
	if (n > UINT64_MAX / sizeof(Elf64_Phdr) || !file_bytes(c, eh.e_phoff, n * sizeof(Elf64_Phdr))) {
		sw_rs_error(c->opt, "%s: truncated core: %llu program headers at offset %llu do not fit "
			    "in its %llu bytes", path, (unsigned long long)n,
			    (unsigned long long)eh.e_phoff, (unsigned long long)c->size);
		return SW_EBADELF;
	}
	*phoff = eh.e_phoff;
	*phnum = n;
	return 0;
}

/* PT_LOAD -> segments (here and in the address space).  Returns 0 or
 * SW_ENOMEM. */
static int load_segments(struct core *c, uint64_t phoff, uint64_t phnum)
{
	size_t nload = 0;
	for (uint64_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, c->data + phoff + i * sizeof ph, sizeof ph);
		if (ph.p_type == PT_LOAD)
			nload++;
	}
	c->segs = calloc(nload ? nload : 1, sizeof *c->segs);
	if (!c->segs)
		return SW_ENOMEM;
	uint64_t missing = 0, total = 0;
	unsigned bad = 0;
	for (uint64_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, c->data + phoff + i * sizeof ph, sizeof ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_vaddr + ph.p_memsz < ph.p_vaddr) {
			bad++;
			continue;
		}
		uint64_t filesz = ph.p_filesz < ph.p_memsz ? ph.p_filesz : ph.p_memsz;
		uint64_t avail = 0;
		if (ph.p_offset < c->size)
			avail = c->size - ph.p_offset < filesz ? c->size - ph.p_offset : filesz;
		missing += filesz - avail;
		total += filesz;
		struct cseg *s = &c->segs[c->nsegs++];
		s->start = ph.p_vaddr;
		s->end = ph.p_vaddr + ph.p_memsz;
		s->avail = avail;
		s->data = avail ? c->data + ph.p_offset : NULL;
		int rc = sw_rs_add_segment(c->as, s->start, s->end, s->data, avail);
		if (rc < 0)
			return rc;
	}
	qsort(c->segs, c->nsegs, sizeof *c->segs, cmp_seg);
	if (bad)
		sw_rs_warn(c->as, "core: %u PT_LOAD segments wrap around the address space: skipped", bad);
	if (missing)
		sw_rs_warn(c->as, "core truncated: %llu of %llu bytes of memory missing",
			   (unsigned long long)missing, (unsigned long long)total);
	return 0;
}

/* ------------------------------------------------------------ notes */

static int add_thread(struct core *c, const uint8_t *d, uint64_t dsz)
{
	if (dsz < PRSTATUS_SIZE) {
		sw_rs_warn(c->as, "core: NT_PRSTATUS of %llu bytes (x86-64's is %u): thread skipped",
			   (unsigned long long)dsz, PRSTATUS_SIZE);
		return 0;
	}
	if (c->nthreads == c->cap_threads) {
		size_t cap = c->cap_threads ? 2 * c->cap_threads : 8;
		struct sw_as_thread *t = realloc(c->threads, cap * sizeof *t);
		if (!t)
			return SW_ENOMEM;
		c->threads = t;
		c->cap_threads = cap;
	}
	struct sw_as_thread *t = &c->threads[c->nthreads++];
	memset(t, 0, sizeof *t);
	int32_t pid;
	int16_t cursig;
	memcpy(&pid, d + PRSTATUS_PID, 4);
	memcpy(&cursig, d + PRSTATUS_CURSIG, 2);
	t->tid = pid;
	t->state = SW_THREAD_STOPPED;
	t->signal = cursig > 0 ? cursig : 0;
	uint64_t regs[SW_REG_COUNT];
	sw_arch_user_regs(d + PRSTATUS_REG, regs);
	sw_rs_regs_to_context(regs, &t->regs);
	/* the stack it is on: the segment holding SP */
	const struct cseg *s = find_seg(c, regs[SW_REG_RSP]);
	if (s) {
		t->stack_lo = s->start;
		t->stack_hi = s->end;
	}
	return 0;
}

/* NT_SIGINFO: the signal of the thread whose NT_PRSTATUS came just before
 * (kernel: the dumping thread's prstatus, then psinfo and siginfo; gdb:
 * each thread's prstatus, regsets, siginfo). */
static void add_siginfo(struct core *c, const uint8_t *d, uint64_t dsz)
{
	if (dsz < SIGINFO_MIN || c->nthreads == 0)
		return;
	struct sw_as_thread *t = &c->threads[c->nthreads - 1];
	int32_t signo;
	memcpy(&signo, d + SIGINFO_SIGNO, 4);
	/* only for the thread the process died of (pr_cursig): gdb writes a
	 * SIGSTOP siginfo for every thread of a live process it dumps */
	if (signo <= 0 || signo != t->signal)
		return;
	c->sig_thread = c->nthreads;
	switch (signo) {
	case 4: case 5: case 7: case 8: case 11:   /* SIGILL SIGTRAP SIGBUS SIGFPE SIGSEGV */
		t->fault_addr = rd64(d + SIGINFO_ADDR);
		break;
	default:
		break;
	}
}

static void read_auxv(struct core *c, const uint8_t *d, uint64_t dsz)
{
	for (uint64_t off = 0; dsz - off >= 16 && off < dsz; off += 16) {
		uint64_t type = rd64(d + off), val = rd64(d + off + 8);
		switch (type) {
		case AT_NULL: return;
		case AT_SYSINFO_EHDR: c->at_sysinfo_ehdr = val; break;
		case AT_PHDR: c->at_phdr = val; break;
		case AT_PHNUM: c->at_phnum = val; break;
		case AT_ENTRY: c->at_entry = val; break;
#ifdef AT_EXECFN
		case AT_EXECFN: c->at_execfn = val; break;
#endif
		default: break;
		}
	}
}

static bool note_name_is(const uint8_t *name, uint32_t namesz, const char *want)
{
	size_t n = strlen(want);
	/* "CORE" with its NUL (namesz 5), or without it (namesz 4) */
	return (namesz == n + 1 && memcmp(name, want, n + 1) == 0) ||
	       (namesz == n && memcmp(name, want, n) == 0);
}

/* Walk the notes of one PT_NOTE: [off, off + len) of the file (already
 * clipped to the file).  Returns 0 or SW_ENOMEM. */
static int read_notes(struct core *c, uint64_t off, uint64_t len)
{
	const uint8_t *p = c->data + off;
	uint64_t pos = 0;
	unsigned bad = 0;
	while (len - pos >= 12) {
		uint32_t namesz = rd32(p + pos), descsz = rd32(p + pos + 4), type = rd32(p + pos + 8);
		uint64_t name_off = pos + 12;
		uint64_t name_pad = ((uint64_t)namesz + 3) & ~(uint64_t)3;
		if (name_pad > len - name_off) {
			bad = 1;
			break;
		}
		uint64_t desc_off = name_off + name_pad;
		uint64_t desc_pad = ((uint64_t)descsz + 3) & ~(uint64_t)3;
		if (descsz > len - desc_off) {
			bad = 1;
			break;
		}
		const uint8_t *name = p + name_off, *d = p + desc_off;
		bool core = note_name_is(name, namesz, "CORE");
		int rc = 0;
		if (core) {
			switch (type) {
			case NT_PRSTATUS:
				rc = add_thread(c, d, descsz);
				break;
			case NT_PRPSINFO:
				if (descsz >= PRPSINFO_SIZE) {
					int32_t pid;
					memcpy(&pid, d + PRPSINFO_PID, 4);
					if (pid > 0)
						c->as->pid = pid;
					memcpy(c->fname, d + PRPSINFO_FNAME, 15);
					c->fname[15] = 0;
				}
				break;
			case NT_SIGINFO:
				add_siginfo(c, d, descsz);
				break;
			case NT_AUXV:
				read_auxv(c, d, descsz);
				break;
			case NT_FILE:
				if (!c->have_file_note) {
					c->have_file_note = true;
					c->file_note = d;
					c->file_note_size = descsz;
				}
				break;
			default:
				break;
			}
		}
		if (rc < 0)
			return rc;
		if (desc_pad > len - desc_off)
			break;      /* the last note's padding may be missing */
		pos = desc_off + desc_pad;
	}
	if (bad)
		sw_rs_warn(c->as, "core: a note at offset %llu runs past its PT_NOTE segment: the "
			   "notes after it are ignored", (unsigned long long)(off + pos));
	return 0;
}

static int read_all_notes(struct core *c, uint64_t phoff, uint64_t phnum, const char *path)
{
	uint64_t notes_read = 0;
	for (uint64_t i = 0; i < phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, c->data + phoff + i * sizeof ph, sizeof ph);
		if (ph.p_type != PT_NOTE)
			continue;
		uint64_t len = ph.p_filesz;
		if (ph.p_offset >= c->size) {
			c->notes_cut += len ? len : 1;
			sw_rs_warn(c->as, "core truncated: its notes (offset %llu, %llu bytes) are missing: "
				   "no threads nor modules from them", (unsigned long long)ph.p_offset,
				   (unsigned long long)len);
			continue;
		}
		if (len > c->size - ph.p_offset) {
			c->notes_cut += len - (c->size - ph.p_offset);
			sw_rs_warn(c->as, "core truncated: %llu of %llu bytes of notes missing",
				   (unsigned long long)(len - (c->size - ph.p_offset)),
				   (unsigned long long)len);
			len = c->size - ph.p_offset;
		}
		/* PT_NOTE headers may all point at the same bytes: read no more
		 * notes than the file holds, so the work stays linear */
		if (len > c->size - notes_read) {
			sw_rs_warn(c->as, "core: its PT_NOTE segments overlap: the repeated notes are "
				   "ignored");
			break;
		}
		notes_read += len;
		int rc = read_notes(c, ph.p_offset, len);
		if (rc < 0) {
			sw_rs_error(c->opt, "%s: out of memory reading the notes", path);
			return rc;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ modules */

/* The build-id of the ELF image whose headers are at `base` in the core's
 * memory (the first page of a module mapped from file offset 0).  Returns
 * 1 (found: *out, *out_size), 0 (an ELF image without one, or its notes
 * are not in the core), -1 (the bytes at base are there and not ELF), -2
 * (nothing at base). */
static int mem_build_id(const struct core *c, uint64_t base, uint8_t out[40], size_t *out_size)
{
	uint8_t ehb[sizeof(Elf64_Ehdr)];
	if (mem_read(c, base, ehb, 4) != 0)
		return -2;
	if (memcmp(ehb, ELFMAG, SELFMAG) != 0)
		return -1;
	if (mem_read(c, base, ehb, sizeof ehb) != 0)
		return 0;
	Elf64_Ehdr eh;
	memcpy(&eh, ehb, sizeof eh);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > MOD_PHNUM_MAX || eh.e_phoff > (1u << 20))
		return 0;
	Elf64_Phdr ph[MOD_PHNUM_MAX];
	if (mem_read(c, base + eh.e_phoff, ph, eh.e_phnum * sizeof ph[0]) != 0)
		return 0;
	/* link-time address of the first byte: the PT_LOAD at offset 0 */
	uint64_t first = UINT64_MAX;
	for (unsigned i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
			first = ph[i].p_vaddr;
			break;
		}
	if (first == UINT64_MAX)
		return 0;
	uint64_t bias = base - first;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_NOTE)
			continue;
		uint8_t buf[NOTE_READ_MAX];
		uint64_t len = ph[i].p_memsz < sizeof buf ? ph[i].p_memsz : sizeof buf;
		if (len < 12 || mem_read(c, ph[i].p_vaddr + bias, buf, (size_t)len) != 0)
			continue;
		for (uint64_t pos = 0; len - pos >= 12;) {
			uint32_t namesz = rd32(buf + pos), descsz = rd32(buf + pos + 4);
			uint32_t type = rd32(buf + pos + 8);
			uint64_t name_pad = ((uint64_t)namesz + 3) & ~(uint64_t)3;
			uint64_t desc_pad = ((uint64_t)descsz + 3) & ~(uint64_t)3;
			if (name_pad > len - pos - 12 || desc_pad > len - pos - 12 - name_pad)
				break;
			const uint8_t *name = buf + pos + 12, *d = name + name_pad;
			if (type == NT_GNU_BUILD_ID && note_name_is(name, namesz, "GNU") &&
			    descsz > 0 && descsz <= 40) {
				memcpy(out, d, descsz);
				*out_size = descsz;
				return 1;
			}
			pos += 12 + name_pad + desc_pad;
		}
	}
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	const struct cmap *x = *(const struct cmap *const *)a, *y = *(const struct cmap *const *)b;
	size_t n = x->path_len < y->path_len ? x->path_len : y->path_len;
	int r = memcmp(x->path, y->path, n);
	if (r)
		return r;
	if (x->path_len != y->path_len)
		return x->path_len < y->path_len ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* NT_FILE: count, page size, count x (start, end, page offset), count
 * names.  Returns the number of modules' mappings added (>= 0) or
 * SW_ENOMEM. */
static int load_file_note(struct core *c)
{
	const uint8_t *d = c->file_note;
	uint64_t dsz = c->file_note_size;
	if (dsz < 16) {
		sw_rs_warn(c->as, "core: NT_FILE too short (%llu bytes)", (unsigned long long)dsz);
		return 0;
	}
	uint64_t count = rd64(d), page = rd64(d + 8);
	if (count == 0)
		return 0;
	if (count > (dsz - 16) / 24) {
		sw_rs_warn(c->as, "core: NT_FILE says %llu files, its %llu bytes hold fewer: ignored",
			   (unsigned long long)count, (unsigned long long)dsz);
		return 0;
	}
	if (page == 0 || (page & (page - 1)) || page > (1u << 30)) {
		sw_rs_warn(c->as, "core: NT_FILE page size %llu: ignored", (unsigned long long)page);
		return 0;
	}
	struct cmap *maps = calloc(count, sizeof *maps);
	struct cmap **order = calloc(count, sizeof *order);
	struct cfile *files = calloc(count, sizeof *files);
	if (!maps || !order || !files) {
		free(maps);
		free(order);
		free(files);
		return SW_ENOMEM;
	}
	/* the names follow the table, NUL-terminated, one per entry */
	uint64_t names = 16 + count * 24, pos = names;
	size_t n = 0;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *e = d + 16 + i * 24;
		if (pos >= dsz)
			break;
		const uint8_t *nul = memchr(d + pos, 0, (size_t)(dsz - pos));
		if (!nul)
			break;
		const char *name = (const char *)(d + pos);
		size_t len = (size_t)(nul - (d + pos));
		pos += len + 1;
		uint64_t start = rd64(e), end = rd64(e + 8), ofs = rd64(e + 16), pgoff;
		if (start >= end || __builtin_mul_overflow(ofs, page, &pgoff) || len == 0)
			continue;
		struct cmap *m = &maps[n++];
		m->start = start;
		m->end = end;
		m->pgoff = pgoff;
		m->path = name;
		m->path_len = len;
		static const char del[] = " (deleted)";
		if (len > sizeof del - 1 && memcmp(name + len - (sizeof del - 1), del, sizeof del - 1) == 0) {
			m->deleted = true;
			m->path_len = len - (sizeof del - 1);
		}
	}
	if (pos >= dsz && n < count && count > 0)
		sw_rs_warn(c->as, "core: NT_FILE names end early: %zu of %llu files read", n,
			   (unsigned long long)count);
	/* group the mappings by path: the facts of a file are found once */
	for (size_t i = 0; i < n; i++)
		order[i] = &maps[i];
	qsort(order, n, sizeof *order, cmp_path);
	for (size_t i = 0; i < n;) {
		size_t j = i, g = (size_t)(order[i] - maps);
		while (j < n && order[j]->path_len == order[i]->path_len &&
		       memcmp(order[j]->path, order[i]->path, order[i]->path_len) == 0) {
			struct cmap *m = order[j];
			m->group = g;
			if ((c->at_entry && c->at_entry >= m->start && c->at_entry < m->end) ||
			    (c->at_phdr && c->at_phdr >= m->start && c->at_phdr < m->end))
				files[g].flags |= SW_MOD_MAIN;
			j++;
		}
		/* the headers at the lowest mapping from offset 0 */
		for (size_t k = i; k < j; k++) {
			if (order[k]->pgoff != 0)
				continue;
			int r = mem_build_id(c, order[k]->start, files[g].build_id,
					     &files[g].build_id_size);
			if (r == -1)
				files[g].skip = true;   /* a data file (locale archive, ...) */
			break;
		}
		i = j;
	}
	int added = 0, rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct cmap *m = &maps[i];
		struct cfile *f = &files[m->group];
		if (f->skip)
			continue;
		char path[4096];
		if (m->path_len >= sizeof path)
			continue;
		memcpy(path, m->path, m->path_len);
		path[m->path_len] = 0;
		/* NULL: space.c opens the path, under the sysroot if any */
		const char *op = NULL;
		if ((f->flags & SW_MOD_MAIN) && c->opt->exe && *c->opt->exe)
			op = c->opt->exe;
		unsigned flags = f->flags | (m->deleted ? SW_MOD_DELETED : 0);
		rc = sw_rs_add_mapping(c->as, m->start, m->end, m->pgoff, path, op,
				       f->build_id_size ? f->build_id : NULL, f->build_id_size, flags);
		if (rc == SW_ENOMEM)
			break;
		if (rc == 0)
			added++;
		rc = 0;
	}
	free(maps);
	free(order);
	free(files);
	return rc < 0 ? rc : added;
}

/* The executable's path as the target named it, when the core has no
 * NT_FILE: AT_EXECFN's string in the core's memory, else opt->exe, else
 * PRPSINFO's short name. */
static const char *exe_path(const struct core *c, char *buf, size_t size)
{
	if (c->at_execfn && mem_string(c, c->at_execfn, buf, size) > 0)
		return buf;
	if (c->opt->exe && *c->opt->exe)
		return c->opt->exe;
	if (c->fname[0])
		return c->fname;
	return NULL;
}

static bool in_vdso(const struct core *c, uint64_t addr)
{
	if (!c->at_sysinfo_ehdr)
		return false;
	const struct cseg *s = find_seg(c, c->at_sysinfo_ehdr);
	return s && addr >= s->start && addr < s->end;
}

/* No usable NT_FILE: the modules from the dynamic linker's list in the
 * core's memory (r_debug through the executable's DT_DEBUG).  Returns the
 * modules added (>= 0) or SW_ENOMEM. */
static int load_link_map(struct core *c)
{
	char exe_buf[NAME_MAX_LEN], name[NAME_MAX_LEN];
	const char *exe = exe_path(c, exe_buf, sizeof exe_buf);
	int added = 0, rc;

	if (!c->at_phdr || c->at_phnum == 0) {
		sw_rs_warn(c->as, "core: no NT_FILE note and no AT_PHDR in NT_AUXV: no modules");
		return 0;
	}
	if (c->at_phnum > MOD_PHNUM_MAX) {
		sw_rs_warn(c->as, "core: no NT_FILE note, and the executable has %llu program "
			   "headers (at most %u are read): no modules",
			   (unsigned long long)c->at_phnum, MOD_PHNUM_MAX);
		return 0;
	}
	Elf64_Phdr ph[MOD_PHNUM_MAX];
	if (mem_read(c, c->at_phdr, ph, (size_t)c->at_phnum * sizeof ph[0]) != 0) {
		sw_rs_warn(c->as, "core: no NT_FILE note, and the executable's program headers "
			   "(AT_PHDR %#llx) are not in the core: no modules",
			   (unsigned long long)c->at_phdr);
		return 0;
	}
	/* the executable's load bias: AT_PHDR is where its PT_PHDR is */
	uint64_t bias = 0, dyn = 0, dynsz = 0;
	bool have_bias = false;
	for (unsigned i = 0; i < c->at_phnum; i++)
		if (ph[i].p_type == PT_PHDR) {
			bias = c->at_phdr - ph[i].p_vaddr;
			have_bias = true;
		}
	if (!have_bias) {
		/* no PT_PHDR: AT_PHDR = bias + p_vaddr of the PT_LOAD at offset
		 * 0 + e_phoff, which is 64 (right after the ELF header) in the
		 * output of every linker */
		for (unsigned i = 0; i < c->at_phnum; i++)
			if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
				bias = c->at_phdr - sizeof(Elf64_Ehdr) - ph[i].p_vaddr;
				break;
			}
	}
	for (unsigned i = 0; i < c->at_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC) {
			dyn = ph[i].p_vaddr + bias;
			dynsz = ph[i].p_memsz;
		}

	/* the executable itself: its name is "" in the link map */
	if (exe) {
		const char *op = c->opt->exe && *c->opt->exe ? c->opt->exe : NULL;
		/* its build-id from its headers in the core: the PT_LOAD at
		 * offset 0 starts with them */
		uint8_t id[40];
		size_t id_size = 0;
		for (unsigned i = 0; i < c->at_phnum; i++)
			if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) {
				if (mem_build_id(c, ph[i].p_vaddr + bias, id, &id_size) != 1)
					id_size = 0;
				break;
			}
		rc = sw_rs_add_file_module(c->as, bias, exe, op, id_size ? id : NULL, id_size,
					   SW_MOD_MAIN);
		if (rc == SW_ENOMEM)
			return rc;
		added += rc == 0;
	} else {
		sw_rs_warn(c->as, "core: the executable is not named (no NT_FILE, AT_EXECFN, "
			   "NT_PRPSINFO): pass its path as the exe option");
	}
	if (!dyn) {
		return added;      /* static: nothing else is loaded */
	}

	/* DT_DEBUG -> struct r_debug { int r_version; struct link_map *r_map; ... } */
	uint64_t r_debug = 0;
	for (uint64_t i = 0; i < dynsz / 16 && i < DYN_MAX; i++) {
		uint64_t e[2];
		if (mem_read(c, dyn + i * 16, e, 16) != 0)
			break;
		if (e[0] == DT_NULL)
			break;
		if (e[0] == DT_DEBUG) {
			r_debug = e[1];
			break;
		}
	}
	uint64_t lm = 0;
	if (!r_debug || mem_u64(c, r_debug + 8, &lm) != 0 || !lm) {
		sw_rs_warn(c->as, "core: no NT_FILE note and no dynamic linker list (DT_DEBUG "
			   "%#llx): only the executable is known", (unsigned long long)r_debug);
		return added;
	}
	/* struct link_map { l_addr; l_name; l_ld; l_next; l_prev }: bounded,
	 * and cycle-safe as the walk stops after LINK_MAP_MAX entries or
	 * when an entry's l_prev does not point back */
	uint64_t prev = 0;
	unsigned n;
	for (n = 0; lm && n < LINK_MAP_MAX; n++) {
		uint64_t e[5];
		if (mem_read(c, lm, e, sizeof e) != 0) {
			sw_rs_warn(c->as, "core: the dynamic linker's list breaks at %#llx (not in the "
				   "core)", (unsigned long long)lm);
			break;
		}
		if (n > 0 && e[4] != prev) {
			sw_rs_warn(c->as, "core: the dynamic linker's list is corrupt at %#llx",
				   (unsigned long long)lm);
			break;
		}
		long len = e[1] ? mem_string(c, e[1], name, sizeof name) : -1;
		/* the first entry (name "") is the executable, added above; the
		 * vDSO's entry (its l_ld inside it) is added from its image */
		if (n > 0 && len > 0 && !in_vdso(c, e[2]) && strncmp(name, "linux-vdso", 10) != 0 &&
		    strncmp(name, "linux-gate", 10) != 0) {
			/* a library's headers are at its bias (its first PT_LOAD
			 * is at 0 in every linker's output) */
			uint8_t id[40];
			size_t id_size = 0;
			if (mem_build_id(c, e[0], id, &id_size) != 1)
				id_size = 0;
			rc = sw_rs_add_file_module(c->as, e[0], name, NULL, id_size ? id : NULL, id_size, 0);
			if (rc == SW_ENOMEM)
				return rc;
			added += rc == 0;
		}
		prev = lm;
		lm = e[3];
	}
	if (n == LINK_MAP_MAX && lm)
		sw_rs_warn(c->as, "core: the dynamic linker's list has more than %u entries (a "
			   "loop?): the rest is ignored", LINK_MAP_MAX);
	return added;
}

/* The vDSO from AT_SYSINFO_EHDR: a copy of its image, as long as its
 * headers say (the section table is its end), read across segments; else
 * the bytes of its segment from its start.  Returns 0 or SW_ENOMEM. */
static int load_vdso(struct core *c)
{
	uint64_t base = c->at_sysinfo_ehdr;
	if (!base)
		return 0;
	const struct cseg *s = find_seg(c, base);
	Elf64_Ehdr eh;
	if (!s || mem_read(c, base, &eh, sizeof eh) != 0) {
		sw_rs_warn(c->as, "core: the vDSO (%#llx) is not in the core: its frames have no "
			   "unwind information", (unsigned long long)base);
		return 0;
	}
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
		sw_rs_warn(c->as, "core: no ELF image at the vDSO's address %#llx",
			   (unsigned long long)base);
		return 0;
	}
	/* its size: the end of its section table or of its last segment */
	uint64_t size = 0, first = 0;
	if (eh.e_shentsize == sizeof(Elf64_Shdr) && eh.e_shoff < VDSO_MAX &&
	    eh.e_shnum <= (VDSO_MAX - eh.e_shoff) / sizeof(Elf64_Shdr))
		size = eh.e_shoff + (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr);
	if (eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum <= MOD_PHNUM_MAX &&
	    eh.e_phoff < VDSO_MAX) {
		bool found = false;
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			if (mem_read(c, base + eh.e_phoff + i * sizeof ph, &ph, sizeof ph) != 0)
				break;
			if (ph.p_type != PT_LOAD)
				continue;
			/* the link-time address of its first byte (0 for Linux's) */
			if (!found && ph.p_offset == 0) {
				first = ph.p_vaddr;
				found = true;
			}
			if (ph.p_offset < VDSO_MAX && ph.p_filesz <= VDSO_MAX - ph.p_offset &&
			    ph.p_offset + ph.p_filesz > size)
				size = ph.p_offset + ph.p_filesz;
		}
	}
	uint64_t end = s->end;
	void *copy = NULL;
	if (size >= sizeof eh) {
		copy = malloc((size_t)size);
		if (!copy)
			return SW_ENOMEM;
		if (mem_read(c, base, copy, (size_t)size) != 0) {
			free(copy);
			copy = NULL;
		}
	}
	if (!copy) {
		/* headers that say more than the core holds: its segment's bytes */
		size = s->avail - (base - s->start);
		if (size > VDSO_MAX)
			size = VDSO_MAX;
		copy = malloc((size_t)size);
		if (!copy)
			return SW_ENOMEM;
		memcpy(copy, s->data + (base - s->start), (size_t)size);
	}
	if (base + size > end)
		end = base + size;
	int rc = sw_rs_add_image_module(c->as, base, end, base - first, "[vdso]", copy, (size_t)size,
					SW_MOD_VDSO);
	return rc == SW_ENOMEM ? rc : 0;
}

/* ------------------------------------------------------------ threads */

/* Hand the threads over, the faulting one (the first with a signal) first,
 * each named after the process (cores keep no per-thread comm). */
static int add_threads(struct core *c)
{
	size_t first = 0;
	/* the kernel writes the signal into every thread's pr_cursig: it
	 * belongs to the thread whose status the NT_SIGINFO followed */
	if (c->sig_thread)
		for (size_t i = 0; i < c->nthreads; i++)
			if (i != c->sig_thread - 1)
				c->threads[i].signal = 0;
	for (size_t i = 0; i < c->nthreads; i++)
		if (c->threads[i].signal) {
			first = i;
			break;
		}
	for (size_t k = 0; k < c->nthreads; k++) {
		size_t i = k == 0 ? first : (k <= first ? k - 1 : k);
		struct sw_as_thread *t = &c->threads[i];
		memcpy(t->name, c->fname, sizeof t->name);
		int rc = sw_rs_add_thread(c->as, t, NULL, 0, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------ entry */

int sw_as_open_core(const char *path, const struct sw_as_options *opt, sw_addr_space_t **out)
{
	struct sw_as_options o;
	memset(&o, 0, sizeof o);
	if (opt) {
		size_t n = opt->size && opt->size < sizeof o ? opt->size : sizeof o;
		memcpy(&o, opt, n);
		o.size = sizeof o;
	}
	if (out)
		*out = NULL;
	if (!path || !out) {
		sw_rs_error(&o, "sw_as_open_core: %s is NULL", path ? "out" : "path");
		return SW_EINVAL;
	}

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		sw_rs_error(&o, "%s: %s", path, strerror(errno));
		return SW_EIO;
	}
	struct core c;
	memset(&c, 0, sizeof c);
	c.opt = &o;
	uint8_t *buf = NULL;
	int rc = read_file(fd, path, &o, &buf, &c.size);
	close(fd);
	if (rc < 0)
		return rc;
	c.data = buf;

	uint64_t phoff = 0, phnum = 0;
	rc = check_header(&c, path, &phoff, &phnum);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	c.as = sw_rs_new(SW_AS_CORE, &o);
	if (!c.as) {
		free(buf);
		sw_rs_error(&o, "%s: out of memory", path);
		return SW_ENOMEM;
	}
	/* from here on the buffer is the address space's */
	if (sw_rs_own(c.as, buf) < 0) {
		rc = SW_ENOMEM;
		goto nomem;
	}
	rc = load_segments(&c, phoff, phnum);
	if (rc < 0)
		goto nomem;
	rc = read_all_notes(&c, phoff, phnum, path);
	if (rc < 0)
		goto fail;
	if (c.nthreads == 0) {
		if (c.notes_cut)
			sw_rs_error(&o, "%s: truncated core: %llu bytes of its notes (the threads' "
				    "registers) are beyond its end (%llu bytes): no thread", path,
				    (unsigned long long)c.notes_cut, (unsigned long long)c.size);
		else
			sw_rs_error(&o, "%s: no thread in the core (no usable NT_PRSTATUS note)", path);
		rc = SW_EBADELF;
		goto fail;
	}
	if (c.as->pid == 0)
		c.as->pid = c.threads[0].tid;      /* no NT_PRPSINFO */
	rc = add_threads(&c);
	if (rc < 0)
		goto nomem;
	int mods = 0;
	if (c.have_file_note) {
		mods = load_file_note(&c);
		if (mods < 0) {
			rc = mods;
			goto nomem;
		}
	}
	if (mods == 0) {
		/* no NT_FILE, or one without a single file module */
		mods = load_link_map(&c);
		if (mods < 0) {
			rc = mods;
			goto nomem;
		}
	}
	rc = load_vdso(&c);
	if (rc < 0)
		goto nomem;
	if (!(o.flags & SW_AS_NO_JIT))
		sw_rs_load_jit(c.as);
	rc = sw_rs_finish(c.as);
	if (rc < 0) {
		sw_rs_error(&o, "%s: nothing usable in the core (%s)", path, sw_strerror(rc));
		rc = SW_EBADELF;
		goto fail;
	}
	free(c.segs);
	free(c.threads);
	*out = c.as;
	return 0;

nomem:
	sw_rs_error(&o, "%s: out of memory", path);
	rc = SW_ENOMEM;
fail:
	free(c.segs);
	free(c.threads);
	sw_as_free(c.as);
	return rc;
}
