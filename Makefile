# dsrlb build. `make test` and `make demo` do their own setup (make deps).
SHELL := /bin/bash
CLANG ?= clang
BPF_CFLAGS := -O2 -g -target bpf -Wall -Werror -Wno-unused-function \
	-I bpf/include -I bpf/lib -I /usr/include/$(shell uname -m)-linux-gnu
BPF_SRCS := $(wildcard bpf/*.c)
# Another build of the objects (the upgrade tests' other map layout): make bpf BPF_OUT=dir BPF_EXTRA_CFLAGS=-D...
BPF_OUT ?= build/bpf
BPF_EXTRA_CFLAGS ?=
BPF_OBJS := $(patsubst bpf/%.c,$(BPF_OUT)/%.o,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/include/*.h bpf/lib/*.h)
ADDON := build/addon/Release/dsrlb_native.node
# The lab's flood generator (tools/syn-ack-flood.c): a userspace program, not BPF.
FLOOD := build/tools/syn-ack-flood
TS_SRCS := $(shell find src -name '*.ts' 2>/dev/null)
# Suites in run order; TESTS=... overrides (e.g. make test TESTS=test/unit/plan.test.ts).
TESTS ?= 'test/unit/**/*.test.ts' 'test/bpf/**/*.test.ts' 'test/k8s/**/*.test.ts' 'test/helm/**/*.test.ts' 'test/agent/**/*.test.ts' 'test/e2e/**/*.test.ts'

.PHONY: all deps bpf addon ts tools build test demo bench clean
all: build

deps:
	@bash scripts/deps.sh

bpf: $(BPF_OBJS)
$(BPF_OUT)/%.o: bpf/%.c $(BPF_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(BPF_EXTRA_CFLAGS) -c $< -o $@

addon: $(ADDON)
$(ADDON): addon/CMakeLists.txt $(wildcard addon/src/*.cc addon/src/*.h)
	npx cmake-js compile --directory addon --out build/addon --log-level error

src/bpf/consts.generated.ts: bpf/include/dsrlb.h scripts/gen-consts.ts
	npx tsx scripts/gen-consts.ts bpf/include/dsrlb.h > $@.tmp && mv $@.tmp $@

ts: src/bpf/consts.generated.ts
	npx tsc -p tsconfig.json --noEmit
	npx tsc -p tsconfig.build.json

tools: $(FLOOD)
$(FLOOD): tools/syn-ack-flood.c
	@mkdir -p $(@D)
	$(CLANG) -O2 -Wall -Werror -o $@ $<

build: deps bpf addon ts tools

test: build
	@bash scripts/test.sh $(TESTS)

demo: build
	node bin/lbctl.js lab demo

bench: build
	@bash scripts/bench.sh

clean:
	rm -rf build dist
