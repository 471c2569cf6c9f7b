"""Property tests: malformed files never crash the importer and never write part of a file."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cimic_geo.errors import CimicError
from cimic_geo.ingest import import_file
from cimic_geo.store import Store, connect, init_store

NAMES = st.one_of(
    st.text(min_size=0, max_size=30),
    st.sampled_from(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "A&B \"q\" 'x'", "Укриття №1",
                     "\x00\x07bell", "x" * 3000]),
)
NUMBERS = st.one_of(
    st.integers(min_value=-10, max_value=10**6),
    st.integers(min_value=10**15, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["12", "1 200", "abc", "", None, "1e400", "-0"]),
)
COORD = st.one_of(st.floats(min_value=20, max_value=42), st.floats(allow_nan=True, allow_infinity=True),
                  st.sampled_from([float("nan"), 1e308, -1e308, 37.5]))
POINT = st.builds(lambda x, y: {"type": "Point", "coordinates": [x, y]}, COORD, COORD)
GEOMETRY = st.one_of(
    POINT,
    st.none(),
    st.just({"type": "LineString", "coordinates": [[37, 48], [37.1, 48.1]]}),
    st.just({"type": "Polygon", "coordinates": [[[37, 48], [37.1, 48], [37.1, 48.1], [37, 48]]]}),
    st.just({"type": "MultiPoint", "coordinates": [[37, 48], [37.2, 48.2]]}),
    st.just({"type": "Point", "coordinates": []}),
    st.just({"type": "GeometryCollection", "geometries": []}),
)
FEATURE = st.fixed_dictionaries({
    "type": st.just("Feature"),
    "properties": st.fixed_dictionaries({
        "id": st.one_of(st.sampled_from(["a", "b", "c", "a"]), st.integers(0, 3), st.none()),
        "name": NAMES,
        "kind": st.sampled_from(["blast_shelter", "Підвал", "medical", "weird", None]),
        "capacity": NUMBERS,
        "status": st.sampled_from(["open", "Відкрито", "FULL", "nope", None]),
        "reliability": st.sampled_from(["B2", "b2", "Z9", None]),
    }),
    "geometry": GEOMETRY,
})


def _dump(doc: object) -> str:
    return json.dumps(doc, ensure_ascii=False, allow_nan=True)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One store for all examples (opening DuckDB + spatial per example would dominate the run)."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb"
    init_store(path).close()
    with connect(path) as s:
        yield s


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(features=st.lists(FEATURE, min_size=0, max_size=8), cut=st.one_of(st.none(), st.integers(1, 400)),
       mode=st.sampled_from(["append", "upsert", "replace"]), only_valid=st.booleans())
def test_malformed_files_never_crash_nor_partially_write(store: Store, tmp_path_factory, features, cut, mode,
                                                          only_valid) -> None:
    text = _dump({"type": "FeatureCollection", "features": features})
    if cut is not None:
        text = text[:cut]  # truncated JSON
    path = tmp_path_factory.mktemp("f") / "shelters.geojson"
    path.write_text(text, encoding="utf-8")
    before = store.fingerprint()
    n_before = store.counts()["shelters"]
    try:
        report = import_file(store, "shelters", path, mode=mode, only_valid=only_valid)
    except CimicError:
        assert store.fingerprint() == before
        return
    after = store.fingerprint()
    if not report.committed:
        assert not report.ok
        assert after == before, "a rejected import changed the store"
        return
    written = report.written["shelters"]
    assert written == report.rows_valid
    if not only_valid:
        assert report.rows_rejected == 0 and not report.errors
    n_after = store.counts()["shelters"]
    if mode == "replace":
        assert n_after == written
    elif mode == "append":
        assert n_after == n_before + written
    rows = store.read("shelters")
    assert rows["capacity"].between(0, 1e6).all()
    assert rows.geometry.notna().all()
    for g in rows.geometry:
        assert all(math.isfinite(c) for c in g.coords[0])
        assert 20 <= g.x <= 42.5 and 43 <= g.y <= 54.5


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(NAMES.filter(lambda s: "\x00" not in s and '"' not in s and "\n" not in s
                                            and "\r" not in s),
                               st.sampled_from(["48.5", "nan", "", "91", "abc", "48,7"]),
                               st.sampled_from(["37.5", "inf", "-", "37,1", "1e9"]),
                               st.sampled_from(["10", "-1", "x", "", "99999999999999999999"])),
                     min_size=1, max_size=6))
def test_malformed_csv(store: Store, tmp_path_factory, rows) -> None:
    lines = ["name,lat,lon,capacity,kind,status"] + [f'"{n}",{la},{lo},{c},medical,open' for n, la, lo, c in rows]
    path = tmp_path_factory.mktemp("c") / "s.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    before = store.fingerprint()
    try:
        report = import_file(store, "shelters", path, mode="upsert")
    except CimicError:
        assert store.fingerprint() == before
        return
    if not report.committed:
        assert store.fingerprint() == before
    else:
        assert not report.errors and report.written["shelters"] == len(rows)


POLY = st.builds(
    lambda x, y, d: {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]},
    COORD, COORD, st.one_of(st.floats(min_value=-1, max_value=2), st.just(float("nan"))),
)
SNAPSHOT_FEATURE = st.fixed_dictionaries({
    "type": st.just("Feature"),
    "properties": st.fixed_dictionaries({"name": st.sampled_from(["Окуповано /// Occupied", "Звільнено", "",
                                                                  "<i>x</i>", "ОРДЛО"])}),
    "geometry": st.one_of(POLY, GEOMETRY),
})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(snapshots=st.lists(st.tuples(st.lists(SNAPSHOT_FEATURE, max_size=4), st.one_of(st.none(),
                                                                                      st.integers(1, 200))),
                          min_size=1, max_size=3),
       mode=st.sampled_from(["append", "replace"]), only_valid=st.booleans())
def test_malformed_snapshots(store: Store, tmp_path_factory, snapshots, mode, only_valid) -> None:
    folder = tmp_path_factory.mktemp("snap")
    paths = []
    for day, (features, cut) in enumerate(snapshots, start=1):
        text = _dump({"type": "FeatureCollection", "features": features})
        p = folder / f"occupied_202501{day:02d}.geojson"
        p.write_text(text[:cut] if cut else text, encoding="utf-8")
        paths.append(p)
    before = store.fingerprint()
    try:
        report = import_file(store, "occupied_area", paths, mode=mode, only_valid=only_valid,
                             allow_outline_front=True)
    except CimicError:
        assert store.fingerprint() == before
        return
    if not report.committed:
        assert store.fingerprint() == before
        return
    assert report.written["occupied_area"] == report.rows_valid >= 1
    occ = store.read("occupied_area")
    assert occ.geometry.is_valid.all()
    assert all(g.geom_type in ("Polygon", "MultiPolygon") for g in occ.geometry)
    fl = store.read("front_line")
    assert all(g.geom_type in ("LineString", "MultiLineString") for g in fl.geometry)
    times = sorted(occ["valid_from"])
    chained = occ.sort_values("valid_from")["valid_to"].tolist()
    assert chained[:-1] == times[1:] and pd.isna(chained[-1])
