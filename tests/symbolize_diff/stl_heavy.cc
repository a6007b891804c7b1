// stl_heavy.cc: a C++ program for tests/scripts/symbolize_diff.sh whose
// machine code is mostly inlined library templates: std::map, std::vector,
// std::sort, std::unordered_map, std::string, algorithms taking lambdas,
// class templates instantiated for several types, and chains of small
// functions that -O2 inlines several levels deep.  Its addresses are picked
// from the binary; running it only prints a checksum.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace corpus {

// ---------------------------------------------------------------- deep inline chains
// level0 <- level1 <- ... <- level5: each a tiny function -O2 inlines into
// its caller, so one instruction of chain_top has up to six source frames.
template <typename T> static inline T level0(T x) { return x * 3 + 1; }
template <typename T> static inline T level1(T x) { return level0(x) ^ (x >> 2); }
template <typename T> static inline T level2(T x) { return level1(x) + level1(x + 7); }
template <typename T> static inline T level3(T x) { return level2(x) * (level2(x >> 1) | 1); }
template <typename T> static inline T level4(T x) { return level3(x) - level3(x ^ 0x55); }
template <typename T> static inline T level5(T x) { return level4(x) + (level4(x + 1) >> 3); }

template <typename T> __attribute__((noinline)) T chain_top(const std::vector<T> &v)
{
	T acc = 0;
	for (const T &x : v)
		acc += level5(x);
	return acc;
}

// ---------------------------------------------------------------- a class template
template <typename Key, typename Value> class Table {
public:
	void put(const Key &k, const Value &v) { rows_[k].push_back(v); }

	// the values under keys that pass `keep`, sorted by `less`
	template <typename Keep, typename Less> std::vector<Value> select(Keep keep, Less less) const
	{
		std::vector<Value> out;
		for (const auto &kv : rows_)
			if (keep(kv.first))
				out.insert(out.end(), kv.second.begin(), kv.second.end());
		std::sort(out.begin(), out.end(), less);
		return out;
	}

	size_t size() const
	{
		return std::accumulate(rows_.begin(), rows_.end(), size_t{0},
				       [](size_t n, const auto &kv) { return n + kv.second.size(); });
	}

private:
	std::map<Key, std::vector<Value>> rows_;
};

struct Point {
	int x, y;
	std::string label;
	bool operator<(const Point &o) const { return std::tie(x, y, label) < std::tie(o.x, o.y, o.label); }
};

// ---------------------------------------------------------------- generators
static uint64_t rng_state = 88172645463325252ull;
static inline uint64_t next_rand()
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

template <typename T> __attribute__((noinline)) std::vector<T> make_values(size_t n)
{
	std::vector<T> v;
	v.reserve(n);
	for (size_t i = 0; i < n; i++)
		v.push_back(static_cast<T>(next_rand() % 100000));
	return v;
}

__attribute__((noinline)) std::vector<std::string> make_words(size_t n)
{
	std::vector<std::string> words;
	for (size_t i = 0; i < n; i++) {
		std::string w;
		size_t len = 3 + next_rand() % 9;
		for (size_t j = 0; j < len; j++)
			w.push_back(static_cast<char>('a' + next_rand() % 26));
		words.push_back(std::move(w));
	}
	return words;
}

// ---------------------------------------------------------------- workloads
template <typename T> __attribute__((noinline)) uint64_t sort_and_search(std::vector<T> v)
{
	std::sort(v.begin(), v.end(), [](const T &a, const T &b) { return a > b; });
	v.erase(std::unique(v.begin(), v.end()), v.end());
	uint64_t hits = 0;
	for (T probe = 0; probe < 1000; probe += 7)
		hits += std::binary_search(v.begin(), v.end(), probe, std::greater<T>());
	auto mid = std::partition(v.begin(), v.end(), [](const T &x) { return static_cast<long>(x) % 3 == 0; });
	std::stable_sort(mid, v.end());
	std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
	return hits + static_cast<uint64_t>(v[v.size() / 2]);
}

