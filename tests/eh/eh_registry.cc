// One registry per process (tests/scripts/eh.sh): a program linked with
// libstackwalk.so, run with libstackwalk_unwind.so preloaded or linked, so
// both libraries are loaded.  JIT code registered through the sw_jit API
// (the program's calls bind to libstackwalk.so) must be seen by the
// _Unwind_* of libstackwalk_unwind: a C++ exception thrown through it is
// caught, _Unwind_Find_FDE and _Unwind_FindEnclosingFunction answer for
// it, and stop answering after sw_jit_remove.  Run with
// SW_JIT_PUBLISHERS=none: no publisher hands the code to anyone else.
// Also: the public by-address lookups (sw_get_proc_info_by_pc,
// sw_find_eh_fde), and a dlclose moving sw_info_generation (the dlclose
// interposition works whatever the search order puts first).
//
//   eh_registry LIBRARY.so     (a library to dlopen and dlclose)
#include <stdint.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>
#include <unwind.h>

extern "C" {
#include "emit.h"
}

#include "eh_common.h"

extern "C" void *_Unwind_FindEnclosingFunction(void *pc);
struct dwarf_eh_bases {
	void *tbase, *dbase, *func;
};
extern "C" const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

namespace {

struct Boom {
	uint64_t v;
};

NOINLINE void deep_throw(uint64_t v)
{
	if (v != 0)
		throw Boom{ v };
}

typedef uint64_t (*jit_fn)(uint64_t);

const size_t NFN = 4;
struct emit_fn fns[NFN];

const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

// the object defining `sym` in the process's global lookup
const char *definer(const char *sym)
{
	Dl_info di;
	void *p = dlsym(RTLD_DEFAULT, sym);
	return p && dladdr(p, &di) && di.dli_fname ? base(di.dli_fname) : "none";
}

} // namespace

extern "C" NOINLINE uint64_t cxx_leaf(uint64_t v)
{
	deep_throw(v);
	return v + 1;
}

