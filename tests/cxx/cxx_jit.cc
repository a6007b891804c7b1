// C++ exceptions through JIT frames (tests/scripts/cxx_jit.sh).
//
//   cxx_jit MODE [expect]
//
// C++ (throw_once) -> C++ (through_jit) -> 4 generated functions
// (tests/jit/emit.h) -> C++ (cxx_leaf) -> C++ (deep_throw) throws; the
// exception must cross the generated frames and land in throw_once, and
// the three Counted objects of the C++ frames in between must be
// destroyed.  MODE says how the unwinder learns about the generated code:
//   publisher  sw_jit_set_publishers(SW_JIT_PUB_LIBGCC), then every
//              registration form that can be published (add_procs x 3
//              kinds, add_eh_frame pcrel4/absptr, a growable table), one
//              registration per function and one for the whole chain;
//              sw_jit_publish on/off; sw_jit_move; after sw_jit_remove a
//              throw terminates (in a child process)
//   direct     the SW_JIT_PUB_LIBGCC ops called directly with chunks built
//              by the CFI builder, in place and encoded for another address
//              (the re-encoding path)
//   default    the same with no publisher call: the default publishers
//              (SW_JIT_PUB_DEFAULT) must make the frames known to libgcc
//   many       default publishers, the chain registered one function per
//              registration among 10^5 other one-procedure registrations
//              on both sides of it; throws; half of the others removed;
//              throws; the chain removed -> terminate
//   interposer no publisher: the program runs with libstackwalk_findfde.so
//              (LD_PRELOAD or linked); every form including lazy callbacks;
//              move; remove -> terminate
// `expect` = llvm: the process must be unwinding with LLVM libunwind
// (preloaded); libgcc: with libgcc_s.
// Prints one line per failed check and the closing "N passed, N failed".
#include <dlfcn.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include <stackwalk.h>
#include <stackwalk/jit.h>

extern "C" {
#include "emit.h"
#include "jit/publishers/publish.h"
}

namespace {

unsigned long n_pass, n_fail;

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		if (cond) {                                                     \
			n_pass++;                                               \
		} else {                                                        \
			n_fail++;                                               \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);  \
			printf(__VA_ARGS__);                                    \
			printf("\n");                                           \
			fflush(stdout);                                         \
		}                                                               \
	} while (0)

struct Boom {
	uint64_t v;
};

int dtors;   // Counted objects destroyed

struct Counted {
	int id;
	explicit Counted(int i) : id(i) {}
	~Counted() { __atomic_fetch_add(&dtors, 1, __ATOMIC_RELAXED); }
};

__attribute__((noinline)) void deep_throw(uint64_t v)
{
	Counted c(3);
	if (v != 0)
		throw Boom{ v };
	asm volatile("" ::"r"(&c) : "memory");
}

typedef uint64_t (*jit_fn)(uint64_t);

__attribute__((noinline)) uint64_t through_jit(jit_fn f, uint64_t v)
{
	Counted c(1);
	uint64_t r = f(v);
	asm volatile("" ::"r"(&c) : "memory");
	return r;
}

} // namespace

// called by the last generated function
extern "C" __attribute__((noinline)) uint64_t cxx_leaf(uint64_t v)
{
	Counted c(2);
	deep_throw(v);
	asm volatile("" ::"r"(&c) : "memory");
	return v + 1;
}

