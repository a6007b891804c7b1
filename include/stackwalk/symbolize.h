/*
 * stackwalk/symbolize.h — libstackwalk_symbolize: what each frame is.
 *
 * For a PC, the source frames that executed there, innermost first: the
 * function (raw linkage name and demangled), file, line and column, and
 * for every inlined level the call site in its caller; and the module
 * (path, build-id, offsets) of every PC, also when nothing else is known.
 * Unwinding stays separate: a profiler walks now (sw_backtrace) and
 * symbolizes later, in batches.
 *
 * Sources, best first: DWARF 2 to 5 (.debug_info, .debug_line, ranges,
 * rnglists, .debug_addr, .debug_str_offsets, .debug_line_str, aranges;
 * dwz's .gnu_debugaltlink), found in the module or in its separate debug
 * file (/usr/lib/debug/.build-id, .gnu_debuglink with its CRC checked);
 * SHF_COMPRESSED sections (zlib, zstd); MiniDebugInfo (.gnu_debugdata,
 * xz); .symtab/.dynsym; JIT procedures registered with stackwalk/jit.h
 * (names and the line tables their authors registered).
 *
 * Where it lives: this is its own library, libstackwalk_symbolize.so.0
 * (pkg-config stackwalk_symbolize), on top of libstackwalk.  It needs zlib,
 * libzstd and liblzma (for compressed debug info) and carries libiberty's
 * allocation-free demangler (cplus_demangle_v3_callback) inside it.  The
 * unwinding library, libstackwalk, keeps depending on libc alone.
 *
 * Memory: every structure a lookup builds comes from an mmap-backed arena
 * owned by the symbolizer (no malloc, no lock), capped by
 * sw_sym_options.memory_cap; files are mapped read-only; compressed
 * sections are decompressed once, into the arena.  Work is lazy per
 * compilation unit, found through an address -> unit index, and nothing is
 * parsed twice.  When the cap is reached, lookups give shorter answers
 * (symbol table names, module only) and sw_symbolizer_stats counts them.
 *
 * Strings returned stay valid until sw_symbolizer_free.
 */
#ifndef STACKWALK_SYMBOLIZE_H
#define STACKWALK_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

#include <stackwalk.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_symbolizer sw_symbolizer_t;

struct sw_sym_options {
	size_t size;                /* sizeof(struct sw_sym_options) */
	uint64_t memory_cap;        /* bytes the arena may map; 0: 4 GiB */
	const char *debug_dirs;     /* gdb's debug-file-directory (':'-separated);
				     * NULL: $SW_DEBUG_DIR, else /usr/lib/debug */
	uint32_t flags;             /* SW_SYM_* below */
	uint32_t reserved32;
	uint64_t reserved[4];
};

#define SW_SYM_NO_DEBUG_FILES 0x1u  /* use the module file only */
#define SW_SYM_NO_DWARF       0x2u  /* names from symbol tables only */
#define SW_SYM_NO_DEMANGLE    0x4u  /* sw_sym_frame.name = the raw name */

/*
 * sw_symbolizer_new - a symbolizer; `opts` may be NULL (defaults).
 * Returns 0 and sets *out, SW_EINVAL (bad size/flags) or SW_ENOMEM.
 * Thread-safe: yes.  Async-signal-safe: no (reads the environment).
 */
SW_API int sw_symbolizer_new(const struct sw_sym_options *opts, sw_symbolizer_t **out);

/*
 * sw_symbolizer_free - unmap everything; every string the symbolizer
 * returned becomes invalid.  NULL is a no-op.
 * Thread-safe: no other thread may use `s`.  Async-signal-safe: yes.
 */
SW_API void sw_symbolizer_free(sw_symbolizer_t *s);

/* One source frame. */
struct sw_sym_frame {
	const char *function;       /* raw name (mangled linkage name), NULL if unknown */
	const char *name;           /* demangled when it applies, else == function */
	const char *file;           /* source file (absolute when DWARF says so), NULL if unknown */
	uint32_t line;              /* 1-based, 0 if unknown */
	uint32_t column;            /* 1-based, 0 if unknown */
	uint64_t function_start;    /* link-time entry of the function (the
				     * outermost frame's symbol or DW_AT_low_pc;
				     * for an inlined frame the start of the
				     * inlined range), 0 if unknown */
	uint32_t flags;             /* SW_SYM_FRAME_* */
	uint32_t reserved32;
	uint64_t reserved[2];
};

#define SW_SYM_FRAME_INLINED 0x1u   /* inlined into the next frame (frames[i+1]),
				     * whose file/line is the call site */
#define SW_SYM_FRAME_SYMTAB  0x2u   /* name from .symtab/.dynsym/MiniDebugInfo, no DWARF */
#define SW_SYM_FRAME_JIT     0x4u   /* registered JIT code (stackwalk/jit.h) */

/* The module of a PC. */
struct sw_sym_module {
	const char *path;           /* the file ("[vdso]", "[jit]" for JIT code) */
	const char *debug_path;     /* the separate debug file used, or NULL */
	uint8_t build_id[40];
	uint32_t build_id_size;     /* 0: none */
	uint32_t reserved32;
	uint64_t base;              /* load bias: address = pc - base */
	uint64_t address;           /* link-time address (what addr2line -e takes) */
	uint64_t file_offset;       /* offset in the file (PT_LOAD), UINT64_MAX if none */
	uint64_t reserved[3];
};

