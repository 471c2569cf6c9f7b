"""Sign-in gate of the app: identity provider (OpenID Connect) or local accounts, sign out, idle timeout.

Every page run goes through :func:`require_sign_in` (``app.py`` before the navigation, and
:func:`cimic_geo.ui.common.page_setup` again): an anonymous visitor sees the sign-in and nothing else.

* **Identity provider.** When ``.streamlit/secrets.toml`` has an ``[auth]`` section, Streamlit's own
  ``st.login`` signs users in through the provider (Keycloak, ADFS, Entra ID ...). The role comes
  from a claim (``[cimic_auth] role_claim = "roles"`` with ``role_map = {"cimic-planners" =
  "planner", ...}``) or, without one, from the local account whose e-mail or user name matches the
  user's e-mail; a user with neither has no access.
* **Local accounts** (``python -m cimic_geo users ...``): user name and password, checked against the
  argon2 hash in the store. A one-time password must be replaced at the first sign-in. The sign-in
  lasts for the browser tab's session (a reload asks again).
* **Idle timeout**: no interaction for ``idle_timeout_min`` minutes (default 30, env
  ``CIMIC_IDLE_TIMEOUT_MIN``) signs the user out; a timer in the sidebar checks every minute, so
  an unattended screen does not keep showing data.

The account is read again on every run, so disabling a user or changing their role takes effect at
their next interaction.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from cimic_geo import auth
from cimic_geo.auth import Actor
from cimic_geo.errors import AuthenticationError, CimicError
from cimic_geo.i18n import N_, _, fmt_number, term
from cimic_geo.schema import ROLES
from cimic_geo.store import Store
from cimic_geo.store import users as accounts
from cimic_geo.ui.common import plain

_STATE = "_cimic_auth"
_PENDING = "_cimic_auth_pending_change"
_NOTICE = "_cimic_auth_notice"

#: In-process tests of single pages (``streamlit.testing.v1.AppTest``) sign in by setting this
#: with :func:`signed_in_for_tests`; no setting, file or request can set it, and the server never does.
_TEST_ACTOR: list[Actor] = []


@dataclass(frozen=True)
class AuthSettings:
    """Sign-in settings from ``[cimic_auth]`` in the secrets file (and env for the timeout)."""

    oidc: bool = False
    provider: str | None = None
    provider_label: str = "the identity provider"
    role_claim: str | None = None
    role_map: dict[str, str] = field(default_factory=dict)
    local_accounts: bool = True
    idle_timeout_min: float = 30.0


def _secrets_section(name: str) -> dict[str, Any]:
    try:
        value = st.secrets.get(name)
    except (FileNotFoundError, KeyError, CimicError):
        return {}
    except Exception:  # no secrets file at all: Streamlit raises its own error type
        return {}
    return dict(value) if value else {}


def auth_settings() -> AuthSettings:
    cfg = _secrets_section("cimic_auth")
    oidc = bool(_secrets_section("auth"))
    timeout = os.environ.get("CIMIC_IDLE_TIMEOUT_MIN") or cfg.get("idle_timeout_min", 30)
    try:
        idle = float(timeout)
    except (TypeError, ValueError):
        idle = 30.0
    role_map = {str(k): str(v) for k, v in dict(cfg.get("role_map", {})).items() if str(v) in ROLES}
    return AuthSettings(oidc=oidc, provider=cfg.get("provider") or None,
                        provider_label=str(cfg.get("provider_label", _("the identity provider"))),
                        role_claim=cfg.get("role_claim") or None, role_map=role_map,
                        local_accounts=bool(cfg.get("local_accounts", True)), idle_timeout_min=max(idle, 0.05))


class signed_in_for_tests:
    """Run in-process page tests as ``actor`` (AppTest): ``with signed_in_for_tests(actor): at.run()``."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    def __enter__(self) -> Actor:
        _TEST_ACTOR.append(self.actor)
        return self.actor

    def __exit__(self, *exc: object) -> None:
        if self.actor in _TEST_ACTOR:
            _TEST_ACTOR.remove(self.actor)


def current_actor() -> Actor | None:
    """The signed-in user of this session, or None."""
    if _TEST_ACTOR:
        return _TEST_ACTOR[-1]
    state = st.session_state.get(_STATE)
    return Actor(state["name"], state["kind"], state["role"]) if state else None


def _sign_in(actor: Actor) -> None:
    st.session_state[_STATE] = {"name": actor.name, "kind": actor.kind, "role": actor.role, "last": time.time()}


