"""KPI tiles that fit: short values (exact figures in the help), units in the labels, and the damage
table with every damage level visible (sectors as rows)."""

from __future__ import annotations

from test_cop_page import _run

from cimic_geo.analytics.kpi_strip import compact, kpi_strip
from cimic_geo.schema import DAMAGE_LEVELS
from cimic_geo.store import connect


def test_compact_values_are_short_and_signed():
    # hand-made: 40,812 -> 40.8 k; 5,310 stays exact; 33,856,120 -> 33.9 M; -12,400 -> -12.4 k
    assert compact(40_812) == "40.8 k" and compact(5_310) == "5,310"
    assert compact(33_856_120) == "33.9 M" and compact(-12_400) == "-12.4 k"
    # where rounding reaches the next unit: 99,960 -> 100 k (not 100.0 k), 999,600 -> 1.0 M (not 1000 k)
    assert compact(99_960) == "100 k" and compact(999_600) == "1.0 M"
    # every value fits a narrow tile: at most 7 characters below a billion
    assert max(len(compact(n)) for n in (0, 9_999, 10_000, 99_949, 99_999, 999_499, 999_999, 999_000_000)) <= 7


def test_cop_kpi_tiles_fit_and_the_damage_table_shows_every_level(monkeypatch, demo_db):
    at = _run(monkeypatch, demo_db)
    with connect(demo_db, read_only=True) as store:
        t = store.history_times("front_line")[-1]
        strip = kpi_strip(settlements=store.read("settlements"), shelters=store.read("shelters"),
                          infrastructure=store.read("infrastructure"), corridors=store.read("corridors"),
                          front_line=store.read("front_line", as_of=t),
                          occupied_area=store.read("occupied_area", as_of=t), as_of=t)
    tiles = {m.label: m for m in at.metric}
    sh = strip.shelters
    assert tiles["Shelters open"].value == compact(sh.by_status["open"])
    assert tiles["Shelters full"].value == compact(sh.by_status["full"])
    assert tiles["Shelter places (open and full)"].value == compact(sh.capacity)
    assert tiles["Shelter places used (%)"].value == f"{sh.occupancy / sh.capacity:.0%}"
    assert tiles["Shelter places used (%)"].help == (f"{sh.occupancy:,} of {sh.capacity:,} places in open and "
                                                     "full shelters are taken")
    assert all(len(m.value) <= 7 for m in at.metric), {m.label: m.value for m in at.metric}
    damage = next(d.value for d in at.table if "destroyed" in d.value.columns)  # a static table: a few rows
    # one row per damaged sector, one column per damage level and the total
    assert list(damage.columns) == [*(d for d in DAMAGE_LEVELS if d != "none"), "total"]
    expected = strip.damage.loc[strip.damage["total"] > 0]
    assert damage.index.tolist() == expected.index.tolist()
    assert (damage.to_numpy() == expected.to_numpy()).all()


def test_people_served_is_labelled_and_explained(monkeypatch, demo_db):
    from test_analytics_page import _run as run_analytics

    from cimic_geo.analytics.situation import exposure_at

    at = run_analytics(monkeypatch, demo_db)
    with connect(demo_db, read_only=True) as store:
        table = exposure_at(store, bands_km=(5, 20, 40)).table()
    # the demo's objects serve several sectors each: the sum exceeds the population, as explained
    assert (table["people_served"] > table["population"]).any()
    text = " ".join(c.value for c in at.caption)
    assert "one person served by a water plant, a substation and a boiler house counts three times" in text
    assert "it measures how much service is at stake, not how many people" in text
    shown = next(d for d in at.dataframe if "people_served" in d.value.columns)
    config = shown.proto.columns  # the column configuration sent to the browser (JSON)
    assert "people served (sum over objects)" in config and "counts three times" in config
