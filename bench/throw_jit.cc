// C++ throw + catch through JIT frames with N other JIT procedures
// registered, one registration each (bench/run.sh, "C++ exceptions through
// JIT frames").
//
//   throw_jit register_frame N   SW_JIT_PUB_LIBGCC alone: every registration
//                                published to libgcc_s (up to GCC 12: in
//                                groups of __register_frame_table objects,
//                                see src/jit/publishers/libgcc.c)
//   throw_jit default N          no publisher call: the default publishers
//                                (libgcc, GDB, libunwind)
//   throw_jit interposer N       no publisher (sw_jit_set_publishers(0));
//                                run with LD_PRELOAD=libstackwalk_findfde.so
//
// The throwing chain (C++ -> 4 generated functions -> C++ throw) is
// generated first, at the lowest addresses, and the N other procedures
// after it -- libgcc keeps registrations in a list sorted by start
// address, highest first, and searches it linearly, so every lookup for
// the chain walks all N (and every lookup of an ordinary PC checks the
// registrations before the loaded modules).
//
// Prints `throw.jit.N.<mode>: X us` (mean per throw+catch over the timed
// throws, after one warm-up throw that is reported on stderr with the
// registration time: libgcc sorts its registrations at the first lookup).
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

extern "C" {
#include "emit.h"
}

namespace {

struct Boom {
	uint64_t v;
};

__attribute__((noinline)) void deep_throw(uint64_t v)
{
	if (v != 0)
		throw Boom{ v };
}

double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef uint64_t (*jit_fn)(uint64_t);

__attribute__((noinline)) bool throw_once(uint64_t entry, uint64_t v)
{
	try {
		reinterpret_cast<jit_fn>(entry)(v);
	} catch (const Boom &b) {
		return b.v == v;
	}
	return false;
}

} // namespace

extern "C" __attribute__((noinline)) uint64_t bench_leaf(uint64_t v)
{
	deep_throw(v);
	return v;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s register_frame|default|interposer N\n", argv[0]);
		return 2;
	}
	const char *mode = argv[1];
	size_t n = strtoul(argv[2], nullptr, 0);
	bool pub = !strcmp(mode, "register_frame"), dflt = !strcmp(mode, "default");
	if (!pub && !dflt && strcmp(mode, "interposer")) {
		fprintf(stderr, "throw_jit: unknown mode %s\n", mode);
		return 2;
	}
	if (!dflt && sw_jit_set_publishers(pub ? SW_JIT_PUB_LIBGCC : 0) < 0) {
		fprintf(stderr, "throw_jit: sw_jit_set_publishers failed\n");
		return 1;
	}

	// the chain, then n leaves
	struct emit_buf buf;
	const size_t NFN = 4;
	struct emit_fn chain[NFN];
	if (emit_buf_init(&buf, 4096 + n * 48 + (1 << 16), 0) != 0 ||
	    emit_chain(&buf, chain, NFN, reinterpret_cast<uint64_t>(&bench_leaf), 0) != 0) {
		fprintf(stderr, "throw_jit: emit failed\n");
		return 1;
	}
	struct sw_jit_proc procs[NFN];
	for (size_t i = 0; i < NFN; i++)
		emit_proc(&chain[i], SW_JIT_UNWIND_FRAME, &procs[i]);
	sw_jit_handle_t h;
	if (sw_jit_add_procs(procs, NFN, &h) != 0) {
		fprintf(stderr, "throw_jit: registering the chain failed\n");
		return 1;
	}
	double t0 = now();
	struct emit_spec spec;
	memset(&spec, 0, sizeof spec);
	spec.name = "other";
	for (size_t i = 0; i < n; i++) {
		struct emit_fn f;
		struct sw_jit_proc p;
		if (emit_fn(&buf, &spec, &f) != 0 || emit_proc(&f, SW_JIT_UNWIND_FRAME, &p) != 0 ||
		    sw_jit_add_procs(&p, 1, &h) != 0) {
			fprintf(stderr, "throw_jit: registering procedure %zu failed\n", i);
			return 1;
		}
		emit_fn_free(&f);
	}
	double t_reg = now() - t0;

	t0 = now();
	if (!throw_once(chain[0].start, 1)) {
		fprintf(stderr, "throw_jit: the exception was not caught\n");
		return 1;
	}
	double t_first = now() - t0;

	// time throws until ~0.5 s or 20000 throws, at least 10
	size_t k = 0;
	double t_all;
	t0 = now();
	do {
		for (int j = 0; j < 10; j++, k++)
			if (!throw_once(chain[0].start, 2 + k)) {
				fprintf(stderr, "throw_jit: the exception was not caught\n");
				return 1;
			}
		t_all = now() - t0;
	} while (t_all < 0.5 && k < 20000);

	fprintf(stderr, "bench: throw.jit %s N=%zu: %zu registrations in %.1f ms, first throw %.3f ms, %zu timed throws\n",
		mode, n, n + 1, t_reg * 1e3, t_first * 1e3, k);
	const char *tag = n == 1000 ? "1e3" : n == 10000 ? "1e4" : n == 100000 ? "1e5" : nullptr;
	char nbuf[32];
	if (!tag) {
		snprintf(nbuf, sizeof nbuf, "%zu", n);
		tag = nbuf;
	}
	printf("throw.jit.%s.%s: %.2f us\n", tag, mode, t_all / (double)k * 1e6);
	return 0;
}
