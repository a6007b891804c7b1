/*
 * DWARF line tables (.debug_line, versions 2 to 5): see line.h.
 *
 * Shape of the decoder.  Programs without DW_LNE_define_file (every
 * compiler's today) skip the counting pass: their sequences go into a
 * scratch array bounded by the program's size (parse_fast).  Others are
 * run up to three times over
 * the same bytes instead of growing buffers (no malloc, and the arena
 * never frees):
 *   1. count: rows, sequences and DW_LNE_define_file entries;
 *   2. sequences: for each sequence, where its opcodes start, its first
 *      and end address, its row count and whether its addresses never go
 *      down; define_file names are recorded;
 *   3. rows: the kept sequences, sorted by start address, are run again
 *      one by one straight into their place in the final row array.
 * A sequence can be re-run on its own because DW_LNE_end_sequence resets
 * every state-machine register (DWARF 5, 6.2.5.3).  Every opcode takes at
 * least one byte, so a pass is bounded by the program's size and so is
 * the number of rows.
 *
 * File names are joined like llvm-symbolizer prints them (LLVM's
 * Prologue::getFileNameByIndex with AbsoluteFilePath): an absolute name
 * stands alone; otherwise [comp_dir/]dir/name, where comp_dir is added
 * unless the directory is absolute or, in DWARF 5, the directory is entry
 * 0 (which already is the compilation directory).
 */
#include "symbolize/line.h"

#include <string.h>

#include "dwarf/reader.h"

/* DW_LNS_* standard opcodes */
enum {
	LNS_copy = 1,
	LNS_advance_pc = 2,
	LNS_advance_line = 3,
	LNS_set_file = 4,
	LNS_set_column = 5,
	LNS_negate_stmt = 6,
	LNS_set_basic_block = 7,
	LNS_const_add_pc = 8,
	LNS_fixed_advance_pc = 9,
	LNS_set_prologue_end = 10,
	LNS_set_epilogue_begin = 11,
	LNS_set_isa = 12,
};

/* DW_LNE_* extended opcodes */
enum {
	LNE_end_sequence = 1,
	LNE_set_address = 2,
	LNE_define_file = 3,
	LNE_set_discriminator = 4,
};

/* DW_LNCT_* content types of DWARF 5 entry formats */
enum {
	LNCT_path = 1,
	LNCT_directory_index = 2,
	LNCT_timestamp = 3,
	LNCT_size = 4,
	LNCT_MD5 = 5,
};

/* DW_FORM_* values an entry format may name (any form can be skipped) */
enum {
	FORM_addr = 0x01, FORM_block2 = 0x03, FORM_block4 = 0x04, FORM_data2 = 0x05,
	FORM_data4 = 0x06, FORM_data8 = 0x07, FORM_string = 0x08, FORM_block = 0x09,
	FORM_block1 = 0x0a, FORM_data1 = 0x0b, FORM_flag = 0x0c, FORM_sdata = 0x0d,
	FORM_strp = 0x0e, FORM_udata = 0x0f, FORM_ref_addr = 0x10, FORM_ref1 = 0x11,
	FORM_ref2 = 0x12, FORM_ref4 = 0x13, FORM_ref8 = 0x14, FORM_ref_udata = 0x15,
	FORM_indirect = 0x16, FORM_sec_offset = 0x17, FORM_exprloc = 0x18,
	FORM_flag_present = 0x19, FORM_strx = 0x1a, FORM_addrx = 0x1b,
	FORM_ref_sup4 = 0x1c, FORM_strp_sup = 0x1d, FORM_data16 = 0x1e,
	FORM_line_strp = 0x1f, FORM_ref_sig8 = 0x20, FORM_implicit_const = 0x21,
	FORM_loclistx = 0x22, FORM_rnglistx = 0x23, FORM_ref_sup8 = 0x24,
	FORM_strx1 = 0x25, FORM_strx2 = 0x26, FORM_strx3 = 0x27, FORM_strx4 = 0x28,
	FORM_addrx1 = 0x29, FORM_addrx2 = 0x2a, FORM_addrx3 = 0x2b, FORM_addrx4 = 0x2c,
	FORM_GNU_addr_index = 0x1f01, FORM_GNU_str_index = 0x1f02,
	FORM_GNU_ref_alt = 0x1f20, FORM_GNU_strp_alt = 0x1f21,
};

/* Entry formats hold at most this many (content type, form) pairs: the
 * count is one byte. */
#define LP_MAX_FORMAT 255

/* The parsed header of one line program. */
struct lp_header {
	uint16_t version;
	uint8_t offset_size;          /* 4 (32-bit DWARF) or 8 (64-bit DWARF) */
	uint8_t addr_size;            /* 4 or 8: tombstones, address masking */
	uint8_t min_inst;             /* minimum_instruction_length */
	uint8_t max_ops;              /* maximum_operations_per_instruction (>= 1) */
	uint8_t default_is_stmt;
	int8_t line_base;
	uint8_t line_range;           /* 0: special opcodes are invalid */
	uint8_t opcode_base;
	const uint8_t *std_lengths;   /* operand counts of opcodes 1..opcode_base-1 */
	struct sw_reader prog;        /* [program start, unit end) */
	uint32_t nfiles_hdr;          /* file entries the header declares */
};

