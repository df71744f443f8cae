#!/usr/bin/env bash
# Sets up a fresh machine and runs every test that needs no GPU:
#   1. clang-format check
#   2. Release build: unit tests (GoogleTest) and lit/FileCheck tests via CTest
#   3. the Python package: installed with pip, its pytest suite; the wheel
#      in a fresh virtual environment with NVIDIA's NVRTC wheel
#   4. ASan+UBSan build of the same tests
#   5. the libFuzzer targets (front end, back end, cache entries) over their
#      checked-in corpora for a bounded time
# Set FUZZ_SECONDS (default 60) to fuzz longer or shorter; SKIP_SANITIZERS=1
# and SKIP_FUZZ=1 skip steps 4 and 5 for a quick local run.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/bootstrap.sh

echo "== clang-format"
files=$(git ls-files '*.cpp' '*.h' 2>/dev/null || find dsl include tools tests -name '*.cpp' -o -name '*.h')
clang-format-14 --dry-run --Werror $files

echo "== release build and tests"
BUILD_DIR=build bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$jobs"

echo "== Python package: pip install ., then pytest"
# The README's install line (scikit-build-core builds libmaskjit in
# build/python); the tests then import the installed package, from outside
# the tree. GPU tests skip themselves without torch and a GPU.
python3 -m pip install --root-user-action=ignore --quiet numpy pytest matplotlib
python3 -m pip install --root-user-action=ignore --quiet .
(cd /tmp && python3 -m pytest -q "$OLDPWD/python/tests")
echo "== the wheel (pip wheel .), installed with NVRTC from NVIDIA's wheel"
bash scripts/test_wheel.sh

if [ "${SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== ASan+UBSan build and tests"
  BUILD_DIR=build-asan BUILD_TYPE=RelWithDebInfo bash scripts/build.sh -DMASKJIT_SANITIZE=ON
  # LeakSanitizer's own tracer crashes (signal 11 in StopTheWorld,
  # "LeakSanitizer has encountered a fatal error") at the exit of the API
  # test that compiles with NVRTC through libmaskjit.so, after the test has
  # passed, when the machine is loaded: that test runs with leak detection
  # off, everything else with it on.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -E '^Api[.]CompileWithoutAGpu$'
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -R '^Api[.]CompileWithoutAGpu$'
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  # Three targets: the front end (parser, sema, evaluator); the back end
  # (specialize, schedule, EmitC, kernel source; the evaluator as oracle of
  # the block map); the kernel cache's entry reader. Each starts from its
  # kept corpus, copied so that the run's new inputs stay out of the tree.
  CC=clang-14 CXX=clang++-14 BUILD_DIR=build-fuzz BUILD_TYPE=RelWithDebInfo \
    TARGETS="maskjit_frontend_fuzzer maskjit_backend_fuzzer maskjit_cache_fuzzer" \
    bash scripts/build.sh -DMASKJIT_FUZZ=ON -DMASKJIT_BUILD_TESTS=OFF
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  fuzz() { # target corpus seconds max_len [extra libFuzzer flags]
    local target=$1 corpus=$2 seconds=$3 maxlen=$4
    shift 4
    echo "== libFuzzer: $target, $seconds s"
    mkdir -p "$work/$target"
    cp "$corpus"/* "$work/$target"/
    # A crashing input is kept under build-fuzz/artifacts/, not in the tree.
    mkdir -p build-fuzz/artifacts
    "build-fuzz/tests/fuzz/$target" -max_total_time="$seconds" -max_len="$maxlen" \
      -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/ \
      "$@" "$work/$target" 2>&1 | tail -n 6
  }
  fuzz maskjit_frontend_fuzzer tests/fuzz/corpus "${FUZZ_SECONDS:-60}" 4096 -dict=tests/fuzz/mask.dict
  fuzz maskjit_backend_fuzzer tests/fuzz/backend-corpus "${FUZZ_SECONDS:-60}" 4096 -dict=tests/fuzz/mask.dict
  fuzz maskjit_cache_fuzzer tests/fuzz/cache-corpus "${CACHE_FUZZ_SECONDS:-20}" 512
fi
echo "== all tests passed"
