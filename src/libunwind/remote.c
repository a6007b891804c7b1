/*
 * Remote unwinding: unw_init_remote over the caller's accessors,
 * unw_get_proc_info_by_ip, and dwarf_search_unwind_table (the .eh_frame_hdr
 * table search a remote find_proc_info accessor calls, as perf's does).
 *
 * Each address space of unw_create_addr_space holds one stackwalk
 * callbacks address space (sw_as_new_callbacks, made at its first
 * unw_init_remote: as->sw) whose callbacks are the accessors:
 *   read           access_mem, one aligned word at a time (as nongnu reads)
 *   find_cfi       find_proc_info(need_unwind_info = 1), whose unwind_info
 *                  must be the private record dwarf_search_unwind_table
 *                  below made (the FDE's address); any other format (a
 *                  caller's UNW_INFO_FORMAT_DYNAMIC procedure) is handed
 *                  back with put_unwind_info and treated as no information
 *   get_proc_name  get_proc_name (optional in the accessors)
 * The accessor argument is the walk's (unw_init_remote's arg), which
 * swu_enter stores in as->cur_arg before each call on the cursor.
 *
 * The record is malloc'd (what a client's put_unwind_info may free(), as
 * _UPT_put_unwind_info does) and released here once read, as nongnu
 * releases its own table-format information itself: perf's
 * put_unwind_info does nothing.
 *
 * Not here: the target's dynamic registrations (get_dyn_info_list_addr,
 * _U_dyn_info_list of another process): remote walks use the accessors'
 * find_proc_info only.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

/* dwarf_search_unwind_table's record in pi->unwind_info */
#define SWU_REC_MAGIC 0x53575552u           /* "SWUR" */

struct swu_rec {
	uint32_t magic;
	uint32_t local;             /* the entries are in this process's memory */
	uint64_t fde;               /* the FDE's address */
	uint64_t data_base;         /* DW_EH_PE_datarel base (the table's segbase) */
	uint64_t mod_start, mod_end;/* the table's range (di->start_ip, end_ip) */
	uint64_t lo, hi;            /* local: the bytes of the CIE and FDE */
};

/* ---------------------------------------------------------------- memory */

/* Read `size` bytes at `addr` of the target of `as` with access_mem, one
 * aligned word at a time (arg: the accessors' argument); `as` NULL: this
 * process, through the kernel (a bad address is an error, not a crash). */
static int mem_read(struct unw_addr_space *as, void *arg, uint64_t addr, void *buf, size_t size)
{
	uint8_t *out = buf;

	if (addr + size < addr)
		return -UNW_EINVAL;
	if (!as || as->kind != SWU_AS_REMOTE) {
		struct iovec l = { buf, size }, r = { (void *)(uintptr_t)addr, size };
		if (size == 0)
			return 0;
		return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)size ? 0 : -UNW_EINVAL;
	}
	if (!as->acc.access_mem)
		return -UNW_EINVAL;
	while (size) {
		uint64_t base = addr & ~(uint64_t)7;
		size_t skip = (size_t)(addr - base), n = 8 - skip;
		unw_word_t w = 0;
		int rc = as->acc.access_mem(as, base, &w, 0, arg);
		if (rc < 0)
			return rc;
		if (n > size)
			n = size;
		memcpy(out, (const uint8_t *)&w + skip, n);
		out += n;
		addr += n;
		size -= n;
	}
	return 0;
}

/* ---------------------------------------------------------------- CIE/FDE headers */

/* The bytes of one entry read into a buffer, for the few header fields
 * dwarf_search_unwind_table reports (the walk itself parses the entries
 * with stackwalk, through find_cfi). */
struct ent {
	uint8_t b[512];
	size_t n;                   /* bytes in b */
	uint64_t addr;              /* the entry's address (b[0]) */
	uint64_t total;             /* its size, length field included */
	size_t pos;                 /* parse position */
	int bad;
};

