// C++ throw+catch cost with whichever unwinder the process uses
// (bench/run.sh, "C++ throw+catch"; one process per unwinder, chosen by
// LD_PRELOAD).
//
//   throw_bench depth NAME      prints throw.depth10.NAME and throw.depth30.NAME
//                               (us per throw+catch through a chain of 10 / 30
//                               non-inlined frames without destructors)
//   throw_bench threads NAME    prints throw.threads2.speedup: the throughput of 2
//                               threads throwing at depth 10 over that of 1
//
// Each figure is the median of 5 batches of ~0.2 s after a warm-up.  The
// object defining _Unwind_RaiseException is reported on stderr.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace {

struct Boom {
	int v;
};

template <int N> __attribute__((noinline)) int down(int x)
{
	int r = down<N - 1>(x + 1);
	asm volatile("" ::: "memory");   // no tail call
	return r + 1;
}
template <> __attribute__((noinline)) int down<0>(int x)
{
	if (x >= 0)
		throw Boom{ x };
	return 0;
}

// the frame that catches is the D+1-th above the throw
template <int D> __attribute__((noinline)) bool throw_once(int v)
{
	try {
		down<D - 1>(v);
	} catch (const Boom &b) {
		return b.v == v + D - 1;
	}
	return false;
}

double now()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// throws in `secs` seconds (checked every 64 throws)
template <int D> long throws_for(double secs)
{
	long n = 0;
	double t0 = now();
	do {
		for (int i = 0; i < 64; i++, n++)
			if (!throw_once<D>((int)(n & 0xffff))) {
				fprintf(stderr, "throw_bench: wrong exception caught\n");
				exit(1);
			}
	} while (now() - t0 < secs);
	return n;
}

// median over 5 batches, us per throw
template <int D> double us_per_throw()
{
	throws_for<D>(0.05);   // warm-up: caches, lazy binding
	std::vector<double> v;
	for (int b = 0; b < 5; b++) {
		double t0 = now();
		long n = throws_for<D>(0.2);
		v.push_back((now() - t0) / (double)n * 1e6);
	}
	std::sort(v.begin(), v.end());
	return v[2];
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "depth") && strcmp(argv[1], "threads"))) {
		fprintf(stderr, "usage: %s depth|threads NAME\n", argv[0]);
		return 2;
	}
	const char *name = argv[2];
	Dl_info di;
	void *p = dlsym(RTLD_DEFAULT, "_Unwind_RaiseException");
	fprintf(stderr, "bench: throw %s: _Unwind_RaiseException from %s\n", name,
		p && dladdr(p, &di) && di.dli_fname ? di.dli_fname : "?");
	if (!strcmp(argv[1], "depth")) {
		printf("throw.depth10.%s: %.2f us\n", name, us_per_throw<10>());
		printf("throw.depth30.%s: %.2f us\n", name, us_per_throw<30>());
		return 0;
	}
	throws_for<10>(0.05);
	const double secs = 0.5;
	std::vector<double> ratios;
	for (int r = 0; r < 3; r++) {
		long one = throws_for<10>(secs);
		std::atomic<long> two{ 0 };
		std::vector<std::thread> ts;
		for (int t = 0; t < 2; t++)
			ts.emplace_back([&two, secs] { two += throws_for<10>(secs); });
		for (auto &t : ts)
			t.join();
		ratios.push_back((double)two.load() / (double)one);
		fprintf(stderr, "bench: throw threads %s: 1 thread %ld, 2 threads %ld throws in %.1f s\n", name,
			one, two.load(), secs);
	}
	std::sort(ratios.begin(), ratios.end());
	printf("throw.threads2.speedup: %.2f x\n", ratios[1]);
	return 0;
}
