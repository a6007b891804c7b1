/*
 * reload's plugin host: a shared library that dlopens a module, calls its
 * dl_entry, and dlcloses it -- the program itself never calls dlclose.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int host_cycle(const char *path, int (*cb)(int), int id, void **entry_out);

int host_cycle(const char *path, int (*cb)(int), int id, void **entry_out)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		abort();
	}
	int (*entry)(int, int (*)(int), int) = (int (*)(int, int (*)(int), int))dlsym(h, "dl_entry");
	if (!entry)
		abort();
	*entry_out = (void *)entry;
	int r = entry(4, cb, id);
	dlclose(h);
	return r;
}