/* Read the entry at addr: its first `cap` bytes at most (the header fields
 * are near its start; each word is an access_mem call). */
static int ent_read(struct ent *e, struct unw_addr_space *as, void *arg, uint64_t addr,
		    size_t cap)
{
	uint32_t len32;
	uint64_t len;
	size_t hdr = 4;

	memset(e, 0, sizeof(*e));
	e->addr = addr;
	if (mem_read(as, arg, addr, &len32, 4) < 0)
		return -UNW_EINVAL;
	len = len32;
	if (len32 == 0xffffffffu) {
		if (mem_read(as, arg, addr + 4, &len, 8) < 0)
			return -UNW_EINVAL;
		hdr = 12;
	}
	if (len < 4 || len > (1u << 24))
		return -UNW_EBADFRAME;
	e->total = hdr + len;
	e->n = e->total < cap ? (size_t)e->total : cap;
	if (mem_read(as, arg, addr, e->b, e->n) < 0) {
		/* the tail may be unreadable (the end of a mapping): the
		 * header fields come first */
		e->n = hdr + 64 < e->n ? hdr + 64 : e->n;
		if (mem_read(as, arg, addr, e->b, e->n) < 0)
			return -UNW_EINVAL;
	}
	e->pos = hdr;
	return 0;
}

static uint64_t ent_un(struct ent *e, size_t size)
{
	uint64_t v = 0;

	if (e->pos + size > e->n) {
		e->bad = 1;
		return 0;
	}
	memcpy(&v, e->b + e->pos, size);
	e->pos += size;
	return v;
}

static uint64_t ent_uleb(struct ent *e)
{
	uint64_t v = 0;
	unsigned shift = 0;

	for (;;) {
		if (e->pos >= e->n) {
			e->bad = 1;
			return 0;
		}
		uint8_t byte = e->b[e->pos++];
		if (shift < 64)
			v |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
		if (!(byte & 0x80))
			return v;
	}
}

static int64_t ent_sleb(struct ent *e)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t byte;

	do {
		if (e->pos >= e->n) {
			e->bad = 1;
			return 0;
		}
		byte = e->b[e->pos++];
		if (shift < 64)
			v |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
	} while (byte & 0x80);
	if (shift < 64 && (byte & 0x40))
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

/* A DW_EH_PE_* encoded pointer (indirection left to the caller). */
static uint64_t ent_encoded(struct ent *e, uint8_t enc, uint64_t data_base, uint64_t func)
{
	uint64_t field = e->addr + e->pos, v;

	if (enc == 0xff)
		return 0;
	if ((enc & 0x70) == 0x50) {         /* aligned */
		e->pos = (e->pos + 7) & ~(size_t)7;
		return ent_un(e, 8);
	}
	switch (enc & 0x0f) {
	case 0x0: v = ent_un(e, 8); break;
	case 0x1: v = ent_uleb(e); break;
	case 0x2: v = ent_un(e, 2); break;
	case 0x3: v = ent_un(e, 4); break;
	case 0x4: v = ent_un(e, 8); break;
	case 0x9: v = (uint64_t)ent_sleb(e); break;
	case 0xa: v = (uint64_t)(int64_t)(int16_t)ent_un(e, 2); break;
	case 0xb: v = (uint64_t)(int64_t)(int32_t)ent_un(e, 4); break;
	case 0xc: v = ent_un(e, 8); break;
	default: e->bad = 1; return 0;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += field; break;
	case 0x30: v += data_base; break;
	case 0x40: v += func; break;
	default: e->bad = 1; break;     /* textrel: no text base on x86-64 */
	}
	return v;
}

struct fde_facts {
	uint64_t start, end, lsda, handler, cie;
	uint64_t lo, hi;            /* the bytes of both entries */
};

/* The procedure range, LSDA and personality of the .eh_frame FDE at
 * `fde`.  Returns 0 or a negated UNW_E* code. */
