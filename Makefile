# EMP: `make demo` runs the main job, `make test` passes the tests. See README.md.
SWIFT ?= swift
TSAN_BUILD ?= .build-tsan

.PHONY: all deps build test test-unit test-tsan lint demo bench clean

all: build

deps:
	@scripts/ensure-packages.sh

build: deps
	$(SWIFT) build

# Every test target, then the libvirt concurrency tests again under ThreadSanitizer, then the format lint.
test: deps test-unit test-tsan lint

test-unit:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

test-tsan:
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path $(TSAN_BUILD)
	$(SWIFT) test --skip-build --sanitize=thread --scratch-path $(TSAN_BUILD) --filter LibvirtTests

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

# Runs the control plane on a fresh data directory and walks through it; DEMO_ONCE=1 exits after the walkthrough.
demo: deps
	$(SWIFT) build --product emp-control-plane
	@DEMO_ONCE=$(DEMO_ONCE) scripts/demo.sh

bench: deps
	$(SWIFT) build -c release --product emp-bench
	.build/release/emp-bench

clean:
	rm -rf .build $(TSAN_BUILD) .demo
