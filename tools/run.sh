#!/usr/bin/env bash
# Builds Ferry and runs it.
#   tools/run.sh ARGS...   runs the `ferry` binary with ARGS (see `tools/run.sh --help`)
#   tools/run.sh           first run without any account: starts the local S3-compatible
#                          server on 127.0.0.1 with a demo bucket, creates the profile "demo"
#                          over a small sample folder and opens the window (press Sync);
#                          the server stops when Ferry quits. Without a display (no DISPLAY
#                          or WAYLAND_DISPLAY, or FERRY_DEMO_CLI=1) it syncs the demo through
#                          the command line, shows the history and says how to open the window.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash tools/setup.sh >/dev/null
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target ferry >/dev/null
ferry="$root/build/app/ferry"
if [ $# -gt 0 ]; then
  exec "$ferry" "$@"
fi

demo="${FERRY_DEMO_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/ferry-demo}"
mkdir -p "$demo/sample/docs" "$demo/s3"
echo "Ferry demo in $demo (set FERRY_DEMO_DIR to move it)"

# A small sample folder: text files, a name in another script, and one file large enough
# for a multipart upload.
printf 'Hello from Ferry.\n' >"$demo/sample/hello.txt"
printf 'Notes\n=====\nFerry syncs this folder to a bucket.\n' >"$demo/sample/docs/notes.md"
printf 'Grüße aus Köln\n' >"$demo/sample/docs/grüße.txt"
[ -f "$demo/sample/big.bin" ] || head -c 12582912 /dev/urandom >"$demo/sample/big.bin"

rm -f "$demo/s3/port"
tools/s3-test-server --data-dir "$demo/s3/data" --port-file "$demo/s3/port" >/dev/null 2>"$demo/s3/stderr" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  [ -s "$demo/s3/port" ] && break
  kill -0 "$server" 2>/dev/null || { echo "the local S3 server did not start: see $demo/s3/stderr"; exit 1; }
  sleep 0.1
done
[ -s "$demo/s3/port" ] || { echo "the local S3 server did not start within 30 s: see $demo/s3/stderr"; exit 1; }
port="$(cat "$demo/s3/port")"
endpoint="http://127.0.0.1:$port"
echo "Local S3 server: $endpoint (access key ferry-test)"
curl -s -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user ferry-test:testing \
  -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
  -X PUT "$endpoint/demo"

export FERRY_SECRET_STORE=file
data=(--data-dir "$demo/data")
"$ferry" "${data[@]}" profile remove demo >/dev/null 2>&1 || true
printf 'testing' | "$ferry" "${data[@]}" profile add demo --local "$demo/sample" \
  --remote "$endpoint/demo/sample" --access-key-id ferry-test --secret-stdin \
  --multipart-threshold 8388608 --part-size 5242880

if [ -z "${FERRY_DEMO_CLI:-}" ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  echo "Opening Ferry's window: press Sync on the profile \"demo\". Quit Ferry (Ctrl+Q, or the"
  echo "tray's Quit) to stop the demo server."
  "$ferry" "${data[@]}"
  exit $?
fi

"$ferry" "${data[@]}" sync demo
echo
"$ferry" "${data[@]}" history --profile demo --limit 10
echo
echo "No display here (DISPLAY and WAYLAND_DISPLAY are unset), so the demo ran on the command line."
echo "To see the window: run tools/run.sh again from a desktop session; it starts the demo"
echo "server and opens Ferry on the same data ($demo/data). Without a desktop, the window can"
echo "be rendered to PNG files: tools/screenshots OUTDIR"
echo "More commands: tools/run.sh --data-dir \"$demo/data\" status | history | --help"
