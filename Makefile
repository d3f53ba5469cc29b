# Entry points. `make demo` and `make test` set everything up themselves (see README.md).
JOBS ?= $(shell nproc)
BUILD ?= build/release
ASAN_BUILD ?= build/asan
PROMPT ?= Once upon a time
MODEL ?= models/stories260K/stories260K.gguf

.PHONY: deps build demo test test-release test-asan clean

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

test: test-release test-asan

clean:
	rm -rf build
