/*
 * libstackwalk_unwind: the Itanium C++ ABI's Level 1 unwinding interface
 * (_Unwind_*) on stackwalk's cursor, a drop-in replacement for libgcc_s's
 * unwinder (same symbols, same symbol versions: src/eh/libgcc.map).
 *
 * An _Unwind_Context is a stackwalk cursor plus the procedure information
 * of its frame.  Raising an exception runs the two phases of the ABI:
 * phase 1 steps a cursor from the thrower outwards asking each
 * personality routine whether its frame handles the exception; phase 2
 * starts again from the same state, lets every frame up to the handler run
 * its cleanups (landing pads re-enter through _Unwind_Resume) and installs
 * the handler's context with sw_resume.  No lock is taken on the way: the
 * unwinder's caches are lock-free and procedure information is cached per
 * thread.  JIT code registered with stackwalk's registry is unwound like
 * any other code, without publishing it anywhere.
 *
 * A client of stackwalk's public API only (stackwalk.h, stackwalk/jit.h):
 * libstackwalk_unwind.so needs libstackwalk.so, so a process that loads
 * both has one registry and one rule cache.
 *
 * The trap glibc sets (pthread_cancel, pthread_exit): glibc dlopens
 * libgcc_s itself and runs the forced unwind with libgcc_s's
 * _Unwind_ForcedUnwind, while libstdc++'s personality routine and the
 * cleanups' _Unwind_Resume bind to the preloaded library.  So every entry
 * point recognises contexts it did not make (ours start with a magic word
 * that cannot be a pointer; libgcc's start with a register-slot pointer)
 * and forwards them to libgcc_s's own function, and _Unwind_Resume
 * forwards a forced unwind it did not start.  LLVM libunwind and nongnu
 * libunwind crash there because they do neither.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unwind.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

#define EXPORT __attribute__((visibility("default")))

/* Not a canonical user-space address: libgcc's contexts start with a
 * pointer to a register slot (or NULL). */
#define CTX_MAGIC 0xfeed5741c0de0001ull

struct _Unwind_Context {
	uint64_t magic;
	sw_cursor_t cur;
	struct sw_proc_info pi;
	int have_pi;
	uint32_t steps;         /* frames stepped (bounds a looping stack) */
};

/* Deeper than any real stack (8 MiB of 16-byte frames is 2^19): a walk
 * that gets here loops through crafted signal frames. */
#define MAX_STEPS (1u << 22)

/* ---------------------------------------------------------------- libgcc_s forwarding */

/* libgcc_s's own entry points, for contexts and exceptions it made.  It is
 * loaded in every process that can hand us one (glibc loaded it to run the
 * forced unwind), so RTLD_NOLOAD finds it. */
static void *libgcc_sym(const char *name)
{
	static void *handle;
	void *h = __atomic_load_n(&handle, __ATOMIC_ACQUIRE);

	if (!h) {
		h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NOLOAD);
		if (!h)
			return NULL;
		__atomic_store_n(&handle, h, __ATOMIC_RELEASE);
	}
	return dlsym(h, name);
}

