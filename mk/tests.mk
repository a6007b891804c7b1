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
# and strip of the built library), install (against an installed tree),
# readme (blocks extracted from README.md), readelf_corpus (the corpus
# itself is what is compared), cfi_builder, cfi_tool, tsan, warnings, deps.

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

TEST_PROG_GROUPS := 
.PHONY: test-progs $(addprefix test-progs-,$(TEST_PROG_GROUPS))
test-progs: $(addprefix test-progs-,$(TEST_PROG_GROUPS))
tests: test-progs


# `make check TESTS=...`: the groups named that have programs here
TEST_PROGS_GOAL := $(if $(TESTS),$(addprefix test-progs-,$(filter $(TEST_PROG_GROUPS),$(subst $(comma), ,$(TESTS)))),test-progs)
