/*
 * dlclose seen by stackwalk when the program knows nothing of it
 * (tests/scripts/eh.sh): not linked with libstackwalk.so, only
 * libstackwalk_unwind.so preloaded or linked, which loads libstackwalk.so
 * after the C library in the symbol search order.  A dlclose must still
 * move sw_info_generation (read through dlsym: the program does not link
 * the API), else cached unwind rules outlive the unloaded code.
 *
 *   eh_dlclose LIBRARY.so
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	uint32_t (*gen)(void) = (uint32_t(*)(void))dlsym(RTLD_DEFAULT, "sw_info_generation");
	void *lib;
	uint32_t g1, g2;
	int rc;

	if (argc != 2 || !gen) {
		printf("FAIL usage or no sw_info_generation in the process\n");
		return 1;
	}
	lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		printf("FAIL dlopen: %s\n", dlerror());
		return 1;
	}
	g1 = gen();
	rc = dlclose(lib);
	g2 = gen();
	if (rc != 0 || g1 == 0 || g2 == 0 || g1 == g2) {
		printf("FAIL dlclose %d, generation %u -> %u\n", rc, g1, g2);
		return 1;
	}
	printf("dlclose moved the generation\n");
	return 0;
}