/* The libgcc_s function `name` (same signature as ours), resolved once. */
#define LIBGCC_FN(name)                                                           \
	({                                                                        \
		static __typeof__(&name) fn_;                                     \
		__typeof__(&name) f_ = __atomic_load_n(&fn_, __ATOMIC_ACQUIRE);   \
		if (!f_) {                                                        \
			f_ = (__typeof__(&name))libgcc_sym(#name);                \
			if (!f_ || f_ == &name)                                   \
				abort();                                          \
			__atomic_store_n(&fn_, f_, __ATOMIC_RELEASE);             \
		}                                                                 \
		f_;                                                               \
	})

static int ours(const struct _Unwind_Context *ctx)
{
	return ctx && ctx->magic == CTX_MAGIC;
}

/* ---------------------------------------------------------------- procedure info */

/* Per-thread cache of procedure information by PC: both phases and every
 * throw through the same frames look the same PCs up.  Entries carry
 * sw_info_generation() as read before their lookup (it moves on dlclose
 * and JIT removals); one made while it says 0 (a dlclose is unloading) is
 * never stored. */
#define PI_CACHE 256

struct pi_slot {
	uint64_t pc;
	uint32_t gen;
	uint64_t start, lsda, personality;
};

static __thread struct pi_slot pi_cache[PI_CACHE];

static int proc_info(struct _Unwind_Context *ctx)
{
	uint64_t pc;
	uint32_t gen;
	struct pi_slot *s;

	if (ctx->have_pi)
		return ctx->have_pi > 0 ? 0 : -1;
	pc = sw_get_lookup_pc(&ctx->cur);       /* the PC sw_get_proc_info looks up */
	gen = sw_info_generation();
	s = &pi_cache[(pc >> 2 ^ pc >> 11) & (PI_CACHE - 1)];
	if (s->pc == pc && s->gen == gen && pc && gen != 0) {
		memset(&ctx->pi, 0, sizeof(ctx->pi));
		ctx->pi.start = s->start;
		ctx->pi.lsda = s->lsda;
		ctx->pi.personality = s->personality;
		ctx->have_pi = 1;
		return 0;
	}
	if (sw_get_proc_info(&ctx->cur, &ctx->pi) < 0) {
		memset(&ctx->pi, 0, sizeof(ctx->pi));
		ctx->have_pi = -1;
		return -1;
	}
	ctx->have_pi = 1;
	if (gen == 0)
		return 0;
	s->pc = pc;
	s->gen = gen;
	s->start = ctx->pi.start;
	s->lsda = ctx->pi.lsda;
	s->personality = ctx->pi.personality;
	return 0;
}

static void ctx_init(struct _Unwind_Context *ctx)
{
	ctx->magic = CTX_MAGIC;
	ctx->have_pi = 0;
	ctx->steps = 0;
}

/* One frame outwards.  Returns 1 when there is a frame, 0 at the end of
 * the stack, -1 on error. */
static int ctx_step(struct _Unwind_Context *ctx)
{
	int rc;

	if (++ctx->steps > MAX_STEPS)
		return -1;
	rc = sw_step(&ctx->cur);

	ctx->have_pi = 0;
	if (rc == 0)
		return 1;
	return rc == SW_END_OF_STACK ? 0 : -1;
}

/* ---------------------------------------------------------------- context accessors */

EXPORT _Unwind_Word _Unwind_GetGR(struct _Unwind_Context *ctx, int reg)
{
	uint64_t v = 0;

	if (!ours(ctx))
		return LIBGCC_FN(_Unwind_GetGR)(ctx, reg);
	if (sw_get_reg(&ctx->cur, reg, &v) < 0)
		return 0;
	return v;
}

EXPORT void _Unwind_SetGR(struct _Unwind_Context *ctx, int reg, _Unwind_Word value)
{
	if (!ours(ctx))
		{
			LIBGCC_FN(_Unwind_SetGR)(ctx, reg, value);
			return;
		}
	sw_set_reg(&ctx->cur, reg, value);
}

EXPORT _Unwind_Ptr _Unwind_GetIP(struct _Unwind_Context *ctx)
{
	if (!ours(ctx))
		return LIBGCC_FN(_Unwind_GetIP)(ctx);
	return sw_get_ip(&ctx->cur);
}

EXPORT _Unwind_Ptr _Unwind_GetIPInfo(struct _Unwind_Context *ctx, int *ip_before_insn)
{
	if (!ours(ctx))
		return LIBGCC_FN(_Unwind_GetIPInfo)(ctx, ip_before_insn);
	/* a frame interrupted by a signal holds the faulting instruction, not
	 * a return address */
	*ip_before_insn = sw_is_signal_frame(&ctx->cur);
	return sw_get_ip(&ctx->cur);
}

EXPORT void _Unwind_SetIP(struct _Unwind_Context *ctx, _Unwind_Ptr ip)
{
	if (!ours(ctx))
		{
			LIBGCC_FN(_Unwind_SetIP)(ctx, ip);
			return;
		}
	sw_set_reg(&ctx->cur, SW_REG_IP, ip);
}

/* libgcc's value: the CFA of the frame's callee, i.e. the frame's stack
 * pointer at the call (glibc's cancellation code compares it with saved
 * stack pointers). */
EXPORT _Unwind_Word _Unwind_GetCFA(struct _Unwind_Context *ctx)
{
	if (!ours(ctx))
		return LIBGCC_FN(_Unwind_GetCFA)(ctx);
	return sw_get_sp(&ctx->cur);
}

EXPORT void *_Unwind_GetLanguageSpecificData(struct _Unwind_Context *ctx)
{
	if (!ours(ctx))
		return LIBGCC_FN(_Unwind_GetLanguageSpecificData)(ctx);
	return proc_info(ctx) == 0 ? (void *)(uintptr_t)ctx->pi.lsda : NULL;
}

EXPORT _Unwind_Ptr _Unwind_GetRegionStart(struct _Unwind_Context *ctx)
{
	if (!ours(ctx))
		return LIBGCC_FN(_Unwind_GetRegionStart)(ctx);
	return proc_info(ctx) == 0 ? ctx->pi.start : 0;
}

/* x86-64 .eh_frame uses neither base (libgcc returns 0 for both too). */
EXPORT _Unwind_Ptr _Unwind_GetDataRelBase(struct _Unwind_Context *ctx)
{
	if (!ours(ctx))
		return LIBGCC_FN(_Unwind_GetDataRelBase)(ctx);
	return 0;
}

EXPORT _Unwind_Ptr _Unwind_GetTextRelBase(struct _Unwind_Context *ctx)
{
	if (!ours(ctx))
		return LIBGCC_FN(_Unwind_GetTextRelBase)(ctx);
	return 0;
}

/* ---------------------------------------------------------------- raising */

/* A forced unwind this library runs, per thread: _Unwind_Resume of any
 * other forced unwind belongs to libgcc_s (glibc's pthread_cancel). */
static __thread struct _Unwind_Exception *forcing;

typedef _Unwind_Reason_Code (*personality_fn)(int, _Unwind_Action, _Unwind_Exception_Class,
					      struct _Unwind_Exception *, struct _Unwind_Context *);

static personality_fn personality_of(struct _Unwind_Context *ctx)
{
	if (proc_info(ctx) < 0 || !ctx->pi.personality)
		return NULL;
	return (personality_fn)(uintptr_t)ctx->pi.personality;
}

/* Phase 2 from ctx's frame outwards.  Returns only on error. */
static _Unwind_Reason_Code phase2(struct _Unwind_Exception *exc, struct _Unwind_Context *ctx)
{
	uint64_t handler_sp = exc->private_2;

	for (;;) {
		personality_fn pers = personality_of(ctx);
		if (pers) {
			_Unwind_Action act = _UA_CLEANUP_PHASE;
			if (sw_get_sp(&ctx->cur) == handler_sp)
				act |= _UA_HANDLER_FRAME;
			_Unwind_Reason_Code rc = pers(1, act, exc->exception_class, exc, ctx);
			if (rc == _URC_INSTALL_CONTEXT) {
				sw_resume(&ctx->cur);
				return _URC_FATAL_PHASE2_ERROR;
			}
			if (rc != _URC_CONTINUE_UNWIND)
				return _URC_FATAL_PHASE2_ERROR;
			if (act & _UA_HANDLER_FRAME)
				return _URC_FATAL_PHASE2_ERROR;    /* the handler declined */
		}
		if (ctx_step(ctx) <= 0)
			return _URC_FATAL_PHASE2_ERROR;
	}
}

/* Past the outermost frame, libgcc presents one more context, with IP 0
 * (its loop reports the end of the stack on the frame after the last):
 * callers of _Unwind_Backtrace and stop functions see it too. */
static void ctx_past_end(struct _Unwind_Context *ctx)
{
	sw_set_reg(&ctx->cur, SW_REG_IP, 0);
	ctx->have_pi = -1;
}

/* Forced phase 2: the stop function sees every frame first. */
static _Unwind_Reason_Code phase2_forced(struct _Unwind_Exception *exc, struct _Unwind_Context *ctx)
{
	_Unwind_Stop_Fn stop = (_Unwind_Stop_Fn)(uintptr_t)exc->private_1;
	void *stop_arg = (void *)(uintptr_t)exc->private_2;
	int end = 0;

	for (;;) {
		_Unwind_Action act = _UA_FORCE_UNWIND | _UA_CLEANUP_PHASE;
		if (end)
			act |= _UA_END_OF_STACK;
		if (stop(1, act, exc->exception_class, exc, ctx, stop_arg) != _URC_NO_REASON)
			return _URC_FATAL_PHASE2_ERROR;
		if (end)
			return _URC_END_OF_STACK;
		personality_fn pers = personality_of(ctx);
		if (pers) {
			_Unwind_Reason_Code rc = pers(1, act, exc->exception_class, exc, ctx);
			if (rc == _URC_INSTALL_CONTEXT) {
				forcing = exc;
				sw_resume(&ctx->cur);
				return _URC_FATAL_PHASE2_ERROR;
			}
			if (rc != _URC_CONTINUE_UNWIND)
				return _URC_FATAL_PHASE2_ERROR;
		}
		int s2 = ctx_step(ctx);
		if (s2 < 0)
			return _URC_FATAL_PHASE2_ERROR;
		if (s2 == 0) {
			end = 1;
			ctx_past_end(ctx);
		}
	}
}

/* The context of our caller's frame (the thrower), from a context captured
 * in the calling function. */
static int start_ctx(struct _Unwind_Context *ctx, sw_context_t *uc)
{
	ctx_init(ctx);
	if (sw_init_local(&ctx->cur, uc) < 0)
		return -1;
	return ctx_step(ctx) > 0 ? 0 : -1;     /* skip the entry point's own frame */
}

EXPORT __attribute__((noinline)) _Unwind_Reason_Code
_Unwind_RaiseException(struct _Unwind_Exception *exc)
{
	sw_context_t uc;
	struct _Unwind_Context ctx, start;

	sw_getcontext(&uc);
	if (start_ctx(&ctx, &uc) < 0)
		return _URC_END_OF_STACK;
	start = ctx;

	/* phase 1: who handles it? */
	for (;;) {
		personality_fn pers = personality_of(&ctx);
		if (pers) {
			_Unwind_Reason_Code rc = pers(1, _UA_SEARCH_PHASE, exc->exception_class, exc,
						      &ctx);
			if (rc == _URC_HANDLER_FOUND)
				break;
			if (rc != _URC_CONTINUE_UNWIND)
				return _URC_FATAL_PHASE1_ERROR;
		}
		int s = ctx_step(&ctx);
		if (s == 0)
			return _URC_END_OF_STACK;
		if (s < 0)
			return _URC_FATAL_PHASE1_ERROR;
	}
	/* phase 2, from the thrower again; the handler is known by its SP */
	exc->private_1 = 0;
	exc->private_2 = sw_get_sp(&ctx.cur);
	start.have_pi = 0;
	return phase2(exc, &start);
}

EXPORT __attribute__((noinline)) void _Unwind_Resume(struct _Unwind_Exception *exc)
{
	sw_context_t uc;
	struct _Unwind_Context ctx;

	if (exc->private_1 && forcing != exc) {
		/* a forced unwind libgcc_s runs (glibc's thread cancellation) */
		static void (*real)(struct _Unwind_Exception *);
		void (*f)(struct _Unwind_Exception *) = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
		if (!f) {
			f = (void (*)(struct _Unwind_Exception *))libgcc_sym("_Unwind_Resume");
			if (!f || f == _Unwind_Resume)
				abort();
			__atomic_store_n(&real, f, __ATOMIC_RELEASE);
		}
		f(exc);
		abort();
	}
	sw_getcontext(&uc);
	if (start_ctx(&ctx, &uc) < 0)
		abort();
	if (exc->private_1)
		phase2_forced(exc, &ctx);
	else
		phase2(exc, &ctx);
	abort();
}

EXPORT __attribute__((noinline)) _Unwind_Reason_Code
_Unwind_ForcedUnwind(struct _Unwind_Exception *exc, _Unwind_Stop_Fn stop, void *stop_arg)
{
	sw_context_t uc;
	struct _Unwind_Context ctx;

	sw_getcontext(&uc);
	if (start_ctx(&ctx, &uc) < 0)
		return _URC_END_OF_STACK;
	exc->private_1 = (_Unwind_Word)(uintptr_t)stop;
	exc->private_2 = (_Unwind_Word)(uintptr_t)stop_arg;
	forcing = exc;
	return phase2_forced(exc, &ctx);
}

EXPORT __attribute__((noinline)) _Unwind_Reason_Code
_Unwind_Resume_or_Rethrow(struct _Unwind_Exception *exc)
{
	sw_context_t uc;
	struct _Unwind_Context ctx;

	if (exc->private_1 == 0)
		return _Unwind_RaiseException(exc);
	if (forcing != exc)
		return LIBGCC_FN(_Unwind_Resume_or_Rethrow)(exc);
	sw_getcontext(&uc);
	if (start_ctx(&ctx, &uc) < 0)
		abort();
	phase2_forced(exc, &ctx);
	abort();
}

EXPORT void _Unwind_DeleteException(struct _Unwind_Exception *exc)
{
	if (exc->exception_cleanup)
		exc->exception_cleanup(_URC_FOREIGN_EXCEPTION_CAUGHT, exc);
}

EXPORT __attribute__((noinline)) _Unwind_Reason_Code
_Unwind_Backtrace(_Unwind_Trace_Fn trace, void *arg)
{
	sw_context_t uc;
	struct _Unwind_Context ctx;

	sw_getcontext(&uc);
	if (start_ctx(&ctx, &uc) < 0)
		return _URC_FATAL_PHASE1_ERROR;
	for (int end = 0;;) {
		if (trace(&ctx, arg) != _URC_NO_REASON)
			return _URC_FATAL_PHASE1_ERROR;
		if (end)
			return _URC_END_OF_STACK;
		int s = ctx_step(&ctx);
		if (s < 0)
			return _URC_FATAL_PHASE1_ERROR;
		if (s == 0) {
			end = 1;
			ctx_past_end(&ctx);
		}
	}
}

/* ---------------------------------------------------------------- FDE lookup */

EXPORT void *_Unwind_FindEnclosingFunction(void *pc)
{
	struct sw_proc_info pi;

	/* libgcc looks up pc - 1 too (pc is taken for a return address) */
	if (sw_get_proc_info_by_pc((uint64_t)(uintptr_t)pc - 1, &pi) < 0)
		return NULL;
	return (void *)(uintptr_t)pi.start;
}

/* libgcc's struct dwarf_eh_bases. */
struct dwarf_eh_bases {
	void *tbase;
	void *dbase;
	void *func;
};

EXPORT const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);
EXPORT const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases)
{
	/* copies of JIT FDEs (the registry's bytes encoded for another
	 * address, or converted descriptions): the caller reads one until its
	 * next lookup or two, so four per thread rotate */
	static __thread uint8_t copy[4][2048];
	static __thread unsigned next;
	struct sw_eh_fde f;

	if (sw_find_eh_fde((uint64_t)(uintptr_t)pc, copy[next & 3], sizeof(copy[0]), &f) < 0)
		return NULL;
	if (f.copied)
		next++;
	bases->tbase = NULL;    /* libgcc gives both as 0 on x86-64 */
	bases->dbase = NULL;
	bases->func = (void *)(uintptr_t)f.start;
	return f.fde;
}

