// A C++ test program for test_sym_dwarf: templates, lambdas, inline
// member functions, a namespace, always_inline chains, static functions.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

volatile int sink;

namespace geo {

template <typename T> struct Vec {
	T x, y;
	Vec operator+(const Vec &o) const { return Vec{x + o.x, y + o.y}; }
	T dot(const Vec &o) const { return x * o.x + y * o.y; }
};

template <typename T> T norm2(const Vec<T> &v)
{
	return v.dot(v);
}

inline __attribute__((always_inline)) int deep3(int x) { sink += x; return x + sink; }
inline __attribute__((always_inline)) int deep2(int x) { return deep3(x) * 2 + deep3(x + 1); }
inline __attribute__((always_inline)) int deep1(int x) { return deep2(x) - deep2(x - 1); }

int compute(int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += deep1(i);
	return s;
}

} // namespace geo

class Counter {
public:
	explicit Counter(int start) : n_(start) {}
	int next() { return ++n_; }
	template <typename F> int apply(F f) { return f(n_); }
private:
	int n_;
};

static std::string describe(int v)
{
	std::string s = "v=";
	s += std::to_string(v);
	return s;
}

template <typename C> static long sum_all(const C &c)
{
	long s = 0;
	for (auto &e : c)
		s += e;
	return s;
}

int main(int argc, char **argv)
{
	geo::Vec<int> a{1, 2}, b{3, argc};
	geo::Vec<double> c{1.5, 2.5};
	int r = geo::norm2(a + b) + (int)geo::norm2(c);
	std::vector<int> v;
	for (int i = 0; i < 20; i++)
		v.push_back((i * 31) % 17);
	std::sort(v.begin(), v.end(), [](int x, int y) { return x > y; });
	Counter k(argc);
	int mul = 3;
	r += k.apply([mul](int n) { return n * mul + (int)sink; });
	std::function<int(int)> f = [&](int x) { return x + k.next(); };
	r += f(4);
	std::map<std::string, int> m;
	m[describe(r)] = r;
	r += (int)sum_all(v) + geo::compute(argc + 5);
	if (argc > 1)
		r += (int)m.size() + (int)std::string(argv[1]).size();
	std::printf("%d %s\n", r, describe(r).c_str());
	return 0;
}
