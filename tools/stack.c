/*
 * `stackwalk stack`: every thread's stack of another process or of a core
 * file, named and located (what eu-stack and gdb's `thread apply all bt`
 * print), through stackwalk/remote.h and libstackwalk_symbolize.
 *
 *   stackwalk stack [--json] [--thread TID] [--max-frames N] [--no-symbols] PID
 *   stackwalk stack [--json] [--thread TID] [--max-frames N] [--no-symbols]
 *                   --core FILE [--exe FILE] [--sysroot DIR]
 *
 * A process is captured first (sw_as_attach: each thread stopped only while
 * its registers and stack are copied; the process runs again when it
 * returns), then every thread is unwound and symbolized from the copies.
 * Names come from DWARF and symbol tables of the module files
 * (sw_symbolize_file: demangled function, file:line, inlined functions);
 * for code without a file (the vDSO, JIT objects) from the address space's
 * own names (sw_as_get_proc_name: symbol tables of the memory images, the
 * GDB JIT interface's objects, /tmp/perf-PID.map), demangled.
 *
 * Text output, one block per thread, a blank line between blocks:
 *
 *   Thread TID "NAME"[ (SIGNAL[ at 0xADDR])][, stopped N us]:
 *   #N  0xPC in FUNCTION+0xOFF at FILE:LINE (MODULE) [SOURCE]
 *       inlined by FUNCTION+0xOFF at FILE:LINE
 *       (walk ended: REASON)
 *
 *   (the frame of the signal trampoline a handler returns to ends with
 *   " <signal handler called>", as gdb calls it)
 *
 *   - PC is what the stack holds: the interrupted instruction for frame #0
 *     and for a frame a signal interrupted, a return address for the others
 *     (eu-stack and gdb print the same numbers).  Names and lines are
 *     looked up at PC - 1 for a return address (in the call instruction).
 *   - FUNCTION is the innermost function at PC: when functions were
 *     inlined there, the #N line names the innermost inlined one at the
 *     PC's own FILE:LINE, and each "inlined by" line the function it was
 *     inlined into, at the FILE:LINE of the call; the last such line is the
 *     function the machine code belongs to.  +0xOFF (PC - the function's
 *     entry) is given for that one only (the #N line when nothing was
 *     inlined).  Unknown: "??"; " at FILE:LINE" is left out when unknown.
 *   - MODULE is the base name of the mapped file ("[vdso]", the JIT
 *     object's name); with no function name, "MODULE+0xADDR" gives the
 *     link-time address in the module (what addr2line -e MODULE takes).
 *   - SOURCE says how the frame was found: regs (frame #0: the thread's
 *     registers), cfi (the callee's .eh_frame / .debug_frame), signal (the
 *     registers a signal frame saved: the frame was interrupted there),
 *     jit (a JIT object's unwind information), and the guesses for code
 *     without unwind information: fp (the rbp chain), ra (the return
 *     address at SP), scan (a return address found in the first stack
 *     slots).  From the first guessed frame on every frame is marked
 *     "(guessed)": it may be wrong (sw_is_reliable).
 *   - "(walk ended: REASON)" follows the last frame when the walk did not
 *     reach the outermost frame: "stack copy ends" (the copied stack was
 *     too short: --stack-max; a core: "stack memory ends"), "--max-frames
 *     reached", "thread exited
 *     before it could be stopped", or the unwinder's error (sw_strerror).
 *   NAME is the thread's name (comm) with control characters as '?'.
 *   SIGNAL is the signal that killed the process (cores, on the thread it
 *   hit: the first one), with the fault address for SIGSEGV, SIGBUS,
 *   SIGILL, SIGFPE.
 *
 * JSON output (--json): one document, this schema (stable: later versions
 * only add members):
 *
 *   {"kind": "process"|"core",
 *    "pid": N|null,                        the process (null for a core)
 *    "core": STR|null,                     the core file
 *    "threads": [{
 *       "tid": N, "name": STR,             name: comm, "" if unknown
 *       "state": "stopped"|"gone",         gone: exited before it was stopped
 *       "signal": "SIGSEGV"|null,          the signal that killed the process
 *       "signo": N,                        (0 when none)
 *       "fault_addr": "0x.."|null,         si_addr for SEGV, BUS, ILL, FPE
 *       "stop_ns": N,                      how long it was stopped (0: core)
 *       "frames": [{                       innermost first
 *          "pc": "0x..",                   as in the text output
 *          "lookup_pc": "0x..",            where it was looked up (pc or pc-1)
 *          "module": STR|null,             the module's path, as the target
 *                                          names it
 *          "module_address": "0x.."|null,  lookup_pc's link-time address in it
 *          "function": STR|null,           the function the machine code
 *                                          belongs to, demangled
 *          "raw_function": STR|null,       its linkage (mangled) name
 *          "offset": N|null,               pc - the function's entry
 *          "file": STR|null, "line": N|null,  where that function is at pc
 *                                          (the call site of the outermost
 *                                          inlined function when inlined)
 *          "inlined": [{"function": STR|null, "file": STR|null,
 *                       "line": N|null}], functions inlined at pc,
 *                                          innermost first, each at its own
 *                                          FILE:LINE
 *          "source": "regs"|"cfi"|"signal"|"jit"|"fp"|"ra"|"scan"|"none",
 *          "signal_frame": BOOL,           interrupted by a signal (pc is the
 *                                          interrupted instruction)
 *          "trampoline": BOOL,             the signal trampoline the handler
 *                                          returns to (looked up at pc)
 *          "reliable": BOOL}],             false from the first guessed frame
 *       "end": "outermost"|"truncated"|"stack-copy-ends"|"gone"|"error: MSG"}],
 *                                          truncated: --max-frames reached
 *    "modules": [{"start": "0x..", "end": "0x..", "bias": "0x..",
 *                 "path": STR, "file": STR|null, "build_id": "hex"|null,
 *                 "flags": ["main","vdso","jit","no-file","no-cfi","deleted"]}],
 *    "warnings": [STR]}
 *
 * Addresses are strings ("0x" and lowercase hex: JSON numbers lose 64-bit
 * precision); strings are JSON-escaped (", \, control characters as
 * \u00XX), and bytes that are not well-formed UTF-8 (thread names and
 * paths are any bytes) are written as \u00XX, their Latin-1 reading: the
 * document is always valid JSON.
 *
 * The address space's warnings (threads that exited, missing module files,
 * a truncated core) go to stderr, "stackwalk stack: warning: ..." per line
 * (and into "warnings" with --json).
 * Exit status: 0 (some thread walked), 1 (nothing walked: the process or
 * core could not be read, no such thread), 2 (usage).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackwalk.h>
#include <stackwalk/remote.h>
#include <stackwalk/symbolize.h>

#include "tools.h"

#define STACK_MAX_INLINE 32
#define STACK_DEFAULT_MAX_FRAMES 100000
#define STACK_NAME_MAX 1024

struct stack_opts {
	bool json;
	bool no_symbols;
	pid_t tid;
	long max_frames;
	size_t stack_max;
	const char *core;
	const char *exe;
	const char *sysroot;
};

/* One frame of a walk, before names. */
struct walk_frame {
	uint64_t pc, lookup;
	int source;
	bool reliable, signal;
	bool trampoline;        /* the signal trampoline (__restore_rt): the
				 * handler returned to it, the frame above was
				 * interrupted by the signal */
};

