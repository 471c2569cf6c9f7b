"""Local user accounts: argon2id password hashes, roles, disabled flag, one-time passwords.

Used where the deployment has no identity provider (an air-gapped command post) and for service
accounts of scheduled jobs. Every change is an admin's (:func:`cimic_geo.auth.require` with
``users``) and is audited in the same transaction; passwords never appear in the audit trail.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cimic_geo.auth import Actor, require, resolve_actor
from cimic_geo.errors import AuthenticationError, NotFoundError, StoreError
from cimic_geo.schema import ROLES
from cimic_geo.store.audit import AuditEntry, record, record_refusal

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 10
#: Failed sign-ins of one user name within :data:`LOCKOUT_MIN` minutes after which it is locked out.
MAX_FAILED = 5
LOCKOUT_MIN = 5
#: argon2id with the library's defaults (RFC 9106 low-memory profile: 64 MiB, 3 passes).
_HASHER = PasswordHasher()
_dummy: list[str] = []


def _dummy_hash() -> str:
    """A hash verified when the user does not exist, so that both answers take the same time."""
    if not _dummy:
        _dummy.append(_HASHER.hash(secrets.token_urlsafe(16)))
    return _dummy[0]

_COLUMNS = ("id", "username", "display_name", "email", "role", "disabled", "must_change_password",
            "created_at", "updated_at", "last_login")


def create_tables(con: Any) -> None:
    """Create the ``users`` table (migration step; idempotent)."""
    con.execute("CREATE SEQUENCE IF NOT EXISTS users_seq START 1")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS users (
            id BIGINT PRIMARY KEY DEFAULT nextval('users_seq'),
            username VARCHAR NOT NULL UNIQUE,
            display_name VARCHAR,
            email VARCHAR,
            role VARCHAR NOT NULL,
            password_hash VARCHAR,
            disabled BOOLEAN NOT NULL DEFAULT false,
            must_change_password BOOLEAN NOT NULL DEFAULT false,
            created_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            last_login TIMESTAMPTZ
        )
        """
    )


@dataclass(frozen=True)
class User:
    """An account (without its password hash)."""

    id: int
    username: str
    display_name: str | None
    email: str | None
    role: str
    disabled: bool
    must_change_password: bool
    created_at: pd.Timestamp | None
    updated_at: pd.Timestamp | None
    last_login: pd.Timestamp | None

    def actor(self, *, kind: str = "user") -> Actor:
        """This user as the actor of a change."""
        return Actor(name=self.username, kind=kind, role=self.role)

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in self.__dict__.items()}


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(value: Any) -> pd.Timestamp | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _user(row: tuple[Any, ...]) -> User:
    d = dict(zip(_COLUMNS, row, strict=True))
    return User(id=int(d["id"]), username=d["username"], display_name=d["display_name"], email=d["email"],
                role=d["role"], disabled=bool(d["disabled"]), must_change_password=bool(d["must_change_password"]),
                created_at=_ts(d["created_at"]), updated_at=_ts(d["updated_at"]), last_login=_ts(d["last_login"]))


def _check_username(username: str) -> str:
    name = str(username or "").strip()
    if not USERNAME_RE.match(name):
        raise StoreError(f"user name {username!r} is not allowed: 1-64 letters, digits and . _ @ - "
                         "(starting with a letter or digit)")
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise StoreError(f"unknown role '{role}'; expected one of {', '.join(ROLES)}")
    return role


def _check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise StoreError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


def one_time_password() -> str:
    """A random password to hand over once (about 120 bits, URL-safe characters)."""
    return secrets.token_urlsafe(15)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _select(con: Any, where: str, params: list[Any]) -> tuple[Any, ...] | None:
    return con.execute(f"SELECT {', '.join(_COLUMNS)} FROM users WHERE {where}", params).fetchone()


def get_user(store: Any, username: str) -> User | None:
    """The account named ``username``, or None."""
    row = _select(store.con, "username = ?", [str(username)])
    return _user(row) if row else None


def find_by_email(store: Any, email: str) -> User | None:
    """The account whose e-mail (case-insensitive) or user name is ``email``, or None."""
    row = _select(store.con, "lower(email) = lower(?) OR lower(username) = lower(?) ORDER BY id LIMIT 1",
                  [str(email), str(email)])
    return _user(row) if row else None


def list_users(store: Any) -> list[User]:
    """Every account, by user name."""
    rows = store.con.execute(f"SELECT {', '.join(_COLUMNS)} FROM users ORDER BY username").fetchall()
    return [_user(r) for r in rows]


