"""Suggested export file names name the view: area, page, layers and other parameters, as-of time."""

from __future__ import annotations

import hashlib

import pytest

from cimic_geo.export import View
from cimic_geo.export.naming import dated_name, layers_part
from cimic_geo.ui.export_panel import file_name

T = "2026-11-20T06:00Z"


def test_the_page_layers_and_details_are_in_the_name() -> None:
    assert dated_name("demo", T, "png", view="cop", details=("front_line", "bands 5/20/40")) == (
        "cimic_demo_cop_front-line_bands-5-20-40_20261120_0600Z.png")
    # without them the name is as before
    assert dated_name("demo", T, "png") == "cimic_demo_20261120_0600Z.png"


def test_layer_lists_short_and_long() -> None:
    assert layers_part(["roads", "front_line"]) == "front-line-roads"  # sorted, sanitised
    assert layers_part(["roads", "front_line"]) == layers_part(("front_line", "roads", "roads"))
    many = ["front_line", "occupied_area", "roads", "corridors", "settlements", "infrastructure"]
    digest = hashlib.sha1("\n".join(sorted(many)).encode()).hexdigest()[:6]
    assert layers_part(many) == f"6-layers-{digest}"
    assert layers_part(many) != layers_part([*many[:-1], "shelters"])
    assert layers_part([]) == "no-layers"


def test_hostile_text_never_reaches_the_name_unsanitised() -> None:
    name = dated_name("../../etc", T, "csv", view="cop/../x", details=("<script>", "Харків; rm -rf"))
    assert name == "cimic_etc_cop-x_script_kharkiv-rm-rf_20261120_0600Z.csv"
    assert "/" not in name and " " not in name


@pytest.mark.parametrize("fmt", ["png", "geojson"])
def test_exports_of_different_views_get_different_names(fmt: str) -> None:
    cop = View(bbox=(36.8, 48.0, 37.3, 48.1), as_of=T, layers=("front_line", "shelters"), title="COP")
    planner = View(bbox=(36.8, 48.0, 37.3, 48.1), as_of=T, layers=("front_line", "roads", "corridors"),
                   title="Planner")
    names = {
        file_name("demo", cop, fmt, page="cop", as_of=T),
        file_name("demo", planner, fmt, page="planner", as_of=T),
        file_name("demo", cop, fmt, page="cop", as_of="2026-11-21T06:00Z"),  # another as-of time
        file_name("demo", cop, fmt, page="analytics", as_of=T, details=("bands-5-20-40",)),
        file_name("demo", cop, fmt, page="analytics", as_of=T, details=("bands-3-6-9",)),
    }
    assert len(names) == 5
    assert file_name("demo", cop, fmt, page="cop", as_of=T) == f"cimic_demo_cop_front-line-shelters_20261120_0600Z.{fmt}"
