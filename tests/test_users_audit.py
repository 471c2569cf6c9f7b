"""Local accounts, roles, the append-only audit trail and the `users` / `audit` commands."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cimic_geo.auth import Actor, require
from cimic_geo.errors import AuthenticationError, PermissionDeniedError, StoreError
from cimic_geo.store import connect
from cimic_geo.store import users as accounts
from cimic_geo.store.audit import read_audit

ROOT = Path(__file__).resolve().parents[1]
ADMIN = Actor("boss", "user", "admin")


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cimic_geo", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ}, input=stdin, timeout=120)


def test_password_is_hashed_with_argon2id_and_verified(empty_db: Path) -> None:
    with connect(empty_db) as store:
        user, one_time = accounts.add_user(store, "anna", role="planner", actor=ADMIN)
        assert one_time and len(one_time) >= 16 and user.must_change_password
        stored = store.con.execute("SELECT password_hash FROM users WHERE username = 'anna'").fetchone()[0]
        assert stored.startswith("$argon2id$") and one_time not in stored
        assert accounts.authenticate(store, "anna", one_time).role == "planner"
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            accounts.authenticate(store, "anna", one_time + "x")
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            accounts.authenticate(store, "nobody", one_time)
        accounts.set_disabled(store, "anna", True, actor=ADMIN)
        with pytest.raises(AuthenticationError, match="disabled"):
            accounts.authenticate(store, "anna", one_time)
        rows = read_audit(store, action="sign_in")
        # newest first: disabled, unknown user, wrong password, the one success
        assert rows["outcome"].tolist() == ["refused", "refused", "refused", "ok"]
        assert rows["detail"].tolist()[:3] == ["account disabled", "wrong user name or password",
                                               "wrong user name or password"]
        assert not read_audit(store).astype(str).apply(lambda c: c.str.contains(one_time)).any().any()


def test_one_time_password_must_be_replaced(empty_db: Path) -> None:
    with connect(empty_db) as store:
        _, one_time = accounts.add_user(store, "bob", role="viewer", actor=ADMIN)
        with pytest.raises(StoreError, match="at least 10"):
            accounts.change_password(store, "bob", old=one_time, new="short")
        user = accounts.change_password(store, "bob", old=one_time, new="a long new passphrase")
        assert not user.must_change_password
        with pytest.raises(AuthenticationError):
            accounts.authenticate(store, "bob", one_time)
        assert accounts.authenticate(store, "bob", "a long new passphrase").username == "bob"


def test_user_names_and_roles_are_checked(empty_db: Path) -> None:
    with connect(empty_db) as store:
        for bad in ("", " ", "a b", "../x", "<script>", "x" * 65):
            with pytest.raises(StoreError, match="not allowed"):
                accounts.add_user(store, bad, role="viewer", actor=ADMIN)
        with pytest.raises(StoreError, match="unknown role"):
            accounts.add_user(store, "carl", role="root", actor=ADMIN)
        accounts.add_user(store, "carl", role="viewer", actor=ADMIN)
        with pytest.raises(StoreError, match="already exists"):
            accounts.add_user(store, "carl", role="viewer", actor=ADMIN)


def test_roles_are_ordered() -> None:
    viewer, planner, editor, admin = (Actor("u", "user", r) for r in ("viewer", "planner", "editor", "admin"))
    table = {p: [a.can(p) for a in (viewer, planner, editor, admin)]
             for p in ("read", "export", "corridors", "import", "edit", "users", "seed", "audit")}
    assert table == {
        "read": [True, True, True, True], "export": [True, True, True, True],
        "corridors": [False, True, True, True],
        "import": [False, False, True, True], "edit": [False, False, True, True],
        "users": [False, False, False, True], "seed": [False, False, False, True], "audit": [False, False, False, True],
    }
    with pytest.raises(PermissionDeniedError, match="viewer and may not import files"):
        require(viewer, "import")


def test_user_management_as_viewer_is_refused_and_audited(empty_db: Path) -> None:
    with connect(empty_db) as store:
        accounts.add_user(store, "vera", role="viewer", actor=ADMIN)
        viewer = Actor("vera", "user", "viewer")
        before = store.fingerprint()
        for call in (lambda: accounts.add_user(store, "mallory", role="admin", actor=viewer),
                     lambda: accounts.set_role(store, "vera", "admin", actor=viewer),
                     lambda: accounts.set_disabled(store, "vera", True, actor=viewer),
                     lambda: accounts.reset_password(store, "vera", actor=viewer)):
            with pytest.raises(PermissionDeniedError):
                call()
        assert store.fingerprint() == before
        refused = read_audit(store, outcome="refused")
        assert sorted(refused["action"]) == ["user.add", "user.disable", "user.reset", "user.set_role"]
        assert set(refused["actor"]) == {"vera"} and set(refused["role"]) == {"viewer"}
        assert accounts.get_user(store, "vera").role == "viewer"


def test_audit_row_is_in_the_same_transaction(empty_db: Path) -> None:
    """A change that fails after its audit row was written leaves neither."""
    from cimic_geo.store.audit import AuditEntry, record

    with connect(empty_db) as store:
        n = len(read_audit(store))
        with pytest.raises(RuntimeError), store.transaction() as con:
            record(con, ADMIN, AuditEntry(action="edit", layer="shelters", ids=["S1"]))
            raise RuntimeError("the change failed")
        assert len(read_audit(store)) == n
        accounts.add_user(store, "dora", role="viewer", actor=ADMIN)
        accounts.set_role(store, "dora", "editor", actor=ADMIN)
        row = read_audit(store, action="user.set_role").iloc[0]
        assert json.loads(row["before"])["role"] == "viewer" and json.loads(row["after"])["role"] == "editor"
        assert json.loads(row["ids"]) == ["dora"] and row["actor"] == "boss"


def test_no_code_path_updates_or_deletes_audit_rows() -> None:
    """Append-only: the package never updates, deletes from, truncates, drops or alters the audit table."""
    pattern = re.compile(r"\b(UPDATE\s+audit|DELETE\s+FROM\s+audit|TRUNCATE\s+audit|DROP\s+TABLE\s+(IF\s+EXISTS\s+)?"
                         r"audit|ALTER\s+TABLE\s+audit|INSERT\s+OR\s+REPLACE\s+INTO\s+audit)\b", re.IGNORECASE)
    hits = [f"{p}:{m.group(0)}" for p in (ROOT / "cimic_geo").rglob("*.py")
            for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    assert hits == []
    import cimic_geo.store.audit as audit_module

    assert not [n for n in dir(audit_module) if re.search(r"delete|update|remove|purge|clear", n, re.I)]


def test_cli_users_and_audit(empty_db: Path) -> None:
    db = str(empty_db)
    boot = run_cli("users", "bootstrap", "--db", db, "--json")
    assert boot.returncode == 0, boot.stderr
    doc = json.loads(boot.stdout)
    assert doc["created"] and len(doc["one_time_password"]) >= 16
    assert json.loads(run_cli("users", "bootstrap", "--db", db, "--json").stdout)["created"] is False
    assert run_cli("users", "add", "nightly", "--role", "editor", "--db", db).returncode == 0
    assert run_cli("users", "add", "vic", "--role", "viewer", "--password-stdin", "--db", db,
                   stdin="correct horse battery\n").returncode == 0
    # a service account acts with its own role: an editor may not manage users
    refused = run_cli("--as", "nightly", "users", "set-role", "vic", "admin", "--db", db)
    assert refused.returncode == 2 and "may not manage users" in refused.stderr
    assert run_cli("--as", "ghost", "users", "list", "--db", db).returncode == 0  # list is read-only
    assert run_cli("--as", "ghost", "audit", "--db", db).returncode == 2  # unknown service account
    reset = json.loads(run_cli("users", "reset", "vic", "--db", db, "--json").stdout)
    assert reset["user"]["must_change_password"] and reset["one_time_password"]
    assert run_cli("users", "disable", "vic", "--db", db).returncode == 0
    listed = {u["username"]: u for u in json.loads(run_cli("users", "list", "--db", db, "--json").stdout)["users"]}
    assert listed["vic"]["disabled"] and listed["admin"]["role"] == "admin" and listed["nightly"]["role"] == "editor"
    trail = json.loads(run_cli("audit", "--since", "1h", "--db", db, "--json").stdout)
    actions = [(r["action"], r["outcome"], r["actor_kind"]) for r in trail["rows"]]
    assert ("user.set_role", "refused", "service") in actions
    assert [a for a in actions if a[1] == "ok"] == [("user.disable", "ok", "os"), ("user.reset", "ok", "os"),
                                                    ("user.add", "ok", "os"), ("user.add", "ok", "os"),
                                                    ("user.add", "ok", "os")]
    only = json.loads(run_cli("audit", "--since", "1h", "--user", "nightly", "--db", db, "--json").stdout)
    assert {r["actor"] for r in only["rows"]} == {"nightly"}
    assert json.loads(run_cli("audit", "--since", "2000-01-01", "--until", "2000-01-02", "--db", db,
                              "--json").stdout)["count"] == 0
    assert "correct horse" not in json.dumps(trail)


def test_replacing_a_store_keeps_accounts_and_the_trail(tmp_path: Path) -> None:
    from cimic_geo.store import init_store

    old, new = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    with init_store(old) as store:
        accounts.add_user(store, "kept", role="editor", password="kept-password-1", actor=ADMIN)
        with pytest.raises(AuthenticationError):
            accounts.authenticate(store, "kept", "wrong-password")
        trail = read_audit(store)[["actor", "action", "outcome", "detail"]].to_dict("records")
    with init_store(new) as store:
        assert accounts.copy_accounts_and_audit(store, old) == (1, 2)
        assert accounts.authenticate(store, "kept", "kept-password-1").role == "editor"
        # the copied rows first, in their order, then the new sign-in
        assert read_audit(store)[["actor", "action", "outcome", "detail"]].to_dict("records")[1:] == trail


def test_audit_page_for_admins_with_csv_that_cannot_run_formulas(empty_db: Path, apptest_actor) -> None:
    from streamlit.testing.v1 import AppTest

    from cimic_geo.store.audit import AuditEntry, record
    from cimic_geo.ui.audit_page import audit_csv
    from cimic_geo.ui.sign_in import _TEST_ACTOR, signed_in_for_tests

    with connect(empty_db) as store:
        with store.transaction() as con:
            record(con, ADMIN, AuditEntry(action="import", layer="shelters", ids=["=HYPERLINK(\"http://x\")"],
                                          source_file="@SUM(A1).csv", detail="-2+3"))
        df = read_audit(store)
    text = audit_csv(df)
    lines = text.splitlines()
    assert lines[0].startswith("id,at_utc,actor,")
    assert "'@SUM(A1).csv" in text and ",'-2+3" in text  # ids are a JSON list: the cell starts with [
    assert not any(cell.startswith(("=", "+", "-", "@")) for line in lines[1:] for cell in line.split(",")[2:])

    os.environ["CIMIC_DB"] = str(empty_db)
    try:
        at = AppTest.from_file(str(ROOT / "pages" / "8_Audit.py"), default_timeout=120).run()
        assert not at.exception and at.title[0].value == "Audit trail"
        assert at.dataframe[0].value["action"].tolist() == ["import"]
        _TEST_ACTOR.clear()
        with signed_in_for_tests(Actor("vera", "user", "viewer")):
            at = AppTest.from_file(str(ROOT / "pages" / "8_Audit.py"), default_timeout=120).run()
        assert "may not read the audit trail" in at.error[0].value and not at.dataframe
    finally:
        os.environ.pop("CIMIC_DB", None)
    with connect(empty_db, read_only=True) as store:
        refused = read_audit(store, outcome="refused")
    assert refused[["actor", "action"]].values.tolist() == [["vera", "audit.read"]]


def test_sign_in_page_shows_no_data(demo_db_copy: Path) -> None:
    """Anonymous: the app renders only the sign-in (or the first-start hint), never a number of the store."""
    from streamlit.testing.v1 import AppTest

    from cimic_geo.ui.sign_in import _TEST_ACTOR

    _TEST_ACTOR.clear()
    os.environ["CIMIC_DB"] = str(demo_db_copy)
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        assert [t.value for t in at.title] == ["Sign in"]
        assert "No account exists yet" in at.info[0].value and "users bootstrap" in at.info[0].value
        assert not at.metric and not at.dataframe and not at.text_input
        with connect(demo_db_copy) as store:
            accounts.add_user(store, "una", role="viewer", password="una-password-1")
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        assert [w.label for w in at.text_input] == ["User name", "Password"] and not at.metric
        at.text_input[0].input("una")
        at.text_input[1].input("una-password-1")
        at.button[0].click().run()
        assert at.title[0].value == "CIMIC situational awareness" and at.metric
        assert "Signed in as **una** · viewer" in at.sidebar.caption[0].value
    finally:
        os.environ.pop("CIMIC_DB", None)


def test_repeated_failed_sign_ins_lock_the_name_out(empty_db: Path) -> None:
    with connect(empty_db) as store:
        accounts.add_user(store, "gus", role="viewer", password="gus-password-1", actor=ADMIN)
        for _ in range(accounts.MAX_FAILED):
            with pytest.raises(AuthenticationError, match="wrong user name or password"):
                accounts.authenticate(store, "gus", "guess-password")
        # the right password is refused too while the failures are recent
        with pytest.raises(AuthenticationError, match="too many failed sign-ins"):
            accounts.authenticate(store, "gus", "gus-password-1")
        with pytest.raises(AuthenticationError, match="wrong user name or password"):
            accounts.authenticate(store, "nobody", "gus-password-1")
        # once the failures are older than the lockout, the right password works again: age them (a
        # test-only rewrite of this throw-away store; the package itself never updates audit rows)
        store.con.execute("UPDATE audit SET at_utc = at_utc - INTERVAL 6 MINUTE")
        assert accounts.authenticate(store, "gus", "gus-password-1").username == "gus"
