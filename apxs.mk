# Build, test and run mod_scaisend_domains.
#
#   make -f apxs.mk            build the module (default target)
#   make -f apxs.mk deps       install missing Debian packages (build/packages.txt)
#   make -f apxs.mk unit       build and run the C unit tests (t/unit/test_*.c)
#                              and the RFC 7208 syntax comparison (t/unit/rfc7208.py)
#   make -f apxs.mk test       deps + build + unit + the Apache::Test suite
#   make -f apxs.mk run        deps + build + a local dev instance (build/run-dev)
#   make -f apxs.mk bench      benchmark against the dev instance (build/bench-get-domain)
#   make -f apxs.mk bench-pg   100,000 domains: reads on PostgreSQL vs SQLite (build/bench-pg)
#   make -f apxs.mk clean      remove build products
#
#   SANITIZE=1 (with build, unit, test): the module and the unit tests built
#   with AddressSanitizer and UndefinedBehaviorSanitizer into
#   build/out/sanitize/ (the normal build is not touched); test then runs
#   the SQLite suite with that module in httpd (build/sanitize-httpd).
#   A plain `test` ends with `SANITIZE=1 test`.

APXS    ?= apxs
CC      ?= gcc
PERL    ?= perl
MOD     := mod_scaisend_domains
SRCDIR  := $(MOD)
OUT     := build/out

