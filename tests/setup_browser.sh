#!/usr/bin/env bash
# Installs Debian's chromium for tests/test_browser.py when it is missing.
# Idempotent: does nothing when a chromium binary is already on PATH.
set -euo pipefail

for exe in chromium chromium-browser google-chrome; do
    if command -v "$exe" >/dev/null 2>&1; then
        echo "setup_browser: $exe already installed at $(command -v "$exe")"
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup_browser: apt-get not available; install chromium by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

# Several sessions may share the machine: wait for the dpkg lock instead of failing.
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium
