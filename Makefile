# SPDX-License-Identifier: GPL-3.0-or-later
# lifeboat: make builds ./lifeboat; make check runs every test.

PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/lifeboat

CC ?= cc
PKGS := blkid fdisk libparted uuid libxml-2.0 ext2fs e2p com_err libcrypto efivar efiboot json-c libzstd libarchive mount libkmod libelf libcryptsetup
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

-include $(wildcard build/*/*.d build/tests/*.d)

check: lifeboat $(UNIT_BINS) build/tests/lb-wrap
	@tests/tools/check-layers.sh
	@tests/run.sh

# static analysis: must stay clean
lint:
	tests/tools/check-layers.sh
	cppcheck --quiet --error-exitcode=1 --inline-suppr --enable=warning,performance,portability \
		--std=c11 -Isrc --suppress=missingIncludeSystem src/

# the suite under AddressSanitizer and UBSan, in build/asan
check-asan:
	rm -rf build/asan && mkdir -p build/asan && git ls-files | tar -cf - -T - | tar -xf - -C build/asan
	cd build/asan && CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" $(MAKE) -s lifeboat build/tests/lb-wrap $(UNIT_BINS)
	cd build/asan && UBSAN_OPTIONS=halt_on_error=1 tests/run.sh unit/ capture/ compare/ data/ layouts/ ops/ restore/

# benchmarks against the tools a user would pick instead (root; minutes)
bench: lifeboat
	bench/capture.sh
	bench/restore-layout.sh
	bench/data.sh
	bench/rescue.sh

# (sh: the same command the README gives for a machine without make)
deps:
	sh tests/install-deps.sh

# the tools the benchmarks compare lifeboat with (not needed by the tests;
# a benchmark skips a missing one with a note)
bench-deps:
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		partclone fsarchiver rear time >/dev/null

demo: lifeboat
	@tests/demo.sh

install: lifeboat
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DATADIR)
	install -m 0755 lifeboat $(DESTDIR)$(SBINDIR)/lifeboat
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 schema/lifeboat-manifest.rng $(DESTDIR)$(DATADIR)/
	cp -r initramfs $(DESTDIR)$(DATADIR)/

clean:
	rm -rf build lifeboat

.PHONY: all bench bench-deps check check-asan deps demo install lint clean
