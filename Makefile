# Convenience targets; the real work is done by scripts/*.sh and CMake.
.PHONY: all build demo test bench fuzz-long clean

BUILD_DIR ?= build
FUZZ_LONG_SECONDS ?= 3600

all: build

build:
	bash scripts/build.sh default $(BUILD_DIR)

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

bench: build
	@if [ -x bench/run ]; then bench/run; \
	elif [ -f bench/run ]; then bash bench/run; \
	else echo "bench/run does not exist yet"; exit 1; fi

# Fuzzers for an hour each (override with FUZZ_LONG_SECONDS=N).
fuzz-long:
	WF_SKIP_ASAN=1 WF_FUZZ_SECONDS=$(FUZZ_LONG_SECONDS) WF_FUZZ_ONLY=1 bash scripts/test.sh

clean:
	rm -rf build build-asan build-fuzz
