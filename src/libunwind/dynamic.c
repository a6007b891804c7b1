/*
 * libunwind-dynamic(3) on stackwalk's registry: _U_dyn_register,
 * _U_dyn_cancel and _U_dyn_info_list_addr, exported unprefixed as nongnu
 * libunwind exports them.
 *
 * A registered unw_dyn_info_t becomes one registration of stackwalk's JIT
 * registry (<stackwalk/jit.h>), so its code is unwound by unw_step (and
 * sw_step), named by unw_get_proc_name (the registry names it), and handed
 * to the registry's default publishers: libgcc (C++ exceptions cross the
 * frames), the GDB JIT interface (gdb's `bt` names them) and, when asked
 * for with SW_JIT_PERF, perf.  The description is converted and copied at
 * registration; later changes to it are not seen (nongnu reads it lazily;
 * libunwind-dynamic(3) says it must stay unchanged anyway).
 *
 * ---------------------------------------------------------------- formats
 *
 * UNW_INFO_FORMAT_DYNAMIC (u.pi).  nongnu libunwind has no unwinder for
 * these regions on x86-64 (it walks such frames with its frame-pointer
 * guess); here they are the registry's SW_JIT_UNWIND_DYN descriptions
 * (same layout, same tags), converted to DWARF CFI at registration.  The
 * x86-64 meaning, as stackwalk defines it (jit.h, "3. The
 * libunwind-dynamic(3) model"):
 *   - instruction index = byte offset.  A region's insn_count is its length
 *     in bytes; regions follow each other from start_ip; a negative
 *     insn_count (last region only) covers the procedure's last -N bytes.
 *     An op's `when` is the region-relative offset of the LAST byte of the
 *     instruction that has the effect: the new state holds from when+1
 *     ("a value of 0 means the effect has taken place once the first
 *     instruction has executed": when = 0 for a 1-byte push at the region's
 *     start).  when = -1 (what the _U_dyn_op_label_state/copy_state/alias
 *     macros write) is the region's start.  Ops may come in any order of
 *     `when`; UNW_DYN_STOP or op_count ends the list; qp is ignored.
 *   - entry state: CFA = RSP + 8, return address at CFA - 8.
 *   - UNW_DYN_ADD(reg = RSP, val): rsp += (int64_t)val; the CFA offset
 *     follows (ADD(RSP, -16) = the frame grew by 16 bytes).  RSP is the
 *     only register ADD accepts.
 *   - UNW_DYN_SPILL_SP_REL(reg, off): reg is saved at rsp + off, rsp as it
 *     is after the instruction (push rbx = ADD(RSP, -8) then
 *     SPILL_SP_REL(RBX, 0) at the same `when`).
 *   - UNW_DYN_SAVE_REG(reg, dst): reg's value is now in register dst;
 *     SAVE_REG(reg, reg) = back in its own register.  The frame-pointer
 *     convention: SAVE_REG(RSP, RBP) after `mov rbp, rsp` makes the CFA
 *     RBP-based from then on (push rbp; mov rbp, rsp = ADD(RSP,-8),
 *     SPILL_SP_REL(RBP, 0) at when 0, SAVE_REG(RSP, RBP) at when 3).
 *   - UNW_DYN_SPILL_FP_REL(reg, off): reg saved at rbp + off; needs the
 *     frame pointer established by SAVE_REG(RSP, RBP) (else an error).
 *   - UNW_DYN_POP_FRAMES(n): the epilogue point where rsp is restored:
 *     the state returns to what it was before the n innermost open regions
 *     (a region opens a frame when it has an ADD, SAVE_REG or SPILL op);
 *     POP_FRAMES(1) after `pop rbp` or `add rsp` of a one-region prologue
 *     is the entry state again.
 *   - UNW_DYN_LABEL_STATE(label) / UNW_DYN_COPY_STATE(label): remember /
 *     restore the state (8 labels per procedure).
 *   - UNW_DYN_ALIAS(addr): the bytes from the alias point to the region's
 *     end have the unwind state of the bytes at addr... (a copied
 *     epilogue).  addr must lie inside the same procedure, before the alias
 *     point; an alias into another procedure is reported as unsupported.
 *   - u.pi.name_ptr names the procedure (copied, at most 1023 bytes);
 *     u.pi.handler becomes the FDE's personality routine with no LSDA.
 *     With __gxx_personality_v0 that is meaningful: C++ exceptions pass
 *     through the frame (no LSDA: nothing to catch or clean up); any other
 *     routine is called by libgcc's unwinder as for compiled code.
 *     flags and gp are ignored.
 *
 * UNW_INFO_FORMAT_TABLE (u.ti, table_data a pointer), _REMOTE_TABLE
 * (u.rti, table_data an address) and _IP_OFFSET (as REMOTE_TABLE, with the
 * start offsets relative to start_ip): table_data is an .eh_frame_hdr-style
 * search table, table_len words long, of struct { int32_t
 * start_ip_offset, fde_offset; } sorted by start, both relative to
 * segbase (start offsets: to start_ip for IP_OFFSET); each entry's FDE
 * lies at segbase + fde_offset in this process and is an .eh_frame FDE
 * (CIE pointer relative to itself, CIE id 0).  Every FDE is copied with
 * its CIE (pc-relative pointers re-encoded for the copy) and registered:
 * unwound and named.  Each FDE's range must lie inside [start_ip, end_ip).
 * (nongnu 1.6 reads a TABLE's table_data as its own private
 * struct unw_debug_frame_list, not as the documented table; and it cannot
 * name either table format: unw_get_proc_name tests the format of the
 * wrong structure and fails.)
 * Names: name_ptr names the table, like a library: a table of one
 * procedure names it with that string; in a table of several each
 * procedure is "NAME+0xOFF", OFF being its start's offset in the table
 * (the FDE's start - segbase: what start_ip_offset says).  name_ptr 0:
 * unnamed.
 *
 * UNW_INFO_FORMAT_ARM_EXIDX and unknown formats: an error.
 *
 * ---------------------------------------------------------------- errors
 *
 * _U_dyn_register returns nothing.  A description that cannot be used
 * (an invalid op, an unreadable pointer, a corrupt table or FDE, an
 * overlap with other registered code, di registered twice) is not
 * registered and not listed; the reason is recorded for the thread's
 * sw_jit_last_error (<stackwalk/jit.h>), "_U_dyn_register: ..." (reasons
 * of our own need sw_jit_set_last_error in libstackwalk; without it only
 * the registry's reasons are recorded).  Everything the description points
 * to is read with process_vm_readv (a pipe when that is refused): bad
 * pointers are errors, never crashes.
 * A description whose start_ip is already a registered procedure (code
 * registered through stackwalk's own API, or published to us) is only
 * listed: the registry keeps the registration it has.
 *
 * ---------------------------------------------------------------- the list
 *
 * _U_dyn_info_list_addr returns the address of an unw_dyn_info_list_t:
 * `first` links the registered unw_dyn_info_t through their next/prev
 * (newest first), `generation` grows at every register and cancel, for
 * readers of another process (a remote libunwind) who re-read the list
 * when it changed.  version stays 0, as in nongnu 1.6.
 *
 * Loops: stackwalk's libunwind publisher (src/jit/publishers/libunwind.c)
 * gives registrations to the process's _U_dyn_register; when that is this
 * file's, it recognises it (the library defining it resolves libstackwalk
 * to itself) and publishes nothing.  Should it call here anyway from
 * inside one of our own registry calls, the description is only listed.
 *
 * Thread-safe (a mutex of this file; registry calls are made without it
 * held).  Not async-signal-safe (allocation, the registry's writer lock).
 * _U_dyn_cancel of a di that is not registered does nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include <stackwalk/jit.h>

/* libstackwalk's recorder of reasons for sw_jit_last_error (a weak
 * reference: older libraries lack it, and then only the registry's own
 * reasons are recorded). */

