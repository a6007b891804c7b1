/* C functions that gcc -O2 splits into a hot part and "name.cold" (the
 * branch that calls a cold function), the cold part linked below the hot
 * one.  C names are not mangled, so the symbolizer names and offsets these
 * from DWARF alone; tests/scripts/symbolize_tool.sh checks the offsets
 * against the symbols (an offset is from the function's entry, or in the
 * cold part from the cold part's start, as perf and gdb print them). */
#include <stdio.h>
#include <stdlib.h>

__attribute__((cold, noreturn, noinline)) static void bad_input(const char *what, const char *s)
{
	fprintf(stderr, "not %s: %s\n", what, s);
	exit(2);
}

__attribute__((noinline)) int parse_digits(const char *s)
{
	int v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			bad_input("a digit", s);
		v = v * 10 + (*s - '0');
	}
	return v;
}

__attribute__((noinline)) int parse_hex(const char *s)
{
	int v = 0;
	for (; *s; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
		if (d < 0)
			bad_input("a hex digit", s);
		v = v * 16 + d;
	}
	return v;
}

int main(int argc, char **argv)
{
	int sum = 0;
	for (int i = 1; i < argc; i++)
		sum += argv[i][0] == 'x' ? parse_hex(argv[i] + 1) : parse_digits(argv[i]);
	printf("%d\n", sum);
	return 0;
}
