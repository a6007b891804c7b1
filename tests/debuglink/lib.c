/*
 * The shared library of tests/scripts/debuglink.sh: lib_entry calls a
 * static function, which calls back into the program.  Once the library
 * is stripped, only its separate debug file (found through
 * .gnu_debuglink) knows the name hidden_step.
 */
volatile int dl_sink;

__attribute__((noinline, noclone)) static int hidden_step(void (*cb)(void), int n)
{
	cb();                   /* not a tail call: hidden_step stays on the stack */
	dl_sink += n;
	return dl_sink;
}

int lib_entry(void (*cb)(void));

int lib_entry(void (*cb)(void))
{
	int r = hidden_step(cb, 1);
	dl_sink++;
	return r;
}