/*
 * sw_symbolize - the source frames at `pc` in this process (a return
 * address from sw_backtrace: pass pc - 1 for frames other than the first
 * and signal frames, as sw_get_lookup_pc does, to land in the call).
 * Fills frames[0..min(n, max)-1], innermost first, and *module (may be
 * NULL).  A module's files are opened at its first lookup.
 * Returns n >= 1, the number of frames at pc (may exceed max): when only
 * the module is known, one frame with function == NULL.  SW_ENOTFOUND when
 * no loaded module or JIT registration contains pc; SW_EINVAL.
 * Thread-safe: yes.  Async-signal-safe: yes — no lock, no malloc; a first
 * lookup in a module opens and maps files (open/mmap/pread) and may take
 * milliseconds, which sw_symbolizer_preload does ahead of time.
 */
SW_API int sw_symbolize(sw_symbolizer_t *s, uint64_t pc, struct sw_sym_frame *frames, int max,
			struct sw_sym_module *module);

/*
 * sw_symbolize_file - the same for `address`, a link-time address in the
 * ELF file `path` (what addr2line -e FILE ADDRESS takes).
 * Returns as sw_symbolize; SW_EIO/SW_ENOTELF/SW_EBADELF when the file
 * cannot be used.
 * Thread-safe: yes.  Async-signal-safe: yes (as sw_symbolize).
 */
SW_API int sw_symbolize_file(sw_symbolizer_t *s, const char *path, uint64_t address,
			     struct sw_sym_frame *frames, int max, struct sw_sym_module *module);

/*
 * sw_symbolizer_preload - open every module loaded in this process now
 * (files, debug files, decompressed sections, the address -> unit
 * indexes), so later lookups never open files: the warm-up a crash
 * handler makes at installation.
 * Returns the number of modules, or SW_ENOMEM.
 * Thread-safe: yes.  Async-signal-safe: no (dl_iterate_phdr).
 */
SW_API int sw_symbolizer_preload(sw_symbolizer_t *s);

struct sw_sym_stats {
	uint64_t modules;           /* files opened (modules and debug files) */
	uint64_t units;             /* compilation units in the indexes */
	uint64_t units_parsed;      /* of them, parsed (lazily) */
	uint64_t arena_bytes;       /* bytes mapped by the arena */
	uint64_t capped;            /* lookups shortened by the memory cap */
	uint64_t dwarf_errors;      /* units or line tables rejected as malformed */
	uint64_t reserved[10];
};

/*
 * sw_symbolizer_stats - counters (approximate while other threads work).
 * Returns 0 or SW_EINVAL.  Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API int sw_symbolizer_stats(sw_symbolizer_t *s, struct sw_sym_stats *out);

/*
 * sw_demangle - demangle an Itanium C++ name or a Rust name (legacy and
 * v0) into buf, as c++filt prints it: libiberty's callback demanglers
 * (cplus_demangle_v3_callback, rust_demangle_callback), which allocate
 * nothing.  They keep their work on the stack, about 130 bytes per
 * character of the name, so names longer than 1,024 characters are
 * refused (up to ~128 KiB of stack; the crash handler's alternate stack
 * has 256 KiB).
 * Returns the length written (buf NUL-terminated, truncated to size - 1),
 * or SW_EINVAL when `mangled` is not a mangled name or too long.
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
SW_API int sw_demangle(const char *mangled, char *buf, size_t size);

/* ------------------------------------------------------------------ *
 * Reports for people: the current thread's backtrace, and a crash handler.
 *
 * Format, one line per source frame:
 *   #N  0xPC in FUNCTION+0xOFF at FILE:LINE:COL (MODULE)
 * inlined frames share the PC and say "inlined" instead of the address;
 * unknown functions print the module and its file offset.
 * ------------------------------------------------------------------ */

/*
 * sw_print_backtrace - unwind the calling thread and write the symbolized
 * report to `fd`.  `s` may be NULL: a process-wide symbolizer is made at
 * the first call.
 * Returns the number of frames printed, or a negative SW_E*.
 * Thread-safe: yes.  Async-signal-safe: yes when `s` is not NULL (and
 * preloaded, to avoid file opens).
 */
SW_API int sw_print_backtrace(sw_symbolizer_t *s, int fd);

struct sw_crash_options {
	size_t size;                /* sizeof(struct sw_crash_options) */
	int fd;                     /* where the report goes (2 for stderr) */
	uint32_t flags;             /* reserved, 0 */
	uint64_t reserved[4];
};

/*
 * sw_install_crash_handler - on SIGSEGV, SIGBUS, SIGILL, SIGFPE and
 * SIGABRT, print the signal, the fault address and the symbolized
 * backtrace of the crashing thread to opts->fd, then restore the previous
 * disposition and re-raise.  The calling thread gets an alternate signal
 * stack (256 KiB, mapped here) so a stack overflow is reported too; other
 * threads run the handler on the alternate stack they set up themselves,
 * else on their own stack (the kernel chooses the stack when it delivers
 * the signal).  Preloads every loaded module (sw_symbolizer_preload).
 * `opts` may be NULL (fd 2).
 * Returns 0, SW_EINVAL or SW_ENOMEM.
 * Thread-safe: yes.  Async-signal-safe: no.
 */
SW_API int sw_install_crash_handler(const struct sw_crash_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* STACKWALK_SYMBOLIZE_H */
