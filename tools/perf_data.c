/*
 * perf_data.c — the perf.data reader (see perf_data.h for the layout).
 *
 * Every read goes through struct rd, a window [pos, end) of the buffer
 * with a sticky error: a read past `end` fails, records the offset, and
 * every later read of the same window fails too, so a parser checks once
 * at the end of a record instead of after every field.
 */
#include "perf_data.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PD_MAGIC 0x32454c4946524550ull          /* "PERFILE2", little-endian */
#define PD_MAGIC_SWAPPED 0x50455246494c4532ull  /* written by a big-endian host */
#define PD_FILE_HEADER_SIZE 104u                /* magic .. the feature bits */
#define PD_PIPE_HEADER_SIZE 16u                 /* magic, size */
#define PD_ATTR_SIZE_VER0 64u                   /* the smallest perf_event_attr */
#define PD_ATTR_MAX 4096u                       /* attrs a file may have */
#define PD_BUILD_IDS_MAX (1u << 20)

/* perf_event_attr: byte offsets of the fields read here. */
enum {
	ATTR_TYPE = 0, ATTR_SIZE = 4, ATTR_CONFIG = 8, ATTR_SAMPLE_TYPE = 24,
	ATTR_READ_FORMAT = 32, ATTR_FLAGS = 40, ATTR_BRANCH_SAMPLE_TYPE = 72,
	ATTR_SAMPLE_REGS_USER = 80, ATTR_SAMPLE_STACK_USER = 88,
	ATTR_SAMPLE_REGS_INTR = 96,
};
#define ATTR_FLAG_SAMPLE_ID_ALL (1ull << 18)

/* read_format bits */
#define PD_FORMAT_TOTAL_TIME_ENABLED 1u
#define PD_FORMAT_TOTAL_TIME_RUNNING 2u
#define PD_FORMAT_ID 4u
#define PD_FORMAT_GROUP 8u
#define PD_FORMAT_LOST 16u

#define PD_BRANCH_HW_INDEX (1ull << 17)     /* branch_sample_type */

struct rd {
	const uint8_t *buf;
	uint64_t pos, end;
	int bad;
	uint64_t bad_at;        /* the offset of the first read that failed */
};

static void rd_init(struct rd *r, const uint8_t *buf, uint64_t pos, uint64_t end)
{
	r->buf = buf;
	r->pos = pos;
	r->end = end;
	r->bad = 0;
	r->bad_at = 0;
}

/* rd_skip - consume n bytes; returns their start, or NULL past the end. */
static const uint8_t *rd_skip(struct rd *r, uint64_t n)
{
	if (r->bad)
		return NULL;
	if (r->pos > r->end || n > r->end - r->pos) {
		r->bad = 1;
		r->bad_at = r->pos;
		return NULL;
	}
	const uint8_t *p = r->buf + r->pos;
	r->pos += n;
	return p;
}

static uint64_t rd_u64(struct rd *r)
{
	const uint8_t *p = rd_skip(r, 8);
	uint64_t v = 0;
	if (p)
		memcpy(&v, p, 8);
	return v;
}

static uint32_t rd_u32(struct rd *r)
{
	const uint8_t *p = rd_skip(r, 4);
	uint32_t v = 0;
	if (p)
		memcpy(&v, p, 4);
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

__attribute__((format(printf, 2, 3)))
static int fail(struct pd_file *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->err, sizeof(f->err), fmt, ap);
	va_end(ap);
	return PD_EFORMAT;
}

int pd_has_feature(const struct pd_file *f, unsigned bit)
{
	return bit < 256 && (f->features[bit / 64] >> (bit % 64)) & 1;
}

