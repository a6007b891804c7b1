// regs' C++ side: a function with try/catch (so an LSDA and the
// __gxx_personality_v0 personality in its CIE) that calls back into C.
#include <cstdint>
#include <stdexcept>
#include <unwind.h>

extern "C" {
_Unwind_Reason_Code __gxx_personality_v0(int, _Unwind_Action, _Unwind_Exception_Class,
					 struct _Unwind_Exception *, struct _Unwind_Context *);
int cxx_with_catch(void (*cb)(int), int x);
uint64_t cxx_personality(void);
uint64_t cxx_fn(void);
}

static volatile int thrown;

__attribute__((noinline)) static void maybe_throw(int x)
{
	if (x < 0)
		throw std::runtime_error("negative");
}

__attribute__((noinline)) int cxx_with_catch(void (*cb)(int), int x)
{
	try {
		if (x >= 0)
			cb(x);
		maybe_throw(x);
	} catch (const std::exception &) {
		thrown = thrown + 1;
		return -1;
	}
	return x;
}

uint64_t cxx_personality(void)
{
	return (uint64_t)(uintptr_t)&__gxx_personality_v0;
}

uint64_t cxx_fn(void)
{
	return (uint64_t)(uintptr_t)&cxx_with_catch;
}
