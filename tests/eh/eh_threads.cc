// Exceptions in several threads at once (tests/scripts/eh.sh):
//   eh_threads LIB.so
// 4 threads each throw and catch through 12 frames with destructors (mixed
// exception types, a rethrow every 7th time) while a fifth thread loads
// LIB.so (eh_dl_lib.cc), throws through it and unloads it again, so the
// unwinder's view of the loaded modules changes under the throwing threads.
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "eh_common.h"

namespace {

std::atomic<long> dtors;
struct Counted {
	~Counted() { dtors.fetch_add(1, std::memory_order_relaxed); }
};

template <int N> NOINLINE long chain(long v)
{
	Counted c;
	long r = chain<N - 1>(v + 1);
	asm volatile("" ::"r"(&c) : "memory");
	return r + 1;
}
template <> NOINLINE long chain<0>(long v)
{
	switch (v % 3) {
	case 0: throw v;
	case 1: throw std::runtime_error("e");
	default: throw std::to_string(v);
	}
}

long worker(int id, int iters)
{
	long sum = 0;
	for (int i = 0; i < iters; i++) {
		long v = id * 1000003L + i;
		try {
			try {
				chain<12>(v);
			} catch (...) {
				if (i % 7 == 0)
					throw;
				sum += 1;
				continue;
			}
		} catch (long x) {
			sum += x == v + 12 ? 1 : 1000000;
		} catch (const std::runtime_error &) {
			sum += 1;
		} catch (const std::string &s) {
			sum += s == std::to_string(v + 12) ? 1 : 1000000;
		}
	}
	return sum;
}

typedef void (*lib_throw_t)(int, int);

} // namespace

int main(int argc, char **argv)
{
	eh_report_unwinder();
	if (argc != 2) {
		fprintf(stderr, "usage: %s LIB.so\n", argv[0]);
		return 2;
	}
	const int nthreads = 4, iters = eh_quick() ? 2000 : 20000;
	std::vector<long> sums(nthreads);
	std::vector<std::thread> ts;
	std::atomic<bool> stop{ false };
	std::atomic<int> dl_rounds{ 0 }, dl_ok{ 0 };
	std::thread loader([&] {
		while (!stop.load()) {
			void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
			if (!h)
				break;
			auto f = reinterpret_cast<lib_throw_t>(dlsym(h, "lib_throw"));
			try {
				f(1, 3);
			} catch (const std::runtime_error &e) {
				dl_ok += std::string(e.what()) == "lib error 1";
			}
			dlclose(h);
			dl_rounds++;
		}
	});
	for (int t = 0; t < nthreads; t++)
		ts.emplace_back([&sums, t, iters] { sums[t] = worker(t, iters); });
	for (auto &t : ts)
		t.join();
	stop = true;
	loader.join();
	for (int t = 0; t < nthreads; t++) {
		printf("thread %d: %ld of %d caught correctly\n", t, sums[t], iters);
		EH_CHECK(sums[t] == iters, "thread throws", "thread %d", t);
	}
	long expect = 12L * nthreads * iters;
	EH_CHECK(dtors.load() == expect, "destructors in the threads", "%ld of %ld", dtors.load(), expect);
	fprintf(stderr, "eh_threads: %d load/throw/unload rounds\n", dl_rounds.load());
	EH_CHECK(dl_rounds.load() > 0 && dl_ok.load() == dl_rounds.load(),
		 "throws through a library loaded and unloaded meanwhile", "%d of %d", dl_ok.load(),
		 dl_rounds.load());
	return eh_finish("eh_threads");
}