/* One perf_event_attr of `size` bytes at p (fields past `size` read 0). */
static void parse_attr(struct pd_attr *a, const uint8_t *p, uint64_t size)
{
	memset(a, 0, sizeof(*a));
#define FIELD64(off) ((off) + 8 <= size ? get_u64(p + (off)) : 0)
#define FIELD32(off) ((off) + 4 <= size ? get_u32(p + (off)) : 0)
	a->type = FIELD32(ATTR_TYPE);
	a->config = FIELD64(ATTR_CONFIG);
	a->sample_type = FIELD64(ATTR_SAMPLE_TYPE);
	a->read_format = FIELD64(ATTR_READ_FORMAT);
	a->flags = FIELD64(ATTR_FLAGS);
	a->branch_sample_type = FIELD64(ATTR_BRANCH_SAMPLE_TYPE);
	a->sample_regs_user = FIELD64(ATTR_SAMPLE_REGS_USER);
	a->sample_stack_user = FIELD32(ATTR_SAMPLE_STACK_USER);
	a->sample_regs_intr = FIELD64(ATTR_SAMPLE_REGS_INTR);
#undef FIELD64
#undef FIELD32
	a->sample_id_all = (a->flags & ATTR_FLAG_SAMPLE_ID_ALL) != 0;
}

/* The attrs section of a file-mode header. */
static int read_attrs(struct pd_file *f, uint64_t attr_size, uint64_t off, uint64_t size)
{
	if (attr_size < PD_ATTR_SIZE_VER0 + 16 || attr_size > 65536)
		return fail(f, "perf.data: attr entry size %llu at offset 16 is not plausible",
			    (unsigned long long)attr_size);
	if (off > f->size || size > f->size - off)
		return fail(f, "perf.data: attr section [%llu, +%llu) runs past the end of the file (%llu bytes)",
			    (unsigned long long)off, (unsigned long long)size,
			    (unsigned long long)f->size);
	uint64_t n = size / attr_size;
	if (n == 0 || size % attr_size != 0)
		return fail(f, "perf.data: attr section at offset %llu: size %llu is not a multiple of %llu",
			    (unsigned long long)off, (unsigned long long)size,
			    (unsigned long long)attr_size);
	if (n > PD_ATTR_MAX)
		return fail(f, "perf.data: %llu attrs at offset %llu (more than %u)",
			    (unsigned long long)n, (unsigned long long)off, PD_ATTR_MAX);
	f->attrs = calloc(n, sizeof(*f->attrs));
	if (!f->attrs) {
		snprintf(f->err, sizeof(f->err), "perf.data: out of memory");
		return PD_ENOMEM;
	}
	f->nattrs = n;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t at = off + i * attr_size;
		const uint8_t *p = f->buf + at;
		uint64_t asz = attr_size - 16;
		uint32_t own = get_u32(p + ATTR_SIZE);
		if (own >= PD_ATTR_SIZE_VER0 && own < asz)
			asz = own;
		parse_attr(&f->attrs[i], p, asz);
		uint64_t ids_off = get_u64(p + attr_size - 16);
		uint64_t ids_size = get_u64(p + attr_size - 8);
		if (ids_off > f->size || ids_size > f->size - ids_off || ids_size % 8)
			return fail(f, "perf.data: attr %llu at offset %llu: its ids [%llu, +%llu) are outside the file",
				    (unsigned long long)i, (unsigned long long)at,
				    (unsigned long long)ids_off, (unsigned long long)ids_size);
		f->attrs[i].ids = f->buf + ids_off;
		f->attrs[i].nr_ids = ids_size / 8;
	}
	return PD_OK;
}