namespace {

// One throw through the chain: true when caught with the right value and
// the three destructors ran.
bool throw_once(uint64_t entry, uint64_t v)
{
	int before = __atomic_load_n(&dtors, __ATOMIC_RELAXED);
	try {
		through_jit(reinterpret_cast<jit_fn>(entry), v);
	} catch (const Boom &b) {
		return b.v == v && __atomic_load_n(&dtors, __ATOMIC_RELAXED) - before == 3;
	}
	return false;
}

const int ROUNDS = 50;
const size_t NFN = 4;

// ROUNDS throws (and one normal return) through the chain starting at entry.
void throws(const char *what, uint64_t entry)
{
	int ok = 0;
	if (getenv("CXX_JIT_VERBOSE"))
		printf("throwing: %s\n", what);
	for (int i = 0; i < ROUNDS; i++)
		ok += throw_once(entry, 0x1000 + (uint64_t)i);
	CHECK(ok == ROUNDS, "%s: %d of %d throws caught with 3 destructors", what, ok, ROUNDS);
	int before = dtors;
	uint64_t r = through_jit(reinterpret_cast<jit_fn>(entry), 0);
	CHECK(r == 1 && dtors - before == 3, "%s: normal return %" PRIu64, what, r);
}

// After removal a throw must not find the frames: std::terminate in a child.
void throw_terminates(const char *what, uint64_t entry)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		// quiet "terminate called ..." and ASan's view of abort
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0)
			dup2(fd, 2);
		throw_once(entry, 7);
		_exit(0);   // caught: wrong
	}
	int st = 0;
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid, "%s: fork/wait", what);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT,
	      "%s: after sw_jit_remove the throw should terminate (status %#x)", what, st);
}

enum { F_PROCS_FRAME, F_PROCS_CFI, F_PROCS_DYN, F_EH_PCREL4, F_EH_ABSPTR, F_TABLE, F_CALLBACK, NFORMS };
const char *form_name[NFORMS] = { "procs-frame", "procs-cfi", "procs-dyn", "eh_frame-pcrel4",
				  "eh_frame-absptr", "table", "callback" };

struct chain {
	struct emit_buf buf;
	struct emit_fn fns[NFN];
};

struct cb_data {
	struct emit_fn *fns;
	size_t n;
};

int lazy(void *arg, uint64_t pc, struct sw_jit_proc *out)
{
	const cb_data *d = static_cast<const cb_data *>(arg);
	for (size_t i = 0; i < d->n; i++)
		if (pc >= d->fns[i].start && pc < d->fns[i].end)
			return emit_proc(&d->fns[i], SW_JIT_UNWIND_CFI, out);
	return -1;
}

cb_data cbd;

// Register fns[0..n) with `form`, `per_fn`: one registration per function.
// Returns the number of handles (0 on failure).
size_t reg(int form, struct emit_fn *fns, size_t n, bool per_fn, sw_jit_handle_t *h,
	   uint8_t *c_buf_base)
{
	size_t nh = 0;
	if (form == F_TABLE || form == F_CALLBACK) {
		uint64_t lo = UINT64_MAX, hi = 0;
		for (size_t i = 0; i < n; i++) {
			lo = fns[i].start < lo ? fns[i].start : lo;
			hi = fns[i].end > hi ? fns[i].end : hi;
		}
		int rc;
		if (form == F_CALLBACK) {
			cbd.fns = fns;
			cbd.n = n;
			rc = sw_jit_add_callback(lo, hi, lazy, &cbd, &h[0]);
		} else if ((rc = sw_jit_table_create(lo, hi, 64, &h[0])) == 0) {
			// appended in address order (emit_chain generates the
			// callee first, so fns[] is in descending order)
			size_t order[NFN];
			for (size_t i = 0; i < n; i++)
				order[i] = i;
			for (size_t i = 0; i < n; i++)
				for (size_t j = i + 1; j < n; j++)
					if (fns[order[j]].start < fns[order[i]].start) {
						size_t t = order[i];
						order[i] = order[j];
						order[j] = t;
					}
			for (size_t i = 0; i < n && rc == 0; i++) {
				struct sw_jit_proc p;
				emit_proc(&fns[order[i]], SW_JIT_UNWIND_FRAME, &p);
				rc = sw_jit_table_append(h[0], &p, 1);
				// publish in two batches
				if (rc == 0 && (i == 1 || i == n - 1))
					rc = sw_jit_table_publish(h[0]);
			}
		}
		CHECK(rc == 0, "%s: rc %d", form_name[form], rc);
		return rc == 0 ? 1 : 0;
	}
	for (size_t i = 0; i < n; i += per_fn ? 1 : n) {
		size_t k = per_fn ? 1 : n;
		int rc;
		if (form == F_EH_PCREL4 || form == F_EH_ABSPTR) {
			const struct emit_fn *ptrs[NFN];
			// near the code (pc-relative 4-byte fields), in its buffer
			uint8_t *bytes = c_buf_base + 900 * 1024;
			for (size_t j = 0; j < k; j++)
				ptrs[j] = &fns[i + j];
			int mode = form == F_EH_PCREL4 ? SW_CFI_B_PCREL4 : SW_CFI_B_ABSPTR;
			int size = emit_eh_frame(ptrs, k, bytes, 4096, (uint64_t)(uintptr_t)bytes, mode);
			CHECK(size > 0, "emit_eh_frame %d", size);
			rc = sw_jit_add_eh_frame(bytes, (size_t)size, (uint64_t)(uintptr_t)bytes, NULL, 0, &h[nh]);
			memset(bytes, 0xee, 4096);   // the registry must have copied them
		} else {
			struct sw_jit_proc p[NFN];
			int kind = form == F_PROCS_FRAME ? SW_JIT_UNWIND_FRAME :
				   form == F_PROCS_CFI ? SW_JIT_UNWIND_CFI : SW_JIT_UNWIND_DYN;
			for (size_t j = 0; j < k; j++)
				emit_proc(&fns[i + j], kind, &p[j]);
			rc = sw_jit_add_procs(p, k, &h[nh]);
		}
		CHECK(rc == 0, "%s: registration rc %d", form_name[form], rc);
		if (rc != 0)
			return 0;
		nh++;
	}
	return nh;
}

