# The two set-up commands of a fresh Debian machine: `make run` and `make test`.
# Everything else here is what they are made of.

BUILD      ?= build
TEST_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja

.PHONY: all deps web build run test test-performance test-tsan test-fuzz fuzz soak bench format clean image

all: build

deps:
	@bash tools/install-deps.sh

# The browser UI (webfiles/ → webfiles/dist/), type-checked, then embedded into build/sloop.
web: deps
	cd webfiles && npm run --silent check && npm run --silent build

CONFIGURE_RELEASE = cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo

# Everything: the programs, the tests and the benchmarks.
build: web
	$(CONFIGURE_RELEASE)
	cmake --build $(BUILD) -j $(JOBS)

# Builds only what it runs: sloop (with the web bundle embedded) and the cluster simulator it
# starts when there is no kubeconfig. Flags for sloop: make run ARGS='-context=prod -port=9090'
run: web
	$(CONFIGURE_RELEASE)
	cmake --build $(BUILD) -j $(JOBS) --target sloop kubesim
	@bash tools/run.sh $(BUILD) $(ARGS)

# The OCI image (build/image/oci, build/image/sloop.tar as sloop:VERSION), without a daemon:
# Debian's runtime libraries (mmdebstrap) + the release build/sloop, packed by umoci and skopeo.
# Reproducible: `tools/image/build-image.sh --check-reproducible` builds twice and compares.
image: build
	@bash tools/install-deps.sh --image
	bash tools/image/build-image.sh --build $(BUILD)

# AddressSanitizer + UndefinedBehaviorSanitizer build and every ctest label but soak (fuzz and
# tsan have their own passes), then the UI's performance test against the optimised build, then
# the ThreadSanitizer build of the store's concurrency tests (label tsan), then each libFuzzer
# target for FUZZ_SECONDS (label fuzz).
test: web
	@bash tools/install-deps.sh --image
	@bash tools/install-deps.sh --objectstore
	cmake -S . -B $(TEST_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DSLOOP_SANITIZE=address,undefined
	cmake --build $(TEST_BUILD) -j $(JOBS)
	@bash tools/install-deploy-tools.sh $(TEST_BUILD)
	cd $(TEST_BUILD) && PATH="$$PATH:$(abspath $(TEST_BUILD))/tools/bin" ctest --output-on-failure -j $(JOBS) \
	  --timeout 600 -LE 'fuzz|soak|tsan'
	$(MAKE) test-performance
	$(MAKE) test-tsan
	$(MAKE) test-fuzz

# The UI's speed (a 6 h view of 10,000+ resources: first rows < 1 s, 60 fps scrolling) measured in
# headless Chromium against the optimised sloop: a sanitizer build says nothing about speed.
test-performance: web
	$(CONFIGURE_RELEASE)
	cmake --build $(BUILD) -j $(JOBS) --target sloop kubesim
	cd $(BUILD) && ctest --output-on-failure -R '^webfiles_performance$$'

test-tsan: deps
	cmake -S . -B build-tsan $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DSLOOP_SANITIZE=thread
	cmake --build build-tsan -j $(JOBS) --target store_test timeline_test
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure --timeout 600 -L tsan

# libFuzzer targets (tests/fuzz, clang): each runs FUZZ_SECONDS on a copy of its committed corpus.
# `make test` runs them briefly; `make fuzz` longer. A crash's input lands in build-fuzz/tests/fuzz/scratch/.
FUZZ_SECONDS ?= 10
test-fuzz:
	@bash tools/install-deps.sh --fuzz
	cmake -S . -B build-fuzz $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-16 \
	  -DCMAKE_CXX_COMPILER=clang++-16 -DSLOOP_FUZZ=ON -DSLOOP_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build build-fuzz -j $(JOBS)
	cd build-fuzz && ctest --output-on-failure -j $(JOBS) -L fuzz

fuzz:
	$(MAKE) test-fuzz FUZZ_SECONDS=300

# Minutes of high churn and queries against the release build (SOAK_SECONDS, default 180): disk
# within -max-disk-mb and memory within the budget at every sample, nothing retained lost.
SOAK_SECONDS ?= 180
soak: build
	cd $(BUILD) && SLOOP_SOAK_SECONDS=$(SOAK_SECONDS) ctest --output-on-failure -L soak

# Every micro and engine benchmark, then the harness on the medium workload (a 10,000-pod day)
# against Sloop's Badger and RocksDB, with the zstd floor. Go is installed first when missing: the
# Badger side is a Go program, and CMake builds it only when it finds go.
bench: web
	@bash tools/install-deps.sh --go
	@bash tools/install-deps.sh --objectstore
	$(CONFIGURE_RELEASE)
	cmake --build $(BUILD) -j $(JOBS)
	@for b in $(BUILD)/bench/*_bench; do \
	  if [ "$$(basename $$b)" = engine_bench ]; then echo "== $$b --object-store"; $$b --object-store; \
	  else echo "== $$b"; $$b; fi; done
	@if [ -x $(BUILD)/bench/sloop-bench ]; then echo "== sloop-bench --generate medium --floor"; \
	  $(BUILD)/bench/sloop-bench --generate medium --floor; fi

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-tsan build-fuzz
