"""The built docs site in headless Chromium: every page renders with no console error, the
gallery index shows one card per example with a picture and a certificate status, and a person
can click through it (open a card, see the figure and the certificate, follow the link to the
spec).

Chromium is Debian's package, driven by Selenium through Debian's ``chromium-driver`` (the
driver of the same Chromium build): the driver's path is given, so Selenium never looks for or
downloads one.  ``tests/setup_browser.sh`` installs both; without them the test skips and says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
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
    "--window-size=1280,900",
]
PAGE_TIMEOUT_S = 30.0


def _which(*names: str) -> str | None:
    return next((path for name in names if (path := shutil.which(name))), None)


class Tab:
    """One Chromium window: open a page and collect its console errors."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def open(self, url: str) -> list[str]:
        """Load ``url``; return the console errors and failed loads it caused."""
        self.driver.get_log("browser")  # drop what earlier pages logged
        self.driver.get(url)
        return self.settle()

    def settle(self) -> list[str]:
        """Let scripts that run after load (search worker, highlighting) report their errors."""
        self.driver.execute_async_script("const done = arguments[0]; setTimeout(done, 300);")
        return [f"{e['level']}: {e['message']}" for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def evaluate(self, expr: str) -> Any:
        return self.driver.execute_script(f"return ({expr});")

    def screenshot(self, path: Path) -> None:
        self.driver.save_screenshot(str(path))


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
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
    exe, driver_exe = _which("chromium", "chromium-browser"), _which("chromedriver")
    if exe is None or driver_exe is None:
        pytest.skip("chromium or chromium-driver is not installed (bash tests/setup_browser.sh installs both with apt)")
    options = webdriver.ChromeOptions()
    options.binary_location = exe
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with tempfile.TemporaryDirectory(prefix="auctionc-chromium-") as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_exe))
        driver.set_page_load_timeout(PAGE_TIMEOUT_S)
        driver.set_script_timeout(PAGE_TIMEOUT_S)
        try:
            yield Tab(driver)
        finally:
            driver.quit()


def _screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("AUCTIONC_SCREENSHOT_DIR")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_gallery_index_shows_every_example(tab: Tab, server: str, tmp_path_factory) -> None:
    examples = build_gallery.read_examples()
    errors = tab.open(f"{server}/gallery/")
    assert errors == []
    # the pictures load lazily, as a person scrolls: load them all, then wait for them
    tab.driver.execute_async_script(
        "const done = arguments[0];"
        "document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager');"
        "Promise.all([...document.images].map(i => i.complete ? 0 : new Promise(r => i.onload = i.onerror = r)))"
        ".then(() => done());")
    cards = tab.evaluate(
        "[...document.querySelectorAll('a.gallery-card')].map(a => ({name: a.dataset.example,"
        " title: a.querySelector('.gallery-title').textContent,"
        " headline: a.querySelector('.gallery-headline').textContent,"
        " image: (i => i ? i.complete && i.naturalWidth > 0 : null)(a.querySelector('img.gallery-thumb')),"
        " cert: a.querySelector('.gallery-cert').dataset.cert,"
        " status: a.querySelector('.gallery-cert').textContent,"
        " visible: a.getBoundingClientRect().height > 0}))"
    )
    assert [c["name"] for c in cards] == [ex.name for ex in examples]
    assert all(c["visible"] and c["title"] and c["headline"] for c in cards)
    # every card says what its certificate is, in words
    for c in cards:
        assert (c["cert"], c["status"].split(":")[0]) in {
            ("pass", "certificate PASS"), ("fail", "certificate FAIL"), ("none", "no certificate (a simulation)"),
            ("none", "not verified"), ("none", "certificate")}, c
    # every card whose stored result has a figure shows it, loaded; the others are the results
    # that store none (named here so that a new gap shows)
    with_figure = {ex.name for ex in examples if build_gallery.main_figure(ex)}
    assert {c["name"] for c in cards if c["image"]} == with_figure
    assert {c["name"] for c in cards if c["image"] is None} == {ex.name for ex in examples} - with_figure
    shots = _screenshot_dir(tmp_path_factory)
    tab.screenshot(shots / "gallery.png")
    assert (shots / "gallery.png").stat().st_size > 10_000


def test_click_through_the_gallery(tab: Tab, server: str) -> None:
    """As a person would: open a card, see its figure and its certificate, follow the link to
    the spec."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(tab.driver, PAGE_TIMEOUT_S)
    for name, verdict in (("manelli_vincent", "PASS"), ("myerson_lp", "FAIL")):
        tab.open(f"{server}/gallery/")
        card = tab.driver.find_element(By.CSS_SELECTOR, f'a.gallery-card[data-example="{name}"]')
        tab.driver.execute_script("arguments[0].scrollIntoView()", card)
        card.click()
        wait.until(expected_conditions.url_contains(f"/gallery/{name}/"))
        assert tab.settle() == []
        figure = tab.driver.find_element(By.CSS_SELECTOR, f'article img[src*="results/{name}-"]')
        wait.until(lambda _, img=figure: img.get_property("complete"))
        assert figure.get_property("naturalWidth") > 0 and figure.is_displayed()
        admonition = tab.driver.find_element(By.CSS_SELECTOR, "article .admonition.success, article .admonition.failure")
        assert "certificate" in admonition.text and verdict in admonition.text, admonition.text
        link = tab.driver.find_element(By.LINK_TEXT, f"examples/{name}.auction")
        link.click()
        wait.until(expected_conditions.url_contains("#spec"))
        spec = tab.driver.find_element(By.CSS_SELECTOR, "article .language-auction")
        assert f"auction {name}" in spec.text and spec.is_displayed()
        assert tab.evaluate("document.getElementById('spec').getBoundingClientRect().top < 300")


def test_code_on_the_home_page_fits(tab: Tab, server: str) -> None:
    """The pipeline diagram (and the spec above it) fit their boxes: nothing cut off or scrolled."""
    tab.open(f"{server}/")
    wide = tab.evaluate("[...document.querySelectorAll('article pre > code')]"
                        ".filter(c => c.textContent.includes('Spec IR') && c.scrollWidth > c.clientWidth + 1)"
                        ".map(c => c.textContent.slice(0, 40))")
    assert wide == []


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