#define NAME_MAX_LEN 1024       /* bytes of a name we copy, NUL included */
#define MAX_REGIONS 4096        /* the registry's bounds */
#define MAX_OPS 65536
#define MAX_TABLE 1048576       /* table entries */
#define MAX_ENTRY 65536         /* bytes of one CIE or FDE */

static pthread_mutex_t dyn_lock = PTHREAD_MUTEX_INITIALIZER;
static unw_dyn_info_list_t dyn_list;   /* version 0, as nongnu 1.6 leaves it */

/* set while this thread is inside one of our registry calls */
static __thread int in_registry;

/* ---------------------------------------------------------------- reasons */

__attribute__((format(printf, 2, 3)))
static int fail(int code, const char *fmt, ...)
{
	char buf[256];
	int n = snprintf(buf, sizeof buf, "_U_dyn_register: ");
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
	va_end(ap);
	sw_jit_set_last_error(code, buf);
	return code;
}

/* ---------------------------------------------------------------- reading memory */

static int pipe_fd[2] = { -1, -1 };
static pthread_mutex_t pipe_lock = PTHREAD_MUTEX_INITIALIZER;

/* Read len bytes at addr through a pipe (write() fails with EFAULT on an
 * unreadable source): when process_vm_readv is refused (seccomp). */
static int read_by_pipe(void *dst, uint64_t addr, size_t len)
{
	int rc = 0;

	pthread_mutex_lock(&pipe_lock);
	if (pipe_fd[0] < 0 && pipe2(pipe_fd, O_CLOEXEC | O_NONBLOCK) != 0) {
		pipe_fd[0] = pipe_fd[1] = -1;
		rc = -1;
	}
	while (rc == 0 && len) {
		size_t n = len > 4096 ? 4096 : len;
		ssize_t w = write(pipe_fd[1], (const void *)(uintptr_t)addr, n);
		if (w <= 0) {
			rc = -1;
			break;
		}
		if (read(pipe_fd[0], dst, (size_t)w) != w) {
			rc = -1;
			break;
		}
		dst = (uint8_t *)dst + w;
		addr += (uint64_t)w;
		len -= (size_t)w;
	}
	pthread_mutex_unlock(&pipe_lock);
	return rc;
}