/* One sequence as pass 2 sees it. */
struct lp_seq {
	const uint8_t *pos;     /* its first opcode */
	uint64_t start;         /* address of its first row */
	uint64_t end;           /* address of its end_sequence row */
	size_t nrows;           /* rows including the end_sequence row */
	bool monotonic;         /* row addresses never go down */
};

/* LP_FAST: LP_SEQS into a scratch array bounded by the program's size,
 * for programs without DW_LNE_define_file (stops at one) */
enum lp_mode { LP_COUNT, LP_SEQS, LP_ROWS, LP_FAST };

/* What one run of the state machine collects, by mode. */
struct lp_run {
	enum lp_mode mode;
	/* LP_COUNT results (also kept up to date by LP_SEQS) */
	size_t nrows;                 /* rows of terminated sequences */
	size_t nseqs;
	size_t ndefines;
	/* LP_SEQS: arrays sized by LP_COUNT */
	struct lp_seq *seqs;
	size_t seq_cap;
	const char **files;           /* the table's file array */
	uint32_t nfiles;              /* entries filled so far */
	uint32_t files_cap;
	const char *comp_dir;
	const char *const *dirs;      /* v2-4 include_directories (1-based in the program) */
	uint32_t ndirs;
	struct sw_arena *arena;
	/* LP_ROWS: destination of one sequence */
	struct sw_line_row *rows;
	size_t row_cap;
	bool saw_define;              /* LP_FAST: met DW_LNE_define_file (stopped) */
};

/* ---- paths ---- */

static bool path_absolute(const char *p)
{
	return p && p[0] == '/';
}

/* A path being joined; buf NULL measures only. */
struct pbuf {
	char *buf;
	size_t len;
	char last;
};

/* Append one component the way llvm::sys::path::append does on POSIX:
 * empty components are skipped, one '/' between components, and a
 * component after a path ending in '/' loses its leading slashes. */
static void pbuf_add(struct pbuf *p, const char *c)
{
	size_t n;

	if (!c || !*c)
		return;
	if (p->len > 0 && p->last == '/') {
		while (*c == '/')
			c++;
	} else if (p->len > 0 && c[0] != '/') {
		if (p->buf)
			p->buf[p->len] = '/';
		p->len++;
		p->last = '/';
	}
	n = strlen(c);
	if (n == 0)
		return;
	if (p->buf)
		memcpy(p->buf + p->len, c, n);
	p->len += n;
	p->last = c[n - 1];
}

/* "comp/dir/name" (any of comp and dir may be NULL) in the arena; NULL
 * when the arena is full. */
static const char *path_join(struct sw_arena *a, const char *comp, const char *dir, const char *name)
{
	struct pbuf p = { NULL, 0, 0 };
	char *s;

	pbuf_add(&p, comp);
	pbuf_add(&p, dir);
	pbuf_add(&p, name);
	s = sw_arena_alloc(a, p.len + 1, 1);
	if (!s)
		return NULL;
	p.buf = s;
	p.len = 0;
	p.last = 0;
	pbuf_add(&p, comp);
	pbuf_add(&p, dir);
	pbuf_add(&p, name);
	s[p.len] = '\0';
	return s;
}

/* The path of a DWARF 2-4 file entry (directory index 0: the unit's
 * compilation directory; 1..n: include_directories). */
static int file_path_v4(struct lp_run *run, const char *name, uint64_t dir_index, const char **out)
{
	const char *dir = NULL;

	*out = NULL;
	if (!name || !*name)
		return 0;
	if (path_absolute(name)) {
		*out = name;
		return 0;
	}
	if (dir_index > 0 && dir_index <= run->ndirs)
		dir = run->dirs[dir_index - 1];
	*out = path_join(run->arena, path_absolute(dir) ? NULL : run->comp_dir, dir, name);
	return *out ? 0 : SW_ENOMEM;
}

/* ---- DWARF 5 entry formats ---- */

/* A value read by form: a number, a string (NULL when it cannot be
 * resolved here, e.g. strx without the unit's str_offsets_base) or
 * nothing useful. */
struct lp_val {
	uint64_t u;
	const char *s;
	bool is_str;
};

/* The NUL-terminated string at `off` in `sec`, or NULL. */
static const char *sec_str(const struct sw_bytes *sec, uint64_t off)
{
	if (!sec->data || off >= sec->size)
		return NULL;
	if (!memchr(sec->data + off, 0, sec->size - (size_t)off))
		return NULL;
	return (const char *)sec->data + off;
}

/* Read (or skip) one value of `form`.  Unknown forms are SW_EENCODING:
 * their size is not known, so nothing after them can be read. */
