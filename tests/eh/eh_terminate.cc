// std::terminate paths (tests/scripts/eh.sh), each in a child process
// whose terminate handler prints the case and the current exception and
// calls _exit(0): a throw out of a noexcept function (the search phase
// stops at it), an exception nobody catches (end of stack), a throw out of
// a destructor during unwinding, a throw out of a std::thread's function,
// std::rethrow_exception of a null pointer's replacement... and a
// std::terminate() called with no exception.  The parent prints each
// child's output and exit status.
#include <exception>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "eh_common.h"

namespace {

const char *current_case;
int dtors;
struct Counted {
	~Counted() { dtors++; }
};

[[noreturn]] void on_terminate()
{
	std::string what = "none";
	if (std::exception_ptr p = std::current_exception()) {
		try {
			std::rethrow_exception(p);
		} catch (const std::exception &e) {
			what = e.what();
		} catch (...) {
			what = "non-std";
		}
	}
	printf("  terminate handler: case %s, current exception: %s, destructors %d\n", current_case,
	       what.c_str(), dtors);
	fflush(stdout);
	_exit(0);
}

NOINLINE void thrower(const char *what)
{
	Counted c;
	throw std::runtime_error(what);
}

NOINLINE void inner_noexcept() noexcept
{
	Counted c;
	thrower("through noexcept");
}

NOINLINE void outer()
{
	Counted c;
	inner_noexcept();
}

struct ThrowingDtor {
	~ThrowingDtor() noexcept(false)
	{
		if (std::uncaught_exceptions())
			thrower("from destructor");
	}
};

NOINLINE void dtor_throws()
{
	ThrowingDtor d;
	thrower("first");
}

void run_case(const char *name)
{
	current_case = name;
	std::set_terminate(on_terminate);
	std::string n = name;
	if (n == "noexcept") {
		try {
			outer();   // a handler exists, but the noexcept frame comes first
		} catch (...) {
			printf("  caught (wrong)\n");
		}
	} else if (n == "uncaught") {
		thrower("nobody catches");
	} else if (n == "destructor") {
		try {
			dtor_throws();
		} catch (...) {
			printf("  caught (wrong)\n");
		}
	} else if (n == "thread") {
		std::thread t([] { thrower("in a thread"); });
		t.join();
	} else if (n == "noexcept-lambda") {
		auto f = []() noexcept { thrower("noexcept lambda"); };
		f();
	} else if (n == "explicit") {
		std::terminate();
	}
	printf("  returned (wrong)\n");
}

} // namespace

int main()
{
	eh_report_unwinder();
	const char *cases[] = { "noexcept", "uncaught", "destructor", "thread", "noexcept-lambda",
				"explicit" };
	for (const char *c : cases) {
		printf("case %s:\n", c);
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			run_case(c);
			_exit(3);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
		char what[64];
		snprintf(what, sizeof what, "case %s ends in the terminate handler", c);
		EH_CHECK(ok, what, "status %#x", st);
	}
	return eh_finish("eh_terminate");
}
