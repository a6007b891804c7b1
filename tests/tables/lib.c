/* A module for tests/tables/walk.c: a few frames of its own around a
 * callback into the program (tests/scripts/tables.sh builds it, and a copy
 * whose .eh_frame_hdr points one FDE at garbage). */
__attribute__((noinline)) int lib_first(int x);
__attribute__((noinline)) void lib_inner(void (*cb)(const char *), int d);
void lib_call(void (*cb)(const char *));

/* the first function of the module: the copy's corrupted header entry */
__attribute__((noinline)) int lib_first(int x)
{
	return x * 3 + 1;
}

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
