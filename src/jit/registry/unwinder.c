/*
 * The registry as a source of unwind information (source/source.h): the
 * only code that fills the unwinder's struct sw_fde_info, plus the other
 * faces of the same lookup:
 *   - sw_reg_install_hook: installs the source at SW_RANK_JIT at each
 *     registration (and, once, the fork handlers and the interposer);
 *   - sw_jit_find_fde / jit_release: find (enters a read section) and
 *     release (leaves it);
 *   - jit_name: the name path (sw_get_proc_name, through the source);
 *   - sw_jit_eh_find_fde, sw_jit_eh_attach: libgcc's _Unwind_Find_FDE
 *     through the interposer and sw_find_eh_fde (jit/eh_find.h).
 *
 * Lazy descriptions (callbacks) are converted into one of a fixed pool of
 * SW_REG_SCRATCH_SLOTS buffers, mapped when the first callback range is
 * registered and claimed with an atomic bit for as long as the unwinder
 * holds the info: the unwinder's own stack holds no conversion buffer (its
 * stack bound, stackwalk.h).  When every buffer is in use (that many
 * lookups of lazily described code in flight at once, threads and nested
 * signal handlers together) the lookup fails with SW_EFULL.
 *
 * Lifetime: libgcc uses the returned FDE only until it has decoded the
 * frame (uw_frame_state_for, then uw_update_context for expression
 * rules), after our read section has ended.  Pointers into the registry
 * are therefore valid as long as the registration lives -- and a JIT that
 * removes or moves code while an exception is being unwound through it
 * has freed live frames anyway.  Copies live in the caller's buffer.
 */
#define _GNU_SOURCE 1   /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <string.h>
#include <sys/mman.h>

#include <stackwalk.h>

#include "jit/eh_find.h"
#include "jit/error.h"
#include "jit/publishers/eh_abs.h"
#include "jit/registry.h"
#include "jit/registry/internal.h"

static int jit_name(uint64_t pc, char *buf, size_t size, uint64_t *offset);
static void jit_release(struct sw_fde_info *info);
static int jit_eh_fde(uint64_t pc, void *buf, size_t size, const void **fde, uint64_t *start,
		      int *copied);

const struct sw_source sw_jit_source = { "JIT registry", sw_jit_find_fde, jit_release, jit_name,
					 jit_eh_fde };

/* ---------------------------------------------------------------- scratch */

#define SW_REG_SCRATCH_SLOTS 256
#define SCRATCH_WORDS (SW_REG_SCRATCH_SLOTS / 64)

static uint8_t (*scratch_pool)[SW_JIT_MAX_CFI];     /* set once (release) */
static uint64_t scratch_busy[SCRATCH_WORDS];