/* One source frame named (innermost first), with its strings. */
struct named {
	const char *function;   /* demangled */
	const char *raw;
	const char *file;
	uint32_t line;
	bool has_offset;
	uint64_t offset;
};

/* What is known of one PC. */
struct pc_info {
	bool in_module;
	struct sw_as_module mod;
	uint64_t mod_address;   /* lookup - bias */
	int n;                  /* source frames in `f` (>= 1 when in_module; 0 else) */
	struct named f[STACK_MAX_INLINE];
	char namebuf[STACK_NAME_MAX];   /* the fallback name, demangled */
	char rawbuf[STACK_NAME_MAX];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: stackwalk stack [OPTIONS] PID\n"
		"       stackwalk stack [OPTIONS] --core FILE [--exe FILE] [--sysroot DIR]\n"
		"every thread's stack: PC, module, function+offset, file:line, inlined\n"
		"functions and how each frame was found\n"
		"  --json              one JSON document (schema below)\n"
		"  --thread TID        only this thread\n"
		"  --max-frames N      at most N frames per thread\n"
		"  --no-symbols        no function names or lines (PCs and modules only)\n"
		"  --stack-max BYTES   stack bytes copied per thread (default 8 MiB)\n"
		"  --core FILE         read a core file instead of a process\n"
		"  --exe FILE          the core's executable, when its recorded path is wrong\n"
		"  --sysroot DIR       prefix for the module paths a core names\n"
		"text, per thread:\n"
		"  Thread TID \"NAME\"[ (SIGNAL[ at 0xADDR])][, stopped N us]:\n"
		"  #N  0xPC in FUNCTION+0xOFF at FILE:LINE (MODULE) [SOURCE][ (guessed)]\n"
		"      inlined by FUNCTION+0xOFF at FILE:LINE\n"
		"      (walk ended: REASON)\n"
		"  SOURCE: regs (first frame), cfi, signal, jit; guesses: fp, ra, scan\n"
		"--json schema:\n"
		"  {\"kind\": \"process\"|\"core\", \"pid\": N|null, \"core\": STR|null,\n"
		"   \"threads\": [{\"tid\": N, \"name\": STR, \"state\": \"stopped\"|\"gone\",\n"
		"     \"signal\": STR|null, \"signo\": N, \"fault_addr\": \"0x..\"|null,\n"
		"     \"stop_ns\": N,\n"
		"     \"frames\": [{\"pc\": \"0x..\", \"lookup_pc\": \"0x..\", \"module\": STR|null,\n"
		"       \"module_address\": \"0x..\"|null, \"function\": STR|null,\n"
		"       \"raw_function\": STR|null, \"offset\": N|null, \"file\": STR|null,\n"
		"       \"line\": N|null, \"inlined\": [{\"function\", \"file\", \"line\"}],\n"
		"       \"source\": \"regs|cfi|signal|jit|fp|ra|scan|none\",\n"
		"       \"signal_frame\": BOOL, \"trampoline\": BOOL, \"reliable\": BOOL}],\n"
		"     \"end\": \"outermost\"|\"truncated\"|\"stack-copy-ends\"|\"gone\"|\"error: MSG\"}],\n"
		"   \"modules\": [{\"start\", \"end\", \"bias\": \"0x..\", \"path\": STR,\n"
		"     \"file\": STR|null, \"build_id\": STR|null, \"flags\": [STR]}],\n"
		"   \"warnings\": [STR]}\n"
		"exit status: 0, 1 (nothing walked), 2 (usage)\n");
}