/* Copy len bytes of this process's memory at addr; 0, or -1 when any of
 * them cannot be read. */
static int rd(void *dst, uint64_t addr, size_t len)
{
	static int no_vm_readv;

	if (!len)
		return 0;
	if (addr + len < addr)
		return -1;
	if (!__atomic_load_n(&no_vm_readv, __ATOMIC_RELAXED)) {
		struct iovec l = { dst, len }, r = { (void *)(uintptr_t)addr, len };
		ssize_t n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0 || errno == EFAULT)
			return -1;
		if (errno != EPERM && errno != ENOSYS)
			return -1;
		__atomic_store_n(&no_vm_readv, 1, __ATOMIC_RELAXED);
	}
	return read_by_pipe(dst, addr, len);
}

/* Copy the NUL-terminated string at addr (cut at size - 1 bytes), reading
 * no page the string does not reach.  0, or -1 (unreadable). */
static int rd_str(char *dst, size_t size, uint64_t addr)
{
	size_t got = 0;
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);

	while (got < size - 1) {
		size_t n = (size_t)(pg - ((addr + got) & (pg - 1)));
		if (n > size - 1 - got)
			n = size - 1 - got;
		if (rd(dst + got, addr + got, n) < 0)
			return -1;
		void *z = memchr(dst + got, 0, n);
		if (z)
			return 0;
		got += n;
	}
	dst[size - 1] = '\0';
	return 0;
}

/* ---------------------------------------------------------------- DYNAMIC */

/* A copy of the region list (each region followed by its ops). */
struct regions {
	struct sw_jit_dyn_region *first;
	void **blocks;
	size_t n;
};

static void regions_free(struct regions *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->blocks[i]);
	free(r->blocks);
	r->blocks = NULL;
	r->n = 0;
}

static int copy_regions(const unw_dyn_info_t *di, struct regions *out)
{
	uint64_t at = (uint64_t)(uintptr_t)di->u.pi.regions;
	struct sw_jit_dyn_region **link = &out->first;
	size_t total_ops = 0;

	out->first = NULL;
	out->blocks = NULL;
	out->n = 0;
	for (size_t ri = 0; at; ri++) {
		unw_dyn_region_info_t hdr;
		if (ri >= MAX_REGIONS)
			return fail(SW_EINVAL, "u.pi.regions: more than %d regions (a cycle?)",
				    MAX_REGIONS);
		if (rd(&hdr, at, offsetof(unw_dyn_region_info_t, op)) < 0)
			return fail(SW_EINVAL, "u.pi.regions: region %zu at %#llx cannot be read",
				    ri, (unsigned long long)at);
		if (hdr.op_count > MAX_OPS || total_ops + hdr.op_count > MAX_OPS)
			return fail(SW_EINVAL, "u.pi.regions: region %zu: op_count %u (more than %d "
				    "ops in all)", ri, hdr.op_count, MAX_OPS);
		/* the ops up to UNW_DYN_STOP or op_count, read a page at a time so
		 * an op array allocated shorter than op_count but ended by STOP
		 * is accepted */
		struct sw_jit_dyn_region *r =
			malloc(sizeof(*r) + (size_t)hdr.op_count * sizeof(struct sw_jit_dyn_op));
		void **nb = realloc(out->blocks, (out->n + 1) * sizeof(*nb));
		if (!r || !nb) {
			free(r);
			if (nb)
				out->blocks = nb;
			return fail(SW_ENOMEM, "out of memory");
		}
		out->blocks = nb;
		out->blocks[out->n++] = r;
		r->next = NULL;
		r->insn_count = hdr.insn_count;
		uint32_t n = 0;
		uint64_t ops = at + offsetof(unw_dyn_region_info_t, op);
		while (n < hdr.op_count) {
			unw_dyn_op_t op;
			if (rd(&op, ops + (uint64_t)n * sizeof(op), sizeof(op)) < 0)
				return fail(SW_EINVAL, "u.pi.regions: region %zu: op %u at %#llx "
					    "cannot be read", ri, n,
					    (unsigned long long)(ops + (uint64_t)n * sizeof(op)));
			if (op.tag == UNW_DYN_STOP)
				break;
			if (op.tag == UNW_DYN_ALIAS &&
			    (op.val < di->start_ip || op.val >= di->end_ip))
				return fail(SW_EUNSUPPORTED, "u.pi.regions: region %zu: op %u: "
					    "UNW_DYN_ALIAS of %#llx, outside the procedure "
					    "[%#llx, %#llx): only aliases inside the procedure "
					    "are supported", ri, n, (unsigned long long)op.val,
					    (unsigned long long)di->start_ip,
					    (unsigned long long)di->end_ip);
			r->op[n].tag = op.tag;
			r->op[n].qp = op.qp;
			r->op[n].reg = op.reg;
			r->op[n].when = op.when;
			r->op[n].val = op.val;
			n++;
		}
		r->op_count = n;
		total_ops += n;
		*link = r;
		link = &r->next;
		at = (uint64_t)(uintptr_t)hdr.next;
	}
	return 0;
}

