"""The built docs site in headless Chromium: every page renders with no console error,
and the gallery index shows one card per example.

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe``
(messages are NUL-terminated JSON on file descriptors 3 and 4): no port to pick, no
websocket library, and the browser dies with its pipes.  ``tests/setup_browser.sh``
installs Debian's ``chromium``; without it the test skips and says why.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import build_gallery  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
    "--window-size=1280,900",
]
PAGE_TIMEOUT_S = 30.0


def _chromium() -> str | None:
    for exe in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(exe)
        if path:
            return path
    return None


class CDP:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, exe: str, user_data_dir: str) -> None:
        to_child_r, self._to_child_w = os.pipe()
        self._from_child_r, from_child_w = os.pipe()

        def wire_fds() -> None:  # runs in the child: Chromium reads fd 3, writes fd 4
            # Move both ends above 4 first so the second dup2 cannot clobber the first.
            r, w = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=wire_fds,
            # Keep 3 and 4 open through exec: preexec_fn fills them, close_fds spares them.
            pass_fds=(3, 4),
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._next_id = 0
        self._buf = b""
        self.events: list[dict[str, Any]] = []
        self._stderr: list[bytes] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr[-40:]).decode(errors="replace")

    def _read_message(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from Chromium")
            ready, _, _ = select.select([self._from_child_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_child_r, 1 << 16)
            if not chunk:
                raise ConnectionError(f"Chromium closed the debugging pipe:\n{self.stderr}")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = PAGE_TIMEOUT_S) -> dict[str, Any]:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, session: str, timeout: float = PAGE_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for i, ev in enumerate(self.events):
            if ev.get("method") == method and ev.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            ev = self._read_message(deadline)
            if ev.get("method") == method and ev.get("sessionId") == session:
                return ev
            self.events.append(ev)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child_w, self._from_child_r):
            try:
                os.close(fd)
            except OSError:
                pass


class Tab:
    """One page target with the Runtime, Log and Page domains on, collecting errors."""

    def __init__(self, cdp: CDP) -> None:
        self.cdp = cdp
        target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            cdp.send(f"{domain}.enable", session=self.session)

    def open(self, url: str) -> list[str]:
        """Load ``url``; return the console errors, exceptions and failed loads it caused."""
        self.cdp.events = [e for e in self.cdp.events if e.get("sessionId") != self.session]
        self.cdp.send("Page.navigate", {"url": url}, session=self.session)
        self.cdp.wait_event("Page.loadEventFired", self.session)
        # Let scripts that run after load (search worker, highlighting) report their errors.
        self.evaluate("new Promise(r => setTimeout(r, 300))", await_promise=True)
        errors = []
        for ev in self.cdp.events:
            if ev.get("sessionId") != self.session:
                continue
            p = ev.get("params", {})
            if ev.get("method") == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                errors.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
            elif ev.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif ev.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
                errors.append(f"log: {p['entry']['text']} ({p['entry'].get('url', '')})")
        return errors

    def evaluate(self, expr: str, await_promise: bool = False) -> Any:
        res = self.cdp.send(
            "Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": await_promise},
            session=self.session,
        )
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expr}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.cdp.send("Page.captureScreenshot", {"format": "png"}, session=self.session)["data"]
        path.write_bytes(base64.b64decode(data))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def server(site: Path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def tab():
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium is not installed (bash tests/setup_browser.sh installs it with apt)")
    with tempfile.TemporaryDirectory(prefix="auctionc-chromium-") as profile:
        cdp = CDP(exe, profile)
        try:
            yield Tab(cdp)
        finally:
            cdp.close()


def _screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("AUCTIONC_SCREENSHOT_DIR")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_gallery_index_shows_every_example(tab: Tab, server: str, tmp_path_factory) -> None:
    expected = [ex.name for ex in build_gallery.read_examples()]
    errors = tab.open(f"{server}/gallery/")
    assert errors == []
    cards = tab.evaluate(
        "[...document.querySelectorAll('a.gallery-card')].map(a => ({name: a.dataset.example,"
        " title: a.querySelector('.gallery-title').textContent,"
        " headline: a.querySelector('.gallery-headline').textContent,"
        " visible: a.getBoundingClientRect().height > 0}))"
    )
    assert [c["name"] for c in cards] == expected
    assert all(c["visible"] and c["title"] and c["headline"] for c in cards)
    shots = _screenshot_dir(tmp_path_factory)
    tab.screenshot(shots / "gallery.png")
    assert (shots / "gallery.png").stat().st_size > 10_000


def test_every_page_renders_without_console_errors(tab: Tab, server: str, site: Path, tmp_path_factory) -> None:
    pages = sorted(p.relative_to(site).parent.as_posix() for p in site.rglob("index.html"))
    assert len(pages) >= 11  # the hand-written pages, plus the gallery
    failures = {}
    for page in pages:
        url = f"{server}/" if page == "." else f"{server}/{page}/"
        errors = tab.open(url)
        title = tab.evaluate("document.querySelector('article h1') && document.querySelector('article h1').textContent")
        if errors or not title:
            failures[page] = errors or ["no <h1> in the article"]
    assert failures == {}
    # Highlighting is done by our lexer: .auction code is tokenised, comments included.
    tab.open(f"{server}/language/")
    counts = tab.evaluate(
        "({blocks: document.querySelectorAll('.language-auction').length,"
        " keywords: document.querySelectorAll('.language-auction .k, .language-auction .kd').length,"
        " comments: document.querySelectorAll('.language-auction .c1').length})"
    )
    assert counts["blocks"] >= 20 and counts["keywords"] > 100 and counts["comments"] > 5
    tab.open(f"{server}/")
    tab.screenshot(_screenshot_dir(tmp_path_factory) / "home.png")
