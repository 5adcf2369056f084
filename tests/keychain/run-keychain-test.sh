#!/bin/sh
# Runs the keychain suite against a real Secret Service: a private D-Bus session
# (dbus-run-session) with a fresh gnome-keyring daemon whose login keyring lives in a temporary
# HOME/XDG tree, so the user's own session bus and keyring are never touched.
#
#   run-keychain-test.sh TEST_BINARY [Qt Test arguments...]
#
# The daemon is started in two steps, each of which returns only once its work is done (no
# sleeps, no polling): `--login` creates the control socket and takes the login password on stdin;
# `--start` then initializes that daemon through its control socket: it creates and unlocks the
# login keyring (the default collection) and owns org.freedesktop.secrets before it returns.
# (`--unlock` alone forks and returns before the daemon is on the bus: a race.)
set -eu
[ $# -ge 1 ] || { echo "usage: $0 TEST_BINARY [ARGS...]" >&2; exit 2; }
for tool in dbus-run-session dbus-send gnome-keyring-daemon secret-tool; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "keychain test: \`$tool\` is missing: run tools/setup.sh" \
      "(dbus, dbus-bin, gnome-keyring, libsecret-tools)" >&2
    exit 1
  }
done

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ferry-keychain.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$tmp/home" "$tmp/data" "$tmp/config" "$tmp/cache" "$tmp/runtime"
chmod 700 "$tmp/runtime"

# No display (no unlock prompt can appear), no desktop hint (QtKeychain takes libsecret), none of
# the caller's bus, keyring or agent.
env -u DISPLAY -u WAYLAND_DISPLAY -u XDG_CURRENT_DESKTOP -u DESKTOP_SESSION -u KDE_FULL_SESSION \
  -u KDE_SESSION_VERSION -u GNOME_KEYRING_CONTROL -u DBUS_SESSION_BUS_ADDRESS -u SSH_AUTH_SOCK \
  -u FERRY_SECRET_STORE -u QT_NO_GLIB \
  HOME="$tmp/home" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" \
  XDG_CACHE_HOME="$tmp/cache" XDG_RUNTIME_DIR="$tmp/runtime" FERRY_KEYCHAIN_TEST_ROOT="$tmp" \
  dbus-run-session -- sh -c '
    set -eu
    control="$XDG_RUNTIME_DIR/keyring"
    printf test | gnome-keyring-daemon --login --control-directory="$control" >/dev/null
    gnome-keyring-daemon --start --components=secrets --control-directory="$control" >/dev/null
    pid="$(dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus \
      /org/freedesktop/DBus org.freedesktop.DBus.GetConnectionUnixProcessID \
      string:org.freedesktop.secrets | awk "{print \$2}")"
    status=0
    "$@" || status=$?
    # The daemon would also leave with the bus; ending it here leaves nothing behind.
    kill "$pid" 2>/dev/null || true
    exit "$status"
  ' sh "$@"
