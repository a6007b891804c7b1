// The C++ program tests/scripts/perf_script.sh records: a template's const
// method that gcc clones (.isra), called through a namespace function, so
// the names perf prints ("ns::Box<long>::spin", no parameters, no clone
// suffix) are checked against stackwalk's.  Runs about SECONDS (argv[1]).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace ns {
template <typename T> struct Box {
	__attribute__((noinline)) T spin(T n) const
	{
		volatile T s = 0;
		for (T i = 0; i < n; i++)
			s += i * i;
		return s;
	}
};

__attribute__((noinline)) long run(const std::vector<long> &v, int k)
{
	Box<long> b;
	long t = 0;
	for (long x : v)
		t += b.spin(x * k);
	return t;
}
} // namespace ns

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0.5;
	auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(secs);
	std::vector<long> v(10, 100000);
	long t = 0;
	while (std::chrono::steady_clock::now() < end)
		t += ns::run(v, 1);
	printf("%ld\n", t & 1);
	return 0;
}