static int fde_facts_cap(struct unw_addr_space *as, void *arg, uint64_t fde, uint64_t data_base,
			 struct fde_facts *f, size_t cap)
{
	struct ent e, c;
	uint8_t fde_enc = 0, lsda_enc = 0xff, pers_enc = 0xff;
	uint64_t pers = 0;
	int z = 0;

	memset(f, 0, sizeof(*f));
	if (ent_read(&e, as, arg, fde, cap) < 0)
		return -UNW_EINVAL;
	size_t osize = e.pos == 12 ? 8 : 4;
	uint64_t id_addr = fde + e.pos;
	uint64_t ptr = ent_un(&e, osize);
	if (e.bad || ptr == 0 || ptr > id_addr)
		return -UNW_EBADFRAME;
	f->cie = id_addr - ptr;
	if (ent_read(&c, as, arg, f->cie, cap) < 0)
		return -UNW_EBADFRAME;
	size_t cosize = c.pos == 12 ? 8 : 4;
	if (ent_un(&c, cosize) != 0)
		return -UNW_EBADFRAME;          /* not a CIE */
	uint8_t version = (uint8_t)ent_un(&c, 1);
	if (version != 1 && version != 3)
		return -UNW_EBADVERSION;
	const char *aug = (const char *)c.b + c.pos;
	size_t alen = strnlen(aug, c.n - c.pos);
	if (c.pos + alen >= c.n)
		return -UNW_EBADFRAME;
	c.pos += alen + 1;
	if (strcmp(aug, "eh") == 0)
		c.pos += 8;
	(void)ent_uleb(&c);                     /* code alignment */
	(void)ent_sleb(&c);                     /* data alignment */
	if (version == 1)
		(void)ent_un(&c, 1);
	else
		(void)ent_uleb(&c);             /* return address column */
	if (aug[0] == 'z') {
		z = 1;
		(void)ent_uleb(&c);
		for (const char *a = aug + 1; *a && !c.bad; a++) {
			switch (*a) {
			case 'R': fde_enc = (uint8_t)ent_un(&c, 1); break;
			case 'L': lsda_enc = (uint8_t)ent_un(&c, 1); break;
			case 'P':
				pers_enc = (uint8_t)ent_un(&c, 1);
				pers = ent_encoded(&c, pers_enc & 0x7f, data_base, 0);
				break;
			case 'S': case 'B': break;
			default: return -UNW_EBADFRAME;
			}
		}
	}
	if (c.bad)
		return -UNW_EBADFRAME;
	f->start = ent_encoded(&e, fde_enc, data_base, 0);
	uint64_t range = ent_encoded(&e, fde_enc & 0x0f, 0, 0);
	if (z) {
		(void)ent_uleb(&e);
		if (lsda_enc != 0xff)
			f->lsda = ent_encoded(&e, lsda_enc & 0x7f, data_base, f->start);
	}
	if (e.bad || f->start + range < f->start)
		return -UNW_EBADFRAME;
	f->end = f->start + range;
	if (pers_enc != 0xff && (pers_enc & 0x80)) {
		if (mem_read(as, arg, pers, &pers, 8) < 0)
			pers = 0;
	}
	f->handler = pers;
	f->lo = f->cie < fde ? f->cie : fde;
	f->hi = f->cie + c.total > fde + e.total ? f->cie + c.total : fde + e.total;
	return 0;
}

/* fde_facts_cap on the entries' first 64 bytes (enough for what compilers
 * write), then, if the fields run past them, on 512. */
static int fde_facts(struct unw_addr_space *as, void *arg, uint64_t fde, uint64_t data_base,
		     struct fde_facts *f)
{
	int rc = fde_facts_cap(as, arg, fde, data_base, f, 64);

	return rc == -UNW_EBADFRAME ? fde_facts_cap(as, arg, fde, data_base, f, 512) : rc;
}

/* ---------------------------------------------------------------- the table search */

