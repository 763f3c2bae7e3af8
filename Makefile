# safehouse - GNU Makefile. Targets a newcomer can guess:
#   make            release binary at build/safehouse
#   make run        install deps, build, serve on ./var (127.0.0.1:8080)
#   make check      install deps, lint, sanitizer build, unit tests, fuzz replay,
#                   5 crash rounds and the black-box tests on each backend
#                   (SQLite, and a throw-away PostgreSQL the tests start)
#   make bench      benchmarks next to nginx (bench/run.sh, bench/devices.sh,
#                   bench/oauth.sh; see docs/testing.md)
#   make bench-big  the same on the 2.4M-user store
#   make bench-compare REF=<commit>  the working tree's release binary against
#                   REF's (built in a temporary git worktree), benched in turn
#                   in one run: per route BENCH_ROUNDS (3) rounds of
#                   BENCH_SECONDS (10) each, A (REF) and B (the tree) alternating;
#                   prints medians and B/A ratios with their spread, writes
#                   bench/results-compare.json (bench/compare.sh, docs/testing.md)
#   make fuzz       libFuzzer drivers, FUZZ_SECONDS each (see fuzz/README.md)
#   make fuzz-replay  seed corpora + kept regressions under ASan (part of check)
#   make check-valgrind  unit tests + a black-box smoke under valgrind memcheck
#   make crash      crash consistency: 20 rounds of write load + SIGKILL, per backend
#   make lint       static checks
#   make deb        Debian package build/safehouse_VERSION_ARCH.deb: binary,
#                   systemd unit, config, man page, bash completion
#                   (scripts/build-deb.sh, docs/operations.md)
#   make clean

CC      ?= cc
PKGS    := libmicrohttpd gnutls jansson libsodium sqlite3 libpq libidn2 liboath libqrencode libcurl
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
# For valgrind: no sanitizer (they do not mix), no optimisation, full debug info.
DEBUG_CFLAGS := -O0 -g $(BASE_CFLAGS)

SRCS := $(wildcard src/*.c src/*/*.c src/*/*/*.c)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
GEN  := build/gen/migrations_sqlite.c build/gen/migrations_postgres.c build/gen/common_passwords.c

REL_OBJS  := $(patsubst %.c,build/obj/%.o,$(SRCS) $(GEN))
ASAN_OBJS := $(patsubst %.c,build/asan-obj/%.o,$(SRCS) $(GEN))
ASAN_LIB_OBJS := $(filter-out build/asan-obj/src/main.o,$(ASAN_OBJS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,build/asan/unit/%,$(UNIT_SRCS))
DEBUG_OBJS := $(patsubst %.c,build/debug-obj/%.o,$(SRCS) $(GEN))
DEBUG_LIB_OBJS := $(filter-out build/debug-obj/src/main.o,$(DEBUG_OBJS))
DEBUG_UNIT_BINS := $(patsubst tests/unit/%.c,build/debug/unit/%,$(UNIT_SRCS))

# Fuzzing: libFuzzer needs clang. The library is built a third time with
# -fsanitize=fuzzer-no-link so the drivers get coverage feedback from it.
FUZZ_CC  ?= clang-14
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(BASE_CFLAGS) -Ifuzz
FUZZ_DRIVERS := $(patsubst fuzz/fuzz_%.c,%,$(filter-out fuzz/fuzz_util.c,$(wildcard fuzz/fuzz_*.c)))
FUZZ_LIB_OBJS := $(patsubst %.c,build/fuzz-obj/%.o,$(LIB_SRCS) $(GEN))
FUZZ_BINS := $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_DRIVERS))
REPLAY_BINS := $(patsubst %,build/asan/replay/fuzz_%,$(FUZZ_DRIVERS))

PYTHON  := /usr/bin/python3
MAKEFLAGS += --no-print-directory

.PHONY: all run check unit api api-sqlite api-postgres crash-check deps asan bench bench-big bench-compare lint clean deb \
        fuzz fuzz-build fuzz-replay check-valgrind crash
