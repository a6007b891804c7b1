// The dlopen'ed side of eh_dl.cc and eh_threads.cc: throws its own
// exception type (derived from std::runtime_error) to the program, and
// catches what the program's callbacks throw, with destructors on both
// sides.  Loaded with RTLD_LOCAL: its symbols are found only by dlsym.
#include <stdexcept>
#include <string>

#define NOINLINE __attribute__((noinline))

namespace {
int lib_dtors;
struct LibCounted {
	~LibCounted() { __atomic_fetch_add(&lib_dtors, 1, __ATOMIC_RELAXED); }
};
struct LibError : std::runtime_error {
	explicit LibError(const std::string &s) : std::runtime_error(s) {}
};

NOINLINE void lib_deep(int n, int v)
{
	LibCounted c;
	if (n == 0)
		throw LibError("lib error " + std::to_string(v));
	lib_deep(n - 1, v);
	asm volatile("" ::: "memory");
}
} // namespace

extern "C" {

// throws LibError through 1 + depth frames of the library
void lib_throw(int v, int depth) { lib_deep(depth, v); }

// calls cb(v) and catches what it throws: returns the int thrown, -1 for a
// std::exception, -2 for anything else, 0 when cb returned
int lib_catch(void (*cb)(int), int v)
{
	LibCounted c;
	try {
		cb(v);
	} catch (int i) {
		return i;
	} catch (const std::exception &) {
		return -1;
	} catch (...) {
		return -2;
	}
	return 0;
}

// calls cb(v) and lets its exception pass through library frames
void lib_pass(void (*cb)(int), int v)
{
	LibCounted c;
	cb(v);
	asm volatile("" ::: "memory");
}

int lib_destructors(void) { return __atomic_load_n(&lib_dtors, __ATOMIC_RELAXED); }
}