/* HEADER_BUILD_ID: build_id records {header, pid, build_id[24], filename}. */
static int read_build_ids(struct pd_file *f, uint64_t off, uint64_t size)
{
	struct rd r;
	rd_init(&r, f->buf, off, off + size);
	size_t cap = 0;
	while (r.pos < r.end) {
		uint64_t at = r.pos;
		const uint8_t *h = rd_skip(&r, 8);
		if (!h)
			break;
		uint16_t misc, rsize;
		memcpy(&misc, h + 4, 2);
		memcpy(&rsize, h + 6, 2);
		if (rsize < 8 + 4 + 24 || rsize - 8u > r.end - r.pos)
			return fail(f, "perf.data: build-id entry at offset %llu: size %u is not plausible",
				    (unsigned long long)at, rsize);
		const uint8_t *p = rd_skip(&r, rsize - 8u);
		const char *name = (const char *)(p + 28);
		size_t maxlen = rsize - 8u - 28u;
		if (maxlen == 0 || !memchr(name, 0, maxlen))
			return fail(f, "perf.data: build-id entry at offset %llu: file name not terminated",
				    (unsigned long long)at);
		if (f->nbuild_ids == cap) {
			if (cap >= PD_BUILD_IDS_MAX)
				return fail(f, "perf.data: more than %u build-ids", PD_BUILD_IDS_MAX);
			size_t ncap = cap ? cap * 2 : 64;
			struct pd_build_id *nb = realloc(f->build_ids, ncap * sizeof(*nb));
			if (!nb) {
				snprintf(f->err, sizeof(f->err), "perf.data: out of memory");
				return PD_ENOMEM;
			}
			f->build_ids = nb;
			cap = ncap;
		}
		struct pd_build_id *b = &f->build_ids[f->nbuild_ids++];
		int32_t pid;
		memcpy(&pid, p, 4);
		b->pid = pid;
		memcpy(b->id, p + 4, 20);
		b->size = 20;
		if (misc & PD_MISC_BUILD_ID_SIZE) {
			b->size = p[4 + 20];
			if (b->size > 20)
				b->size = 20;
		} else {
			/* old files: 20 bytes, zero-padded when the id is shorter */
			while (b->size > 0 && b->id[b->size - 1] == 0)
				b->size--;
		}
		b->filename = name;
	}
	if (r.bad)
		return fail(f, "perf.data: build-id section truncated at offset %llu",
			    (unsigned long long)r.bad_at);
	return PD_OK;
}

/* HEADER_EVENT_DESC: u32 nr, u32 attr_size, then per event: attr, u32
 * nr_ids, a string {u32 len, char[len]}, u64 ids[nr_ids].  Only the names
 * are taken, in the order of the attrs section. */
static int read_event_desc(struct pd_file *f, uint64_t off, uint64_t size)
{
	struct rd r;
	rd_init(&r, f->buf, off, off + size);
	uint32_t nr = rd_u32(&r);
	uint32_t asz = rd_u32(&r);
	for (uint32_t i = 0; i < nr && !r.bad; i++) {
		rd_skip(&r, asz);
		uint32_t nr_ids = rd_u32(&r);
		uint32_t len = rd_u32(&r);
		const uint8_t *s = rd_skip(&r, len);
		rd_skip(&r, (uint64_t)nr_ids * 8);
		if (r.bad)
			break;
		if (i < f->nattrs) {
			size_t n = strnlen((const char *)s, len);
			if (n >= sizeof(f->attrs[i].name))
				n = sizeof(f->attrs[i].name) - 1;
			memcpy(f->attrs[i].name, s, n);
			f->attrs[i].name[n] = 0;
		}
	}
	if (r.bad)
		return fail(f, "perf.data: event description section truncated at offset %llu",
			    (unsigned long long)r.bad_at);
	return PD_OK;
}

/* The feature sections: one {offset, size} per bit set, from the end of
 * the data section. */
static int read_features(struct pd_file *f)
{
	uint64_t at = f->data_end;
	for (unsigned bit = 0; bit < 256; bit++) {
		if (!pd_has_feature(f, bit))
			continue;
		if (at > f->size || f->size - at < 16)
			return fail(f, "perf.data: feature table truncated at offset %llu (feature %u)",
				    (unsigned long long)at, bit);
		uint64_t off = get_u64(f->buf + at), size = get_u64(f->buf + at + 8);
		at += 16;
		if (bit != PD_FEAT_BUILD_ID && bit != PD_FEAT_EVENT_DESC)
			continue;
		if (off > f->size || size > f->size - off)
			return fail(f, "perf.data: feature %u section [%llu, +%llu) is outside the file",
				    bit, (unsigned long long)off, (unsigned long long)size);
		int rc = bit == PD_FEAT_BUILD_ID ? read_build_ids(f, off, size)
						 : read_event_desc(f, off, size);
		if (rc < 0)
			return rc;
	}
	return PD_OK;
}

/* Pipe mode: the attrs are HEADER_ATTR records among the others; collect
 * them before the first pd_next so events can point at a stable array. */
