"""Civil maps: colours by status and age, 3W layers, offline assets, hostile text stays text."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from cimic_geo.errors import AnalysisError
from cimic_geo.maps.civil_map import STATUS_COLOURS, assessment_map, partners_map
from cimic_geo.maps.layers_common import MapLook

EVIL = '<img src=x onerror=alert(1)>{{ 7*7 }}"</script>'

SETTLEMENTS = gpd.GeoDataFrame(
    {"id": ["S1", "S2", "S3"], "name": [EVIL, "Bravo", "Charlie"], "population": [100, 2000, 30],
     "status": ["disrupted", "functional", "unknown"], "state": ["stale", "current", "never"],
     "last_assessed": [pd.Timestamp("2026-11-01", tz="UTC"), pd.Timestamp("2026-11-19", tz="UTC"), pd.NaT],
     "age_days": [19.0, 1.0, float("nan")], "priority_needs": [EVIL, None, None]},
    geometry=shapely.points([(30.0, 50.0), (30.1, 50.0), (30.2, 50.1)]), crs="EPSG:4326")


def _html(m) -> str:
    return m.get_root().render()


def test_assessment_map_colours_escapes_and_stays_offline():
    html = _html(assessment_map(SETTLEMENTS, sector="water", look=MapLook(marking="EXERCISE")))
    assert STATUS_COLOURS["disrupted"] in html and STATUS_COLOURS["functional"] in html
    # HTML-escaped for the tooltip, then JSON with <, >, & escaped inside the script
    assert "<img src=x" not in html and "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html
    assert "{{ 7*7 }}" in html and ">49<" not in html  # data is never rendered as a template
    assert "EXERCISE" in html  # the marking banner
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    by_age = _html(assessment_map(SETTLEMENTS, sector="water", colour_by="state"))
    assert "assessment stale" in by_age and "never assessed" in by_age
    with pytest.raises(AnalysisError):
        assessment_map(SETTLEMENTS, sector="water", colour_by="rainbow")  # type: ignore[arg-type]


def test_partners_map_draws_areas_served_points_and_gaps():
    partners = gpd.GeoDataFrame(
        {"partner_id": ["P1", "P2"], "organisation": [EVIL, "SES"], "org_type": ["ngo", "ses"],
         "sector": ["water", "power"], "activity": ["trucking", "generators"], "contact": ["desk", "duty"]},
        geometry=[shapely.box(29.9, 49.9, 30.05, 50.05), shapely.MultiPoint([(30.1, 50.0)])], crs="EPSG:4326")
    gaps = pd.DataFrame({"settlement_id": ["S3", "S3"], "sector": ["water", "food"]})
    html = _html(partners_map(partners, settlements=SETTLEMENTS, gaps=gaps))
    assert "Partners: water" in html and "Partners: power" in html and "gap: unmet need, no partner" in html
    assert "food, water" in html  # the gap settlement lists its uncovered sectors
    assert "<img src=x" not in html


def test_messages_from_files_are_shown_as_plain_text():
    from cimic_geo.ui.sheet_panel import plain

    # a file name or cell in a message must not become a markdown image (a request) or a link
    shown = plain("![x](http://203.0.113.9/p.png) [click](http://x) <b>bold</b> *a*")
    assert "![" not in shown and "](" not in shown and "<b>" not in shown
    assert shown.replace("\\", "") == "![x](http://203.0.113.9/p.png) [click](http://x) <b>bold</b> *a*"
