// mt_target: a multi-threaded C++ target for `stackwalk stack` (tests/scripts/
// remote_stack.sh, remote_core.sh), built there with -O2 -fomit-frame-pointer -g.
//
//   mt_target NTHREADS DEPTH [crash|exit|exec]
//
// NTHREADS worker threads (at least 4) each recurse DEPTH levels through
// three functions (a function template, a lambda called through a template
// and a member function template, so the names demangle) and then block:
//   worker 0  raises SIGUSR1 at the bottom of its recursion; the handler
//             (on the thread's own stack) blocks in sigsuspend
//   worker 1  sets up a sigaltstack and raises SIGUSR2 there; the handler
//             runs on the alternate stack and blocks in pause
//   odd workers from 2 on: blocked in read() of a pipe nobody writes (a
//             system call)
//   even workers from 2 on: blocked on a condition variable (futex)
// Threads are named worker-ID, but for the last one (a name with a quote,
// a backslash, a newline and a non-UTF-8 byte).  The main thread waits
// for each to be in place, prints "ready" on
// standard output (flushed) and joins worker 2 (a futex wait), forever.
// With "crash", worker 2 instead reads through a NULL pointer at the
// bottom of its recursion once every other thread is in place (SIGSEGV:
// the kernel writes a core when allowed).  With "exit", the process exits
// a few milliseconds after starting its threads, wherever they are (a
// target that goes away while it is being attached); with "exec", it
// replaces itself with `sleep 0.2` then (every other thread ends, the
// process gets another image).
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

std::atomic<int> in_place{0};
int block_pipe[2];
std::mutex mu;
std::condition_variable cv;
bool crash_mode;
int nthreads;
volatile int *volatile null_ptr;
volatile int sink;

// What a worker does at the bottom of its recursion.
__attribute__((noinline)) int block_here(int id)
{
	if (id == 0) {
		raise(SIGUSR1);
	} else if (id == 1) {
		raise(SIGUSR2);
	} else if (id == 2 && crash_mode) {
		in_place.fetch_add(1);
		while (in_place.load() < nthreads)
			usleep(1000);
		return *null_ptr; // the crash: SIGSEGV at address 0
	} else if (id % 2 == 1) {
		char c;
		in_place.fetch_add(1);
		if (read(block_pipe[0], &c, 1) < 0)
			return -1;
	} else {
		std::unique_lock<std::mutex> lock(mu);
		in_place.fetch_add(1);
		cv.wait(lock, [] { return false; });
	}
	return id;
}

template <typename T> __attribute__((noinline)) int level_a(int depth, int id, T salt);

struct Walker {
	int bias;
	template <typename U> __attribute__((noinline)) int level_c(int depth, int id, U salt)
	{
		int r = level_a<long>(depth - 1, id, static_cast<long>(salt) + bias);
		sink = r;
		return r + bias;
	}
};

template <typename F> __attribute__((noinline)) int apply_level(F &&f, int depth, int id)
{
	int r = f(depth, id);
	sink = r;
	return r + 1;
}

template <typename T> __attribute__((noinline)) int level_a(int depth, int id, T salt)
{
	if (depth <= 0)
		return block_here(id);
	int r;
	switch (depth % 3) {
	case 0:
		r = apply_level([salt](int d, int i) {
			Walker w{static_cast<int>(salt) & 1};
			return w.level_c<short>(d - 1, i, static_cast<short>(salt));
		}, depth, id);
		break;
	case 1:
		r = level_a<T>(depth - 1, id, salt + 1);
		break;
	default: {
		Walker w{2};
		r = w.level_c<char>(depth - 1, id, 'x');
		break;
	}
	}
	sink = r;
	return r + static_cast<int>(salt & 3);
}

extern "C" void on_usr1(int)
{
	sigset_t none;
	sigemptyset(&none);
	in_place.fetch_add(1);
	for (;;)
		sigsuspend(&none);
}

extern "C" void on_usr2(int)
{
	in_place.fetch_add(1);
	for (;;)
		pause();
}

void worker(int id, int depth)
{
	static char altstack[1 << 16];
	if (id == 1) {
		stack_t ss;
		memset(&ss, 0, sizeof(ss));
		ss.ss_sp = altstack;
		ss.ss_size = sizeof(altstack);
		sigaltstack(&ss, nullptr);
	}
	char name[16];
	snprintf(name, sizeof(name), "worker-%d", id);
	// the last worker's name has a quote, a backslash, a newline and a
	// byte that is not UTF-8: what JSON output must escape
	if (id == nthreads - 1)
		snprintf(name, sizeof(name), "w\"q\\\n\xff");
	pthread_setname_np(pthread_self(), name);
	sink = level_a<int>(depth, id, id);
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mt_target NTHREADS DEPTH [crash]\n");
		return 2;
	}
	nthreads = atoi(argv[1]);
	int depth = atoi(argv[2]);
	crash_mode = argc > 3 && strcmp(argv[3], "crash") == 0;
	bool exit_mode = argc > 3 && strcmp(argv[3], "exit") == 0;
	bool exec_mode = argc > 3 && strcmp(argv[3], "exec") == 0;
	if (nthreads < 4 || depth < 1 || pipe(block_pipe) != 0)
		return 2;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, nullptr);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR2, &sa, nullptr);

	std::vector<std::thread> threads;
	for (int i = 0; i < nthreads; i++)
		threads.emplace_back(worker, i, depth);
	if (exit_mode || exec_mode) {
		usleep(static_cast<useconds_t>(getpid() % 8) * 1000);
		if (exec_mode)
			execl("/bin/sleep", "sleep", "0.2", static_cast<char *>(nullptr));
		_exit(0);
	}
	// in crash mode worker 2 counts itself and waits for the others
	while (in_place.load() < nthreads)
		usleep(1000);
	printf("ready\n");
	fflush(stdout);
	threads[2].join();
	return 0;
}
