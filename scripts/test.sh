#!/bin/bash
# THE test command of webfuse:   bash scripts/test.sh
#
# 1. installs dependencies (scripts/deps.sh; quick when already installed)
# 2. build/       -DWF_WERROR=ON, runs every ctest label (unit, integration, js, browser)
# 3. build-asan/  -DWF_SANITIZE=ON (ASan+UBSan), runs the unit and integration tests
# 4. build-fuzz/  clang + libFuzzer, runs each fuzz/fuzz_* for WF_FUZZ_SECONDS (20)
# 5. build-portability/  scripts/portability.sh: service-only and provider-only
#    builds, the musl static service (ws:// and wss://) mounting and serving,
#    an arm64 cross build under qemu-user (docs/embedded.md)
# Exits non-zero if anything failed and ends with the ctest summary lines.
#
# Environment:
#   WF_FUZZ_SECONDS   seconds per fuzzer (default 20, 0 skips running fuzzers)
#   WF_BUILD_PREFIX   build directory prefix (default: build -> build, build-asan, build-fuzz)
#   WF_SKIP_DEPS=1    do not run scripts/deps.sh
#   WF_SKIP_ASAN=1 / WF_SKIP_FUZZ=1 / WF_SKIP_PORTABILITY=1   leave out a stage
#   WF_FUZZ_ONLY=1    only build and run the fuzzers (make fuzz-long)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

