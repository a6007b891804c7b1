/*
 * Address spaces: what a walk of another process, a core file or a stack
 * snapshot reads (include/stackwalk/remote.h).
 *
 * An address space holds the target's threads (registers, copied stacks),
 * memory it keeps (a core's PT_LOAD segments), its modules and their ELF
 * files, and names from perf maps.  The constructors (ptrace.c, core.c,
 * sw_as_new here) fill it through the sw_rs_* functions; sw_rs_finish
 * sorts it; from then on every lookup is a binary search over arrays: no
 * allocation, no lock, no system call (except process_vm_readv for a live
 * process's memory outside the copies).
 *
 * Module files are parsed once per process of ours and shared by every
 * address space that maps them (a profiler sees the same libc in every
 * sample of every process): the cache is keyed by build-id when one is
 * known, else by the file's identity (device, inode, size, modification
 * time), and reference-counted; sw_as_cache_flush drops what no address
 * space uses.  Only construction takes the cache's lock.
 *
 * Addresses: a module's load bias maps link-time addresses (its file's)
 * to the target's.  Its CFI sections are searched with their target
 * addresses (section address + bias), so FDE ranges, LSDAs and
 * personality slots come out as target addresses, like the local sources'.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "arch/context.h"
#include "remote/remote.h"
#include "table/table.h"

/* ---------------------------------------------------------------- growth */

/* Make room for one more element of `size` bytes in *arr (count *n,
 * capacity *cap).  Returns 0 or SW_ENOMEM. */
static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p = reallocarray(*arr, ncap, size);
	if (!p)
		return SW_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

#define GROW(as, arr, n, cap) grow((void **)&(as)->arr, &(as)->cap, (as)->n, sizeof(*(as)->arr))

/* ---------------------------------------------------------------- the file cache */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sw_rfile **cache;          /* under cache_lock */
static size_t cache_n, cache_cap;

/* Fill the CFI fields of `rf` from its sections (or, without a section
 * table, its PT_GNU_EH_FRAME header). */
static void rf_index(struct sw_rfile *rf)
{
	struct sw_elf_section s;
	const uint8_t *id;
	size_t idlen;

	if (sw_elf_build_id(&rf->elf, &id, &idlen) == 0 && idlen <= sizeof(rf->build_id)) {
		memcpy(rf->build_id, id, idlen);
		rf->build_id_size = (uint32_t)idlen;
	}
	if (sw_elf_find_section(&rf->elf, ".eh_frame_hdr", &s) == 0 && s.data) {
		rf->hdr = s.data;
		rf->hdr_addr = s.addr;
		rf->hdr_size = s.size;
	} else {
		const Elf64_Phdr *ph;
		if (sw_elf_find_phdr(&rf->elf, PT_GNU_EH_FRAME, &ph) == 0 &&
		    (rf->hdr = sw_elf_bytes(&rf->elf, ph->p_offset, ph->p_filesz))) {
			rf->hdr_addr = ph->p_vaddr;
			rf->hdr_size = ph->p_filesz;
		}
	}
	if (sw_elf_find_section(&rf->elf, ".eh_frame", &s) == 0 && s.data) {
		rf->eh = s.data;
		rf->eh_addr = s.addr;
		rf->eh_size = s.size;
	} else if (rf->hdr) {
		/* no section table: .eh_frame runs from the header's pointer to
		 * the end of its segment */
		struct sw_eh_hdr h;
		if (sw_eh_hdr_parse(&h, rf->hdr, rf->hdr_size, rf->hdr_addr, NULL) == 0) {
			for (size_t i = 0; i < rf->elf.phnum; i++) {
				const Elf64_Phdr *p = &rf->elf.phdrs[i];
				if (p->p_type != PT_LOAD || h.eh_frame_ptr < p->p_vaddr ||
				    h.eh_frame_ptr >= p->p_vaddr + p->p_filesz)
					continue;
				uint64_t off = h.eh_frame_ptr - p->p_vaddr;
				rf->eh = sw_elf_bytes(&rf->elf, p->p_offset + off, p->p_filesz - off);
				if (rf->eh) {
					rf->eh_addr = h.eh_frame_ptr;
					rf->eh_size = p->p_filesz - off;
				}
				break;
			}
		}
	}
	if (!rf->eh)
		rf->hdr = NULL;     /* a header without its section is no use */
	if (sw_elf_find_section(&rf->elf, ".debug_frame", &s) == 0 && s.data &&
	    !(s.flags & SHF_COMPRESSED)) {
		rf->dbg = s.data;
		rf->dbg_size = s.size;
	}
}