static int read_pipe_attrs(struct pd_file *f)
{
	uint64_t pos = f->data_off, n = 0, cap = 0;
	while (pos + 8 <= f->data_end) {
		uint32_t type = get_u32(f->buf + pos);
		uint16_t size;
		memcpy(&size, f->buf + pos + 6, 2);
		if (size < 8 || size > f->data_end - pos)
			break;  /* pd_next reports it */
		if (type == PD_RECORD_HEADER_ATTR && size >= 8 + PD_ATTR_SIZE_VER0) {
			if (n == cap) {
				if (cap >= PD_ATTR_MAX)
					return fail(f, "perf.data: more than %u attrs", PD_ATTR_MAX);
				cap = cap ? cap * 2 : 8;
				struct pd_attr *na = realloc(f->attrs, cap * sizeof(*na));
				if (!na) {
					snprintf(f->err, sizeof(f->err), "perf.data: out of memory");
					return PD_ENOMEM;
				}
				f->attrs = na;
			}
			const uint8_t *p = f->buf + pos + 8;
			uint64_t avail = size - 8u;
			uint64_t asz = get_u32(p + ATTR_SIZE);
			if (asz < PD_ATTR_SIZE_VER0 || asz > avail)
				return fail(f, "perf.data: attr record at offset %llu: attr size %llu is not plausible",
					    (unsigned long long)pos, (unsigned long long)asz);
			parse_attr(&f->attrs[n], p, asz);
			f->attrs[n].ids = p + asz;
			f->attrs[n].nr_ids = (avail - asz) / 8;
			n++;
			f->nattrs = n;
		}
		if (type == PD_RECORD_HEADER_BUILD_ID) {
			/* the same entry as in the build-id feature section */
			int rc = read_build_ids(f, pos, size);
			if (rc < 0)
				return rc;
		}
		if (type == PD_RECORD_AUXTRACE && size >= 16) {
			uint64_t extra = get_u64(f->buf + pos + 8);
			if (extra > f->data_end - pos - size)
				break;
			pos += extra;
		}
		pos += size;
	}
	return PD_OK;
}

int pd_open(struct pd_file *f, const void *buf, uint64_t size)
{
	memset(f, 0, sizeof(*f));
	f->buf = buf;
	f->size = size;
	if (size < PD_PIPE_HEADER_SIZE)
		return fail(f, "perf.data: file of %llu bytes is too short for a header",
			    (unsigned long long)size);
	uint64_t magic = get_u64(f->buf), hsize = get_u64(f->buf + 8);
	if (magic == PD_MAGIC_SWAPPED) {
		snprintf(f->err, sizeof(f->err), "perf.data: written on a big-endian machine: not supported");
		return PD_EUNSUPPORTED;
	}
	if (magic != PD_MAGIC)
		return fail(f, "perf.data: bad magic at offset 0 (not a perf.data file, or perf's old PERFFILE format)");
	if (hsize == PD_PIPE_HEADER_SIZE) {
		f->pipe = 1;
		f->data_off = PD_PIPE_HEADER_SIZE;
		f->data_end = size;
		int rc = read_pipe_attrs(f);
		if (rc < 0)
			return rc;
		if (f->nattrs == 0)
			return fail(f, "perf.data: pipe-mode file without an attr record");
		return PD_OK;
	}
	if (hsize < PD_FILE_HEADER_SIZE || hsize > size)
		return fail(f, "perf.data: header size %llu at offset 8 is not plausible (file: %llu bytes)",
			    (unsigned long long)hsize, (unsigned long long)size);
	uint64_t attr_size = get_u64(f->buf + 16);
	uint64_t attrs_off = get_u64(f->buf + 24), attrs_size = get_u64(f->buf + 32);
	uint64_t data_off = get_u64(f->buf + 40), data_size = get_u64(f->buf + 48);
	memcpy(f->features, f->buf + 72, sizeof(f->features));
	if (data_off > size || data_size > size - data_off)
		return fail(f, "perf.data: data section [%llu, +%llu) runs past the end of the file (%llu bytes): truncated?",
			    (unsigned long long)data_off, (unsigned long long)data_size,
			    (unsigned long long)size);
	f->data_off = data_off;
	f->data_end = data_off + data_size;
	int rc = read_attrs(f, attr_size, attrs_off, attrs_size);
	if (rc < 0)
		return rc;
	return read_features(f);
}

