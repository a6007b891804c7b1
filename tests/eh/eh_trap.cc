// eh_trap: C++ exceptions thrown while every instruction traps.
//
// The trap flag is set before each throw and cleared in the handler, so a
// SIGTRAP handler runs on the thread's own stack after every instruction
// of the throw: the unwinder's search and cleanup phases, and the code
// that installs each landing pad (sw_resume in libstackwalk_unwind,
// __builtin_eh_return in libgcc_s).  A signal frame is written below the
// stack pointer each time, as a profiler's SIGPROF can at any moment: the
// landing pads must still get the exception and the frames' state intact.
#include <csignal>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "eh_common.h"

static volatile sig_atomic_t traps;

static void on_trap(int, siginfo_t *, void *)
{
	traps = traps + 1;
}

static inline void trap_flag_on(void)
{
	__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq" ::: "memory", "cc");
}

static inline void trap_flag_off(void)
{
	__asm__ volatile("pushfq; andq $~0x100, (%%rsp); popfq" ::: "memory", "cc");
}

static int destroyed;

struct Guard {
	int id;
	explicit Guard(int i) : id(i) {}
	~Guard() { destroyed += id; }
};

NOINLINE static void thrower(int depth, int value)
{
	Guard g(1);
	if (depth == 0) {
		trap_flag_on();
		throw std::runtime_error("trap " + std::to_string(value));
	}
	thrower(depth - 1, value);
	__asm__ volatile("");   // not a tail call
}

NOINLINE static int catcher(int depth, int value)
{
	// values that live in callee-saved registers across the throw
	volatile uint64_t a = 0x1234 * (uint64_t)value, b = a ^ 0xfeedfacecafe;
	try {
		thrower(depth, value);
	} catch (const std::runtime_error &e) {
		trap_flag_off();
		std::string want = "trap " + std::to_string(value);
		EH_CHECK(want == e.what(), "exception intact", "got '%s'", e.what());
		EH_CHECK(b == (a ^ 0xfeedfacecafe), "frame state intact", "a %#lx b %#lx",
			 (unsigned long)a, (unsigned long)b);
		return 1;
	}
	trap_flag_off();
	return 0;
}

int main()
{
	struct sigaction sa = {};
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;    // no SA_ONSTACK: the handler runs on this stack
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTRAP, &sa, nullptr);
	eh_report_unwinder();

	const int depths[] = { 0, 1, 4 };
	for (int d : depths) {
		destroyed = 0;
		unsigned before = traps;
		int caught = catcher(d, 100 + d);
		EH_CHECK(caught == 1, "caught", "depth %d", d);
		EH_CHECK(destroyed == d + 1, "destructors ran", "depth %d: %d", d, destroyed);
		// stderr: the count differs between unwinders
		fprintf(stderr, "eh_trap: depth %d: %u instructions single-stepped\n", d,
			traps - before);
		EH_CHECK(traps - before > 1000, "single-stepped", "only %u traps", traps - before);
	}
	return eh_finish("eh_trap");
}
