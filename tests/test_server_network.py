"""The server as `make run` starts it: loopback only, no outside connection, no error details for viewers.

The server runs through the Makefile's ``serve`` target (the command ``make run`` ends with) under
``strace -f``, which records every ``connect``/``sendto``/``sendmsg``/``bind`` of every process and
thread it starts. While it runs, headless Chromium signs in (when the app asks) and opens every page
in the sidebar. Then: the listening socket is bound to 127.0.0.1 only (read from
``/proc/net/tcp{,6}``), nothing answers on the machine's other addresses, and no system call
addressed anything but loopback.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from tests.browser_utils import RequestLog, chromium, free_port, require_browser

ROOT = Path(__file__).resolve().parents[1]

# strace prints socket addresses as inet_addr("a.b.c.d") / inet_pton(AF_INET6, "...") / sin6_addr=...
_IPV4 = re.compile(r'inet_addr\("([0-9.]+)"\)')
_IPV6 = re.compile(r'inet_pton\(AF_INET6, "([0-9a-fA-F:.]+)"')


def _require_strace() -> None:
    if shutil.which("strace") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("strace is not installed (apt-get install strace)")
        pytest.skip("strace is not installed (apt-get install strace)")


def _is_loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1", "0.0.0.0", "::")


def _listening(port: int) -> set[str]:
    """Local addresses with a TCP socket in LISTEN state on ``port`` (from /proc/net/tcp and tcp6)."""
    found: set[str] = set()
    for name, width in (("tcp", 8), ("tcp6", 32)):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/net/{name}").read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                hex_addr, hex_port = local.split(":")
                if state != "0A" or int(hex_port, 16) != port:
                    continue
                raw = bytes.fromhex(hex_addr)
                if width == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:  # four little-endian 32-bit words
                    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                    found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def _other_local_addresses() -> list[str]:
    """IPv4 addresses of this machine's non-loopback interfaces (from /proc/net/fib_trie)."""
    text = Path("/proc/net/fib_trie").read_text() if Path("/proc/net/fib_trie").exists() else ""
    found = re.findall(r"\|-- ([0-9.]+)\n\s+/32 host LOCAL", text)
    return sorted({a for a in found if not a.startswith("127.")})


def _outside_addresses(trace: str) -> list[str]:
    """Lines of the trace whose connect/sendto/sendmsg addressed anything but loopback."""
    bad = []
    for line in trace.splitlines():
        if not re.search(r"\b(connect|sendto|sendmsg)\(", line):
            continue
        addresses = _IPV4.findall(line) + _IPV6.findall(line)
        if any(not _is_loopback(a) for a in addresses):
            bad.append(line)
    return bad


_USER, _PASSWORD = "netcheck", "a long test passphrase 42"
#: Links to the pages in the sidebar (Streamlit's own navigation, or page links the app draws).
_NAV = '[data-testid="stSidebar"] [data-testid="stSidebarNavLink"], [data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]'


def _add_account(db: Path) -> None:
    """An admin account to sign in with, when the app has local accounts."""
    try:
        from cimic_geo.store.users import add_user
    except ImportError:  # an app without sign-in
        return
    from cimic_geo.store import connect

    with connect(db) as store:
        add_user(store, _USER, role="admin", password=_PASSWORD)


def _sign_in_if_asked(page: object) -> None:
    """Sign in through the app's form with the account of :func:`_add_account`.

    A new visitor always gets the sign-in form. The sidebar's page list alone is no sign of being
    signed in: right after a server start Streamlit draws its page-folder list before the app's
    first run replaces it with the sign-in, so wait for the form itself."""
    page.wait_for_selector('input[aria-label="User name"]', timeout=180_000)
    page.locator('input[aria-label="User name"]').fill(_USER)
    page.locator('input[aria-label="Password"]').fill(_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").first.wait_for(timeout=180_000)
    page.locator(_NAV).first.wait_for(timeout=180_000)


def _settle(page: object) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=90_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=180_000)


def test_config_is_closed_by_default() -> None:
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["browser"]["serverAddress"] == "127.0.0.1"
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["client"]["showErrorDetails"] == "none"
    dry = subprocess.run(["make", "-n", "serve"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "HOST": "0.0.0.0"}, check=True).stdout
    assert "--server.address 127.0.0.1" in dry  # an exported HOST does not open the server


@pytest.mark.browser
def test_make_run_listens_on_loopback_only_and_connects_nowhere(demo_db_copy: Path, tmp_path: Path) -> None:
    require_browser()
    _require_strace()
    _add_account(demo_db_copy)
    port = free_port()
    trace_file = tmp_path / "net.trace"
    log_file = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if k not in ("HOST", "URL_HOST")}
    env.update({"PYTHONUNBUFFERED": "1", "CIMIC_DB": str(demo_db_copy)})
    cmd = ["strace", "-f", "-qq", "-s", "64", "-e", "trace=connect,sendto,sendmsg,bind", "-o", str(trace_file),
           "make", "--no-print-directory", "serve", f"PORT={port}", f"DB={demo_db_copy}"]
    with log_file.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    pages_seen: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, log_file.read_text()[-3000:]
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{base}/_stcore/health", timeout=3) as r:
                if r.read().strip() == b"ok":
                    break
            assert time.monotonic() < deadline, log_file.read_text()[-3000:]
            time.sleep(0.5)

        assert _listening(port) == {"127.0.0.1"}
        for address in _other_local_addresses():
            with pytest.raises(OSError), socket.create_connection((address, port), timeout=3):
                pass

        with chromium() as context:
            page = context.new_page()
            requests = RequestLog.attach(page)
            page.goto(base + "/")
            _settle(page)
            _sign_in_if_asked(page)
            _settle(page)
            links = page.locator(_NAV)
            names = [links.nth(i).inner_text().strip() for i in range(links.count())]
            assert len(names) >= 4, names
            for name in names:
                page.locator(_NAV, has_text=name).first.click()
                _settle(page)
                page.wait_for_timeout(1500)  # components (maps) finish loading
                _settle(page)
                body = page.inner_text("body")
                assert "Traceback" not in body, (name, body[:2000])
                assert str(demo_db_copy.parent) not in body, name  # no server paths for viewers
                pages_seen.append(name)
            assert requests.external == []
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    trace = trace_file.read_text()
    # the trace did see the server: it bound its listening socket to loopback
    assert re.search(rf"bind\(\d+, \{{sa_family=AF_INET, sin_port=htons\({port}\), "
                     r'sin_addr=inet_addr\("127\.0\.0\.1"\)', trace), trace[:3000]
    assert _outside_addresses(trace) == [], _outside_addresses(trace)[:10]
    assert len(pages_seen) >= 4
