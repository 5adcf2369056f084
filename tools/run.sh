#!/usr/bin/env bash
# Builds Ferry and runs it; arguments go to the `ferry` binary (see `ferry --help`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash tools/setup.sh >/dev/null
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target ferry >/dev/null
exec build/app/ferry "$@"
