/* A module for tests/tables/walk.c: a few frames of its own around a
 * callback into the program.  tests/scripts/tables.sh builds it, and a
 * copy whose .eh_frame_hdr has no search table and whose last FDE
 * (lib_first's, defined last) has a length running past the section: the
 * interpreter's linear lookup finds the other FDEs before it, but no table
 * can be built from the section. */
__attribute__((noinline)) int lib_first(int x);
__attribute__((noinline)) void lib_inner(void (*cb)(const char *), int d);
void lib_call(void (*cb)(const char *));

__attribute__((noinline)) void lib_inner(void (*cb)(const char *), int d)
{
	if (d == 0) {
		cb("lib");
		return;
	}
	lib_inner(cb, d - 1);
	__asm__ volatile("" ::: "memory");
}

void lib_call(void (*cb)(const char *))
{
	lib_inner(cb, lib_first(1));
}

/* never on the stack during a walk (it returns before lib_inner runs) */
__attribute__((noinline)) int lib_first(int x)
{
	return x * 3 + 1;
}
