// C++ corpus program: personality routines, LSDAs, cleanups and catch
// clauses give CIEs with "zPLR" augmentations and FDEs with LSDA pointers.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

struct Guard {
	std::string name;
	explicit Guard(const char *n) : name(n) {}
	~Guard() { std::printf("~%s\n", name.c_str()); }
};

__attribute__((noinline)) static int thrower(int n)
{
	Guard g("thrower");
	if (n > 2)
		throw std::runtime_error("deep");
	return n;
}

__attribute__((noinline)) static int middle(int n)
{
	std::vector<int> v(static_cast<size_t>(n) + 1, n);
	Guard g("middle");
	return thrower(n + 1) + v.back();
}

int main(int argc, char **)
{
	try {
		return middle(argc + 1);
	} catch (const std::exception &e) {
		std::printf("caught %s\n", e.what());
	}
	return 0;
}
