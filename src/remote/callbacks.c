/*
 * Callbacks address spaces (include/stackwalk/remote.h, "callbacks"): the
 * target's memory and unwind information come from the caller.
 *
 * The space is an ordinary struct sw_addr_space (space.c) whose struct
 * sw_remote operations are the ones below, plus the state here
 * (as->cb): the caller's callbacks and the arena the FDEs and CIEs are
 * copied into, so that the bytes the cursor parses stay valid while the
 * space lives (struct sw_remote's find_fde contract) and no walk
 * allocates.
 *
 * An arena entry is [CIE][FDE], copied from the target, with the FDE's CIE
 * pointer rewritten to designate the copy in front of it: parsed as one
 * section whose address puts the FDE's bytes at the FDE's target address,
 * so its pc-relative pointers (range, LSDA) and DW_CFA_set_loc come out as
 * target addresses.  The CIE is parsed a second time at its own target
 * address for its pc-relative personality pointer.  The index is an open-
 * addressing hash table keyed by (FDE address, format, section).
 *
 * One walk at a time per space: entries are added during walks, without a
 * lock.  sw_as_flush empties the arena between walks.
 */
#include <stdlib.h>
#include <string.h>

#include "remote/remote.h"

/* An indexed entry of the arena. */
struct cb_slot {
	uint64_t fde;                /* the FDE's address (0: empty slot) */
	uint64_t section;            /* its section (.debug_frame CIE base) */
	uint32_t off;                /* arena offset of the CIE copy */
	uint32_t cie_len;            /* bytes of the CIE copy (length field on) */
	uint32_t fde_len;            /* bytes of the FDE copy */
	uint32_t format;             /* SW_AS_CFI_* */
	uint64_t cie;                /* the CIE's target address */
};

struct sw_cb_state {
	struct sw_as_callbacks cb;   /* the caller's, at the current size */
	uint8_t *arena;
	size_t arena_size, used;
	struct cb_slot *slots;       /* 1 << bits */
	unsigned bits;
	size_t nslots_used;
};

/* The largest CIE or FDE copied (gcc's largest are a few KiB). */
#define CB_ENTRY_MAX (1u << 20)

static const struct sw_addr_space *space_of(const struct sw_remote *r)
{
	return (const struct sw_addr_space *)(const void *)r;   /* ops is the first member */
}

/* The walk owns the space while it runs (one walk at a time): the arena is
 * the state's, which the const of the read interface does not cover. */
static struct sw_cb_state *state_of(const struct sw_remote *r)
{
	return space_of(r)->cb;
}

static int cb_read(const struct sw_remote *r, uint64_t addr, void *buf, size_t size)
{
	const struct sw_cb_state *st = state_of(r);

	if (size == 0)
		return 0;
	if (addr + size < addr)
		return SW_EMEMORY;
	return st->cb.read(st->cb.arg, addr, buf, size) == 0 ? 0 : SW_EMEMORY;
}

/* A callback's result as a status: SW_E* codes pass, others are failed reads. */
static int cb_status(int rc)
{
	if (rc == 0 || rc == SW_ENOTFOUND)
		return rc;
	return rc < 0 && rc >= SW_ETOODEEP ? rc : SW_EMEMORY;
}

/* `size` bytes of the section at target address `addr`: from cfi->data or
 * through the read callback, inside [section, section + section_size)
 * when that is known. */
static int entry_read(const struct sw_cb_state *st, const struct sw_as_cfi *cfi, uint64_t addr,
		      void *buf, size_t size)
{
	if (addr + size < addr)
		return SW_ETRUNCATED;
	if (cfi->section_size &&
	    (addr < cfi->section || addr - cfi->section > cfi->section_size ||
	     size > cfi->section_size - (addr - cfi->section)))
		return SW_ETRUNCATED;
	if (cfi->data) {
		memcpy(buf, (const uint8_t *)cfi->data + (addr - cfi->section), size);
		return 0;
	}
	return st->cb.read(st->cb.arg, addr, buf, size) == 0 ? 0 : SW_EMEMORY;
}

