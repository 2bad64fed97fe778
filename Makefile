# segpipe: small C filters for deep-learning image experiments.
# One rule builds any tool: bin/NAME.c -> bin/NAME, linked with lib/libtensor.a.

VERSION = 0.1.0
PREFIX  ?= /usr/local
MANDIR  ?= $(PREFIX)/share/man
# python/segpipe.py, the numpy reader (Debian's python3 path for PREFIX)
PYTHONDIR ?= $(PREFIX)/lib/python3/dist-packages
CC      ?= cc
# No -march=native: a binary built here runs on any x86-64. The kernels for
# each instruction set are compiled with their own flags (KFLAGS_*) and chosen
# at run time (lib/kern/kern.h).
OPT     ?= -O2
CFLAGS  ?= $(OPT) -std=gnu11 -Wall -Wextra -pthread -fopenmp
# lib/: libtensor in folders that show its parts: io/ (streams, model files),
# nn/ (layers, networks, the trainer), kern/ (the kernels); util, cli at the top
LIBDIRS = lib lib/io lib/nn lib/kern
CPPFLAGS += $(LIBDIRS:%=-I%) -DSEGPIPE_VERSION='"$(VERSION)"'
# MPI (OpenMPI): lib/nn/dist.c alone includes mpi.h; a binary links libmpi
# only when it holds the trainer (--as-needed)
MPI_CFLAGS ?= $(shell pkg-config --cflags ompi-c 2>/dev/null)
MPI_LIBS   ?= $(shell pkg-config --libs ompi-c 2>/dev/null || echo -lmpi)
LDLIBS  = -lnetpbm -lz -lm -lpthread -Wl,--as-needed $(MPI_LIBS) -Wl,--no-as-needed

DEBS = gcc make libnetpbm-dev netpbm libopenblas-dev zlib1g-dev bats bats-assert \
       bats-support mandoc gnuplot-nox python3-numpy dataset-fashion-mnist parallel \
       libopenmpi-dev openmpi-bin