/* nongnu's semantics: the FDE of the table entry with the greatest start
 * <= ip; -UNW_ENOINFO when ip is before the first entry or outside that
 * FDE's range; pi->unwind_info (need_unwind_info) is a malloc'd record
 * that find_cfi below reads and frees. */
SWU_API int dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
			      unw_proc_info_t *pi, int need_unwind_info, void *arg)
{
	uint64_t table, segbase, ip_base, n;
	struct unw_addr_space *tas = as;      /* where the table is read */
	int local = 0;

	if (!as || !di || !pi)
		return -UNW_EINVAL;
	switch (di->format) {
	case UNW_INFO_FORMAT_REMOTE_TABLE:
	case UNW_INFO_FORMAT_IP_OFFSET:
		table = di->u.rti.table_data;
		segbase = di->u.rti.segbase;
		n = di->u.rti.table_len * sizeof(unw_word_t) / 8;
		break;
	case UNW_INFO_FORMAT_TABLE:
		/* the table and its entries in this process (as nongnu reads
		 * them, whatever the address space) */
		table = (uint64_t)(uintptr_t)di->u.ti.table_data;
		segbase = di->u.ti.segbase;
		n = di->u.ti.table_len * sizeof(unw_word_t) / 8;
		tas = NULL;
		local = 1;
		break;
	default:
		return -UNW_EINVAL;
	}
	ip_base = di->format == UNW_INFO_FORMAT_IP_OFFSET ? di->start_ip : segbase;
	if (n == 0)
		return -UNW_ENOINFO;
	/* the last entry whose start (signed 32-bit, from ip_base) is <= ip */
	uint64_t lo = 0, hi = n;
	int32_t ent[2];
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (mem_read(tas, arg, table + mid * 8, ent, 8) < 0)
			return -UNW_EINVAL;
		if ((uint64_t)((int64_t)ip_base + ent[0]) <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return -UNW_ENOINFO;
	if (mem_read(tas, arg, table + (lo - 1) * 8, ent, 8) < 0)
		return -UNW_EINVAL;
	uint64_t fde = (uint64_t)((int64_t)segbase + ent[1]);

	struct fde_facts f;
	int rc = fde_facts(tas, arg, fde, segbase, &f);
	if (rc < 0)
		return rc;
	if (ip < f.start || ip >= f.end)
		return -UNW_ENOINFO;
	memset(pi, 0, sizeof(*pi));
	pi->start_ip = f.start;
	pi->end_ip = f.end;
	pi->lsda = f.lsda;
	pi->handler = f.handler;
	pi->gp = di->gp;
	pi->format = UNW_INFO_FORMAT_TABLE;
	if (need_unwind_info) {
		struct swu_rec *r = calloc(1, sizeof(*r));
		if (!r)
			return -UNW_ENOMEM;
		r->magic = SWU_REC_MAGIC;
		r->local = (uint32_t)local;
		r->fde = fde;
		r->data_base = segbase;
		r->mod_start = di->start_ip;
		r->mod_end = di->end_ip;
		r->lo = f.lo;
		r->hi = f.hi;
		pi->unwind_info = r;
		pi->unwind_info_size = (int)sizeof(*r);
	}
	return 0;
}
/* the name is a macro itself (libunwind.h): SWU_ALIAS would expand it */
extern __typeof(_ULx86_64_dwarf_search_unwind_table) _Ux86_64_dwarf_search_unwind_table
	__attribute__((alias("_ULx86_64_dwarf_search_unwind_table"), visibility("default")));

/* ---------------------------------------------------------------- the callbacks */

static int cb_read(void *arg, uint64_t addr, void *buf, size_t size)
{
	struct unw_addr_space *as = arg;

	return mem_read(as, as->cur_arg, addr, buf, size) < 0 ? SW_EMEMORY : 0;
}

static int cb_find_cfi(void *arg, uint64_t pc, struct sw_as_cfi *out)
{
	struct unw_addr_space *as = arg;
	unw_proc_info_t pi;
	int rc;

	if (!as->acc.find_proc_info)
		return SW_ENOTFOUND;
	memset(&pi, 0, sizeof(pi));
	rc = as->acc.find_proc_info(as, pc, &pi, 1, as->cur_arg);
	if (rc < 0) {
		/* -UNW_ENOINFO: the walk's fallback rules, as nongnu's
		 * heuristics then; anything else (perf: -EINVAL for an IP in
		 * no map) ends the walk, as it ends nongnu's */
		return rc == -UNW_ENOINFO ? SW_ENOTFOUND : SW_EMEMORY;
	}
	struct swu_rec *r = pi.unwind_info;
	if (r && pi.format == UNW_INFO_FORMAT_TABLE && pi.unwind_info_size == (int)sizeof(*r) &&
	    r->magic == SWU_REC_MAGIC) {
		out->format = SW_AS_CFI_EH_FRAME;
		out->fde = r->fde;
		out->data_base = r->data_base;
		out->module_start = r->mod_start;
		out->module_end = r->mod_end;
		if (r->local) {
			out->data = (const void *)(uintptr_t)r->lo;
			out->section = r->lo;
			out->section_size = r->hi - r->lo;
		}
		r->magic = 0;
		free(r);
		return 0;
	}
	/* information of another format (a caller's own): given back */
	if (pi.unwind_info && as->acc.put_unwind_info)
		as->acc.put_unwind_info(as, &pi, as->cur_arg);
	return SW_ENOTFOUND;
}

static int cb_name(void *arg, uint64_t pc, char *buf, size_t size, uint64_t *offset)
{
	struct unw_addr_space *as = arg;
	unw_word_t off = 0;

	if (!as->acc.get_proc_name || size == 0)
		return SW_ENOTFOUND;
	buf[0] = '\0';
	int rc = as->acc.get_proc_name(as, pc, buf, size, &off, as->cur_arg);
	/* -UNW_ENOMEM: the name was cut to fit, as stackwalk cuts names */
	if (rc < 0 && !(rc == -UNW_ENOMEM && buf[0]))
		return rc == -UNW_ENOINFO ? SW_ENOTFOUND : SW_ENONAME;
	*offset = off;
	return 0;
}

/* The stackwalk address space of `as`, made at its first walk. */
static int remote_space(struct unw_addr_space *as)
{
	if (as->sw)
		return 0;
	struct sw_as_callbacks cb = {
		.size = sizeof(cb),
		.arg = as,
		.read = cb_read,
		.find_cfi = cb_find_cfi,
		.get_proc_name = cb_name,
		.flags = SW_AS_CB_RECYCLE,
	};
	return sw_as_new_callbacks(&cb, NULL, &as->sw) == 0 ? 0 : -UNW_ENOMEM;
}

SWU_API int unw_init_remote(unw_cursor_t *cursor, unw_addr_space_t as, void *arg)
{
	struct swu_cursor *c = swu_cursor(cursor);
	sw_context_t ctx;
	int rc;

	if (!cursor || !as)
		return -UNW_EINVAL;
	/* the local address space: arg is the context, as for unw_init_local
	 * (libunwind's unw_init_remote does the same) */
	if (as->kind != SWU_AS_REMOTE)
		return arg ? unw_init_local(cursor, arg) : -UNW_EINVAL;
	if (!as->acc.access_reg)
		return -UNW_EINVAL;
	if ((rc = remote_space(as)) < 0)
		return rc;
	if (as->caching == UNW_CACHE_NONE)
		sw_as_flush(as->sw);
	memset(&ctx, 0, sizeof(ctx));
	for (int r = UNW_X86_64_RAX; r <= UNW_X86_64_RIP; r++) {
		unw_word_t v = 0;
		rc = as->acc.access_reg(as, r, &v, 0, arg);
		if (rc < 0) {
			/* the walk needs IP and SP; a register it may never
			 * need reads as 0 */
			if (r == UNW_X86_64_RIP || r == UNW_X86_64_RSP)
				return rc;
			v = 0;
		}
		sw_context_set_reg(&ctx, r, v);     /* DWARF numbers, as libunwind's */
	}
	memset(c, 0, sizeof(*c));
	c->as = as;
	c->arg = arg;
	c->flags = SWU_C_REMOTE;
	as->cur_arg = arg;
	rc = sw_init_snapshot(&c->sw, as->sw, &ctx, NULL, 0);
	if (rc < 0)
		return swu_error(rc);
	c->magic = SWU_CURSOR_MAGIC;
	return 0;
}
SWU_ALIAS(init_remote);

/* ---------------------------------------------------------------- by address */

SWU_API int unw_get_proc_info_by_ip(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
				    void *arg)
{
	if (!as || !pi)
		return -UNW_EINVAL;
	if (as->kind == SWU_AS_REMOTE) {
		if (!as->acc.find_proc_info)
			return -UNW_ENOINFO;
		memset(pi, 0, sizeof(*pi));
		int rc = as->acc.find_proc_info(as, ip, pi, 0, arg);
		struct swu_rec *r = pi->unwind_info;
		if (rc == 0 && r && pi->format == UNW_INFO_FORMAT_TABLE &&
		    pi->unwind_info_size == (int)sizeof(*r) && r->magic == SWU_REC_MAGIC) {
			r->magic = 0;
			free(r);
			pi->unwind_info = NULL;
			pi->unwind_info_size = 0;
		}
		return rc;
	}
	struct sw_proc_info spi;
	int rc = sw_get_proc_info_by_pc(ip, &spi);
	if (rc < 0)
		return swu_error(rc);
	memset(pi, 0, sizeof(*pi));
	pi->start_ip = spi.start;
	pi->end_ip = spi.end;
	pi->lsda = spi.lsda;
	pi->handler = spi.personality;
	pi->format = UNW_INFO_FORMAT_TABLE;
	if (spi.source == SW_SRC_DEBUG_FRAME)
		pi->flags = UNW_PI_FLAG_DEBUG_FRAME;
	return 0;
}
SWU_ALIAS(get_proc_info_by_ip);

/*
 * unw_get_proc_name_by_ip (libunwind 1.7; 1.6.2 has no such export): the
 * name of the procedure containing ip.  Local: as unw_get_proc_name
 * (registered generated code first, then the symbol tables), -UNW_ENOMEM
 * with the cut name stored when it does not fit, -UNW_ENOINFO when no
 * symbol contains ip.  Remote: the accessors' get_proc_name with `arg`
 * (-UNW_EINVAL when the accessors have none).
 */
SWU_API int unw_get_proc_name_by_ip(unw_addr_space_t as, unw_word_t ip, char *buf, size_t len,
				    unw_word_t *offp, void *arg)
{
	uint64_t off = 0;
	int rc;

	if (!as || !buf || len == 0)
		return -UNW_EINVAL;
	if (as->kind == SWU_AS_REMOTE) {
		if (!as->acc.get_proc_name)
			return -UNW_EINVAL;
		return as->acc.get_proc_name(as, ip, buf, len, offp, arg);
	}
	rc = sw_get_proc_name_by_pc(ip, buf, len, &off);
	if (rc < 0)
		return rc == SW_ENOTFOUND || rc == SW_ENONAME ? -UNW_ENOINFO : swu_error(rc);
	if (offp)
		*offp = off;
	size_t n = strlen(buf);
	if (n + 1 == len && len <= 4096) {
		char more[len + 1];
		if (sw_get_proc_name_by_pc(ip, more, len + 1, &off) == 0 && strlen(more) > n)
			return -UNW_ENOMEM;
	}
	return 0;
}
SWU_ALIAS(get_proc_name_by_ip);
