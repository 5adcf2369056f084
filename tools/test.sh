#!/usr/bin/env bash
# Builds Ferry and passes every test (what CI runs; works on a fresh Debian 12 machine):
#   1. the application (`ferry`, RelWithDebInfo -O2 as tools/run.sh builds it): warnings
#      that only an optimised build shows fail here, as they would for a user;
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build of everything (benchmarks too)
#      and the whole CTest suite under it;
#   3. a ThreadSanitizer build and run of the scheduler suites and the sync engine's suites
#      (label `engine`);
#   4. the libFuzzer targets (clang, with ASan+UBSan) for the URL parser, the S3 XML parsers and
#      SigV4, each fuzzing FERRY_FUZZ_SECONDS (10) from its corpus.
# FERRY_FULL_CHECKS=1 adds the uninstrumented build and run of the whole suite, and widens 3 to
# every suite that syncs (connectivity, faults, bad input, CLI, controller).
# A sanitizer report anywhere, in a test or in a process it started (the `ferry` binary), fails
# the run: reports go to one file per process under build-*/sanitizer-reports/, checked after
# each stage. Each stage's wall time is printed at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
jobs="$(nproc)"
fuzz_seconds="${FERRY_FUZZ_SECONDS:-10}"
full="${FERRY_FULL_CHECKS:-0}"
if [ "$full" = 1 ]; then
  tsan_labels='scheduler|sync'
else
  tsan_labels='scheduler|engine'
fi

bash tools/setup.sh

# ccache (when installed) makes the later runs' builds incremental across build dirs.
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if command -v ccache >/dev/null; then
  cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true
fi

timings=()
stage_start=0
stage() {
  stage_name="$1"
  stage_start=$SECONDS
  echo "== $stage_name =="
}
stage_done() {
  timings+=("$(printf '%-44s %4d s' "$stage_name" $((SECONDS - stage_start)))")
}

# Fails when the sanitizers of a stage reported anything: ASan/LSan/TSan write one file per
# process under $1 (also from child processes whose exit status a test may not look at, e.g. a
# `ferry` it killed on purpose); UBSan (in GCC's combined ASan+UBSan runtime) prints on stderr,
# which CTest keeps in $2 (LastTest.log) for every test, passed or not.
check_reports() {
  local dir="$1" log="$2" found=0
  if compgen -G "$dir/*" >/dev/null; then
    for report in "$dir"/*; do
      echo "---- $report"
      head -80 "$report"
    done
    found=1
  fi
  if grep -n -E 'runtime error:|ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer' \
    "$log" | head -40; then
    found=1
  fi
  if [ "$found" -ne 0 ]; then
    echo "sanitizer reports (see above): failing"
    exit 1
  fi
}

stage "build (RelWithDebInfo: the application)"
# -g1 (line tables: symbolized stack traces) instead of -g: a third less compile time.
cmake -S . -B build "${cmake_args[@]}" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  >/dev/null
if [ "$full" = 1 ]; then
  cmake --build build -j "$jobs"
else
  cmake --build build -j "$jobs" --target ferry
fi
stage_done

if [ "$full" = 1 ]; then
  stage "tests (uninstrumented)"
  (cd build && ctest --output-on-failure -j "$jobs" --timeout 600)
  stage_done
fi

# The test executables of build dir $1 whose labels match $2 and not $3 (the fixture
# scripts need no build).
targets_for() {
  (cd "$1" && ctest -N -L "$2" -LE "${3:-^$}" | sed -n 's/^ *Test *#[0-9]*: *//p' |
    grep -v '^s3server_')
}

stage "build (AddressSanitizer + UBSan: everything)"
cmake -S . -B build-asan "${cmake_args[@]}" -DFERRY_SANITIZE=address >/dev/null
cmake --build build-asan -j "$jobs"
stage_done

stage "tests (AddressSanitizer + UBSan: the whole suite)"
reports="$root/build-asan/sanitizer-reports"
rm -rf "$reports" && mkdir -p "$reports"
(
  # A report aborts the process (the test fails) and is kept in $reports.
  export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:log_path=$reports/asan"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  export LSAN_OPTIONS="suppressions=$root/tools/lsan.supp:print_suppressions=0"
  cd build-asan && ctest --output-on-failure -j "$jobs" --timeout 900
) || { check_reports "$reports" build-asan/Testing/Temporary/LastTest.log; exit 1; }
check_reports "$reports" build-asan/Testing/Temporary/LastTest.log
stage_done

stage "build (ThreadSanitizer: $tsan_labels)"
cmake -S . -B build-tsan "${cmake_args[@]}" -DFERRY_SANITIZE=thread >/dev/null
# shellcheck disable=SC2046 # one target per word
cmake --build build-tsan -j "$jobs" --target $(targets_for build-tsan "$tsan_labels")
stage_done

stage "tests (ThreadSanitizer: $tsan_labels)"
reports="$root/build-tsan/sanitizer-reports"
rm -rf "$reports" && mkdir -p "$reports"
(
  export QT_NO_GLIB=1 # Qt's own event dispatcher: glib is not instrumented either
  # suppress_equal_addresses=0: TSan looks each race's address up in a list of every address
  # it reported before, suppressed ones included; Qt's uninstrumented queues make a race of
  # each field a batch of 100,000 tasks hands over, and that look-up then took 49 of a test's
  # 50 s. The first report still stops the run.
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 die_after_fork=0 suppress_equal_addresses=0 suppressions=$root/tools/tsan.supp log_path=$reports/tsan"
  cd build-tsan && ctest --output-on-failure -j "$jobs" -L "$tsan_labels" --timeout 1200
) || { check_reports "$reports" build-tsan/Testing/Temporary/LastTest.log; exit 1; }
check_reports "$reports" build-tsan/Testing/Temporary/LastTest.log
stage_done

stage "build (libFuzzer targets, clang)"
cmake -S . -B build-fuzz "${cmake_args[@]}" -DCMAKE_CXX_COMPILER=clang++ -DFERRY_FUZZ=ON \
  -DFERRY_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
cmake --build build-fuzz -j "$jobs"
stage_done

stage "fuzz (${fuzz_seconds} s per target)"
(cd build-fuzz && ctest --output-on-failure -L fuzz)
grep -h '^fuzz fuzz_' build-fuzz/Testing/Temporary/LastTest.log || true
stage_done

echo "== stage times =="
printf '%s\n' "${timings[@]}"
echo "== all tests passed =="