int main(int argc, char **argv)
{
	eh_report_unwinder();
	if (argc != 2) {
		fprintf(stderr, "usage: eh_registry LIBRARY.so\n");
		return 2;
	}
	// the API's one definition, and no second registry behind _Unwind_*
	EH_CHECK(strncmp(definer("sw_jit_add_procs"), "libstackwalk.so", 15) == 0,
		 "sw_jit_add_procs from libstackwalk.so", "%s", definer("sw_jit_add_procs"));
	EH_CHECK(strncmp(definer("sw_step"), "libstackwalk.so", 15) == 0, "sw_step from libstackwalk.so",
		 "%s", definer("sw_step"));

	struct emit_buf buf;
	if (emit_buf_init(&buf, 1 << 16, 0) != 0 ||
	    emit_chain(&buf, fns, NFN, reinterpret_cast<uint64_t>(&cxx_leaf), 0) != 0) {
		printf("FAIL emit\n");
		return 1;
	}
	struct sw_jit_proc procs[NFN];
	sw_jit_handle_t h;
	bool reg_ok = true;
	for (size_t i = 0; i < NFN; i++)
		reg_ok &= emit_proc(&fns[i], SW_JIT_UNWIND_CFI, &procs[i]) == 0;
	reg_ok = reg_ok && sw_jit_add_procs(procs, NFN, &h) == 0;
	EH_CHECK(reg_ok, "registration", "sw_jit_add_procs");
	if (!reg_ok)
		return eh_finish("eh_registry");

	int caught = 0, rounds = 50;
	for (int i = 0; i < rounds; i++) {
		try {
			reinterpret_cast<jit_fn>(fns[0].start)(0x100 + (uint64_t)i);
		} catch (const Boom &b) {
			caught += b.v == 0x100 + (uint64_t)i;
		}
	}
	printf("%d of %d throws through JIT frames caught\n", caught, rounds);
	EH_CHECK(caught == rounds, "throws through JIT frames", "%d of %d", caught, rounds);

	uint64_t pc = fns[1].start + 1;
	struct dwarf_eh_bases bases = {};
	const void *fde = _Unwind_Find_FDE(reinterpret_cast<void *>(pc), &bases);
	EH_CHECK(fde && reinterpret_cast<uint64_t>(bases.func) == fns[1].start, "_Unwind_Find_FDE of JIT code",
		 "fde %p func %p", fde, bases.func);
	EH_CHECK(reinterpret_cast<uint64_t>(_Unwind_FindEnclosingFunction(reinterpret_cast<void *>(pc + 1))) ==
			 fns[1].start,
		 "_Unwind_FindEnclosingFunction of JIT code", "%p",
		 _Unwind_FindEnclosingFunction(reinterpret_cast<void *>(pc + 1)));

	struct sw_proc_info pi;
	int rc = sw_get_proc_info_by_pc(pc, &pi);
	EH_CHECK(rc == 0 && pi.start == fns[1].start && pi.end == fns[1].end && pi.source == SW_SRC_JIT,
		 "sw_get_proc_info_by_pc of JIT code", "rc %d start %#llx source %d", rc,
		 (unsigned long long)pi.start, pi.source);
	static uint8_t copy[2048];
	struct sw_eh_fde ef;
	rc = sw_find_eh_fde(pc, copy, sizeof copy, &ef);
	EH_CHECK(rc == 0 && ef.fde && ef.start == fns[1].start && ef.source == SW_SRC_JIT,
		 "sw_find_eh_fde of JIT code", "rc %d start %#llx", rc, (unsigned long long)ef.start);
	EH_CHECK(sw_find_eh_fde(pc, copy, sizeof copy, nullptr) == SW_EINVAL, "sw_find_eh_fde(out NULL)",
		 "not SW_EINVAL");

	// compiled code: the module's .eh_frame in memory
	pc = reinterpret_cast<uint64_t>(&cxx_leaf);
	rc = sw_find_eh_fde(pc, nullptr, 0, &ef);
	EH_CHECK(rc == 0 && !ef.copied && ef.start == pc && ef.source == SW_SRC_EH_FRAME_HDR,
		 "sw_find_eh_fde of compiled code", "rc %d start %#llx copied %d source %d", rc,
		 (unsigned long long)ef.start, ef.copied, ef.source);
	rc = sw_get_proc_info_by_pc(pc, &pi);
	EH_CHECK(rc == 0 && pi.start == pc && pi.fde == reinterpret_cast<uint64_t>(ef.fde),
		 "sw_get_proc_info_by_pc of compiled code", "rc %d start %#llx", rc,
		 (unsigned long long)pi.start);
	// main has a personality (it catches)
	rc = sw_get_proc_info_by_pc(reinterpret_cast<uint64_t>(&main), &pi);
	EH_CHECK(rc == 0 && pi.personality == reinterpret_cast<uint64_t>(dlsym(RTLD_DEFAULT, "__gxx_personality_v0")) &&
			 pi.lsda != 0,
		 "personality and LSDA of main", "rc %d personality %#llx", rc,
		 (unsigned long long)pi.personality);
	EH_CHECK(sw_get_proc_info_by_pc(0, &pi) == SW_ENOTFOUND, "sw_get_proc_info_by_pc(0)", "found");

	sw_jit_remove(h);
	pc = fns[1].start + 1;
	EH_CHECK(!_Unwind_Find_FDE(reinterpret_cast<void *>(pc), &bases), "_Unwind_Find_FDE after removal",
		 "still found");
	EH_CHECK(sw_get_proc_info_by_pc(pc, &pi) == SW_ENOTFOUND, "sw_get_proc_info_by_pc after removal",
		 "still found");

	// a dlclose moves the generation: whichever dlclose the program's
	// call reaches, it tells the one registry
	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	EH_CHECK(lib != nullptr, "dlopen", "%s", dlerror());
	if (lib) {
		uint32_t g1 = sw_info_generation();
		int drc = dlclose(lib);
		uint32_t g2 = sw_info_generation();
		EH_CHECK(drc == 0 && g1 != 0 && g2 != 0 && g2 != g1, "dlclose moves sw_info_generation",
			 "dlclose %d, %u -> %u", drc, g1, g2);
	}

	for (size_t i = 0; i < NFN; i++)
		emit_fn_free(&fns[i]);
	emit_buf_free(&buf);
	return eh_finish("eh_registry");
}