void unreg(sw_jit_handle_t *h, size_t nh)
{
	for (size_t i = 0; i < nh; i++)
		CHECK(sw_jit_remove(h[i]) == 0, "remove");
}

// Copy the chain's code by `delta` inside its buffer and tell the registry.
void move_chain(struct chain *c, sw_jit_handle_t *h, size_t nh, int64_t delta)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < NFN; i++) {
		lo = c->fns[i].start < lo ? c->fns[i].start : lo;
		hi = c->fns[i].end > hi ? c->fns[i].end : hi;
	}
	uint8_t *from = reinterpret_cast<uint8_t *>(lo);
	size_t len = hi - lo;
	memcpy(from + delta, from, len);
	for (size_t i = 0; i < NFN; i++)
		emit_relocate(&c->fns[i], delta);
	for (size_t i = 0; i < nh; i++)
		CHECK(sw_jit_move(h[i], delta) == 0, "sw_jit_move");
	memset(from, 0xcc, len);   // the old copy traps if anything still runs it
}

bool new_chain(struct chain *c)
{
	memset(c, 0, sizeof(*c));
	if (emit_buf_init(&c->buf, 1 << 20, 0) != 0 ||
	    emit_chain(&c->buf, c->fns, NFN, reinterpret_cast<uint64_t>(&cxx_leaf), 0) != 0) {
		CHECK(false, "emit_chain");
		return false;
	}
	return true;
}

void free_chain(struct chain *c)
{
	for (size_t i = 0; i < NFN; i++)
		emit_fn_free(&c->fns[i]);
	emit_buf_free(&c->buf);
}

// Every form: register, throw, (move, throw), remove, throw terminates.
void forms(bool publisher)
{
	for (int form = 0; form < NFORMS; form++) {
		if (publisher && form == F_CALLBACK)
			continue;   // callback ranges cannot be published
		for (int per_fn = 0; per_fn < 2; per_fn++) {
			if (per_fn && (form == F_TABLE || form == F_CALLBACK))
				continue;
			char what[96];
			snprintf(what, sizeof what, "%s%s", form_name[form], per_fn ? " (one per function)" : "");
			struct chain c;
			if (!new_chain(&c))
				return;
			sw_jit_handle_t h[NFN];
			size_t nh = reg(form, c.fns, NFN, per_fn, h, c.buf.base);
			if (!nh) {
				free_chain(&c);
				continue;
			}
			throws(what, c.fns[0].start);
			if (!per_fn) {
				char w2[128];
				snprintf(w2, sizeof w2, "%s after sw_jit_move", what);
				move_chain(&c, h, nh, 512 * 1024);
				throws(w2, c.fns[0].start);
			}
			if (publisher && form == F_PROCS_FRAME && !per_fn) {
				// withdraw and publish again
				CHECK(sw_jit_publish(h[0], 0) == 0, "sw_jit_publish 0");
				char w3[128];
				snprintf(w3, sizeof w3, "%s withdrawn", what);
				throw_terminates(w3, c.fns[0].start);
				CHECK(sw_jit_publish(h[0], SW_JIT_PUB_LIBGCC) == 0, "sw_jit_publish libgcc");
				snprintf(w3, sizeof w3, "%s published again", what);
				throws(w3, c.fns[0].start);
			}
			unreg(h, nh);
			char w4[128];
			snprintf(w4, sizeof w4, "%s removed", what);
			throw_terminates(w4, c.fns[0].start);
			free_chain(&c);
		}
	}
}

