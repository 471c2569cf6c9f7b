"""``python -m cimic_geo export``: files, dated names, JSON document, clear errors, nothing partial."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest
from export_fixtures import BBOX, build_store

from cimic_geo.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("export_cli") / "hand.duckdb")


def test_export_gpkg_with_layers_and_bbox(db: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "brief.gpkg"
    code = main(["export", "--db", str(db), "--format", "gpkg", "--out", str(out), "--layers", "shelters,corridors",
                 "--bbox", ",".join(map(str, BBOX)), "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] and doc["layers"] == {"corridors": 2, "shelters": 3}
    assert doc["files"][0]["path"] == str(out) and doc["files"][0]["bytes"] == out.stat().st_size
    assert sorted(name for name, _ in pyogrio.list_layers(out)) == ["corridors", "shelters"]


def test_export_to_folder_uses_dated_names(db: Path, tmp_path: Path, capsys) -> None:
    code = main(["export", "--db", str(db), "--format", "cot,kml", "--out", str(tmp_path),
                 "--as-of", "2026-11-20T12:00Z", "--layers", "shelters,corridors,front_line"])
    assert code == 0
    # --area not given: the store's meta "area" (testarea); time = the view's as-of time
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["cimic_testarea_20261120_1200Z.cot", "cimic_testarea_20261120_1200Z.kml"]
    ET.parse(tmp_path / names[0])
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--layers", "shelters,bunkers"], "unknown layer(s) 'bunkers'"),
        (["--bbox", "1,2,3"], "bbox must be four numbers"),
        (["--bbox", "10,10,11,11"], "empty view"),
        (["--format", "docx"], "unknown export format 'docx'"),
        (["--as-of", "not-a-time"], "as-of time"),
    ],
)
def test_bad_input_exits_2_with_message(db: Path, tmp_path: Path, capsys, args: list[str], message: str) -> None:
    base = {"--format": "geojson", "--out": str(tmp_path / "x.geojson")}
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    argv = ["export", "--db", str(db)] + [x for kv in base.items() for x in kv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unwritable_out_fails_before_rendering(db: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "no" / "such" / "dir" / "x.png"
    assert main(["export", "--db", str(db), "--format", "png", "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", "--db", str(db), "--format", "png,pdf", "--out", str(tmp_path / "x.png")]) == 2
    assert "several formats need --out to be an existing folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_module_entry_point(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.csv"
    res = subprocess.run([sys.executable, "-m", "cimic_geo", "export", "--db", str(db), "--format", "csv",
                          "--out", str(out), "--layers", "settlements"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert out.read_text(encoding="utf-8").count("\n") == 1 + 4  # header + 4 settlements


def test_marking_from_option_then_environment(db: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "m.kml"
    assert main(["export", "--db", str(db), "--format", "kml", "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["marking"] == "EXERCISE"  # the store's meta
    monkeypatch.setenv("CIMIC_MARKING", "NATO UNCLASSIFIED")
    assert main(["export", "--db", str(db), "--format", "kml", "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["marking"] == "NATO UNCLASSIFIED"
    assert "NATO UNCLASSIFIED - CIMIC export" in out.read_text(encoding="utf-8")
    assert main(["export", "--db", str(db), "--format", "kml", "--out", str(out), "--json",
                 "--marking", "RESTRICTED"]) == 0
    assert json.loads(capsys.readouterr().out)["marking"] == "RESTRICTED"


def test_several_formats_fail_before_writing_any(db: Path, tmp_path: Path, capsys) -> None:
    # the TAK formats need corridors or shelters; checked for every format before the PNG is written
    code = main(["export", "--db", str(db), "--format", "png,cot", "--out", str(tmp_path), "--layers", "settlements"])
    assert code == 2
    assert "corridors or shelters" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