prefix="${WF_BUILD_PREFIX:-build}"
case "$prefix" in /*) ;; *) prefix="$here/$prefix" ;; esac
fuzz_seconds="${WF_FUZZ_SECONDS:-20}"
jobs="${WF_JOBS:-2}"

failures=()
summaries=()
total_pass=0
total_fail=0

stage() { echo; echo "==== $* ===="; }

# Run ctest, keep its summary line, count passes and failures.
run_ctest() {
  local name="$1"; shift
  local log
  log="$(mktemp)"
  ctest --output-on-failure "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line="$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)"
  if [ -z "$line" ]; then
    line="$(grep -E 'No tests were found' "$log" | tail -n1)"
    [ -n "$line" ] || line="(no summary line)"
  fi
  # a skipped test (missing node or playwright-core) passes in ctest's count: say so
  local skipped
  skipped="$(grep -c '(Skipped)$' "$log")"
  [ "$skipped" -eq 0 ] || line="$line ($skipped skipped: see 'did not run' above)"
  summaries+=("$name: $line")
  local failed total
  failed="$(sed -nE 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/p' <<<"$line")"
  total="$(sed -nE 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/p' <<<"$line")"
  if [ -n "$total" ]; then
    total_fail=$((total_fail + failed))
    total_pass=$((total_pass + total - failed))
  fi
  rm -f "$log"
  if [ "$rc" -ne 0 ]; then
    failures+=("$name (ctest exit $rc)")
  fi
}

# ---------------------------------------------------------------- deps
if [ "${WF_SKIP_DEPS:-0}" != 1 ]; then
  stage "dependencies"
  if ! bash scripts/deps.sh; then
    echo "test.sh: scripts/deps.sh failed" >&2
    exit 1
  fi
fi

# ---------------------------------------------------------------- werror build + all tests
if [ "${WF_FUZZ_ONLY:-0}" = 1 ]; then WF_SKIP_ASAN=1; WF_SKIP_PORTABILITY=1; fi
if [ "${WF_FUZZ_ONLY:-0}" != 1 ]; then
stage "build (WF_WERROR=ON) in $prefix"
if bash scripts/build.sh werror "$prefix"; then
  stage "ctest, all labels ($prefix)"
  pushd "$prefix" >/dev/null
  run_ctest "all" -j1
  popd >/dev/null
else
  failures+=("build (werror)")
fi
fi

# ---------------------------------------------------------------- sanitizers
if [ "${WF_SKIP_ASAN:-0}" != 1 ]; then
  stage "build (WF_SANITIZE=ON) in $prefix-asan"
  # LeakSanitizer cannot run everywhere (e.g. under ptrace); probe it.
  probe_dir="$(mktemp -d)"
  printf '#include <stdlib.h>\nint main(void){return malloc(1)==0;}\n' >"$probe_dir/p.c"
  leaks=1
  if cc -fsanitize=address "$probe_dir/p.c" -o "$probe_dir/p" 2>/dev/null; then
    if ! ASAN_OPTIONS=detect_leaks=1 "$probe_dir/p" >/dev/null 2>&1; then
      if ASAN_OPTIONS=detect_leaks=1 "$probe_dir/p" 2>&1 | grep -q 'LeakSanitizer has encountered a fatal error'; then
        leaks=0
      fi
    fi
  fi
  rm -rf "$probe_dir"
  echo "LeakSanitizer: detect_leaks=$leaks"
  if bash scripts/build.sh asan "$prefix-asan"; then
    stage "ctest, unit + integration under ASan/UBSan ($prefix-asan)"
    pushd "$prefix-asan" >/dev/null
    ASAN_OPTIONS="detect_leaks=$leaks:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    WF_BIGFILE_MIB="${WF_ASAN_BIGFILE_MIB:-64}" \
    WF_FSX_OPS="${WF_ASAN_FSX_OPS:-10000}" \
    WF_SILENCE_TESTS=0 \
      run_ctest "asan" -L 'unit|integration' -j1
    popd >/dev/null
  else
    failures+=("build (asan)")
  fi
fi

# ---------------------------------------------------------------- fuzzers
if [ "${WF_SKIP_FUZZ:-0}" != 1 ]; then
  stage "build fuzzers (clang, WF_FUZZ=ON) in $prefix-fuzz"
  if bash scripts/build.sh fuzz "$prefix-fuzz"; then
    fuzzers=()
    for f in "$prefix-fuzz"/fuzz/fuzz_* "$prefix-fuzz"/fuzz_*; do
      [ -f "$f" ] && [ -x "$f" ] && fuzzers+=("$f")
    done
    if [ "${#fuzzers[@]}" -eq 0 ]; then
      echo "no fuzz targets built (fuzz/fuzz_*.c)"
      summaries+=("fuzz: no fuzz targets")
    elif [ "$fuzz_seconds" = 0 ]; then
      summaries+=("fuzz: ${#fuzzers[@]} targets built, not run (WF_FUZZ_SECONDS=0)")
    else
      fpass=0; ffail=0
      artifacts="$prefix-fuzz/artifacts"
      mkdir -p "$artifacts"
      for f in "${fuzzers[@]}"; do
        name="$(basename "$f")"
        seeds="$here/fuzz/seeds/${name#fuzz_}"
        corpus="$(mktemp -d)"
        if [ -d "$seeds" ]; then cp -r "$seeds"/. "$corpus"/; fi
        stage "fuzz $name for ${fuzz_seconds}s (seeds: $( [ -d "$seeds" ] && echo "fuzz/seeds/${name#fuzz_}" || echo none))"
        if ASAN_OPTIONS="detect_leaks=1" "$f" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
             -print_final_stats=1 -artifact_prefix="$artifacts/$name-" "$corpus" >"$prefix-fuzz/$name.log" 2>&1; then
          tail -n 12 "$prefix-fuzz/$name.log"
          echo "fuzz $name: ok"
          fpass=$((fpass + 1))
        else
          tail -n 60 "$prefix-fuzz/$name.log"
          echo "fuzz $name: FAILED (artifacts in $artifacts, log $prefix-fuzz/$name.log)"
          failures+=("fuzz $name")
          ffail=$((ffail + 1))
        fi
        rm -rf "$corpus"
      done
      total_pass=$((total_pass + fpass)); total_fail=$((total_fail + ffail))
      summaries+=("fuzz: $fpass fuzzers passed, $ffail failed (${fuzz_seconds}s each)")
    fi
  else
    failures+=("build (fuzz)")
  fi
fi

# ---------------------------------------------------------------- portability
if [ "${WF_SKIP_PORTABILITY:-0}" != 1 ]; then
  stage "portability (scripts/portability.sh in $prefix-portability)"
  if WF_BUILD_DIR="$prefix" bash scripts/portability.sh "$prefix-portability"; then
    summaries+=("portability: all checks passed")
    total_pass=$((total_pass + 1))
  else
    summaries+=("portability: FAILED")
    failures+=("portability")
    total_fail=$((total_fail + 1))
  fi
fi

# ---------------------------------------------------------------- summary
stage "summary"
for s in "${summaries[@]}"; do echo "$s"; done
if [ "${#failures[@]}" -gt 0 ]; then
  echo "FAILED: ${failures[*]}"
fi
echo "$total_pass passed, $total_fail failed"
if [ "${#failures[@]}" -gt 0 ]; then
  exit 1
fi
exit 0
