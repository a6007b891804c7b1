# stackwalk — GNU Make, no configure step.
#
#   make demo      build and run the main job
#   make check     install missing test packages, build, run every test
#                  (plain build, then again under ASan+UBSan)
#   make bench     benchmarks, one `name: value unit` line per figure
#   make fuzz      libFuzzer campaigns (clang), fixed time per target
#   make install PREFIX=/usr/local
#
# Variables: CC (gcc), BUILD (build dir), SAN=1 (ASan+UBSan build),
# FUZZ_SECONDS (per target, default 60), TESTS (make check TESTS=jit: only
# these groups, a space or comma list of tests/scripts names and unit tests).

CC      ?= gcc
ifeq ($(origin CC),default)
CC      := gcc
endif
PREFIX  ?= /usr/local
SAN     ?=
BUILD   ?= $(if $(SAN),build/san,build/out)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
comma := ,
SANFLAGS := $(if $(SAN),-fsanitize=address$(comma)undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) $(SANFLAGS) -fPIC -Iinclude -Isrc -MMD -MP
LDFLAGS_ALL := $(SANFLAGS) $(LDFLAGS)

# src/eh is the _Unwind_* library (libstackwalk_unwind), not the core
# per-architecture code lives in src/arch/$(ARCH)/ (only that folder is built)
ARCH    ?= $(shell uname -m)
LIB_SRCS := $(sort $(shell find src -name '*.c' -not -path 'src/eh/*' -not -path 'src/arch/*' \
		-not -path 'src/symbolize/*' -not -path 'src/libunwind/*') \
	$(wildcard src/arch/*.c src/arch/$(ARCH)/*.c))
LIB_ASM  := $(sort $(wildcard src/arch/$(ARCH)/*.S))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(LIB_ASM:%.S=$(BUILD)/%.o)

EH_SRCS  := $(sort $(wildcard src/eh/*.c))
EH_OBJS  := $(EH_SRCS:%.c=$(BUILD)/%.o)

# src/symbolize is libstackwalk_symbolize (stackwalk/symbolize.h): its own
# library on top of libstackwalk, with the dependencies the core must not
# have (zlib, libzstd, liblzma; libiberty's demangler linked in).  It
# compiles its own copy of the ELF reader (hidden, like everything else).
SYM_SRCS := $(sort $(wildcard src/symbolize/*.c)) src/elf/elf.c src/elf/debuglink.c
SYM_OBJS := $(SYM_SRCS:src/%.c=$(BUILD)/sym/%.o)
SYM_LIBS := -lz -lzstd -llzma
LIBIBERTY := $(firstword $(wildcard /usr/lib/$(shell $(CC) -print-multiarch 2>/dev/null)/libiberty.a /usr/lib/libiberty.a) -liberty)

TOOL_SRCS := $(sort $(wildcard tools/*.c))
TOOL_OBJS := $(TOOL_SRCS:%.c=$(BUILD)/%.o)

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# the release version, from the public header (SW_VERSION_MAJOR/MINOR)
SW_VERSION_MAJOR_MINOR := $(shell sed -n 's/^\#define SW_VERSION_M[AI][JN]OR //p' include/stackwalk.h | paste -sd.)

STATIC  := $(BUILD)/libstackwalk.a
SHARED  := $(BUILD)/libstackwalk.so
EH_SHARED := $(BUILD)/libstackwalk_unwind.so
EH_STATIC := $(BUILD)/libstackwalk_unwind.a
TOOL    := $(BUILD)/stackwalk
SYM_STATIC := $(BUILD)/libstackwalk_symbolize.a
SYM_SHARED := $(BUILD)/libstackwalk_symbolize.so

.PHONY: all lib tools tests unit-tests demo check check-plain check-san deps bench fuzz fuzz-replay install clean

all: lib tools

# the packages a build needs (libstackwalk_symbolize's compression
# libraries and libiberty), installed first on a fresh machine (as root;
# else the exact apt-get command is printed); a stamp file records that it
# was done for this build directory
.PHONY: build-deps
build-deps: $(BUILD)/.build-deps
$(BUILD)/.build-deps: mk/deps.sh
	@mkdir -p $(dir $@)
	@./mk/deps.sh build
	@touch $@

# libstackwalk_unwind is built in the plain build only: like libgcc_s it is
# never instrumented (an ASan-instrumented unwinder leaves poisoned frames
# behind every landing pad it installs); the sanitizer pass runs its
# instrumented test programs against the plain build's library.
lib: $(STATIC) $(SHARED) $(SYM_STATIC) $(SYM_SHARED) $(if $(SAN),,$(EH_SHARED) $(EH_STATIC))
tools: $(TOOL)
tests: $(UNIT_BINS)
unit-tests: $(UNIT_BINS)

# The signal-safe paths' stack bound (stackwalk.h, tests/scripts/stack.sh):
# gcc writes each object's frame sizes and call edges next to it (.ci), and
# warns on any single frame over STACK_FRAME_MAX on the unwind path.  Plain
# gcc build only (sanitizer redzones inflate frames).
CC_IS_GCC := $(shell $(CC) --version 2>/dev/null | grep -q 'Free Software Foundation' && echo 1)
STACK_FRAME_MAX := 2048
STACK_FLAGS := $(if $(SAN),,$(if $(CC_IS_GCC),-fcallgraph-info=su))
$(filter $(BUILD)/src/dwarf/% $(BUILD)/src/unwind/% $(BUILD)/src/arch/% $(BUILD)/src/table/%,$(LIB_OBJS)): \
	STACK_FLAGS += $(if $(SAN),,$(if $(CC_IS_GCC),-Wstack-usage=$(STACK_FRAME_MAX),-Wframe-larger-than=$(STACK_FRAME_MAX)))

# The libraries' objects hide everything but what the public headers mark
# SW_API (and the few contract symbols mk/stackwalk.map lists); the static
# archive is linked into tests and tools that use internals, which
# visibility does not affect.
$(LIB_OBJS) $(EH_OBJS) $(SYM_OBJS): ALL_CFLAGS += -fvisibility=hidden

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(STACK_FLAGS) -c $< -o $@

$(BUILD)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# mk/stackwalk.map: the public API under the version node STACKWALK_0.1
$(SHARED): $(LIB_OBJS) mk/stackwalk.map
	$(CC) -shared -Wl,-soname,libstackwalk.so.0 -Wl,--version-script=mk/stackwalk.map \
		$(LDFLAGS_ALL) -o $@ $(LIB_OBJS)

# libstackwalk_symbolize (mk/symbolize.map: its public API, node
# STACKWALK_SYMBOLIZE_0.1); needs libstackwalk.so.0 (RUNPATH $ORIGIN).
$(BUILD)/sym/%.o: src/%.c | $(BUILD)/.build-deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(SYM_STATIC): $(SYM_OBJS)
	rm -f $@
	ar rcs $@ $^

$(SYM_SHARED): $(SYM_OBJS) $(SHARED) $(BUILD)/libstackwalk.so.0 mk/symbolize.map
	$(CC) -shared -Wl,-soname,libstackwalk_symbolize.so.0 -Wl,--version-script=mk/symbolize.map \
		$(LDFLAGS_ALL) -Wl,-rpath,'$$ORIGIN' -o $@ $(SYM_OBJS) $(SHARED) $(LIBIBERTY) $(SYM_LIBS)
	ln -sf libstackwalk_symbolize.so $@.0

# libstackwalk_unwind: libgcc_s's _Unwind_* ABI (with its symbol versions)
# on stackwalk's public API; LD_PRELOAD it or link -lstackwalk_unwind.  The
# .so needs libstackwalk.so.0 (found next to it: RUNPATH $ORIGIN, in the
# build tree and installed), so a process that loads both has one registry
# and one rule cache.  The .a holds the _Unwind_* objects alone (not
# dlclose.c: libstackwalk.a has the hook): link it before libstackwalk.a
# (stackwalk_unwind.pc: Requires stackwalk).
$(BUILD)/libstackwalk.so.0: $(SHARED)
	ln -sf libstackwalk.so $@

$(EH_SHARED): $(EH_OBJS) $(SHARED) $(BUILD)/libstackwalk.so.0 src/eh/libgcc.map
	$(CC) -shared -Wl,-soname,libstackwalk_unwind.so.1 -Wl,--version-script=src/eh/libgcc.map \
		$(LDFLAGS_ALL) -Wl,-rpath,'$$ORIGIN' -o $@.1 $(EH_OBJS) $(SHARED) -ldl -lpthread
	ln -sf libstackwalk_unwind.so.1 $@

$(EH_STATIC): $(filter-out $(BUILD)/src/eh/dlclose.o,$(EH_OBJS))
	rm -f $@
	ar rcs $@ $^

# exports: what src/eh marks (visibility attribute), versioned by libgcc.map
# -fno-plt: every step of a throw calls into libstackwalk.so (sw_step,
# sw_get_reg, ...); through the GOT directly, not a PLT stub
$(EH_OBJS): ALL_CFLAGS += -fvisibility=hidden -fno-plt

$(TOOL): $(TOOL_OBJS) $(SYM_STATIC) $(STATIC)
	$(CC) $(LDFLAGS_ALL) -o $@ $(TOOL_OBJS) $(SYM_STATIC) $(STATIC) $(LIBIBERTY) $(SYM_LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/harness.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_ALL) -o $@ $< $(STATIC)

# unit tests of the symbolizer (tests/unit/test_sym_*.c) link its archive
$(BUILD)/tests/test_sym_%: tests/unit/test_sym_%.c tests/harness.h $(SYM_STATIC) $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_ALL) -o $@ $< $(SYM_STATIC) $(STATIC) $(LIBIBERTY) $(SYM_LIBS)

# the compiler's dependency lists (-MMD -MP) for everything built from C
# or C++ sources: objects, unit tests, demo programs, the interposer
-include $(LIB_OBJS:.o=.d) $(EH_OBJS:.o=.d) $(SYM_OBJS:.o=.d) $(TOOL_OBJS:.o=.d) $(UNIT_BINS:=.d) \
	$(addprefix $(BUILD)/demo/,backtrace.d jit_demo.d jit_demo_eh.d) $(FINDFDE:.so=.d)

# ---- libgcc publisher / interposer
# $(BUILD)/libstackwalk_findfde.so (interpose/find_fde.c): the opt-in
# _Unwind_Find_FDE that answers JIT PCs from the registry (LD_PRELOAD it,
# or link it before libgcc_s).  Not part of libstackwalk.a/.so and not
# linked against it: it finds the process's one registry with dlsym
# (src/jit/eh_find.h).  Built without sanitizers even when SAN=1, so it
# can be preloaded into any program.  Installed next to libstackwalk.
FINDFDE := $(BUILD)/libstackwalk_findfde.so

lib: $(FINDFDE)

$(FINDFDE): interpose/find_fde.c src/jit/eh_find.h include/stackwalk.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(WARN) $(CFLAGS) -fPIC -Iinclude -Isrc -MMD -MP -MF $(@:.so=.d) -shared $(LDFLAGS) -o $@ $<

.PHONY: install-findfde
install: install-findfde
install-findfde: $(FINDFDE)
	install -d $(DESTDIR)$(PREFIX)/lib
	install -m 755 $(FINDFDE) $(DESTDIR)$(PREFIX)/lib/
# ---- end of libgcc publisher / interposer

# ---------------------------------------------------------------- libunwind
# nongnu libunwind's ABI on stackwalk (src/libunwind/internal.h): drop-in
# libraries with nongnu's SONAMEs in BUILD/libunwind/, so that
# LD_LIBRARY_PATH=BUILD/libunwind runs a program linked against nongnu
# libunwind on stackwalk; the dev links (libunwind.so, ...) let tests link
# -lunwind against them.  Each needs libstackwalk.so.0 one folder up
# (RUNPATH $ORIGIN/..), installed as PREFIX/lib/stackwalk-libunwind/.
LU := $(BUILD)/libunwind
LU_SRCS := $(sort $(wildcard src/libunwind/*.c src/libunwind/$(ARCH)/*.c))
LU_ASM := $(sort $(wildcard src/libunwind/$(ARCH)/*.S))
LU_OBJS := $(LU_SRCS:src/%.c=$(BUILD)/lu/%.o) $(LU_ASM:src/%.S=$(BUILD)/lu/%.o)
LU_PT_OBJS := $(patsubst src/%.c,$(BUILD)/lu/%.o,$(sort $(wildcard src/libunwind/ptrace/*.c)))
LU_CD_OBJS := $(patsubst src/%.c,$(BUILD)/lu/%.o,$(sort $(wildcard src/libunwind/coredump/*.c)))
LU_LIBS := $(LU)/libunwind.so.8 $(LU)/libunwind-x86_64.so.8 $(LU)/libunwind-ptrace.so.0 \
	$(LU)/libunwind-coredump.so.0
LU_LINK = -Wl,--version-script=src/libunwind/libunwind.map $(LDFLAGS_ALL) \
	-Wl,-rpath,'$$ORIGIN:$$ORIGIN/..'

lib: $(LU_LIBS)

$(BUILD)/lu/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc/libunwind/include -fvisibility=hidden -c $< -o $@

$(BUILD)/lu/%.o: src/%.S
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc/libunwind/include -c $< -o $@

$(LU)/libunwind.so.8: $(LU_OBJS) $(SHARED) $(BUILD)/libstackwalk.so.0 src/libunwind/libunwind.map
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libunwind.so.8 $(LU_LINK) -o $@ $(LU_OBJS) $(SHARED) -ldl -lpthread
	ln -sf libunwind.so.8 $(LU)/libunwind.so

# nongnu's libunwind-x86_64.so.8 holds the generic (_Ux86_64_*) functions;
# ours are in libunwind.so.8, which this one needs (the loader looks an
# unversioned name up in every loaded library)
$(LU)/libunwind-x86_64.so.8: $(LU)/libunwind.so.8
	$(CC) -shared -Wl,-soname,libunwind-x86_64.so.8 $(LDFLAGS_ALL) -Wl,-rpath,'$$ORIGIN' \
		-o $@ -Wl,--no-as-needed $(LU)/libunwind.so.8
	ln -sf libunwind-x86_64.so.8 $(LU)/libunwind-x86_64.so
	ln -sf libunwind-x86_64.so $(LU)/libunwind-generic.so

$(LU)/libunwind-ptrace.so.0: $(LU_PT_OBJS) $(LU)/libunwind.so.8 src/libunwind/libunwind.map
	$(CC) -shared -Wl,-soname,libunwind-ptrace.so.0 $(LU_LINK) -o $@ $(LU_PT_OBJS) \
		-Wl,--no-as-needed $(LU)/libunwind.so.8 $(SHARED)
	ln -sf libunwind-ptrace.so.0 $(LU)/libunwind-ptrace.so

$(LU)/libunwind-coredump.so.0: $(LU_CD_OBJS) $(LU)/libunwind.so.8 src/libunwind/libunwind.map
	$(CC) -shared -Wl,-soname,libunwind-coredump.so.0 $(LU_LINK) -o $@ $(LU_CD_OBJS) \
		-Wl,--no-as-needed $(LU)/libunwind.so.8 $(SHARED)
	ln -sf libunwind-coredump.so.0 $(LU)/libunwind-coredump.so

-include $(LU_OBJS:.o=.d) $(LU_PT_OBJS:.o=.d) $(LU_CD_OBJS:.o=.d)

.PHONY: install-libunwind
install: install-libunwind
install-libunwind: $(LU_LIBS)
	install -d $(DESTDIR)$(PREFIX)/lib/stackwalk-libunwind $(DESTDIR)$(PREFIX)/include/stackwalk-libunwind
	install -m 644 src/libunwind/include/*.h $(DESTDIR)$(PREFIX)/include/stackwalk-libunwind/
	install -m 755 $(LU_LIBS) $(DESTDIR)$(PREFIX)/lib/stackwalk-libunwind/
	cd $(DESTDIR)$(PREFIX)/lib/stackwalk-libunwind && ln -sf libunwind.so.8 libunwind.so && \
		ln -sf libunwind-x86_64.so.8 libunwind-x86_64.so && \
		ln -sf libunwind-x86_64.so libunwind-generic.so && \
		ln -sf libunwind-ptrace.so.0 libunwind-ptrace.so && \
		ln -sf libunwind-coredump.so.0 libunwind-coredump.so
	install -d $(DESTDIR)$(PREFIX)/lib/stackwalk-libunwind/pkgconfig
	for p in libunwind:-lunwind libunwind-generic:-lunwind-generic \
		 libunwind-ptrace:'-lunwind-ptrace -lunwind-generic' libunwind-coredump:'-lunwind-coredump -lunwind-generic'; do \
		$(PC_SED) -e "s|@NAME@|$${p%%:*}|" -e "s|@LIBS@|$${p#*:}|" mk/libunwind.pc.in \
			> $(DESTDIR)$(PREFIX)/lib/stackwalk-libunwind/pkgconfig/$${p%%:*}.pc; \
	done

# ---------------------------------------------------------------- demo
demo: build-deps
	@$(MAKE) --no-print-directory demo-run

.PHONY: demo-run
demo-run: $(TOOL) $(BUILD)/demo/backtrace $(BUILD)/demo/jit_demo $(BUILD)/demo/jit_demo_eh
	@./demo/run.sh $(TOOL) $(BUILD)/demo/backtrace $(BUILD)/demo/jit_demo

$(BUILD)/demo/backtrace: demo/backtrace.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_ALL) -o $@ $< $(STATIC)

# the JIT demo is C++ (its exception crosses generated frames)
CXX ?= g++
$(BUILD)/demo/jit_demo: demo/jit_demo.cc $(STATIC)
	@mkdir -p $(dir $@)
	$(CXX) -std=gnu++17 -Wall -Wextra -Wshadow $(CFLAGS) $(SANFLAGS) -Iinclude -MMD -MP -o $@ $< $(STATIC) $(LDFLAGS_ALL)

# the same program on libstackwalk_unwind (its _Unwind_*; sw_* from -lstackwalk), for
# the exception part without any publisher
$(BUILD)/demo/jit_demo_eh: demo/jit_demo.cc $(EH_SHARED)
	@mkdir -p $(dir $@)
	$(CXX) -std=gnu++17 -Wall -Wextra -Wshadow $(CFLAGS) -Iinclude -MMD -MP -o $@ $< \
		-L$(BUILD) -Wl,--no-as-needed -lstackwalk_unwind -Wl,--as-needed -lstackwalk \
		-Wl,-rpath,$(abspath $(BUILD)) -ldl

# ---------------------------------------------------------------- tests
deps:
	@./mk/deps.sh

# The README's test command.  Plain build first, then ASan+UBSan; both run
# even when the first fails, and the closing line sums them (a run that
# could not build leaves no results file and counts as failed).
check: deps
	@rm -f build/out/test-results.txt build/san/test-results.txt
	-$(MAKE) --no-print-directory check-plain
	-$(MAKE) --no-print-directory check-san
	@./tests/summary.sh build/out/test-results.txt build/san/test-results.txt

# The acceptance programs (mk/tests.mk) are built with -k and their errors
# ignored: a program that does not build fails its own tests only.
check-plain: all unit-tests
	$(if $(TEST_PROGS_GOAL),-@$(MAKE) --no-print-directory -k $(TEST_PROGS_GOAL))
	@TESTS='$(TESTS)' ./tests/run.sh $(BUILD) full

check-san:
	$(MAKE) --no-print-directory SAN=1 all unit-tests
	$(if $(TEST_PROGS_GOAL),-@$(MAKE) --no-print-directory SAN=1 -k $(TEST_PROGS_GOAL))
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		TESTS='$(TESTS)' ./tests/run.sh build/san quick

include mk/tests.mk

# ---------------------------------------------------------------- bench
bench: all
	@./bench/run.sh $(BUILD)

# ---------------------------------------------------------------- fuzz
FUZZ_SECONDS ?= 60
fuzz: deps
	@./fuzz/run.sh campaign $(FUZZ_SECONDS)

fuzz-replay:
	@./fuzz/run.sh replay

# ---------------------------------------------------------------- install
# Shared libraries as distributions lay them out: the real file
# libstackwalk.so.$(VERSION), the SONAME link libstackwalk.so.0 the loader
# opens, the development link libstackwalk.so the linker finds.  The .pc
# files give -L/-I and `libdir` (for -Wl,-rpath: PREFIX/lib is not on the
# loader's default path unless ldconfig knows it; README, "Installing").
VERSION := $(SW_VERSION_MAJOR_MINOR)
PC_SED = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g'
install: all
	install -d $(DESTDIR)$(PREFIX)/include/stackwalk $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/stackwalk.h $(DESTDIR)$(PREFIX)/include/
	if [ -d include/stackwalk ]; then cp -r include/stackwalk/. $(DESTDIR)$(PREFIX)/include/stackwalk/; fi
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libstackwalk.so.$(VERSION)
	ln -sf libstackwalk.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libstackwalk.so.0
	ln -sf libstackwalk.so.0 $(DESTDIR)$(PREFIX)/lib/libstackwalk.so
	$(PC_SED) mk/stackwalk.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/stackwalk.pc
	install -m 644 $(SYM_STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SYM_SHARED) $(DESTDIR)$(PREFIX)/lib/libstackwalk_symbolize.so.$(VERSION)
	ln -sf libstackwalk_symbolize.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libstackwalk_symbolize.so.0
	ln -sf libstackwalk_symbolize.so.0 $(DESTDIR)$(PREFIX)/lib/libstackwalk_symbolize.so
	$(PC_SED) mk/stackwalk_symbolize.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/stackwalk_symbolize.pc
ifeq ($(SAN),)
	install -m 644 $(EH_STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(EH_SHARED).1 $(DESTDIR)$(PREFIX)/lib/
	ln -sf libstackwalk_unwind.so.1 $(DESTDIR)$(PREFIX)/lib/libstackwalk_unwind.so
	$(PC_SED) mk/stackwalk_unwind.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/stackwalk_unwind.pc
endif
	install -m 755 $(TOOL) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build