#ifndef CXX_JIT_NO_DIRECT
// The ops called directly with CFI-builder chunks.  (Built without this
// for the publisher runs, so nothing but the registry refers to the
// publisher's ops: a static link must still include them.)
void direct(void)
{
	for (int where = 0; where < 2; where++) {
		struct chain c;
		if (!new_chain(&c))
			return;
		const struct emit_fn *ptrs[NFN];
		for (size_t j = 0; j < NFN; j++)
			ptrs[j] = &c.fns[j];
		uint8_t *bytes = c.buf.base + 900 * 1024;
		// where 0: encoded in place; 1: pcrel4 encoded for an address in the
		// code buffer, read
		// from `bytes` (eh_vaddr != eh_frame: the publisher re-encodes)
		uint64_t vaddr = where ? (uint64_t)(uintptr_t)(c.buf.base + 768 * 1024) : (uint64_t)(uintptr_t)bytes;
		int size = emit_eh_frame(ptrs, NFN, bytes, 8192, vaddr, SW_CFI_B_PCREL4);
		CHECK(size > 0, "emit_eh_frame %d", size);
		struct sw_jit_chunk_proc procs[NFN];
		for (size_t j = 0; j < NFN; j++)
			procs[j] = { c.fns[j].start, c.fns[j].end, c.fns[j].name, nullptr, nullptr, 0 };
		struct sw_jit_chunk ch;
		ch.eh_frame = bytes;
		ch.eh_size = (size_t)size;
		ch.eh_vaddr = vaddr;
		ch.nprocs = NFN;
		ch.procs = procs;
		ch.lo = UINT64_MAX;
		ch.hi = 0;
		for (size_t j = 0; j < NFN; j++) {
			ch.lo = procs[j].start < ch.lo ? procs[j].start : ch.lo;
			ch.hi = procs[j].end > ch.hi ? procs[j].end : ch.hi;
		}
		void *cookie = nullptr;
		int rc = sw_jit_pub_libgcc.publish(&ch, &cookie);
		CHECK(rc == 0, "publish rc %d", rc);
		const char *what = where ? "direct, re-encoded" : "direct, in place";
		if (rc == 0) {
			throws(what, c.fns[0].start);
			sw_jit_pub_libgcc.unpublish(cookie);
			char w[96];
			snprintf(w, sizeof w, "%s, unpublished", what);
			throw_terminates(w, c.fns[0].start);
		}
		free_chain(&c);
	}
}

#endif

