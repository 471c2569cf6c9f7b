"""Every write path checks the role itself: a viewer is refused, nothing is written, the refusal is audited."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest
from shapely.geometry import LineString

from cimic_geo import auth
from cimic_geo.auth import Actor
from cimic_geo.errors import PermissionDeniedError
from cimic_geo.ingest import import_file
from cimic_geo.scenario import seed_database
from cimic_geo.schema import CORRIDOR_TRANSITIONS
from cimic_geo.store import connect, init_store, save_corridor, set_corridor_status
from cimic_geo.store import users as accounts
from cimic_geo.store.audit import read_audit

VIEWER = Actor("vic", "user", "viewer")
PLANNER = Actor("pia", "user", "planner")
EDITOR = Actor("eddie", "service", "editor")
LINE = LineString([(37.50, 48.50), (37.60, 48.55), (37.70, 48.60)])
CSV = "id,name,kind,capacity,occupancy,status,lat,lon\nP-1,Test shelter,blast_shelter,120,10,open,48.5,37.5\n"


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "shelters.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def _import(store, path: Path, actor: Actor):
    return import_file(store, "shelters", path, mode="upsert", actor=actor, source="test list",
                       reported_at="2026-11-20T06:00Z", reliability="B2", exercise=True)


def test_every_write_path_refuses_a_viewer(demo_db_copy: Path, tmp_path: Path) -> None:
    csv = _csv(tmp_path)
    with connect(demo_db_copy) as store:
        accounts.add_user(store, "someone", role="planner")
        corridor = store.read("corridors").iloc[0]
        cid, version, status = str(corridor["id"]), int(corridor["version"]), str(corridor["status"])
        next_status = CORRIDOR_TRANSITIONS[status][0]
        before = store.fingerprint()
        calls = {
            "import": lambda: _import(store, csv, VIEWER),
            "corridor.create": lambda: save_corridor(store, geometry=LINE, name="Viewer's corridor", actor=VIEWER),
            "corridor.edit": lambda: save_corridor(store, geometry=LINE, name="renamed", corridor_id=cid,
                                                   expected_version=version, actor=VIEWER),
            "corridor.status": lambda: set_corridor_status(store, cid, next_status, expected_version=version,
                                                           actor=VIEWER),
            "user.add": lambda: accounts.add_user(store, "mallory", role="admin", actor=VIEWER),
            "user.set_role": lambda: accounts.set_role(store, "someone", "admin", actor=VIEWER),
            "user.disable": lambda: accounts.set_disabled(store, "someone", True, actor=VIEWER),
            "user.reset": lambda: accounts.reset_password(store, "someone", actor=VIEWER),
        }
        for action, call in calls.items():
            with pytest.raises(PermissionDeniedError, match="vic has the role viewer"):
                call()
            assert store.fingerprint() == before, action  # layers, history, meta and users unchanged
        refused = read_audit(store, outcome="refused")
        assert sorted(refused["action"]) == sorted(calls)
        assert set(refused["actor"]) == {"vic"} and set(refused["role"]) == {"viewer"}
        assert refused.loc[refused["action"] == "corridor.status", "ids"].tolist() == [json.dumps([cid])]

    # seeding or emptying the store: admins only; the file stays as it was
    stat = os.stat(demo_db_copy)
    with pytest.raises(PermissionDeniedError):
        seed_database(demo_db_copy, force=True, actor=VIEWER)
    with pytest.raises(PermissionDeniedError):
        init_store(demo_db_copy, force=True, actor=EDITOR)
    assert os.stat(demo_db_copy).st_ino == stat.st_ino
    with connect(demo_db_copy) as store:
        assert store.fingerprint() == before
        last = read_audit(store, outcome="refused").head(2)
    assert last[["action", "actor"]].values.tolist() == [["init", "eddie"], ["seed", "vic"]]


def test_roles_that_may_write_are_audited_with_the_change(demo_db_copy: Path, tmp_path: Path) -> None:
    csv = _csv(tmp_path)
    with connect(demo_db_copy) as store:
        with pytest.raises(PermissionDeniedError):  # planners plan corridors but do not import
            _import(store, csv, PLANNER)
        saved = save_corridor(store, geometry=LINE, name="Planner's corridor", actor=PLANNER, user="typed name")
        report = _import(store, csv, EDITOR)
        assert report.committed and report.written == {"shelters": 1}
        trail = read_audit(store)
        hist = store.query_df("SELECT changed_by FROM corridor_history WHERE corridor_id = ?", [saved["id"]])
    assert hist["changed_by"].tolist() == ["pia"]  # the actor, not the typed name
    imp = trail[(trail["action"] == "import") & (trail["outcome"] == "ok")].iloc[0]
    assert imp["actor"] == "eddie" and imp["actor_kind"] == "service" and imp["layer"] == "shelters"
    assert json.loads(imp["row_counts"]) == {"shelters": 1} and json.loads(imp["ids"]) == ["P-1"]
    assert imp["source_file"] == "shelters.csv"
    assert imp["source_sha256"] == hashlib.sha256(CSV.encode()).hexdigest()
    create = trail[trail["action"] == "corridor.create"].iloc[0]
    assert create["actor"] == "pia" and json.loads(create["after"])["name"] == "Planner's corridor"


def test_a_page_run_cannot_write_without_a_signed_in_user(demo_db_copy: Path) -> None:
    """In the app's threads, a write that names no actor is refused (no fallback to the OS user)."""
    errors: list[BaseException] = []

    def page_run() -> None:
        auth.forbid_implicit_actor()
        try:
            with connect(demo_db_copy) as store:
                save_corridor(store, geometry=LINE, name="anonymous", user="typed")
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=page_run)
    t.start()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], PermissionDeniedError)
    assert "sign in first" in str(errors[0])
    # outside the app (this thread) the OS user is the actor, as for the CLI
    with connect(demo_db_copy) as store:
        saved = save_corridor(store, geometry=LINE, name="operator's corridor", user="Lt Ops")
        row = read_audit(store, action="corridor.create").iloc[0]
    assert saved["version"] == 1 and row["actor_kind"] == "os" and row["role"] == "admin"