/* ---------------------------------------------------------------- __register_frame */

/* Registrations by their .eh_frame start (what deregistration passes). */
struct reg {
	struct reg *next;
	const void *begin;
	void *ob;
	sw_jit_handle_t handle;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reg *regs;

/* Length of a zero-terminated .eh_frame (the caller vouches for it, as
 * with libgcc). */
static size_t eh_frame_size(const uint8_t *p)
{
	const uint8_t *q = p;

	for (;;) {
		uint32_t len;
		memcpy(&len, q, 4);
		if (len == 0)
			return (size_t)(q - p) + 4;
		if (len == 0xffffffffu) {
			uint64_t l64;
			memcpy(&l64, q + 4, 8);
			q += 12 + l64;
		} else {
			q += 4 + (size_t)len;
		}
	}
}

static void register_section(const void *begin, void *ob)
{
	struct reg *r;
	size_t size;

	if (!begin || !*(const uint32_t *)begin)
		return;
	size = eh_frame_size(begin);
	r = calloc(1, sizeof(*r));
	if (!r)
		return;
	r->begin = begin;
	r->ob = ob;
	/* code libgcc would unwind but already covered (another registration
	 * of the same bytes) is left alone: the first one answers */
	if (sw_jit_add_eh_frame(begin, size, (uint64_t)(uintptr_t)begin, NULL, 0, &r->handle) < 0)
		r->handle = 0;
	pthread_mutex_lock(&reg_lock);
	r->next = regs;
	regs = r;
	pthread_mutex_unlock(&reg_lock);
}

static void *deregister_section(const void *begin)
{
	struct reg **pp, *r = NULL;
	void *ob = NULL;

	pthread_mutex_lock(&reg_lock);
	for (pp = &regs; *pp; pp = &(*pp)->next)
		if ((*pp)->begin == begin) {
			r = *pp;
			*pp = r->next;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
	if (!r)
		return NULL;
	if (r->handle)
		sw_jit_remove(r->handle);
	ob = r->ob;
	free(r);
	return ob;
}

/* libgcc declares these in no installed header */
EXPORT void __register_frame(void *begin);
EXPORT void __deregister_frame(void *begin);
EXPORT void __register_frame_info(const void *begin, void *ob);
EXPORT void __register_frame_info_bases(const void *begin, void *ob, void *tbase, void *dbase);
EXPORT void *__deregister_frame_info(const void *begin);
EXPORT void *__deregister_frame_info_bases(const void *begin);
EXPORT void __register_frame_table(void *begin);
EXPORT void __register_frame_info_table(void *begin, void *ob);
EXPORT void __register_frame_info_table_bases(void *begin, void *ob, void *tbase, void *dbase);

EXPORT void __register_frame(void *begin)
{
	register_section(begin, NULL);
}

EXPORT void __deregister_frame(void *begin)
{
	deregister_section(begin);
}

EXPORT void __register_frame_info(const void *begin, void *ob)
{
	register_section(begin, ob);
}

EXPORT void __register_frame_info_bases(const void *begin, void *ob, void *tbase, void *dbase)
{
	(void)tbase;
	(void)dbase;
	register_section(begin, ob);
}

EXPORT void *__deregister_frame_info(const void *begin)
{
	return deregister_section(begin);
}

EXPORT void *__deregister_frame_info_bases(const void *begin)
{
	return deregister_section(begin);
}

/* The table forms take an array of FDE pointers (no compiler emits it on
 * x86-64 Linux): accepted and ignored, so such code still links and runs. */
EXPORT void __register_frame_table(void *begin)
{
	(void)begin;
}

EXPORT void __register_frame_info_table(void *begin, void *ob)
{
	(void)begin;
	(void)ob;
}

EXPORT void __register_frame_info_table_bases(void *begin, void *ob, void *tbase, void *dbase)
{
	(void)begin;
	(void)ob;
	(void)tbase;
	(void)dbase;
}
