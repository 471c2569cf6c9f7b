"""The store under hostile conditions, driven from the outside as an operator would.

* replacing a store that another program has open is refused; a store whose file was replaced
  under it refuses writes (no edit is reported saved into a file nobody reads);
* a full disk (a small tmpfs in a private mount namespace), a damaged data block, files that are not
  stores, schema versions this program cannot use, malformed options and a closed output pipe end
  with a clear message and exit code 2 (1 for an import's validation report), never a traceback,
  and nothing written;
* an import prepared before a planner's save is refused at commit (no two history rows with one
  version).
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shlex
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point

from cimic_geo.errors import ConflictError, StoreError
from cimic_geo.ingest import commit_import, prepare_import
from cimic_geo.store import SCHEMA_VERSION, connect, corridor_history, init_store, save_corridor

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "CIMIC_LOCK_WAIT_S": "0", "PYTHONPATH": str(ROOT)}
LINE = LineString([(35.00, 48.00), (35.10, 48.05), (35.20, 48.10)])


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cimic_geo", *args], capture_output=True, text=True,
                          cwd=ROOT, env=ENV, timeout=timeout)


def no_traceback(out: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout, out.stderr[-2000:]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def small_store(tmp_path: Path) -> tuple[Path, str]:
    """A store with one draft corridor (version 1) and two shelters; returns (path, corridor id)."""
    path = tmp_path / "small.duckdb"
    with init_store(path) as store:
        cid = save_corridor(store, geometry=LINE, name="Route A", user="planner")["id"]
        shelters = gpd.GeoDataFrame(
            {"id": ["S1", "S2"], "name": ["School 1", "Hall 2"], "kind": ["collective_centre", "medical"],
             "capacity": [100, 40], "status": ["open", "open"]},
            geometry=[Point(35.0, 48.0), Point(35.1, 48.1)], crs="EPSG:4326")
        store.write("shelters", shelters)
        store.checkpoint()
    return path, cid


# ------------------------------------------------------------------------------------------------
# Replacing a store in use
# ------------------------------------------------------------------------------------------------

_HOLDER = textwrap.dedent("""
    import sys, time
    from shapely.geometry import LineString
    from cimic_geo.store import connect, save_corridor
    store = connect(sys.argv[1])
    print("open", flush=True)
    sys.stdin.readline()  # the test has run its commands
    res = save_corridor(store, geometry=LineString([(35, 48), (35.3, 48.2)]), name="Saved while open",
                        user="planner")
    store.close()
    print(res["id"], flush=True)
