// A C++ allocating program for tests/scripts/libunwind_clients.sh (heaptrack
// and tcmalloc's heap profiler, on nongnu libunwind and on stackwalk's):
// allocations through operator new (libstdc++'s frames between the program
// and malloc), from a class's member functions, a template, a lambda and a
// std::vector that grows, and one from a catch block after a throw (the
// exception object itself is allocated by __cxa_allocate_exception).
//   main -> Store::fill -> Store::add<Node> -> operator new     x 40
//   main -> grow_vector -> std::vector<long>::push_back ...      (growth)
//   main -> run_lambda -> lambda -> operator new[]               x 12
//   main -> thrower (catch) -> operator new                      x 1
// Prints to stderr the libunwind.so.8 mapped into the process
// ("libunwind: PATH" or "libunwind: none").
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

struct Node {
	long v[6];
	Node *next;
};

static volatile long sink;

class Store {
public:
	template <typename T> __attribute__((noinline)) T *add()
	{
		T *p = new T();
		kept_.push_back(p);
		sink = sink + 1;
		return p;
	}
	__attribute__((noinline)) long fill(int n);
	~Store()
	{
		for (Node *p : kept_)
			delete p;
	}

private:
	std::vector<Node *> kept_;
};

long Store::fill(int n)
{
	long s = 0;

	for (int i = 0; i < n; i++)
		s += (long)add<Node>()->v[0] + i;
	sink = sink + s;
	return s;
}

__attribute__((noinline)) long grow_vector(int n)
{
	std::vector<long> v;

	for (int i = 0; i < n; i++)
		v.push_back(i);
	sink = sink + v.back();
	return (long)v.size();
}

__attribute__((noinline)) long run_lambda(int n)
{
	long s = 0;
	auto make = [&s](int k) __attribute__((noinline)) {
		char *p = new char[32 + (unsigned)k];
		p[0] = (char)k;
		s += p[0];
		delete[] p;
	};
	for (int i = 0; i < n; i++)
		make(i);
	sink = sink + s;
	return s;
}

__attribute__((noinline)) long thrower(int n)
{
	long r = 0;

	try {
		if (n > 0)
			throw std::runtime_error("out of range: a message long enough to be allocated");
	} catch (const std::exception &e) {
		Node *p = new Node();
		r = (long)std::strlen(e.what()) + p->v[0];
		delete p;
	}
	sink = sink + r;
	return r;
}

static void which_libunwind()
{
	FILE *f = std::fopen("/proc/self/maps", "r");
	char line[4096], found[4096] = "none";

	if (f) {
		while (std::fgets(line, sizeof line, f)) {
			char *path = std::strchr(line, '/');
			if (path && std::strstr(path, "/libunwind.so.8")) {
				path[std::strcspn(path, "\n")] = 0;
				std::snprintf(found, sizeof found, "%s", path);
				break;
			}
		}
		std::fclose(f);
	}
	std::fprintf(stderr, "libunwind: %s\n", found);
}

int main()
{
	long r = 0;
	{
		Store st;
		r += st.fill(40);
	}
	r += grow_vector(1000);
	r += run_lambda(12);
	r += thrower(1);
	which_libunwind();
	std::printf("%ld\n", r + sink);
	return 0;
}
