# kefu — one plain Makefile.
#
#   make            bin/kefud, bin/kefuctl, bin/kefu-sim (release flags)
#   make test       everything with -Werror, plus ASan+UBSan builds; runs every test
#   make bench      benchmarks, each printing ratios against a baseline of the same run
#   make fuzz       libFuzzer targets (clang), FUZZ_SECONDS each
#   make demo       sample BOSS files -> import -> lookups ... -> the console's URL and demo logins
#   make deps       install the Debian packages (appliance/packages-build.txt)
#   make deb        build/deb/kefu_<version>_amd64.deb, checked by lintian
#   make appliance PROVINCE=SC   a node's root filesystem (downloads packages)
#   make upgrade-test   a rolling upgrade from the previous commit's build under load
#
# The public targets first make sure the build packages are installed, then
# re-enter this Makefile with KEFU_DEPS_OK=1 so pkg-config can be asked.

PUBLIC := all test bench fuzz demo check san deb appliance upgrade-test
.PHONY: $(PUBLIC) deps clean

ifeq ($(KEFU_DEPS_OK),)

# One public goal at a time (`make -j2 all san`): two inner makes would
# both write the generated sources. Each inner make still runs in parallel.
.NOTPARALLEL:
.DEFAULT_GOAL := all
$(PUBLIC): deps
	@$(MAKE) --no-print-directory KEFU_DEPS_OK=1 $@

deps:
	@appliance/deps.sh appliance/packages-build.txt

clean:
	rm -rf bin build

else

.DEFAULT_GOAL := all
CC       ?= cc
CLANG    ?= clang
PKGS     := lmdb libprotobuf-c hiredis libcurl openssl libevent libevent_openssl jansson icu-uc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lm -lpthread
CMOCKA_LIBS := $(shell pkg-config --libs cmocka)

WARN     := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2 -Wvla -fno-common
CPPFLAGS := -D_GNU_SOURCE -I. -Ibuild/gen $(PKG_CFLAGS) -MMD -MP
REL_CFLAGS  := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
SAN_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
# Generated protobuf-c code is compiled without our stricter prototype rules.
GEN_CFLAGS  := -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter

PROTO    := proto/kefu.proto
GEN_C    := build/gen/proto/kefu.pb-c.c
GEN_H    := build/gen/proto/kefu.pb-c.h
# The routing steps (node/routing/lua/) embedded as C strings.
ROUTING_LUA := $(wildcard node/routing/lua/*.lua)
ROUTING_C   := build/gen/routing/scripts.c
ROUTING_H   := build/gen/routing/scripts.h
# The operations component's steps (node/ops/lua/), on the routing prelude.
OPS_LUA := $(wildcard node/ops/lua/*.lua)
OPS_C   := build/gen/ops/scripts.c
OPS_H   := build/gen/ops/scripts.h
# The console's pages, scripts and styles (node/console/assets/) as C arrays.
CONSOLE_ASSETS := $(sort $(wildcard node/console/assets/*))
CONSOLE_C   := build/gen/console/assets.c
CONSOLE_H   := build/gen/console/assets.h
# The Han character tables of lib/textfold.c, from Unihan (unicode-data).
HANZI_C := build/gen/hanzi/tables.c
HANZI_H := build/gen/hanzi/tables.h

# Program mains live in these files; everything else in these folders is library.
MAINS    := node/main.c
KEFUCTL_SRC := $(wildcard cluster/kefuctl/*.c)
LIB_SRC  := $(filter-out $(MAINS),$(wildcard lib/*.c proto/*.c storage/*.c cluster/*.c node/*.c node/*/*.c))
SIM_SRC  := $(wildcard tests/sim/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,build/rel/bench/%,$(BENCH_SRC))
TESTLIB_SRC := $(wildcard tests/unit/support/*.c)
# kefu-sipgw (gateway/sipgw/, docs/sipgw.md): its own program on libkefu. Only
# sipua.c includes libre, whose headers need these two defines to pass our
# warnings; the parsers (benc, ng, sdp, dtmf) are also linked into fuzz targets.
SIPGW_SRC := $(wildcard gateway/sipgw/*.c)
SIPGW_PURE := gateway/sipgw/benc.c gateway/sipgw/ng.c gateway/sipgw/sdp.c gateway/sipgw/dtmf.c
RE_CFLAGS := -DHAVE_INTTYPES_H -DHAVE_STDBOOL_H $(shell pkg-config --cflags libre)
RE_LIBS   := $(shell pkg-config --libs --static libre)
# The gateway's prompts, made with sox at build time (appliance/prompts/README.md).
PROMPTS := build/prompts/greeting.wav build/prompts/moh.wav build/prompts/vip-direct.wav \
	build/prompts/drop.wav

# The build's version (lib/version.h): the changelog's, and the commit when
# built from a git checkout. build/version.txt changes only when it does, so
# a new commit recompiles lib/version.c alone.
KEFU_VERSION := $(shell v=$$(dpkg-parsechangelog -l appliance/deb/changelog -S Version 2>/dev/null || echo 0); \
	g=$$(git describe --always --dirty --exclude '*' 2>/dev/null); echo "$$v$${g:++g$$g}")
$(shell mkdir -p build; [ "$$(cat build/version.txt 2>/dev/null)" = "$(KEFU_VERSION)" ] || echo "$(KEFU_VERSION)" >build/version.txt)
build/rel/obj/lib/version.o build/san/obj/lib/version.o build/fuzz/obj/lib/version.o: build/version.txt
build/rel/obj/lib/version.o build/san/obj/lib/version.o build/fuzz/obj/lib/version.o: CPPFLAGS += -DKEFU_VERSION='"$(KEFU_VERSION)"'

lib_objs = $(patsubst %.c,build/$(1)/obj/%.o,$(LIB_SRC)) build/$(1)/obj/gen/proto/kefu.pb-c.o \
           build/$(1)/obj/gen/routing/scripts.o build/$(1)/obj/gen/ops/scripts.o \
           build/$(1)/obj/gen/hanzi/tables.o build/$(1)/obj/gen/console/assets.o

# ---- generated code ----
$(GEN_C) $(GEN_H): $(PROTO)
	@mkdir -p build/gen
	protoc-c --c_out=build/gen $(PROTO)
$(ROUTING_C) $(ROUTING_H) &: $(ROUTING_LUA) node/routing/embed.sh
	@mkdir -p $(@D)
	node/routing/embed.sh c $(ROUTING_C) $(ROUTING_H)
$(OPS_C) $(OPS_H) &: $(OPS_LUA) node/routing/lua/prelude.lua node/routing/embed.sh
	@mkdir -p $(@D)
	EMBED_STEPS=node/ops/lua EMBED_NAME=ops node/routing/embed.sh c $(OPS_C) $(OPS_H)
$(CONSOLE_C) $(CONSOLE_H) &: $(CONSOLE_ASSETS) node/console/embed.sh
	@mkdir -p $(@D)
	node/console/embed.sh $(CONSOLE_C) $(CONSOLE_H) $(CONSOLE_ASSETS)
$(HANZI_C) $(HANZI_H) &: lib/hanzi_gen.sh
	@mkdir -p $(@D)
	lib/hanzi_gen.sh $(HANZI_C) $(HANZI_H)

.SECONDEXPANSION:
.SECONDARY:

# ---- objects, one pattern per variant ----
build/rel/obj/%.o: %.c | $(GEN_H) $(ROUTING_H) $(OPS_H) $(HANZI_H) $(CONSOLE_H)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(REL_CFLAGS) -c $< -o $@
build/san/obj/%.o: %.c | $(GEN_H) $(ROUTING_H) $(OPS_H) $(HANZI_H) $(CONSOLE_H)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(SAN_CFLAGS) -c $< -o $@
build/fuzz/obj/%.o: %.c | $(GEN_H) $(ROUTING_H) $(OPS_H) $(HANZI_H) $(CONSOLE_H)
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(WARN) $(FUZZ_CFLAGS) -c $< -o $@
build/rel/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(GEN_CFLAGS) $(REL_CFLAGS) -c $< -o $@
build/san/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(GEN_CFLAGS) $(SAN_CFLAGS) -c $< -o $@
build/fuzz/obj/gen/%.o: build/gen/%.c
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(GEN_CFLAGS) $(FUZZ_CFLAGS) -c $< -o $@

build/%/libkefu.a: $$(call lib_objs,$$*)
	@rm -f $@
	ar rcs $@ $^

# ---- programs ----
define programs
build/$(1)/bin/kefud: build/$(1)/obj/node/main.o build/$(1)/libkefu.a
	@mkdir -p $$(@D)
	$$(CC) $(2) -o $$@ $$^ $$(PKG_LIBS)
build/$(1)/bin/kefuctl: $$(patsubst %.c,build/$(1)/obj/%.o,$$(KEFUCTL_SRC)) build/$(1)/libkefu.a
	@mkdir -p $$(@D)
	$$(CC) $(2) -o $$@ $$^ $$(PKG_LIBS)
build/$(1)/bin/kefu-sim: $$(patsubst %.c,build/$(1)/obj/%.o,$$(SIM_SRC)) build/$(1)/libkefu.a
	@mkdir -p $$(@D)
	$$(CC) $(2) -o $$@ $$^ $$(PKG_LIBS)
build/$(1)/bin/kefu-sipgw: $$(patsubst %.c,build/$(1)/obj/%.o,$$(SIPGW_SRC)) build/$(1)/libkefu.a
	@mkdir -p $$(@D)
	$$(CC) $(2) -o $$@ $$^ $$(RE_LIBS) $$(PKG_LIBS)
build/$(1)/obj/gateway/sipgw/sipua.o: CPPFLAGS += $$(RE_CFLAGS)
endef
$(eval $(call programs,rel,$(REL_CFLAGS)))
$(eval $(call programs,san,$(SAN_CFLAGS)))

PROGS := kefud kefuctl kefu-sim kefu-sipgw
bin/%: build/rel/bin/%
	@mkdir -p bin
	cp $< $@.tmp && mv -f $@.tmp $@

all: check $(addprefix bin/,$(PROGS)) $(PROMPTS)

build/prompts/%.wav: appliance/prompts/%.sox
	@mkdir -p $(@D)
	appliance/prompts/make.sh $< $@

# ---- source checks: one-way layering, banned functions ----
# layers.sh preprocesses every source with these flags, so it needs the generated headers.
check: $(GEN_H) $(ROUTING_H) $(OPS_H) $(HANZI_H) $(CONSOLE_H)
	@CC='$(CC)' KEFU_CPPFLAGS='$(filter-out -MMD -MP,$(CPPFLAGS))' tests/check/layers.sh
	@tests/check/banned.sh

# ---- tests ----
SAN_UNITS  := $(patsubst tests/unit/%.c,build/san/tests/%,$(UNIT_SRC))
SAN_REPLAY := $(patsubst tests/fuzz/%.c,build/san/fuzz/%,$(FUZZ_SRC))
TESTLIB_SAN := $(patsubst %.c,build/san/obj/%.o,$(TESTLIB_SRC))

build/san/tests/%: build/san/obj/tests/unit/%.o $(TESTLIB_SAN) build/san/libkefu.a
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)
# The simulated outbound floor (tests/bench/dialfloor.c) is the bench's and a unit test's.
build/san/tests/test_dial_floor: build/san/obj/tests/unit/test_dial_floor.o \
		build/san/obj/tests/bench/dialfloor.o build/san/libkefu.a
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)
# The simulator's unit tests also link its objects (all of tests/sim but its main).
SIM_LIB_SAN := $(patsubst %.c,build/san/obj/%.o,$(filter-out tests/sim/kefu-sim.c,$(SIM_SRC)))
build/san/tests/test_gen_boss build/san/tests/test_traffic: build/san/tests/%: build/san/obj/tests/unit/%.o $(TESTLIB_SAN) $(SIM_LIB_SAN) build/san/libkefu.a
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)
# kefu-sipgw's unit test links its pure parts (SIPGW_PURE).
build/san/tests/test_sipgw: build/san/obj/tests/unit/test_sipgw.o $(TESTLIB_SAN) $(patsubst %.c,build/san/obj/%.o,$(SIPGW_PURE)) build/san/libkefu.a
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)
build/san/fuzz/%: build/san/obj/tests/fuzz/%.o build/san/obj/tests/fuzz/replay/replay.o build/san/libkefu.a
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(PKG_LIBS)

build/san/fuzz/fuzz_ng build/san/fuzz/fuzz_dtmf: build/san/fuzz/%: build/san/obj/tests/fuzz/%.o build/san/obj/tests/fuzz/replay/replay.o $(patsubst %.c,build/san/obj/%.o,$(SIPGW_PURE)) build/san/libkefu.a
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(PKG_LIBS)

san: $(SAN_UNITS) $(SAN_REPLAY) $(addprefix build/san/bin/,$(PROGS)) $(PROMPTS)

# The bench programs are built too, so every source compiles under -Werror.
# The build runs one job per CPU whatever make was called with (CI calls a
# plain `make test`): on two cores it takes half the time.
TEST_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
test:
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) all san $(BENCH_BINS)
	@tests/run.sh

# ---- fuzzing (clang libFuzzer) ----
FUZZ_SECONDS ?= 30
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
build/fuzz/%: build/fuzz/obj/tests/fuzz/%.o build/fuzz/libkefu.a
	$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)
build/fuzz/fuzz_ng build/fuzz/fuzz_dtmf: build/fuzz/%: build/fuzz/obj/tests/fuzz/%.o $(patsubst %.c,build/fuzz/obj/%.o,$(SIPGW_PURE)) build/fuzz/libkefu.a
	$(CLANG) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)
fuzz: $(FUZZ_BINS)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# ---- benchmarks (release flags) ----
build/rel/bench/%: build/rel/obj/tests/bench/%.o build/rel/libkefu.a
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(PKG_LIBS)
build/rel/bench/bench_dialer: build/rel/obj/tests/bench/bench_dialer.o \
		build/rel/obj/tests/bench/dialfloor.o build/rel/libkefu.a
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(PKG_LIBS)
# A rolling upgrade from KEFU_UPGRADE_FROM (default HEAD~1), built in the
# test's own folder, to this build (tests/upgrade/; not in `make test`).
upgrade-test: all
	@sh tests/upgrade/test_rolling_upgrade.sh

bench: all $(BENCH_BINS)
	@tests/bench/run.sh

# ---- the Debian package and the appliance image ----
PROVINCE ?= SC
deb: all
	@deb=$$(appliance/deb/build.sh build/rel/bin) && echo "$$deb" && \
		lintian --fail-on error "$$deb"
appliance: deb
	appliance/image/build.sh $(PROVINCE)

# ---- demo ----
demo: all
	@tests/demo.sh

-include $(shell find build -name '*.d' -type f 2>/dev/null)

endif