static int lp_read_form(struct sw_reader *r, const struct lp_header *h,
			const struct sw_dwarf_sections *dw, uint64_t form, bool indirect_ok,
			struct lp_val *v)
{
	v->u = 0;
	v->s = NULL;
	v->is_str = false;
	switch (form) {
	case FORM_string:
		v->is_str = true;
		v->s = sw_rd_cstr(r);
		break;
	case FORM_line_strp:
		v->is_str = true;
		v->u = sw_rd_un(r, h->offset_size);
		if (!r->err)
			v->s = sec_str(&dw->line_str, v->u);
		break;
	case FORM_strp:
		v->is_str = true;
		v->u = sw_rd_un(r, h->offset_size);
		if (!r->err)
			v->s = sec_str(&dw->str, v->u);
		break;
	case FORM_strx: case FORM_GNU_str_index:
		/* needs the unit's DW_AT_str_offsets_base: not resolvable here */
		v->is_str = true;
		v->u = sw_rd_uleb(r);
		break;
	case FORM_strx1: v->is_str = true; v->u = sw_rd_un(r, 1); break;
	case FORM_strx2: v->is_str = true; v->u = sw_rd_un(r, 2); break;
	case FORM_strx3: v->is_str = true; v->u = sw_rd_un(r, 3); break;
	case FORM_strx4: v->is_str = true; v->u = sw_rd_un(r, 4); break;
	case FORM_strp_sup: case FORM_GNU_strp_alt:
		/* a string in the supplementary (dwz) file: not resolvable here */
		v->is_str = true;
		v->u = sw_rd_un(r, h->offset_size);
		break;
	case FORM_data1: case FORM_ref1: case FORM_flag: case FORM_addrx1:
		v->u = sw_rd_un(r, 1);
		break;
	case FORM_data2: case FORM_ref2: case FORM_addrx2:
		v->u = sw_rd_un(r, 2);
		break;
	case FORM_addrx3:
		v->u = sw_rd_un(r, 3);
		break;
	case FORM_data4: case FORM_ref4: case FORM_ref_sup4: case FORM_addrx4:
		v->u = sw_rd_un(r, 4);
		break;
	case FORM_data8: case FORM_ref8: case FORM_ref_sig8: case FORM_ref_sup8:
		v->u = sw_rd_un(r, 8);
		break;
	case FORM_data16:
		sw_rd_skip(r, 16);
		break;
	case FORM_udata: case FORM_ref_udata: case FORM_addrx: case FORM_loclistx:
	case FORM_rnglistx: case FORM_GNU_addr_index:
		v->u = sw_rd_uleb(r);
		break;
	case FORM_sdata:
		v->u = (uint64_t)sw_rd_sleb(r);
		break;
	case FORM_addr:
		v->u = sw_rd_un(r, h->addr_size);
		break;
	case FORM_ref_addr: case FORM_sec_offset: case FORM_GNU_ref_alt:
		v->u = sw_rd_un(r, h->offset_size);
		break;
	case FORM_block: case FORM_exprloc:
		sw_rd_skip(r, sw_rd_uleb(r));
		break;
	case FORM_block1:
		sw_rd_skip(r, sw_rd_un(r, 1));
		break;
	case FORM_block2:
		sw_rd_skip(r, sw_rd_un(r, 2));
		break;
	case FORM_block4:
		sw_rd_skip(r, sw_rd_un(r, 4));
		break;
	case FORM_flag_present:
		v->u = 1;
		break;
	case FORM_indirect:
		if (!indirect_ok)
			return sw_rd_fail(r, SW_EENCODING);
		return lp_read_form(r, h, dw, sw_rd_uleb(r), false, v);
	default:
		/* implicit_const has its value in an abbreviation, which a line
		 * header does not have; anything else is unknown */
		return sw_rd_fail(r, SW_EENCODING);
	}
	return r->err;
}

/* Fewest bytes a value of `form` takes (to bound entry counts), or -1
 * for a form lp_read_form refuses. */
static int form_min_size(uint64_t form, const struct lp_header *h)
{
	switch (form) {
	case FORM_flag_present: return 0;
	case FORM_string: case FORM_strx: case FORM_GNU_str_index: case FORM_udata:
	case FORM_ref_udata: case FORM_addrx: case FORM_loclistx: case FORM_rnglistx:
	case FORM_GNU_addr_index: case FORM_sdata: case FORM_block: case FORM_exprloc:
	case FORM_indirect:
	case FORM_data1: case FORM_ref1: case FORM_flag: case FORM_addrx1: case FORM_strx1:
	case FORM_block1:
		return 1;
	case FORM_data2: case FORM_ref2: case FORM_addrx2: case FORM_strx2: case FORM_block2:
		return 2;
	case FORM_addrx3: case FORM_strx3:
		return 3;
	case FORM_data4: case FORM_ref4: case FORM_ref_sup4: case FORM_addrx4: case FORM_strx4:
	case FORM_block4:
		return 4;
	case FORM_data8: case FORM_ref8: case FORM_ref_sig8: case FORM_ref_sup8:
		return 8;
	case FORM_data16:
		return 16;
	case FORM_addr:
		return h->addr_size;
	case FORM_line_strp: case FORM_strp: case FORM_strp_sup: case FORM_GNU_strp_alt:
	case FORM_ref_addr: case FORM_sec_offset: case FORM_GNU_ref_alt:
		return h->offset_size;
	default:
		return -1;
	}
}

/* An entry format: (content type, form) pairs. */
struct lp_format {
	unsigned n;
	uint16_t type[LP_MAX_FORMAT];   /* DW_LNCT_*: all fit in 16 bits (hi_user 0x3fff) */
	uint16_t form[LP_MAX_FORMAT];   /* DW_FORM_*: all known ones fit in 16 bits */
	size_t min_size;        /* bytes an entry takes at least */
};

static int read_format(struct sw_reader *r, const struct lp_header *h, struct lp_format *f)
{
	f->n = sw_rd_u8(r);
	f->min_size = 0;
	for (unsigned i = 0; i < f->n; i++) {
		uint64_t type = sw_rd_uleb(r), form = sw_rd_uleb(r);
		if (r->err)
			return r->err;
		int m = form_min_size(form, h);
		if (m < 0)
			return sw_rd_fail(r, SW_EENCODING);
		/* an unknown wide content type is read and ignored like any other */
		f->type[i] = (uint16_t)(type > 0xffff ? 0xffff : type);
		f->form[i] = (uint16_t)form;    /* known forms are all < 0x10000 */
		f->min_size += (size_t)m;
	}
	return r->err;
}

