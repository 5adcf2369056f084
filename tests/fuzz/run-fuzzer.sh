#!/usr/bin/env bash
# run-fuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS [libFuzzer options...]
# Also by hand, for a longer run: tests/fuzz/run-fuzzer.sh build-fuzz/tests/fuzz/fuzz_s3_xml \
#   tests/fuzz/corpus/s3_xml build-fuzz/tests/fuzz 3600
# Fuzzes from the repo's seeds (read-only) plus the inputs found by earlier runs in WORK_DIR
# for SECONDS, then prints one summary line: `fuzz <name>: <runs> executions in <s> s, ...`.
# A crash, leak, timeout or sanitizer report fails (libFuzzer's exit status) and leaves the
# input in WORK_DIR/crashes/.
set -euo pipefail
fuzzer="$1" seeds="$2" work="$3" seconds="$4"
shift 4
name="$(basename "$fuzzer")"
mkdir -p "$work/corpus/$name" "$work/crashes"
log="$work/$name.log"
dict="$seeds.dict" # corpus/<target>.dict: tokens that help libFuzzer past the parser's syntax
dict_option=()
[ -f "$dict" ] && dict_option=(-dict="$dict")
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$work/crashes/$name-" "${dict_option[@]}" "$@" "$work/corpus/$name" "$seeds" >"$log" 2>&1 ||
  status=$?
runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)"
echo "fuzz $name: ${runs:-?} executions in $seconds s (${rate:-?}/s), ${cov:-cov: ?}," \
  "corpus $(find "$work/corpus/$name" -type f | wc -l) new + $(find "$seeds" -type f | wc -l) seeds"
if [ "$status" -ne 0 ]; then
  tail -60 "$log"
  echo "fuzz $name FAILED (exit $status); inputs in $work/crashes/"
fi
exit "$status"