void pd_close(struct pd_file *f)
{
	free(f->attrs);
	free(f->build_ids);
	f->attrs = NULL;
	f->build_ids = NULL;
	f->nattrs = f->nbuild_ids = 0;
}

const struct pd_build_id *pd_find_build_id(const struct pd_file *f, int32_t pid,
					   const char *filename)
{
	const struct pd_build_id *any = NULL;
	for (size_t i = 0; i < f->nbuild_ids; i++) {
		const struct pd_build_id *b = &f->build_ids[i];
		if (strcmp(b->filename, filename) != 0)
			continue;
		if (b->pid == pid)
			return b;
		if (!any)
			any = b;
	}
	return any;
}

/* The attr whose ids contain `id`; the first attr when none does (or the
 * file has one attr).  Linear: files have few ids. */
static const struct pd_attr *attr_by_id(const struct pd_file *f, uint64_t id)
{
	for (size_t i = 0; i < f->nattrs; i++)
		for (uint64_t j = 0; j < f->attrs[i].nr_ids; j++)
			if (pd_u64(f->attrs[i].ids, j) == id)
				return &f->attrs[i];
	return f->nattrs ? &f->attrs[0] : NULL;
}

/* The attr of the record at [p, p + size) of `type`.  With several attrs,
 * perf requires their sample ids at one position: the first u64 of a
 * sample (PERF_SAMPLE_IDENTIFIER) or the last of a trailer, else where
 * PERF_SAMPLE_ID falls with the first attr's sample_type. */
static const struct pd_attr *record_attr(const struct pd_file *f, uint32_t type,
					 const uint8_t *p, uint64_t size)
{
	if (f->nattrs <= 1)
		return f->nattrs ? &f->attrs[0] : NULL;
	uint64_t st = f->attrs[0].sample_type;
	uint64_t body = size - 8;
	const uint8_t *b = p + 8;
	if (type == PD_RECORD_SAMPLE) {
		uint64_t idx = 0;
		if (st & PD_SAMPLE_IDENTIFIER)
			idx = 0;
		else if (st & PD_SAMPLE_ID)
			idx = !!(st & PD_SAMPLE_IP) + !!(st & PD_SAMPLE_TID) +
			      !!(st & PD_SAMPLE_TIME) + !!(st & PD_SAMPLE_ADDR);
		else
			return &f->attrs[0];
		return (idx + 1) * 8 <= body ? attr_by_id(f, pd_u64(b, idx)) : &f->attrs[0];
	}
	if (!f->attrs[0].sample_id_all)
		return &f->attrs[0];
	uint64_t back;      /* u64s from the end */
	if (st & PD_SAMPLE_IDENTIFIER)
		back = 1;
	else if (st & PD_SAMPLE_ID)
		back = 1 + !!(st & PD_SAMPLE_STREAM_ID) + !!(st & PD_SAMPLE_CPU);
	else
		return &f->attrs[0];
	return back * 8 <= body ? attr_by_id(f, pd_u64(b, body / 8 - back)) : &f->attrs[0];
}

/* Bytes of the sample_id_all trailer. */
static uint64_t trailer_size(const struct pd_attr *a)
{
	if (!a || !a->sample_id_all)
		return 0;
	uint64_t st = a->sample_type;
	return 8 * (uint64_t)(!!(st & PD_SAMPLE_TID) + !!(st & PD_SAMPLE_TIME) +
			      !!(st & PD_SAMPLE_ID) + !!(st & PD_SAMPLE_STREAM_ID) +
			      !!(st & PD_SAMPLE_CPU) + !!(st & PD_SAMPLE_IDENTIFIER));
}