static void rf_free(struct sw_rfile *rf)
{
	if (!rf)
		return;
	if (rf->table)
		sw_table_free(rf->table);
	sw_elf_close(&rf->elf);
	free(rf->image);
	free(rf->key);
	free(rf);
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* The cached file for `open_path` (expected build-id `id`, may be NULL),
 * opened and parsed on a miss; a reference is taken.  NULL with *why set
 * when it cannot be opened or has another build-id. */
static struct sw_rfile *rf_get(const char *open_path, const uint8_t *id, size_t idlen,
			       const char **why)
{
	char idkey[2 * 40 + 4], statkey[96];
	struct stat st;
	struct sw_rfile *rf = NULL;

	*why = NULL;
	if (idlen > 40)
		idlen = 40;
	idkey[0] = '\0';
	if (id && idlen) {
		idkey[0] = 'b';
		hex(idkey + 1, id, idlen);
	}
	if (stat(open_path, &st) != 0) {
		*why = strerror(errno);
		return NULL;
	}
	snprintf(statkey, sizeof(statkey), "f%llx:%llx:%llx:%lld.%09ld",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 (long)st.st_mtim.tv_nsec);
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < cache_n; i++) {
		const char *k = cache[i]->key;
		if ((idkey[0] && strcmp(k, idkey) == 0) || strcmp(k + strlen(k) + 1, statkey) == 0) {
			rf = cache[i];
			break;
		}
	}
	if (rf && idkey[0] && (rf->build_id_size != idlen || memcmp(rf->build_id, id, idlen)))
		rf = NULL;          /* same file identity, another build-id expected */
	if (rf) {
		rf->refs++;
		pthread_mutex_unlock(&cache_lock);
		return rf;
	}
	pthread_mutex_unlock(&cache_lock);

	rf = calloc(1, sizeof(*rf));
	if (!rf) {
		*why = "out of memory";
		return NULL;
	}
	int rc = sw_elf_open_file(&rf->elf, open_path);
	if (rc < 0) {
		*why = sw_strerror(rc);
		free(rf);
		return NULL;
	}
	rf_index(rf);
	if (idkey[0] && (rf->build_id_size != idlen || memcmp(rf->build_id, id, idlen))) {
		*why = "the file's build-id is not the one the target recorded";
		rf_free(rf);
		return NULL;
	}
	/* key: "b<build-id>" or "", NUL, the stat identity */
	char bkey[2 * 40 + 4] = "";
	if (rf->build_id_size) {
		bkey[0] = 'b';
		hex(bkey + 1, rf->build_id, rf->build_id_size);
	}
	size_t l1 = strlen(bkey), l2 = strlen(statkey);
	rf->key = malloc(l1 + l2 + 2);
	if (!rf->key) {
		rf_free(rf);
		*why = "out of memory";
		return NULL;
	}
	memcpy(rf->key, bkey, l1 + 1);
	memcpy(rf->key + l1 + 1, statkey, l2 + 1);
	rf->refs = 1;
	rf->cached = true;
	pthread_mutex_lock(&cache_lock);
	if (grow((void **)&cache, &cache_cap, cache_n, sizeof(*cache)) == 0) {
		cache[cache_n++] = rf;
	} else {
		rf->cached = false;     /* owned by the module alone */
	}
	pthread_mutex_unlock(&cache_lock);
	return rf;
}

static void rf_put(struct sw_rfile *rf)
{
	if (!rf)
		return;
	if (!rf->cached) {
		rf_free(rf);
		return;
	}
	pthread_mutex_lock(&cache_lock);
	rf->refs--;
	pthread_mutex_unlock(&cache_lock);
}