def count_users(store: Any) -> int:
    return int(store.con.execute("SELECT count(*) FROM users").fetchone()[0])


def _require_admin(store: Any, actor: Actor | None, action: str, username: str) -> Actor:
    return require(actor, "users", store=store, action=action, layer="users", ids=[username])


def _public(user: User) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "email": user.email,
            "role": user.role, "disabled": user.disabled, "must_change_password": user.must_change_password}


def add_user(
    store: Any,
    username: str,
    *,
    role: str,
    actor: Actor | None = None,
    display_name: str | None = None,
    email: str | None = None,
    password: str | None = None,
) -> tuple[User, str | None]:
    """Create an account; return it and the one-time password when none was given.

    Without ``password`` the account gets a random one-time password that must be changed at the
    first sign-in. Raises :class:`StoreError` for a bad name, role or password or an existing name.
    """
    who = _require_admin(store, actor, "user.add", str(username))
    name = _check_username(username)
    _check_role(role)
    generated = None if password else one_time_password()
    secret = _check_password(password) if password else generated
    now = _now()
    with store.transaction() as con:
        if _select(con, "username = ?", [name]):
            raise StoreError(f"a user named '{name}' already exists")
        con.execute(
            "INSERT INTO users (username, display_name, email, role, password_hash, disabled, must_change_password, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, false, ?, ?, ?)",
            [name, display_name or None, email or None, role, hash_password(secret), generated is not None, now, now],
        )
        user = _user(_select(con, "username = ?", [name]))
        record(con, who, AuditEntry(action="user.add", layer="users", ids=[name], after=_public(user)))
    return user, generated


def _change(store: Any, username: str, *, actor: Actor | None, action: str, sets: dict[str, Any]) -> User:
    who = _require_admin(store, actor, action, str(username))
    with store.transaction() as con:
        row = _select(con, "username = ?", [str(username)])
        if row is None:
            raise NotFoundError(f"no user named '{username}'")
        before = _user(row)
        assignments = ", ".join(f"{k} = ?" for k in sets)
        con.execute(f"UPDATE users SET {assignments}, updated_at = ? WHERE id = ?",
                    [*sets.values(), _now(), before.id])
        after = _user(_select(con, "id = ?", [before.id]))
        record(con, who, AuditEntry(action=action, layer="users", ids=[before.username],
                                    before=_public(before), after=_public(after)))
    return after


def set_role(store: Any, username: str, role: str, *, actor: Actor | None = None) -> User:
    """Give a user another role."""
    return _change(store, username, actor=actor, action="user.set_role", sets={"role": _check_role(role)})


def set_disabled(store: Any, username: str, disabled: bool = True, *, actor: Actor | None = None) -> User:
    """Disable (or enable again) an account; a disabled account cannot sign in."""
    return _change(store, username, actor=actor, action="user.disable" if disabled else "user.enable",
                   sets={"disabled": bool(disabled)})


def reset_password(store: Any, username: str, *, actor: Actor | None = None) -> tuple[User, str]:
    """Give a user a new one-time password (returned) that must be changed at the next sign-in."""
    password = one_time_password()
    user = _change(store, username, actor=actor, action="user.reset",
                   sets={"password_hash": hash_password(password), "must_change_password": True})
    return user, password


