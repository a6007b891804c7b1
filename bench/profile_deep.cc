// A CPU-bound C++ program with deep stacks for bench/profile.sh's sampler:
// each round builds a chain of 50..200 levels through virtual calls,
// std::function objects and a template recursion, and does its work at the
// bottom (arithmetic, std::sort with a lambda, std::map, std::string in
// libstdc++, malloc in libc), so samples land at every depth and in every
// kind of frame.  Runs for SECONDS of CPU time (default 1.5):
//   profile_deep [SECONDS [DEPTH]]
// DEPTH fixes the chain's levels (tests/scripts/profile_smoke.sh: every
// sample then has about the same depth).
// prints the rounds and a checksum (so nothing is optimised away).
// bench/profile.sh builds it twice: -fno-omit-frame-pointer and
// -fomit-frame-pointer.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

volatile long sink;

double cpu_seconds()
{
	timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

// the bottom of every chain
__attribute__((noinline)) long leaf_work(int seed)
{
	std::vector<int> v(64 + seed % 64);
	unsigned x = 2463534242u + (unsigned)seed;
	for (int &e : v) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		e = (int)(x % 1000);
	}
	std::sort(v.begin(), v.end(), [](int a, int b) {
		int ka = (a * 7) % 13, kb = (b * 7) % 13;
		return ka != kb ? ka < kb : a < b;
	});
	std::map<int, std::string> m;
	for (int i = 0; i < 8; i++)
		m[v[(size_t)i]] += std::to_string(v[(size_t)i + 1]) + ":";
	long r = 0;
	for (auto &kv : m)
		r += kv.first + (long)kv.second.size();
	for (int i = 0; i < 2000; i++)
		r = r * 31 + (r >> 7) + i;
	return r;
}

struct Level {
	virtual ~Level() = default;
	virtual long run(int depth, int seed) const = 0;
};

long descend(const std::vector<std::unique_ptr<Level>> &kinds, int depth, int seed);

const std::vector<std::unique_ptr<Level>> *g_kinds;

// a compile-time recursion of N frames on the way down
template <int N> struct Chain {
	__attribute__((noinline)) static long go(int depth, int seed)
	{
		long r = Chain<N - 1>::go(depth, seed + N);
		sink = r;
		return r ^ N;
	}
};
template <> struct Chain<0> {
	__attribute__((noinline)) static long go(int depth, int seed)
	{
		long r = descend(*g_kinds, depth - 1, seed);
		sink = r;
		return r + 1;
	}
};

struct Plain : Level {
	__attribute__((noinline)) long run(int depth, int seed) const override
	{
		long r = descend(*g_kinds, depth - 1, seed * 3 + 1);
		sink = r;
		return r + depth;
	}
};

struct ViaFunction : Level {
	std::function<long(int, int)> next = [](int d, int s) {
		long r = descend(*g_kinds, d - 1, s + 7);
		sink = r;
		return r * 3;
	};
	__attribute__((noinline)) long run(int depth, int seed) const override
	{
		long r = next(depth, seed);
		sink = r;
		return r - 1;
	}
};

struct ViaTemplate : Level {
	__attribute__((noinline)) long run(int depth, int seed) const override
	{
		// the template chain counts as 4 levels
		long r = Chain<3>::go(depth - 3, seed);
		sink = r;
		return r + 2;
	}
};

__attribute__((noinline)) long descend(const std::vector<std::unique_ptr<Level>> &kinds, int depth,
				       int seed)
{
	if (depth <= 0)
		return leaf_work(seed);
	long r = kinds[(size_t)(seed ^ depth) % kinds.size()]->run(depth, seed);
	sink = r;
	return r + (depth & 3);
}

} // namespace

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? std::atof(argv[1]) : 1.5;
	int fixed = argc > 2 ? std::atoi(argv[2]) : 0;
	std::vector<std::unique_ptr<Level>> kinds;
	kinds.emplace_back(new Plain);
	kinds.emplace_back(new ViaFunction);
	kinds.emplace_back(new ViaTemplate);
	g_kinds = &kinds;

	double end = cpu_seconds() + seconds;
	long sum = 0, rounds = 0;
	unsigned x = 12345;
	while (cpu_seconds() < end) {
		for (int i = 0; i < 16; i++) {
			x = x * 1103515245u + 12345u;
			int depth = fixed > 0 ? fixed : 50 + (int)((x >> 8) % 151);   // 50..200
			sum += descend(kinds, depth, (int)(x >> 4) & 0xffff);
			rounds++;
		}
	}
	std::printf("profile_deep: %ld rounds, checksum %ld\n", rounds, sum);
	return 0;
}