int sw_as_cache_flush(void)
{
	int n = 0;

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < cache_n;) {
		if (cache[i]->refs == 0) {
			rf_free(cache[i]);
			cache[i] = cache[--cache_n];
			n++;
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	return n;
}

/* Bytes at link-time address `link` of a file's read-only contents (a
 * PT_LOAD without PF_W; an image without program headers: an allocated,
 * non-writable section), or NULL. */
static const uint8_t *rf_bytes(const struct sw_rfile *rf, uint64_t link, uint64_t size)
{
	const struct sw_elf *e = &rf->elf;

	for (size_t i = 0; i < e->phnum; i++) {
		const Elf64_Phdr *p = &e->phdrs[i];
		if (p->p_type != PT_LOAD || (p->p_flags & PF_W) || link < p->p_vaddr ||
		    link - p->p_vaddr >= p->p_filesz || size > p->p_filesz - (link - p->p_vaddr))
			continue;
		return sw_elf_bytes(e, p->p_offset + (link - p->p_vaddr), size);
	}
	if (e->phnum)
		return NULL;
	for (unsigned i = 0; i < e->shnum; i++) {
		struct sw_elf_section s;
		if (sw_elf_section(e, i, &s) < 0 || !s.data || !(s.flags & SHF_ALLOC) ||
		    (s.flags & SHF_WRITE) || link < s.addr || link - s.addr >= s.size ||
		    size > s.size - (link - s.addr))
			continue;
		return s.data + (link - s.addr);
	}
	return NULL;
}

/* ---------------------------------------------------------------- parsing */

bool sw_rs_parse_hex(const char **p, uint64_t *out)
{
	const char *s = *p, *digits;
	uint64_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (digits = s;; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (v >> 60)
			return false;   /* more than 64 bits */
		v = v << 4 | d;
	}
	if (s == digits)
		return false;
	*p = s;
	*out = v;
	return true;
}

/* ---------------------------------------------------------------- messages */

void sw_rs_warn(struct sw_addr_space *as, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (as->warn_len >= 65536)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = strnlen(line, sizeof(line) - 1);
	if (as->warn_len + len + 64 >= 65536) {
		snprintf(line, sizeof(line), "(more warnings left out)");
		len = strlen(line);
	}
	if (as->warn_len + len + 2 > as->warn_cap) {
		size_t ncap = as->warn_cap ? as->warn_cap * 2 : 1024;
		while (ncap < as->warn_len + len + 2)
			ncap *= 2;
		char *p = realloc(as->warn, ncap);
		if (!p)
			return;
		as->warn = p;
		as->warn_cap = ncap;
	}
	memcpy(as->warn + as->warn_len, line, len);
	as->warn_len += len;
	as->warn[as->warn_len++] = '\n';
	as->warn[as->warn_len] = '\0';
	if (as->warn_len + 64 >= 65536)
		as->warn_len = 65536;   /* stop: the last line said so */
}

void sw_rs_error(const struct sw_as_options *opt, const char *fmt, ...)
{
	va_list ap;

	if (!opt || !opt->errbuf || !opt->errsize)
		return;
	va_start(ap, fmt);
	vsnprintf(opt->errbuf, opt->errsize, fmt, ap);
	va_end(ap);
}

const char *sw_as_warnings(const sw_addr_space_t *as)
{
	return as && as->warn ? as->warn : "";
}

/* ---------------------------------------------------------------- construction */

static int remote_read(const struct sw_remote *r, uint64_t addr, void *buf, size_t size);
static int remote_find_fde(const struct sw_remote *r, uint64_t pc, struct sw_fde_info *info);
static int remote_table_rule(const struct sw_remote *r, uint64_t pc, struct sw_compiled *rule,
			     uint64_t *end);
static int remote_module_range(const struct sw_remote *r, uint64_t pc, uint64_t *start,
			       uint64_t *end);
static int remote_name(const struct sw_remote *r, uint64_t pc, char *buf, size_t size,
		       uint64_t *offset);

struct sw_addr_space *sw_rs_new(int kind, const struct sw_as_options *opt)
{
	struct sw_addr_space *as = calloc(1, sizeof(*as));

	if (!as)
		return NULL;
	/* 4096 rules (128 KiB): a profile's hot return addresses */
	as->cache.bits = 12;
	as->cache.slots = calloc((size_t)1 << as->cache.bits, 32);
	as->cache.gen = 1;
	if (as->cache.slots)
		as->ops.cache = &as->cache;
	as->ops.read = remote_read;
	as->ops.find_fde = remote_find_fde;
	as->ops.module_range = remote_module_range;
	as->ops.table_rule = remote_table_rule;
	as->ops.name = remote_name;
	as->kind = kind;
	if (opt) {
		as->flags = opt->flags;
		if (opt->sysroot)
			snprintf(as->sysroot, sizeof(as->sysroot), "%s", opt->sysroot);
	}
	return as;
}

int sw_rs_own(struct sw_addr_space *as, void *p)
{
	if (GROW(as, owned, nowned, cap_owned) < 0) {
		free(p);
		return SW_ENOMEM;
	}
	as->owned[as->nowned++] = p;
	return 0;
}

int sw_rs_add_thread(struct sw_addr_space *as, const struct sw_as_thread *t, uint8_t *stack,
		     uint64_t stack_lo, size_t stack_size)
{
	if (GROW(as, threads, nthreads, cap_threads) < 0) {
		free(stack);
		return SW_ENOMEM;
	}
	struct sw_rthread *th = &as->threads[as->nthreads++];
	memset(th, 0, sizeof(*th));
	th->pub = *t;
	th->stack = stack;
	th->stack_lo = stack_lo;
	th->stack_size = stack ? stack_size : 0;
	return 0;
}

int sw_rs_add_segment(struct sw_addr_space *as, uint64_t start, uint64_t end,
		      const uint8_t *data, uint64_t avail)
{
	if (end <= start)
		return 0;
	if (GROW(as, segs, nsegs, cap_segs) < 0)
		return SW_ENOMEM;
	if (avail > end - start)
		avail = end - start;
	/* kept sorted as they come (a core's are in address order already):
	 * the readers of the target's structures (jit.c, core.c) read
	 * through sw_as_read before sw_rs_finish */
	size_t i = as->nsegs;
	while (i > 0 && as->segs[i - 1].start > start)
		i--;
	memmove(&as->segs[i + 1], &as->segs[i], (as->nsegs - i) * sizeof(*as->segs));
	as->segs[i] = (struct sw_rseg){ start, end, data, data ? avail : 0 };
	as->nsegs++;
	return 0;
}

int sw_rs_add_name(struct sw_addr_space *as, uint64_t start, uint64_t size, const char *name)
{
	char *copy;

	if (!size || start + size < start)
		return 0;
	if (GROW(as, names, nnames, cap_names) < 0 || !(copy = strdup(name)))
		return SW_ENOMEM;
	as->names[as->nnames] = (struct sw_rname){ start, size, copy, as->nnames };
	as->nnames++;
	return 0;
}

static void module_free(struct sw_rmodule *m)
{
	rf_put(m->rf);
	free(m->path);
	free(m->file);
	memset(m, 0, sizeof(*m));
}

/* Fill the module's public view and its .eh_frame_hdr at its bias. */
static void module_publish(struct sw_rmodule *m)
{
	m->pub.path = m->path;
	m->pub.file = m->file;
	m->has_hdr = false;
	if (m->rf) {
		memcpy(m->pub.build_id, m->rf->build_id, m->rf->build_id_size);
		m->pub.build_id_size = m->rf->build_id_size;
		if (!m->rf->eh && !m->rf->dbg)
			m->pub.flags |= SW_MOD_NO_CFI;
		if (m->rf->hdr &&
		    sw_eh_hdr_parse(&m->hdr, m->rf->hdr, m->rf->hdr_size, m->rf->hdr_addr + m->pub.bias,
				    NULL) == 0 && m->hdr.fde_count)
			m->has_hdr = true;
	}
}

/* The load bias of a mapping of `rf` at `start` from file offset `pgoff`:
 * through the PT_LOAD that holds pgoff. */
static uint64_t mapping_bias(const struct sw_rfile *rf, uint64_t start, uint64_t pgoff)
{
	for (size_t i = 0; rf && i < rf->elf.phnum; i++) {
		const Elf64_Phdr *p = &rf->elf.phdrs[i];
		uint64_t lo = p->p_offset & ~(uint64_t)0xfff;
		if (p->p_type == PT_LOAD && pgoff >= lo && pgoff < p->p_offset + p->p_filesz)
			return start - (pgoff - p->p_offset + p->p_vaddr);
	}
	return start - pgoff;
}

/* A new module slot (zeroed), or NULL. */
static struct sw_rmodule *module_slot(struct sw_addr_space *as)
{
	if (GROW(as, mods, nmods, cap_mods) < 0)
		return NULL;
	struct sw_rmodule *m = &as->mods[as->nmods++];
	memset(m, 0, sizeof(*m));
	return m;
}

/* Open `path` for a module: the sysroot's copy first for a core, then
 * `open_path` or `path`.  Sets m->file and m->rf, or warns and flags the
 * module SW_MOD_NO_FILE. */
static void module_open(struct sw_addr_space *as, struct sw_rmodule *m, const char *path,
			const char *open_path, const uint8_t *id, size_t idlen)
{
	char buf[4096 + 256];
	const char *why = NULL, *use = open_path ? open_path : path;

	if (!open_path && as->sysroot[0] && path[0] == '/') {
		snprintf(buf, sizeof(buf), "%s%s", as->sysroot, path);
		use = buf;
	}
	m->rf = rf_get(use, id, idlen, &why);
	if (m->rf) {
		m->file = strdup(use);
		if (!m->file) {
			rf_put(m->rf);
			m->rf = NULL;
		}
	}
	if (!m->rf) {
		m->pub.flags |= SW_MOD_NO_FILE;
		sw_rs_warn(as, "%s: cannot use %s: %s", path, use, why ? why : "out of memory");
	}
}

static int add_mapping(struct sw_addr_space *as, uint64_t start, uint64_t end, uint64_t pgoff,
		       const char *path, const char *open_path, const uint8_t *build_id,
		       size_t build_id_size, unsigned flags, bool merge)
{
	if (!path || end <= start)
		return SW_EINVAL;
	/* another mapping of the module added last */
	if (merge && as->nmods) {
		struct sw_rmodule *last = &as->mods[as->nmods - 1];
		if (!(last->pub.flags & (SW_MOD_VDSO | SW_MOD_JIT)) && strcmp(last->path, path) == 0 &&
		    start >= last->pub.start && pgoff >= last->first_pgoff) {
			if (end > last->pub.end)
				last->pub.end = end;
			last->pub.flags |= flags & SW_MOD_MAIN;
			return 0;
		}
	}
	struct sw_rmodule *m = module_slot(as);
	if (!m)
		return SW_ENOMEM;
	m->path = strdup(path);
	if (!m->path) {
		as->nmods--;
		return SW_ENOMEM;
	}
	m->pub.start = start;
	m->pub.end = end;
	m->pub.flags = flags & (SW_MOD_MAIN | SW_MOD_DELETED);
	m->first_pgoff = pgoff;
	module_open(as, m, path, open_path, build_id, build_id_size);
	m->pub.bias = mapping_bias(m->rf, start, pgoff);
	if (!m->rf && build_id && build_id_size && build_id_size <= sizeof(m->pub.build_id)) {
		memcpy(m->pub.build_id, build_id, build_id_size);
		m->pub.build_id_size = (uint32_t)build_id_size;
	}
	module_publish(m);
	return 0;
}

int sw_rs_add_mapping(struct sw_addr_space *as, uint64_t start, uint64_t end, uint64_t pgoff,
		      const char *path, const char *open_path, const uint8_t *build_id,
		      size_t build_id_size, unsigned flags)
{
	return add_mapping(as, start, end, pgoff, path, open_path, build_id, build_id_size, flags,
			   true);
}

int sw_rs_add_file_module(struct sw_addr_space *as, uint64_t bias, const char *path,
			  const char *open_path, const uint8_t *build_id, size_t build_id_size,
			  unsigned flags)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	if (!path)
		return SW_EINVAL;
	struct sw_rmodule *m = module_slot(as);
	if (!m)
		return SW_ENOMEM;
	m->path = strdup(path);
	if (!m->path) {
		as->nmods--;
		return SW_ENOMEM;
	}
	m->pub.flags = flags & (SW_MOD_MAIN | SW_MOD_DELETED);
	module_open(as, m, path, open_path, build_id, build_id_size);
	for (size_t i = 0; m->rf && i < m->rf->elf.phnum; i++) {
		const Elf64_Phdr *p = &m->rf->elf.phdrs[i];
		if (p->p_type != PT_LOAD || p->p_vaddr + p->p_memsz < p->p_vaddr)
			continue;
		if (p->p_vaddr < lo)
			lo = p->p_vaddr;
		if (p->p_vaddr + p->p_memsz > hi)
			hi = p->p_vaddr + p->p_memsz;
	}
	if (lo >= hi || lo + bias < lo || hi + bias < hi) {
		if (m->rf)
			sw_rs_warn(as, "%s: no loadable segment", path);
		module_free(m);
		as->nmods--;
		return SW_EINVAL;
	}
	m->pub.start = lo + bias;
	m->pub.end = hi + bias;
	m->pub.bias = bias;
	module_publish(m);
	return 0;
}