static void read_trailer(struct rd *r, const struct pd_attr *a, struct pd_event *ev)
{
	uint64_t st = a->sample_type;
	if (st & PD_SAMPLE_TID) {
		ev->pid = rd_u32(r);
		ev->tid = rd_u32(r);
		ev->have_tid = 1;
	}
	if (st & PD_SAMPLE_TIME) {
		ev->time = rd_u64(r);
		ev->have_time = 1;
	}
	if (st & PD_SAMPLE_ID)
		ev->id = rd_u64(r);
	if (st & PD_SAMPLE_STREAM_ID)
		ev->stream_id = rd_u64(r);
	if (st & PD_SAMPLE_CPU) {
		ev->cpu = rd_u32(r);
		rd_u32(r);
		ev->have_cpu = 1;
	}
	if (st & PD_SAMPLE_IDENTIFIER)
		ev->id = rd_u64(r);
}

/* n registers selected by `mask`, in bit order; those with an index below
 * PD_X86_NREGS are kept when `keep`. */
static void read_regs(struct rd *r, uint64_t mask, struct pd_event *ev, int keep)
{
	for (unsigned bit = 0; bit < 64 && !r->bad; bit++) {
		if (!(mask >> bit & 1))
			continue;
		uint64_t v = rd_u64(r);
		if (keep && bit < PD_X86_NREGS && !r->bad) {
			ev->regs[bit] = v;
			ev->regs_present |= 1ull << bit;
		}
	}
}

static int parse_sample(struct pd_file *f, struct rd *r, struct pd_event *ev)
{
	const struct pd_attr *a = ev->attr;
	uint64_t st = a->sample_type;
	const char *what = "";

#define STEP(name) what = name
	STEP("identifier");
	if (st & PD_SAMPLE_IDENTIFIER)
		ev->id = rd_u64(r);
	STEP("ip");
	if (st & PD_SAMPLE_IP)
		ev->ip = rd_u64(r);
	STEP("tid");
	if (st & PD_SAMPLE_TID) {
		ev->pid = rd_u32(r);
		ev->tid = rd_u32(r);
		ev->have_tid = 1;
	}
	STEP("time");
	if (st & PD_SAMPLE_TIME) {
		ev->time = rd_u64(r);
		ev->have_time = 1;
	}
	STEP("addr");
	if (st & PD_SAMPLE_ADDR)
		ev->addr = rd_u64(r);
	STEP("id");
	if (st & PD_SAMPLE_ID)
		ev->id = rd_u64(r);
	STEP("stream id");
	if (st & PD_SAMPLE_STREAM_ID)
		ev->stream_id = rd_u64(r);
	STEP("cpu");
	if (st & PD_SAMPLE_CPU) {
		ev->cpu = rd_u32(r);
		rd_u32(r);
		ev->have_cpu = 1;
	}
	STEP("period");
	if (st & PD_SAMPLE_PERIOD)
		ev->period = rd_u64(r);
	STEP("read values");
	if (st & PD_SAMPLE_READ) {
		uint64_t rf = a->read_format;
		uint64_t per = 1 + !!(rf & PD_FORMAT_ID) + !!(rf & PD_FORMAT_LOST);
		uint64_t times = !!(rf & PD_FORMAT_TOTAL_TIME_ENABLED) +
				 !!(rf & PD_FORMAT_TOTAL_TIME_RUNNING);
		if (rf & PD_FORMAT_GROUP) {
			uint64_t nr = rd_u64(r);
			rd_skip(r, times * 8);
			if (!r->bad && nr > (r->end - r->pos) / (per * 8))
				goto bad_count;
			rd_skip(r, nr * per * 8);
		} else {
			rd_skip(r, (per + times) * 8);
		}
	}
	STEP("callchain");
	if (st & PD_SAMPLE_CALLCHAIN) {
		uint64_t nr = rd_u64(r);
		if (!r->bad && nr > (r->end - r->pos) / 8)
			goto bad_count;
		ev->callchain = rd_skip(r, nr * 8);
		ev->nr_callchain = nr;
	}
	STEP("raw data");
	if (st & PD_SAMPLE_RAW) {
		uint32_t n = rd_u32(r);
		rd_skip(r, n);
	}
	STEP("branch stack");
	if (st & PD_SAMPLE_BRANCH_STACK) {
		uint64_t nr = rd_u64(r);
		if (a->branch_sample_type & PD_BRANCH_HW_INDEX)
			rd_u64(r);
		if (!r->bad && nr > (r->end - r->pos) / 24)
			goto bad_count;
		rd_skip(r, nr * 24);
	}
	STEP("user registers");
	if (st & PD_SAMPLE_REGS_USER) {
		ev->regs_abi = rd_u64(r);
		ev->regs_mask = a->sample_regs_user;
		if (ev->regs_abi != 0)
			read_regs(r, a->sample_regs_user, ev, 1);
	}
	STEP("user stack");
	if (st & PD_SAMPLE_STACK_USER) {
		uint64_t n = rd_u64(r);
		ev->stack = rd_skip(r, n);
		ev->stack_size = n;
		if (n != 0) {
			ev->stack_dyn_size = rd_u64(r);
			if (!r->bad && ev->stack_dyn_size > n)
				return fail(f, "perf.data: sample at offset %llu: user stack dyn_size %llu exceeds its size %llu",
					    (unsigned long long)ev->offset,
					    (unsigned long long)ev->stack_dyn_size,
					    (unsigned long long)n);
		}
	}
	STEP("weight");
	if (st & (PD_SAMPLE_WEIGHT | PD_SAMPLE_WEIGHT_STRUCT))
		rd_u64(r);
	STEP("data source");
	if (st & PD_SAMPLE_DATA_SRC)
		rd_u64(r);
	STEP("transaction");
	if (st & PD_SAMPLE_TRANSACTION)
		rd_u64(r);
	STEP("interrupt registers");
	if (st & PD_SAMPLE_REGS_INTR) {
		uint64_t abi = rd_u64(r);
		if (abi != 0)
			read_regs(r, a->sample_regs_intr, ev, 0);
	}
	STEP("physical address");
	if (st & PD_SAMPLE_PHYS_ADDR)
		rd_u64(r);
	STEP("cgroup");
	if (st & PD_SAMPLE_CGROUP)
		rd_u64(r);
	STEP("page sizes");
	if (st & PD_SAMPLE_DATA_PAGE_SIZE)
		rd_u64(r);
	if (st & PD_SAMPLE_CODE_PAGE_SIZE)
		rd_u64(r);
	STEP("aux data");
	if (st & PD_SAMPLE_AUX) {
		uint64_t n = rd_u64(r);
		rd_skip(r, n);
	}
#undef STEP
	if (r->bad)
		return fail(f, "perf.data: sample at offset %llu (size %u): its %s runs past the record's end (at offset %llu)",
			    (unsigned long long)ev->offset, ev->size, what,
			    (unsigned long long)r->bad_at);
	return PD_OK;
bad_count:
	return fail(f, "perf.data: sample at offset %llu: %s count does not fit in the record (size %u)",
		    (unsigned long long)ev->offset, what, ev->size);
}

