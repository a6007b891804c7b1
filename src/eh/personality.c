/*
 * __gcc_personality_v0: the personality routine of C code compiled with
 * -fexceptions (cleanup attributes, pthread_cleanup_push with
 * exceptions): during the cleanup phase, run the landing pad of the call
 * site the frame is in.  Same LSDA format as C++, without actions.
 */
#include <stdint.h>
#include <string.h>
#include <unwind.h>

#define EXPORT __attribute__((visibility("default")))

enum {
	PE_absptr = 0x00, PE_uleb128 = 0x01, PE_udata2 = 0x02, PE_udata4 = 0x03,
	PE_udata8 = 0x04, PE_sleb128 = 0x09, PE_sdata2 = 0x0a, PE_sdata4 = 0x0b,
	PE_sdata8 = 0x0c, PE_pcrel = 0x10, PE_indirect = 0x80, PE_omit = 0xff,
};

static uint64_t uleb(const uint8_t **p)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		b = *(*p)++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	return v;
}

static int64_t sleb(const uint8_t **p)
{
	int64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		b = *(*p)++;
		if (shift < 64)
			v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	return v;
}

/* A pointer of the LSDA (compiler-generated: trusted, as libgcc does). */
static uint64_t read_enc(const uint8_t **p, uint8_t enc)
{
	const uint8_t *at = *p;
	uint64_t v = 0;

	if (enc == PE_omit)
		return 0;
	switch (enc & 0x0f) {
	case PE_absptr: case PE_udata8: case PE_sdata8: memcpy(&v, at, 8); *p += 8; break;
	case PE_uleb128: v = uleb(p); break;
	case PE_sleb128: v = (uint64_t)sleb(p); break;
	case PE_udata2: { uint16_t x; memcpy(&x, at, 2); v = x; *p += 2; break; }
	case PE_sdata2: { int16_t x; memcpy(&x, at, 2); v = (uint64_t)(int64_t)x; *p += 2; break; }
	case PE_udata4: { uint32_t x; memcpy(&x, at, 4); v = x; *p += 4; break; }
	case PE_sdata4: { int32_t x; memcpy(&x, at, 4); v = (uint64_t)(int64_t)x; *p += 4; break; }
	default: return 0;
	}
	if (v && (enc & 0x70) == PE_pcrel)
		v += (uint64_t)(uintptr_t)at;
	if (v && (enc & PE_indirect))
		v = *(const uint64_t *)(uintptr_t)v;
	return v;
}

EXPORT _Unwind_Reason_Code __gcc_personality_v0(int version, _Unwind_Action actions,
						 _Unwind_Exception_Class cls,
						 struct _Unwind_Exception *exc,
						 struct _Unwind_Context *ctx);

EXPORT _Unwind_Reason_Code __gcc_personality_v0(int version, _Unwind_Action actions,
						 _Unwind_Exception_Class cls,
						 struct _Unwind_Exception *exc,
						 struct _Unwind_Context *ctx)
{
	const uint8_t *p;
	uint64_t start, lpstart, ip;
	uint8_t cs_enc, enc;
	int before;

	(void)cls;
	if (version != 1)
		return _URC_FATAL_PHASE1_ERROR;
	if (!(actions & _UA_CLEANUP_PHASE))
		return _URC_CONTINUE_UNWIND;
	p = _Unwind_GetLanguageSpecificData(ctx);
	if (!p)
		return _URC_CONTINUE_UNWIND;
	start = _Unwind_GetRegionStart(ctx);
	enc = *p++;
	lpstart = enc == PE_omit ? start : read_enc(&p, enc);
	enc = *p++;
	if (enc != PE_omit)
		uleb(&p);               /* type table: C has none to use */
	cs_enc = *p++;
	uint64_t cs_len = uleb(&p);
	const uint8_t *end = p + cs_len;
	ip = _Unwind_GetIPInfo(ctx, &before);
	if (!before)
		ip--;
	while (p < end) {
		uint64_t cs_start = read_enc(&p, cs_enc);
		uint64_t cs_size = read_enc(&p, cs_enc);
		uint64_t cs_lp = read_enc(&p, cs_enc);
		uleb(&p);               /* action */
		if (ip < start + cs_start)
			break;          /* sorted: not in the table */
		if (ip < start + cs_start + cs_size) {
			if (!cs_lp)
				return _URC_CONTINUE_UNWIND;
			_Unwind_SetGR(ctx, __builtin_eh_return_data_regno(0), (_Unwind_Word)(uintptr_t)exc);
			_Unwind_SetGR(ctx, __builtin_eh_return_data_regno(1), 0);
			_Unwind_SetIP(ctx, lpstart + cs_lp);
			return _URC_INSTALL_CONTEXT;
		}
	}
	return _URC_CONTINUE_UNWIND;
}