all: build/safehouse

deps:
	@bash scripts/install-deps.sh

build/gen/migrations_sqlite.c: $(wildcard migrations/sqlite/*.sql) scripts/embed-sql.sh
	@mkdir -p $(@D)
	sh scripts/embed-sql.sh sh_sqlite_migrations $(sort $(wildcard migrations/sqlite/*.sql)) > $@

build/gen/migrations_postgres.c: $(wildcard migrations/postgres/*.sql) scripts/embed-sql.sh
	@mkdir -p $(@D)
	sh scripts/embed-sql.sh sh_postgres_migrations $(sort $(wildcard migrations/postgres/*.sql)) > $@

build/gen/common_passwords.c: data/common-passwords.txt scripts/embed-lines.sh
	@mkdir -p $(@D)
	sh scripts/embed-lines.sh sh_common_passwords $< > $@

build/obj/%.o: %.c $(GEN)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@

build/asan-obj/%.o: %.c $(GEN)
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@

build/debug-obj/%.o: %.c $(GEN)
	@mkdir -p $(@D)
	$(CC) $(DEBUG_CFLAGS) -MMD -MP -c $< -o $@

build/fuzz-obj/%.o: %.c $(GEN)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

build/safehouse: $(REL_OBJS)
	$(CC) $(REL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/asan/safehouse: $(ASAN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/debug/safehouse: $(DEBUG_OBJS)
	@mkdir -p $(@D)
	$(CC) -pthread -o $@ $^ $(PKG_LIBS)

build/debug/unit/%: tests/unit/%.c $(DEBUG_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(DEBUG_CFLAGS) -Wno-missing-prototypes -o $@ $^ -pthread $(PKG_LIBS) -lcmocka

build/asan/unit/%: tests/unit/%.c $(ASAN_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -Wno-missing-prototypes -o $@ $^ $(ASAN_LDFLAGS) $(PKG_LIBS) -lcmocka

build/fuzz/fuzz_%: build/fuzz-obj/fuzz/fuzz_%.o build/fuzz-obj/fuzz/fuzz_util.o $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(PKG_LIBS) -pthread

# The same drivers without libFuzzer, for replaying inputs in `make check`.
build/asan/replay/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_util.c fuzz/replay_main.c $(ASAN_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -Ifuzz -o $@ $^ $(ASAN_LDFLAGS) $(PKG_LIBS)

build/asan/fuzz-mint: fuzz/mint_tokens.c fuzz/fuzz_util.c $(ASAN_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(ASAN_CFLAGS) -Ifuzz -o $@ $^ $(ASAN_LDFLAGS) $(PKG_LIBS)

asan: build/asan/safehouse $(UNIT_BINS) $(REPLAY_BINS)

run: deps
	$(MAKE) build/safehouse
	./build/safehouse serve

# Every test: static checks first (about 20 s), then against the sanitizer
# build the C unit tests (cmocka), the fuzz seeds and regressions, 5 rounds
# of the crash-consistency test, and the black-box API tests (pytest) last,
# so that pytest's summary is the last line CI reads.
check: deps
	@bash scripts/install-deps.sh lint
	$(MAKE) lint
	$(MAKE) asan
	bash tests/support/with-pg.sh $(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) crash-check
	$(MAKE) api

# The unit tests; the store conformance suite (test_store) also runs its
# cases on PostgreSQL when SAFEHOUSE_TEST_PG_URL names an empty database
# (make check starts one with tests/support/with-pg.sh).
unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; ./$$t; done

# The black-box suite on SQLite, then on PostgreSQL (tests/run-api.sh).
api: build/asan/safehouse
	bash tests/run-api.sh $(CURDIR)/build/asan/safehouse $(PYTEST_ARGS)

# One backend only: make api-sqlite / make api-postgres.
api-sqlite api-postgres: build/asan/safehouse
	SAFEHOUSE_TEST_STORE=$(@:api-%=%) SAFEHOUSE_BIN=$(CURDIR)/build/asan/safehouse \
	    $(PYTHON) -m pytest -q tests/api $(PYTEST_ARGS)

# 5 crash rounds on each backend, against the sanitizer build (make check).
crash-check: build/asan/safehouse
	$(PYTHON) tests/crash/crash_test.py --rounds 5 --bin build/asan/safehouse
	bash tests/support/with-pg.sh sh -c '$(PYTHON) tests/crash/crash_test.py --rounds 5 \
	    --bin build/asan/safehouse --store "$$SAFEHOUSE_TEST_PG_URL"'

# Every seed and every kept regression input, once, under ASan/UBSan.
fuzz-replay: $(REPLAY_BINS)
	@set -e; for d in $(FUZZ_DRIVERS); do \
	    ./build/asan/replay/fuzz_$$d fuzz/corpus/$$d fuzz/regressions/$$d; done

fuzz-build: $(FUZZ_BINS)

# Crash consistency: CRASH_ROUNDS (default 20) rounds of write load, SIGKILL
# at a random moment, integrity check, restart, nothing acknowledged lost.
crash: deps
	$(MAKE) build/safehouse
	$(PYTHON) tests/crash/crash_test.py --rounds $${CRASH_ROUNDS:-20} --bin build/safehouse
	bash tests/support/with-pg.sh sh -c '$(PYTHON) tests/crash/crash_test.py \
	    --rounds $${CRASH_ROUNDS:-20} --bin build/safehouse --store "$$SAFEHOUSE_TEST_PG_URL"'

# Unit tests and a black-box smoke under valgrind memcheck, on a debug build
# without sanitizers: any invalid access or definite leak fails.
VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30
check-valgrind: deps
	@bash scripts/install-deps.sh valgrind
	$(MAKE) build/debug/safehouse $(DEBUG_UNIT_BINS)
	@set -e; for t in $(DEBUG_UNIT_BINS); do echo "== valgrind $$t"; \
	    $(VALGRIND) ./$$t; done
	VALGRIND="$(VALGRIND)" SAFEHOUSE_BIN=$(CURDIR)/build/debug/safehouse \
	    $(PYTHON) tests/valgrind/smoke.py

# Each driver for FUZZ_SECONDS (default 60), one process at a time.
fuzz: deps
	@bash scripts/install-deps.sh fuzz
	$(MAKE) fuzz-build
	FUZZ_SECONDS=$${FUZZ_SECONDS:-60} bash scripts/fuzz.sh $(FUZZ_DRIVERS)

bench:
	@bash scripts/install-deps.sh bench
	$(MAKE) build/safehouse
	bash bench/run.sh
	bash bench/devices.sh --skip-big
	bash bench/oauth.sh
	bash bench/store.sh
	$(PYTHON) bench/rule_latency.py

# GET /v1/devices on the 2.4M-user store next to a 10k one (seeds the big
# store once into var/, ~10 minutes and ~4 GB), and heartbeats/s.
bench-big:
	@bash scripts/install-deps.sh bench
	$(MAKE) build/safehouse
	bash bench/devices.sh

# The working tree against REF, on the same machine in the same run
# (bench/compare.sh builds REF's binary in a temporary worktree).
bench-compare:
	@test -n "$(REF)" || { echo "usage: make bench-compare REF=<commit> [BENCH_SECONDS=10] [BENCH_ROUNDS=3]" >&2; exit 2; }
	@bash scripts/install-deps.sh bench
	$(MAKE) build/safehouse
	bash bench/compare.sh '$(REF)'

# Static checks; builds the release binary to verify its hardening.
lint: build/safehouse
	bash scripts/lint.sh

# The version is the binary's own (safehouse --version).
deb: build/safehouse
	bash scripts/build-deb.sh build/safehouse "$$(./build/safehouse --version | cut -d' ' -f2)" \
	    "build/safehouse_$$(./build/safehouse --version | cut -d' ' -f2)_$$(dpkg --print-architecture).deb"

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