""")


def test_seed_and_init_force_refuse_a_store_another_program_has_open(small_store: tuple[Path, str]) -> None:
    path, _ = small_store
    inode = path.stat().st_ino
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(path)], cwd=ROOT, env=ENV, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([holder.stdout], [], [], 240)
        first = holder.stdout.readline().strip() if ready else "(nothing within 240 s)"
        if first != "open":
            holder.kill()
            pytest.fail(f"the holder did not open the store: {first!r} {holder.stderr.read()[-2000:]}")
        for command in (["seed", "--force"], ["init", "--force"]):
            out = run_cli(*command, "--db", str(path))
            no_traceback(out)
            assert out.returncode == 2, (command, out.stdout, out.stderr)
            assert f"process {holder.pid}" in out.stderr and "nothing was changed" in out.stderr, out.stderr
            assert path.stat().st_ino == inode  # the file the other program writes to is still the store
        saved_id, _ = holder.communicate("go\n", timeout=120)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert holder.returncode == 0
    with connect(path, read_only=True) as store:  # the edit reported saved is in the file
        names = set(store.read("corridors")["name"])
    assert saved_id.strip() and "Saved while open" in names


def test_a_store_whose_file_was_replaced_refuses_writes(small_store: tuple[Path, str], tmp_path: Path) -> None:
    path, cid = small_store
    other = tmp_path / "other.duckdb"
    init_store(other).close()
    store = connect(path)
    try:
        # another program (not this package: it would refuse) puts a different file in place
        subprocess.run(["mv", str(other), str(path)], check=True)
        assert store.replaced()
        with pytest.raises(StoreError, match="replaced or removed"):
            save_corridor(store, geometry=LINE, name="Route A", user="planner", corridor_id=cid,
                          expected_version=1, notes="lost?")
    finally:
        store.close()
    with connect(path, read_only=True) as fresh:
        assert len(fresh.read("corridors")) == 0  # nothing went into the new file either


# ------------------------------------------------------------------------------------------------
# A full disk
# ------------------------------------------------------------------------------------------------


def _on_full_disk(store: Path, commands: list[list[str]], tmp_path: Path, *, keep_fill: bool = True
                  ) -> list[dict]:
    """Run CLI commands in a folder on a full tmpfs (private mount namespace); the store copied there.

    Each command sees the store as ``s.duckdb`` in its working folder; returns per command its exit
    code, stdout, stderr and the folder listing afterwards.
    """
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed for the full-disk tests")
    out = tmp_path / "results"
    out.mkdir()
    size_kb = store.stat().st_size // 1024 + 2048
    lines = ["set -u", 'D=$(mktemp -d "$OUT/mnt.XXXX")', f'mount -t tmpfs -o size={size_kb}k tmpfs "$D" || exit 97',
             f'cp {shlex.quote(str(store))} "$D/s.duckdb"', 'cd "$D"']
    if keep_fill:
        lines.append('dd if=/dev/zero of=fill bs=4k 2>/dev/null; sync')
    for k, cmd in enumerate(commands):
        q = " ".join(shlex.quote(c) for c in [sys.executable, "-m", "cimic_geo", *cmd])
        lines.append(f'{q} >"$OUT/{k}.out" 2>"$OUT/{k}.err"; echo $? >"$OUT/{k}.rc"; ls -a >"$OUT/{k}.ls"')
    script = "\n".join(lines)
    proc = subprocess.run(["unshare", "-rm", "bash", "-c", script], cwd=ROOT, text=True, capture_output=True,
                          env={**ENV, "OUT": str(out)}, timeout=900)
    if proc.returncode == 97 or "unshare" in proc.stderr:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot mount a tmpfs in a private mount namespace: {proc.stderr}")
        pytest.skip(f"cannot mount a tmpfs in a private mount namespace: {proc.stderr}")
    return [{"rc": int((out / f"{k}.rc").read_text()), "out": (out / f"{k}.out").read_text(),
             "err": (out / f"{k}.err").read_text(), "files": set((out / f"{k}.ls").read_text().split())}
            for k in range(len(commands))]


def test_full_disk_gives_a_message_and_writes_nothing(small_store: tuple[Path, str], tmp_path: Path) -> None:
    path, cid = small_store
    big = tmp_path / "many.csv"  # 800 shelters with 1,000-character names: ~0.8 MB to write
    big.write_text("id,name,kind,lat,lon,capacity,status\n" + "".join(
        f"N{i},Shelter {i} {'x' * 1000},collective_centre,48.{i:04d},35.{i:04d},50,open\n" for i in range(800)))
    results = _on_full_disk(path, [
        ["import", "shelters", str(big), "--db", "s.duckdb"],
        ["corridor", "status", cid, "proposed", "--user", "planner", "--version", "1", "--db", "s.duckdb"],
        ["export", "--format", "png", "--out", "view.png", "--db", "s.duckdb"],
        ["export", "--format", "gpkg", "--out", "view.gpkg", "--db", "s.duckdb"],
        ["seed", "--db", "new.duckdb"],
        ["corridor", "list", "--json", "--db", "s.duckdb"],
        ["info", "--json", "--db", "s.duckdb"],
    ], tmp_path)
    for r in results[:5]:
        assert "Traceback" not in r["err"], r["err"][-2000:]
        assert "disk is full" in r["err"] + r["out"], r
        assert "another session" not in r["err"]
    assert results[0]["rc"] == 1  # an import reports through its validation report (exit 1)
    assert all(r["rc"] == 2 for r in results[1:5]), [r["rc"] for r in results]
    assert "view.png" not in results[2]["files"] and "view.gpkg" not in results[3]["files"]
    assert not any("new.duckdb" in f for f in results[4]["files"])  # neither the store nor its temp file
    corridors = json.loads(results[5]["out"])
    rows = corridors if isinstance(corridors, list) else corridors.get("corridors", corridors)
    assert [(c["status"], c["version"]) for c in rows] == [("draft", 1)]
    assert json.loads(results[6]["out"])["layers"]["shelters"] == 2


# ------------------------------------------------------------------------------------------------
# Files that are not (usable) stores, damaged files, bad options, a closed pipe
# ------------------------------------------------------------------------------------------------


def test_files_that_are_not_stores_are_refused_untouched(tmp_path: Path, small_store: tuple[Path, str]) -> None:
    csv = tmp_path / "s.csv"
    csv.write_text("id,name,kind,lat,lon,capacity,status\nX1,School,medical,48.1,35.1,10,open\n")
    other = tmp_path / "other.duckdb"  # someone's unrelated DuckDB database
    with init_store(tmp_path / "scratch.duckdb") as scratch:
        scratch.con.execute(f"ATTACH '{other}' AS o")
        scratch.con.execute("CREATE TABLE o.accounts (id INTEGER, owner VARCHAR)")
        scratch.con.execute("DETACH o")
    lite = tmp_path / "notes.sqlite"
    with sqlite3.connect(lite) as con:
        con.execute("CREATE TABLE notes (t TEXT)")
    text = tmp_path / "readme.duckdb"
    text.write_text("just some text, long enough to have a header\n" * 4)
    for target, expected in ((other, "DuckDB database but not a CIMIC store"),
                             (lite, "SQLite database, not a CIMIC store"), (text, "not a CIMIC store")):
        before = sha256(target)
        for command in (["import", "shelters", str(csv), "--db", str(target)], ["info", "--db", str(target)]):
            out = run_cli(*command)
            no_traceback(out)
            assert out.returncode == 2, out.stderr
            assert expected in out.stderr and "INSTALL" not in out.stderr, out.stderr
        assert sha256(target) == before
        assert not target.with_name(target.name + ".wal").exists()


def test_schema_version_advice(small_store: tuple[Path, str]) -> None:
    path, _ = small_store
    with connect(path) as store:
        store.con.execute("INSERT INTO schema_version VALUES (?, now(), 'from the future')", [SCHEMA_VERSION + 1])
    out = run_cli("info", "--db", str(path))
    no_traceback(out)
    assert out.returncode == 2 and "update the program" in out.stderr, out.stderr
    out = run_cli("import", "shelters", "x.csv", "--db", str(path))
    assert out.returncode == 2 and "update the program" in out.stderr, out.stderr

    with init_store(path, force=True) as store:  # a store of the previous version
        store.con.execute("DELETE FROM schema_version WHERE version = ?", [SCHEMA_VERSION])
    out = run_cli("info", "--db", str(path))
    assert out.returncode == 2
    assert "migrate" in out.stderr and "info" not in out.stderr.split("needs")[-1], out.stderr
    out = run_cli("migrate", "--db", str(path), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["schema_version"] == SCHEMA_VERSION
    assert run_cli("info", "--db", str(path)).returncode == 0


def test_damaged_data_block_gives_a_message(small_store: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = small_store
    # Overwrite 32 bytes inside every data block after the catalog's (DuckDB: 12 KiB of headers, then
    # 256 KiB blocks, each starting with an 8-byte checksum).
    size = path.stat().st_size
    with path.open("r+b") as fh:
        for offset in range(12288 + 262144, size, 262144):
            fh.seek(offset + 8 + 50)
            fh.write(b"\xff" * 32)
    out_file = tmp_path / "out.geojson"
    out = run_cli("export", "--format", "geojson", "--out", str(out_file), "--db", str(path))
    no_traceback(out)
    assert out.returncode == 2
    assert "damaged" in out.stderr, out.stderr
    assert not out_file.exists()


def test_malformed_value_maps_and_huge_fields_are_reported(small_store: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = small_store
    csv = tmp_path / "s.csv"
    csv.write_text("id,name,kind,lat,lon,capacity,status\nX1,School,medical,48.1,35.1,10,open\n")
    before = sha256(path)
    out = run_cli("import", "shelters", str(csv), "--db", str(path), "--values", '{"status":"open"}')
    no_traceback(out)
    assert out.returncode in (1, 2) and "values.status" in out.stdout + out.stderr, out.stdout + out.stderr
    huge = tmp_path / "huge.csv"  # one field over the csv module's default limit of 131,072 characters
    huge.write_text("id,name,kind,lat,lon,capacity,status\nX2," + "y" * 140_000 + ",medical,48.1,35.1,10,open\n")
    out = run_cli("import", "shelters", str(huge), "--db", str(path))
    no_traceback(out)
    assert out.returncode == 1 and "row 1" in out.stdout and "'name'" in out.stdout, out.stdout + out.stderr
    assert sha256(path) == before


def test_closed_output_pipe_ends_quietly(small_store: tuple[Path, str]) -> None:
    path, _ = small_store
    proc = subprocess.Popen([sys.executable, "-m", "cimic_geo", "info", "--db", str(path)], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # the reader is gone before the command writes (as `| head -0`)
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert proc.returncode == 2


# ------------------------------------------------------------------------------------------------
# Import prepared, then a planner saves, then the import is committed
# ------------------------------------------------------------------------------------------------


def test_import_commit_refuses_a_corridor_changed_since_the_preview(small_store: tuple[Path, str],
                                                                    tmp_path: Path) -> None:
    path, cid = small_store
    update = tmp_path / "corridors.geojson"
    gpd.GeoDataFrame({"id": [cid], "name": ["Route A (imported)"], "status": ["draft"]},
                     geometry=[LINE], crs="EPSG:4326").to_file(update, driver="GeoJSON")
    with connect(path) as store:
        prepared = prepare_import("corridors", update, store=store, mode="upsert")
        assert prepared.report.can_commit, prepared.report.problems
        # the planner, in another session, saves version 2 between preview and commit
        planner = store.cursor()
        save_corridor(planner, geometry=LINE, name="Route A", user="planner", corridor_id=cid,
                      expected_version=1, notes="checked on the ground")
        with pytest.raises(ConflictError, match="changed since the import was previewed"):
            commit_import(store, prepared)
        history = corridor_history(store, cid)
        row = store.read("corridors", where={"id": cid}).iloc[0]
    assert sorted(history["version"]) == [1, 2]  # one row per version; the import wrote nothing
    assert (row["version"], row["name"], row["notes"]) == (2, "Route A", "checked on the ground")