static int add_dynamic(const unw_dyn_info_t *di, sw_jit_handle_t *h)
{
	char name[NAME_MAX_LEN];
	struct regions regs;
	int rc;

	if (di->u.pi.name_ptr && rd_str(name, sizeof name, di->u.pi.name_ptr) < 0)
		return fail(SW_EINVAL, "u.pi.name_ptr: %#llx cannot be read",
			    (unsigned long long)di->u.pi.name_ptr);
	rc = copy_regions(di, &regs);
	if (rc == 0) {
		struct sw_jit_proc p = { 0 };
		p.start = di->start_ip;
		p.end = di->end_ip;
		p.name = di->u.pi.name_ptr ? name : NULL;
		p.kind = SW_JIT_UNWIND_DYN;
		p.personality = di->u.pi.handler;
		p.u.dyn = regs.first;
		in_registry++;
		rc = sw_jit_add_procs(&p, 1, h);
		in_registry--;
	}
	regions_free(&regs);
	return rc;
}

/* ---------------------------------------------------------------- tables */

/* DW_EH_PE_* */
enum {
	PE_absptr = 0x00, PE_uleb128 = 0x01, PE_udata2 = 0x02, PE_udata4 = 0x03,
	PE_udata8 = 0x04, PE_sleb128 = 0x09, PE_sdata2 = 0x0a, PE_sdata4 = 0x0b,
	PE_sdata8 = 0x0c, PE_pcrel = 0x10, PE_indirect = 0x80, PE_omit = 0xff,
};

/* bytes of a fixed-size encoded value, 0 for (s/u)leb128, -1 unknown */
static int pe_size(uint8_t enc)
{
	switch (enc & 0x0f) {
	case PE_absptr: case PE_udata8: case PE_sdata8: return 8;
	case PE_udata2: case PE_sdata2: return 2;
	case PE_udata4: case PE_sdata4: return 4;
	case PE_uleb128: case PE_sleb128: return 0;
	default: return -1;
	}
}

