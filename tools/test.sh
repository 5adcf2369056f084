#!/usr/bin/env bash
# Builds Ferry and passes every test: the normal build's whole CTest suite, then a
# ThreadSanitizer build of the scheduler suites. Works on a fresh Debian 12 machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
jobs="$(nproc)"

bash tools/setup.sh

echo "== build (RelWithDebInfo) =="
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$jobs"

echo "== tests =="
(cd build && ctest --output-on-failure -j "$jobs" --timeout 600)

echo "== ThreadSanitizer: scheduler suites =="
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFERRY_SANITIZE=thread >/dev/null
tsan_targets=$(cd build-tsan && ctest -N -L scheduler | sed -n 's/^ *Test *#[0-9]*: *//p')
cmake --build build-tsan -j "$jobs" --target $tsan_targets
export QT_NO_GLIB=1  # Qt's own event dispatcher: glib is not instrumented either
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 die_after_fork=0 suppressions=$root/tools/tsan.supp"
(cd build-tsan && ctest --output-on-failure -j "$jobs" -L scheduler --timeout 900)

echo "== all tests passed =="