/* An entry count that the bytes left could not hold is malformed (and
 * would make the loops and allocations below unbounded). */
static uint64_t read_count(struct sw_reader *r, const struct lp_format *f)
{
	uint64_t n = sw_rd_uleb(r);
	size_t per = f->min_size ? f->min_size : 1;

	if (!r->err && n > sw_rd_left(r) / per)
		sw_rd_fail(r, SW_ELENGTH);
	return r->err ? 0 : n;
}

/* One DWARF 5 directory or file entry: its path and directory index. */
static int read_entry_v5(struct sw_reader *r, const struct lp_header *h,
			 const struct sw_dwarf_sections *dw, const struct lp_format *f,
			 const char **path, uint64_t *dir_index)
{
	struct lp_val v;

	*path = NULL;
	*dir_index = 0;
	for (unsigned i = 0; i < f->n; i++) {
		if (lp_read_form(r, h, dw, f->form[i], true, &v))
			return r->err;
		if (f->type[i] == LNCT_path && v.is_str)
			*path = v.s;
		else if (f->type[i] == LNCT_directory_index && !v.is_str)
			*dir_index = v.u;
		/* timestamp, size, MD5 and vendor types: read and ignored */
	}
	return 0;
}

/* DWARF 5 directories and files (6.2.4 items 14 to 21). */
static int read_tables_v5(struct sw_reader *r, const struct lp_header *h,
			  const struct sw_dwarf_sections *dw, struct lp_run *run,
			  uint32_t extra_files)
{
	struct lp_format f;
	const char **dirs = NULL;
	uint64_t ndirs, nfiles, dir_index;
	const char *path;

	if (read_format(r, h, &f))
		return r->err;
	ndirs = read_count(r, &f);
	if (r->err)
		return r->err;
	if (ndirs > UINT32_MAX)
		return sw_rd_fail(r, SW_ELENGTH);
	if (ndirs) {
		dirs = sw_arena_alloc(run->arena, (size_t)ndirs * sizeof(*dirs), _Alignof(const char *));
		if (!dirs)
			return SW_ENOMEM;
	}
	for (uint64_t i = 0; i < ndirs; i++) {
		if (read_entry_v5(r, h, dw, &f, &path, &dir_index))
			return r->err;
		dirs[i] = path;
	}

	if (read_format(r, h, &f))
		return r->err;
	nfiles = read_count(r, &f);
	if (r->err)
		return r->err;
	if (nfiles > UINT32_MAX - extra_files)
		return sw_rd_fail(r, SW_ELENGTH);
	run->files_cap = (uint32_t)nfiles + extra_files;
	if (run->files_cap) {
		run->files = sw_arena_alloc(run->arena, run->files_cap * sizeof(*run->files),
					    _Alignof(const char *));
		if (!run->files)
			return SW_ENOMEM;
	}
	for (uint64_t i = 0; i < nfiles; i++) {
		const char *dir = NULL;

		if (read_entry_v5(r, h, dw, &f, &path, &dir_index))
			return r->err;
		if (!path || !*path) {
			run->files[run->nfiles++] = NULL;
			continue;
		}
		if (path_absolute(path)) {
			run->files[run->nfiles++] = path;
			continue;
		}
		if (dir_index < ndirs)
			dir = dirs[dir_index];
		/* directory 0 is the compilation directory itself */
		const char *comp = dir_index != 0 && !path_absolute(dir) ? run->comp_dir : NULL;
		path = path_join(run->arena, comp, dir, path);
		if (!path)
			return SW_ENOMEM;
		run->files[run->nfiles++] = path;
	}
	return 0;
}

/* DWARF 2-4 include_directories and file_names: NUL-terminated lists. */
static int read_tables_v4(struct sw_reader *r, struct lp_run *run, uint32_t extra_files)
{
	struct sw_reader scan = *r;
	const char **dirs = NULL;
	uint32_t ndirs = 0, nfiles = 0;
	const char *s;

	/* count first: every entry takes at least two bytes, so the counts
	 * are bounded by the header's size */
	while ((s = sw_rd_cstr(&scan)) && *s)
		ndirs++;
	while ((s = sw_rd_cstr(&scan)) && *s) {
		sw_rd_uleb(&scan);
		sw_rd_uleb(&scan);
		sw_rd_uleb(&scan);
		nfiles++;
	}
	if (scan.err)
		return sw_rd_fail(r, scan.err);
	if (ndirs) {
		dirs = sw_arena_alloc(run->arena, ndirs * sizeof(*dirs), _Alignof(const char *));
		if (!dirs)
			return SW_ENOMEM;
	}
	for (uint32_t i = 0; i < ndirs; i++)
		dirs[i] = sw_rd_cstr(r);
	sw_rd_skip(r, 1);
	run->dirs = dirs;
	run->ndirs = ndirs;
	if ((uint64_t)nfiles + 1 + extra_files > UINT32_MAX)
		return sw_rd_fail(r, SW_ELENGTH);
	run->files_cap = nfiles + 1 + extra_files;
	run->files = sw_arena_alloc(run->arena, run->files_cap * sizeof(*run->files),
				    _Alignof(const char *));
	if (!run->files)
		return SW_ENOMEM;
	run->files[run->nfiles++] = NULL;       /* index 0: none before DWARF 5 */
	for (uint32_t i = 0; i < nfiles; i++) {
		const char *name = sw_rd_cstr(r);
		uint64_t dir = sw_rd_uleb(r);
		const char *path;
		int err;

		sw_rd_uleb(r);  /* modification time */
		sw_rd_uleb(r);  /* length */
		if (r->err)
			return r->err;
		err = file_path_v4(run, name, dir, &path);
		if (err)
			return err;
		run->files[run->nfiles++] = path;
	}
	sw_rd_skip(r, 1);
	return r->err;
}

