/* tests/symbolize: the shared library of crash.sh and symbolize_tool.sh. */
#ifndef SW_TESTS_SYMBOLIZE_CRASH_LIB_H
#define SW_TESTS_SYMBOLIZE_CRASH_LIB_H

#ifdef __cplusplus
extern "C" {
#endif

/* What lib_entry does, three frames down (lib_entry -> lib_middle ->
 * crashlib::Walker<int>::visit, then std::for_each and a lambda inlined
 * into visit): */
enum lib_action {
	LIB_SEGV = 0,       /* the lambda reads through a NULL pointer */
	LIB_ABORT = 1,      /* the lambda calls abort() */
	LIB_FPE = 2,        /* the lambda divides an int by zero */
	LIB_PRINT = 3,      /* the lambda calls sw_print_backtrace(NULL, 1) */
};

/* `target` is NULL for LIB_SEGV (the program hides that from the
 * compiler); returns a sum nobody reads. */
int lib_entry(int action, int *target);

#ifdef __cplusplus
}
#endif

#endif
