/*
 * A tiny test harness: each test binary registers cases with TEST(), runs
 * them all from main via RUN_TESTS(), prints one line per failure and a
 * closing "N passed, N failed" line, and exits nonzero on any failure.
 * tests/run.sh adds the per-binary counts into the suite's closing line.
 */
#ifndef SW_TEST_HARNESS_H
#define SW_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sw_test {
	const char *name;
	void (*fn)(void);
	struct sw_test *next;
};

extern struct sw_test *sw_test_list;
extern int sw_test_failed_checks;

#define TEST(name)                                                        \
	static void test_##name(void);                                        \
	static struct sw_test sw_t_##name = { #name, test_##name, 0 };        \
	__attribute__((constructor)) static void sw_reg_##name(void)          \
	{                                                                     \
		struct sw_test **pp = &sw_test_list;                              \
		while (*pp)                                                       \
			pp = &(*pp)->next;                                            \
		*pp = &sw_t_##name;                                               \
	}                                                                     \
	static void test_##name(void)

#define CHECK(cond)                                                       \
	do {                                                                  \
		if (!(cond)) {                                                    \
			printf("    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			sw_test_failed_checks++;                                      \
		}                                                                 \
	} while (0)

#define CHECK_EQ(a, b)                                                    \
	do {                                                                  \
		long long sw_a_ = (long long)(a), sw_b_ = (long long)(b);         \
		if (sw_a_ != sw_b_) {                                             \
			printf("    %s:%d: %s == %s failed: %lld (0x%llx) != %lld (0x%llx)\n", \
			       __FILE__, __LINE__, #a, #b, sw_a_, (unsigned long long)sw_a_, \
			       sw_b_, (unsigned long long)sw_b_);                    \
			sw_test_failed_checks++;                                      \
		}                                                                 \
	} while (0)

#define CHECK_STR(a, b)                                                   \
	do {                                                                  \
		const char *sw_a_ = (a), *sw_b_ = (b);                            \
		if (!sw_a_ || !sw_b_ || strcmp(sw_a_, sw_b_) != 0) {              \
			printf("    %s:%d: %s == %s failed: \"%s\" != \"%s\"\n",        \
			       __FILE__, __LINE__, #a, #b, sw_a_ ? sw_a_ : "(null)",  \
			       sw_b_ ? sw_b_ : "(null)");                             \
			sw_test_failed_checks++;                                      \
		}                                                                 \
	} while (0)

#define SW_TEST_MAIN                                                      \
	struct sw_test *sw_test_list;                                         \
	int sw_test_failed_checks;                                            \
	int main(int argc, char **argv)                                       \
	{                                                                     \
		int passed = 0, failed = 0;                                       \
		for (struct sw_test *t = sw_test_list; t; t = t->next) {          \
			if (argc > 1 && strcmp(argv[1], t->name) != 0)                \
				continue;                                                 \
			int before = sw_test_failed_checks;                           \
			t->fn();                                                      \
			if (sw_test_failed_checks != before) {                        \
				printf("FAIL %s\n", t->name);                             \
				failed++;                                                 \
			} else {                                                      \
				passed++;                                                 \
			}                                                             \
		}                                                                 \
		printf("%d passed, %d failed\n", passed, failed);                 \
		return failed ? 1 : 0;                                            \
	}

#endif /* SW_TEST_HARNESS_H */