/* ---- the header ---- */

/* Parse the unit header at `offset`; `r` reads the file/directory tables
 * afterwards (its end: the program's start). */
static int read_header(const struct sw_dwarf_sections *dw, uint64_t offset, uint8_t addr_size,
		       struct lp_header *h, struct sw_reader *tables)
{
	struct sw_reader sec, unit;
	uint64_t len, hlen;

	memset(h, 0, sizeof(*h));
	if (!dw->line.data || offset >= dw->line.size)
		return SW_ETRUNCATED;
	sw_rd_init(&sec, dw->line.data, dw->line.size, 0, ".debug_line");
	sec.pos += offset;
	h->offset_size = 4;
	len = sw_rd_u32(&sec);
	if (len == 0xffffffffu) {
		h->offset_size = 8;
		len = sw_rd_u64(&sec);
	} else if (len >= 0xfffffff0u) {
		return SW_ELENGTH;     /* reserved values */
	}
	if (sec.err)
		return sec.err;
	sw_rd_sub(&unit, &sec, sec.pos, len);
	if (unit.err)
		return unit.err;
	h->version = sw_rd_u16(&unit);
	if (unit.err)
		return unit.err;
	if (h->version < 2 || h->version > 5)
		return SW_EVERSION;
	h->addr_size = addr_size == 4 || addr_size == 8 ? addr_size : 8;
	if (h->version >= 5) {
		uint8_t as = sw_rd_u8(&unit);
		sw_rd_u8(&unit);        /* segment_selector_size */
		if ((addr_size != 4 && addr_size != 8) && (as == 4 || as == 8))
			h->addr_size = as;
	}
	hlen = sw_rd_un(&unit, h->offset_size);
	if (unit.err)
		return unit.err;
	if (hlen > sw_rd_left(&unit))
		return SW_ELENGTH;
	sw_rd_sub(tables, &unit, unit.pos, hlen);
	/* the program runs from the end of the header to the end of the unit */
	sw_rd_sub(&h->prog, &unit, unit.pos + hlen, sw_rd_left(&unit) - hlen);

	h->min_inst = sw_rd_u8(tables);
	h->max_ops = h->version >= 4 ? sw_rd_u8(tables) : 1;
	h->default_is_stmt = sw_rd_u8(tables);
	h->line_base = (int8_t)sw_rd_u8(tables);
	h->line_range = sw_rd_u8(tables);
	h->opcode_base = sw_rd_u8(tables);
	if (h->opcode_base > 1)
		h->std_lengths = sw_rd_bytes(tables, h->opcode_base - 1u);
	if (tables->err)
		return tables->err;
	if (h->max_ops == 0)
		return SW_EBADOP;       /* would divide by zero; DWARF requires >= 1 */
	return 0;
}

/* ---- the state machine ---- */

struct lp_state {
	uint64_t addr;
	uint64_t op_index;
	uint64_t file;
	uint32_t line;
	uint64_t column;
};

static void lp_reset(struct lp_state *s)
{
	s->addr = 0;
	s->op_index = 0;
	s->file = 1;
	s->line = 1;
	s->column = 0;
}

/* Advance by `adv` operations (DWARF 5, 6.2.5.1: VLIW op_index). */
static void lp_advance(const struct lp_header *h, struct lp_state *s, uint64_t adv)
{
	if (h->max_ops == 1) {
		s->addr += (uint64_t)h->min_inst * adv;
	} else {
		uint64_t q = adv / h->max_ops, rem = adv % h->max_ops;
		uint64_t op = s->op_index + rem;      /* < 2 * max_ops: no overflow */
		s->addr += (uint64_t)h->min_inst * (q + op / h->max_ops);
		s->op_index = op % h->max_ops;
	}
	if (h->addr_size == 4)
		s->addr &= 0xffffffffu;
}

/* Per-sequence bookkeeping while running. */
struct lp_cur {
	const uint8_t *pos;     /* first opcode of the open sequence */
	size_t nrows;
	uint64_t start, last;
	bool monotonic;
};

static int lp_emit(struct lp_run *run, struct lp_cur *c, const struct lp_state *s, bool end)
{
	if (c->nrows == 0) {
		c->start = s->addr;
		c->last = s->addr;
		c->monotonic = true;
	} else if (s->addr < c->last) {
		c->monotonic = false;
	}
	c->last = s->addr;
	if (run->mode == LP_ROWS) {
		if (c->nrows >= run->row_cap)
			return SW_ELENGTH;      /* cannot happen: same bytes as before */
		struct sw_line_row *row = &run->rows[c->nrows];
		row->addr = s->addr;
		row->file = (uint32_t)(s->file > UINT32_MAX ? UINT32_MAX : s->file);
		row->line = s->line;
		row->column = (uint16_t)s->column;    /* LLVM keeps 16 bits too */
		row->end_sequence = end;
	}
	c->nrows++;
	return 0;
}

