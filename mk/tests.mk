# mk/tests.mk: the acceptance programs, built by make (incrementally, in
# parallel) into $(BUILD)/tests/GROUP/..., and run by tests/scripts/GROUP.sh.
# Included from the Makefile; `make tests` builds them with the unit tests.
#
#   make test-progs                 every group
#   make test-progs-jit             one group
#   make TEST_MODE=quick ...        the variants of the quick run (the
#                                   default under SAN=1, as check-san runs)
#
# The lists of variants (VAR := words, one line each) are read by the
# scripts too (tests/lib.sh, t_mkvar): keep them on one line.  A variant
# name is CC-OPT[-fp|-nofp]: the compiler, its -O level, and frame pointers
# kept (-fp) or omitted (-nofp).
#
# Programs still built inside their scripts (they need what exists only at
# test time): cxx_jit (links the LD_PRELOAD interposer and a downloaded
# LLVM libunwind), publishers (gdb/perf runs, -lunwind), debuglink (objcopy
# and strip of the library), install (against an installed tree),
# readme (blocks extracted from README.md), readelf_corpus (the corpus
# itself is what is compared), cfi_tool (its input program is tiny), tsan
# (the library's sources under TSan), warnings, deps (builds of the tree), and
# debuglink's library (stripped and split at test time).

