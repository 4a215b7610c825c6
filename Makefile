# EMP: `make demo` runs the main job, `make test` passes the tests. See README.md.
SWIFT ?= swift

.PHONY: all deps build dist test-dist test-image test test-unit test-slow-clients test-cloud test-postgres test-browser test-vm test-tsan test-fuzz fuzz fuzz-build lint demo bench clean

all: build

deps:
	@scripts/ensure-packages.sh
	@scripts/ensure-python.sh

build: deps
	$(SWIFT) build

# Debian packages and OCI image archives under dist/ (scripts/dist.sh); REGISTRY and VERSION name the images.
REGISTRY ?= localhost/emp
VERSION ?= 0.1.0
dist: deps
	REGISTRY=$(REGISTRY) VERSION=$(VERSION) SWIFT=$(SWIFT) scripts/dist.sh

# Installs what `make dist` built on this machine and checks it as an operator would (root; CI's machine).
test-dist:
	VERSION=$(VERSION) scripts/test-dist.sh

# Builds a node image (images/build-node-image.sh) and boots it under QEMU with the agent's seed (root).
test-image:
	SWIFT=$(SWIFT) images/test-node-image.sh

# Every test target, then the libvirt concurrency tests again under ThreadSanitizer, then the format lint.
test: deps test-unit test-slow-clients test-cloud test-postgres test-browser test-vm test-tsan test-fuzz lint

# A crashing test can leave the runner waiting on the crash backtracer; the timeout turns that into a failure.
TEST_TIMEOUT ?= 1200

# The store tests run on SQLite here and again on SQLite and PostgreSQL in test-postgres.
test-unit:
	$(SWIFT) build --build-tests
	EMP_TEST_STORES=sqlite timeout -k 10 $(TEST_TIMEOUT) $(SWIFT) test --skip-build --skip RealVMTests --skip SlowClientTests \
		--skip ConsoleBrowserTests --skip HostProviderTests --skip EC2ClientTests --skip PostgresStoreTests --skip StoreCopyTests \
		--skip HATests --skip HAProcessTests --skip StoreCopyProcessTests

# 1,000 idle connections against the control plane and the webhook, apart from the rest: that many descriptors
# opening and closing at once crash Foundation's Process.run in tests that start child processes.
test-slow-clients:
	timeout -k 10 $(TEST_TIMEOUT) $(SWIFT) test --skip-build --filter SlowClientTests

# The EC2 host provider against moto's EC2 server (a Python process per test), apart from the rest for the same
# reason as the browser tests: starting moto takes seconds of CPU, which made timing-sensitive tests miss deadlines.
test-cloud:
	timeout -k 10 $(TEST_TIMEOUT) $(SWIFT) test --skip-build --filter "HostProviderTests|EC2ClientTests"

# Beside a throwaway PostgreSQL (scripts/with-postgres.sh): the store tests on both stores, the API on PostgreSQL,
# store copy, and control-plane replicas (in process, and three emp-control-plane processes killed and stopped
# under load); apart from the rest, whose timing-sensitive tests missed deadlines beside five processes and a database.
test-postgres:
	EMP_TEST_STORES=sqlite,postgres timeout -k 10 $(TEST_TIMEOUT) scripts/with-postgres.sh $(SWIFT) test --skip-build \
		--filter "EMPStoreTests|PoolAPITests|StoreConfigurationTests|HATests|HAProcessTests|StoreCopyProcessTests"

# The console in headless Chromium and promtool on a live /metrics, apart from the rest: Chromium's processes take
# both cores for seconds, which made timing-sensitive tests running beside it miss their deadlines.
test-browser:
	timeout -k 10 $(TEST_TIMEOUT) $(SWIFT) test --skip-build --filter ConsoleBrowserTests

# Real libvirtd + QEMU guests (scripts/virt-harness.sh), on their own so the TCG guests have the CPUs: as root on
# Debian they run; elsewhere the suite is skipped with the reason.
test-vm:
	timeout -k 10 $(TEST_TIMEOUT) $(SWIFT) test --skip-build --filter RealVMTests

# Tests/TSan is a small package over the same LibvirtTests sources: only Libvirt and its dependencies get
# built with ThreadSanitizer (about 3 minutes instead of 10 for the whole package).
# Its build folder is .build-tsan at the top, so Tests/ holds only the project's own sources.
test-tsan:
	cd Tests/TSan && $(SWIFT) build --build-tests --sanitize=thread --scratch-path ../../.build-tsan
	cd Tests/TSan && timeout -k 10 $(TEST_TIMEOUT) $(SWIFT) test --skip-build --sanitize=thread --scratch-path ../../.build-tsan

# libFuzzer targets over every decoder of untrusted input (Tests/Fuzz). `make fuzz` runs each for FUZZ_RUNS inputs
# on a release build (figures in docs/benchmarks.md); `make test` runs a short smoke of each on a debug build, which
# compiles faster (CI builds the fuzz package from scratch: every Swift module instrumented).
FUZZ_RUNS ?= 1000000
FUZZ_CONFIG ?= release
FUZZER_LIB = $(firstword $(wildcard $(dir $(realpath $(shell command -v swiftc)))../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a))
fuzz-build:
	cd Tests/Fuzz && $(SWIFT) build -c $(FUZZ_CONFIG) --scratch-path ../../.build-fuzz -Xswiftc -Xfrontend -Xswiftc -sanitize=fuzzer \
		-Xlinker $(FUZZER_LIB) -Xlinker -lstdc++

fuzz: deps
	$(MAKE) fuzz-build FUZZ_CONFIG=release
	scripts/fuzz.sh $(FUZZ_RUNS) release

test-fuzz:
	$(MAKE) fuzz-build FUZZ_CONFIG=debug
	scripts/fuzz.sh 20000 debug

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift

# Control plane + 3 agents on libvirt test-driver hosts, operated with empctl; DEMO_ONCE=1 exits after the walkthrough.
# EMP_STORE=postgres runs the control plane on a throwaway PostgreSQL (scripts/with-postgres.sh) instead of SQLite.
demo: deps
	$(SWIFT) build --product emp-control-plane
	$(SWIFT) build --product emp-agent
	$(SWIFT) build --product empctl
	$(SWIFT) build --product emp-webhook
	@if [ "$(EMP_STORE)" = postgres ]; then DEMO_ONCE=$(DEMO_ONCE) EMP_STORE=postgres scripts/with-postgres.sh scripts/demo.sh; \
	else DEMO_ONCE=$(DEMO_ONCE) scripts/demo.sh; fi

# The fleet benchmark starts the release emp-control-plane beside it: everything is built in release.
# PostgreSQL (for the store and fleet figures on it) runs beside it with fsync on, as in production.
bench: deps
	$(SWIFT) build -c release
	WITH_POSTGRES_DURABLE=1 scripts/with-postgres.sh .build/release/emp-bench

clean:
	rm -rf .build .build-tsan .build-fuzz dist