/* The header of the entry at `addr`: its total size (length field
 * included), the size of its length field's offset (4 or 8), the address
 * of its id field and the id.  Returns 0 or an error. */
static int entry_header(const struct sw_cb_state *st, const struct sw_as_cfi *cfi, uint64_t addr,
			uint64_t *total, unsigned *osize, uint64_t *id_addr, uint64_t *id)
{
	uint32_t len32;
	uint64_t len;
	unsigned hdr = 4;
	int rc;

	if ((rc = entry_read(st, cfi, addr, &len32, 4)) < 0)
		return rc;
	len = len32;
	*osize = 4;
	if (len32 == 0xffffffffu) {
		if ((rc = entry_read(st, cfi, addr + 4, &len, 8)) < 0)
			return rc;
		hdr = 12;
		*osize = 8;
	}
	if (len < *osize || len > CB_ENTRY_MAX)
		return len == 0 ? SW_EBADCIE : SW_ELENGTH;
	*total = hdr + len;
	*id_addr = addr + hdr;
	*id = 0;
	return entry_read(st, cfi, *id_addr, id, *osize);
}

static unsigned slot_hash(uint64_t fde, unsigned bits)
{
	return (unsigned)(((fde ^ (fde >> 29)) * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

/* The slot of (fde, format, section): the entry's, or the empty one where
 * it goes (NULL: the table is full and does not hold it). */
static struct cb_slot *slot_find(struct sw_cb_state *st, const struct sw_as_cfi *cfi)
{
	unsigned mask = (1u << st->bits) - 1;
	unsigned i = slot_hash(cfi->fde, st->bits);

	for (unsigned n = 0; n <= mask; n++, i = (i + 1) & mask) {
		struct cb_slot *s = &st->slots[i];
		if (s->fde == 0)
			return s;
		if (s->fde == cfi->fde && s->format == (uint32_t)cfi->format &&
		    s->section == cfi->section)
			return s;
	}
	return NULL;
}

/* Copy the FDE at cfi->fde and its CIE into the arena at slot `s`. */
static int entry_load(struct sw_cb_state *st, const struct sw_as_cfi *cfi, struct cb_slot *s)
{
	uint64_t fde_total, cie_total, fde_id_addr, cie_id_addr, ptr, cie_id, cie;
	unsigned fde_osize, cie_osize;
	bool eh = cfi->format == SW_AS_CFI_EH_FRAME;
	int rc;

	/* a full index (3/4 of the slots: probes stay short) is a full arena */
	if (st->nslots_used + 1 > ((size_t)3 << st->bits) / 4)
		return SW_EFULL;
	if ((rc = entry_header(st, cfi, cfi->fde, &fde_total, &fde_osize, &fde_id_addr, &ptr)) < 0)
		return rc;
	if (eh) {
		/* relative to the pointer field, backwards; 0 would be a CIE */
		if (ptr == 0 || ptr > fde_id_addr)
			return SW_EBADCIE;
		cie = fde_id_addr - ptr;
	} else {
		if (!cfi->section || cfi->section + ptr < cfi->section)
			return SW_EBADCIE;
		cie = cfi->section + ptr;
	}
	if (cie == cfi->fde)
		return SW_EBADCIE;
	if ((rc = entry_header(st, cfi, cie, &cie_total, &cie_osize, &cie_id_addr, &cie_id)) < 0)
		return rc == SW_ETRUNCATED || rc == SW_ELENGTH ? rc : SW_EBADCIE;
	if (eh ? cie_id != 0 : cie_id != (cie_osize == 4 ? 0xffffffffu : UINT64_MAX))
		return SW_EBADCIE;
	if (cie_total + fde_total > st->arena_size - st->used)
		return SW_EFULL;
	uint8_t *dst = st->arena + st->used;
	if ((rc = entry_read(st, cfi, cie, dst, cie_total)) < 0 ||
	    (rc = entry_read(st, cfi, cfi->fde, dst + cie_total, fde_total)) < 0)
		return rc;
	/* the CIE pointer, to the copy in front of it */
	uint64_t newptr = eh ? cie_total + (fde_id_addr - cfi->fde) : 0;
	memcpy(dst + cie_total + (fde_id_addr - cfi->fde), &newptr, fde_osize);
	s->fde = cfi->fde;
	s->section = cfi->section;
	s->format = (uint32_t)cfi->format;
	s->off = (uint32_t)st->used;
	s->cie_len = (uint32_t)cie_total;
	s->fde_len = (uint32_t)fde_total;
	s->cie = cie;
	st->used += cie_total + fde_total;
	st->nslots_used++;
	return 0;
}

static void arena_empty(struct sw_cb_state *st)
{
	memset(st->slots, 0, ((size_t)1 << st->bits) * sizeof(*st->slots));
	st->used = 0;
	st->nslots_used = 0;
}

static int cb_find_fde(const struct sw_remote *r, uint64_t pc, struct sw_fde_info *info)
{
	struct sw_cb_state *st = state_of(r);
	struct sw_as_cfi cfi;
	struct sw_cfi_section csec;
	struct sw_cie tmp;
	int rc;

	memset(&cfi, 0, sizeof(cfi));
	cfi.size = sizeof(cfi);
	rc = cb_status(st->cb.find_cfi(st->cb.arg, pc, &cfi));
	if (rc < 0)
		return rc;
	if ((cfi.format != SW_AS_CFI_EH_FRAME && cfi.format != SW_AS_CFI_DEBUG_FRAME) || !cfi.fde ||
	    (cfi.data && !cfi.section_size))
		return SW_EINVAL;
	struct cb_slot *s = slot_find(st, &cfi);
	rc = s ? (s->fde == 0 ? entry_load(st, &cfi, s) : 0) : SW_EFULL;
	if (rc == SW_EFULL && (st->cb.flags & SW_AS_CB_RECYCLE) && st->nslots_used) {
		/* nothing holds an entry between steps: start the arena over */
		arena_empty(st);
		s = slot_find(st, &cfi);
		rc = s ? entry_load(st, &cfi, s) : SW_EFULL;
	}
	if (rc < 0)
		return rc;

	const uint8_t *bytes = st->arena + s->off;
	bool eh = s->format == SW_AS_CFI_EH_FRAME;
	memset(&info->held, 0, sizeof(info->held));
	info->from = NULL;
	info->module_base = cfi.bias;
	info->source = eh ? SW_SRC_EH_FRAME : SW_SRC_DEBUG_FRAME;
	/* [CIE][FDE] as one section, the FDE at its target address */
	sw_cfi_section_init(&info->sec, bytes, (size_t)s->cie_len + s->fde_len, s->fde - s->cie_len,
			    eh, eh ? ".eh_frame" : ".debug_frame");
	info->sec.textrel = cfi.text_base;
	info->sec.datarel = cfi.data_base;
	rc = sw_cfi_parse_fde(&info->sec, s->cie_len, &info->fde, &tmp, NULL);
	if (rc < 0)
		return rc;
	/* the CIE at its own address (its personality pointer) */
	csec = info->sec;
	csec.size = s->cie_len;
	csec.vaddr = s->cie;
	if ((rc = sw_cfi_parse_cie(&csec, 0, &info->cie, NULL)) < 0)
		return rc;
	if (cfi.bias) {
		info->fde.pc_begin += cfi.bias;
		info->fde.pc_end += cfi.bias;
		if (info->fde.pc_end < info->fde.pc_begin)
			return SW_ERANGE;
		if (info->fde.lsda)
			info->fde.lsda += cfi.bias;
		if (info->cie.personality)
			info->cie.personality += cfi.bias;
	}
	if (pc < info->fde.pc_begin || pc >= info->fde.pc_end)
		return SW_ENOTFOUND;
	return 0;
}

static int cb_module_range(const struct sw_remote *r, uint64_t pc, uint64_t *start, uint64_t *end)
{
	const struct sw_cb_state *st = state_of(r);
	struct sw_as_cfi cfi;

	memset(&cfi, 0, sizeof(cfi));
	cfi.size = sizeof(cfi);
	if (st->cb.find_cfi(st->cb.arg, pc, &cfi) != 0 || cfi.module_start >= cfi.module_end ||
	    pc < cfi.module_start || pc >= cfi.module_end)
		return SW_ENOTFOUND;
	*start = cfi.module_start;
	*end = cfi.module_end;
	return 0;
}

static int cb_name(const struct sw_remote *r, uint64_t pc, char *buf, size_t size,
		   uint64_t *offset)
{
	const struct sw_cb_state *st = state_of(r);
	uint64_t off = 0;

	if (size)
		buf[0] = '\0';
	if (!st->cb.get_proc_name)
		return SW_ENOTFOUND;
	int rc = st->cb.get_proc_name(st->cb.arg, pc, buf, size, &off);
	if (size)
		buf[size - 1] = '\0';   /* whatever the callback did */
	if (rc == 0) {
		if (offset)
			*offset = off;
		return 0;
	}
	if (size)
		buf[0] = '\0';
	return rc == SW_ENOTFOUND ? SW_ENOTFOUND : SW_ENONAME;
}

int sw_as_new_callbacks(const struct sw_as_callbacks *cb, const struct sw_as_options *opt,
			sw_addr_space_t **out)
{
	struct sw_as_callbacks c;

	if (out)
		*out = NULL;
	if (!out || !cb) {
		sw_rs_error(opt, "no callbacks");
		return SW_EINVAL;
	}
	/* the caller's struct as far as both know it */
	memset(&c, 0, sizeof(c));
	size_t n = cb->size && cb->size < sizeof(c) ? cb->size : sizeof(c);
	memcpy(&c, cb, n);
	c.size = sizeof(c);
	if (n < offsetof(struct sw_as_callbacks, find_cfi) + sizeof(c.find_cfi) || !c.read ||
	    !c.find_cfi) {
		sw_rs_error(opt, "the read and find_cfi callbacks are required");
		return SW_EINVAL;
	}
	if (n < offsetof(struct sw_as_callbacks, arena_size) + sizeof(c.arena_size))
		c.arena_size = 0;
	if (n < offsetof(struct sw_as_callbacks, flags) + sizeof(c.flags))
		c.flags = 0;
	if (n < offsetof(struct sw_as_callbacks, get_proc_name) + sizeof(c.get_proc_name))
		c.get_proc_name = NULL;
	if (c.arena_size > SW_AS_ARENA_MAX) {
		sw_rs_error(opt, "arena_size %zu is above SW_AS_ARENA_MAX", c.arena_size);
		return SW_EINVAL;
	}
	if (!c.arena_size)
		c.arena_size = SW_AS_ARENA_DEFAULT;
	unsigned bits = 4;
	while (bits < 24 && ((size_t)1 << bits) < c.arena_size / 64)
		bits++;

	/* the state, its index and its arena: one block, freed with the space */
	size_t nslots = (size_t)1 << bits;
	size_t arena_off = sizeof(struct sw_cb_state) + nslots * sizeof(struct cb_slot);
	struct sw_addr_space *as = sw_rs_new(SW_AS_CALLBACKS, opt);
	struct sw_cb_state *st = as ? calloc(1, arena_off + c.arena_size) : NULL;
	if (!st || sw_rs_own(as, st) < 0) {
		sw_as_free(as);
		sw_rs_error(opt, "out of memory");
		return SW_ENOMEM;
	}
	struct cb_slot *slots = (struct cb_slot *)(void *)(st + 1);
	uint8_t *arena = (uint8_t *)st + arena_off;
	st->cb = c;
	st->arena = arena;
	st->arena_size = c.arena_size;
	st->slots = slots;
	st->bits = bits;
	as->cb = st;
	as->ops.read = cb_read;
	as->ops.find_fde = cb_find_fde;
	as->ops.module_range = cb_module_range;
	as->ops.name = cb_name;
	*out = as;
	return 0;
}

int sw_as_flush(sw_addr_space_t *as)
{
	if (!as)
		return SW_EINVAL;
	uint32_t g = __atomic_load_n(&as->cache.gen, __ATOMIC_RELAXED) + 1;
	__atomic_store_n(&as->cache.gen, g ? g : 1, __ATOMIC_RELEASE);
	if (as->cb)
		arena_empty(as->cb);
	return 0;
}
