// Forced unwinding (tests/scripts/eh.sh): pthread_cancel and pthread_exit
// in C++ threads.  On the way out every C++ destructor runs, every
// pthread_cleanup_push handler runs, catch(abi::__forced_unwind&) and
// catch(...) see the unwind and must rethrow it.  Cancellation at
// pthread_testcancel, at a blocking read() (the cancel arrives as a signal
// in the system call: the unwind starts in a signal handler) and with
// asynchronous cancellation; pthread_exit from deep frames.
//
// This is the known trap for a preloaded unwinder: glibc runs the forced
// unwind with the libgcc_s.so.1 it loads itself, while the landing pads
// call the preloaded _Unwind_Resume and libstdc++'s personality calls the
// preloaded _Unwind_Get* on libgcc's context.
#include <atomic>
#include <cxxabi.h>
#include <pthread.h>
#include <string>
#include <unistd.h>

#include "eh_common.h"

#if defined(__SANITIZE_ADDRESS__)
#define EH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EH_ASAN 1
#endif
#endif
#ifndef EH_ASAN
#define EH_ASAN 0
#endif

namespace {

std::atomic<int> dtors, cleanups, forced_seen, ellipsis_seen;
std::atomic<int> ready;

struct Counted {
	~Counted() { dtors++; }
};

void cleanup_handler(void *arg)
{
	cleanups++;
	(void)arg;
}

int pipe_fds[2];

// The asynchronous cancel lands in this loop: a frame without cleanups
// (in one with cleanups the PC would be outside every call site, and the
// personality would call std::terminate).  Called through a volatile
// pointer so that no caller is judged nothrow.
NOINLINE void spin()
{
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, nullptr);
	for (volatile unsigned long i = 0;; i = i + 1)
		asm volatile("" ::: "memory");
}
void (*volatile spin_fn)() = spin;

enum how { TESTCANCEL, BLOCKING_READ, ASYNC, EXIT };

NOINLINE void point(int how)
{
	Counted c;
	ready = 1;
	switch (how) {
	case TESTCANCEL:
		for (;;) {
			pthread_testcancel();
			usleep(100);
		}
	case BLOCKING_READ: {
		char b;
		for (;;)
			if (read(pipe_fds[0], &b, 1) < 0)
				break;
		break;
	}
	case ASYNC:
		spin_fn();
		break;
	case EXIT:
		pthread_exit(reinterpret_cast<void *>(0x1234));
	}
}

NOINLINE void with_catch_all(int how)
{
	Counted c;
	try {
		point(how);
	} catch (...) {
		ellipsis_seen++;
		throw;   // must rethrow
	}
}

// (the handler binds a reference to the forced unwind's null object:
// UBSan's null check is off here)
NOINLINE __attribute__((no_sanitize("null"))) void with_forced(int how)
{
	Counted c;
	try {
		with_catch_all(how);
	} catch (abi::__forced_unwind &) {
		forced_seen++;
		throw;
	} catch (const std::exception &) {
		printf("caught std::exception (wrong)\n");
	}
}

NOINLINE void with_cleanup(int how)
{
	Counted c;
	pthread_cleanup_push(cleanup_handler, nullptr);
	with_forced(how);
	pthread_cleanup_pop(0);
}

void *thread_main(void *arg)
{
	int how = static_cast<int>(reinterpret_cast<intptr_t>(arg));
	Counted c;
	pthread_cleanup_push(cleanup_handler, nullptr);
	with_cleanup(how);
	pthread_cleanup_pop(0);
	return nullptr;
}

void one(int how, const char *name, int rounds)
{
	dtors = cleanups = forced_seen = ellipsis_seen = 0;
	int ok = 0;
	for (int r = 0; r < rounds; r++) {
		ready = 0;
		pthread_t t;
		pthread_create(&t, nullptr, thread_main, reinterpret_cast<void *>(static_cast<intptr_t>(how)));
		if (how != EXIT) {
			while (!ready)
				usleep(100);
			usleep(1000);
			pthread_cancel(t);
		}
		void *ret = nullptr;
		pthread_join(t, &ret);
		ok += how == EXIT ? ret == reinterpret_cast<void *>(0x1234) : ret == PTHREAD_CANCELED;
	}
	printf("%s: %d rounds, retval ok %d, destructors %d, cleanup handlers %d, forced_unwind catches %d, catch(...) %d\n",
	       name, rounds, ok, dtors.load(), cleanups.load(), forced_seen.load(), ellipsis_seen.load());
	EH_CHECK(ok == rounds && dtors == 5 * rounds && cleanups == 2 * rounds &&
			 forced_seen == rounds && ellipsis_seen == rounds,
		 name, "see above");
}

} // namespace

int main()
{
	eh_report_unwinder();
	if (pipe(pipe_fds) != 0)
		return 2;
	int rounds = eh_quick() ? 3 : 10;
	one(TESTCANCEL, "pthread_cancel at pthread_testcancel", rounds);
	one(BLOCKING_READ, "pthread_cancel in a blocking read", rounds);
#if EH_ASAN
	// an asynchronous cancel that lands in an instrumented frame trips an
	// internal ASan CHECK (asan_thread.cpp, the frame magic), whoever unwinds
	printf("asynchronous pthread_cancel: not under ASan\n");
#else
	one(ASYNC, "asynchronous pthread_cancel", rounds);
#endif
	one(EXIT, "pthread_exit", rounds);
	return eh_finish("eh_cancel");
}
