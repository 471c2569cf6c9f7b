"""MGRS wherever lat,lon is accepted: route origin/destination and pasted corridor lines."""

from __future__ import annotations

import pyproj
import pytest
from access_fixtures import PT_A, PT_H, PT_N1, PT_N2
from access_fixtures import meridian_km as m_km
from access_fixtures import parallel_km as p_km
from test_planner_page import (
    _app,
    _button,
    _errors,
    _successes,
    planner_db,  # noqa: F401  (fixture)
)

from cimic_geo.analytics.corridor_lines import line_from_text
from cimic_geo.analytics.places import parse_latlon
from cimic_geo.errors import AnalysisError, ValidationError
from cimic_geo.geo import parse_mgrs, to_mgrs


def test_parse_mgrs_matches_utm_from_pyproj():
    # 37U CP 67033 73440: UTM zone 37 north; the digits are the easting and northing modulo 100 km of
    # a 1 m square, whose centre is +0.5 m. Checked with pyproj's UTM projection, not the mgrs library.
    utm = pyproj.Transformer.from_crs(4326, 32637, always_xy=True)
    lat, lon = parse_mgrs("37U CP 67033 73440")
    e, n = utm.transform(lon, lat)
    assert e % 100_000 == pytest.approx(67_033.5, abs=0.01) and n % 100_000 == pytest.approx(73_440.5, abs=0.01)
    assert 48.4 < lat < 48.6 and 37.1 < lon < 37.3
    # spaces and case do not matter; 8 digits = a 10 m square, centre +5 m
    assert parse_mgrs("37ucp6703373440") == pytest.approx((lat, lon))
    e10, n10 = utm.transform(*reversed(parse_mgrs("37U CP 6703 7344")))
    assert e10 % 100_000 == pytest.approx(67_035, abs=0.01) and n10 % 100_000 == pytest.approx(73_445, abs=0.01)


def test_parse_mgrs_refuses_malformed_and_ignores_names():
    assert parse_mgrs("Kramatorsk") is None and parse_mgrs("48.5,37.2") is None
    for bad in ("37U CP 6703 734", "61U CP 12 34", "0U CP 12 34"):
        with pytest.raises(AnalysisError, match="not a valid MGRS reference"):
            parse_mgrs(bad)
    # the planner's place parser: lat,lon as before, MGRS now too
    assert parse_latlon("48.5, 37.2") == (48.5, 37.2)
    assert parse_latlon("37U CP 67033 73440") == pytest.approx(parse_mgrs("37U CP 67033 73440"))


def test_pasted_line_accepts_mgrs_points():
    refs = [to_mgrs(lat, lon) for lon, lat in (PT_A, PT_N1)]
    line = line_from_text(f"{refs[0]}\n{refs[1]}; {PT_N2[1]},{PT_N2[0]}; {to_mgrs(PT_H[1], PT_H[0])}")
    got = list(line.coords)
    for (x, y), (px, py) in zip(got, [PT_A, PT_N1, PT_N2, PT_H], strict=True):
        assert abs(x - px) < 2e-5 and abs(y - py) < 2e-5  # within ~1.5 m (the 1 m square's corner)
    with pytest.raises(ValidationError) as info:
        line_from_text(f"{refs[0]}; nowhere")
    assert "point 2 'nowhere' is neither 'lat,lon' nor an MGRS reference" in str(info.value.problems)


def test_route_from_an_mgrs_reference_on_the_planner(monkeypatch, planner_db):  # noqa: F811
    at = _app(monkeypatch, planner_db)
    at.text_input(key="planner:origin").input(to_mgrs(PT_A[1], PT_A[0]))  # Alpha's position as MGRS
    at.text_input(key="planner:destination").input("Harbour")
    _button(at, "Suggest routes").click()
    at.run()
    assert not at.error, _errors(at)
    table = at.dataframe[0].value
    expected = 2 * m_km(48.025, 0.05) + p_km(48.05, 0.1)  # the northern loop: the bridge is destroyed
    assert float(table.iloc[:, 0]["Length (km, geodesic)"]) == pytest.approx(expected, abs=0.01)
    assert "→ Harbour" in _successes(at)[0]
    at.text_input(key="planner:origin").input("37U CP 6703 734")
    _button(at, "Suggest routes").click()
    at.run()
    assert "not a valid MGRS reference" in _errors(at)