def _sign_out(store: Store, *, reason: str | None = None) -> None:
    state = st.session_state.pop(_STATE, None)
    if state:
        with contextlib.suppress(CimicError):
            accounts.record_sign_out(store, Actor(state["name"], state["kind"], state["role"]), detail=reason)
    if reason:
        st.session_state[_NOTICE] = reason
    if state and state["kind"] == "oidc":
        st.logout()  # removes the identity cookie and reruns


def _oidc_logged_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except Exception:  # auth not configured
        return False


def _claims_role(claims: dict[str, Any], cfg: AuthSettings) -> str | None:
    if not cfg.role_claim:
        return None
    values = claims.get(cfg.role_claim)
    values = [values] if isinstance(values, str) else list(values or [])
    roles = [cfg.role_map.get(str(v), str(v) if str(v) in ROLES else None) for v in values]
    ranked = [r for r in roles if r]
    return max(ranked, key=auth.role_rank) if ranked else None


def _oidc_actor(store: Store, cfg: AuthSettings) -> tuple[Actor | None, str]:
    """The actor for the identity-provider user, or None and why not."""
    claims = st.user.to_dict()
    email = str(claims.get("email") or "")
    name = str(claims.get("preferred_username") or email or claims.get("sub") or "")
    account = accounts.find_by_email(store, email) if email else None
    if account is not None and account.disabled:
        return None, _("the account {user} is disabled; ask an administrator").format(user=account.username)
    role = _claims_role(claims, cfg)
    if role is None and account is not None:
        role = account.role
    if role is None:
        return None, _("you are signed in as {name}, but have no role in this app; ask an administrator to add "
                       "your e-mail address as a user").format(name=name or _("an unknown user"))
    return Actor(name=account.username if account else name, kind="oidc", role=role), ""


def _refresh(store: Store, state: dict[str, Any], cfg: AuthSettings) -> Actor | None:
    """The signed-in actor, re-checked against the store and the idle timeout; None = signed out."""
    if time.time() - float(state["last"]) > cfg.idle_timeout_min * 60:
        _sign_out(store, reason=_("signed out after {minutes} min without activity").format(
            minutes=fmt_number(cfg.idle_timeout_min)))
        return None
    if state["kind"] == "oidc":
        if not _oidc_logged_in():
            _sign_out(store)
            return None
        actor, why = _oidc_actor(store, cfg)
    else:
        user = accounts.get_user(store, state["name"])
        actor, why = (user.actor(), "") if user and not user.disabled else (None, _("this account is disabled"))
    if actor is None:
        _sign_out(store, reason=why or _("signed out"))
        return None
    _sign_in(actor)  # role changes apply now; the idle clock restarts
    return actor


def _idle_watch(deadline: float) -> None:
    # a fragment rerun on a timer, which does not count as activity: once idle for too long, rerun
    # the whole page so that the gate signs the user out and the data disappears from the screen
    if time.time() > deadline:
        st.rerun(scope="app")


def _account_box(store: Store, actor: Actor, cfg: AuthSettings) -> None:
    with st.sidebar:
        st.caption(_("Signed in as **{name}** · {role}").format(name=plain(actor.name), role=term(actor.role)))
        if st.button(_("Sign out"), key="_cimic_sign_out"):
            _sign_out(store)
            st.rerun()
        timeout_s = cfg.idle_timeout_min * 60
        # checked every minute (more often for short timeouts)
        st.fragment(_idle_watch, run_every=max(2.0, min(60.0, timeout_s / 3)))(time.time() + timeout_s + 1)


def _change_password_form(store: Store, username: str) -> None:
    st.subheader(_("Choose a new password"))
    st.caption(_("The password of {user} was set by an administrator and must be replaced now (at least {n} "
                 "characters).").format(user=plain(username), n=accounts.MIN_PASSWORD_LENGTH))
    with st.form("_cimic_change_password"):
        old = st.text_input(_("One-time password"), type="password")
        new = st.text_input(_("New password"), type="password")
        again = st.text_input(_("New password again"), type="password")
        done = st.form_submit_button(_("Save and sign in"))
    if done:
        if new != again:
            st.error(_("The two new passwords differ."))
            return
        try:
            user = accounts.change_password(store, username, old=old, new=new)
        except CimicError as exc:
            st.error(plain(exc))
            return
        st.session_state.pop(_PENDING, None)
        _sign_in(user.actor())
        st.rerun()


