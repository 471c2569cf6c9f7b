"""Reusable helpers for real-browser tests: a Streamlit server on localhost and headless Chromium.

Usage::

    with streamlit_server(db_path) as base_url, chromium() as context:
        page = context.new_page()
        log = RequestLog.attach(page)
        page.goto(f"{base_url}/COP")
        ...
        assert log.external == []

The browser is Debian's ``/usr/bin/chromium`` driven by Playwright (no browser download), with
background networking off and a fresh profile, so every request it makes comes from the page.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CIMIC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--metrics-recording-only",
)


def screenshot_path(name: str) -> Path:
    """Where a browser test saves the screenshot ``name``: ``tests/artifacts/`` (kept by CI), or the
    README's ``docs/img/`` when ``CIMIC_UPDATE_SCREENSHOTS=1``. The folder is created."""
    folder = ("docs/img" if os.environ.get("CIMIC_UPDATE_SCREENSHOTS") == "1" else "tests/artifacts")
    path = PROJECT_ROOT / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_browser() -> None:
    """Skip the test when Playwright or Chromium is not installed."""
    pytest.importorskip("playwright.sync_api")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)")


@contextlib.contextmanager
def streamlit_server(
    db_path: str | os.PathLike,
    *,
    script: str = "app.py",
    env: dict[str, str] | None = None,
    timeout: float = 90.0,
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[str]:
    """Run ``streamlit run <script>`` on a free localhost port with ``CIMIC_DB=db_path``.

    Yields the base URL (``http://127.0.0.1:<port>``) once ``/_stcore/health`` answers ``ok``;
    stops the server (its process group) afterwards. The server's output goes to a log file whose
    tail is shown if it fails to start.
    """
    if Path(db_path).exists():
        ensure_test_account(db_path)
    port = port or free_port()
    run_env = {**os.environ, "CIMIC_DB": str(db_path), "PYTHONUNBUFFERED": "1", **(env or {})}
    log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)  # noqa: SIM115
    cmd = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        *extra_args,
    ]
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=run_env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{_tail(log.name)}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200 and r.read().strip() == b"ok":
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f}s:\n{_tail(log.name)}")
            time.sleep(0.3)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait(timeout=5)
        log.close()
        with contextlib.suppress(OSError):
            os.unlink(log.name)


#: The local account browser tests sign in with (created by :func:`streamlit_server`).
TEST_USER, TEST_PASSWORD = "browser-test", "browser-test-password"


def ensure_test_account(db_path: str | os.PathLike, *, username: str = TEST_USER, password: str = TEST_PASSWORD,
                        role: str = "admin") -> None:
    """Create the local account ``username`` in the store unless it exists (as the OS user running the tests)."""
    from cimic_geo.store import connect, users

    with connect(db_path) as store:
        if users.get_user(store, username) is None:
            users.add_user(store, username, role=role, password=password)


def sign_in(page: object, base_url: str, *, username: str = TEST_USER, password: str = TEST_PASSWORD,
            path: str = "/", timeout_ms: int = 90_000) -> None:
    """Open ``base_url + path`` and sign in through the app's sign-in form, as a user would."""
    page.goto(base_url + path)
    page.get_by_label("User name").fill(username, timeout=timeout_ms)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_text("Signed in as").first.wait_for(timeout=timeout_ms)


def _tail(path: str, n: int = 40) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


@contextlib.contextmanager
def chromium(*, viewport: tuple[int, int] = (1400, 1000), extra_args: tuple[str, ...] = ()) -> Iterator[object]:
    """A Playwright persistent context on Debian's headless Chromium with a fresh profile dir.

    Yields a ``playwright.sync_api.BrowserContext``.
    """
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=[a for a in (*CHROMIUM_ARGS, *extra_args) if a != "--headless"],
                viewport={"width": viewport[0], "height": viewport[1]},
                service_workers="block",
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@dataclass
class RequestLog:
    """Every request a page (and its frames) made, and console errors / uncaught exceptions."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @classmethod
    def attach(cls, page: object) -> RequestLog:
        log = cls()
        page.on("request", lambda r: log.requests.append(r.url))
        page.on("requestfailed", lambda r: log.failed.append(f"{r.url} {r.failure}"))
        page.on("console", lambda m: log.console_errors.append(f"{m.text} @ {m.location}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
        return log

    @property
    def external(self) -> list[str]:
        """Requests to anything but localhost (data:, blob:, about: are local)."""
        out = []
        for url in self.requests:
            parsed = urlparse(url)
            if parsed.scheme in ("data", "blob", "about", "chrome-extension"):
                continue
            if (parsed.hostname or "") not in LOCAL_HOSTS:
                out.append(url)
        return out


def map_frame(page: object, *, timeout_ms: int = 60_000) -> object:
    """The streamlit-folium iframe's Frame once its Leaflet map (``window.map``) exists."""
    page.wait_for_selector('iframe[title="streamlit_folium.st_folium"]', timeout=timeout_ms)
    handle = page.query_selector('iframe[title="streamlit_folium.st_folium"]')
    frame = handle.content_frame()
    frame.wait_for_function("() => window.map && window.L && document.querySelector('.leaflet-container')",
                            timeout=timeout_ms)
    return frame


def open_signed_in(page: object, base_url: str, *, link: str = "COP") -> tuple[RequestLog, object]:
    """Record the page's requests, sign in, open the page ``link`` names and wait for its map; returns the
    request log and the map's Frame."""
    log = RequestLog.attach(page)
    sign_in(page, base_url)
    page.get_by_role("link", name=link).first.click()
    return log, map_frame(page)


def wait_until_idle(page: object, *, timeout_ms: int = 60_000) -> None:
    """Wait until the page's script run has finished and no element is shown faded as stale (for screenshots)."""
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => { const app = document.querySelector('[data-test-script-state]');"
        " return app && app.getAttribute('data-test-script-state') !== 'running'"
        " && document.querySelectorAll('[data-stale=\"true\"]').length === 0; }",
        timeout=timeout_ms)
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
