#!/usr/bin/env bash
# Installs every build, test and run dependency of Ferry from Debian 12's packages.
# Idempotent: re-running it installs nothing new. This is the only install step.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang clang-format libclang-rt-14-dev
  # Qt 6 (Core, Widgets, Network, Sql + SQLite driver, Test, Svg) and QCoro
  qt6-base-dev qt6-base-dev-tools libqt6sql6-sqlite qt6-svg-dev libqt6svg6 qt6-qpa-plugins
  qcoro-qt6-dev qtkeychain-qt6-dev
  # the local S3-compatible test server and comparison clients
  python3 python3-swift rclone s3cmd curl awscli
  # SQLite (the store's hot path and the benchmark's baseline), OpenSSL (upload digests;
  # the openssl tool makes the security suite's self-signed certificate)
  libsqlite3-dev sqlite3 libssl-dev openssl
  # desktop integration checks and GUI smoke tests
  desktop-file-utils xvfb xauth
  # the keychain suite: a real Secret Service (gnome-keyring) on a private D-Bus session
  # (dbus-run-session), checked from outside with secret-tool; QtKeychain loads libsecret
  # at run time
  gnome-keyring libsecret-1-0 libsecret-tools dbus dbus-bin dbus-daemon
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: installed ${missing[*]}"
