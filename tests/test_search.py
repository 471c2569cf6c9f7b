"""Finding a settlement by English, Ukrainian or transliterated name; Ukrainian names fill name_uk."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from cimic_geo.ingest import import_file
from cimic_geo.ingest.mapping import fill_names
from cimic_geo.maps.cop_view import search_settlements
from cimic_geo.store import connect


def _settlements_file(path: Path, rows: list[dict]) -> Path:
    feats = [{"type": "Feature", "properties": {k: v for k, v in r.items() if k not in ("lon", "lat")},
              "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]}} for r in rows]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return path


def test_fill_names_by_hand() -> None:
    frame = pd.DataFrame({"name": ["Краматорськ", "Kyiv", "Кам'янське", "Лиман", None],
                          "name_uk": [None, "Київ", "", "Лиман", None]})
    out = fill_names(frame)
    # KMU 2010 table: К-k р-r а-a м-m т-t о-o с-s ь-(dropped); the apostrophe is dropped, я after it -> ia
    assert out["name"].tolist()[:4] == ["Kramatorsk", "Kyiv", "Kamianske", "Lyman"]
    assert out["name_uk"].tolist()[:4] == ["Краматорськ", "Київ", "Кам'янське", "Лиман"]
    assert pd.isna(out["name"].iloc[4]) and pd.isna(out["name_uk"].iloc[4])
    assert frame["name"].iloc[0] == "Краматорськ"  # a copy: the input is unchanged


def test_search_by_english_ukrainian_and_transliterated_name(tmp_path: Path, empty_db: Path) -> None:
    path = _settlements_file(tmp_path / "towns.geojson", [
        {"id": "k1", "name": "Краматорськ", "population": 150000, "lon": 37.56, "lat": 48.72},
        {"id": "k2", "name": "Кам'янське", "population": 220000, "lon": 34.61, "lat": 48.51},
        {"id": "k3", "name": "Kramatorska Sloboda", "name_uk": "Краматорська Слобода", "population": 500,
         "lon": 37.60, "lat": 48.70},
    ])
    with connect(empty_db) as store:
        assert import_file(store, "settlements", path, allow_mixed=False).ok
        for query in ("Kramatorsk", "kramatorsk", "Краматорськ", "краматорськ"):
            found = search_settlements(store, query)
            # the exact match first, then the larger of the partial ones
            assert found["id"].tolist() == ["k1", "k3"], query
            assert found.iloc[0]["name_uk"] == "Краматорськ" and found.iloc[0]["name"] == "Kramatorsk"
        assert search_settlements(store, "Kam'ianske")["id"].tolist() == ["k2"]
        assert search_settlements(store, "Кам'янськ")["id"].tolist() == ["k2"]
        assert search_settlements(store, "Lviv").empty
        assert set(search_settlements(store, "Kramatorsk").columns) >= {"lat", "lon", "mgrs"}


def test_search_finds_names_stored_only_in_cyrillic(empty_db: Path) -> None:
    # a store written before names were transliterated on import: name in Cyrillic, no name_uk
    rows = gpd.GeoDataFrame({"id": ["a", "b"], "name": ["Слов'янськ", "Ізюм"], "population": [100000, 45000]},
                            geometry=[Point(37.6, 48.85), Point(37.26, 49.21)], crs="EPSG:4326")
    with connect(empty_db) as store:
        store.write("settlements", rows)
        assert search_settlements(store, "Sloviansk")["id"].tolist() == ["a"]
        assert search_settlements(store, "izium")["id"].tolist() == ["b"]
        assert search_settlements(store, "Ізюм")["id"].tolist() == ["b"]


def test_real_hromada_centres_found_by_english_name(real_data_dir: Path, empty_db: Path) -> None:
    path = real_data_dir / "settlements" / "ua_hromada_centers_pop2022_kse.geojson"
    with connect(empty_db) as store:
        rep = import_file(store, "settlements", path, mode="upsert", source="KSE", reliability="B2",
                          mapping={"name": "hromada_center", "population": "population_2022"})
        assert rep.ok, rep.summary_lines()
        rows = store.read("settlements", columns=["name", "name_uk"])
        # every centre's Ukrainian name is kept in name_uk; name is Latin
        assert rows["name_uk"].notna().all() and not rows["name"].str.contains("[А-Яа-яІіЇїЄєҐґ]").any()
        found = search_settlements(store, "Kramatorsk")
        assert found.iloc[0]["name_uk"] == "Краматорськ" and found.iloc[0]["name"] == "Kramatorsk"
        assert found.iloc[0]["admin1"] == "Донецька"
        assert search_settlements(store, "Краматорськ").iloc[0]["id"] == found.iloc[0]["id"]
        assert search_settlements(store, "Zaporizhzhia").iloc[0]["name_uk"] == "Запоріжжя"
