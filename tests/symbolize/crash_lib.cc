// tests/symbolize: the library whose frames crash.sh compares with gdb's
// and symbolize_tool.sh with addr2line's.  Built -O2 -g at test time: the
// lambda and std::for_each are inlined into Walker<int>::visit.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include <stackwalk/symbolize.h>

#include "crash_lib.h"

namespace crashlib {

template <typename T>
class Walker {
public:
	Walker(int action, T *target) : action_(action), target_(target) {}

	__attribute__((noinline)) int visit(const std::vector<int> &values)
	{
		int sum = 0;
		std::for_each(values.begin(), values.end(), [&](int x) {
			if (action_ == LIB_SEGV)
				sum += x + *static_cast<volatile T *>(target_);  // SEGV_LINE
			else if (action_ == LIB_ABORT)
				std::abort();  // ABORT_LINE
			else if (action_ == LIB_FPE)
				sum += x / *static_cast<volatile T *>(target_);  // FPE_LINE
			else if (x == 2)
				sum += sw_print_backtrace(nullptr, 1);  // PRINT_LINE
		});
		return sum;
	}

private:
	int action_;
	T *target_;
};

}  // namespace crashlib

extern "C" __attribute__((noinline)) int lib_middle(int action, int *target, int n)
{
	std::vector<int> values;

	for (int i = 1; i <= n; i++)
		values.push_back(i);
	crashlib::Walker<int> walker(action, target);
	return walker.visit(values) + 1;  // MIDDLE_LINE
}

extern "C" __attribute__((noinline)) int lib_entry(int action, int *target)
{
	int r = lib_middle(action, target, 3);  // ENTRY_LINE

	__asm__ volatile("" ::: "memory");  // no tail call: keep this frame
	return r * 2;
}