int sw_rs_add_image_module(struct sw_addr_space *as, uint64_t start, uint64_t end, uint64_t bias,
			   const char *name, void *image, size_t size, unsigned flags)
{
	struct sw_rfile *rf = calloc(1, sizeof(*rf));
	int rc;

	if (!rf) {
		free(image);
		return SW_ENOMEM;
	}
	rf->image = image;
	if ((rc = sw_elf_open_mem(&rf->elf, image, size)) < 0) {
		sw_rs_warn(as, "%s: not a usable ELF image: %s", name, sw_strerror(rc));
		rf_free(rf);
		return SW_EINVAL;
	}
	rf_index(rf);
	if (start == 0 && end == 0) {
		uint64_t lo = UINT64_MAX, hi = 0;
		for (unsigned i = 0; i < rf->elf.shnum; i++) {
			struct sw_elf_section s;
			if (sw_elf_section(&rf->elf, i, &s) < 0 || !(s.flags & SHF_EXECINSTR) ||
			    !(s.flags & SHF_ALLOC) || !s.addr || !s.size || s.addr + s.size < s.addr)
				continue;
			if (s.addr < lo)
				lo = s.addr;
			if (s.addr + s.size > hi)
				hi = s.addr + s.size;
		}
		if (lo >= hi) {
			sw_rs_warn(as, "%s: no executable section", name);
			rf_free(rf);
			return SW_EINVAL;
		}
		start = lo + bias;
		end = hi + bias;
	}
	struct sw_rmodule *m = module_slot(as);
	if (!m || !(m->path = strdup(name))) {
		if (m)
			as->nmods--;
		rf_free(rf);
		return SW_ENOMEM;
	}
	m->rf = rf;
	m->pub.start = start;
	m->pub.end = end;
	m->pub.bias = bias;
	m->pub.flags = flags & (SW_MOD_VDSO | SW_MOD_JIT);
	module_publish(m);
	return 0;
}

