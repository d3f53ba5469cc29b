# Entry points. `make demo` and `make test` set everything up themselves (see README.md).
JOBS ?= $(shell nproc)
BUILD ?= build/release
ASAN_BUILD ?= build/asan
TSAN_BUILD ?= build/tsan
PROMPT ?= Once upon a time
MODEL ?= models/stories260K/stories260K.gguf

.PHONY: deps build demo test test-release test-asan test-tsan test-fuzz clean

deps:
	@scripts/setup.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

# Prints the prompt, then the model's greedy continuation (stories260K's context is 128 tokens).
demo: build
	@printf '%s' "$(PROMPT)"
	@$(BUILD)/tools/kaiyuan/kaiyuan run $(MODEL) -p "$(PROMPT)" -n 100 --temp 0

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAIYUAN_SANITIZE=address,undefined
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# The threaded parts under ThreadSanitizer: the thread pool, the engine/scheduler, and the HTTP server
# (its C++ tests and the concurrent Python client suites against a TSan-built `kaiyuan serve`). Only
# the targets those tests need are built; the single-threaded parser tests are left to the other builds.
TSAN_ENV = TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp"
test-tsan: deps
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKAIYUAN_SANITIZE=thread -DKAIYUAN_BUILD_BENCH=OFF
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target core_tests runtime_tests server_tests kaiyuan
	cd $(TSAN_BUILD) && $(TSAN_ENV) ctest --output-on-failure -j $(JOBS) -R '^Parallel\.'
	cd $(TSAN_BUILD) && $(TSAN_ENV) ctest --output-on-failure -j $(JOBS) -L '^(runtime|server)$$' -E '^ToolCallStreaming\.'

# libFuzzer smoke run: every fuzz target for FUZZ_SECONDS (clang-14 build in build/fuzz; docs/FUZZING.md).
FUZZ_SECONDS ?= 30
test-fuzz: deps
	scripts/fuzz.sh all $(FUZZ_SECONDS)

test: test-release test-asan test-tsan test-fuzz

clean:
	rm -rf build
