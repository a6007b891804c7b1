#ifndef MULTI_H
#define MULTI_H
extern "C" int unit_c(int x);
int unit_b(int x);
namespace multi {
extern volatile int sink;
inline int twice(int x) { sink += x; return 2 * x + sink; }
template <typename T> struct Box {
	T v;
	explicit Box(T x) : v(x) {}
	__attribute__((noinline)) T get() const { sink++; return v + (T)sink; }
};
inline __attribute__((always_inline)) int deep3(int x) { return twice(x) ^ x; }
inline __attribute__((always_inline)) int deep2(int x) { return deep3(x) + deep3(x + 2); }
__attribute__((noinline)) inline int deep(int x) { return deep2(x) * deep2(x - 1); }
}
#endif
