# SPDX-License-Identifier: GPL-3.0-or-later
# lifeboat: make builds ./lifeboat; make check runs every test.

PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/lifeboat
SYSCONFDIR ?= /etc
LIBEXECDIR ?= $(PREFIX)/libexec/lifeboat
# systemd's directories: what its pkg-config file says, else Debian's
SYSTEMDUNITDIR ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
CATALOGDIR ?= $(or $(shell pkg-config --variable=catalogdir systemd 2>/dev/null),/usr/lib/systemd/catalog)

CC ?= cc
PKGS := blkid fdisk libparted uuid libxml-2.0 ext2fs e2p com_err libcrypto efivar efiboot json-c libzstd libarchive mount libkmod libelf libcryptsetup libargon2 libbtrfsutil
# pkg-config runs when a compile or link first needs its answer, once, not
# when make reads this file: 'make deps demo' on a fresh machine installs the
# -dev packages (deps) before anything asks pkg-config about them.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -Isrc $(PKG_CFLAGS) -D_GNU_SOURCE -fno-strict-aliasing
# --as-needed: a library is linked only when lifeboat calls it (libparted
# waits for layout migration; its constructor trips AddressSanitizer)
LDFLAGS += -Wl,--as-needed
LDLIBS += $(PKG_LIBS) -lxxhash -lpthread
# each compile writes the headers it read into a .d file beside its output,
# included below: touching a header rebuilds exactly what includes it (-MP:
# a header that goes away breaks no build)
DEPFLAGS := -MMD -MP

