# Build, test and run mod_scaisend_domains.
#
#   make -f apxs.mk            build the module (default target)
#   make -f apxs.mk deps       install missing Debian packages (build/packages.txt)
#                              and the pinned npm packages of build/openapi
#                              and build/webhooks
#   make -f apxs.mk unit       build and run the C unit tests (t/unit/test_*.c),
#                              the RFC 7208 syntax comparison (t/unit/rfc7208.py)
#                              and check_host() over the RFC 7208 suite (rfc7208_eval.py)
#   make -f apxs.mk fuzz-replay  the fuzz corpus through the targets (gcc, ASan/UBSan)
#   make -f apxs.mk test       deps + build + unit + fuzz-replay + the Apache::Test suite
#   make -f apxs.mk fuzz       libFuzzer, FUZZ_SECONDS (60) per target (t/fuzz/)
#   make -f apxs.mk fuzz-slow  time the largest inputs of known slow shapes
#   make -f apxs.mk run        deps + build + a local dev instance (build/run-dev)
#   make -f apxs.mk bench      benchmark against the dev instance (build/bench-get-domain)
#   make -f apxs.mk bench-pg   100,000 domains: reads on PostgreSQL vs SQLite (build/bench-pg)
#   make -f apxs.mk install    the module into the system httpd (apxs -i) and
#                              Debian's mods-available files; DESTDIR= for staging
#   make -f apxs.mk deb        the Debian package, build/out/libapache2-mod-scaisend-domains_*.deb
#   make -f apxs.mk test-package  the package in a fresh Debian 12 root (root only)
#   make -f apxs.mk dist       the release tarball build/out/mod_scaisend_domains-<version>.tar.gz
#   make -f apxs.mk distcheck  dist, then make run and make test in the extracted tarball
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
# The one version source: VERSION (CHANGES.md and the package follow it).
VERSION := $(shell cat VERSION 2>/dev/null)

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
# the release, as a C string for the glue (mod_scaisend_domains.h)
VERSION_DEF := -Wc,-DSSD_VERSION='\"$(VERSION)\"'
PKGS      := openssl json-c libpsl libidn2 ldns libcurl apr-1 apr-util-1
# Recursive (=) so pkg-config runs after `deps` has installed what it needs.
DEP_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null || \
                 { apr-1-config --includes --cppflags; apu-1-config --includes; })
DEP_LIBS   = -lssl -lcrypto -ljson-c -lpsl -lidn2 -lldns -lcurl -laprutil-1 -lapr-1

