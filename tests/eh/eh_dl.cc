// Exceptions across a dlopen'ed library (tests/scripts/eh.sh):
//   eh_dl LIB.so
// thrown in the library (its own type) and caught in the program by base
// class; thrown in the program's callback and caught in the library;
// thrown in the program, passing through library frames back to the
// program.  The library is loaded with RTLD_LOCAL, used, closed, and this
// 4 times (the unwinder must forget its unwind tables each time), and a
// throw in the program after each dlclose must still work.
#include <stdexcept>
#include <string>

#include "eh_common.h"

namespace {

int dtors;
struct Counted {
	~Counted() { dtors++; }
};

NOINLINE void cb_int(int v)
{
	Counted c;
	throw v;
}
NOINLINE void cb_std(int v)
{
	Counted c;
	throw std::invalid_argument("cb " + std::to_string(v));
}

NOINLINE int local_throw(int v)
{
	Counted c;
	try {
		cb_int(v);
	} catch (int i) {
		return i;
	}
	return 0;
}

typedef void (*lib_throw_t)(int, int);
typedef int (*lib_catch_t)(void (*)(int), int);
typedef void (*lib_pass_t)(void (*)(int), int);
typedef int (*lib_destructors_t)(void);

void round(const char *path, int r)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("FAIL dlopen: %s\n", dlerror());
		eh_failures++;
		return;
	}
	auto lthrow = reinterpret_cast<lib_throw_t>(dlsym(h, "lib_throw"));
	auto lcatch = reinterpret_cast<lib_catch_t>(dlsym(h, "lib_catch"));
	auto lpass = reinterpret_cast<lib_pass_t>(dlsym(h, "lib_pass"));
	auto ldtors = reinterpret_cast<lib_destructors_t>(dlsym(h, "lib_destructors"));
	if (!lthrow || !lcatch || !lpass || !ldtors) {
		printf("FAIL dlsym\n");
		eh_failures++;
		dlclose(h);
		return;
	}
	dtors = 0;
	std::string w;
	for (int i = 0; i < 10; i++) {
		try {
			Counted c;
			lthrow(i, 5);
		} catch (const std::runtime_error &e) {
			w = e.what();
		}
	}
	int a = lcatch(cb_int, 17 + r), b = lcatch(cb_std, 1), c = lcatch([](int) {}, 0);
	int passed = 0;
	try {
		lpass(cb_int, 99);
	} catch (int i) {
		passed = i;
	}
	printf("round %d: library threw '%s', library caught %d %d %d, passed through %d, "
	       "destructors program %d library %d\n",
	       r, w.c_str(), a, b, c, passed, dtors, ldtors());
	EH_CHECK(w == "lib error 9" && a == 17 + r && b == -1 && c == 0 && passed == 99 &&
			 dtors == 10 + 2 + 1 && ldtors() == 60 + 3 + 1,
		 "exceptions across the library", "round %d", r);
	dlclose(h);
	// (built with -fno-gnu-unique: a unique symbol would pin it in memory)
	void *again = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	EH_CHECK(!again, "the library was unloaded", "round %d", r);
	if (again)
		dlclose(again);
	EH_CHECK(local_throw(r) == r, "throw in the program after dlclose", "round %d", r);
}

} // namespace

int main(int argc, char **argv)
{
	eh_report_unwinder();
	if (argc != 2) {
		fprintf(stderr, "usage: %s LIB.so\n", argv[0]);
		return 2;
	}
	for (int r = 0; r < 4; r++)
		round(argv[1], r);
	return eh_finish("eh_dl");
}