SRCS := $(wildcard src/*/*.c)
OBJS := $(patsubst src/%.c,build/%.o,$(SRCS)) build/manifest/schema.o
LIB_OBJS := $(filter-out build/cmd/lifeboat.o,$(OBJS))
MAN8 := $(wildcard man/*.8)
MAN5 := $(wildcard man/*.5)
MAN7 := $(wildcard man/*.7)
# systemd/*.in get the installed paths (lifeboat-systemd(7))
SUBST_PATHS = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	-e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g'

all: lifeboat

lifeboat: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/%.o: src/%.c | build
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

build/manifest/schema.o: src/manifest/schema.S schema/lifeboat-manifest.rng | build
	@mkdir -p $(@D)
	$(CC) -c -I. -o $@ src/manifest/schema.S

# with deps among the goals, nothing is compiled before it has run (make -j)
build: | $(filter deps,$(MAKECMDGOALS))
	mkdir -p build

# ---- tests ----
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,build/tests/%,$(UNIT_SRCS))

# link flags of one unit test: test_datafile decides what each pwritev writes
WRAP_test_datafile := -Wl,--wrap=pwritev
# test_seqread refuses or cuts short the O_DIRECT reads
WRAP_test_seqread := -Wl,--wrap=pread
# test_filemap plays FIEMAP
WRAP_test_filemap := -Wl,--wrap=ioctl

build/tests/%: tests/unit/%.c $(LIB_OBJS) | build
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $(DEPFLAGS) $(shell pkg-config --cflags cmocka) $(LDFLAGS) $(WRAP_$*) -o $@ $< $(LIB_OBJS) $(LDLIBS) $(shell pkg-config --libs cmocka)

build/tests/lb-wrap: tests/tools/lb-wrap.c $(LIB_OBJS) | build
	@mkdir -p build/tests
	$(CC) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

# (literal paths: an include is expanded where it stands, before ASAN_DIR)
-include $(wildcard build/*/*.d build/tests/*.d build/fuzz/obj/*/*.d build/fuzz/*.d \
	build/asan/obj/*/*.d build/asan/tests/*.d)

# ---- the sanitized build (AddressSanitizer, UBSan) ----
# The library, the binary, the unit tests and lb-wrap again in build/asan,
# from the same sources. make check runs the unit tests and the loop-device
# suites (SAN_AREAS) with these instead of the plain ones, once: the suite
# is not run twice. rescue/ and vm/ put the plain ./lifeboat into the rescue
# image and boot it, so they run it. tests/run.sh sends every sanitizer
# report to a file of its own (log_path) and fails the test that left one,
# whatever its exit code (a test may expect lifeboat to exit 1).
# (clang: GCC 12's UBSan, linked with ASan, writes its report to stderr
# whatever log_path says, where a test's redirection may hide it)
ASAN_DIR := build/asan
ASAN_CC ?= clang
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_CFLAGS = -O1 -g $(ASAN_FLAGS) -std=gnu11 $(WARN) -Isrc $(PKG_CFLAGS) -D_GNU_SOURCE \
	-fno-strict-aliasing
ASAN_OBJS := $(patsubst build/%,$(ASAN_DIR)/obj/%,$(OBJS))
ASAN_LIB_OBJS := $(filter-out $(ASAN_DIR)/obj/cmd/lifeboat.o,$(ASAN_OBJS))
ASAN_UNIT_BINS := $(patsubst build/tests/%,$(ASAN_DIR)/tests/%,$(UNIT_BINS))
ASAN_BINS := $(ASAN_DIR)/lifeboat $(ASAN_UNIT_BINS) $(ASAN_DIR)/tests/lb-wrap
SAN_AREAS := unit/ capture/ compare/ data/ layouts/ ops/ restore/

$(ASAN_DIR)/obj/%.o: src/%.c | build
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASAN_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(ASAN_DIR)/obj/manifest/schema.o: build/manifest/schema.o
	@mkdir -p $(@D)
	cp $< $@

$(ASAN_DIR)/lifeboat: $(ASAN_OBJS)
	$(ASAN_CC) $(ASAN_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(ASAN_DIR)/tests/%: tests/unit/%.c $(ASAN_LIB_OBJS) | build
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASAN_CFLAGS) $(DEPFLAGS) $(shell pkg-config --cflags cmocka) $(LDFLAGS) $(WRAP_$*) -o $@ $< $(ASAN_LIB_OBJS) $(LDLIBS) $(shell pkg-config --libs cmocka)

$(ASAN_DIR)/tests/lb-wrap: tests/tools/lb-wrap.c $(ASAN_LIB_OBJS) | build
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASAN_CFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(ASAN_LIB_OBJS) $(LDLIBS)

.SECONDARY: $(ASAN_OBJS)

asan-build: $(ASAN_BINS)

# fuzz-smoke first: the suite's "N passed, N failed" stays the last line.
# The unit tests and the loop-device suites run sanitized (above), the
# rescue image's tests with ./lifeboat.
check: lifeboat $(ASAN_BINS) fuzz-smoke
	@tests/tools/check-layers.sh
	@LB_SAN_DIR=$(ASAN_DIR) LB_SAN_AREAS="$(SAN_AREAS)" tests/run.sh

# ---- fuzzing (libFuzzer; clang) ----
# The harnesses in fuzz/, each over the library built again with libFuzzer's
# coverage, AddressSanitizer and UBSan in build/fuzz/obj. Each runs on its
# seeds in fixtures/fuzz/<harness>/ (read only: real manifests and data
# files, and every input that once failed) and on a corpus of its own in
# build/fuzz/corpus/<harness>/, where what it finds goes; a failing input
# is saved as build/fuzz/<harness>-crash-* (add it to the seeds once fixed).
# make fuzz: each for FUZZ_SECONDS (one after the other); make fuzz-smoke:
# each for FUZZ_SMOKE_SECONDS, about a minute in all (make check runs it).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS = -O1 -g $(FUZZ_SAN) -std=gnu11 $(WARN) -Isrc -I. $(PKG_CFLAGS) -D_GNU_SOURCE \
	-fno-strict-aliasing
FUZZERS := manifest datafile archive plan xfs btrfs
FUZZ_BINS := $(FUZZERS:%=build/fuzz/fuzz_%)
FUZZ_OBJS := $(patsubst build/%,build/fuzz/obj/%,$(LIB_OBJS))
# (a slow input is a finding too: a manifest or data file that takes
# seconds is a CPU bomb; the smoke run allows more, for a loaded CI machine)
FUZZ_TIMEOUT ?= 30
FUZZ_ARGS = -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=2048 -print_final_stats=1
# the schema's names and values (fuzz/make-dict.py)
FUZZ_DICT_manifest := -dict=fuzz/manifest.dict
FUZZ_DICT_plan := -dict=fuzz/manifest.dict

build/fuzz/obj/%.o: src/%.c | build
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -c -o $@ $<

build/fuzz/obj/manifest/schema.o: src/manifest/schema.S schema/lifeboat-manifest.rng | build
	@mkdir -p $(@D)
	$(FUZZ_CC) -c -I. -o $@ src/manifest/schema.S

build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FUZZ_OBJS) | build
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(FUZZ_OBJS) $(LDLIBS)

# (the objects are kept: make would take them for intermediate files)
.SECONDARY: $(FUZZ_OBJS)

fuzz-build: $(FUZZ_BINS)

# decodes a data file (fuzz/make-seeds.sh: the archive harness's seeds)
build/fuzz/lb-decode: fuzz/decode.c fuzz/fuzz.h $(LIB_OBJS) | build
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I. $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(LDLIBS)

# run-fuzz-<harness>: one harness for FUZZ_TIME seconds
run-fuzz-%: build/fuzz/fuzz_%
	@mkdir -p build/fuzz/corpus/$*
	@echo "fuzz: $* for $(FUZZ_TIME) s"
	@$< $(FUZZ_ARGS) $(FUZZ_DICT_$*) -max_total_time=$(FUZZ_TIME) -artifact_prefix=build/fuzz/$*-crash- \
		build/fuzz/corpus/$* fixtures/fuzz/$* > build/fuzz/$*.log 2>&1 || \
		{ tail -n 60 build/fuzz/$*.log; echo "fuzz: $* failed: build/fuzz/$*.log"; exit 1; }
	@grep -E '^stat::number_of_executed_units' build/fuzz/$*.log | sed 's/^/fuzz: $*: /'

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZERS); do $(MAKE) -s run-fuzz-$$f FUZZ_TIME=$(FUZZ_SECONDS) || exit 1; done

fuzz-smoke: $(FUZZ_BINS)
	@for f in $(FUZZERS); do $(MAKE) -s run-fuzz-$$f FUZZ_TIME=$(FUZZ_SMOKE_SECONDS) \
		FUZZ_TIMEOUT=120 || exit 1; done

# static analysis: must stay clean
lint:
	tests/tools/check-layers.sh
	cppcheck --quiet --error-exitcode=1 --inline-suppr --enable=warning,performance,portability \
		--std=c11 -Isrc --suppress=missingIncludeSystem src/

# only the sanitized part of the suite (what make check runs sanitized)
check-asan: $(ASAN_BINS)
	@LB_SAN_DIR=$(ASAN_DIR) LB_SAN_AREAS="$(SAN_AREAS)" tests/run.sh $(SAN_AREAS)

# the plain unit tests and lb-wrap, for running a test by hand without the
# sanitizers (tests/run.sh with no LB_SAN_DIR)
check-plain: lifeboat $(UNIT_BINS) build/tests/lb-wrap
	@tests/run.sh

# benchmarks against the tools a user would pick instead (root; minutes)
bench: lifeboat
	bench/capture.sh
	bench/restore-layout.sh
	bench/data.sh
	bench/rescue.sh
	bench/xfs.sh

# (sh: the same command the README gives for a machine without make)
deps:
	sh tests/install-deps.sh

# the tools the benchmarks compare lifeboat with (not needed by the tests;
# a benchmark skips a missing one with a note)
bench-deps:
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		partclone fsarchiver rear time xfsdump >/dev/null

demo: lifeboat
	@tests/demo.sh

# The systemd units (with the paths of this install), the journal catalog,
# the alert helper and the configuration example; an existing
# $(SYSCONFDIR)/lifeboat/lifeboat.conf is never overwritten. Installed into
# this machine (no DESTDIR), the catalog's database is rebuilt; the units
# wait for 'systemctl daemon-reload' and 'systemctl enable --now
# lifeboat-capture.timer'.
install: lifeboat
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(DATADIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(CATALOGDIR) \
		$(DESTDIR)$(SYSCONFDIR)/lifeboat/failure.d build/systemd
	install -m 0755 lifeboat $(DESTDIR)$(SBINDIR)/lifeboat
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	install -m 0644 schema/lifeboat-manifest.rng $(DESTDIR)$(DATADIR)/
	cp -r initramfs $(DESTDIR)$(DATADIR)/
	for f in lifeboat-capture.service lifeboat-failure@.service lifeboat-failure; do \
		$(SUBST_PATHS) systemd/$$f.in >build/systemd/$$f || exit 1; done
	install -m 0644 build/systemd/lifeboat-capture.service build/systemd/lifeboat-failure@.service \
		systemd/lifeboat-capture.timer $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 0755 build/systemd/lifeboat-failure $(DESTDIR)$(LIBEXECDIR)/
	install -m 0644 systemd/lifeboat.catalog $(DESTDIR)$(CATALOGDIR)/
	install -m 0644 etc/lifeboat.conf $(DESTDIR)$(DATADIR)/lifeboat.conf.example
	install -m 0644 systemd/failure-mail.example $(DESTDIR)$(DATADIR)/
	test -e $(DESTDIR)$(SYSCONFDIR)/lifeboat/lifeboat.conf || \
		install -m 0644 etc/lifeboat.conf $(DESTDIR)$(SYSCONFDIR)/lifeboat/lifeboat.conf
	if [ -z "$(DESTDIR)" ] && command -v journalctl >/dev/null 2>&1; then \
		journalctl --update-catalog || true; fi

clean:
	rm -rf build lifeboat

.PHONY: all asan-build bench bench-deps check check-asan check-plain deps demo fuzz fuzz-build fuzz-smoke install lint clean