/* The sequence just closed by an end_sequence row. */
static int lp_close(struct lp_run *run, struct lp_cur *c)
{
	if (run->mode == LP_SEQS || run->mode == LP_FAST) {
		if (run->nseqs >= run->seq_cap)
			return SW_ELENGTH;      /* cannot happen: same bytes as pass 1 */
		struct lp_seq *q = &run->seqs[run->nseqs];
		q->pos = c->pos;
		q->start = c->start;
		q->end = c->last;
		q->nrows = c->nrows;
		q->monotonic = c->monotonic;
	}
	run->nseqs++;
	run->nrows += c->nrows;
	c->nrows = 0;
	return 0;
}

/* DW_LNE_define_file (DWARF 2-4): another file entry. */
static int lp_define_file(struct lp_run *run, struct sw_reader *op)
{
	const char *name = sw_rd_cstr(op);
	uint64_t dir = sw_rd_uleb(op);
	const char *path;
	int err;

	if (op->err)
		return 0;       /* malformed: skipped with the rest of the opcode */
	if (run->mode == LP_FAST) {
		/* the file table was sized without it: the counting passes */
		run->saw_define = true;
		return SW_EUNSUPPORTED;
	}
	run->ndefines++;
	if (run->mode != LP_SEQS)
		return 0;
	if (run->nfiles >= run->files_cap)
		return SW_ELENGTH;
	err = file_path_v4(run, name, dir, &path);
	if (err)
		return err;
	run->files[run->nfiles++] = path;
	return 0;
}

/* One extended opcode (after its 0 byte). */
static int lp_extended(const struct lp_header *h, struct sw_reader *r, struct lp_run *run,
		       struct lp_state *s, struct lp_cur *c, bool *closed)
{
	uint64_t len = sw_rd_uleb(r);
	struct sw_reader op;
	int err = 0;

	if (r->err)
		return r->err;
	if (len > sw_rd_left(r))
		return sw_rd_fail(r, SW_ETRUNCATED);
	if (len == 0)
		return 0;
	sw_rd_sub(&op, r, r->pos, len);
	sw_rd_skip(r, len);     /* the length as recorded decides where the next opcode is */
	switch (sw_rd_u8(&op)) {
	case LNE_end_sequence:
		err = lp_emit(run, c, s, true);
		if (!err)
			err = lp_close(run, c);
		lp_reset(s);
		*closed = true;
		break;
	case LNE_set_address: {
		size_t n = sw_rd_left(&op);
		if (n >= 1 && n <= 8) {
			s->addr = sw_rd_un(&op, (unsigned)n);
			if (h->addr_size == 4)
				s->addr &= 0xffffffffu;
			s->op_index = 0;
		}
		break;
	}
	case LNE_define_file:
		if (h->version < 5)
			err = lp_define_file(run, &op);
		break;
	case LNE_set_discriminator:
	default:
		break;          /* skipped by its length */
	}
	return err;
}

/*
 * Run the program from r->pos.  In LP_ROWS mode stop after the first
 * end_sequence.  Rows after the last end_sequence (an unterminated
 * sequence) are not counted: no lookup could use them.
 */
static int lp_exec(const struct lp_header *h, struct sw_reader *r, struct lp_run *run)
{
	struct lp_state s;
	struct lp_cur c = { r->pos, 0, 0, 0, true };
	int err = 0;

	lp_reset(&s);
	(void)h->default_is_stmt;       /* is_stmt is not kept: every row counts */
	while (!err && !r->err && sw_rd_left(r) > 0) {
		uint8_t opc = sw_rd_u8(r);
		bool closed = false;

		if (opc == 0) {
			err = lp_extended(h, r, run, &s, &c, &closed);
			if (closed) {
				c.pos = r->pos;
				if (run->mode == LP_ROWS)
					break;
			}
		} else if (opc >= h->opcode_base) {
			/* special opcode (6.2.5.1) */
			if (h->line_range == 0)
				return sw_rd_fail(r, SW_EBADOP);
			unsigned adj = opc - h->opcode_base;
			lp_advance(h, &s, adj / h->line_range);
			s.line += (uint32_t)(int32_t)(h->line_base + (int)(adj % h->line_range));
			err = lp_emit(run, &c, &s, false);
		} else {
			switch (opc) {
			case LNS_copy:
				err = lp_emit(run, &c, &s, false);
				break;
			case LNS_advance_pc:
				lp_advance(h, &s, sw_rd_uleb(r));
				break;
			case LNS_advance_line:
				s.line += (uint32_t)sw_rd_sleb(r);
				break;
			case LNS_set_file:
				s.file = sw_rd_uleb(r);
				break;
			case LNS_set_column:
				s.column = sw_rd_uleb(r);
				break;
			case LNS_negate_stmt:
			case LNS_set_basic_block:
			case LNS_set_prologue_end:
			case LNS_set_epilogue_begin:
				break;
			case LNS_const_add_pc:
				if (h->line_range == 0)
					return sw_rd_fail(r, SW_EBADOP);
				lp_advance(h, &s, (255u - h->opcode_base) / h->line_range);
				break;
			case LNS_fixed_advance_pc:
				s.addr += sw_rd_u16(r);
				if (h->addr_size == 4)
					s.addr &= 0xffffffffu;
				s.op_index = 0;
				break;
			case LNS_set_isa:
				sw_rd_uleb(r);
				break;
			default:
				/* unknown standard opcode: skip its ULEB128 operands */
				for (unsigned i = 0; i < h->std_lengths[opc - 1] && !r->err; i++)
					sw_rd_uleb(r);
				break;
			}
		}
	}
	return err ? err : r->err;
}