SRCS      = $(sort $(wildcard $(SRCDIR)/*.c))
HDRS      = $(wildcard $(SRCDIR)/*.h)
CORE_SRCS = $(sort $(wildcard $(SRCDIR)/ssd_*.c))
SO        := $(SRCDIR)/.libs/$(MOD).so
SANITIZE  ?= 0
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -g -O1
ifeq ($(SANITIZE),1)
OUT       := build/out/sanitize
SO        := $(OUT)/$(MOD).so
endif

WARN      := -std=gnu99 -Wall -Wextra -Werror
PKGS      := openssl json-c libpsl libidn2 ldns apr-1 apr-util-1
# Recursive (=) so pkg-config runs after `deps` has installed what it needs.
DEP_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null || \
                 { apr-1-config --includes --cppflags; apu-1-config --includes; })
DEP_LIBS   = -lssl -lcrypto -ljson-c -lpsl -lidn2 -lldns -laprutil-1 -lapr-1

UNIT_SRCS = $(sort $(wildcard t/unit/test_*.c))
UNIT_BINS = $(patsubst t/unit/%.c,$(OUT)/unit/%,$(UNIT_SRCS))
UNIT_HDRS = $(wildcard t/unit/*.h)
# The SPF parser against the OpenSPF RFC 7208 suite (python3-spf): the
# driver feeds the suite's records to this filter (not test_*: it reads stdin).
SPF_SYNTAX = $(OUT)/unit/spf_syntax
PYTHON3   ?= /usr/bin/python3

.PHONY: all build deps unit test run bench bench-pg clean
# keep the unit tests' object files (no "rm" after the test summary)
.SECONDARY:
.DEFAULT_GOAL := build

all: build

build: $(SO)

ifeq ($(SANITIZE),1)
# Not apxs: libtool would put the sanitized objects next to the normal ones.
# The flags apxs would add (httpd's includes and defines), plus the sanitizers.
APXS_CPPFLAGS = $(shell $(APXS) -q EXTRA_CPPFLAGS) -I$(shell $(APXS) -q INCLUDEDIR)
MOD_OBJS = $(patsubst $(SRCDIR)/%.c,$(OUT)/mod/%.o,$(SRCS))

$(OUT)/mod/%.o: $(SRCDIR)/%.c $(HDRS) apxs.mk
	@mkdir -p $(@D)
	$(CC) $(WARN) $(SAN_FLAGS) -fPIC $(APXS_CPPFLAGS) -I$(SRCDIR) $(DEP_CFLAGS) -c -o $@ $<

$(SO): $(MOD_OBJS) $(OUT)/sources.list
	$(CC) -shared $(SAN_FLAGS) -o $@ $(MOD_OBJS) $(DEP_LIBS)
	@! nm -D --undefined-only $@ | grep -w 'ssd_[a-z_0-9]*' \
	    || { echo "undefined module symbols in $@" >&2; rm -f $@; exit 1; }
else
# apxs/libtool names the library after -o; everything is recompiled when any
# source or header changes (or when a source file appears or disappears).
$(SO): $(SRCS) $(HDRS) $(OUT)/sources.list apxs.mk
	@test -n "$(SRCS)" || { echo "no sources in $(SRCDIR)/" >&2; exit 1; }
	@echo "apxs -c $(SRCDIR)/*.c -> $@ (log: $(OUT)/apxs.log)"
	@$(APXS) -c -o $(SRCDIR)/$(MOD).la \
	    $(addprefix -Wc$(comma),$(WARN)) \
	    -I$(SRCDIR) $(DEP_CFLAGS) \
	    $(SRCS) $(DEP_LIBS) > $(OUT)/apxs.log 2>&1 \
	    || { grep -E 'error:|warning:' $(OUT)/apxs.log || cat $(OUT)/apxs.log; exit 1; }
	@# a module-internal symbol left undefined would only fail when httpd loads it
	@! nm -D --undefined-only $@ | grep -w 'ssd_[a-z_0-9]*' \
	    || { echo "undefined module symbols in $@" >&2; rm -f $@; exit 1; }
	@test -f $@
endif

comma := ,

# Rewritten (at parse time) only when the set of source files changes.
SOURCES_LIST := $(OUT)/sources.list
_ := $(shell mkdir -p $(OUT) && echo "$(SRCS) $(HDRS)" > $(SOURCES_LIST).tmp && \
        { cmp -s $(SOURCES_LIST).tmp $(SOURCES_LIST) && rm -f $(SOURCES_LIST).tmp || \
          mv $(SOURCES_LIST).tmp $(SOURCES_LIST); })

deps:
	build/install-deps

CORE_OBJS = $(patsubst $(SRCDIR)/%.c,$(OUT)/unit/obj/%.o,$(CORE_SRCS))
UNIT_CFLAGS = $(WARN) -g -O1 -I$(SRCDIR) -It/unit $(DEP_CFLAGS)
ifeq ($(SANITIZE),1)
UNIT_CFLAGS += $(SAN_FLAGS)
# any report fails the test program: ASan aborts by itself, UBSan is told to
unit: export ASAN_OPTIONS = detect_leaks=1:abort_on_error=1
unit: export UBSAN_OPTIONS = halt_on_error=1:print_stacktrace=1
endif

$(OUT)/unit/obj/%.o: $(SRCDIR)/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -c -o $@ $<

$(OUT)/unit/%: t/unit/%.c $(CORE_OBJS) $(HDRS) $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_OBJS) $(DEP_LIBS)

unit: $(UNIT_BINS) $(SPF_SYNTAX)
	@fail=0; n=0; \
	for t in $(UNIT_BINS); do \
	    n=$$((n+1)); echo "== $$t"; \
	    if ! $$t; then echo "FAILED: $$t" >&2; fail=$$((fail+1)); fi; \
	done; \
	n=$$((n+1)); echo "== t/unit/rfc7208.py $(SPF_SYNTAX)"; \
	if ! $(PYTHON3) t/unit/rfc7208.py --out $(OUT)/unit $(SPF_SYNTAX); then \
	    echo "FAILED: t/unit/rfc7208.py" >&2; fail=$$((fail+1)); fi; \
	echo "unit: $$n test programs, $$fail failed"; \
	test $$fail -eq 0

ifeq ($(SANITIZE),1)
test: deps build unit
	SCAISEND_SANITIZE=1 build/run-tests
else
# The SQLite suite under the sanitizers runs after the normal runs, also
# when they failed (its findings are worth having); either failing fails.
test: deps build unit
	@n=PASS; s=PASS; build/run-tests || n=FAIL; \
	$(MAKE) --no-print-directory -f apxs.mk SANITIZE=1 test || s=FAIL; \
	echo "make test: suite $$n, sanitized suite $$s"; \
	if [ $$n$$s = PASSPASS ]; then echo "Result: PASS"; else echo "Result: FAIL"; exit 1; fi
endif

run: deps build
	build/run-dev

bench: build
	build/bench-get-domain

bench-pg: deps build
	build/bench-pg

clean:
	rm -rf $(OUT) $(SRCDIR)/.libs $(SRCDIR)/*.lo $(SRCDIR)/*.la $(SRCDIR)/*.slo $(SRCDIR)/*.o
	-test -x t/TEST && t/TEST -clean >/dev/null 2>&1 || true
	rm -rf t/TEST t/logs t/db t/conf/kek.bin