static int cmp_mod(const void *a, const void *b)
{
	const struct sw_rmodule *x = a, *y = b;

	return x->pub.start < y->pub.start ? -1 : x->pub.start > y->pub.start;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct sw_rseg *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int cmp_name(const void *a, const void *b)
{
	const struct sw_rname *x = a, *y = b;

	/* equal starts in the order they came: the lookup takes the last,
	 * as perf lets a later line of a perf map win */
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sort the modules and drop the ones overlapping an earlier one (a JIT
 * object inside a file's range loses to... the JIT object: code published
 * at run time is what runs there now). */
static void sort_modules(struct sw_addr_space *as)
{
	size_t k = 0;

	if (as->nmods)
		qsort(as->mods, as->nmods, sizeof(*as->mods), cmp_mod);
	for (size_t i = 0; i < as->nmods; i++) {
		struct sw_rmodule *m = &as->mods[i];
		if (k && m->pub.start < as->mods[k - 1].pub.end) {
			struct sw_rmodule *prev = &as->mods[k - 1];
			bool keep_new = (m->pub.flags & SW_MOD_JIT) && !(prev->pub.flags & SW_MOD_JIT);
			sw_rs_warn(as, "%s [0x%llx, 0x%llx) overlaps %s: left out",
				   keep_new ? prev->path : m->path,
				   (unsigned long long)(keep_new ? prev : m)->pub.start,
				   (unsigned long long)(keep_new ? prev : m)->pub.end,
				   keep_new ? m->path : prev->path);
			if (keep_new) {
				module_free(prev);
				*prev = *m;
			} else {
				module_free(m);
			}
			continue;
		}
		if (k != i)
			as->mods[k] = *m;
		k++;
	}
	as->nmods = k;
	/* the moves changed where the strings' owners live: republish */
	for (size_t i = 0; i < as->nmods; i++)
		module_publish(&as->mods[i]);
}

int sw_rs_finish(struct sw_addr_space *as)
{
	sort_modules(as);
	if (as->nsegs)
		qsort(as->segs, as->nsegs, sizeof(*as->segs), cmp_seg);
	if (as->nnames)
		qsort(as->names, as->nnames, sizeof(*as->names), cmp_name);
	if (as->kind != SW_AS_SNAPSHOT && as->nthreads == 0)
		return SW_EINVAL;
	return 0;
}

struct symbol_find {
	const char *name;
	uint64_t value;
	bool found;
};

static int symbol_match(void *arg, const struct sw_elf_sym *s)
{
	struct symbol_find *f = arg;

	if (s->shndx != SHN_UNDEF && strcmp(s->name, f->name) == 0) {
		f->value = s->value;
		f->found = true;
		return 1;
	}
	return 0;
}

int sw_rs_symbol_addr(const struct sw_addr_space *as, const char *name, uint64_t *addr)
{
	struct symbol_find f = { name, 0, false };

	for (size_t i = 0; i < as->nmods; i++) {
		const struct sw_rmodule *m = &as->mods[i];
		if (!m->rf)
			continue;
		for (unsigned k = 0; k < m->rf->elf.shnum; k++) {
			struct sw_elf_section s;
			if (sw_elf_section(&m->rf->elf, k, &s) < 0 ||
			    (s.type != SHT_DYNSYM && s.type != SHT_SYMTAB))
				continue;
			sw_elf_foreach_sym(&m->rf->elf, k, symbol_match, &f);
			if (f.found) {
				*addr = f.value + m->pub.bias;
				return 0;
			}
		}
	}
	return SW_ENOTFOUND;
}

/* ---------------------------------------------------------------- snapshots */

int sw_as_new(const struct sw_as_options *opt, sw_addr_space_t **out)
{
	if (!out)
		return SW_EINVAL;
	*out = sw_rs_new(SW_AS_SNAPSHOT, opt);
	return *out ? 0 : SW_ENOMEM;
}

/* The modules changed: the rules cached from the old ones are void. */
static void cache_invalidate(struct sw_addr_space *as)
{
	uint32_t g = __atomic_load_n(&as->cache.gen, __ATOMIC_RELAXED) + 1;

	__atomic_store_n(&as->cache.gen, g ? g : 1, __ATOMIC_RELEASE);
}

int sw_as_remove_modules(sw_addr_space_t *as, uint64_t start, uint64_t end)
{
	size_t k = 0;
	int n = 0;

	if (!as || as->kind != SW_AS_SNAPSHOT)
		return 0;
	cache_invalidate(as);
	for (size_t i = 0; i < as->nmods; i++) {
		struct sw_rmodule *m = &as->mods[i];
		if (m->pub.start < end && start < m->pub.end) {
			module_free(m);
			n++;
			continue;
		}
		if (k != i)
			as->mods[k] = *m;
		k++;
	}
	as->nmods = k;
	for (size_t i = 0; i < as->nmods; i++)
		module_publish(&as->mods[i]);
	k = 0;
	for (size_t i = 0; i < as->nnames; i++) {
		struct sw_rname *nm = &as->names[i];
		if (nm->start < end && start < nm->start + nm->size) {
			free(nm->name);
			continue;
		}
		as->names[k++] = *nm;
	}
	as->nnames = k;
	return n;
}

int sw_as_load_perf_map(sw_addr_space_t *as, const char *path)
{
	if (!as || !path || as->kind != SW_AS_SNAPSHOT)
		return SW_EINVAL;
	int n = sw_rs_load_perf_map(as, path);
	if (as->nnames)
		qsort(as->names, as->nnames, sizeof(*as->names), cmp_name);
	return n;
}

int sw_as_add_module(sw_addr_space_t *as, uint64_t start, uint64_t end, uint64_t pgoff,
		     const char *path, const uint8_t *build_id, size_t build_id_size)
{
	if (!as || as->kind != SW_AS_SNAPSHOT || !path || end <= start)
		return SW_EINVAL;
	cache_invalidate(as);
	/* another mapping of a module already there (same path, adjacent) */
	for (size_t i = 0; i < as->nmods; i++) {
		struct sw_rmodule *m = &as->mods[i];
		if (strcmp(m->path, path) == 0 && start >= m->pub.end && start - m->pub.end < (1u << 24) &&
		    (i + 1 == as->nmods || end <= as->mods[i + 1].pub.start) && pgoff >= m->first_pgoff) {
			m->pub.end = end;
			return 0;
		}
	}
	sw_as_remove_modules(as, start, end);
	size_t before = as->nmods;
	int rc = add_mapping(as, start, end, pgoff, path, NULL, build_id, build_id_size, 0, false);
	if (rc < 0)
		return rc;
	if (as->nmods != before) {
		/* keep the array sorted: move the new module into place */
		struct sw_rmodule m = as->mods[as->nmods - 1];
		size_t i = as->nmods - 1;
		while (i > 0 && as->mods[i - 1].pub.start > m.pub.start) {
			as->mods[i] = as->mods[i - 1];
			i--;
		}
		as->mods[i] = m;
		for (size_t j = 0; j < as->nmods; j++)
			module_publish(&as->mods[j]);
	}
	return 0;
}

void sw_as_free(sw_addr_space_t *as)
{
	if (!as)
		return;
	for (size_t i = 0; i < as->nthreads; i++)
		free(as->threads[i].stack);
	for (size_t i = 0; i < as->nmods; i++)
		module_free(&as->mods[i]);
	for (size_t i = 0; i < as->nnames; i++)
		free(as->names[i].name);
	for (size_t i = 0; i < as->nowned; i++)
		free(as->owned[i]);
	free(as->threads);
	free(as->mods);
	free(as->segs);
	free(as->names);
	free(as->owned);
	free(as->warn);
	free(as->cache.slots);
	free(as);
}

/* ---------------------------------------------------------------- lookups */

size_t sw_rs_upper_bound(const void *base, size_t n, size_t size, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t start;
		memcpy(&start, (const uint8_t *)base + mid * size, sizeof(start));
		if (start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

_Static_assert(offsetof(struct sw_rmodule, pub.start) == 0, "sw_rs_upper_bound's key");
_Static_assert(offsetof(struct sw_rseg, start) == 0, "sw_rs_upper_bound's key");
_Static_assert(offsetof(struct sw_rname, start) == 0, "sw_rs_upper_bound's key");

static const struct sw_rmodule *find_module(const struct sw_addr_space *as, uint64_t addr)
{
	size_t k = sw_rs_upper_bound(as->mods, as->nmods, sizeof(*as->mods), addr);

	return k && addr < as->mods[k - 1].pub.end ? &as->mods[k - 1] : NULL;
}

static const struct sw_rseg *find_seg(const struct sw_addr_space *as, uint64_t addr)
{
	size_t k = sw_rs_upper_bound(as->segs, as->nsegs, sizeof(*as->segs), addr);

	return k && addr < as->segs[k - 1].end ? &as->segs[k - 1] : NULL;
}

/* The target's memory apart from the copied stacks. */
static int read_target(const struct sw_addr_space *as, uint64_t addr, void *buf, size_t size)
{
	const struct sw_rseg *s;
	const struct sw_rmodule *m;

	if (size == 0)
		return 0;
	if (addr + size < addr)
		return SW_EMEMORY;
	if ((s = find_seg(as, addr))) {
		uint64_t off = addr - s->start;
		if (off < s->avail && size <= s->avail - off) {
			memcpy(buf, s->data + off, size);
			return 0;
		}
		/* in the core but not dumped (or cut off): a file's read-only
		 * contents may still have it */
	}
	if (as->live && as->pid > 0) {
		struct iovec local = { buf, size };
		struct iovec remote = { (void *)(uintptr_t)addr, size };
		if (process_vm_readv(as->mem_pid > 0 ? as->mem_pid : as->pid, &local, 1, &remote, 1, 0) ==
		    (ssize_t)size)
			return 0;
	}
	if ((m = find_module(as, addr)) && m->rf) {
		const uint8_t *p = rf_bytes(m->rf, addr - m->pub.bias, size);
		if (p) {
			memcpy(buf, p, size);
			return 0;
		}
	}
	return SW_EMEMORY;
}

int sw_as_read(const sw_addr_space_t *as, uint64_t addr, void *buf, size_t size)
{
	if (!as || (!buf && size))
		return SW_EINVAL;
	if (as->cb)         /* callbacks.c: the caller's memory */
		return as->ops.read(&as->ops, addr, buf, size);
	for (size_t i = 0; i < as->nthreads; i++) {
		const struct sw_rthread *t = &as->threads[i];
		if (t->stack && addr >= t->stack_lo && addr - t->stack_lo < t->stack_size &&
		    size <= t->stack_size - (addr - t->stack_lo)) {
			memcpy(buf, t->stack + (addr - t->stack_lo), size);
			return 0;
		}
	}
	return read_target(as, addr, buf, size);
}

static const struct sw_addr_space *space_of(const struct sw_remote *r)
{
	return (const struct sw_addr_space *)(const void *)r;   /* ops is the first member */
}

static int remote_read(const struct sw_remote *r, uint64_t addr, void *buf, size_t size)
{
	return read_target(space_of(r), addr, buf, size);
}

static int remote_find_fde(const struct sw_remote *r, uint64_t pc, struct sw_fde_info *info)
{
	const struct sw_rmodule *m = find_module(space_of(r), pc);
	const struct sw_rfile *rf;
	int rc = SW_ENOTFOUND;

	if (!m || !(rf = m->rf))
		return SW_ENOTFOUND;
	memset(&info->held, 0, sizeof(info->held));
	info->from = NULL;
	info->module_base = m->pub.bias;
	if (rf->eh) {
		sw_cfi_section_init(&info->sec, rf->eh, rf->eh_size, rf->eh_addr + m->pub.bias, true,
				    ".eh_frame");
		if (m->has_hdr) {
			info->source = SW_SRC_EH_FRAME_HDR;
			rc = sw_cfi_find_fde_hdr(&m->hdr, &info->sec, pc, &info->fde, &info->cie, NULL);
		} else {
			info->source = SW_SRC_EH_FRAME;
			rc = sw_cfi_find_fde_linear(&info->sec, pc, &info->fde, &info->cie, NULL);
		}
		if (rc != SW_ENOTFOUND) {
			if (m->pub.flags & SW_MOD_JIT)
				info->source = SW_SRC_JIT;
			return rc;
		}
	}
	if (rf->dbg) {
		/* .debug_frame holds link-time addresses */
		sw_cfi_section_init(&info->sec, rf->dbg, rf->dbg_size, 0, false, ".debug_frame");
		info->source = SW_SRC_DEBUG_FRAME;
		rc = sw_cfi_find_fde_linear(&info->sec, pc - m->pub.bias, &info->fde, &info->cie, NULL);
		if (rc == 0) {
			info->fde.pc_begin += m->pub.bias;
			info->fde.pc_end += m->pub.bias;
		}
	}
	return rc;
}

/* The file's compact table, built by the caller that counts its
 * sw_table_threshold-th miss (table.h; the others, meanwhile, are told
 * there is none and interpret the CFI), or NULL: one `stackwalk stack`
 * interprets the few FDEs it needs, `stackwalk perf` over many samples
 * gets the tables. */
/* (not inlined: tests/scripts/stack.sh counts it as warm-up) */
__attribute__((noinline)) static const struct sw_table *rf_table(struct sw_rfile *rf)
{
	uint32_t st = __atomic_load_n(&rf->table_state, __ATOMIC_ACQUIRE);
	uint32_t threshold = __atomic_load_n(&sw_table_threshold, __ATOMIC_RELAXED);

	if (st == SW_RF_TABLE_READY)
		return rf->table;
	if (st != SW_RF_TABLE_NONE || threshold == 0 ||
	    __atomic_add_fetch(&rf->table_misses, 1, __ATOMIC_RELAXED) < threshold ||
	    !__atomic_compare_exchange_n(&rf->table_state, &st, SW_RF_TABLE_BUILDING, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return NULL;
	struct sw_eh_hdr hdr;
	struct sw_cfi_section sec;
	struct sw_table_src src;
	struct sw_table *t = NULL;
	if (rf->eh && rf->hdr && sw_eh_hdr_parse(&hdr, rf->hdr, rf->hdr_size, rf->hdr_addr, NULL) == 0 &&
	    hdr.table) {
		sw_table_src_eh(&src, &sec, rf->eh, rf->eh_size, rf->eh_addr, &hdr, rf->hdr_addr);
		src.build_id = rf->build_id;
		src.build_id_len = rf->build_id_size;
		if (sw_table_build(&src, &t, NULL) < 0)
			t = NULL;
	}
	rf->table = t;
	__atomic_store_n(&rf->table_state, t ? SW_RF_TABLE_READY : SW_RF_TABLE_FAILED,
			 __ATOMIC_RELEASE);
	return t;
}

static int remote_table_rule(const struct sw_remote *r, uint64_t pc, struct sw_compiled *rule,
			     uint64_t *end)
{
	const struct sw_rmodule *m = find_module(space_of(r), pc);
	const struct sw_table *t;

	/* a JIT image's rules name their source as the JIT's: the full path */
	if (!m || !m->rf || (m->pub.flags & SW_MOD_JIT) || !(t = rf_table(m->rf)))
		return SW_TABLE_FALLBACK;
	return sw_table_rule_at(t, pc, m->pub.bias, rule, end);
}

static int remote_module_range(const struct sw_remote *r, uint64_t pc, uint64_t *start,
			       uint64_t *end)
{
	const struct sw_rmodule *m = find_module(space_of(r), pc);

	if (!m)
		return SW_ENOTFOUND;
	*start = m->pub.start;
	*end = m->pub.end;
	return 0;
}

static int remote_name(const struct sw_remote *r, uint64_t pc, char *buf, size_t size,
		       uint64_t *offset)
{
	return sw_as_get_proc_name(space_of(r), pc, buf, size, offset);
}

/* Copy `name` into buf[size], truncated, NUL-terminated (no snprintf: a
 * cursor's sw_get_proc_name may run in a signal handler). */
static void copy_name(char *buf, size_t size, const char *name)
{
	size_t n;

	if (!size)
		return;
	n = strnlen(name, size - 1);
	memcpy(buf, name, n);
	buf[n] = '\0';
}

int sw_as_get_proc_name(const sw_addr_space_t *as, uint64_t pc, char *buf, size_t size,
			uint64_t *offset)
{
	const struct sw_rmodule *m;
	struct sw_elf_sym sym;
	uint64_t off;
	bool known = false;

	if (!as || (!buf && size))
		return SW_EINVAL;
	if (size)
		buf[0] = '\0';
	if (as->cb)         /* callbacks.c: the caller's names */
		return as->ops.name(&as->ops, pc, buf, size, offset);
	if ((m = find_module(as, pc))) {
		known = true;
		if (m->rf && sw_elf_symbolize(&m->rf->elf, pc - m->pub.bias, &sym, &off) == 0 &&
		    sym.name[0]) {
			copy_name(buf, size, sym.name);
			if (offset)
				*offset = off;
			return 0;
		}
	}
	/* the perf map */
	size_t lo = sw_rs_upper_bound(as->names, as->nnames, sizeof(*as->names), pc);
	if (lo && pc - as->names[lo - 1].start < as->names[lo - 1].size) {
		copy_name(buf, size, as->names[lo - 1].name);
		if (offset)
			*offset = pc - as->names[lo - 1].start;
		return 0;
	}
	return known ? SW_ENONAME : SW_ENOTFOUND;
}

/* ---------------------------------------------------------------- getters */

int sw_as_kind(const sw_addr_space_t *as)
{
	return as ? as->kind : SW_EINVAL;
}

size_t sw_as_thread_count(const sw_addr_space_t *as)
{
	return as ? as->nthreads : 0;
}

int sw_as_get_thread(const sw_addr_space_t *as, size_t i, struct sw_as_thread *out)
{
	if (!as || !out || i >= as->nthreads)
		return SW_EINVAL;
	*out = as->threads[i].pub;
	return 0;
}

size_t sw_as_module_count(const sw_addr_space_t *as)
{
	return as ? as->nmods : 0;
}

int sw_as_get_module(const sw_addr_space_t *as, size_t i, struct sw_as_module *out)
{
	if (!as || !out || i >= as->nmods)
		return SW_EINVAL;
	*out = as->mods[i].pub;
	return 0;
}

int sw_as_find_module(const sw_addr_space_t *as, uint64_t addr, struct sw_as_module *out)
{
	const struct sw_rmodule *m;

	if (!as || !(m = find_module(as, addr)))
		return SW_ENOTFOUND;
	if (out)
		*out = m->pub;
	return (int)(m - as->mods);
}

/* ---------------------------------------------------------------- cursors */

void sw_rs_regs_to_context(const uint64_t regs[SW_REG_COUNT], sw_context_t *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	for (int r = 0; r < SW_REG_COUNT; r++)
		(void)sw_context_set_reg(ctx, r, regs[r]);   /* r is in range: cannot fail */
}

const struct sw_remote *sw_target_remote(const struct sw_addr_space *as)
{
	return as ? &as->ops : NULL;
}

int sw_target_thread_start(const struct sw_addr_space *as, size_t i, struct sw_target_start *out)
{
	if (!as || i >= as->nthreads || as->threads[i].pub.state != SW_THREAD_STOPPED)
		return SW_EINVAL;
	const struct sw_rthread *t = &as->threads[i];
	memset(out, 0, sizeof(*out));
	out->remote = &as->ops;
	for (int r = 0; r < SW_REG_COUNT; r++)
		sw_context_get_reg(&t->pub.regs, r, &out->regs[r]);
	out->valid = (1u << SW_REG_COUNT) - 1;
	out->copy = t->stack;
	out->copy_lo = t->stack_lo;
	out->copy_size = t->stack_size;
	return 0;
}
