// Exceptions through JIT frames registered only with stackwalk's registry
// (tests/scripts/eh.sh; run only with libstackwalk_unwind, since libgcc_s
// cannot see those frames): C++ (throw_once) -> C++ (through_jit) -> 4
// generated functions (tests/jit/emit.h, one sw_jit_add_procs call, no
// publisher) -> C++ (cxx_leaf) -> C++ (deep_throw) throws; the exception
// crosses the generated frames and is caught in throw_once, with the
// destructors of the C++ frames run.  Then each function registered
// separately, in each unwind description kind; _Unwind_Backtrace from the
// leaf must report the 4 generated frames; after sw_jit_remove... the
// frames are unknown (not tested: that is std::terminate).
#include <stdint.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>
#include <unwind.h>

extern "C" {
#include "emit.h"
}

#include "eh_common.h"

namespace {

struct Boom {
	uint64_t v;
};

int dtors;
struct Counted {
	~Counted() { dtors++; }
};

NOINLINE void deep_throw(uint64_t v)
{
	Counted c;
	if (v != 0)
		throw Boom{ v };
	asm volatile("" ::"r"(&c) : "memory");
}

typedef uint64_t (*jit_fn)(uint64_t);

NOINLINE uint64_t through_jit(jit_fn f, uint64_t v)
{
	Counted c;
	uint64_t r = f(v);
	asm volatile("" ::"r"(&c) : "memory");
	return r;
}

const size_t NFN = 4;
struct emit_fn fns[NFN];
int jit_frames_seen;

_Unwind_Reason_Code count_jit(struct _Unwind_Context *ctx, void *)
{
	uint64_t ip = _Unwind_GetIP(ctx);
	for (size_t i = 0; i < NFN; i++)
		if (ip > fns[i].start && ip <= fns[i].end)
			jit_frames_seen++;
	return _URC_NO_REASON;
}

} // namespace

// called by the last generated function
extern "C" NOINLINE uint64_t cxx_leaf(uint64_t v)
{
	Counted c;
	if (v == 1) {
		jit_frames_seen = 0;
		_Unwind_Backtrace(count_jit, nullptr);
		return v + 1;
	}
	deep_throw(v);
	asm volatile("" ::"r"(&c) : "memory");
	return v + 1;
}

namespace {

int throws(const char *what, int rounds)
{
	int ok = 0;
	for (int i = 0; i < rounds; i++) {
		int before = dtors;
		try {
			through_jit(reinterpret_cast<jit_fn>(fns[0].start), 0x100 + (uint64_t)i);
		} catch (const Boom &b) {
			ok += b.v == 0x100 + (uint64_t)i && dtors - before == 3;
		}
	}
	printf("%s: %d of %d throws caught\n", what, ok, rounds);
	EH_CHECK(ok == rounds, what, "%d of %d", ok, rounds);
	return ok;
}

} // namespace

int main()
{
	eh_report_unwinder();
	struct emit_buf buf;
	if (emit_buf_init(&buf, 1 << 16, 0) != 0 ||
	    emit_chain(&buf, fns, NFN, reinterpret_cast<uint64_t>(&cxx_leaf), 0) != 0) {
		printf("FAIL emit\n");
		return 1;
	}
	const int kinds[] = { SW_JIT_UNWIND_FRAME, SW_JIT_UNWIND_CFI, SW_JIT_UNWIND_DYN };
	const char *kind_names[] = { "frame", "cfi", "dyn" };
	for (int k = 0; k < 3; k++) {
		for (int per_fn = 0; per_fn < 2; per_fn++) {
			struct sw_jit_proc procs[NFN];
			sw_jit_handle_t h[NFN];
			size_t nh = 0;
			bool reg_ok = true;
			for (size_t i = 0; i < NFN; i++)
				reg_ok &= emit_proc(&fns[i], kinds[k], &procs[i]) == 0;
			if (per_fn) {
				for (size_t i = 0; i < NFN && reg_ok; i++)
					reg_ok &= sw_jit_add_procs(&procs[i], 1, &h[nh++]) == 0;
			} else {
				reg_ok &= sw_jit_add_procs(procs, NFN, &h[nh++]) == 0;
			}
			char what[96];
			snprintf(what, sizeof what, "%s, %s", kind_names[k],
				 per_fn ? "one registration per function" : "one registration");
			EH_CHECK(reg_ok, "registration", "%s", what);
			if (!reg_ok)
				continue;
			throws(what, eh_quick() ? 20 : 200);
			uint64_t r = through_jit(reinterpret_cast<jit_fn>(fns[0].start), 1);
			printf("%s: normal return %llu, _Unwind_Backtrace saw %d generated frames\n", what,
			       (unsigned long long)r, jit_frames_seen);
			EH_CHECK(r == 2 && jit_frames_seen == (int)NFN, "backtrace through JIT frames", "%s",
				 what);
			for (size_t i = 0; i < nh; i++)
				sw_jit_remove(h[i]);
		}
	}
	for (size_t i = 0; i < NFN; i++)
		emit_fn_free(&fns[i]);
	emit_buf_free(&buf);
	return eh_finish("eh_jit");
}