TEST_MODE ?= $(if $(SAN),quick,full)
T := $(BUILD)/tests
T_LIBS := $(STATIC) -ldl -lpthread
# every program depends on the public headers and the library (over-approximate: simple)
T_DEPS := $(wildcard include/*.h include/stackwalk/*.h tests/*.h) $(STATIC)
# the sanitizer flags: the Makefile's set, or the plain pair some groups use
T_SAN_UB := $(if $(SAN),-fsanitize=address$(comma)undefined)
T_SAN_NR := $(if $(SAN),-fsanitize=address$(comma)undefined -fno-sanitize-recover=all)

# variant name -> compiler, C++ compiler, -O level, frame-pointer flag
t_cc  = $(word 1,$(subst -, ,$1))
t_cxx = $(if $(filter clang,$(call t_cc,$1)),clang++,g++)
t_opt = -$(word 2,$(subst -, ,$1))
t_fp  = $(if $(filter fp,$(word 3,$(subst -, ,$1))),-fno-omit-frame-pointer,$(if $(filter nofp,$(word 3,$(subst -, ,$1))),-fomit-frame-pointer))

TEST_PROG_GROUPS := unwind jit limits gdb_names cfi_builder debuglink
.PHONY: test-progs $(addprefix test-progs-,$(TEST_PROG_GROUPS))
test-progs: $(addprefix test-progs-,$(TEST_PROG_GROUPS))
tests: test-progs

# ---------------------------------------------------------------- unwind
# sync: every variant; small: the other programs; async: NAME:SAMPLES[:altstack]
UNWIND_SYNC_full := gcc-O0-fp gcc-O0-nofp gcc-O1-fp gcc-O1-nofp gcc-O2-fp gcc-O2-nofp gcc-O3-fp gcc-O3-nofp gcc-Os-fp gcc-Os-nofp clang-O0-fp clang-O0-nofp clang-O1-fp clang-O1-nofp clang-O2-fp clang-O2-nofp clang-O3-fp clang-O3-nofp clang-Os-fp clang-Os-nofp
UNWIND_SMALL_full := gcc-O0-fp gcc-O2-nofp clang-O1-nofp clang-O3-fp
UNWIND_ASYNC_full := gcc-O2-nofp:100000 clang-O1-fp:20000:altstack
UNWIND_SYNC_quick := gcc-O0-fp gcc-O2-nofp clang-O2-nofp clang-O3-fp
UNWIND_SMALL_quick := gcc-O1-nofp clang-O2-fp
UNWIND_ASYNC_quick := gcc-O1-nofp:5000 clang-O2-fp:2000:altstack

U := $(T)/unwind
U_SRC := tests/unwind
U_DEPS := $(wildcard $(U_SRC)/*.h) $(T_DEPS)
U_SYNC := $(UNWIND_SYNC_$(TEST_MODE))
U_SMALL := $(UNWIND_SMALL_$(TEST_MODE))
U_ASYNC := $(foreach a,$(UNWIND_ASYNC_$(TEST_MODE)),$(firstword $(subst :, ,$a)))
U_SMALL_PROGS := segv noalloc corrupt resume resume_trap
u_cflags = -std=gnu11 -g -Iinclude -I$(U_SRC) $(WARN) $(call t_opt,$1) $(call t_fp,$1) $(T_SAN_NR)

# per variant: the chain library and the dlopen'ed modules of sync, async
# and names_signal
define unwind_base
$(U)/$1/libchain_so.so: $(U_SRC)/chain_so.c $(U_DEPS)
	@mkdir -p $$(dir $$@)
	$(call t_cc,$1) $(call u_cflags,$1) -fPIC -shared $$< -o $$@
$(U)/$1/dl_a.so: $(U_SRC)/chain_dl.c $(U_DEPS)
	@mkdir -p $$(dir $$@)
	$(call t_cc,$1) $(call u_cflags,$1) -fPIC -shared $$< -o $$@
$(U)/$1/dl_b.so: $(U_SRC)/chain_dl.c $(U_DEPS)
	@mkdir -p $$(dir $$@)
	$(call t_cc,$1) $(call u_cflags,$1) -DDL_PAD=48 -fPIC -shared $$< -o $$@
endef

define unwind_sync
test-progs-unwind: $(U)/$1/sync $(U)/$1/dl_a.so $(U)/$1/dl_b.so
$(U)/$1/sync: $(U_SRC)/sync.c $(U_SRC)/chains.c $(U)/$1/libchain_so.so $(U_DEPS)
	$(call t_cc,$1) $(call u_cflags,$1) $(U_SRC)/sync.c $(U_SRC)/chains.c -L$$(@D) -lchain_so \
		-Wl,-rpath,$$(abspath $$(@D)) -rdynamic $(T_LIBS) -o $$@
endef

define unwind_async
test-progs-unwind: $(U)/$1/async $(U)/$1/dl_a.so
$(U)/$1/async: $(U_SRC)/async.c $(U_SRC)/chains.c $(U)/$1/libchain_so.so $(U_DEPS)
	$(call t_cc,$1) $(call u_cflags,$1) $(U_SRC)/async.c $(U_SRC)/chains.c -L$$(@D) -lchain_so \
		-Wl,-rpath,$$(abspath $$(@D)) $(T_LIBS) -o $$@
endef

define unwind_small
test-progs-unwind: $(addprefix $(U)/$1/,$(U_SMALL_PROGS) regs names_signal dl_a.so dl_b.so reload_host.so reload dlrace sources)
$(addprefix $(U)/$1/,$(U_SMALL_PROGS)): $(U)/$1/%: $(U_SRC)/%.c $(U_DEPS)
	@mkdir -p $$(dir $$@)
	$(call t_cc,$1) $(call u_cflags,$1) $$< $(T_LIBS) -o $$@
$(U)/$1/regs_cxx.o: $(U_SRC)/regs_cxx.cc $(U_DEPS)
	@mkdir -p $$(dir $$@)
	$(call t_cxx,$1) -g -Wall -Wextra -Wshadow $(call t_opt,$1) $(call t_fp,$1) $(T_SAN_NR) -c $$< -o $$@
$(U)/$1/regs.o: $(U_SRC)/regs.c $(U_DEPS)
	@mkdir -p $$(dir $$@)
	$(call t_cc,$1) $(call u_cflags,$1) -c $$< -o $$@
$(U)/$1/regs: $(U)/$1/regs.o $(U)/$1/regs_cxx.o
	$(call t_cxx,$1) $(call t_opt,$1) $(call t_fp,$1) $(T_SAN_NR) $$^ $(T_LIBS) -o $$@
$(U)/$1/reload_host.so: $(U_SRC)/reload_host.c $(U_DEPS)
	@mkdir -p $$(dir $$@)
	$(call t_cc,$1) $(call u_cflags,$1) -fPIC -shared $$< -o $$@
$(U)/$1/names_signal $(U)/$1/reload $(U)/$1/dlrace $(U)/$1/sources: $(U)/$1/%: $(U_SRC)/%.c $(U_DEPS)
	@mkdir -p $$(dir $$@)
	$(call t_cc,$1) $(call u_cflags,$1) $$< $(T_LIBS) -o $$@
endef

$(foreach v,$(sort $(U_SYNC) $(U_ASYNC) $(U_SMALL)),$(eval $(call unwind_base,$v)))
$(foreach v,$(U_SYNC),$(eval $(call unwind_sync,$v)))
$(foreach v,$(U_ASYNC),$(eval $(call unwind_async,$v)))
$(foreach v,$(U_SMALL),$(eval $(call unwind_small,$v)))

# the modules replaced at the same address (reload, dlrace) and the CFI
# sources: gcc -O2 -fomit-frame-pointer, so that their call sites share PCs
# and differ in CFA offsets; not instrumented (a gcc ASan module cannot
# load into a clang ASan program)
UM := $(U)/modules
U_MODULES := reload_a.so reload_b.so hdr_a.so hdr_b.so eh_a.so eh_b.so debug_a.so debug_b.so fp.so
test-progs-unwind: $(addprefix $(UM)/,$(U_MODULES))
u_pad = $(if $(filter %_b.so,$1),48,16)
$(UM)/reload_a.so $(UM)/reload_b.so: $(UM)/reload_%.so: $(U_SRC)/chain_dl.c $(U_DEPS)
	@mkdir -p $(dir $@)
	gcc -O2 -fomit-frame-pointer $(if $(filter b,$*),-DDL_PAD=48) -fPIC -shared $< -o $@
$(UM)/hdr_%.so: $(U_SRC)/src_mod.c $(U_DEPS)
	@mkdir -p $(dir $@)
	gcc -O2 -fomit-frame-pointer -DMOD_PAD=$(call u_pad,$@) -fPIC -shared $< -o $@
$(UM)/eh_%.so: $(U_SRC)/src_mod.c $(U_DEPS)
	@mkdir -p $(dir $@)
	gcc -O2 -fomit-frame-pointer -DMOD_PAD=$(call u_pad,$@) -fPIC -shared $< -Wl,--no-eh-frame-hdr -o $@
$(UM)/debug_%.so: $(U_SRC)/src_mod.c $(U_DEPS)
	@mkdir -p $(dir $@)
	gcc -O2 -fomit-frame-pointer -DMOD_PAD=$(call u_pad,$@) -fPIC -shared $< \
		-fno-asynchronous-unwind-tables -fno-unwind-tables -g -o $@
$(UM)/fp.so: $(U_SRC)/src_mod.c $(U_DEPS)
	@mkdir -p $(dir $@)
	gcc -O2 -fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-unwind-tables -g0 \
		-fPIC -shared $< -o $@

# ---------------------------------------------------------------- jit
# -Werror: a warning in a JIT test program fails its tests (as before)
JIT_VARIANTS_full := gcc-O0 gcc-O2 clang-O0 clang-O2
JIT_VARIANTS_quick := gcc-O2 clang-O0
JIT_PROGS := sync async concur bad
J := $(T)/jit
J_SRC := tests/jit
J_DEPS := $(wildcard $(J_SRC)/*.h) $(J_SRC)/jit_common.c $(T_DEPS)
# -O0 keeps frame pointers, -O2 omits them
j_fp = $(if $(filter O0,$(word 2,$(subst -, ,$1))),-fno-omit-frame-pointer,-fomit-frame-pointer)

define jit_variant
test-progs-jit: $(addprefix $(J)/$1/jit_,$(JIT_PROGS))
$(J)/$1/jit_%: $(J_SRC)/jit_%.c $(J_SRC)/emit.c $(J_DEPS)
	@mkdir -p $$(dir $$@)
	$(call t_cc,$1) -std=gnu11 -g -Iinclude -I$(J_SRC) $(WARN) -Werror $(call t_opt,$1) $(call j_fp,$1) \
		$(SANFLAGS) $$< $(J_SRC)/emit.c $(T_LIBS) -o $$@
endef
$(foreach v,$(JIT_VARIANTS_$(TEST_MODE)),$(eval $(call jit_variant,$v)))

# full mode: jit_concur with the library's sources, all under TSan
# (libstackwalk_unwind's own dlclose bracket stays out: the core's is here)
J_TSAN_EH := $(filter-out src/eh/dlclose.c,$(EH_SRCS))
ifeq ($(TEST_MODE),full)
test-progs-jit: $(J)/tsan/jit_concur
$(J)/tsan/jit_concur: $(J_SRC)/jit_concur.c $(J_SRC)/emit.c $(J_DEPS) $(LIB_SRCS) $(LIB_ASM) $(J_TSAN_EH)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -fsanitize=thread -Iinclude -Isrc -I$(J_SRC) $(J_SRC)/jit_concur.c \
		$(J_SRC)/emit.c $(sort $(LIB_SRCS) $(J_TSAN_EH) $(LIB_ASM)) -ldl -lpthread -o $@
endif

# ---------------------------------------------------------------- limits
LIMITS_VARIANTS_full := gcc-O0 gcc-O2 clang-O0 clang-O2
LIMITS_VARIANTS_quick := gcc-O2

define limits_variant
test-progs-limits: $(T)/limits/$1/limits
$(T)/limits/$1/limits: tests/limits/limits.c $(T_DEPS)
	@mkdir -p $$(dir $$@)
	$(call t_cc,$1) $(call t_opt,$1) -std=gnu11 -g $(T_SAN_UB) -Wall -Wextra -Iinclude -Itests -o $$@ $$< $(STATIC) -ldl
endef
$(foreach v,$(LIMITS_VARIANTS_$(TEST_MODE)),$(eval $(call limits_variant,$v)))

# ---------------------------------------------------------------- gdb_names
GDB_NAMES_VARIANTS_full := gcc-O0 gcc-O2 gcc-O2-fp gcc-O3 gcc-Os clang-O0 clang-O2 clang-O2-fp clang-O3
GDB_NAMES_VARIANTS_quick := gcc-O2 clang-O0

define gdb_names_variant
test-progs-gdb_names: $(T)/gdb_names/$1/names
$(T)/gdb_names/$1/names: tests/names/names.c tests/names/checkpoint.h $(T_DEPS)
	@mkdir -p $$(dir $$@)
	$(call t_cc,$1) $(call t_opt,$1) $(call t_fp,$1) -g $(T_SAN_UB) -Iinclude -o $$@ $$< $(STATIC)
endef
$(foreach v,$(GDB_NAMES_VARIANTS_$(TEST_MODE)),$(eval $(call gdb_names_variant,$v)))

# ---------------------------------------------------------------- cfi_builder
test-progs-cfi_builder: $(T)/cfi_builder/builder_readelf
$(T)/cfi_builder/builder_readelf: tests/jit/builder_readelf.c tests/unit/test_cfi_builder.c $(T_DEPS)
	@mkdir -p $(dir $@)
	gcc -std=gnu11 -O1 -g $(if $(SAN),-fsanitize=address$(comma)undefined -fno-omit-frame-pointer) -Iinclude -Isrc \
		-o $@ $< $(STATIC)

# ---------------------------------------------------------------- debuglink
# the program; the library it loads is made, stripped and split by the script
test-progs-debuglink: $(T)/debuglink/main
$(T)/debuglink/main: tests/debuglink/main.c tests/names/checkpoint.h $(T_DEPS)
	@mkdir -p $(dir $@)
	gcc -g $(T_SAN_UB) -Iinclude -o $@ $< $(STATIC) -ldl

# `make check TESTS=...`: the groups named that have programs here
TEST_PROGS_GOAL := $(if $(TESTS),$(addprefix test-progs-,$(filter $(TEST_PROG_GROUPS),$(subst $(comma), ,$(TESTS)))),test-progs)