// 10^5 one-procedure registrations around the chain (mode "many").
void many(void)
{
	const size_t N = 100000, SZ = 16;
	static const uint32_t ret_at = SZ - 1;
	struct chain c;
	if (!new_chain(&c))
		return;
	// the others live in two mappings, one below and one above the chain
	// when the kernel allows (addresses are only registered, never run)
	uint8_t *lo = static_cast<uint8_t *>(mmap(nullptr, N / 2 * SZ, PROT_READ,
						    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	uint8_t *hi = static_cast<uint8_t *>(mmap(nullptr, N / 2 * SZ, PROT_READ,
						    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	CHECK(lo != MAP_FAILED && hi != MAP_FAILED, "mmap");
	if (lo == MAP_FAILED || hi == MAP_FAILED)
		return;
	std::vector<sw_jit_handle_t> others(N);
	sw_jit_handle_t h[NFN];
	size_t failed = 0;
	for (size_t i = 0; i < N; i++) {
		if (i == N / 2) {   // the chain in the middle of the sequence
			size_t nh = reg(F_PROCS_FRAME, c.fns, NFN, 1, h, c.buf.base);
			CHECK(nh == NFN, "chain registrations %zu", nh);
		}
		uint8_t *at = (i % 2 ? hi : lo) + i / 2 * SZ;
		sw_jit_proc p{};
		p.start = sw_jit_addr(at);
		p.end = p.start + SZ;
		p.kind = SW_JIT_UNWIND_FRAME;
		p.u.frame.flags = SW_JIT_FRAME_FP;
		p.u.frame.nepilogues = 1;
		p.u.frame.epilogues = &ret_at;
		failed += sw_jit_add_procs(&p, 1, &others[i]) != 0;
	}
	CHECK(failed == 0, "%zu of %zu registrations failed", failed, N);
	throws("among 10^5 registrations", c.fns[0].start);
	for (size_t i = 0; i < N; i += 2)
		failed += sw_jit_remove(others[i]) != 0;
	throws("among 10^5 registrations, half removed", c.fns[0].start);
	unreg(h, NFN);
	throw_terminates("among 10^5 registrations, chain removed", c.fns[0].start);
	for (size_t i = 1; i < N; i += 2)
		failed += sw_jit_remove(others[i]) != 0;
	CHECK(failed == 0, "%zu removals failed", failed);
	munmap(lo, N / 2 * SZ);
	munmap(hi, N / 2 * SZ);
	free_chain(&c);
}

const char *unwinder_path(void)
{
	static Dl_info di;
	// (not _Unwind_RaiseException: sanitizer runtimes intercept it)
	void *probe = dlsym(RTLD_DEFAULT, "_Unwind_GetIP");
	if (!probe || !dladdr(probe, &di) || !di.dli_fname)
		return "?";
	return di.dli_fname;
}

} // namespace

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	const char *expect = argc > 2 ? argv[2] : "";
	const char *uw = unwinder_path();

	setvbuf(stdout, nullptr, _IOLBF, 0);
	printf("cxx_jit %s: unwinder %s\n", mode, uw);
	if (!strcmp(expect, "llvm"))
		CHECK(strstr(uw, "llvm-16") != nullptr, "expected LLVM libunwind 16, got %s", uw);
	else if (!strcmp(expect, "libgcc"))
		CHECK(strstr(uw, "libgcc_s") != nullptr, "expected libgcc_s, got %s", uw);

	if (!strcmp(mode, "publisher")) {
		CHECK(sw_jit_set_publishers(SW_JIT_PUB_LIBGCC) >= 0, "sw_jit_set_publishers");
		forms(true);
#ifndef CXX_JIT_NO_DIRECT
	} else if (!strcmp(mode, "direct")) {
		direct();
#endif
	} else if (!strcmp(mode, "default")) {
		forms(true);
		int prev = sw_jit_set_publishers(SW_JIT_PUB_DEFAULT);
		CHECK(prev == SW_JIT_PUB_DEFAULT, "default publishers %#x", prev);
	} else if (!strcmp(mode, "many")) {
		many();
	} else if (!strcmp(mode, "interposer")) {
		void *un = dlsym(RTLD_DEFAULT, "sw_findfde_unserved");
		CHECK(un != nullptr, "libstackwalk_findfde.so is not loaded");
		// only the interposer may answer libgcc: no publisher at all,
		// whatever the default (the libgcc one would register the frames)
		CHECK(sw_jit_set_publishers(0) >= 0, "sw_jit_set_publishers(0)");
		forms(false);
		if (un)
			CHECK(reinterpret_cast<unsigned long (*)(void)>(un)() == 0, "unserved JIT lookups");
	} else {
		fprintf(stderr, "usage: %s publisher|default|many|direct|interposer [llvm|libgcc]\n", argv[0]);
		return 2;
	}
	printf("%lu passed, %lu failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