/* ---------------------------------------------------------------- output */

/* The length of the well-formed UTF-8 sequence at p (1 to 4), or 0. */
static int utf8_len(const unsigned char *p)
{
	int n;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, c = p[0] & 0x07;
	else
		return 0;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)     /* also stops at the NUL */
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return n;
}

/* A JSON string (or null): ", \ and control characters escaped, and every
 * byte that is not part of well-formed UTF-8 (a thread name, a path) as
 * \u00XX, its Latin-1 reading, so the document is always valid. */
static void json_str(const char *s)
{
	if (s == NULL) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		int n;

		switch (*p) {
		case '"': fputs("\\\"", stdout); p++; continue;
		case '\\': fputs("\\\\", stdout); p++; continue;
		case '\n': fputs("\\n", stdout); p++; continue;
		case '\t': fputs("\\t", stdout); p++; continue;
		case '\r': fputs("\\r", stdout); p++; continue;
		default: break;
		}
		n = utf8_len(p);
		if (*p < 0x20 || *p == 0x7f || n == 0) {
			printf("\\u%04x", *p);
			p++;
			continue;
		}
		fwrite(p, 1, (size_t)n, stdout);
		p += n;
	}
	putchar('"');
}

/* A NUL-terminated copy of a byte field that may lack the NUL. */
static void field_str(char *dst, size_t size, const char *src, size_t srcsize)
{
	size_t n = strnlen(src, srcsize);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static const char *base_name(const char *path)
{
	const char *s;

	if (path == NULL)
		return "??";
	s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

static const char *source_name(int src)
{
	switch (src) {
	case SW_SRC_NONE: return "regs";
	case SW_SRC_EH_FRAME_HDR:
	case SW_SRC_EH_FRAME:
	case SW_SRC_DEBUG_FRAME: return "cfi";
	case SW_SRC_FRAME_POINTER: return "fp";
	case SW_SRC_RETURN_ADDRESS: return "ra";
	case SW_SRC_SIGNAL_TRAMPOLINE: return "signal";
	case SW_SRC_JIT: return "jit";
	case SW_SRC_STACK_SCAN: return "scan";
	default: return "none";
	}
}

/* "SIGSEGV" for signo (a static string, or buf). */
static const char *signal_name(int signo, char *buf, size_t size)
{
	const char *abbrev = signo > 0 ? sigabbrev_np(signo) : NULL;

	if (abbrev)
		snprintf(buf, size, "SIG%s", abbrev);
	else
		snprintf(buf, size, "signal %d", signo);
	return buf;
}

static bool signal_has_addr(int signo)
{
	return signo == SIGSEGV || signo == SIGBUS || signo == SIGILL || signo == SIGFPE;
}

/* ---------------------------------------------------------------- naming */

/* Demangle `raw` into buf when it is a mangled name, else copy it. */
static const char *demangled(const char *raw, char *buf, size_t size)
{
	if (sw_demangle(raw, buf, size) > 0)
		return buf;
	snprintf(buf, size, "%s", raw);
	return buf;
}

/*
 * Name the PC of one frame: the module, the source frames of its file
 * (symbolizer), else the address space's own name for it.
 */
static void name_pc(const sw_addr_space_t *as, sw_symbolizer_t *sym, const struct walk_frame *wf,
		    struct pc_info *pi)
{
	struct sw_sym_frame fr[STACK_MAX_INLINE];
	struct sw_sym_module sm;
	uint64_t off;
	int n = 0;

	memset(pi, 0, offsetof(struct pc_info, namebuf));
	pi->namebuf[0] = pi->rawbuf[0] = '\0';
	if (sw_as_find_module(as, wf->lookup, &pi->mod) < 0)
		memset(&pi->mod, 0, sizeof(pi->mod));
	else
		pi->in_module = true;
	pi->mod_address = wf->lookup - pi->mod.bias;
	if (sym == NULL)
		return;
	if (pi->in_module && pi->mod.file != NULL) {
		memset(&sm, 0, sizeof(sm));
		n = sw_symbolize_file(sym, pi->mod.file, pi->mod_address, fr, STACK_MAX_INLINE, &sm);
		if (n > STACK_MAX_INLINE)
			n = STACK_MAX_INLINE;  /* the innermost levels are kept */
		if (n >= 1 && fr[0].function == NULL && fr[0].file == NULL)
			n = 0;  /* the module alone: ask the address space below */
	}
	if (n >= 1) {
		for (int i = 0; i < n; i++) {
			struct named *f = &pi->f[i];
			uint64_t at = pi->mod_address + (wf->pc - wf->lookup);

			f->raw = fr[i].function;
			f->function = fr[i].name ? fr[i].name : fr[i].function;
			f->file = fr[i].file;
			f->line = fr[i].line;
			/* the offset of the function the code belongs to */
			if (i == n - 1 && fr[i].function_start != 0 && at >= fr[i].function_start) {
				f->has_offset = true;
				f->offset = at - fr[i].function_start;
			}
		}
		pi->n = n;
		return;
	}
	/* the vDSO, JIT code, a file without usable symbols: the address
	 * space's names (memory images, the JIT interface, the perf map) */
	if (sw_as_get_proc_name(as, wf->lookup, pi->rawbuf, sizeof(pi->rawbuf), &off) == 0 &&
	    pi->rawbuf[0] != '\0') {
		struct named *f = &pi->f[0];

		f->raw = pi->rawbuf;
		f->function = demangled(pi->rawbuf, pi->namebuf, sizeof(pi->namebuf));
		f->has_offset = true;
		f->offset = off + (wf->pc - wf->lookup);
		pi->n = 1;
	}
}

/* ---------------------------------------------------------------- text */

static void text_frame(int num, const struct walk_frame *wf, const struct pc_info *pi)
{
	int last = pi->n - 1;

	printf("#%-2d 0x%016" PRIx64 " in ", num, wf->pc);
	if (pi->n == 0) {
		if (pi->in_module)
			printf("?? (%s+0x%" PRIx64 ")", base_name(pi->mod.path), pi->mod_address);
		else
			fputs("??", stdout);
	} else {
		const struct named *f = &pi->f[0];

		fputs(f->function ? f->function : "??", stdout);
		if (last == 0 && f->has_offset)
			printf("+0x%" PRIx64, f->offset);
		if (f->file) {
			printf(" at %s", f->file);
			if (f->line)
				printf(":%" PRIu32, f->line);
		}
		if (pi->in_module)
			printf(" (%s)", base_name(pi->mod.path));
	}
	printf(" [%s]%s%s\n", source_name(wf->source), wf->reliable ? "" : " (guessed)",
	       wf->trampoline ? " <signal handler called>" : "");
	for (int i = 1; i <= last; i++) {
		const struct named *f = &pi->f[i];

		printf("    inlined by %s", f->function ? f->function : "??");
		if (i == last && f->has_offset)
			printf("+0x%" PRIx64, f->offset);
		if (f->file) {
			printf(" at %s", f->file);
			if (f->line)
				printf(":%" PRIu32, f->line);
		}
		putchar('\n');
	}
}

/* ---------------------------------------------------------------- json */

static void json_frame(bool first, const struct walk_frame *wf, const struct pc_info *pi)
{
	const struct named *outer = pi->n > 0 ? &pi->f[pi->n - 1] : NULL;

	printf("%s\n{\"pc\":\"0x%" PRIx64 "\",\"lookup_pc\":\"0x%" PRIx64 "\",\"module\":",
	       first ? "" : ",", wf->pc, wf->lookup);
	json_str(pi->in_module ? pi->mod.path : NULL);
	if (pi->in_module)
		printf(",\"module_address\":\"0x%" PRIx64 "\"", pi->mod_address);
	else
		fputs(",\"module_address\":null", stdout);
	fputs(",\"function\":", stdout);
	json_str(outer ? outer->function : NULL);
	fputs(",\"raw_function\":", stdout);
	json_str(outer ? outer->raw : NULL);
	if (outer && outer->has_offset)
		printf(",\"offset\":%" PRIu64, outer->offset);
	else
		fputs(",\"offset\":null", stdout);
	fputs(",\"file\":", stdout);
	json_str(outer ? outer->file : NULL);
	if (outer && outer->line)
		printf(",\"line\":%" PRIu32, outer->line);
	else
		fputs(",\"line\":null", stdout);
	fputs(",\"inlined\":[", stdout);
	for (int i = 0; i + 1 < pi->n; i++) {
		const struct named *f = &pi->f[i];

		fputs(i ? ",{\"function\":" : "{\"function\":", stdout);
		json_str(f->function);
		fputs(",\"file\":", stdout);
		json_str(f->file);
		if (f->line)
			printf(",\"line\":%" PRIu32 "}", f->line);
		else
			fputs(",\"line\":null}", stdout);
	}
	printf("],\"source\":\"%s\",\"signal_frame\":%s,\"trampoline\":%s,\"reliable\":%s}",
	       source_name(wf->source), wf->signal ? "true" : "false",
	       wf->trampoline ? "true" : "false", wf->reliable ? "true" : "false");
}

static void json_flags(uint32_t flags)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ SW_MOD_MAIN, "main" }, { SW_MOD_VDSO, "vdso" }, { SW_MOD_JIT, "jit" },
		{ SW_MOD_NO_FILE, "no-file" }, { SW_MOD_NO_CFI, "no-cfi" },
		{ SW_MOD_DELETED, "deleted" },
	};
	bool first = true;

	putchar('[');
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (flags & names[i].bit) {
			printf("%s\"%s\"", first ? "" : ",", names[i].name);
			first = false;
		}
	}
	putchar(']');
}

