"""Signing in for real in headless Chromium: local accounts, an OpenID Connect provider, idle timeout.

The identity provider is ``oidc-provider-mock`` on a localhost port; the app reads its settings from
a secrets file of the test (``--secrets.files``), exactly as a deployment's ``.streamlit/secrets.toml``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from playwright.sync_api import expect

from cimic_geo.store import connect
from cimic_geo.store import users as accounts
from cimic_geo.store.audit import read_audit
from tests.browser_utils import (
    RequestLog,
    chromium,
    free_port,
    require_browser,
    sign_in,
    streamlit_server,
)

pytestmark = pytest.mark.browser
PASSWORD = "a-long-test-password"


def _add(db: Path, name: str, role: str, *, disabled: bool = False, email: str | None = None) -> None:
    with connect(db) as store:
        accounts.add_user(store, name, role=role, password=PASSWORD, email=email)
        if disabled:
            accounts.set_disabled(store, name, True)


def _try_sign_in(page, name: str, password: str) -> None:
    page.get_by_label("User name").fill(name, timeout=90_000)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def _no_data(page) -> None:
    """Nothing of the store is on the page: no marking banner, no metrics, no tables, no map, no nav."""
    for selector in (".cimic-marking", '[data-testid="stMetric"]', '[data-testid="stDataFrame"]',
                     'iframe[title="streamlit_folium.st_folium"]', '[data-testid="stSidebarNav"]',
                     '[data-testid="stSidebar"] a'):
        # elements of the previous run disappear when the new run ends
        expect(page.locator(selector)).to_have_count(0, timeout=30_000)


def test_local_accounts_wrong_password_disabled_and_sign_out(demo_db_copy: Path) -> None:
    require_browser()
    _add(demo_db_copy, "pat", "planner")
    _add(demo_db_copy, "dis", "editor", disabled=True)
    with streamlit_server(demo_db_copy) as base, chromium() as context:
        page = context.new_page()
        log = RequestLog.attach(page)
        page.goto(base + "/COP")  # a deep link does not get past the gate either
        page.get_by_role("heading", name="Sign in").wait_for(timeout=90_000)
        _no_data(page)

        _try_sign_in(page, "pat", "wrong-password!")
        page.get_by_text("wrong user name or password").wait_for(timeout=60_000)
        _no_data(page)
        _try_sign_in(page, "dis", PASSWORD)
        page.get_by_text("this account is disabled").wait_for(timeout=60_000)
        _no_data(page)

        _try_sign_in(page, "pat", PASSWORD)
        page.get_by_text("Signed in as").first.wait_for(timeout=90_000)
        assert "pat" in page.get_by_text("Signed in as").first.inner_text()
        page.locator("h1", has_text="CIMIC situational awareness").first.wait_for(timeout=90_000)
        page.locator(".cimic-marking").first.wait_for(timeout=60_000)
        page.locator('[data-testid="stSidebarNav"]').wait_for(timeout=60_000)
        nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert "Corridor planner" in nav and "Import" in nav and "Audit" not in nav  # audit: admins only

        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("heading", name="Sign in").wait_for(timeout=60_000)
        _no_data(page)
        assert log.external == [], log.external

    with connect(demo_db_copy, read_only=True) as store:
        trail = read_audit(store, layer="users")
    got = [(r.actor, r.action, r.outcome) for r in trail.itertuples()][::-1]
    assert got[-4:] == [("pat", "sign_in", "refused"), ("dis", "sign_in", "refused"), ("pat", "sign_in", "ok"),
                        ("pat", "sign_out", "ok")]


def test_idle_session_expires_and_hides_the_data(demo_db_copy: Path) -> None:
    require_browser()
    _add(demo_db_copy, "ida", "viewer")
    # 0.1 min = 6 s without activity; the sidebar timer checks every 2 s
    with streamlit_server(demo_db_copy, env={"CIMIC_IDLE_TIMEOUT_MIN": "0.1"}) as base, chromium() as context:
        page = context.new_page()
        sign_in(page, base, username="ida", password=PASSWORD)
        page.locator(".cimic-marking").first.wait_for(timeout=90_000)
        # nobody touches the page: the timer signs the user out and the data disappears
        page.get_by_text("signed out after 0.1 min without activity").wait_for(timeout=60_000)
        page.get_by_role("heading", name="Sign in").wait_for(timeout=30_000)
        _no_data(page)
    with connect(demo_db_copy, read_only=True) as store:
        outs = read_audit(store, user="ida", action="sign_out")
    assert outs["detail"].tolist() == ["signed out after 0.1 min without activity"]


def test_sign_in_through_openid_connect_provider(demo_db_copy: Path, tmp_path: Path) -> None:
    require_browser()
    mock = pytest.importorskip("oidc_provider_mock")
    _add(demo_db_copy, "vlad", "viewer", email="vlad@example.org")  # role from the local account
    port = free_port()
    users = [mock.User(sub="olga", claims={"email": "olga@example.org", "preferred_username": "olga",
                                           "roles": ["cimic-planners"]}),
             mock.User(sub="vlad", claims={"email": "vlad@example.org"}),
             mock.User(sub="zed", claims={"email": "zed@example.org"})]
    with mock.run_server_in_thread(user_claims=users) as idp:
        secrets_file = tmp_path / "secrets.toml"
        secrets_file.write_text(
            "[auth]\n"
            f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            f'cookie_secret = "{secrets.token_hex(16)}"\n'
            'client_id = "cimic-app"\nclient_secret = "cimic-secret"\n'
            f'server_metadata_url = "http://localhost:{idp.server_port}/.well-known/openid-configuration"\n'
            "[cimic_auth]\n"
            'provider_label = "Test IdP"\nrole_claim = "roles"\n'
            'role_map = { "cimic-planners" = "planner" }\n'
        )
        with streamlit_server(demo_db_copy, port=port, extra_args=("--secrets.files", str(secrets_file))) as base, \
                chromium() as context:
            page = context.new_page()
            page.goto(base + "/")
            for sub, expect in (("olga", "olga** · planner"), ("vlad", "vlad** · viewer"), ("zed", None)):
                page.get_by_role("button", name="Sign in with Test IdP").click(timeout=90_000)
                page.wait_for_url(f"http://localhost:{idp.server_port}/**", timeout=60_000)
                page.get_by_role("button", name=sub).click()  # the provider's one-click user
                page.wait_for_url(f"{base}/**", timeout=60_000)
                if expect is None:  # signed in at the provider but no role here: no data
                    page.get_by_text("have no role in this app").wait_for(timeout=90_000)
                    _no_data(page)
                    page.get_by_role("button", name="Sign out of the identity provider").click()
                else:
                    box = page.get_by_text("Signed in as").first
                    box.wait_for(timeout=90_000)
                    assert expect.replace("**", "") in box.inner_text()
                    page.locator(".cimic-marking").first.wait_for(timeout=90_000)
                    page.get_by_role("button", name="Sign out").click()
                # st.logout ends the session at the provider too (RP-initiated logout), then comes back
                end = page.get_by_role("button", name="End session")
                back = page.get_by_role("button", name="Sign in with Test IdP")
                end.or_(back).first.wait_for(timeout=60_000)
                if end.count():
                    end.click()
                back.wait_for(timeout=60_000)
                _no_data(page)
    with connect(demo_db_copy, read_only=True) as store:
        ins = read_audit(store, action="sign_in")
    assert {(r.actor, r.actor_kind, r.role) for r in ins.itertuples()} >= {("olga", "oidc", "planner"),
                                                                           ("vlad", "oidc", "viewer")}
