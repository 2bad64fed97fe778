# segpipe: small C filters for deep-learning image experiments.
# One rule builds any tool: bin/NAME.c -> bin/NAME, linked with lib/libtensor.a.

VERSION = 0.1.0
PREFIX  ?= /usr/local
MANDIR  ?= $(PREFIX)/share/man
CC      ?= cc
OPT     ?= -O2 -march=native
CFLAGS  ?= $(OPT) -std=gnu11 -Wall -Wextra -pthread -fopenmp
CPPFLAGS += -Ilib -DSEGPIPE_VERSION='"$(VERSION)"'
LDLIBS  = -lnetpbm -lopenblas -lz -lm -lpthread

DEBS = gcc make libnetpbm-dev netpbm libopenblas-dev zlib1g-dev bats bats-assert \
       bats-support mandoc gnuplot-nox python3-numpy dataset-fashion-mnist

TOOLS   = $(patsubst %.c,%,$(wildcard bin/*.c))
LIBSRC  = $(wildcard lib/*.c)
LIBOBJ  = $(LIBSRC:.c=.o)
UNITS   = $(patsubst %.c,%,$(wildcard tests/unit/*.c))
BENCHES = $(patsubst %.c,%,$(wildcard bench/*.c))
MAN1    = $(wildcard man/man1/*.1)
MAN5    = $(wildcard man/man5/*.5)
MAN7    = $(wildcard man/man7/*.7)

.PHONY: all test unit bats manlint deps data experiments bench install clean
.SECONDARY: $(LIBOBJ)

all: deps lib/libtensor.a $(TOOLS) $(UNITS)

lib/libtensor.a: $(LIBOBJ)
	$(AR) rcs $@ $^

lib/%.o: lib/%.c lib/*.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

bin/%: bin/%.c lib/libtensor.a lib/*.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< lib/libtensor.a $(LDLIBS)

tests/unit/%: tests/unit/%.c lib/libtensor.a lib/*.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< lib/libtensor.a $(LDLIBS)

bench/%: bench/%.c lib/libtensor.a lib/*.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< lib/libtensor.a $(LDLIBS)

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

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	$(if $(MAN5),install -m 644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/)
	$(if $(MAN7),install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/)

clean:
	rm -f lib/*.o lib/libtensor.a $(TOOLS) $(UNITS) $(BENCHES)