/* ---- sorting and choosing sequences ---- */

static bool seq_less(const struct lp_seq *a, const struct lp_seq *b)
{
	if (a->start != b->start)
		return a->start < b->start;
	return a->pos < b->pos;         /* unique: a total order, deterministic */
}

static void seq_sift(struct lp_seq *v, size_t i, size_t n)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < n && seq_less(&v[m], &v[l]))
			m = l;
		if (l + 1 < n && seq_less(&v[m], &v[l + 1]))
			m = l + 1;
		if (m == i)
			return;
		struct lp_seq t = v[i];
		v[i] = v[m];
		v[m] = t;
		i = m;
	}
}

/* Heap sort: O(n log n), no memory. */
static void seq_sort(struct lp_seq *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		seq_sift(v, i, n);
	for (size_t k = n; k-- > 1;) {
		struct lp_seq t = v[0];
		v[0] = v[k];
		v[k] = t;
		seq_sift(v, 0, k);
	}
}

static bool is_tombstone(const struct lp_header *h, uint64_t a)
{
	uint64_t max = h->addr_size == 4 ? 0xffffffffu : UINT64_MAX;

	return a == max || a == max - 1;
}

/* Keep the good sequences of run->seqs[0..nseqs): valid ranges, no
 * tombstones, none the linker sent to address 0 while the others have
 * real addresses, no overlaps; sorted by start address, compacted to the
 * front.  Returns how many are kept and their rows in *nrows. */
static size_t choose_seqs(const struct lp_header *h, struct lp_run *run, size_t *nrows)
{
	bool any_nonzero = false;
	uint64_t prev_end = 0;
	size_t kept = 0;

	*nrows = 0;
	for (size_t i = 0; i < run->nseqs; i++) {
		struct lp_seq *q = &run->seqs[i];
		if (q->start < q->end && q->monotonic && !is_tombstone(h, q->start) && q->start != 0)
			any_nonzero = true;
	}
	seq_sort(run->seqs, run->nseqs);
	for (size_t i = 0; i < run->nseqs; i++) {
		struct lp_seq *q = &run->seqs[i];
		bool keep = q->start < q->end && q->monotonic && !is_tombstone(h, q->start) &&
			    !(q->start == 0 && any_nonzero) && (kept == 0 || q->start >= prev_end);
		if (!keep)
			continue;
		prev_end = q->end;
		*nrows += q->nrows;
		run->seqs[kept++] = *q;
	}
	return kept;
}

/* The sampled addresses of t's rows (line.h), or none without memory. */
static void make_sparse(struct sw_line_table *t, struct sw_arena *a)
{
	size_t n = (t->nrows + SW_LINE_SPARSE - 1) / SW_LINE_SPARSE;
	uint64_t *v = n > 1 ? sw_arena_alloc(a, n * sizeof(*v), 8) : NULL;

	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = t->rows[i * SW_LINE_SPARSE].addr;
	t->sparse = v;
	t->nsparse = n;
}

/* Run the kept sequences run->seqs[0..kept) one by one straight into
 * their place in one arena array of nrows rows (in address order). */
static int fill_rows(const struct lp_header *h, const struct lp_seq *seqs, size_t kept,
		     size_t nrows, struct sw_arena *a, struct sw_line_row **out)
{
	struct sw_line_row *rows = NULL;

	*out = NULL;
	if (nrows) {
		rows = sw_arena_alloc(a, nrows * sizeof(*rows), _Alignof(struct sw_line_row));
		if (!rows)
			return SW_ENOMEM;
	}
	size_t at = 0;
	for (size_t i = 0; i < kept; i++) {
		struct lp_run one = { .mode = LP_ROWS, .rows = rows + at, .row_cap = seqs[i].nrows };
		struct sw_reader prog = h->prog;
		prog.pos = seqs[i].pos;
		int err = lp_exec(h, &prog, &one);
		if (err || one.nrows != seqs[i].nrows)
			return err ? err : SW_ELENGTH;
		at += seqs[i].nrows;
	}
	*out = rows;
	return 0;
}

/*
 * Two passes instead of three, for programs without DW_LNE_define_file
 * (all of today's compilers'): the sequences are found in one pass into a
 * scratch array bounded by the program's size (every sequence ends with a
 * 3-byte opcode; mapped lazily, so only what is written is touched), then
 * the kept ones are run again into their place (fill_rows).
 * Returns SW_EUNSUPPORTED when the program defines files (the counting
 * pass then sizes the file table), else as sw_line_parse.
 */
static int parse_fast(const struct sw_dwarf_sections *dw, const struct lp_header *h,
		      struct sw_reader tables, const char *comp_dir, struct sw_arena *a,
		      struct sw_line_table *out)
{
	struct lp_run run;
	struct sw_reader prog = h->prog;
	int err, prog_err;