def _sign_in_page(store: Store, cfg: AuthSettings) -> None:
    st.title(_("Sign in"))
    st.caption(_("CIMIC situational awareness: sign in to see the common operational picture."))
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.warning(plain(notice))
    pending = st.session_state.get(_PENDING)
    if pending:
        _change_password_form(store, pending)
        return
    if cfg.oidc:
        if _oidc_logged_in():
            _actor, why = _oidc_actor(store, cfg)
            st.error(plain(why))
            if st.button(_("Sign out of the identity provider")):
                st.logout()
            return
        if st.button(_("Sign in with {provider}").format(provider=cfg.provider_label), type="primary", key="_cimic_oidc"):
            if cfg.provider:
                st.login(cfg.provider)
            else:
                st.login()
    if not cfg.local_accounts:
        return
    if cfg.oidc:
        st.caption(_("or with a local account:"))
    if accounts.count_users(store) == 0:
        st.info(_("No account exists yet. In a terminal, run `python -m cimic_geo users bootstrap` "
                  "(`make run` does this on first start and prints the admin's one-time password)."))
        return
    with st.form("_cimic_sign_in"):
        username = st.text_input(_("User name"), autocomplete="username")
        password = st.text_input(_("Password"), type="password", autocomplete="current-password")
        submitted = st.form_submit_button(_("Sign in"), type="primary")
    if submitted:
        try:
            user = accounts.authenticate(store, username, password)
        except AuthenticationError as exc:
            st.error(plain(exc))
            return
        if user.must_change_password:
            st.session_state[_PENDING] = user.username
        else:
            _sign_in(user.actor())
        st.rerun()


def signed_in_actor(store: Store) -> Actor | None:
    """The signed-in actor of this session (re-checked: account, role, idle timeout), or None.

    Also makes every write of this run require an explicit actor (no fallback to the OS user).
    """
    auth.forbid_implicit_actor()
    if _TEST_ACTOR:
        return _TEST_ACTOR[-1]
    cfg = auth_settings()
    state = st.session_state.get(_STATE)
    actor = _refresh(store, state, cfg) if state else None
    if actor is None and cfg.oidc and _oidc_logged_in() and not st.session_state.get(_NOTICE):
        actor, _why = _oidc_actor(store, cfg)
        if actor is not None:
            _sign_in(actor)
            accounts.record_sign_in(store, actor, detail="identity provider")
    return actor


def sign_in_page(store: Store) -> None:
    """The sign-in page (identity provider button and/or local account form)."""
    st.set_page_config(page_title=_("Sign in") + " · CIMIC", page_icon="🛡️", layout="centered")
    _sign_in_page(store, auth_settings())


def _routed_by_pages_folder() -> bool:
    """True (once) when Streamlit ran a page file straight from the ``pages`` folder, bypassing ``app.py``.

    Until the first ``st.navigation`` call of the server process, Streamlit routes an address such as
    ``/COP`` to ``pages/1_COP.py`` by file name (its older multipage mode). Switching that mode off and
    rerunning makes every later run go through ``app.py``.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - another Streamlit version; the page's own gate still holds
        return False
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        return True
    return False


def require_sign_in(store: Store, *, account_box: bool = True) -> Actor:
    """The signed-in actor of this session; otherwise show the sign-in and stop the page run.

    ``account_box``: show who is signed in, the sign-out button and the idle timer in the sidebar
    (once per run: :func:`run_pages` shows it, the pages' own check does not).
    """
    if _routed_by_pages_folder():
        st.rerun()  # once per server: run app.py (its gate and navigation) for this address instead
    actor = signed_in_actor(store)
    if actor is None:
        sign_in_page(store)
        st.stop()
    if account_box and not _TEST_ACTOR:
        _account_box(store, actor, auth_settings())
    return actor


#: Pages only admins see (and may open).
ADMIN_PAGES = (("pages/8_Audit.py", N_("Audit")),)


def run_pages(pages: list[Any]) -> None:
    """Run the app's navigation for the signed-in user; anonymous visitors get only the sign-in.

    ``app.py`` calls this with its pages. The store is opened for this run only
    (:func:`cimic_geo.ui.common.store_run`).
    """
    from cimic_geo.ui.common import get_store, language_switch, store_run

    language_switch()
    with store_run():
        store = get_store()
        actor = signed_in_actor(store)
        if actor is None:
            # one page: whatever address was asked for, the sign-in
            st.navigation([st.Page(lambda: sign_in_page(store), title=_("Sign in"), url_path="sign-in", default=True)],
                          position="hidden").run()
            return
        if actor.can("audit"):
            pages = [*pages, *(st.Page(path, title=_(title)) for path, title in ADMIN_PAGES)]
        if not _TEST_ACTOR:
            _account_box(store, actor, auth_settings())
        st.navigation(pages).run()