UNIT_SRCS = $(sort $(wildcard t/unit/test_*.c))
UNIT_BINS = $(patsubst t/unit/%.c,$(OUT)/unit/%,$(UNIT_SRCS))
UNIT_HDRS = $(wildcard t/unit/*.h)
# The SPF parser against the OpenSPF RFC 7208 suite (python3-spf): the
# driver feeds the suite's records to this filter (not test_*: it reads stdin).
SPF_SYNTAX = $(OUT)/unit/spf_syntax
# check_host() over the same suite's zones and tests (t/unit/rfc7208_eval.py)
SPF_EVAL  = $(OUT)/unit/spf_eval
PYTHON3   ?= /usr/bin/python3

.PHONY: all build deps unit test run bench bench-pg clean fuzz fuzz-replay fuzz-slow \
        check-version install deb test-package dist distcheck
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

$(OUT)/mod/%.o: $(SRCDIR)/%.c $(HDRS) apxs.mk VERSION
	@mkdir -p $(@D)
	$(CC) $(WARN) $(SAN_FLAGS) -fPIC $(APXS_CPPFLAGS) -DSSD_VERSION='"$(VERSION)"' \
	    -I$(SRCDIR) $(DEP_CFLAGS) -c -o $@ $<

$(SO): $(MOD_OBJS) $(OUT)/sources.list
	$(CC) -shared $(SAN_FLAGS) -o $@ $(MOD_OBJS) $(DEP_LIBS)
	@! nm -D --undefined-only $@ | grep -w 'ssd_[a-z_0-9]*' \
	    || { echo "undefined module symbols in $@" >&2; rm -f $@; exit 1; }
else
# apxs/libtool names the library after -o; everything is recompiled when any
# source or header changes (or when a source file appears or disappears).
$(SO): $(SRCS) $(HDRS) $(OUT)/sources.list apxs.mk VERSION
	@test -n "$(SRCS)" || { echo "no sources in $(SRCDIR)/" >&2; exit 1; }
	@echo "apxs -c $(SRCDIR)/*.c -> $@ (log: $(OUT)/apxs.log)"
	@$(APXS) -c -o $(SRCDIR)/$(MOD).la \
	    $(addprefix -Wc$(comma),$(WARN)) $(VERSION_DEF) \
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
	build/install-openapi-deps
	build/install-webhook-deps

CORE_OBJS = $(patsubst $(SRCDIR)/%.c,$(OUT)/unit/obj/%.o,$(CORE_SRCS))
UNIT_CFLAGS = $(WARN) -g -O1 -I$(SRCDIR) -It/unit $(DEP_CFLAGS)
ifeq ($(SANITIZE),1)
UNIT_CFLAGS += $(SAN_FLAGS)
# any report fails the test program: ASan aborts by itself, UBSan is told to
# (use_sigaltstack=0: see build/sanitize-httpd)
unit: export ASAN_OPTIONS = detect_leaks=1:abort_on_error=1:use_sigaltstack=0
unit: export UBSAN_OPTIONS = halt_on_error=1:print_stacktrace=1
endif

$(OUT)/unit/obj/%.o: $(SRCDIR)/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -c -o $@ $<

$(OUT)/unit/%: t/unit/%.c $(CORE_OBJS) $(HDRS) $(UNIT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(CORE_OBJS) $(DEP_LIBS)

unit: $(UNIT_BINS) $(SPF_SYNTAX) $(SPF_EVAL)
	@fail=0; n=0; \
	for t in $(UNIT_BINS); do \
	    n=$$((n+1)); echo "== $$t"; \
	    if ! $$t; then echo "FAILED: $$t" >&2; fail=$$((fail+1)); fi; \
	done; \
	n=$$((n+1)); echo "== t/unit/rfc7208.py $(SPF_SYNTAX)"; \
	if ! $(PYTHON3) t/unit/rfc7208.py --out $(OUT)/unit $(SPF_SYNTAX); then \
	    echo "FAILED: t/unit/rfc7208.py" >&2; fail=$$((fail+1)); fi; \
	n=$$((n+1)); echo "== t/unit/rfc7208_eval.py $(SPF_EVAL)"; \
	if ! $(PYTHON3) t/unit/rfc7208_eval.py --out $(OUT)/unit $(SPF_EVAL); then \
	    echo "FAILED: t/unit/rfc7208_eval.py" >&2; fail=$$((fail+1)); fi; \
	echo "unit: $$n test programs, $$fail failed"; \
	test $$fail -eq 0

# ---- fuzzing (t/fuzz/): one target per parser of outside bytes ----
# fuzz: clang -fsanitize=fuzzer,address,undefined over the core compiled
# with the same sanitizers; fuzz-replay: the same targets built with gcc
# and a plain main() (t/fuzz/replay.c) run once over the committed corpus.
FUZZ_SRCS    = $(sort $(wildcard t/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(patsubst t/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_HDRS    = $(HDRS) t/fuzz/harness.h
FUZZ_CFLAGS  = $(WARN) -g -O1 -fno-omit-frame-pointer -I$(SRCDIR) -It/fuzz \
               $(DEP_CFLAGS)
SAN          = -fsanitize=address,undefined -fno-sanitize-recover=all
REPLAY_SAN   ?= $(SAN)
FZ           = $(OUT)/fuzz
RP           = $(OUT)/replay
FZ_OBJS      = $(patsubst $(SRCDIR)/%.c,$(FZ)/obj/%.o,$(CORE_SRCS)) $(FZ)/obj/harness.o
RP_OBJS      = $(patsubst $(SRCDIR)/%.c,$(RP)/obj/%.o,$(CORE_SRCS)) $(RP)/obj/harness.o \
               $(RP)/obj/replay.o

$(FZ)/obj/%.o: $(SRCDIR)/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FZ)/obj/%.o: t/fuzz/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FZ)/fuzz_%: t/fuzz/fuzz_%.c $(FZ_OBJS) $(FUZZ_HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(SAN) -fsanitize=fuzzer -o $@ $< $(FZ_OBJS) $(DEP_LIBS)

$(RP)/obj/%.o: $(SRCDIR)/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) $(REPLAY_SAN) -c -o $@ $<

$(RP)/obj/%.o: t/fuzz/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) $(REPLAY_SAN) -c -o $@ $<

$(RP)/fuzz_%: t/fuzz/fuzz_%.c $(RP_OBJS) $(FUZZ_HDRS)
	$(CC) $(FUZZ_CFLAGS) $(REPLAY_SAN) -o $@ $< $(RP_OBJS) $(DEP_LIBS)

fuzz: $(patsubst %,$(FZ)/fuzz_%,$(FUZZ_TARGETS))
	t/fuzz/run fuzz $(FZ) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-replay: $(patsubst %,$(RP)/fuzz_%,$(FUZZ_TARGETS))
	t/fuzz/run replay $(RP) $(FUZZ_TARGETS)

# the largest inputs of known slow shapes, timed without sanitizers
fuzz-slow:
	$(MAKE) -f apxs.mk RP=$(OUT)/replay-plain REPLAY_SAN= \
	    $(patsubst %,$(OUT)/replay-plain/fuzz_%,$(FUZZ_TARGETS))
	t/fuzz/slow-inputs $(OUT)/replay-plain

check-version:
	@echo "version $$(build/check-version)"

ifeq ($(SANITIZE),1)
test: deps build unit
	SCAISEND_SANITIZE=1 build/run-tests
else
# The suite, then (as root only) the package in a fresh Debian 12 root, then
# the SQLite suite under the sanitizers (SANITIZE=1 test); all three run,
# and any failing fails the target.
test: check-version deps build unit fuzz-replay
	@n=PASS; p=PASS; s=PASS; mkdir -p $(OUT); rm -f $(OUT)/test-failures.txt; \
	SCAISEND_TEST_RECAP=$(OUT)/test-failures.txt build/run-tests || n=FAIL; \
	build/test-package || p=FAIL; \
	$(MAKE) --no-print-directory -f apxs.mk SANITIZE=1 test || s=FAIL; \
	[ $$n = PASS ] || cat $(OUT)/test-failures.txt 2>/dev/null || true; \
	echo "make test: suite $$n, package $$p, sanitized suite $$s"; \
	if [ $$n$$p$$s = PASSPASSPASS ]; then echo "Result: PASS"; else echo "Result: FAIL"; exit 1; fi
endif

run: deps build
	build/run-dev

bench: build
	build/bench-get-domain

bench-pg: deps build
	build/bench-pg

# --- installing -------------------------------------------------------------
# Into the system httpd: the module (apxs -i) and Debian's mods-available
# files (a2enmod scaisend_domains; "# Depends: dbd auth_openidc").
# DESTDIR stages everything under another root (the Debian package does).
LIBEXECDIR  = $(shell $(APXS) -q LIBEXECDIR 2>/dev/null)
APACHE_CONF ?= /etc/apache2
MODS_AVAIL  = $(DESTDIR)$(APACHE_CONF)/mods-available

install: build
	@test -n "$(LIBEXECDIR)" || { echo "install: apxs -q LIBEXECDIR failed" >&2; exit 1; }
	install -d $(DESTDIR)$(LIBEXECDIR) $(MODS_AVAIL)
	$(APXS) -i -S LIBEXECDIR=$(DESTDIR)$(LIBEXECDIR) -n scaisend_domains $(SRCDIR)/$(MOD).la
	sed 's|/usr/lib/apache2/modules/|$(LIBEXECDIR)/|' conf/debian/scaisend_domains.load \
	    > $(MODS_AVAIL)/scaisend_domains.load
	chmod 644 $(MODS_AVAIL)/scaisend_domains.load
	@# an existing .conf holds the administrator's settings: kept
	@if [ -e $(MODS_AVAIL)/scaisend_domains.conf ]; then \
	    echo "install: kept the existing $(MODS_AVAIL)/scaisend_domains.conf"; \
	else install -m 644 conf/debian/scaisend_domains.conf $(MODS_AVAIL)/; fi
	@[ -n "$(DESTDIR)" ] || echo "install: done; enable with a2enmod scaisend_domains (and configure the API: README, \"Installing into an existing httpd\")"

# The Debian package: build/out/libapache2-mod-scaisend-domains_<version>_<arch>.deb
# (dh-apache2, dpkg-buildpackage -us -uc -b on a copy of the tree; lintian).
deb: check-version deps
	build/make-deb

test-package:
	build/test-package

# The release tarball of the committed tree (git archive):
# build/out/mod_scaisend_domains-<version>.tar.gz
dist: check-version
	build/make-dist

# The tarball as its reader meets it: extracted (no .git), make run and
# make test there (build/check-dist; SCAISEND_DISTCHECK_TEST=0: run only).
distcheck: dist
	build/check-dist

clean:
	rm -rf $(OUT) $(SRCDIR)/.libs $(SRCDIR)/*.lo $(SRCDIR)/*.la $(SRCDIR)/*.slo $(SRCDIR)/*.o
	-test -x t/TEST && t/TEST -clean >/dev/null 2>&1 || true
	rm -rf t/TEST t/logs t/db t/conf/kek.bin
