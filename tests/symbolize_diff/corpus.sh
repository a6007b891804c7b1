# shellcheck shell=bash
# tests/symbolize_diff/corpus.sh: the binaries tests/scripts/symbolize_diff.sh
# and bench/symbolize.sh symbolize, built once and kept (sourced, not run).
#
#   . tests/symbolize_diff/corpus.sh
#   corpus_init DIR        # where the binaries go (BUILD_DIR/tests/symbolize_diff)
#   corpus_stl             # DIR/stl.{gcc,clang}
#   corpus_sqlite [CC.V..] # DIR/sqlite.{gcc,clang}.dw{4,5} (needs npm once)
#   corpus_variants        # DIR/sqlite.gcc.dw5.{debuglink,zstd,minidebuginfo}
#   corpus_libc            # sets $corpus_libc (the file) and $corpus_libc_debug
#   corpus_addrs BIN N     # DIR/addrs/NAME.N: N instruction addresses of BIN
#
# Each function returns 1 with a message on stderr ("corpus: ...") when it
# cannot make its part; a part already there is not rebuilt (delete DIR to
# rebuild).  Every binary is written under a temporary name and renamed,
# so an interrupted build leaves nothing half made.
#
# The SQLite amalgamation comes from the npm package better-sqlite3@12
# (package/deps/sqlite3/sqlite3.c), fetched with `npm pack` into the cache
# directory $SW_CACHE_DIR (default: build/cache of the repository), which
# the test and the benchmark share across build directories.

corpus_src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus_root=$(cd "$corpus_src/../.." && pwd)
: "${SW_CACHE_DIR:=$corpus_root/build/cache}"

corpus_init() {
	corpus_dir=$1
	mkdir -p "$corpus_dir" "$corpus_dir/addrs"
	corpus_dir=$(cd "$corpus_dir" && pwd)
}

corpus_msg() {
	echo "corpus: $*" >&2
}

# ---------------------------------------------------------------- STL program
corpus_stl() {
	local cc out
	for cc in gcc clang; do
		out=$corpus_dir/stl.$cc
		[[ -x $out ]] && continue
		local cxx=g++
		[[ $cc == clang ]] && cxx=clang++
		cp "$corpus_src/stl_heavy.cc" "$corpus_dir/stl_heavy.cc"
		# compiled in DIR from a relative name: the DWARF's paths are
		# DIR/stl_heavy.cc for both compilers
		(cd "$corpus_dir" && nice "$cxx" -std=gnu++17 -O2 -g -o "stl.$cc.tmp" stl_heavy.cc) ||
			{ corpus_msg "$cxx failed on stl_heavy.cc"; return 1; }
		mv "$corpus_dir/stl.$cc.tmp" "$out"
	done
}

# ---------------------------------------------------------------- SQLite
# corpus_sqlite_source: DIR/sqlite3.c from the cached better-sqlite3 tarball
corpus_sqlite_source() {
	[[ -s $corpus_dir/sqlite3.c ]] && return 0
	local tgz
	mkdir -p "$SW_CACHE_DIR"
	tgz=$(find "$SW_CACHE_DIR" -maxdepth 1 -name 'better-sqlite3-12.*.tgz' | sort -V | tail -n 1)
	if [[ -z $tgz ]]; then
		command -v npm >/dev/null || { corpus_msg "npm is not installed: cannot fetch better-sqlite3@12 (SQLite)"; return 1; }
		corpus_msg "fetching better-sqlite3@12 with npm pack into $SW_CACHE_DIR"
		if ! (cd "$SW_CACHE_DIR" && timeout 300 npm pack --silent better-sqlite3@12 >/dev/null 2>"$SW_CACHE_DIR/npm.log"); then
			corpus_msg "npm pack better-sqlite3@12 failed (no network or registry?):"
			sed 's/^/corpus:   /' "$SW_CACHE_DIR/npm.log" | tail -n 5 >&2
			return 1
		fi
		tgz=$(find "$SW_CACHE_DIR" -maxdepth 1 -name 'better-sqlite3-12.*.tgz' | sort -V | tail -n 1)
		[[ -n $tgz ]] || { corpus_msg "npm pack left no better-sqlite3-12.*.tgz in $SW_CACHE_DIR"; return 1; }
	fi
	tar -xzf "$tgz" -C "$corpus_dir" --strip-components=3 package/deps/sqlite3/sqlite3.c package/deps/sqlite3/sqlite3.h ||
		{ corpus_msg "$tgz has no package/deps/sqlite3/sqlite3.c"; return 1; }
	cp "$corpus_src/sqlite_main.c" "$corpus_dir/sqlite_main.c"
}

# corpus_sqlite_one CC DWARF: DIR/sqlite.CC.dwDWARF
corpus_sqlite_one() {
	local cc=$1 v=$2 out=$corpus_dir/sqlite.$1.dw$2
	(cd "$corpus_dir" && nice "$cc" -std=gnu11 -O2 -g -gdwarf-"$v" -DSQLITE_THREADSAFE=0 \
		-DSQLITE_OMIT_LOAD_EXTENSION -o "sqlite.$cc.dw$v.tmp" sqlite3.c sqlite_main.c -lm) \
		>"$corpus_dir/sqlite.$cc.dw$v.log" 2>&1 ||
		{ corpus_msg "$cc -gdwarf-$v failed on sqlite3.c (see $corpus_dir/sqlite.$cc.dw$v.log)"; return 1; }
	mv "$corpus_dir/sqlite.$cc.dw$v.tmp" "$out"
}

# corpus_sqlite [CC.V...]: the SQLite programs (default all four: gcc.5
# gcc.4 clang.5 clang.4), at most two compilers at a time (the machine has
# two cores)
corpus_sqlite() {
	corpus_sqlite_source || return 1
	local todo=() cv pids=() rc=0 p want=("$@")
	((${#want[@]})) || want=(gcc.5 gcc.4 clang.5 clang.4)
	for cv in "${want[@]}"; do
		[[ -x $corpus_dir/sqlite.${cv%.*}.dw${cv#*.} ]] || todo+=("$cv")
	done
	((${#todo[@]})) || return 0
	corpus_msg "building ${#todo[@]} SQLite programs (-O2 -g; two at a time, a minute or two each)"
	for cv in "${todo[@]}"; do
		if ((${#pids[@]} == 2)); then
			wait "${pids[0]}" || rc=1
			pids=("${pids[@]:1}")
		fi
		corpus_sqlite_one "${cv%.*}" "${cv#*.}" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || rc=1
	done
	return $rc
}

# ---------------------------------------------------------------- variants
# of DIR/sqlite.gcc.dw5:
#   .debuglink       stripped of its DWARF, which lies in
#                    sqlite.gcc.dw5.debuglink.debug, reached through
#                    .gnu_debuglink
#   .zstd            debug sections compressed with zstd (SHF_COMPRESSED)
#   .minidebuginfo   everything stripped but .gnu_debugdata: an xz-compressed
#                    ELF holding .symtab's function symbols that .dynsym
#                    lacks (the recipe Fedora uses, gdb manual "MiniDebugInfo")
corpus_variants() {
	local base=$corpus_dir/sqlite.gcc.dw5 d
	[[ -x $base ]] || { corpus_msg "no $base"; return 1; }
	d=$base.debuglink
	if [[ ! -x $d || ! -s $d.debug ]]; then
		objcopy --only-keep-debug "$base" "$d.debug" &&
		cp "$base" "$d.tmp" && strip -g "$d.tmp" &&
		# run in DIR: the link records the debug file's base name
		(cd "$corpus_dir" && objcopy --add-gnu-debuglink="$(basename "$d.debug")" "$(basename "$d.tmp")") &&
		mv "$d.tmp" "$d" || { corpus_msg "making $d failed"; return 1; }
	fi
	d=$base.zstd
	if [[ ! -x $d ]]; then
		objcopy --compress-debug-sections=zstd "$base" "$d.tmp" && mv "$d.tmp" "$d" ||
			{ corpus_msg "objcopy --compress-debug-sections=zstd failed"; return 1; }
	fi
	d=$base.minidebuginfo
	if [[ ! -x $d ]]; then
		local w=$corpus_dir/mdi.tmp
		rm -rf "$w" && mkdir -p "$w"
		# function symbols of .symtab that .dynsym does not have already
		nm -D --format=posix --defined-only "$base" | awk '{print $1}' | sort -u >"$w/dynsyms"
		nm --format=posix --defined-only "$base" | awk '$2 == "T" || $2 == "t" {print $1}' | sort -u >"$w/funcsyms"
		comm -13 "$w/dynsyms" "$w/funcsyms" >"$w/keep"
		objcopy --only-keep-debug "$base" "$w/debug" &&
		objcopy -S --remove-section .gdb_index --remove-section .comment \
			--keep-symbols="$w/keep" "$w/debug" "$w/mini" &&
		xz -z -k "$w/mini" &&
		cp "$base" "$w/bin" && strip --strip-all -R .comment "$w/bin" &&
		objcopy --add-section .gnu_debugdata="$w/mini.xz" "$w/bin" &&
		mv "$w/bin" "$d" || { corpus_msg "making $d failed"; return 1; }
		rm -rf "$w"
	fi
}

# ---------------------------------------------------------------- libc
# Debian's libc.so.6 and its libc6-dbg debug file (found by build-id)
corpus_libc() {
	local id
	corpus_libc=$(readlink -f /lib/x86_64-linux-gnu/libc.so.6)
	[[ -r $corpus_libc ]] || { corpus_msg "no /lib/x86_64-linux-gnu/libc.so.6"; return 1; }
	id=$(readelf -n "$corpus_libc" | awk '/Build ID:/ {print $3; exit}')
	corpus_libc_debug=/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug
	[[ -n $id && -r $corpus_libc_debug ]] ||
		{ corpus_msg "no debug file for $corpus_libc (build-id ${id:-none}): install libc6-dbg (make deps)"; return 1; }
}

# ---------------------------------------------------------------- addresses
# corpus_addrs BIN N [NAME]: prints the path of DIR/addrs/NAME.N, N
# instruction starts of BIN's .text (objdump -d), picked with a fixed seed
corpus_addrs() {
	local bin=$1 n=$2 name=${3:-$(basename "$1")}
	local f=$corpus_dir/addrs/$name.$n
	if [[ ! -s $f ]]; then
		objdump -d --no-show-raw-insn -j .text "$bin" |
			python3 "$corpus_src/pick_addrs.py" "$n" >"$f.tmp" &&
			[[ -s $f.tmp ]] && mv "$f.tmp" "$f" ||
			{ corpus_msg "picking addresses in $bin failed"; rm -f "$f.tmp"; return 1; }
	fi
	echo "$f"
}