int sw_reg_scratch_init(void)
{
	void *p;

	if (__atomic_load_n(&scratch_pool, __ATOMIC_ACQUIRE))
		return 0;
	/* under the writer lock: one thread maps it */
	p = mmap(NULL, (size_t)SW_REG_SCRATCH_SLOTS * SW_JIT_MAX_CFI, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return SW_ENOMEM;
	__atomic_store_n(&scratch_pool, (uint8_t (*)[SW_JIT_MAX_CFI])p, __ATOMIC_RELEASE);
	return 0;
}

/* A free buffer's index + 1, 0 when none is free (or none was mapped). */
static uint32_t scratch_claim(void)
{
	if (!__atomic_load_n(&scratch_pool, __ATOMIC_ACQUIRE))
		return 0;
	for (unsigned w = 0; w < SCRATCH_WORDS; w++) {
		uint64_t busy = __atomic_load_n(&scratch_busy[w], __ATOMIC_RELAXED);
		while (~busy) {
			unsigned bit = (unsigned)__builtin_ctzll(~busy);
			if (__atomic_compare_exchange_n(&scratch_busy[w], &busy, busy | 1ull << bit,
							true, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				return w * 64 + bit + 1;
		}
	}
	return 0;
}

static void scratch_release(uint32_t slot)
{
	if (slot)
		__atomic_fetch_and(&scratch_busy[(slot - 1) / 64], ~(1ull << ((slot - 1) % 64)),
				   __ATOMIC_RELEASE);
}

/* ---------------------------------------------------------------- the source */

/* Once per process, at the first registration: the fork handlers, and
 * the registry handed to libstackwalk_findfde.so when it is loaded (a
 * program linked with libstackwalk.a exports nothing it could find). */
static void first_registration(void)
{
	pthread_atfork(sw_reg_fork_prepare, sw_reg_fork_parent, sw_reg_fork_child);
	sw_jit_eh_attach();
}

void sw_reg_install_hook(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, first_registration);
	sw_source_install(SW_RANK_JIT, &sw_jit_source);
}

int sw_jit_find_fde(uint64_t pc, struct sw_fde_info *info)
{
	struct hit h;
	uint32_t token, slot = 0;
	int rc;

	if (!in_bounds(pc))
		return SW_ENOTFOUND;
	token = sw_rcu_enter();
	/* the unwinder's lookup is no call of the JIT's: keep its reason */
	sw_jit_err_mute(1);
	/* while callback ranges exist, hold a buffer for the conversion of
	 * their answers (given back at once when the hit is another form) */
	slot = scratch_claim();
	rc = sw_reg_find(pc, &h, slot ? scratch_pool[slot - 1] : NULL, WANT_UNWIND);
	if (rc == SW_REG_NEED_SCRATCH) {
		/* the pool was mapped after our claim, or every buffer is busy */
		slot = scratch_claim();
		rc = slot ? sw_reg_find(pc, &h, scratch_pool[slot - 1], WANT_UNWIND) : SW_EFULL;
	}
	sw_jit_err_mute(-1);
	if (rc == 0 && h.form != SW_JIT_FORM_CALLBACK) {
		scratch_release(slot);
		slot = 0;
	}
	if (rc == 0) {
		sw_cfi_section_init(&info->sec, h.eh, h.eh_size, h.vaddr, true, ".eh_frame");
		rc = sw_cfi_parse_fde(&info->sec, h.fde_off, &info->fde, &info->cie, NULL);
	}
	if (rc < 0) {
		scratch_release(slot);
		sw_rcu_exit(token);
		return rc;
	}
	/* the FDE's addresses where the code is now */
	info->fde.pc_begin += (uint64_t)h.bias;
	info->fde.pc_end += (uint64_t)h.bias;
	info->module_base = 0;
	info->source = SW_SRC_JIT;
	info->held.jit.token = token;   /* both given back by jit_release */
	info->held.jit.scratch = slot;
	return 0;
}

static void jit_release(struct sw_fde_info *info)
{
	scratch_release(info->held.jit.scratch);
	sw_rcu_exit(info->held.jit.token);
}

/* sw_jit_get_name without its reason (the unwinder's call is no call of
 * the JIT's). */
static int jit_name(uint64_t pc, char *buf, size_t size, uint64_t *offset)
{
	int rc;

	if (!in_bounds(pc))
		return SW_ENOTFOUND;
	sw_jit_err_mute(1);
	rc = sw_jit_get_name(pc, buf, size, offset);
	sw_jit_err_mute(-1);
	return rc;
}

static int jit_eh_fde(uint64_t pc, void *buf, size_t size, const void **fde, uint64_t *start,
		      int *copied)
{
	struct sw_jit_eh_fde jf;
	int rc = sw_jit_eh_find_fde(pc, buf, size, &jf);

	if (rc == 0) {
		*fde = jf.fde;
		*start = jf.func;
		*copied = jf.copied;
	}
	return rc;
}

int sw_jit_get_name(uint64_t pc, char *buf, size_t size, uint64_t *offset)
{
	struct hit h;
	uint32_t token;
	int rc;

	if (!buf || !size)
		return sw_jit_fail(SW_EINVAL, "sw_jit_get_name: buf: NULL or size 0");
	buf[0] = '\0';
	if (!in_bounds(pc))
		return SW_ENOTFOUND;
	token = sw_rcu_enter();
	uint32_t mark = sw_jit_err_mark();
	rc = sw_reg_find(pc, &h, NULL, WANT_NAME);      /* the only error: a broken callback answer */
	if (rc != SW_ENOTFOUND)
		rc = sw_jit_err_ctx(rc, mark, "sw_jit_get_name: ");
	if (rc == 0 && !h.name)
		rc = SW_ENONAME;        /* found: "no information" would mislead */
	if (rc == 0) {
		/* the callback's name is the JIT's memory, valid until removal */
		sw_reg_copy_str(buf, size, h.name);
		if (offset)
			*offset = pc - h.start;
	}
	sw_rcu_exit(token);
	return rc;
}

int sw_jit_eh_find_fde(uint64_t pc, void *buf, size_t size, struct sw_jit_eh_fde *out)
{
	struct sw_fde_info info;
	size_t fde_off;
	int rc;

	if (!out)
		return sw_jit_fail(SW_EINVAL, "sw_jit_eh_find_fde: out: NULL");
	if ((rc = sw_jit_find_fde(pc, &info)) < 0)
		return rc;
	info.from = &sw_jit_source;
	/* the registry's fde.pc_begin already includes a move's bias */
	out->func = info.fde.pc_begin;
	if (info.sec.vaddr == (uint64_t)(uintptr_t)info.sec.data &&
	    !info.held.jit.scratch) {
		/* libgcc takes the code's start from bases.func, never from
		 * the FDE's pc_begin, so a moved registration (whose bytes keep
		 * the old addresses) is read in place too */
		out->fde = info.sec.data + info.fde.offset;
		out->copied = 0;
		rc = 0;
	} else {
		rc = sw_eh_abs_write(&info.sec, &info.cie, &info.fde, 0, buf, size, &fde_off);
		if (rc >= 0 && !buf)
			rc = SW_ETRUNCATED;
		if (rc >= 0) {
			out->fde = (const uint8_t *)buf + fde_off;
			out->copied = 1;
			rc = 0;
		}
	}
	sw_source_release(&info);
	return rc;
}

void sw_jit_eh_attach(void)
{
	/* static: the interposer links it into its list for good */
	static struct sw_findfde_registry self = { sw_jit_eh_find_fde, NULL };
	sw_findfde_attach_fn attach =
		(sw_findfde_attach_fn)dlsym(RTLD_DEFAULT, SW_FINDFDE_ATTACH_SYM);

	if (attach)
		attach(&self);
}