static void json_modules(const sw_addr_space_t *as)
{
	size_t n = sw_as_module_count(as);
	bool first = true;

	fputs(",\n\"modules\":[", stdout);
	for (size_t i = 0; i < n; i++) {
		struct sw_as_module m;

		if (sw_as_get_module(as, i, &m) != 0)
			continue;
		printf("%s\n{\"start\":\"0x%" PRIx64 "\",\"end\":\"0x%" PRIx64 "\",\"bias\":\"0x%" PRIx64
		       "\",\"path\":", first ? "" : ",", m.start, m.end, m.bias);
		first = false;
		json_str(m.path);
		fputs(",\"file\":", stdout);
		json_str(m.file);
		fputs(",\"build_id\":", stdout);
		if (m.build_id_size > 0 && m.build_id_size <= sizeof(m.build_id)) {
			putchar('"');
			for (uint32_t b = 0; b < m.build_id_size; b++)
				printf("%02x", m.build_id[b]);
			putchar('"');
		} else {
			fputs("null", stdout);
		}
		fputs(",\"flags\":", stdout);
		json_flags(m.flags);
		putchar('}');
	}
	fputs("]", stdout);
}

/* The warnings as a JSON array, and on stderr. */
static void report_warnings(const sw_addr_space_t *as, bool json)
{
	const char *w = sw_as_warnings(as);
	bool first = true;

	if (json)
		fputs(",\n\"warnings\":[", stdout);
	while (w && *w) {
		const char *nl = strchr(w, '\n');
		size_t len = nl ? (size_t)(nl - w) : strlen(w);

		if (len > 0) {
			char line[2048];

			field_str(line, sizeof(line), w, len);
			fprintf(stderr, "stackwalk stack: warning: %s\n", line);
			if (json) {
				fputs(first ? "" : ",", stdout);
				json_str(line);
			}
			first = false;
		}
		w += len + (nl ? 1 : 0);
	}
	if (json)
		fputs("]", stdout);
}