static int get_uleb(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	uint64_t r = 0;
	unsigned sh = 0;

	while (*pos < len) {
		uint8_t b = p[(*pos)++];
		if (sh < 64)
			r |= (uint64_t)(b & 0x7f) << sh;
		sh += 7;
		if (!(b & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -1;
}

/* skip an encoded pointer of encoding enc at *pos */
static int skip_ptr(const uint8_t *p, size_t len, size_t *pos, uint8_t enc)
{
	int sz = pe_size(enc);
	uint64_t v;

	if (sz < 0)
		return -1;
	if (sz == 0)
		return get_uleb(p, len, pos, &v);
	if (*pos + (size_t)sz > len)
		return -1;
	*pos += (size_t)sz;
	return 0;
}

static int64_t get_fixed(const uint8_t *p, uint8_t enc)
{
	switch (enc & 0x0f) {
	case PE_udata2: { uint16_t v; memcpy(&v, p, 2); return v; }
	case PE_sdata2: { int16_t v; memcpy(&v, p, 2); return v; }
	case PE_udata4: { uint32_t v; memcpy(&v, p, 4); return v; }
	case PE_sdata4: { int32_t v; memcpy(&v, p, 4); return v; }
	default: { int64_t v; memcpy(&v, p, 8); return v; }
	}
}

/* Store v in a fixed-size field of encoding enc; -1 when it does not fit. */
static int put_fixed(uint8_t *p, uint8_t enc, int64_t v)
{
	switch (enc & 0x0f) {
	case PE_udata2: if (v < 0 || v > UINT16_MAX) return -1; { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); } return 0;
	case PE_sdata2: if (v < INT16_MIN || v > INT16_MAX) return -1; { int16_t x = (int16_t)v; memcpy(p, &x, 2); } return 0;
	case PE_udata4: if (v < 0 || v > (int64_t)UINT32_MAX) return -1; { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); } return 0;
	case PE_sdata4: if (v < INT32_MIN || v > INT32_MAX) return -1; { int32_t x = (int32_t)v; memcpy(p, &x, 4); } return 0;
	default: memcpy(p, &v, 8); return 0;
	}
}

/* A CIE as read: what its FDEs need. */
struct cie {
	uint64_t addr;          /* in the process */
	uint8_t *bytes;         /* the whole CIE, length field included */
	size_t len;
	uint8_t fde_enc, lsda_enc;
	int z, has_lsda;
	size_t pers_at;         /* offset of the personality pointer, 0: none */
	uint8_t pers_enc;
	size_t out_at;          /* where its copy is in the output, or SIZE_MAX */
};

/* Read one length-prefixed entry (32-bit DWARF) at addr into a new buffer. */
static int read_entry(uint64_t addr, uint8_t **bytes, size_t *len, const char *what, size_t i)
{
	uint32_t l;

	if (rd(&l, addr, 4) < 0)
		return fail(SW_EINVAL, "table entry %zu: the %s at %#llx cannot be read", i, what,
			    (unsigned long long)addr);
	if (l == 0xffffffffu)
		return fail(SW_EUNSUPPORTED, "table entry %zu: the %s at %#llx is 64-bit DWARF",
			    i, what, (unsigned long long)addr);
	if (l < 8 || l > MAX_ENTRY)
		return fail(SW_EINVAL, "table entry %zu: the %s at %#llx has length %u", i, what,
			    (unsigned long long)addr, l);
	*len = (size_t)l + 4;
	*bytes = malloc(*len);
	if (!*bytes)
		return fail(SW_ENOMEM, "out of memory");
	if (rd(*bytes, addr, *len) < 0) {
		free(*bytes);
		*bytes = NULL;
		return fail(SW_EINVAL, "table entry %zu: the %s at %#llx (%zu bytes) cannot be read",
			    i, what, (unsigned long long)addr, *len);
	}
	return 0;
}

/* Parse the CIE's augmentation: encodings and the personality field. */
static int parse_cie(struct cie *c, size_t i)
{
	const uint8_t *p = c->bytes;
	size_t len = c->len, pos = 8;
	uint64_t v;
	uint32_t id;

	memcpy(&id, p + 4, 4);
	if (id != 0)
		return fail(SW_EBADCIE, "table entry %zu: the FDE's CIE pointer leads to %#llx, "
			    "not a CIE (an .eh_frame FDE is expected)", i,
			    (unsigned long long)c->addr);
	if (pos >= len)
		goto trunc;
	uint8_t version = p[pos++];
	if (version != 1 && version != 3)
		return fail(SW_EVERSION, "table entry %zu: CIE at %#llx has version %u", i,
			    (unsigned long long)c->addr, version);
	const char *aug = (const char *)p + pos;
	const uint8_t *nul = memchr(aug, 0, len - pos);
	if (!nul)
		goto trunc;
	pos = (size_t)(nul - p) + 1;
	if (get_uleb(p, len, &pos, &v) < 0 || get_uleb(p, len, &pos, &v) < 0)   /* alignments */
		goto trunc;
	if (version == 1)
		pos++;
	else if (get_uleb(p, len, &pos, &v) < 0)
		goto trunc;
	c->fde_enc = PE_absptr;
	c->lsda_enc = PE_omit;
	if (aug[0] != 'z')
		return aug[0] ? fail(SW_EAUGMENTATION, "table entry %zu: CIE at %#llx has "
				     "augmentation \"%s\"", i, (unsigned long long)c->addr, aug) : 0;
	c->z = 1;
	if (get_uleb(p, len, &pos, &v) < 0 || pos > len)
		goto trunc;
	for (const char *a = aug + 1; *a; a++) {
		if (pos >= len)
			goto trunc;
		switch (*a) {
		case 'P':
			c->pers_enc = p[pos++];
			c->pers_at = pos;
			if (skip_ptr(p, len, &pos, c->pers_enc) < 0)
				goto badenc;
			break;
		case 'L':
			c->lsda_enc = p[pos++];
			c->has_lsda = c->lsda_enc != PE_omit;
			break;
		case 'R':
			c->fde_enc = p[pos++];
			break;
		case 'S':
		case 'B':
			break;
		default:
			return fail(SW_EAUGMENTATION, "table entry %zu: CIE at %#llx has "
				    "augmentation \"%s\"", i, (unsigned long long)c->addr, aug);
		}
	}
	if (pe_size(c->fde_enc) <= 0 || (c->fde_enc & PE_indirect))
		goto badenc;
	return 0;
trunc:
	return fail(SW_ETRUNCATED, "table entry %zu: CIE at %#llx is truncated", i,
		    (unsigned long long)c->addr);
badenc:
	return fail(SW_EENCODING, "table entry %zu: CIE at %#llx: unsupported pointer encoding",
		    i, (unsigned long long)c->addr);
}

/* Re-encode the pointer field at byte `at` of an entry that lived at
 * `from` and now lives at `to` (virtual addresses): pc-relative values
 * keep their target. */
static int move_ptr(uint8_t *bytes, size_t at, uint8_t enc, uint64_t from, uint64_t to)
{
	if ((enc & 0x70) != PE_pcrel)
		return 0;
	if (pe_size(enc) <= 0)
		return -1;
	int64_t v = get_fixed(bytes + at, enc);
	return put_fixed(bytes + at, enc, v + (int64_t)(from - to));
}

/* A growing output buffer. */
struct obuf {
	uint8_t *p;
	size_t len, cap;
};

static int ob_put(struct obuf *o, const void *src, size_t n)
{
	if (o->len + n + 4 > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 4096;
		while (cap < o->len + n + 4)
			cap *= 2;
		uint8_t *np = realloc(o->p, cap);
		if (!np)
			return -1;
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->len, src, n);
	o->len += n;
	return 0;
}

#define CIE_CACHE 8

static int add_table(const unw_dyn_info_t *di, sw_jit_handle_t *h)
{
	const unw_dyn_remote_table_info_t *t = &di->u.rti;  /* same layout as u.ti */
	uint64_t tab_addr = t->table_data, segbase = t->segbase;
	uint64_t ip_base = di->format == UNW_INFO_FORMAT_IP_OFFSET ? di->start_ip : segbase;
	size_t n = (size_t)t->table_len;   /* one 8-byte entry per unw_word_t */
	struct { int32_t start, fde; } *tab = NULL;
	struct cie cies[CIE_CACHE];
	size_t ncie = 0, next_cie = 0;
	struct obuf o = { 0 };
	uint64_t base = 0;                  /* virtual address of the output */
	char tname[NAME_MAX_LEN];
	char **names = NULL;
	uint8_t *fde = NULL;
	int rc = 0;

	memset(cies, 0, sizeof cies);
	if (t->table_len == 0 || t->table_len > MAX_TABLE)
		return fail(SW_EINVAL, "u.ti.table_len: %llu entries (1..%d)",
			    (unsigned long long)t->table_len, MAX_TABLE);
	if (!tab_addr)
		return fail(SW_EINVAL, "u.ti.table_data: NULL");
	if (t->name_ptr && rd_str(tname, sizeof tname, t->name_ptr) < 0)
		return fail(SW_EINVAL, "u.ti.name_ptr: %#llx cannot be read",
			    (unsigned long long)t->name_ptr);
	tab = malloc(n * sizeof(*tab));
	names = t->name_ptr ? calloc(n, sizeof(*names)) : NULL;
	if (!tab || (t->name_ptr && !names)) {
		rc = fail(SW_ENOMEM, "out of memory");
		goto out;
	}
	if (rd(tab, tab_addr, n * sizeof(*tab)) < 0) {
		rc = fail(SW_EINVAL, "u.ti.table_data: %zu bytes at %#llx cannot be read",
			  n * sizeof(*tab), (unsigned long long)tab_addr);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (i && tab[i].start <= tab[i - 1].start) {
			rc = fail(SW_EINVAL, "table entry %zu: start_ip_offset %d does not follow %d "
				  "(the table must be sorted)", i, tab[i].start, tab[i - 1].start);
			goto out;
		}
		uint64_t fa = segbase + (uint64_t)(int64_t)tab[i].fde;
		size_t flen;
		free(fde);
		fde = NULL;
		if ((rc = read_entry(fa, &fde, &flen, "FDE", i)) < 0)
			goto out;
		uint32_t cptr;
		memcpy(&cptr, fde + 4, 4);
		if (cptr == 0) {
			rc = fail(SW_EINVAL, "table entry %zu: %#llx is a CIE, not an FDE", i,
				  (unsigned long long)fa);
			goto out;
		}
		uint64_t ca = fa + 4 - cptr;
		struct cie *c = NULL;
		for (size_t k = 0; k < ncie; k++)
			if (cies[k].addr == ca)
				c = &cies[k];
		if (!c) {
			/* evict round-robin; its copy stays in the output */
			c = &cies[ncie < CIE_CACHE ? ncie++ : next_cie++ % CIE_CACHE];
			free(c->bytes);
			memset(c, 0, sizeof(*c));
			c->addr = ca;
			c->out_at = SIZE_MAX;
			if ((rc = read_entry(ca, &c->bytes, &c->len, "CIE", i)) < 0 ||
			    (rc = parse_cie(c, i)) < 0) {
				c->addr = 0;
				goto out;
			}
		}
		/* the FDE's fields */
		size_t pos = 8;
		int fsz = pe_size(c->fde_enc);
		if (pos + 2 * (size_t)fsz > flen) {
			rc = fail(SW_ETRUNCATED, "table entry %zu: FDE at %#llx is truncated", i,
				  (unsigned long long)fa);
			goto out;
		}
		int64_t pc = get_fixed(fde + pos, c->fde_enc);
		uint64_t start = (uint64_t)pc + ((c->fde_enc & 0x70) == PE_pcrel ? fa + pos : 0);
		uint64_t range = (uint64_t)get_fixed(fde + pos + (size_t)fsz, c->fde_enc & 0x0f);
		if ((c->fde_enc & 0x70) != PE_pcrel && (c->fde_enc & 0x70) != 0) {
			rc = fail(SW_EENCODING, "table entry %zu: FDE at %#llx: address encoding %#x "
				  "(absolute or pc-relative expected)", i, (unsigned long long)fa,
				  c->fde_enc);
			goto out;
		}
		if (start < di->start_ip || start + range > di->end_ip || start + range <= start) {
			rc = fail(SW_EINVAL, "table entry %zu: FDE at %#llx covers [%#llx, %#llx), "
				  "not inside [start_ip, end_ip) = [%#llx, %#llx)", i,
				  (unsigned long long)fa, (unsigned long long)start,
				  (unsigned long long)(start + range),
				  (unsigned long long)di->start_ip, (unsigned long long)di->end_ip);
			goto out;
		}
		size_t lsda_at = 0;
		if (c->z) {
			size_t p2 = pos + 2 * (size_t)fsz;
			uint64_t alen;
			if (get_uleb(fde, flen, &p2, &alen) < 0 || p2 + alen > flen) {
				rc = fail(SW_ETRUNCATED, "table entry %zu: FDE at %#llx is truncated", i,
					  (unsigned long long)fa);
				goto out;
			}
			if (c->has_lsda) {
				size_t q = p2;
				if (skip_ptr(fde, p2 + alen, &q, c->lsda_enc) < 0) {
					rc = fail(SW_EENCODING, "table entry %zu: FDE at %#llx: bad LSDA "
						  "pointer", i, (unsigned long long)fa);
					goto out;
				}
				lsda_at = p2;
			}
		}
		/* the output: the CIE (once), then the FDE; the output's virtual
		 * address puts the first FDE where it was, so pc-relative fields
		 * stay small */
		if (c->out_at == SIZE_MAX) {
			c->out_at = o.len;
			if (ob_put(&o, c->bytes, c->len) < 0) {
				rc = fail(SW_ENOMEM, "out of memory");
				goto out;
			}
		}
		size_t f_at = o.len;
		if (i == 0)
			base = fa - f_at;
		if (ob_put(&o, fde, flen) < 0) {
			rc = fail(SW_ENOMEM, "out of memory");
			goto out;
		}
		uint8_t *nf = o.p + f_at;
		uint32_t ncptr = (uint32_t)(f_at + 4 - c->out_at);
		memcpy(nf + 4, &ncptr, 4);
		uint64_t nfa = base + f_at;
		if (move_ptr(nf, 8, c->fde_enc, fa, nfa) < 0 ||
		    (lsda_at && move_ptr(nf, lsda_at, c->lsda_enc, fa, nfa) < 0)) {
			rc = fail(SW_EENCODING, "table entry %zu: FDE at %#llx: a pc-relative "
				  "pointer cannot be re-encoded for the copy", i, (unsigned long long)fa);
			goto out;
		}
		if (c->pers_at && c->out_at == f_at - c->len &&
		    move_ptr(o.p + c->out_at, c->pers_at, c->pers_enc, c->addr,
			     base + c->out_at) < 0) {
			rc = fail(SW_EENCODING, "table entry %zu: CIE at %#llx: the personality "
				  "pointer cannot be re-encoded for the copy", i,
				  (unsigned long long)c->addr);
			goto out;
		}
		if (names) {
			if (n == 1) {
				names[i] = strdup(tname);
			} else {
				size_t l = strlen(tname) + 24;
				names[i] = malloc(l);
				if (names[i])
					snprintf(names[i], l, "%s+0x%llx", tname,
						 (unsigned long long)(start - ip_base));
			}
			if (!names[i]) {
				rc = fail(SW_ENOMEM, "out of memory");
				goto out;
			}
		}
	}
	memset(o.p + o.len, 0, 4);   /* the terminator (ob_put keeps room) */
	in_registry++;
	rc = sw_jit_add_eh_frame(o.p, o.len + 4, base, (const char *const *)names,
				 names ? n : 0, h);
	in_registry--;
out:
	for (size_t k = 0; k < ncie; k++)
		free(cies[k].bytes);
	if (names)
		for (size_t i = 0; i < n; i++)
			free(names[i]);
	free(names);
	free(fde);
	free(o.p);
	free(tab);
	return rc;
}

/* ---------------------------------------------------------------- registrations */

/* One _U_dyn_register'ed di, in a hash table keyed by its address. */
struct rec {
	unw_dyn_info_t *di;
	sw_jit_handle_t h;      /* 0: only listed */
	int pending;            /* _U_dyn_register still converting it */
	int cancelled;          /* _U_dyn_cancel came meanwhile */
	struct rec *next;
};

static struct rec **buckets;
static size_t nbuckets, nrecs;

static size_t hash_di(const unw_dyn_info_t *di, size_t nb)
{
	uint64_t x = (uint64_t)(uintptr_t)di;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return (size_t)x & (nb - 1);
}

static struct rec **rec_slot(const unw_dyn_info_t *di)
{
	if (!nbuckets)
		return NULL;
	struct rec **s = &buckets[hash_di(di, nbuckets)];
	while (*s && (*s)->di != di)
		s = &(*s)->next;
	return s;
}

static int rec_insert(struct rec *r)
{
	if (nrecs + 1 > nbuckets) {
		size_t nb = nbuckets ? nbuckets * 2 : 64;
		struct rec **b = calloc(nb, sizeof(*b));
		if (!b)
			return -1;
		for (size_t i = 0; i < nbuckets; i++) {
			struct rec *e = buckets[i], *nx;
			for (; e; e = nx) {
				nx = e->next;
				size_t k = hash_di(e->di, nb);
				e->next = b[k];
				b[k] = e;
			}
		}
		free(buckets);
		buckets = b;
		nbuckets = nb;
	}
	size_t k = hash_di(r->di, nbuckets);
	r->next = buckets[k];
	buckets[k] = r;
	nrecs++;
	return 0;
}

static void rec_unlink(struct rec **slot)
{
	*slot = (*slot)->next;
	nrecs--;
}

/* di into / out of the list remote readers walk (under dyn_lock) */
static void list_add(unw_dyn_info_t *di)
{
	di->prev = NULL;
	di->next = dyn_list.first;
	if (di->next)
		di->next->prev = di;
	__atomic_store_n(&dyn_list.first, di, __ATOMIC_RELEASE);
	__atomic_add_fetch(&dyn_list.generation, 1, __ATOMIC_RELEASE);
}

static void list_remove(unw_dyn_info_t *di)
{
	if (di->prev)
		di->prev->next = di->next;
	else
		__atomic_store_n(&dyn_list.first, di->next, __ATOMIC_RELEASE);
	if (di->next)
		di->next->prev = di->prev;
	di->next = di->prev = NULL;
	__atomic_add_fetch(&dyn_list.generation, 1, __ATOMIC_RELEASE);
}

/* Convert and register di's description. */
static int convert(const unw_dyn_info_t *di, sw_jit_handle_t *h)
{
	if (di->start_ip >= di->end_ip)
		return fail(SW_EINVAL, "[start_ip, end_ip) = [%#llx, %#llx) is empty",
			    (unsigned long long)di->start_ip, (unsigned long long)di->end_ip);
	switch (di->format) {
	case UNW_INFO_FORMAT_DYNAMIC:
		return add_dynamic(di, h);
	case UNW_INFO_FORMAT_TABLE:
	case UNW_INFO_FORMAT_REMOTE_TABLE:
	case UNW_INFO_FORMAT_IP_OFFSET:
		return add_table(di, h);
	case UNW_INFO_FORMAT_ARM_EXIDX:
		return fail(SW_EUNSUPPORTED, "format UNW_INFO_FORMAT_ARM_EXIDX is ARM's");
	default:
		return fail(SW_EINVAL, "format %d is not an UNW_INFO_FORMAT_*", di->format);
	}
}

SWU_API void _U_dyn_register(unw_dyn_info_t *di)
{
	struct rec *r, **slot;
	sw_jit_handle_t h = 0;
	int rc;

	if (!di) {
		fail(SW_EINVAL, "di: NULL");
		return;
	}
	if (in_registry) {
		/* called back from inside our own registry call (a publisher
		 * handing our registration back to us): the registry has it */
		pthread_mutex_lock(&dyn_lock);
		slot = rec_slot(di);
		if ((!slot || !*slot) && (r = calloc(1, sizeof(*r)))) {
			r->di = di;
			if (rec_insert(r) == 0)
				list_add(di);
			else
				free(r);
		}
		pthread_mutex_unlock(&dyn_lock);
		return;
	}

	r = calloc(1, sizeof(*r));
	if (!r) {
		fail(SW_ENOMEM, "out of memory");
		return;
	}
	r->di = di;
	r->pending = 1;
	pthread_mutex_lock(&dyn_lock);
	slot = rec_slot(di);
	if (slot && *slot) {
		pthread_mutex_unlock(&dyn_lock);
		free(r);
		fail(SW_EINVAL, "di %p is already registered", (void *)di);
		return;
	}
	if (rec_insert(r) < 0) {
		pthread_mutex_unlock(&dyn_lock);
		free(r);
		fail(SW_ENOMEM, "out of memory");
		return;
	}
	pthread_mutex_unlock(&dyn_lock);

	/* the registry, without our lock held */
	struct sw_jit_found found;
	if (di->start_ip < di->end_ip && sw_jit_lookup(di->start_ip, &found) == 0 &&
	    found.start == di->start_ip)
		rc = 0;         /* registered already (stackwalk's own API): list it */
	else
		rc = convert(di, &h);

	if (rc < 0) {
		/* the registry's reason, said as ours */
		const char *why = sw_jit_last_error();
		if (strncmp(why, "_U_dyn_register: ", 17) != 0)
			fail(rc, "%s", why);
	}

	pthread_mutex_lock(&dyn_lock);
	slot = rec_slot(di);
	r->pending = 0;
	if (rc < 0 || r->cancelled) {
		rec_unlink(slot);
		pthread_mutex_unlock(&dyn_lock);
		if (h) {
			in_registry++;
			sw_jit_remove(h);
			in_registry--;
		}
		free(r);
		return;
	}
	r->h = h;
	list_add(di);
	pthread_mutex_unlock(&dyn_lock);
}

SWU_API void _U_dyn_cancel(unw_dyn_info_t *di)
{
	struct rec **slot, *r;
	sw_jit_handle_t h;

	if (!di)
		return;
	pthread_mutex_lock(&dyn_lock);
	slot = rec_slot(di);
	if (!slot || !*slot) {
		pthread_mutex_unlock(&dyn_lock);
		return;
	}
	r = *slot;
	if (r->pending) {
		/* _U_dyn_register of it is still running in another thread */
		r->cancelled = 1;
		pthread_mutex_unlock(&dyn_lock);
		return;
	}
	rec_unlink(slot);
	list_remove(di);
	h = r->h;
	pthread_mutex_unlock(&dyn_lock);
	if (h && !in_registry) {
		in_registry++;
		sw_jit_remove(h);
		in_registry--;
	}
	free(r);
}

SWU_API unw_word_t _U_dyn_info_list_addr(void)
{
	return (unw_word_t)(uintptr_t)&dyn_list;
}
