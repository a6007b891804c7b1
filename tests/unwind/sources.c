/*
 * sources: modules whose unwind information comes from each place the
 * library looks (enum sw_proc_source), loaded, walked through, unloaded and
 * replaced at the same address by a build with other frame sizes:
 *   hdr    .eh_frame through .eh_frame_hdr        SW_SRC_EH_FRAME_HDR
 *   eh     .eh_frame, linked --no-eh-frame-hdr    SW_SRC_EH_FRAME
 *   debug  only .debug_frame (-fno-asynchronous-unwind-tables -g)
 *                                                 SW_SRC_DEBUG_FRAME
 *   fp     no CFI at all, frame pointers          (no procedure info;
 *                                                  the frame-pointer rule)
 *
 *   sources [--hold] KIND:PATH ...
 *
 * Each module in turn is loaded, walked through and unloaded; with --hold
 * all are loaded first (so they are live at once), walked, then unloaded.
 * Many copies of a module at distinct paths exercise the tables the
 * library keeps per module (file CFI, names) beyond their capacity: while
 * loaded one after another (slots of unloaded modules are reused) and all
 * at once (lookups the tables cannot hold are still served).
 *
 * In the callback the module calls (mod_a -> mod_b -> mod_c -> cb) a cursor
 * walk must give: mod_c, mod_b, mod_a (sw_get_proc_info start = the
 * functions' addresses, source as above, module_base = the module's l_addr),
 * then run_module and exactly the frames libgcc saw from run_module before
 * the call, to the outermost frame.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <unwind.h>

#include "common.h"

#define MAXF 128

typedef int (*mod_cb)(int);
typedef int (*mod_entry)(mod_cb, int);

static void *ref[MAXF];
static int nref;
static const char *kind, *path;
static void **fns;
static uint64_t mod_base;
static int expect_source;
static int walks;

/* ref[0]: into outer_frames, ref[1]: into run_module, ref[2]: into main, ... */
NOINLINE static void outer_frames(void)
{
	struct ug_state st = { ref, 0, MAXF };

	_Unwind_Backtrace(ug_cb, &st);
	nref = st.n;
	if (nref > 0 && ref[nref - 1] == NULL)
		nref--;
}

static int run_module(mod_entry entry);

NOINLINE static int cb(int n)
{
	static const char *const names[3] = { "mod_c", "mod_b", "mod_a" };
	sw_context_t ctx;
	sw_cursor_t cur;
	struct sw_proc_info pi;
	int rc, k;

	walks++;
	sw_getcontext(&ctx);
	CHECK_EQ(sw_init_local(&cur, &ctx), 0, "%s: sw_init_local", kind);
	for (int i = 0; i < 3; i++) {
		rc = sw_step(&cur);
		CHECK_EQ(rc, 0, "%s: step into %s", kind, names[i]);
		if (rc != 0)
			return n;
		uint64_t ip = sw_get_ip(&cur);
		Dl_info di;
		/* how the frame was found: mod_c by cb's CFI; the others by
		 * their callee's, in the module (the frame-pointer rule for the
		 * module without CFI, a heuristic: unreliable from there on) */
		int how = sw_get_frame_source(&cur);
		if (i == 0)
			CHECK_EQ(how, SW_SRC_EH_FRAME_HDR, "%s: mod_c found by cb's CFI", kind);
		else if (expect_source == SW_SRC_NONE)
			CHECK_EQ(how, SW_SRC_FRAME_POINTER, "%s: %s found by the frame pointer", kind,
				 names[i]);
		else
			CHECK_EQ(how, expect_source, "%s: %s found by its callee's CFI", kind, names[i]);
		CHECK_EQ(sw_is_reliable(&cur), expect_source != SW_SRC_NONE || i == 0,
			 "%s: frame %d's reliability", kind, i + 1);
		CHECK(dladdr((void *)(uintptr_t)ip, &di) && (uint64_t)(uintptr_t)di.dli_fbase == mod_base,
		      "%s: frame %d (IP %#" PRIx64 ") is in the module", kind, i + 1, ip);
		char name[64];
		uint64_t off = 0;
		rc = sw_get_proc_name(&cur, name, sizeof(name), &off);
		CHECK(rc == 0 && strcmp(name, names[i]) == 0, "%s: frame %d's name: %s (%s)", kind, i + 1,
		      rc == 0 ? name : "-", t_status(rc));
		rc = sw_get_proc_info(&cur, &pi);
		if (expect_source == SW_SRC_NONE) {
			CHECK_EQ(rc, SW_ENOTFOUND, "%s: %s has no unwind information", kind, names[i]);
			if (i == 2)
				CHECK(di.dli_sname && strcmp(di.dli_sname, "mod_a") == 0,
				      "%s: frame 3 is in mod_a (%s)", kind, di.dli_sname ? di.dli_sname : "?");
			continue;
		}
		CHECK_EQ(rc, 0, "%s: sw_get_proc_info in %s", kind, names[i]);
		CHECK_EQ(pi.start, (uint64_t)(uintptr_t)fns[2 - i], "%s: frame %d is in %s", kind, i + 1,
			 names[i]);
		CHECK(pi.start <= ip - 1 && ip - 1 < pi.end, "%s: %s's [start, end) holds IP - 1", kind,
		      names[i]);
		CHECK_EQ(pi.source, expect_source, "%s: %s's source", kind, names[i]);
		CHECK_EQ(pi.module_base, mod_base, "%s: %s's module base", kind, names[i]);
	}
	/* back in the program */
	rc = sw_step(&cur);
	CHECK_EQ(rc, 0, "%s: step back into run_module", kind);
	CHECK_EQ(sw_get_frame_source(&cur), expect_source ? expect_source : SW_SRC_FRAME_POINTER,
		 "%s: run_module found by mod_a's unwind rule", kind);
	CHECK_EQ(sw_get_proc_info(&cur, &pi), 0, "%s: run_module's proc info", kind);
	CHECK_EQ(pi.start, (uint64_t)(uintptr_t)run_module, "%s: frame 4 is in run_module", kind);
	k = 2;
	while ((rc = sw_step(&cur)) == 0 && k < MAXF) {
		if (k < nref)
			CHECK_EQ(sw_get_ip(&cur), (uint64_t)(uintptr_t)ref[k],
				 "%s: frame %d = libgcc's from run_module", kind, k + 3);
		k++;
	}
	CHECK_EQ(rc, SW_END_OF_STACK, "%s: the walk's end", kind);
	CHECK_EQ(k, nref, "%s: frames after run_module: stackwalk %d, libgcc %d", kind, k - 2, nref - 2);
	return n;
}

NOINLINE static int run_module(mod_entry entry)
{
	outer_frames();
	int r = entry(cb, 1);
	OPAQUE(r);
	return r;
}

struct module {
	const char *kind, *path;
	void *handle;
};

/* Load one module (exits on failure: the test's setup is broken). */
static void load(struct module *m)
{
	m->handle = dlopen(m->path, RTLD_NOW | RTLD_LOCAL);
	if (!m->handle) {
		fprintf(stderr, "dlopen %s: %s\n", m->path, dlerror());
		exit(2);
	}
}

/* Walk through one loaded module; prints one line. */
static void run(const struct module *m, uint64_t *last_base, const char **last_kind)
{
	struct link_map *lm = NULL;

	kind = m->kind;
	path = m->path;
	expect_source = !strcmp(kind, "hdr") ? SW_SRC_EH_FRAME_HDR
		      : !strcmp(kind, "eh") ? SW_SRC_EH_FRAME
		      : !strcmp(kind, "debug") ? SW_SRC_DEBUG_FRAME
		      : SW_SRC_NONE;
	dlinfo(m->handle, RTLD_DI_LINKMAP, &lm);
	mod_base = (uint64_t)lm->l_addr;
	fns = (void **)dlsym(m->handle, "mod_fns");
	mod_entry entry = (mod_entry)dlsym(m->handle, "mod_a");
	int before = walks;
	unsigned long failed_before = t_fail;
	run_module(entry);
	CHECK_EQ(walks, before + 1, "%s: the callback ran", kind);
	printf("sources: %-5s %-40s at %#" PRIx64 "%s: %s\n", kind,
	       strrchr(path, '/') ? strrchr(path, '/') + 1 : path, mod_base,
	       mod_base == *last_base && !strcmp(kind, *last_kind) ? " (same address as the last one)" : "",
	       t_fail == failed_before ? "ok" : "FAILED");
	*last_base = mod_base;
	*last_kind = kind;
}