def authenticate(store: Any, username: str, password: str) -> User:
    """Check a local account's password; return the user (its ``last_login`` is set and audited).

    Raises
    ------
    AuthenticationError
        Unknown user, wrong password (the same message for both), disabled account, or
        :data:`MAX_FAILED` failed attempts for that name within :data:`LOCKOUT_MIN` minutes (then
        even the right password is refused until they are older). Each failure is audited with
        outcome ``refused``; the audit trail is the counter.
    """
    name = str(username or "").strip()
    who = Actor(name=name[:64] or "(empty)", kind="user", role="viewer")
    since = _now() - timedelta(minutes=LOCKOUT_MIN)
    failed = store.con.execute("SELECT count(*) FROM audit WHERE actor = ? AND action = 'sign_in' AND "
                               "outcome = 'refused' AND at_utc >= ?", [who.name, since]).fetchone()[0]
    if failed >= MAX_FAILED:
        record_refusal(store, who, AuditEntry(action="sign_in", layer="users", ids=[who.name],
                                              detail="too many failed attempts"))
        raise AuthenticationError(f"too many failed sign-ins for this user name; try again in {LOCKOUT_MIN} minutes")
    row = _select(store.con, "username = ?", [name]) if USERNAME_RE.match(name) else None
    stored = store.con.execute("SELECT password_hash FROM users WHERE username = ?", [name]).fetchone() if row else None
    good = False
    try:
        good = _HASHER.verify(stored[0] if stored and stored[0] else _dummy_hash(), password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        good = False
    who = Actor(name=name[:64] or "(empty)", kind="user", role=row[4] if row else "viewer")
    if row is None or not good:
        record_refusal(store, who, AuditEntry(action="sign_in", layer="users", ids=[name[:64]],
                                              detail="wrong user name or password"))
        raise AuthenticationError("wrong user name or password")
    user = _user(row)
    if user.disabled:
        record_refusal(store, who, AuditEntry(action="sign_in", layer="users", ids=[name], detail="account disabled"))
        raise AuthenticationError("this account is disabled; ask an administrator")
    if not store.read_only:
        with store.transaction(audit_only=True) as con:
            con.execute("UPDATE users SET last_login = ? WHERE id = ?", [_now(), user.id])
            record(con, user.actor(), AuditEntry(action="sign_in", layer="users", ids=[name]))
    return user


def record_sign_in(store: Any, actor: Actor, *, detail: str | None = None) -> None:
    """Audit a sign-in made elsewhere (the identity provider) and set the account's ``last_login``."""
    if store.read_only:
        return
    with store.transaction(audit_only=True) as con:
        con.execute("UPDATE users SET last_login = ? WHERE username = ?", [_now(), actor.name])
        record(con, actor, AuditEntry(action="sign_in", layer="users", ids=[actor.name], detail=detail))


def record_sign_out(store: Any, actor: Actor, *, detail: str | None = None) -> None:
    """Audit a sign-out (by the user, or by the idle timeout with ``detail``)."""
    if store.read_only:
        return
    with store.transaction(audit_only=True) as con:
        record(con, actor, AuditEntry(action="sign_out", layer="users", ids=[actor.name], detail=detail))


def change_password(store: Any, username: str, *, old: str, new: str) -> User:
    """A user replaces their own password (after a one-time password); the old one must match."""
    user = authenticate(store, username, old)
    if new == old:
        raise StoreError("the new password must differ from the old one")
    _check_password(new)
    with store.transaction() as con:
        con.execute("UPDATE users SET password_hash = ?, must_change_password = false, updated_at = ? WHERE id = ?",
                    [hash_password(new), _now(), user.id])
        record(con, user.actor(), AuditEntry(action="user.change_password", layer="users", ids=[user.username]))
        return _user(_select(con, "id = ?", [user.id]))


def bootstrap_admin(store: Any, *, username: str = "admin", actor: Actor | None = None) -> str | None:
    """When the store has no account at all, create ``admin`` and return its one-time password.

    Returns None (and changes nothing) when any account exists.
    """
    who = resolve_actor(actor)
    if count_users(store) > 0:
        return None
    _, password = add_user(store, username, role="admin", actor=who, display_name="Administrator")
    return password


def copy_accounts_and_audit(store: Any, old_path: Any) -> tuple[int, int]:
    """Copy every account and audit row of the store file ``old_path`` into ``store`` (being created).

    Replacing a store (``seed --force``) keeps who may sign in and the whole audit trail. Rows keep
    their order and times; ids are given anew by the new file's sequences. Returns (users, audit rows).
    """
    quoted = str(old_path).replace("'", "''")  # a string literal: ATTACH takes no parameters
    try:
        store.con.execute(f"ATTACH '{quoted}' AS previous (READ_ONLY)")
    except duckdb.Error:
        return 0, 0  # not a DuckDB file (or unreadable): there is nothing to carry over
    try:
        tables = {r[0] for r in store.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'previous'").fetchall()}
        counts = []
        with store.transaction() as con:
            for table in ("users", "audit"):
                if table not in tables:
                    counts.append(0)
                    continue
                # only columns the new file's own table has (an allow-list: the old file's schema is data)
                ours = [r[0] for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() "
                    "AND table_name = ? AND column_name <> 'id' ORDER BY ordinal_position", [table]).fetchall()]
                theirs = {r[0] for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'previous' "
                    "AND table_name = ?", [table]).fetchall()}
                names = ", ".join(f'"{c}"' for c in ours if c in theirs)
                counts.append(con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM previous.{table} "
                                          "ORDER BY id").fetchone()[0])
    finally:
        store.con.execute("DETACH previous")
    return counts[0], counts[1]
