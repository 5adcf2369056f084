#!/bin/sh
# CTest fixture `s3server`: starts and stops tools/s3-test-server in the background.
#
#   s3server-fixture.sh start STATE_DIR   start a fresh server; returns once it answers HTTP
#   s3server-fixture.sh stop STATE_DIR    SIGTERM, wait for the exit
#
# STATE_DIR (tests see it as $FERRY_S3_TEST_DIR) holds:
#   port     the server's port on 127.0.0.1, present while it serves
#   pid      the server's process id
#   data/    Swift's data, rings and server.log (wiped at every start)
#   stdout, stderr   the server's own output
#
# Environment: FERRY_S3_SERVER (path of s3-test-server; default: next to this script in
# ../tools), FERRY_S3_MIN_SEGMENT_SIZE (default 5242880, as on AWS), FERRY_S3_START_TIMEOUT
# and FERRY_S3_STOP_TIMEOUT (seconds, default 30 and 15).
set -eu

action=${1:-}
state=${2:-}
if [ -z "$action" ] || [ -z "$state" ]; then
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
fi

server=${FERRY_S3_SERVER:-$(cd "$(dirname "$0")/../tools" && pwd)/s3-test-server}
min_segment_size=${FERRY_S3_MIN_SEGMENT_SIZE:-5242880}
start_timeout=${FERRY_S3_START_TIMEOUT:-30}
stop_timeout=${FERRY_S3_STOP_TIMEOUT:-15}

log_tail() {
    for f in "$state/stderr" "$state/data/server.log"; do
        if [ -s "$f" ]; then
            echo "--- last lines of $f:" >&2
            tail -n 30 "$f" >&2
        fi
    done
}

# True while $1 is a live (not zombie) process.
process_alive() {
    [ -r "/proc/$1/stat" ] || return 1
    # Field 3 of /proc/PID/stat is the state; the name in field 2 may hold spaces.
    st=$(sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f1)
    [ "$st" != Z ]
}

# True while $1 is a live s3-test-server process (not another one that reused a stale pid).
server_alive() {
    process_alive "$1" || return 1
    tr '\0' ' ' <"/proc/$1/cmdline" | grep -q s3-test-server
}

# Seconds as a count of 0.1 s ticks, for bounded polling.
ticks() { echo $(($1 * 10)); }

stop_server() {
    [ -f "$state/pid" ] || return 0
    pid=$(cat "$state/pid")
    if server_alive "$pid"; then
        kill -TERM "$pid"
        n=$(ticks "$stop_timeout")
        while server_alive "$pid"; do
            n=$((n - 1))
            if [ "$n" -le 0 ]; then
                echo "s3server: pid $pid did not stop within ${stop_timeout}s of SIGTERM;" \
                    "killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
                log_tail
                rm -f "$state/pid" "$state/port"
                return 1
            fi
            sleep 0.1
        done
    fi
    rm -f "$state/pid" "$state/port"
}

case "$action" in
start)
    mkdir -p "$state"
    # A server left over by an interrupted run would hold the data dir.
    stop_server || true
    rm -rf "$state/data" "$state/port" "$state/stdout" "$state/stderr"
    if [ ! -x "$server" ]; then
        echo "s3server: $server is missing or not executable" >&2
        exit 1
    fi
    # No inherited stdio: ctest waits until the pipes of its tests close.
    "$server" --data-dir "$state/data" --port 0 --port-file "$state/port" \
        --min-segment-size "$min_segment_size" \
        </dev/null >"$state/stdout" 2>"$state/stderr" &
    pid=$!
    echo "$pid" >"$state/pid"
    n=$(ticks "$start_timeout")
    while :; do
        # Our own child, so its pid cannot be stale; right after the fork its command line is
        # still this shell's, so only liveness is checked here.
        if ! process_alive "$pid"; then
            echo "s3server: $server exited during start-up" >&2
            log_tail
            rm -f "$state/pid"
            exit 1
        fi
        if [ -s "$state/port" ]; then
            port=$(cat "$state/port")
            if curl -sf --noproxy '*' -o /dev/null --max-time 5 \
                "http://127.0.0.1:$port/healthcheck"; then
                echo "s3server: serving on http://127.0.0.1:$port (pid $pid, data $state/data)"
                exit 0
            fi
        fi
        n=$((n - 1))
        if [ "$n" -le 0 ]; then
            echo "s3server: no answer from the server within ${start_timeout}s" >&2
            log_tail
            stop_server || true
            exit 1
        fi
        sleep 0.1
    done
    ;;
stop)
    if ! stop_server; then
        exit 1
    fi
    echo "s3server: stopped"
    ;;
*)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
