// Rethrow, nested exceptions and std::exception_ptr (tests/scripts/eh.sh):
// `throw;` from a catch block and from a function called by one, a
// rethrow after the handler modified the object, std::throw_with_nested
// three levels deep unwrapped with std::rethrow_if_nested,
// std::current_exception / std::make_exception_ptr / std::rethrow_exception
// (in the same thread, several times, and across threads: a worker's
// exception rethrown in main, std::promise / std::future, std::async).
#include <exception>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "eh_common.h"

namespace {

int dtors;
struct Counted {
	~Counted() { __atomic_fetch_add(&dtors, 1, __ATOMIC_RELAXED); }
};

struct Tagged : std::runtime_error {
	int hops = 0;
	explicit Tagged(const std::string &s) : std::runtime_error(s) {}
};

NOINLINE void level3() { Counted c; throw Tagged("level3"); }
NOINLINE void level2() { Counted c; level3(); }

NOINLINE void rethrow_current() { throw; }

void rethrow()
{
	dtors = 0;
	int hops = -1;
	try {
		try {
			level2();
		} catch (Tagged &t) {
			t.hops++;
			throw;   // the same object
		}
	} catch (Tagged &t) {
		hops = t.hops;
	}
	EH_CHECK(hops == 1 && dtors == 2, "throw; rethrows the same object", "%d %d", hops, dtors);

	hops = -1;
	try {
		try {
			try {
				level2();
			} catch (Tagged &t) {
				t.hops++;
				rethrow_current();   // throw; in a called function
			}
		} catch (std::runtime_error &e) {
			static_cast<Tagged &>(e).hops++;
			throw;
		}
	} catch (const Tagged &t) {
		hops = t.hops;
	}
	EH_CHECK(hops == 2, "throw; from a called function, twice", "%d", hops);

	// rethrow inside a nested try in the catch block, a new exception in between
	std::string order;
	try {
		try {
			level3();
		} catch (const Tagged &) {
			try {
				throw 1;
			} catch (int) {
				order += "int ";
			}
			order += "back ";
			throw;
		}
	} catch (const Tagged &t) {
		order += t.what();
	}
	EH_CHECK(order == "int back level3", "rethrow after a nested exception", "%s", order.c_str());
}

NOINLINE void nest1()
{
	try {
		level3();
	} catch (...) {
		std::throw_with_nested(std::runtime_error("nest1"));
	}
}
NOINLINE void nest2()
{
	try {
		nest1();
	} catch (...) {
		std::throw_with_nested(std::logic_error("nest2"));
	}
}

void print_nested(const std::exception &e, int level, std::string &out)
{
	out += std::string(level, ' ') + e.what() + "\n";
	try {
		std::rethrow_if_nested(e);
	} catch (const std::exception &inner) {
		print_nested(inner, level + 1, out);
	}
}

void nested()
{
	std::string out;
	try {
		nest2();
	} catch (const std::exception &e) {
		print_nested(e, 0, out);
	}
	printf("nested:\n%s", out.c_str());
	EH_CHECK(out == "nest2\n nest1\n  level3\n", "throw_with_nested x3", "%s", out.c_str());
	// std::nested_exception::rethrow_nested directly
	std::string w;
	try {
		try {
			nest1();
		} catch (const std::nested_exception &n) {
			n.rethrow_nested();
		}
	} catch (const Tagged &t) {
		w = t.what();
	}
	EH_CHECK(w == "level3", "rethrow_nested", "%s", w.c_str());
}

std::exception_ptr capture()
{
	try {
		level2();
	} catch (...) {
		return std::current_exception();
	}
	return nullptr;
}

void exception_ptrs()
{
	std::exception_ptr p = capture();
	int n = 0;
	for (int i = 0; i < 5; i++) {
		try {
			std::rethrow_exception(p);
		} catch (Tagged &t) {
			t.hops++;   // the same object each time
			n = t.hops;
		}
	}
	EH_CHECK(n == 5, "rethrow_exception x5 (same object)", "%d", n);

	std::exception_ptr q = std::make_exception_ptr(std::out_of_range("made"));
	std::string w;
	try {
		std::rethrow_exception(q);
	} catch (const std::logic_error &e) {
		w = e.what();
	}
	EH_CHECK(w == "made", "make_exception_ptr", "%s", w.c_str());

	// from a worker thread to main
	std::vector<std::exception_ptr> ps(4);
	std::vector<std::thread> ts;
	for (int i = 0; i < 4; i++)
		ts.emplace_back([&ps, i] {
			try {
				if (i % 2)
					throw std::runtime_error("thread " + std::to_string(i));
				level2();
			} catch (...) {
				ps[i] = std::current_exception();
			}
		});
	for (auto &t : ts)
		t.join();
	for (int i = 0; i < 4; i++) {
		try {
			std::rethrow_exception(ps[i]);
		} catch (const std::exception &e) {
			printf("from thread %d: %s\n", i, e.what());
		}
	}

	// rethrown in another thread than the one that captured it
	std::string got;
	std::thread t([&got, &p] {
		try {
			std::rethrow_exception(p);
		} catch (const Tagged &e) {
			got = std::string(e.what()) + " hops " + std::to_string(e.hops);
		}
	});
	t.join();
	EH_CHECK(got == "level3 hops 5", "rethrow_exception in another thread", "%s", got.c_str());

	// promise / future
	std::promise<int> pr;
	std::future<int> fu = pr.get_future();
	std::thread t2([&pr] {
		try {
			level3();
		} catch (...) {
			pr.set_exception(std::current_exception());
		}
	});
	try {
		fu.get();
	} catch (const Tagged &e) {
		got = std::string("future: ") + e.what();
	}
	t2.join();
	EH_CHECK(got == "future: level3", "promise/future", "%s", got.c_str());

	auto f = std::async(std::launch::async, [] {
		level2();
		return 1;
	});
	try {
		f.get();
	} catch (const std::runtime_error &e) {
		got = std::string("async: ") + e.what();
	}
	EH_CHECK(got == "async: level3", "std::async", "%s", got.c_str());
}

} // namespace

int main()
{
	eh_report_unwinder();
	rethrow();
	nested();
	exception_ptrs();
	return eh_finish("eh_nested");
}
