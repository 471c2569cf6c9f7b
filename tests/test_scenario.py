"""The EXERCISE scenario generator on the demo scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from cimic_geo.errors import ConfigError, StoreExistsError
from cimic_geo.geo import geodesic_area_km2, metric_crs
from cimic_geo.scenario import HISTORY_END, SOURCE, generate, seed_database
from cimic_geo.schema import CORRIDOR_STATUSES, LAYERS, RELIABILITY_RE
from cimic_geo.store import Store, connect

DEMO_BOX = (36.0, 47.8, 39.0, 50.0)  # the demo oblast: lon 36-39 E, lat 47.8-50 N
METRIC = metric_crs(DEMO_BOX)  # UTM 37N for the demo box


@pytest.fixture(scope="module")
def frames():
    return generate(scale="demo", seed=2026)


def _metric(gdf):
    return gdf.to_crs(METRIC)


def _front_now(frames):
    fl = frames["front_line"]
    return _metric(fl[fl["valid_to"].isna()]).geometry.iloc[0]


# -- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_frames(frames):
    again = generate(scale="demo", seed=2026)
    assert list(again) == list(frames)
    for name in frames:
        assert_geodataframe_equal(again[name], frames[name], check_less_precise=False)


def test_other_seed_gives_other_data(frames):
    other = generate(scale="demo", seed=7)
    a = shapely.get_coordinates(frames["settlements"].geometry.values)
    b = shapely.get_coordinates(other["settlements"].geometry.values)
    assert a.shape != b.shape or not np.array_equal(a, b)
    assert not frames["occupied_area"].geometry.iloc[-1].equals(other["occupied_area"].geometry.iloc[-1])


def test_unknown_scale_is_a_config_error():
    with pytest.raises(ConfigError, match="national"):
        generate(scale="galactic")  # type: ignore[arg-type]


# -- schema conformity ---------------------------------------------------------------------------


def test_every_layer_has_exactly_the_schema_columns_and_valid_rows(frames):
    assert list(frames) == list(LAYERS)
    x0, y0, x1, y1 = DEMO_BOX
    for name, gdf in frames.items():
        spec = LAYERS[name]
        assert list(gdf.columns) == [*spec.column_names, "geometry"], name
        assert gdf.crs.to_epsg() == 4326
        assert len(gdf) > 0, name
        assert gdf["id"].is_unique, name
        geoms = gdf.geometry.values
        assert shapely.is_valid(geoms).all(), name
        assert set(gdf.geom_type.str.upper()) <= set(spec.geometry_types), name
        bx0, by0, bx1, by1 = gdf.total_bounds
        tol = 1e-5  # ~1 m: edge crossings computed in UTM land a fraction of a metre off the parallel
        assert x0 - tol <= bx0 and bx1 <= x1 + tol and y0 - tol <= by0 and by1 <= y1 + tol, name
        assert (gdf["source"] == SOURCE).all()
        assert str(gdf["reported_at"].dt.tz) == "UTC" and gdf["reported_at"].notna().all()
        assert gdf["reliability"].map(lambda v: bool(RELIABILITY_RE.match(v))).all(), name
        for col in spec.columns:
            values = gdf[col.name]
            if col.required:
                assert values.notna().all(), (name, col.name)
            if col.choices:
                assert set(values.dropna()) <= set(col.choices), (name, col.name)
            if col.min_value is not None:
                assert (values.dropna() >= col.min_value).all(), (name, col.name)
            if col.max_value is not None:
                assert (values.dropna() <= col.max_value).all(), (name, col.name)


def test_ids_are_stable_readable_strings(frames):
    assert frames["settlements"]["id"].str.fullmatch(r"S\d{5}").all()
    assert frames["roads"]["id"].str.fullmatch(r"R\d{7}").all()
    assert frames["front_line"]["id"].iloc[-1] == "FL-20261120"
    assert frames["occupied_area"]["id"].iloc[-1] == "OA-20261120"


# -- settlements -----------------------------------------------------------------------------------


def test_settlement_sizes_are_zipf_like(frames):
    st = frames["settlements"]
    assert 300 <= len(st) <= 400
    pop = st["population"]
    assert pop.max() >= 50 * pop.median()
    cities = st[st["settlement_type"] == "city"]
    assert 1 <= len(cities) <= 3 and (cities["population"] >= 100_000).all()
    towns = st[st["settlement_type"] == "town"]["population"]
    assert towns.between(10_000, 100_000).all() and len(towns) >= 10
    villages = st[st["settlement_type"] == "village"]["population"]
    assert villages.between(200, 5_000).all() and len(villages) > 10 * len(towns)
    assert st["name_uk"].str.contains(r"[А-Яа-яІіЇїЄєҐґ]").all()
    assert st["name"].str.fullmatch(r"[A-Za-z' -]+").all()
    assert st["admin1"].nunique() == 1 and st["admin2"].nunique() >= 3


def test_people_live_on_both_sides_of_the_line(frames):
    occupied_now = frames["occupied_area"].geometry.iloc[-1]
    st = frames["settlements"]
    inside = shapely.contains(occupied_now, st.geometry.values)
    assert 0.05 < inside.mean() < 0.6
    assert st.loc[inside, "population"].sum() > 10_000
    sh = frames["shelters"]
    beyond = shapely.contains(occupied_now, sh.geometry.values)
    # beyond the line: no reliable occupancy, older and less reliable reports
    assert sh.loc[beyond, "occupancy"].isna().all() and set(sh.loc[beyond, "status"]) <= {"closed", "damaged"}
    assert sh.loc[beyond, "reliability"].str[0].isin(list("CDE")).all()


def test_villages_cluster_more_than_random_points(frames):
    st = _metric(frames["settlements"])
    xy = shapely.get_coordinates(st.geometry.values)
    nn = cKDTree(xy).query(xy, k=2)[0][:, 1]
    area_m2 = shapely.convex_hull(shapely.multipoints(xy)).area
    # Clark-Evans ratio: observed mean nearest-neighbour distance / 0.5 / sqrt(density);
    # 1 for random points, < 1 for clustered ones.
    ratio = nn.mean() / (0.5 / np.sqrt(len(xy) / area_m2))
    assert ratio < 0.9


# -- roads -----------------------------------------------------------------------------------------


def _road_graph(roads):
    coords = shapely.get_coordinates(roads.geometry.values)
    assert len(coords) == 2 * len(roads)  # every piece is a 2-point segment
    nodes, inverse = np.unique(coords, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1, 2)
    n = len(nodes)
    graph = coo_matrix((np.ones(len(inverse)), (inverse[:, 0], inverse[:, 1])), shape=(n, n))
    return nodes, graph


def test_road_network_is_one_connected_component_through_every_settlement(frames):
    roads = frames["roads"]
    assert 8_000 <= len(roads) <= 12_000
    nodes, graph = _road_graph(roads)
    n_components, _ = connected_components(graph, directed=False)
    assert n_components == 1
    settlements = shapely.get_coordinates(frames["settlements"].geometry.values)
    node_set = {tuple(p) for p in nodes}
    assert all(tuple(p) in node_set for p in settlements)


def test_road_classes_and_speeds(frames):
    roads = frames["roads"]
    assert {"motorway", "secondary", "local"} <= set(roads["road_class"])
    open_ = roads[roads["status"] == "open"]
    expected = {"motorway": 110, "trunk": 90, "primary": 80, "secondary": 70, "tertiary": 60, "local": 50, "track": 30}
    assert (open_["speed_kmh"] == open_["road_class"].map(expected)).all()
    damaged = roads[roads["status"] == "damaged"]
    assert len(damaged) and (damaged["speed_kmh"] < damaged["road_class"].map(expected)).all()
    named = roads[roads["road_class"] == "motorway"]["name"]
    assert named.str.match(r"M-\d+").all()


def test_bridges_and_destroyed_bridges(frames):
    roads = frames["roads"].set_index("id")
    infra = frames["infrastructure"]
    bridges = infra[infra["sector"] == "bridge"]
    assert roads["bridge"].sum() >= 1
    assert set(bridges["road_id"]) == set(roads.index[roads["bridge"]])
    destroyed = bridges[bridges["damage"] == "destroyed"]
    assert len(destroyed) >= 1
    assert (roads.loc[destroyed["road_id"], "status"] == "impassable").all()
    assert (roads.loc[destroyed["road_id"], "bridge"]).all()


# -- front line and occupied area --------------------------------------------------------------------


def test_front_history_is_daily_chained_and_moves(frames):
    for name in ("front_line", "occupied_area"):
        h = frames[name].sort_values("valid_from")
        assert len(h) == 90
        assert h["valid_from"].iloc[-1] == HISTORY_END
        assert (h["valid_from"].diff().dropna() == pd.Timedelta(days=1)).all()
        assert h["valid_to"].isna().sum() == 1 and pd.isna(h["valid_to"].iloc[-1])
        assert (h["valid_to"].iloc[:-1].to_numpy() == h["valid_from"].iloc[1:].to_numpy()).all()
    oa = frames["occupied_area"].geometry
    changed = geodesic_area_km2(shapely.symmetric_difference(oa.iloc[0], oa.iloc[-1]))
    assert changed > 100.0
    assert geodesic_area_km2(oa.iloc[-1]) > 5_000.0


def test_front_line_is_the_occupied_boundary_and_occupied_side_is_east(frames):
    fl = frames["front_line"].geometry
    oa = frames["occupied_area"].geometry
    for k in (0, 45, 89):
        # rounding to 6 decimals moves vertices by < 1e-6 degrees
        assert oa.iloc[k].boundary.buffer(2e-6).covers(fl.iloc[k])
        assert oa.iloc[k].centroid.x > fl.iloc[k].centroid.x


def test_damage_decays_with_distance_to_the_front(frames):
    front = _front_now(frames)
    infra = _metric(frames["infrastructure"])
    d_km = shapely.distance(infra.geometry.values, front) / 1000.0
    damaged = (infra["damage"] != "none").to_numpy()
    near, far = damaged[d_km <= 20].mean(), damaged[d_km > 60].mean()
    assert near > 1.8 * far and near > 0.5
    roads = _metric(frames["roads"])
    rd = shapely.distance(shapely.centroid(roads.geometry.values), front) / 1000.0
    bad = (roads["status"] != "open").to_numpy()
    assert bad[rd <= 20].mean() > 3 * bad[rd > 60].mean()
    restored = infra["restoration"] == "restored"
    assert restored[d_km > 60].sum() > restored[d_km <= 20].sum()


def test_shelters_scale_with_population(frames):
    st = frames["settlements"].set_index("id")
    sh = frames["shelters"]
    assert 800 <= len(sh) <= 1_300
    assert set(sh["settlement_id"]) <= set(st.index)
    cap = sh.groupby("settlement_id")["capacity"].sum()
    pop = st.loc[cap.index, "population"]
    assert np.corrcoef(np.log(cap), np.log(pop))[0, 1] > 0.8
    assert set(sh["kind"]) == {"blast_shelter", "collective_centre", "transit_centre", "medical"}
    assert {"open", "full", "damaged"} <= set(sh["status"])
    full = sh[sh["status"] == "full"]
    assert (full["occupancy"] >= full["capacity"]).all()
    assert sh["name"].notna().all() and sh["address"].notna().all()


def test_corridors_follow_roads_from_the_front_to_the_rear(frames):
    co = frames["corridors"]
    assert co["status"].nunique() >= 4 and set(co["status"]) <= set(CORRIDOR_STATUSES)
    # version: 1 (proposed) + one move + the workflow steps to the current status (see scenario._history)
    steps = {"draft": 0, "proposed": 0, "agreed": 1, "active": 2, "suspended": 3, "closed": 2}
    assert (co["version"] == 2 + co["status"].map(steps)).all() and (co["updated_by"] == "exercise-generator").all()
    assert (co["window_start"] < co["window_end"]).all()
    st = frames["settlements"].set_index("name")
    nodes, _ = _road_graph(frames["roads"])
    node_set = {tuple(p) for p in nodes}
    front = _front_now(frames)
    for _, row in co.iterrows():
        coords = shapely.get_coordinates(row.geometry)
        assert all(tuple(p) in node_set for p in coords)  # every vertex is a road vertex
        origin = st.loc[[row["origin"]]].geometry.iloc[0]
        dest = st.loc[[row["destination"]]].geometry.iloc[0]
        assert tuple(coords[0]) == (origin.x, origin.y) and tuple(coords[-1]) == (dest.x, dest.y)
        o_km, d_km = (shapely.distance(_metric(st.loc[[n]]).geometry.iloc[0], front) / 1000 for n in
                      (row["origin"], row["destination"]))
        assert o_km <= 40 and d_km >= 50


# -- seeding the store -------------------------------------------------------------------------------


def test_seeded_database_matches_the_generated_frames(demo_db, frames):
    store = connect(demo_db, read_only=True)
    try:
        assert store.counts() == {name: len(gdf) for name, gdf in frames.items()}
        meta = store.get_meta()
        assert store.marking == "EXERCISE" and meta["scale"] == "demo" and meta["seed"] == "2026"
        back = store.read("settlements")
        assert back["id"].tolist() == sorted(frames["settlements"]["id"])
        assert len(store.read("front_line", as_of="2026-11-19T12:00Z")) == 1
    finally:
        store.close()


def test_seed_refuses_to_overwrite_without_force(demo_db):
    store = connect(demo_db, read_only=True)
    before = store.fingerprint()
    store.close()
    with pytest.raises(StoreExistsError):
        seed_database(demo_db)
    store = connect(demo_db, read_only=True)
    assert store.fingerprint() == before
    store.close()


def test_seed_with_force_replaces_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "cimic.duckdb"
    target.write_bytes(b"not a database")
    assert seed_database(target, force=True, seed=11) == target
    store = connect(target, read_only=True)
    assert store.get_meta()["seed"] == "11" and store.counts()["settlements"] > 0
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cimic.duckdb"]


def test_interrupted_seed_leaves_nothing_at_the_target(tmp_path, monkeypatch):
    def boom(self, frames, **options):
        raise RuntimeError("killed")

    monkeypatch.setattr(Store, "bulk_load", boom)
    target = tmp_path / "cimic.duckdb"
    with pytest.raises(RuntimeError, match="killed"):
        seed_database(target)
    assert list(tmp_path.iterdir()) == []
