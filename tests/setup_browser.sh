#!/usr/bin/env bash
# Installs Debian's chromium and its WebDriver (chromium-driver, built from the same
# Chromium) for tests/test_browser.py when they are missing.  Selenium is given the
# driver's path, so nothing is downloaded when the test runs.
# Idempotent: does nothing when both are already on PATH.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    echo "setup_browser: chromium and chromedriver already installed at $(command -v chromium), $(command -v chromedriver)"
    exit 0
fi

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
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
command -v chromium
command -v chromedriver