/* The per-module tables beyond their capacity: entries of unloaded
 * modules are reused; lookups for more live modules than they hold are
 * served (the walks above checked that) and counted. */
static void check_stats(const struct module *mods, int n, bool hold)
{
	struct sw_stats st;
	int nfile = 0;

	for (int i = 0; i < n; i++)
		nfile += !strcmp(mods[i].kind, "eh") || !strcmp(mods[i].kind, "debug");
	CHECK_EQ(sw_get_stats(&st), 0, "sw_get_stats");
	CHECK_EQ(sw_get_stats(NULL), SW_EINVAL, "sw_get_stats(NULL)");
	printf("sources: %d modules (%d with file CFI)%s: file CFI %u/%u entries, %" PRIu64
	       " reclaimed, %" PRIu64 " lookups without an entry; names %u/%u, %" PRIu64
	       " reclaimed, %" PRIu64 " without an entry\n", n, nfile, hold ? " held at once" : "",
	       st.file_cfi_used, st.file_cfi_capacity, st.file_cfi_reclaimed, st.file_cfi_overflow,
	       st.names_used, st.names_capacity, st.names_reclaimed, st.names_overflow);
	CHECK(st.file_cfi_used <= st.file_cfi_capacity && st.names_used <= st.names_capacity,
	      "entries used within capacity");
	if (nfile > (int)st.file_cfi_capacity) {
		if (hold) {
			CHECK(st.file_cfi_overflow > 0, "file CFI lookups beyond capacity are counted");
		} else {
			CHECK(st.file_cfi_reclaimed > 0, "file CFI entries of unloaded modules reused");
			CHECK_EQ(st.file_cfi_overflow, 0, "file CFI lookups without an entry");
		}
	}
	if (n > (int)st.names_capacity) {
		if (hold) {
			CHECK(st.names_overflow > 0, "name lookups beyond capacity are counted");
		} else {
			CHECK(st.names_reclaimed > 0, "name entries of unloaded modules reused");
			CHECK_EQ(st.names_overflow, 0, "name lookups without an entry");
		}
	}
}

int main(int argc, char **argv)
{
	uint64_t last_base = 0;
	const char *last_kind = "";
	bool hold = argc > 1 && !strcmp(argv[1], "--hold");
	int first = hold ? 2 : 1, n = 0;
	struct module *mods = calloc((size_t)argc, sizeof(*mods));

	sw_init();
	if (!mods)
		return 2;
	for (int i = first; i < argc; i++, n++) {
		char *colon = strchr(argv[i], ':');
		if (!colon) {
			fprintf(stderr, "usage: %s [--hold] KIND:PATH ...\n", argv[0]);
			return 2;
		}
		*colon = 0;
		mods[n].kind = argv[i];
		mods[n].path = colon + 1;
	}
	for (int i = 0; i < n; i++) {
		if (hold) {
			if (i == 0)
				for (int j = 0; j < n; j++)
					load(&mods[j]);
		} else {
			load(&mods[i]);
		}
		run(&mods[i], &last_base, &last_kind);
		if (!hold)
			dlclose(mods[i].handle);
	}
	if (hold)
		for (int i = 0; i < n; i++)
			dlclose(mods[i].handle);
	check_stats(mods, n, hold);
	free(mods);
	return t_finish("sources");
}