/* ---------------------------------------------------------------- walk */

/*
 * The frame below one a signal interrupted (source "signal") is the signal
 * trampoline the handler returns to: its PC is the trampoline's first
 * instruction, not a return address after a call, so it is looked up at
 * the PC itself (as libgcc does for an FDE with the 'S' augmentation;
 * sw_get_lookup_pc gives PC - 1 there, which names the function before
 * __restore_rt).
 */
static void mark_trampolines(struct walk_frame *frames, long n)
{
	for (long f = 0; f + 1 < n; f++) {
		if (frames[f + 1].source == SW_SRC_SIGNAL_TRAMPOLINE && !frames[f].signal) {
			frames[f].trampoline = true;
			frames[f].lookup = frames[f].pc;
		}
	}
}

/*
 * Walk thread `i` into frames[0..max-1].  Returns the number of frames;
 * *end is the reason it ended (a static string, or errbuf).
 */
static long walk_thread(const sw_addr_space_t *as, size_t i, struct walk_frame *frames, long max,
			const char **end, char *errbuf, size_t errsize)
{
	sw_cursor_t cur;
	long n = 0;
	int rc;

	rc = sw_init_remote(&cur, as, i);
	if (rc < 0) {
		snprintf(errbuf, errsize, "error: %s", sw_strerror(rc));
		*end = errbuf;
		return 0;
	}
	for (;;) {
		struct walk_frame *wf;

		if (n == max) {
			*end = "truncated";
			return n;
		}
		wf = &frames[n++];
		wf->pc = sw_get_ip(&cur);
		wf->lookup = sw_get_lookup_pc(&cur);
		wf->source = sw_get_frame_source(&cur);
		wf->reliable = sw_is_reliable(&cur) != 0;
		wf->signal = sw_is_signal_frame(&cur) != 0;
		wf->trampoline = false;  /* mark_trampolines */
		rc = sw_step(&cur);
		if (rc == SW_END_OF_STACK) {
			*end = "outermost";
			return n;
		}
		if (rc < 0) {
			if (sw_cursor_stack_truncated(&cur)) {
				*end = "stack-copy-ends";
			} else {
				snprintf(errbuf, errsize, "error: %s", sw_strerror(rc));
				*end = errbuf;
			}
			return n;
		}
		if (sw_get_ip(&cur) == 0) {
			/* a zero return address: the end of the chain */
			*end = "outermost";
			return n;
		}
	}
}