	memset(&run, 0, sizeof(run));
	run.mode = LP_SEQS;     /* the file tables' own mode */
	run.arena = a;
	run.comp_dir = comp_dir;
	err = h->version >= 5 ? read_tables_v5(&tables, h, dw, &run, 0)
			      : read_tables_v4(&tables, &run, 0);
	if (err)
		return err;
	run.mode = LP_FAST;
	run.seq_cap = sw_rd_left(&prog) / 3 + 1;
	run.seqs = sw_scratch_alloc_dirty(run.seq_cap * sizeof(struct lp_seq));
	if (!run.seqs)
		return SW_ENOMEM;
	prog_err = lp_exec(h, &prog, &run);
	if (run.saw_define || prog_err == SW_ENOMEM) {
		err = run.saw_define ? SW_EUNSUPPORTED : prog_err;
		goto out;
	}
	size_t nrows;
	size_t kept = choose_seqs(h, &run, &nrows);
	struct sw_line_row *rows;
	err = fill_rows(h, run.seqs, kept, nrows, a, &rows);
	if (err)
		goto out;
	out->files = run.files;
	out->nfiles = run.nfiles;
	out->rows = rows;
	out->nrows = nrows;
	make_sparse(out, a);
	/* a program that went wrong after some complete sequences: the table
	 * holds those, and the error is reported */
	err = prog_err;
out:
	sw_scratch_free(run.seqs);
	return err;
}

/* ---- the interface ---- */

int sw_line_parse(const struct sw_dwarf_sections *dw, uint64_t offset, const char *comp_dir,
		  const char *cu_name, uint8_t addr_size, struct sw_arena *a,
		  struct sw_line_table *out)
{
	struct lp_header h;
	struct sw_reader tables, prog;
	struct lp_run count = { .mode = LP_COUNT }, run;
	struct sw_line_row *rows = NULL;
	size_t kept = 0, nrows = 0;
	int err, prog_err;

	(void)cu_name;  /* file 0 before DWARF 5 stays NULL, as LLVM leaves it */
	memset(out, 0, sizeof(*out));
	if (!dw || !a)
		return SW_EINVAL;
	err = read_header(dw, offset, addr_size, &h, &tables);
	if (err)
		return err;
	out->version = h.version;

	err = parse_fast(dw, &h, tables, comp_dir, a, out);
	if (err != SW_EUNSUPPORTED)
		return err;
	memset(out, 0, sizeof(*out));
	out->version = h.version;

	/* pass 1: count */
	prog = h.prog;
	prog_err = lp_exec(&h, &prog, &count);
	if (prog_err == SW_ENOMEM)
		return prog_err;

	/* the file table (header entries plus define_file ones) */
	memset(&run, 0, sizeof(run));
	run.mode = LP_SEQS;
	run.arena = a;
	run.comp_dir = comp_dir;
	if (count.ndefines > UINT32_MAX / 2)
		return SW_ELENGTH;
	err = h.version >= 5 ? read_tables_v5(&tables, &h, dw, &run, (uint32_t)count.ndefines)
			     : read_tables_v4(&tables, &run, (uint32_t)count.ndefines);
	if (err)
		return err;

	/* pass 2: sequences */
	if (count.nseqs) {
		run.seq_cap = count.nseqs;
		run.seqs = sw_arena_alloc(a, count.nseqs * sizeof(*run.seqs), _Alignof(struct lp_seq));
		if (!run.seqs)
			return SW_ENOMEM;
	}
	prog = h.prog;
	err = lp_exec(&h, &prog, &run);
	if (err == SW_ENOMEM || (err && err != prog_err))
		return err;
	out->files = run.files;
	out->nfiles = run.nfiles;

	/* choose: valid ranges, no tombstones, no sequence the linker sent to
	 * address 0 while the others have real addresses, no overlaps */
	kept = choose_seqs(&h, &run, &nrows);

	/* pass 3: rows, sequence by sequence in address order */
	err = fill_rows(&h, run.seqs, kept, nrows, a, &rows);
	if (err)
		return err;
	out->rows = rows;
	out->nrows = nrows;
	make_sparse(out, a);
	/* a program that went wrong after some complete sequences: the table
	 * holds those, and the error is reported */
	return prog_err;
}

int sw_line_lookup(const struct sw_line_table *t, uint64_t addr, const struct sw_line_row **row)
{
	size_t lo = 0, hi;

	*row = NULL;
	if (!t || !t->rows || t->nrows == 0)
		return SW_ENOTFOUND;
	/* The kept sequences do not overlap and are sorted, so all rows are
	 * in address order: find the first row above addr; the one before it
	 * covers addr unless it ends a sequence (addr is in a gap). */
	hi = t->nrows;
	if (t->sparse) {
		/* the first sampled row above addr bounds the search */
		size_t slo = 0, shi = t->nsparse;
		while (slo < shi) {
			size_t mid = slo + (shi - slo) / 2;
			if (t->sparse[mid] <= addr)
				slo = mid + 1;
			else
				shi = mid;
		}
		lo = slo ? (slo - 1) * SW_LINE_SPARSE : 0;
		if (slo < t->nsparse)
			hi = slo * SW_LINE_SPARSE;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->rows[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || t->rows[lo - 1].end_sequence)
		return SW_ENOTFOUND;
	*row = &t->rows[lo - 1];
	return 0;
}

const char *sw_line_file(const struct sw_line_table *t, uint64_t index)
{
	if (!t || !t->files || index >= t->nfiles)
		return NULL;
	return t->files[index];
}
