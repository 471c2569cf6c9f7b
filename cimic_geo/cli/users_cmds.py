"""User and audit commands: ``users add|set-role|disable|enable|reset|list|bootstrap`` and ``audit``."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta

import pandas as pd

from cimic_geo.cli import emit
from cimic_geo.cli._actor import cli_actor
from cimic_geo.cli._common import add_db_option, add_json_option
from cimic_geo.errors import ConfigError
from cimic_geo.i18n import _, term
from cimic_geo.schema import ROLES
from cimic_geo.store import connect
from cimic_geo.store import users as accounts
from cimic_geo.store.audit import audit_records, read_audit

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str | None) -> datetime | None:
    """``24h``, ``7d``, ``30m``, ``2w`` before now, or an ISO 8601 time (UTC when no zone); None stays None."""
    if text is None:
        return None
    m = _RELATIVE.match(text.strip())
    if m:
        return datetime.now(UTC) - timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise ConfigError(f"cannot read the time {text!r}: use ISO 8601 (2026-11-20T06:00Z) or 24h, 7d, 30m") from None
    if pd.isna(ts):
        raise ConfigError(f"cannot read the time {text!r}")
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).to_pydatetime()


def _password_lines(user: str, password: str, what: str) -> list[str]:
    return [_("{what} for {user}. One-time password (shown once; must be changed at the first sign-in):").format(
                what=what, user=user),
            f"    {password}"]


def _add(args: argparse.Namespace) -> int:
    with connect(args.db) as store:
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
        user, generated = accounts.add_user(store, args.username, role=args.role, display_name=args.display_name,
                                            email=args.email, password=password, actor=cli_actor(args, store))
    doc = {"ok": True, "user": user.to_dict(), "one_time_password": generated}
    emit(args, doc, _password_lines(user.username, generated, _("created {role}").format(role=term(user.role)))
         if generated else _("created {role} {user}").format(role=term(user.role), user=user.username))
    return 0


def _set_role(args: argparse.Namespace) -> int:
    with connect(args.db) as store:
        user = accounts.set_role(store, args.username, args.role, actor=cli_actor(args, store))
    emit(args, {"ok": True, "user": user.to_dict()}, _("{user} is now {role}").format(user=user.username, role=term(user.role)))
    return 0


def _disable(args: argparse.Namespace, disabled: bool) -> int:
    with connect(args.db) as store:
        user = accounts.set_disabled(store, args.username, disabled, actor=cli_actor(args, store))
    emit(args, {"ok": True, "user": user.to_dict()}, (_("{user} disabled") if disabled else _("{user} enabled")).format(user=user.username))
    return 0


def _reset(args: argparse.Namespace) -> int:
    with connect(args.db) as store:
        user, password = accounts.reset_password(store, args.username, actor=cli_actor(args, store))
    emit(args, {"ok": True, "user": user.to_dict(), "one_time_password": password},
         _password_lines(user.username, password, _("new password")))
    return 0


def _list(args: argparse.Namespace) -> int:
    with connect(args.db, read_only=True) as store:
        users = accounts.list_users(store)
    head = (_("user"), _("role"), _("state"), _("last sign-in"))
    lines = [f"{head[0]:20s} {head[1]:8s} {head[2]:9s} {head[3]}"]
    for u in users:
        state = "disabled" if u.disabled else ("new-pass" if u.must_change_password else "active")
        lines.append(f"{u.username:20s} {u.role:8s} {state:9s} {u.last_login.isoformat() if u.last_login else '-'}")
    emit(args, {"ok": True, "users": [u.to_dict() for u in users]}, lines)
    return 0


def _bootstrap(args: argparse.Namespace) -> int:
    with connect(args.db) as store:
        password = accounts.bootstrap_admin(store, actor=cli_actor(args, store))
    if password is None:
        emit(args, {"ok": True, "created": False}, _("user accounts exist; nothing to do"))
        return 0
    bar = "=" * 72
    emit(args, {"ok": True, "created": True, "username": "admin", "one_time_password": password},
         [bar, _("No user account existed: created the administrator 'admin'."),
          *_password_lines("admin", password, "")[1:], _("It must be changed at the first sign-in. Add users with "
                                                          "`{command}`.").format(
              command="python -m cimic_geo users add NAME --role viewer|planner|editor|admin"), bar])
    return 0


def _audit(args: argparse.Namespace) -> int:
    since, until = parse_since(args.since), parse_since(args.until)
    with connect(args.db, read_only=True) as store:
        cli_actor(args, store)  # --as must name a real account even for reading
        df = read_audit(store, since=since, until=until, user=args.user, layer=args.layer, action=args.action,
                        limit=args.limit)
    rows = audit_records(df)
    lines = [f"{r['at_utc']}  {r['outcome']:7s} {r['actor']} ({r['actor_kind']}) {r['action']}"
             f"{' ' + r['layer'] if r['layer'] else ''}"
             f"{' ' + str(r['row_counts']) if r['row_counts'] else ''}"
             f"{' — ' + r['detail'] if r['detail'] else ''}" for r in rows]
    emit(args, {"ok": True, "count": len(rows), "rows": rows}, lines or [_("no audit rows match")])
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help=_("local user accounts (admins): add, set-role, disable, enable, reset, list"))
    us = p.add_subparsers(dest="users_command", metavar="ACTION")
    us.required = True

    q = us.add_parser("add", help=_("create an account (prints a one-time password)"))
    q.add_argument("username", help=_("user name (sign-in name)"))
    q.add_argument("--role", choices=ROLES, required=True, help=_("role of the account"))
    q.add_argument("--display-name", dest="display_name", help=_("full name shown in the app"))
    q.add_argument("--email", help=_("e-mail address (matches identity-provider sign-ins)"))
    q.add_argument("--password-stdin", dest="password_stdin", action="store_true",
                   help=_("read the password from the first line of stdin instead of generating one"))
    q.set_defaults(handler=_add)

    q = us.add_parser("set-role", help=_("give a user another role"))
    q.add_argument("username", help=_("user name (sign-in name)"))
    q.add_argument("role", choices=ROLES, help=_("the new role"))
    q.set_defaults(handler=_set_role)

    q = us.add_parser("disable", help=_("disable an account (it can no longer sign in)"))
    q.add_argument("username", help=_("user name (sign-in name)"))
    q.set_defaults(handler=lambda a: _disable(a, True))

    q = us.add_parser("enable", help=_("enable a disabled account again"))
    q.add_argument("username", help=_("user name (sign-in name)"))
    q.set_defaults(handler=lambda a: _disable(a, False))

    q = us.add_parser("reset", help=_("new one-time password for a user (printed once)"))
    q.add_argument("username", help=_("user name (sign-in name)"))
    q.set_defaults(handler=_reset)

    q = us.add_parser("list", help=_("every account with role and state"))
    q.set_defaults(handler=_list)

    q = us.add_parser("bootstrap", help=_("create the admin account when there is none (make run does this)"))
    q.set_defaults(handler=_bootstrap)
    for q in us.choices.values():
        add_db_option(q)
        add_json_option(q)

    p = sub.add_parser("audit", help=_("the audit trail: who wrote what and when (append-only)"))
    p.add_argument("--since", default="24h", help=_("ISO 8601 time (UTC) or 30m, 24h, 7d (default 24h)"))
    p.add_argument("--until", help=_("ISO 8601 time (UTC) or 30m, 24h, 7d ago (default now)"))
    p.add_argument("--user", help=_("only rows of this actor"))
    p.add_argument("--layer", help=_("only rows about this layer (or users)"))
    p.add_argument("--action", help=_("only this action, e.g. import, corridor.status, sign_in"))
    p.add_argument("--limit", type=int, default=10_000, help=_("at most this many rows (default 10000)"))
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=_audit)

