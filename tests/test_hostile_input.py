"""Hostile or broken input, driven from the outside through ``python -m cimic_geo import/export``.

* export targets: only regular export files are created or replaced (never a device, a FIFO,
  a folder, the store, a file whose extension names another format);
* values that used to be guessed quietly (encoding, thousands separators, booleans as numbers,
  NUL bytes, an unknown CRS, implausible dates, a window that ends before it starts) are errors
  naming the record and the field;
* spreadsheet and archive hygiene: formula prefixes in CSV exports, TAK package entry names,
  private upload folders on the Import page;
* over-long CSV fields get a message (or are read properly), never a traceback.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import streamlit as st
from export_fixtures import build_store
from streamlit.testing.v1 import AppTest

from cimic_geo.export.gis import neutralise_formula
from cimic_geo.store import connect
from cimic_geo.ui import import_page as ui

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "cimic_geo", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=180)


def _no_traceback(r: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in r.stderr, r.stderr


def _problems(r: subprocess.CompletedProcess) -> list[dict]:
    return json.loads(r.stdout)["problems"]


def _errors_at(r: subprocess.CompletedProcess) -> set[tuple[int | None, str | None]]:
    return {(p["row"], p["field"]) for p in _problems(r) if p["severity"] == "error"}


def _fc(*features: dict, crs: str | None = None) -> str:
    doc: dict = {"type": "FeatureCollection", "features": list(features)}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc, ensure_ascii=False)


def _pt(lon: float, lat: float, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def _line(coords: list[tuple[float, float]], **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "LineString", "coordinates": coords}}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def hand_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("hostile") / "hand.duckdb")


# ----------------------------------------------------------------------------------------------
# Export targets
# ----------------------------------------------------------------------------------------------


def _private_null(folder: Path) -> Path:
    """A character device to export onto: as root a private copy of /dev/null (major 1, minor 3),
    otherwise /dev/null itself (which an unprivileged user cannot replace anyway)."""
    if os.geteuid() != 0:
        return Path("/dev/null")
    dev = folder / "null.csv"
    os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return dev


def test_export_only_replaces_regular_export_files(hand_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fifo = out / "pipe.csv"
    os.mkfifo(fifo)
    link = out / "link.csv"
    link.symlink_to(fifo)
    device = _private_null(out)
    before_db = _digest(hand_db)
    base = ["export", "--db", str(hand_db), "--layers", "settlements"]
    cases = [
        (["--format", "csv", "--out", str(fifo)], "not a regular file"),
        (["--format", "csv", "--out", str(device)], "not a regular file"),
        (["--format", "csv", "--out", str(link)], "not a regular file"),
        (["--format", "csv", "--out", str(hand_db)], "the store"),
        (["--format", "png", "--out", str(out / "brief.pdf")], "extension"),
        (["--format", "csv", "--out", str(out / "noext")], "extension"),
    ]
    for args, message in cases:
        r = _cli(*base, *args)
        _no_traceback(r)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert message in r.stderr, (args, r.stderr)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and stat.S_ISFIFO(os.stat(link).st_mode)
    assert link.is_symlink()
    assert stat.S_ISCHR(os.stat(device).st_mode)
    assert _digest(hand_db) == before_db
    expected = {"pipe.csv", "link.csv"} | ({device.name} if device.parent == out else set())
    assert {p.name for p in out.iterdir()} == expected  # nothing else written


def test_export_refuses_empty_out_and_store_wal(hand_db: Path, tmp_path: Path) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    r = _cli("export", "--db", str(hand_db), "--format", "csv", "--out", "", "--layers", "settlements", cwd=work)
    _no_traceback(r)
    assert r.returncode == 2 and "--out is empty" in r.stderr, r.stderr
    assert list(work.iterdir()) == []
    # the store's write-ahead log is the store too, whatever its name
    wal = hand_db.with_name(hand_db.name + ".wal")
    r = _cli("export", "--db", str(hand_db), "--format", "csv", "--out", str(wal), "--layers", "settlements")
    assert r.returncode == 2 and "the store" in r.stderr, r.stderr
    assert not wal.exists()


def test_export_folder_target_taken_by_a_folder(hand_db: Path, tmp_path: Path) -> None:
    # a folder where the dated file would go stays a folder
    blocker = tmp_path / "cimic_testarea_20261120_1200Z.csv"
    blocker.mkdir()
    r = _cli("export", "--db", str(hand_db), "--format", "csv", "--out", str(tmp_path), "--as-of",
             "2026-11-20T12:00Z", "--layers", "settlements")
    assert r.returncode == 2 and "is a folder" in r.stderr
    assert blocker.is_dir() and list(blocker.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == [blocker.name]


# ----------------------------------------------------------------------------------------------
# Values that must not be guessed
# ----------------------------------------------------------------------------------------------


def test_stray_byte_does_not_turn_utf8_into_cp1251(tmp_path: Path, empty_db: Path) -> None:
    rows = ["id,name,lat,lon,population", "u1,Ізюм,49.21,37.26,45000", "u2,Балаклія,49.46,36.86,26000",
            "u3,Куп'янськ,49.71,37.61,27000"]
    raw = "\n".join(rows).encode("utf-8") + b"\n"
    raw = raw.replace("Балаклія".encode(), "Бала".encode() + b"\xff" + "клія".encode())
    path = tmp_path / "towns.csv"
    path.write_bytes(raw)
    r = _cli("import", "settlements", str(path), "--db", str(empty_db), "--json")
    _no_traceback(r)
    assert r.returncode == 1
    assert (2, "name") in _errors_at(r)
    bad = next(p for p in _problems(r) if p["row"] == 2)
    assert "UTF-8" in bad["message"] and "0xff" in bad["message"].lower()
    r = _cli("import", "settlements", str(path), "--db", str(empty_db), "--only-valid")
    assert r.returncode == 0, r.stdout + r.stderr
    with connect(empty_db, read_only=True) as store:
        names = dict(store.read("settlements")[["id", "name_uk"]].values.tolist())
    assert names == {"u1": "Ізюм", "u3": "Куп'янськ"}  # Ukrainian names go to name_uk


def test_cp1251_file_still_reads_as_cp1251(tmp_path: Path, empty_db: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes("id;name;lat;lon;population\nw1;Вовчанськ;50,29;36,94;17000\n".encode("cp1251"))
    r = _cli("import", "settlements", str(path), "--db", str(empty_db))
    assert r.returncode == 0, r.stdout + r.stderr
    with connect(empty_db, read_only=True) as store:
        row = store.read("settlements").iloc[0]
    assert (row["name_uk"], row["name"], row.geometry.y) == ("Вовчанськ", "Vovchansk", 50.29)


def test_ambiguous_numbers_and_booleans_are_not_stored_as_one(tmp_path: Path, empty_db: Path) -> None:
    path = tmp_path / "shelters.csv"
    path.write_text('id,name,kind,capacity,status,lat,lon\n'
                    'h1,A,blast_shelter,"1,000",open,48.5,37.5\n'
                    'h2,B,blast_shelter,1.000,open,48.5,37.5\n'
                    'h3,C,blast_shelter,1 200,open,48.5,37.5\n', encoding="utf-8")
    r = _cli("import", "shelters", str(path), "--db", str(empty_db), "--json")
    _no_traceback(r)
    assert r.returncode == 1
    assert _errors_at(r) == {(1, "capacity"), (2, "capacity")}
    gj = tmp_path / "shelters.geojson"
    gj.write_text(_fc(_pt(37.5, 48.5, id="j1", name="J", kind="blast_shelter", capacity=True, status="open")))
    r = _cli("import", "shelters", str(gj), "--db", str(empty_db), "--json")
    assert r.returncode == 1 and _errors_at(r) == {(1, "capacity")}
    # the unambiguous row goes in with its full value (space as thousands separator)
    r = _cli("import", "shelters", str(path), "--db", str(empty_db), "--only-valid")
    assert r.returncode == 0, r.stdout + r.stderr
    with connect(empty_db, read_only=True) as store:
        assert store.read("shelters")[["id", "capacity"]].values.tolist() == [["h3", 1200]]


def test_nul_and_control_characters_are_errors_not_cuts(tmp_path: Path, empty_db: Path) -> None:
    gj = tmp_path / "nul.geojson"
    gj.write_text(_fc(_pt(37.5, 48.5, id="n1", name="Shel\u0000ter", population=10),
                      _pt(37.6, 48.5, id="n2", name="Good", population=10)))
    r = _cli("import", "settlements", str(gj), "--db", str(empty_db), "--json")
    _no_traceback(r)
    assert r.returncode == 1
    assert _errors_at(r) == {(1, "name")}
    assert "U+0000" in next(p for p in _problems(r) if p["row"] == 1)["message"]
    path = tmp_path / "nul.csv"
    path.write_bytes(b"id,name,lat,lon,population\nc1,Tow\x00n,48.5,37.5,1\nc2,Bell\x07,48.5,37.5,1\nc3,Fine,48.5,37.5,1\n")
    r = _cli("import", "settlements", str(path), "--db", str(empty_db), "--json")
    assert r.returncode == 1
    assert _errors_at(r) == {(1, "name"), (2, "name")}


def test_unknown_declared_crs_is_refused(tmp_path: Path, empty_db: Path) -> None:
    gj = tmp_path / "odd_crs.geojson"
    gj.write_text(_fc(_pt(37.5, 48.5, id="x1", name="X", population=1), crs="EPSG:999999"))
    r = _cli("import", "settlements", str(gj), "--db", str(empty_db), "--json")
    _no_traceback(r)
    assert r.returncode == 1
    assert any("EPSG:999999" in p["message"] and p["severity"] == "error" for p in _problems(r))
    # a known one still works (EPSG:3857 metres -> lon/lat)
    ok = tmp_path / "web_mercator.geojson"
    ok.write_text(_fc(_pt(4174313.0, 6197604.0, id="x2", name="Y", population=1), crs="urn:ogc:def:crs:EPSG::3857"))
    r = _cli("import", "settlements", str(ok), "--db", str(empty_db))
    assert r.returncode == 0, r.stdout + r.stderr


def test_implausible_report_and_snapshot_times(tmp_path: Path, empty_db: Path) -> None:
    path = tmp_path / "times.csv"
    path.write_text("id,name,lat,lon,population,reported_at\n"
                    "t1,A,48.5,37.5,1,2099-01-01\n"
                    "t2,B,48.5,37.5,1,9999-12-31\n"
                    "t3,C,48.5,37.5,1,0001-01-01\n"
                    "t4,D,48.5,37.5,1,2024-05-01\n", encoding="utf-8")
    r = _cli("import", "settlements", str(path), "--db", str(empty_db), "--json")
    _no_traceback(r)
    assert r.returncode == 1
    assert _errors_at(r) == {(1, "reported_at"), (2, "reported_at"), (3, "reported_at")}
    snap = tmp_path / "occupied.geojson"
    snap.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {},
        "geometry": {"type": "Polygon", "coordinates": [[[37, 48], [38, 48], [38, 49], [37, 49], [37, 48]]]}}]}))
    r = _cli("import", "occupied_area", str(snap), "--db", str(empty_db), "--valid-from", "2099-01-01", "--json")
    assert r.returncode == 1
    assert any(p["field"] == "valid_from" and "2099" in p["message"] for p in _problems(r) if p["severity"] == "error")
    with connect(empty_db, read_only=True) as store:
        assert store.counts()["occupied_area"] == 0 and store.counts()["settlements"] == 0


def test_window_end_before_start_is_refused(tmp_path: Path, empty_db: Path) -> None:
    gj = tmp_path / "corridors.geojson"
    gj.write_text(_fc(
        _line([(37.5, 48.5), (37.6, 48.6)], id="k1", name="Back in time", status="draft",
              window_start="2026-11-20T10:00Z", window_end="2026-11-20T08:00Z"),
        _line([(37.5, 48.5), (37.6, 48.6)], id="k2", name="Fine", status="draft",
              window_start="2026-11-20T08:00Z", window_end="2026-11-20T10:00Z"),
    ))
    r = _cli("import", "corridors", str(gj), "--db", str(empty_db), "--json")
    _no_traceback(r)
    assert r.returncode == 1
    assert _errors_at(r) == {(1, "window_end")}


# ----------------------------------------------------------------------------------------------
# Spreadsheet and archive hygiene
# ----------------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x","y")', "@SUM(A1:A2)", "+1+1", "-2+3", "\tTAB", "\rCR"]


def test_csv_export_neutralises_formulas(tmp_path: Path, empty_db: Path) -> None:
    gj = tmp_path / "shelters.geojson"
    gj.write_text(_fc(*[_pt(37.5 + i / 100, 48.5, id=f"f{i}", name=name, kind="blast_shelter", capacity=10,
                            status="open", address="-5 Main St") for i, name in enumerate(FORMULAS)]))
    r = _cli("import", "shelters", str(gj), "--db", str(empty_db))
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "shelters.csv"
    r = _cli("export", "--db", str(empty_db), "--format", "csv", "--out", str(out), "--layers", "shelters")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    by_id = {row["id"]: row for row in rows}
    for i, name in enumerate(FORMULAS):
        stored = name.strip()  # the importer trims text, so "\tTAB" arrives as "TAB"
        expected = "'" + stored if stored[0] in "=+-@" else stored
        assert by_id[f"f{i}"]["name"] == expected
        assert by_id[f"f{i}"]["address"] == "'-5 Main St"
    # numbers stay numbers
    assert {row["capacity"] for row in rows} == {"10"}
    # text that does start with a tab or carriage return (drawn in the planner, say) is neutralised too
    assert [neutralise_formula(t) for t in ("\tx", "\rx", "x=1", "")] == ["'\tx", "'\rx", "x=1", ""]


def test_tak_package_entries_are_flat_and_safe(tmp_path: Path, empty_db: Path) -> None:
    ids = ["../../evil", "a/b/c", "..", "ok-1"]
    gj = tmp_path / "corridors.geojson"
    gj.write_text(_fc(*[_line([(37.5, 48.5 + i / 10), (37.6, 48.6 + i / 10)], id=cid, name=f"C{i}", status="draft")
                        for i, cid in enumerate(ids)]))
    r = _cli("import", "corridors", str(gj), "--db", str(empty_db))
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "pkg.zip"
    r = _cli("export", "--db", str(empty_db), "--format", "cotzip", "--out", str(out), "--layers", "corridors")
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        manifest = zf.read("MANIFEST/manifest.xml").decode()
        target = tmp_path / "extract"
        zf.extractall(target)
    entries = [n for n in names if n != "MANIFEST/manifest.xml"]
    assert len(entries) == len(set(entries)) == len(ids)
    for name in entries:
        folder, file = name.split("/")  # exactly one folder level
        assert file == f"{folder}.cot" and ".." not in name and "\\" not in name
        assert f'zipEntry="{name}"' in manifest
    extracted = [p for p in target.rglob("*") if p.is_file()]
    assert len(extracted) == len(names)
    assert all(p.resolve().is_relative_to(target.resolve()) for p in extracted)
    assert not (tmp_path / "evil").exists()


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch, empty_db: Path) -> list:
    """The files the fake uploader hands the Import page (edit the list to 'cancel')."""
    current: list = []
    monkeypatch.setenv("CIMIC_DB", str(empty_db))
    monkeypatch.delenv("CIMIC_READ_ONLY", raising=False)

    def fake(label, *args, **kwargs):  # AppTest cannot drive st.file_uploader
        if "border" in str(kwargs.get("key", "")):
            return None
        if kwargs.get("accept_multiple_files"):
            return list(current)
        return current[0] if current else None

    monkeypatch.setattr(st, "file_uploader", fake)
    return current


class _Upload:
    def __init__(self, name: str, data: bytes) -> None:
        self.name, self.data = name, data

    def getvalue(self) -> bytes:
        return self.data


def _saved_folders(at: AppTest) -> list[Path]:
    return [Path(p) for p in ui.upload_folders(at.session_state)]


def _assert_private(folder: Path) -> None:
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    parent = folder.parent
    assert stat.S_IMODE(parent.stat().st_mode) & 0o077 == 0 and parent.owner() == folder.owner()


def test_uploads_are_private_and_deleted_after_commit_and_cancel(uploads: list) -> None:
    data = _fc(_pt(37.5, 48.5, id="s1", name="S", kind="blast_shelter", capacity=5, status="open")).encode()
    uploads.append(_Upload("shelters.geojson", data))
    at = AppTest.from_file(str(ROOT / "pages" / "4_Import.py"), default_timeout=60)
    at.run()
    assert not at.exception, [type(e).__name__ for e in at.main]
    at.sidebar.selectbox[0].set_value("shelters").run()
    assert not at.exception
    folders = _saved_folders(at)
    assert len(folders) == 1
    _assert_private(folders[0])
    at.button(key=ui.k("commit")).click().run()
    assert not at.exception and any("Imported 1 shelters" in s.value for s in at.success)
    assert not folders[0].exists()  # deleted after commit
    # a new upload, then cancelled (the uploader emptied)
    uploads[0] = _Upload("shelters2.geojson", data.replace(b'"s1"', b'"s2"'))
    at.run()
    folders = _saved_folders(at)
    assert len(folders) == 1 and folders[0].exists()
    uploads.clear()
    at.run()
    assert not at.exception and not folders[0].exists()


def test_upload_folder_goes_with_the_session(tmp_path: Path) -> None:
    state: dict = {}
    paths = ui.save_uploads([_Upload("a.csv", b"x")], state=state)
    folder = paths[0].parent
    assert folder.exists()
    state.clear()  # what Streamlit does when a session ends
    gc.collect()
    assert not folder.exists()


# ----------------------------------------------------------------------------------------------
# Messages instead of tracebacks
# ----------------------------------------------------------------------------------------------


def test_csv_fields_over_131072_characters(tmp_path: Path, empty_db: Path) -> None:
    long_text = tmp_path / "long_address.csv"
    long_text.write_text("id,name,kind,capacity,status,lat,lon,address\n"
                         "l1,A,blast_shelter,5,open,48.5,37.5," + "x" * 140_000 + "\n", encoding="utf-8")
    r = _cli("import", "shelters", str(long_text), "--db", str(empty_db), "--json")
    _no_traceback(r)
    assert r.returncode == 1  # a report, not a traceback: the address is too long for a text field
    assert _errors_at(r) == {(1, "address")}
    # a WKT polygon longer than the csv module's default limit is an ordinary value: read it
    ring = [(37.0 + 0.5 * (i / 6000), 48.0) for i in range(6000)] + [(37.5, 48.5), (37.0, 48.5), (37.0, 48.0)]
    wkt = "POLYGON ((" + ", ".join(f"{x:.9f} {y:.9f}" for x, y in ring) + "))"
    assert len(wkt) > 131_072
    big = tmp_path / "big_area.csv"
    big.write_text(f'id,name,damage,sector,wkt\nb1,Big,minor,water,"{wkt}"\n', encoding="utf-8")
    r = _cli("import", "infrastructure", str(big), "--db", str(empty_db))
    _no_traceback(r)
    assert r.returncode == 0, r.stdout + r.stderr
    with connect(empty_db, read_only=True) as store:
        geom = store.read("infrastructure").iloc[0].geometry
    assert len(geom.exterior.coords) == len(ring)


def test_table_downloads_neutralise_formulas() -> None:
    """The pages' CSV downloads (exposure tables, layer boards) go through one writer: text that
    starts like a formula gets a leading quote, negative numbers stay numbers."""
    import csv as _csv
    import io

    import pandas as pd

    from cimic_geo.export.gis import table_csv

    frame = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1)", "Kramatorsk"],
                          "delta": [-5, 3, 0]})
    rows = list(_csv.reader(io.StringIO(table_csv(frame).decode("utf-8"))))
    assert rows[1] == ["'=HYPERLINK(\"http://x\",\"y\")", "-5"]
    assert rows[2] == ["'@SUM(A1)", "3"]
    assert rows[3] == ["Kramatorsk", "0"]
