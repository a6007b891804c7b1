/*
 * For tests/scripts/debuglink.sh: dlopen the library named on the command
 * line and call it; its static function calls checkpoint(), which prints
 * stackwalk's name of every frame up to main ("sw: NAME").  The script
 * also puts a gdb breakpoint on checkpoint to compare with gdb's `bt`.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "stackwalk.h"
#include "../names/checkpoint.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
		return 2;
	}
	sw_init();
	void *h = dlopen(argv[1], RTLD_NOW);
	int (*entry)(void (*)(void)) = h ? (int (*)(void (*)(void)))dlsym(h, "lib_entry") : NULL;
	if (!entry) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	entry(checkpoint);
	return 0;
}
