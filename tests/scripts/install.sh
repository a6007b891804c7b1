#!/usr/bin/env bash
# `make install PREFIX=...` lays out headers, static and shared libraries,
# the tool and a pkg-config file that a consumer can build against, and the
# shared library needs nothing beyond libc.
#
#   tests/scripts/install.sh BUILD_DIR MODE
# (Its programs are built here, not by make: against the installed tree.)
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
t_init install "$@"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
san=()
cflags=("${SAN_UB[@]}")
[[ -z $t_san ]] || san=(SAN=1)

make -s --no-print-directory install PREFIX="$prefix" BUILD="$build" "${san[@]}" >/dev/null
for f in include/stackwalk.h include/stackwalk/jit.h lib/libstackwalk.a lib/libstackwalk.so lib/libstackwalk.so.0 \
	 lib/pkgconfig/stackwalk.pc bin/stackwalk; do
	check test -e "$prefix/$f"
done
cat >"$prefix/use.c" <<'C'
#include <stackwalk.h>
#include <stdio.h>
int main(void) { puts(sw_strerror(SW_EBADCIE)); return 0; }
C
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
read -r -a pc <<<"$(pkg-config --cflags --libs stackwalk)"
check gcc "${cflags[@]}" "$prefix/use.c" "${pc[@]}" -Wl,-rpath,"$prefix/lib" -o "$prefix/use-shared"
check gcc "${cflags[@]}" "$prefix/use.c" "-I$prefix/include" "$prefix/lib/libstackwalk.a" -o "$prefix/use-static"
check test "$("$prefix/use-shared")" = "CIE pointer does not designate a CIE"
check test "$("$prefix/use-static")" = "CIE pointer does not designate a CIE"
# sw_version() of the installed libraries (shared and static) is the
# version the installed header and the .pc file give: one version, kept in
# include/stackwalk.h
cat >"$prefix/version.c" <<'C'
#include <stackwalk.h>
#include <stdio.h>
int main(void)
{
	uint32_t v = sw_version();
	printf("%u.%u %s\n", (unsigned)(v >> 16), (unsigned)(v & 0xffff),
	       v == SW_VERSION && v == SW_VERSION_ENCODE(SW_VERSION_MAJOR, SW_VERSION_MINOR) ? "same" : "differs");
	return 0;
}
C
hdr=$(sed -n 's/^#define SW_VERSION_M[AI][JN]OR //p' "$prefix/include/stackwalk.h" | paste -sd.)
pcver=$(pkg-config --modversion stackwalk)
check test "$pcver" = "$hdr"
check gcc "${cflags[@]}" "$prefix/version.c" "${pc[@]}" -Wl,-rpath,"$prefix/lib" -o "$prefix/version-shared"
check gcc "${cflags[@]}" "$prefix/version.c" "-I$prefix/include" "$prefix/lib/libstackwalk.a" -o "$prefix/version-static"
check test "$("$prefix/version-shared")" = "$pcver same"
check test "$("$prefix/version-static")" = "$pcver same"
# the shared library's file set: real file, SONAME link, development link
check test -f "$prefix/lib/libstackwalk.so.$hdr" -a ! -L "$prefix/lib/libstackwalk.so.$hdr"
check test "$(readlink "$prefix/lib/libstackwalk.so.0")" = libstackwalk.so.$hdr
check test "$(readlink "$prefix/lib/libstackwalk.so")" = libstackwalk.so.0
check test "$(readelf -d "$prefix/lib/libstackwalk.so.$hdr" | awk '/SONAME/ { print $5 }')" = "[libstackwalk.so.0]"
# the README's way to find the installed library at run time: rpath from
# pkg-config's libdir (without it, and without LD_LIBRARY_PATH, the loader
# does not look in PREFIX/lib)
libdir=$(pkg-config --variable=libdir stackwalk)
check test "$libdir" = "$prefix/lib"
check gcc "${cflags[@]}" "$prefix/use.c" "${pc[@]}" -Wl,-rpath,"$libdir" -o "$prefix/use-rpath"
check test "$("$prefix/use-rpath")" = "CIE pointer does not designate a CIE"
check gcc "${cflags[@]}" "$prefix/use.c" "${pc[@]}" -o "$prefix/use-norpath"
check test "$(LD_LIBRARY_PATH=$libdir "$prefix/use-norpath")" = "CIE pointer does not designate a CIE"
# libstackwalk_unwind has its own pkg-config file; a C++ program built with
# it throws and catches through stackwalk's _Unwind_* (plain build only)
if [ "$mode" != quick ]; then
	check test -e "$prefix/lib/pkgconfig/stackwalk_unwind.pc"
	cat >"$prefix/throw.cc" <<'CC'
