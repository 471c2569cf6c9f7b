"""A CLI import while the app serves five browser sessions: nobody fails, nobody loses a write.

The app holds DuckDB's file lock only while it runs a page (and ~1 s after), and lets go at once
when another program waits; the CLI waits (bounded) for it. Here the import additionally keeps its
transaction open for a few seconds (the crash test's pause hook), so sessions that sign in (a write
by the app: last sign-in and an audit row) and rerun pages meanwhile have to wait for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cimic_geo.ingest.importer import TEST_PAUSE_ENV
from cimic_geo.store import connect
from cimic_geo.store import users as accounts
from cimic_geo.store.audit import read_audit
from tests.browser_utils import PROJECT_ROOT, chromium, require_browser, streamlit_server

pytestmark = pytest.mark.browser
PASSWORD = "session-test-password"
N_NEW = 200


def _shelters_csv(path: Path) -> Path:
    rows = ["id,name,kind,capacity,occupancy,status,lat,lon"]
    # 200 new shelters on a 20 x 10 grid inside the demo area (37.0-37.95 E, 48.2-48.65 N)
    rows += [f"NIGHTLY-{i:03d},Nightly shelter {i},collective_centre,50,0,open,{48.2 + (i // 20) * 0.05:.2f},"
             f"{37.0 + (i % 20) * 0.05:.2f}" for i in range(N_NEW)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _sign_in(page, base: str, name: str) -> None:
    page.goto(base + "/")
    page.get_by_label("User name").fill(name, timeout=120_000)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _shelters_shown(page) -> int:
    metric = page.locator('[data-testid="stMetric"]', has_text="Shelters").first
    metric.wait_for(timeout=120_000)
    return int(metric.locator('[data-testid="stMetricValue"]').inner_text().replace(",", ""))


def _rerun(page) -> None:
    page.get_by_role("link", name="Home").first.click(timeout=120_000)


def _healthy(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Cannot open the store").count() == 0


def test_cli_import_while_five_sessions_use_the_app(demo_db_copy: Path, tmp_path: Path) -> None:
    require_browser()
    names = [f"s{i}" for i in range(1, 6)]
    with connect(demo_db_copy) as store:
        for name in names:
            accounts.add_user(store, name, role="viewer", password=PASSWORD)
        accounts.add_user(store, "nightly", role="editor", password=PASSWORD)
        before = store.counts()["shelters"]
    csv = _shelters_csv(tmp_path / "nightly.csv")
    with streamlit_server(demo_db_copy) as base, chromium() as context:
        pages = [context.new_page() for _ in names]
        for page, name in zip(pages[:3], names[:3], strict=True):
            _sign_in(page, base, name)
            assert _shelters_shown(page) == before
        # the nightly job, as its service account; it holds its transaction open for 4 s
        cli = subprocess.Popen(
            [sys.executable, "-m", "cimic_geo", "--as", "nightly", "import", "shelters", str(csv), "--mode", "upsert",
             "--source", "nightly job", "--reported-at", "2026-11-21T02:00Z", "--reliability", "B2", "--exercise",
             "--json"],
            cwd=PROJECT_ROOT, env={**os.environ, "CIMIC_DB": str(demo_db_copy), TEST_PAUSE_ENV: "4"},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # meanwhile: two more sessions sign in (writes by the app), three rerun (reads)
        for page, name in zip(pages[3:], names[3:], strict=True):
            _sign_in(page, base, name)
        for page in pages[:3]:
            _rerun(page)
        out, err = cli.communicate(timeout=300)
        assert cli.returncode == 0, err
        assert json.loads(out)["written"] == {"shelters": N_NEW}
        # every session keeps working and shows the imported rows after its next rerun
        for page in pages:
            deadline = time.monotonic() + 120
            while True:
                _rerun(page)
                page.wait_for_timeout(1500)
                _healthy(page)
                if _shelters_shown(page) == before + N_NEW or time.monotonic() > deadline:
                    break
            assert _shelters_shown(page) == before + N_NEW
            assert page.get_by_text("Signed in as").count() >= 1
    with connect(demo_db_copy, read_only=True) as store:
        assert store.counts()["shelters"] == before + N_NEW
        trail = read_audit(store)
    ok = trail[trail["outcome"] == "ok"]
    assert sorted(ok.loc[ok["action"] == "sign_in", "actor"]) == names  # no sign-in of the app was lost
    imp = ok[ok["action"] == "import"]
    assert imp["actor"].tolist() == ["nightly"] and json.loads(imp["row_counts"].iloc[0]) == {"shelters": N_NEW}