static const char *end_text(const char *end, bool core)
{
	if (strcmp(end, "stack-copy-ends") == 0)
		return core ? "stack memory ends (not in the core)"
			    : "stack copy ends (a larger --stack-max copies more)";
	if (strcmp(end, "truncated") == 0)
		return "--max-frames reached";
	if (strcmp(end, "gone") == 0)
		return "thread exited before it could be stopped";
	return end;
}

/* Print every thread.  Returns the number of threads walked. */
static size_t print_threads(const sw_addr_space_t *as, sw_symbolizer_t *sym,
			    const struct stack_opts *o, struct walk_frame *frames, size_t *matched)
{
	size_t count = sw_as_thread_count(as), walked = 0;
	bool first_thread = true;
	static struct pc_info pi;

	*matched = 0;
	for (size_t i = 0; i < count; i++) {
		struct sw_as_thread t;
		char name[sizeof(t.name) + 1], sig[32], errbuf[160];
		const char *end = "gone";
		long n = 0;

		if (sw_as_get_thread(as, i, &t) != 0)
			continue;
		if (o->tid != 0 && t.tid != o->tid)
			continue;
		(*matched)++;
		/* the kernel writes the signal into every thread's NT_PRSTATUS
		 * (pr_cursig); the faulting thread is the first */
		if (sw_as_kind(as) == SW_AS_CORE && i > 0) {
			t.signal = 0;
			t.fault_addr = 0;
		}
		field_str(name, sizeof(name), t.name, sizeof(t.name));
		if (!o->json) {
			/* a name is any bytes: no control character in the text */
			for (char *c = name; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					*c = '?';
		}
		if (t.state == SW_THREAD_STOPPED) {
			n = walk_thread(as, i, frames, o->max_frames, &end, errbuf, sizeof(errbuf));
			mark_trampolines(frames, n);
		}
		if (n > 0)
			walked++;
		if (o->json) {
			printf("%s\n{\"tid\":%ld,\"name\":", first_thread ? "" : ",", (long)t.tid);
			json_str(name);
			printf(",\"state\":\"%s\",\"signal\":",
			       t.state == SW_THREAD_STOPPED ? "stopped" : "gone");
			json_str(t.signal > 0 ? signal_name(t.signal, sig, sizeof(sig)) : NULL);
			printf(",\"signo\":%d,\"fault_addr\":", t.signal);
			if (t.signal > 0 && signal_has_addr(t.signal))
				printf("\"0x%" PRIx64 "\"", t.fault_addr);
			else
				fputs("null", stdout);
			printf(",\"stop_ns\":%" PRIu64 ",\"frames\":[", t.stop_ns);
		} else {
			printf("%sThread %ld \"%s\"", first_thread ? "" : "\n", (long)t.tid, name);
			if (t.signal > 0) {
				printf(" (%s", signal_name(t.signal, sig, sizeof(sig)));
				if (signal_has_addr(t.signal))
					printf(" at 0x%" PRIx64, t.fault_addr);
				putchar(')');
			}
			if (t.stop_ns > 0)
				printf(", stopped %" PRIu64 " us", (t.stop_ns + 500) / 1000);
			fputs(":\n", stdout);
		}
		first_thread = false;
		for (long f = 0; f < n; f++) {
			name_pc(as, sym, &frames[f], &pi);
			if (o->json)
				json_frame(f == 0, &frames[f], &pi);
			else
				text_frame((int)f, &frames[f], &pi);
		}
		if (o->json) {
			fputs("],\"end\":", stdout);
			json_str(end);
			putchar('}');
		} else if (strcmp(end, "outermost") != 0) {
			printf("    (walk ended: %s)\n", end_text(end, sw_as_kind(as) == SW_AS_CORE));
		}
	}
	return walked;
}

/* ---------------------------------------------------------------- main */

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *e;
	long v;

	if (s == NULL || *s == '\0')
		return false;
	v = strtol(s, &e, 0);
	if (*e != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int cmd_stack(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "thread", required_argument, NULL, 't' },
		{ "max-frames", required_argument, NULL, 'n' },
		{ "no-symbols", no_argument, NULL, 'S' },
		{ "stack-max", required_argument, NULL, 'm' },
		{ "core", required_argument, NULL, 'c' },
		{ "exe", required_argument, NULL, 'e' },
		{ "sysroot", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stack_opts o = { .max_frames = STACK_DEFAULT_MAX_FRAMES };
	struct sw_as_options aopt;
	char errbuf[512];
	sw_addr_space_t *as = NULL;
	sw_symbolizer_t *sym = NULL;
	struct walk_frame *frames;
	size_t walked, matched;
	long pid = 0, v;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'J': o.json = true; break;
		case 'S': o.no_symbols = true; break;
		case 't':
			if (!parse_long(optarg, 1, INT_MAX, &v)) {
				fprintf(stderr, "stackwalk stack: bad --thread '%s'\n", optarg);
				return 2;
			}
			o.tid = (pid_t)v;
			break;
		case 'n':
			if (!parse_long(optarg, 1, 100000000, &o.max_frames)) {
				fprintf(stderr, "stackwalk stack: bad --max-frames '%s'\n", optarg);
				return 2;
			}
			break;
		case 'm':
			if (!parse_long(optarg, 1, 1L << 30, &v)) {
				fprintf(stderr, "stackwalk stack: bad --stack-max '%s'\n", optarg);
				return 2;
			}
			o.stack_max = (size_t)v;
			break;
		case 'c': o.core = optarg; break;
		case 'e': o.exe = optarg; break;
		case 'r': o.sysroot = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.core == NULL) {
		if (optind != argc - 1 || !parse_long(argv[optind], 1, INT_MAX, &pid)) {
			if (optind < argc)
				fprintf(stderr, "stackwalk stack: bad PID '%s'\n", argv[optind]);
			usage(stderr);
			return 2;
		}
		if (o.exe || o.sysroot) {
			fprintf(stderr, "stackwalk stack: --exe and --sysroot go with --core\n");
			return 2;
		}
	} else if (optind != argc) {
		fprintf(stderr, "stackwalk stack: --core takes no PID\n");
		usage(stderr);
		return 2;
	}

	memset(&aopt, 0, sizeof(aopt));
	aopt.size = sizeof(aopt);
	aopt.tid = o.core ? 0 : o.tid;
	aopt.stack_max = o.stack_max;
	aopt.exe = o.exe;
	aopt.sysroot = o.sysroot;
	aopt.errbuf = errbuf;
	aopt.errsize = sizeof(errbuf);
	errbuf[0] = '\0';
	/* capture first: the process runs again when sw_as_attach returns */
	if (o.core)
		rc = sw_as_open_core(o.core, &aopt, &as);
	else
		rc = sw_as_attach((pid_t)pid, &aopt, &as);
	if (rc < 0) {
		char pidstr[32];

		snprintf(pidstr, sizeof(pidstr), "process %ld", pid);
		if (o.core && errbuf[0] && strstr(errbuf, o.core))
			fprintf(stderr, "stackwalk stack: %s\n", errbuf);  /* names the file */
		else if (o.core)
			fprintf(stderr, "stackwalk stack: %s: %s\n", o.core,
				errbuf[0] ? errbuf : sw_strerror(rc));
		else if (rc == SW_ENOTFOUND && errbuf[0] == '\0' && o.tid != 0)
			fprintf(stderr, "stackwalk stack: no process %ld, or no thread %ld in it\n",
				pid, (long)o.tid);
		else if (rc == SW_ENOTFOUND && errbuf[0] == '\0')
			fprintf(stderr, "stackwalk stack: no process %ld\n", pid);
		else if (errbuf[0] && strstr(errbuf, pidstr))
			fprintf(stderr, "stackwalk stack: %s\n", errbuf);  /* names the process */
		else
			fprintf(stderr, "stackwalk stack: process %ld: %s\n", pid,
				errbuf[0] ? errbuf : sw_strerror(rc));
		return 1;
	}

	frames = malloc((size_t)o.max_frames * sizeof(*frames));
	if (frames == NULL && o.max_frames > 4096) {
		o.max_frames = 4096;
		frames = malloc((size_t)o.max_frames * sizeof(*frames));
	}
	if (frames == NULL) {
		fprintf(stderr, "stackwalk stack: out of memory\n");
		sw_as_free(as);
		return 1;
	}
	if (!o.no_symbols) {
		rc = sw_symbolizer_new(NULL, &sym);
		if (rc < 0) {
			fprintf(stderr, "stackwalk stack: no symbolizer (%s): PCs only\n",
				sw_strerror(rc));
			sym = NULL;
		}
	}

	if (o.json) {
		printf("{\"kind\":\"%s\",\"pid\":", o.core ? "core" : "process");
		if (o.core)
			fputs("null", stdout);
		else
			printf("%ld", pid);
		fputs(",\"core\":", stdout);
		json_str(o.core);
		fputs(",\n\"threads\":[", stdout);
	}
	walked = print_threads(as, sym, &o, frames, &matched);
	if (o.json) {
		fputs("]", stdout);
		json_modules(as);
	}
	report_warnings(as, o.json);
	if (o.json)
		fputs("}\n", stdout);
	if (o.tid != 0 && matched == 0)
		fprintf(stderr, "stackwalk stack: no thread %ld in %s\n", (long)o.tid,
			o.core ? "the core" : "the process");
	fflush(stdout);

	free(frames);
	sw_symbolizer_free(sym);
	sw_as_free(as);
	return walked > 0 ? 0 : 1;
}