#include <stackwalk.h>
#include <cstdio>
#include <dlfcn.h>
#include <stdexcept>
extern "C" int _Unwind_RaiseException(void *);
__attribute__((noinline)) static void thrower(int n) { if (n == 0) throw std::runtime_error("deep"); thrower(n - 1); }
int main()
{
	Dl_info info;
	try { thrower(5); } catch (const std::exception &e) { std::printf("caught %s\n", e.what()); }
	/* the unwinder that ran is stackwalk's */
	if (!dladdr((void *)&_Unwind_RaiseException, &info)) return 1;
	std::printf("%s %s\n", std::strstr(info.dli_fname, "libstackwalk_unwind") ? "stackwalk" : info.dli_fname,
		    sw_strerror(SW_END_OF_STACK) ? "api" : "");
	return 0;
}
CC
	sed -i 's|#include <cstdio>|#include <cstdio>\n#include <cstring>|' "$prefix/throw.cc"
	if read -r -a upc <<<"$(pkg-config --cflags --libs stackwalk_unwind 2>/dev/null)" && ((${#upc[@]})); then
		check g++ "$prefix/throw.cc" -Wl,--no-as-needed "${upc[@]}" -Wl,--as-needed \
			-Wl,-rpath,"$(pkg-config --variable=libdir stackwalk_unwind)" -o "$prefix/throw"
		check test "$("$prefix/throw" | tr '\n' ' ')" = "caught deep stackwalk api "
	else
		check false "pkg-config --libs stackwalk_unwind"
	fi
fi
# libstackwalk_symbolize: its files, its .pc file (Requires: stackwalk),
# shared and static consumers that name their own call site
for f in include/stackwalk/symbolize.h lib/libstackwalk_symbolize.a lib/libstackwalk_symbolize.so \
	 lib/libstackwalk_symbolize.so.0 lib/pkgconfig/stackwalk_symbolize.pc; do
	check test -e "$prefix/$f"
done
check test "$(readelf -d "$prefix/lib/libstackwalk_symbolize.so.0" | awk '/SONAME/ { print $5 }')" = \
	"[libstackwalk_symbolize.so.0]"
cat >"$prefix/sym.c" <<'C'
#include <stackwalk/symbolize.h>
#include <stdio.h>
#include <string.h>
__attribute__((noinline)) static int here(void)
{
	sw_symbolizer_t *s;
	struct sw_sym_frame f[4];
	if (sw_symbolizer_new(NULL, &s) != 0)
		return 1;
	int n = sw_symbolize(s, (uint64_t)(uintptr_t)here + 1, f, 4, NULL);
	const char *file = n >= 1 && f[0].file ? strrchr(f[0].file, '/') : NULL;
	printf("%s %s\n", n >= 1 && f[n - 1].function ? f[n - 1].function : "??", file ? file + 1 : "??");
	sw_symbolizer_free(s);
	return 0;
}
int main(void) { return here(); }
C
read -r -a spc <<<"$(pkg-config --cflags --libs stackwalk_symbolize)"
check gcc -g "${cflags[@]}" "$prefix/sym.c" "${spc[@]}" -Wl,-rpath,"$prefix/lib" -o "$prefix/sym-shared"
check test "$("$prefix/sym-shared")" = "here sym.c"
# the archives named, the .pc file's private libraries (libiberty, zlib,
# zstd, lzma) for the rest: its -l of the shared libraries left out
read -r -a sspc <<<"$(pkg-config --static --libs stackwalk_symbolize |
	tr ' ' '\n' | grep -v -e '^-lstackwalk' -e '^-L' | tr '\n' ' ')"
check gcc -g "${cflags[@]}" "$prefix/sym.c" "-I$prefix/include" "$prefix/lib/libstackwalk_symbolize.a" \
	"$prefix/lib/libstackwalk.a" "${sspc[@]}" -o "$prefix/sym-static"
check test "$("$prefix/sym-static")" = "here sym.c"
# the drop-in nongnu libunwind: its libraries under lib/stackwalk-libunwind
# with nongnu's SONAMEs, its headers, and libunwind.pc selecting them; a
# program built with `pkg-config libunwind` walks its own stack and names
# its frames
lud=$prefix/lib/stackwalk-libunwind
for f in libunwind.so.8 libunwind-x86_64.so.8 libunwind-ptrace.so.0 libunwind-coredump.so.0 \
	 libunwind.so pkgconfig/libunwind.pc pkgconfig/libunwind-ptrace.pc; do
	check test -e "$lud/$f"
done
check test -e "$prefix/include/stackwalk-libunwind/libunwind.h"
check test "$(readelf -d "$lud/libunwind-ptrace.so.0" | awk '/SONAME/ { print $5 }')" = "[libunwind-ptrace.so.0]"
cat >"$prefix/unw.c" <<'C'
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <stdio.h>
#include <string.h>
__attribute__((noinline)) static int here(void)
{
	unw_context_t uc;
	unw_cursor_t c;
	char name[64];
	unw_word_t off;
	int saw_main = 0, n = 0;
	unw_getcontext(&uc);
	if (unw_init_local(&c, &uc) != 0)
		return 1;
	do {
		if (unw_get_proc_name(&c, name, sizeof name, &off) == 0 && !strcmp(name, "main"))
			saw_main = 1;
		n++;
	} while (unw_step(&c) > 0 && n < 64);
	void *pcs[64];
	printf("%s %d\n", saw_main ? "main" : "no-main", unw_backtrace(pcs, 64) >= 2);
	return 0;
}
int main(void) { return here(); }
C
read -r -a upc <<<"$(PKG_CONFIG_PATH=$lud/pkgconfig pkg-config --cflags --libs libunwind)"
check gcc -g "${cflags[@]}" "$prefix/unw.c" "${upc[@]}" -o "$prefix/unw"
check test "$(readelf -d "$prefix/unw" | awk '/NEEDED/ && /libunwind/ { print $5 }')" = "[libunwind.so.8]"
check test "$("$prefix/unw")" = "main 1"
# zero runtime dependencies beyond libc (and the sanitizer runtimes in quick mode)
deps=$(readelf -d "$prefix/lib/libstackwalk.so.0" | awk '/NEEDED/ { print $5 }' | tr -d '[]' | grep -v -e '^libc\.so' -e '^libasan' -e '^libubsan' || true)
check test -z "$deps"
t_finish
