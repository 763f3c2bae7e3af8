# safehouse - GNU Makefile. Targets a newcomer can guess:
#   make            release binary at build/safehouse
#   make run        install deps, build, serve on ./var (127.0.0.1:8080)
#   make check      install deps, sanitizer build, unit + black-box tests
#   make bench      benchmarks next to nginx (bench/run.sh, bench/devices.sh, bench/oauth.sh)
#   make bench-big  the same on the 2.4M-user store
#   make lint       static checks
#   make clean

CC      ?= cc
PKGS    := libmicrohttpd jansson libsodium sqlite3 libidn2 liboath libqrencode libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith -Wcast-qual \
           -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-missing-field-initializers
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Isrc -Ibuild/gen $(WARN) $(PKG_CFLAGS) -pthread
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
REL_CFLAGS  := -O2 -g $(HARDEN) $(BASE_CFLAGS)
REL_LDFLAGS := -pie -Wl,-z,relro,-z,now -pthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_CFLAGS  := -O1 -g $(SAN) $(BASE_CFLAGS)
ASAN_LDFLAGS := $(SAN) -pthread

SRCS := $(wildcard src/*.c src/*/*.c src/*/*/*.c)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
GEN  := build/gen/migrations_sqlite.c build/gen/common_passwords.c

REL_OBJS  := $(patsubst %.c,build/obj/%.o,$(SRCS) $(GEN))
ASAN_OBJS := $(patsubst %.c,build/asan-obj/%.o,$(SRCS) $(GEN))
ASAN_LIB_OBJS := $(filter-out build/asan-obj/src/main.o,$(ASAN_OBJS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,build/asan/unit/%,$(UNIT_SRCS))

PYTHON  := /usr/bin/python3
MAKEFLAGS += --no-print-directory

.PHONY: all run check unit api deps asan bench bench-big lint clean
all: build/safehouse

deps:
	@bash scripts/install-deps.sh

build/gen/migrations_sqlite.c: $(wildcard migrations/sqlite/*.sql) scripts/embed-sql.sh
	@mkdir -p $(@D)
	sh scripts/embed-sql.sh sh_sqlite_migrations $(sort $(wildcard migrations/sqlite/*.sql)) > $@

build/gen/common_passwords.c: data/common-passwords.txt scripts/embed-lines.sh
	@mkdir -p $(@D)
	sh scripts/embed-lines.sh sh_common_passwords $< > $@

build/obj/%.o: %.c $(GEN)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@

build/asan-obj/%.o: %.c $(GEN)
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@

build/safehouse: $(REL_OBJS)
	$(CC) $(REL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/asan/safehouse: $(ASAN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/asan/unit/%: tests/unit/%.c $(ASAN_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -Wno-missing-prototypes -o $@ $^ $(ASAN_LDFLAGS) $(PKG_LIBS) -lcmocka

asan: build/asan/safehouse $(UNIT_BINS)

run: deps
	$(MAKE) build/safehouse
	./build/safehouse serve

# Every test: C unit tests (cmocka) and black-box API tests (pytest) against
# the sanitizer build. The last line is pytest's summary.
check: deps
	$(MAKE) asan
	$(MAKE) unit
	$(MAKE) api

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; ./$$t; done

api: build/asan/safehouse
	SAFEHOUSE_BIN=$(CURDIR)/build/asan/safehouse $(PYTHON) -m pytest -q tests/api $(PYTEST_ARGS)

bench:
	@bash scripts/install-deps.sh bench
	$(MAKE) build/safehouse
	bash bench/run.sh
	bash bench/devices.sh --skip-big
	bash bench/oauth.sh

# GET /v1/devices on the 2.4M-user store next to a 10k one (seeds the big
# store once into var/, ~10 minutes and ~4 GB), and heartbeats/s.
bench-big:
	@bash scripts/install-deps.sh bench
	$(MAKE) build/safehouse
	bash bench/devices.sh

lint:
	bash scripts/lint.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