__attribute__((noinline)) uint64_t word_counts(const std::vector<std::string> &words)
{
	std::unordered_map<std::string, int> counts;
	for (const auto &w : words)
		counts[w.substr(0, 2)]++;
	std::map<int, std::set<std::string>> by_count;
	for (const auto &kv : counts)
		by_count[kv.second].insert(kv.first);
	uint64_t sum = 0;
	for (const auto &kv : by_count)
		sum += static_cast<uint64_t>(kv.first) * kv.second.size();
	std::vector<std::string> sorted(words);
	std::sort(sorted.begin(), sorted.end(), [](const std::string &a, const std::string &b) {
		return a.size() != b.size() ? a.size() < b.size() : a < b;
	});
	auto it = std::find_if(sorted.begin(), sorted.end(),
			       [](const std::string &s) { return s.find("zz") != std::string::npos; });
	return sum + static_cast<uint64_t>(it - sorted.begin());
}

__attribute__((noinline)) uint64_t points(const std::vector<int> &xs, const std::vector<std::string> &words)
{
	Table<std::string, Point> t;
	for (size_t i = 0; i < xs.size(); i++)
		t.put(words[i % words.size()].substr(0, 1),
		      Point{xs[i], xs[(i * 7) % xs.size()], words[(i * 3) % words.size()]});
	auto sel = t.select([](const std::string &k) { return k < "m"; },
			    [](const Point &a, const Point &b) { return b < a; });
	std::set<Point> uniq(sel.begin(), sel.end());
	return t.size() + uniq.size() + (sel.empty() ? 0 : static_cast<uint64_t>(sel.front().x));
}

template <typename T> __attribute__((noinline)) uint64_t tables(const std::vector<T> &v)
{
	Table<T, double> t;
	for (size_t i = 0; i < v.size(); i++)
		t.put(v[i] % 97, static_cast<double>(v[i]) / (1.0 + static_cast<double>(i)));
	auto sel = t.select([](const T &k) { return k % 2 == 0; }, std::less<double>());
	double s = std::accumulate(sel.begin(), sel.end(), 0.0);
	return t.size() + static_cast<uint64_t>(s);
}

__attribute__((noinline)) uint64_t functions(const std::vector<int> &v)
{
	std::vector<std::function<int(int)>> fs;
	for (int k = 1; k < 6; k++)
		fs.emplace_back([k](int x) { return level3(x) % (k + 11); });
	fs.emplace_back([&v](int x) { return v.empty() ? x : v[static_cast<size_t>(x) % v.size()]; });
	std::vector<int> out(v.size());
	uint64_t acc = 0;
	for (const auto &f : fs) {
		std::transform(v.begin(), v.end(), out.begin(), f);
		acc += static_cast<uint64_t>(std::count_if(out.begin(), out.end(), [](int x) { return x & 1; }));
	}
	std::unique_ptr<std::map<int, std::vector<int>>> groups(new std::map<int, std::vector<int>>);
	for (int x : out)
		(*groups)[x % 13].push_back(x);
	for (auto &g : *groups) {
		std::reverse(g.second.begin(), g.second.end());
		acc += static_cast<uint64_t>(*std::max_element(g.second.begin(), g.second.end()));
	}
	return acc;
}

} // namespace corpus

int main(int argc, char **argv)
{
	(void)argv;
	size_t n = 2000 + static_cast<size_t>(argc);
	auto ints = corpus::make_values<int>(n);
	auto longs = corpus::make_values<long>(n);
	auto u16 = corpus::make_values<unsigned short>(n);
	auto dbl = corpus::make_values<double>(n);
	auto words = corpus::make_words(n / 4);
	uint64_t sum = 0;
	sum += corpus::chain_top(ints) + corpus::chain_top(longs) + corpus::chain_top(u16);
	sum += corpus::sort_and_search(ints) + corpus::sort_and_search(longs);
	sum += corpus::sort_and_search(u16) + corpus::sort_and_search(dbl);
	sum += corpus::word_counts(words);
	sum += corpus::points(ints, words);
	sum += corpus::tables(ints) + corpus::tables(longs) + corpus::tables(u16);
	sum += corpus::functions(ints);
	std::printf("%llu\n", static_cast<unsigned long long>(sum));
	return 0;
}
