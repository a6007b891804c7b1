// Throw/catch across many frames (tests/scripts/eh.sh): a template chain of
// 64 non-inlined frames each holding an object with a destructor, a
// recursion 20000 frames deep, handler selection by type (base classes,
// pointers, catch(...) skipped types), a throw inside a catch block,
// function-try-blocks, a throw caught inside a destructor that runs during
// unwinding, std::uncaught_exceptions, and a throw out of a signal handler
// (through the kernel's signal frame).  Prints deterministic lines.
#include <signal.h>
#include <stdexcept>
#include <string>

#include "eh_common.h"

namespace {

int dtors;     // Counted objects destroyed
int built;     // Counted objects constructed

struct Counted {
	int id;
	explicit Counted(int i) : id(i) { built++; }
	~Counted() { dtors++; }
};

struct Base {
	int v;
	virtual ~Base() {}
};
struct Mid : Base {};
struct Leaf : Mid {
	explicit Leaf(int x) { v = x; }
};

template <int N> struct Chain {
	static NOINLINE int down(int x)
	{
		Counted c(N);
		int r = Chain<N - 1>::down(x + 1);
		asm volatile("" ::"r"(&c) : "memory");
		return r + 1;
	}
};
template <> struct Chain<0> {
	static NOINLINE int down(int x)
	{
		if (x > 0)
			throw Leaf(x);
		return 0;
	}
};

NOINLINE int recurse(int n, int limit)
{
	if (n == limit)
		throw std::runtime_error("bottom " + std::to_string(n));
	if (n % 10 == 0) {
		Counted c(n);
		int r = recurse(n + 1, limit);
		asm volatile("" ::"r"(&c) : "memory");
		return r + 1;
	}
	int r = recurse(n + 1, limit);
	asm volatile("" ::: "memory");
	return r + 1;
}

void many_frames()
{
	dtors = built = 0;
	int caught = -1;
	try {
		Chain<64>::down(1);
	} catch (const Mid &m) {
		caught = m.v;
	}
	EH_CHECK(caught == 65 && dtors == 64 && built == 64, "chain of 64 frames",
		 "caught %d dtors %d built %d", caught, dtors, built);
	printf("chain: caught %d, %d destructors\n", caught, dtors);

	int ok = 0;
	for (int i = 0; i < 200; i++) {
		try {
			Chain<16>::down(i + 1);
		} catch (Base &b) {
			ok += b.v == i + 17;
		}
	}
	EH_CHECK(ok == 200, "200 throws through 16 frames", "%d", ok);
}

void deep_recursion()
{
	const int limit = eh_quick() ? 5000 : 20000;
	dtors = built = 0;
	std::string what;
	try {
		recurse(0, limit);
	} catch (const std::exception &e) {
		what = e.what();
	}
	EH_CHECK(what == "bottom " + std::to_string(limit) && dtors == limit / 10 && built == dtors,
		 "deep recursion", "what '%s' dtors %d built %d", what.c_str(), dtors, built);
	printf("recursion: '%s'\n", what.substr(0, 6).c_str());
}

NOINLINE void thrower(int kind)
{
	Counted c(kind);
	switch (kind) {
	case 0: throw 42;
	case 1: throw 'c';
	case 2: throw std::string("str");
	case 3: throw static_cast<Base *>(nullptr);
	case 4: throw Leaf(4);
	case 5: throw std::out_of_range("range");
	case 6: throw 2.5;
	}
}

const char *classify(int kind)
{
	try {
		try {
			thrower(kind);
		} catch (double) {
			return "double";
		} catch (long) {
			return "long (wrong)";
		}
	} catch (int i) {
		return i == 42 ? "int" : "int (wrong value)";
	} catch (char) {
		return "char";
	} catch (const std::string &s) {
		return s == "str" ? "string" : "string (wrong)";
	} catch (Base *) {
		return "Base*";
	} catch (const Mid &) {
		return "Mid&";
	} catch (const std::logic_error &) {
		return "logic_error&";
	} catch (...) {
		return "...";
	}
	return "none";
}

void selection()
{
	dtors = 0;
	for (int k = 0; k <= 6; k++)
		printf("select %d: %s\n", k, classify(k));
	EH_CHECK(dtors == 7, "selection destructors", "%d", dtors);
}

// a throw inside a catch block, caught further out
void throw_in_catch()
{
	std::string got;
	try {
		try {
			thrower(0);
		} catch (int) {
			Counted c(100);
			throw std::logic_error("from catch");
		}
	} catch (const std::logic_error &e) {
		got = e.what();
	}
	EH_CHECK(got == "from catch", "throw inside catch", "%s", got.c_str());
}

struct Member {
	~Member() { dtors++; }
};
struct Ctor {
	Member a, b;
	Counted c{ 7 };
	Ctor() try : a(), b() {
		thrower(4);
	} catch (const Base &) {
		printf("function-try-block: caught in constructor\n");
		// rethrown implicitly
	}
};

void function_try_block()
{
	dtors = 0;
	bool caught = false;
	try {
		Ctor c;
	} catch (const Leaf &l) {
		caught = l.v == 4;
	}
	// a, b, c (Counted) and the Counted in thrower
	EH_CHECK(caught && dtors == 4, "function-try-block", "caught %d dtors %d", caught, dtors);
}

// A destructor that runs during unwinding throws and catches inside itself.
struct Careful {
	int seen_uncaught = -1;
	~Careful()
	{
		seen_uncaught = std::uncaught_exceptions();
		int inner = 0;
		try {
			thrower(0);
		} catch (int i) {
			inner = i;
		}
		printf("destructor during unwinding: uncaught_exceptions %d, inner %d\n", seen_uncaught,
		       inner);
	}
};

NOINLINE void careful_thrower()
{
	Careful c;
	thrower(2);
}

void catch_inside_destructor()
{
	std::string s;
	try {
		careful_thrower();
	} catch (const std::string &e) {
		s = e;
	}
	EH_CHECK(s == "str", "throw caught inside a destructor during unwinding", "%s", s.c_str());
}

// Throw out of a SIGSEGV handler: the exception crosses the kernel's
// signal frame (__restore_rt) and the faulting frame, which has no
// cleanups, so it needs no -fnon-call-exceptions; the caller catches.
void handler(int)
{
	Counted c(9);
	throw std::runtime_error("from signal handler");
}

int *volatile bad_ptr = reinterpret_cast<int *>(64);   // unmapped, not null (UBSan)

NOINLINE int fault(void)
{
	int v = *bad_ptr;   // SIGSEGV
	asm volatile("" ::: "memory");
	return v;
}

// called through a volatile pointer: the compiler must assume it throws
int (*volatile fault_fn)(void) = fault;

NOINLINE int fault_caller(void)
{
	Counted c(8);
	int r = fault_fn();
	asm volatile("" ::"r"(&c) : "memory");
	return r;
}

void signal_throw()
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_NODEFER;   // the handler is left by a throw
	sigaction(SIGSEGV, &sa, &old);
	dtors = 0;
	std::string s;
	int caught = 0;
	for (int i = 0; i < 3; i++) {
		try {
			fault_caller();
		} catch (const std::exception &e) {
			s = e.what();
			caught++;
		}
	}
	sigaction(SIGSEGV, &old, nullptr);
	EH_CHECK(s == "from signal handler" && caught == 3 && dtors == 6,
		 "throw out of a SIGSEGV handler", "%s %d %d", s.c_str(), caught, dtors);
}

} // namespace

int main()
{
	eh_report_unwinder();
	many_frames();
	deep_recursion();
	selection();
	throw_in_catch();
	function_try_block();
	catch_inside_destructor();
	signal_throw();
	return eh_finish("eh_frames");
}