TOOLS   = $(patsubst %.c,%,$(wildcard bin/*.c))
LIBSRC  = $(foreach d,$(LIBDIRS),$(wildcard $(d)/*.c))
LIBHDR  = $(foreach d,$(LIBDIRS),$(wildcard $(d)/*.h))
LIBOBJ  = $(LIBSRC:.c=.o)
UNITS   = $(patsubst %.c,%,$(wildcard tests/unit/*.c))
BENCHES = $(patsubst %.c,%,$(wildcard bench/*.c))
MAN1    = $(wildcard man/man1/*.1)
MAN5    = $(wildcard man/man5/*.5)
MAN7    = $(wildcard man/man7/*.7)

.PHONY: all test unit bats manlint deps data experiments bench install clean fuzz sanitize
.SECONDARY: $(LIBOBJ)

all: deps lib/libtensor.a $(TOOLS) $(UNITS)

lib/libtensor.a: $(LIBOBJ)
	$(AR) rcs $@ $^

lib/%.o: lib/%.c $(LIBHDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(KFLAGS_$(notdir $*)) -c -o $@ $<

# instruction sets of the kernel files (lib/kern/NAME.c); the rest is plain x86-64
KFLAGS_avx2       = -O3 -mavx2 -mfma
KFLAGS_avx512     = -O3 -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma
KFLAGS_avx512bf16 = $(KFLAGS_avx512) -mavx512bf16
KFLAGS_amx        = $(KFLAGS_avx512bf16) -mamx-tile -mamx-bf16
KFLAGS_amx_conv   = $(KFLAGS_amx)
KFLAGS_portable   = -O3
KFLAGS_dist       = $(MPI_CFLAGS)
KFLAGS_peak       = -O3
# the vector primitives copy short rows inline: keep GCC from making them memcpy
# calls; their 16-float helpers are static (no ABI to keep), so no -Wpsabi note
KFLAGS_vec        = -O3 -fno-tree-loop-distribute-patterns -Wno-psabi
KFLAGS_vec_portable = $(KFLAGS_vec)
KFLAGS_vec_avx2   = $(KFLAGS_vec) -mavx2 -mfma
KFLAGS_vec_avx512 = $(KFLAGS_vec) -mavx512f -mavx512bw -mavx512vl -mavx512dq -mfma

bin/%: bin/%.c lib/libtensor.a $(LIBHDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< lib/libtensor.a $(LDLIBS)

tests/unit/%: tests/unit/%.c lib/libtensor.a $(LIBHDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< lib/libtensor.a $(LDLIBS)

# the benchmarks link OpenBLAS too, to measure it beside our kernels
bench/%: bench/%.c lib/libtensor.a $(LIBHDR)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< lib/libtensor.a $(LDLIBS) -lopenblas

test: all
	sh tests/run $(UNITS)

unit: $(UNITS)
	@set -e; for t in $(UNITS); do echo "unit: $$t"; ./$$t; done

bats: $(TOOLS)
	bats tests/

manlint:
	mandoc -T lint -W warning $(MAN1) $(MAN5) $(MAN7)

deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q 'ok installed' || echo $$p; done; \
	    command -v npm >/dev/null || echo npm); \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "deps: installing" $$missing; \
	        apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	    else \
	        echo "deps: missing packages; run as root:"; \
	        echo "    apt-get update && apt-get install -y" $$missing; exit 1; \
	    fi; \
	fi

data: deps
	sh pipelines/fetch-data data

experiments: all data
	sh pipelines/run-all results

bench: all $(BENCHES)
	sh bench/run

# install: the front command segpipe in $(PREFIX)/bin, the tools in a
# directory of their own (their short names hide no other command: montage,
# compose, stack, ...), their manual pages in a man directory of their own;
# segpipe(1), segpipe(7) and the formats' pages in $(MANDIR). segpipe finds
# the tools at ../libexec/segpipe from its own directory (so DESTDIR staging
# works), and `segpipe --exec-path` prints it for PATH.
LIBEXECDIR = $(PREFIX)/libexec/segpipe
TOOLMANDIR = $(PREFIX)/share/segpipe/man
install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(TOOLMANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 755 bin/segpipe $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(filter-out bin/segpipe,$(TOOLS)) $(DESTDIR)$(LIBEXECDIR)/
	install -m 644 man/man1/segpipe.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(filter-out man/man1/segpipe.1,$(MAN1)) $(DESTDIR)$(TOOLMANDIR)/man1/
	$(if $(MAN5),install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/)
	$(if $(MAN7),install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/)
	mkdir -p $(DESTDIR)$(PYTHONDIR)
	install -m 644 python/segpipe.py $(DESTDIR)$(PYTHONDIR)/

clean:
	rm -f $(LIBDIRS:%=%/*.o) lib/libtensor.a $(TOOLS) $(UNITS) $(BENCHES)

# ---- hardening (fuzz/README.md); neither is part of `make test` ----

# make fuzz: libFuzzer targets (fuzz/fuzz_*.c) built with clang against the
# readers compiled again into fuzz/build/ (the rest of the library, whose
# vector code is gcc's, comes from lib/libtensor.a), each run FUZZ_SECONDS; a crashing
# input lands in fuzz/crashes/NAME/. FUZZ_ARGS adds libFuzzer options
# (-jobs=N -workers=N for long runs).
FUZZ_CC      ?= clang-14
FUZZ_SECONDS ?= 30
FUZZ_ARGS    ?=
FUZZ_CFLAGS  = -g -O1 -std=gnu11 -fopenmp -fno-omit-frame-pointer \
	       -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC     = lib/io/stream.c lib/io/source.c lib/io/npy_header.c lib/io/model.c lib/util.c \
	       lib/io/atomic.c lib/io/zip.c
FUZZ_OBJ     = $(patsubst lib/%.c,fuzz/build/%.o,$(FUZZ_SRC))
.SECONDARY: $(FUZZ_OBJ)
FUZZ_NAMES   = $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_MAXLEN_stream = 16384
FUZZ_MAXLEN_model  = 12288
FUZZ_MAXLEN_npy_header = 4096
FUZZ_MAXLEN_gzip   = 8192

fuzz/build/%.o: lib/%.c $(LIBHDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

fuzz/build/fuzz_%: fuzz/fuzz_%.c fuzz/harness.h $(FUZZ_OBJ) lib/libtensor.a
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) \
	    lib/libtensor.a $(LDLIBS)

fuzz: $(FUZZ_NAMES:%=fuzz/build/fuzz_%)
	@mkdir -p $(FUZZ_NAMES:%=fuzz/build/corpus-%) $(FUZZ_NAMES:%=fuzz/crashes/%)
	$(foreach t,$(FUZZ_NAMES),ASAN_OPTIONS=detect_leaks=1 \
	    LSAN_OPTIONS=suppressions=fuzz/lsan.supp:print_suppressions=0 ./fuzz/build/fuzz_$(t) \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -malloc_limit_mb=512 \
	    -timeout=5 -max_len=$(FUZZ_MAXLEN_$(t)) -artifact_prefix=fuzz/crashes/$(t)/ \
	    -print_final_stats=1 $(FUZZ_ARGS) fuzz/build/corpus-$(t) fuzz/corpus/$(t) &&) true

# make sanitize: the whole project built with AddressSanitizer and UBSan in a
# copy of the tree (fuzz/build/sanitize; bin/ and lib/ are left alone), then
# the suite of `make test` run there.
SANITIZE_DIR    = fuzz/build/sanitize
SANITIZE_CFLAGS = -O1 -g -std=gnu11 -Wall -Wextra -pthread -fopenmp \
		  -fsanitize=address,undefined -fno-omit-frame-pointer

sanitize:
	rm -rf $(SANITIZE_DIR) && mkdir -p $(SANITIZE_DIR)
	tar cf - --exclude=./.git --exclude=./fuzz/build --exclude=./data --exclude=./results \
	    --exclude=./bench . | tar xf - -C $(SANITIZE_DIR)
	$(MAKE) -C $(SANITIZE_DIR) clean
	$(MAKE) -C $(SANITIZE_DIR) CC=gcc CFLAGS='$(SANITIZE_CFLAGS)' all
	cd $(SANITIZE_DIR) && SEGPIPE_SANITIZE=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/fuzz/sanitize.supp:print_suppressions=0 \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 sh tests/run $(UNITS)