/* A NUL-terminated string in [p, end) of the record, or NULL. */
static const char *record_string(const uint8_t *p, const uint8_t *end)
{
	if (p >= end || !memchr(p, 0, (size_t)(end - p)))
		return NULL;
	return (const char *)p;
}

int pd_next(struct pd_file *f, uint64_t *pos, struct pd_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	uint64_t at = *pos;
	if (at >= f->data_end)
		return PD_EOF;
	if (f->data_end - at < 8)
		return fail(f, "perf.data: record header at offset %llu truncated (%llu bytes left)",
			    (unsigned long long)at, (unsigned long long)(f->data_end - at));
	const uint8_t *p = f->buf + at;
	ev->type = get_u32(p);
	memcpy(&ev->misc, p + 4, 2);
	memcpy(&ev->size, p + 6, 2);
	ev->offset = at;
	if (ev->size < 8)
		return fail(f, "perf.data: record at offset %llu has size %u (smaller than its header)",
			    (unsigned long long)at, ev->size);
	if (ev->size > f->data_end - at)
		return fail(f, "perf.data: record at offset %llu (type %u, size %u) runs past the end of the data at %llu: truncated?",
			    (unsigned long long)at, ev->type, ev->size,
			    (unsigned long long)f->data_end);
	uint64_t next = at + ev->size;
	if (ev->type == PD_RECORD_AUXTRACE) {
		/* its header's size does not count the trace bytes after it */
		if (ev->size < 16)
			return fail(f, "perf.data: auxtrace record at offset %llu too short",
				    (unsigned long long)at);
		uint64_t extra = get_u64(p + 8);
		if (extra > f->data_end - next)
			return fail(f, "perf.data: auxtrace record at offset %llu: %llu bytes of trace run past the end of the data",
				    (unsigned long long)at, (unsigned long long)extra);
		next += extra;
	}
	*pos = next;
	f->records++;

	if (ev->type >= 64 && ev->type != PD_RECORD_SAMPLE)
		return 1;       /* perf's own records: no sample id trailer */
	ev->attr = record_attr(f, ev->type, p, ev->size);
	if (!ev->attr)
		return 1;

	struct rd r;
	if (ev->type == PD_RECORD_SAMPLE) {
		rd_init(&r, f->buf, at + 8, at + ev->size);
		int rc = parse_sample(f, &r, ev);
		return rc < 0 ? rc : 1;
	}

	uint64_t tsize = trailer_size(ev->attr);
	if (tsize > ev->size - 8u)
		return fail(f, "perf.data: record at offset %llu (type %u, size %u) is too short for its sample id trailer",
			    (unsigned long long)at, ev->type, ev->size);
	uint64_t body_end = at + ev->size - tsize;
	if (tsize) {
		rd_init(&r, f->buf, body_end, at + ev->size);
		read_trailer(&r, ev->attr, ev);
	}
	rd_init(&r, f->buf, at + 8, body_end);
	const uint8_t *end = f->buf + body_end;
	switch (ev->type) {
	case PD_RECORD_MMAP:
	case PD_RECORD_MMAP2:
		ev->pid = rd_u32(&r);
		ev->tid = rd_u32(&r);
		ev->have_tid = 1;
		ev->map_start = rd_u64(&r);
		ev->map_len = rd_u64(&r);
		ev->map_pgoff = rd_u64(&r);
		if (ev->type == PD_RECORD_MMAP2) {
			const uint8_t *u = rd_skip(&r, 24);
			if (u && (ev->misc & PD_MISC_MMAP_BUILD_ID)) {
				ev->build_id_size = u[0] <= 20 ? u[0] : 20;
				memcpy(ev->build_id, u + 4, 20);
			}
			ev->map_prot = rd_u32(&r);
			ev->map_flags = rd_u32(&r);
		} else {
			ev->map_prot = (ev->misc & PD_MISC_MMAP_DATA) ? 1u : 5u;
		}
		if (r.bad)
			return fail(f, "perf.data: mmap record at offset %llu truncated (size %u)",
				    (unsigned long long)at, ev->size);
		ev->filename = record_string(f->buf + r.pos, end);
		if (!ev->filename)
			return fail(f, "perf.data: mmap record at offset %llu: file name not terminated",
				    (unsigned long long)at);
		break;
	case PD_RECORD_COMM:
		ev->pid = rd_u32(&r);
		ev->tid = rd_u32(&r);
		ev->have_tid = 1;
		if (r.bad)
			return fail(f, "perf.data: comm record at offset %llu truncated",
				    (unsigned long long)at);
		ev->comm = record_string(f->buf + r.pos, end);
		if (!ev->comm)
			return fail(f, "perf.data: comm record at offset %llu: name not terminated",
				    (unsigned long long)at);
		break;
	case PD_RECORD_FORK:
	case PD_RECORD_EXIT:
		ev->pid = rd_u32(&r);
		ev->ppid = rd_u32(&r);
		ev->tid = rd_u32(&r);
		ev->ptid = rd_u32(&r);
		ev->have_tid = 1;
		if (!ev->have_time) {
			ev->time = rd_u64(&r);
			ev->have_time = 1;
		}
		if (r.bad)
			return fail(f, "perf.data: %s record at offset %llu truncated",
				    ev->type == PD_RECORD_FORK ? "fork" : "exit",
				    (unsigned long long)at);
		break;
	default:
		break;
	}
	return 1;
}
