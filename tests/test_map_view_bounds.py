"""The view a Leaflet map shows after ``setView`` (the COP search reads it before the browser reports it)."""

from __future__ import annotations

import math

import pytest

from cimic_geo.maps.controls import view_bounds, view_size_px


def test_whole_world_at_zoom_1_in_512_px() -> None:
    # zoom 1: the world is 2 * 256 = 512 px square, so a 512 px map centred on 0, 0 shows all of it
    assert view_bounds((0.0, 0.0), 1, (512, 512)) == pytest.approx((-180.0, -85.0511287798, 180.0, 85.0511287798))


def test_a_quarter_of_the_world_at_zoom_2() -> None:
    # zoom 2: world 1024 px; a 256 px map centred at pixel 512 spans pixels 384-640:
    # lon (384 / 1024 - 0.5) * 360 = -45 to +45; lat at y 384: Mercator y = (0.5 - 0.375) * 2 pi = pi / 4,
    # lat = 2 atan(e^(pi/4)) - pi/2 = 40.9799...°
    lat = math.degrees(2 * math.atan(math.exp(math.pi / 4)) - math.pi / 2)
    assert lat == pytest.approx(40.97990, abs=1e-5)
    bounds = view_bounds((0.0, 0.0), 2, (256, 256))
    assert bounds == pytest.approx((-45.0, -lat, 45.0, lat))
    assert view_size_px(bounds, 2) == (256, 256)


def test_the_top_left_pixel_is_rounded_as_javascript_rounds() -> None:
    # zoom 0: world 256 px, centre at pixel 128; a 3 px wide map starts at Math.round(126.5) = 127 (not 126, as
    # Python's round would give): lon (127 / 256 - 0.5) * 360 = -1.40625 to (130 / 256 - 0.5) * 360 = 2.8125
    x0, _y0, x1, _y1 = view_bounds((0.0, 0.0), 0, (3, 2))
    assert (x0, x1) == pytest.approx((-1.40625, 2.8125))


def test_the_size_comes_back_from_the_bounds_it_gives() -> None:
    for center, zoom, size in (((48.19, 37.21), 12, (939, 640)), ((49.48, 36.16), 8, (1000, 640)),
                               ((-33.9, 151.2), 15, (401, 333))):
        bounds = view_bounds(center, zoom, size)
        assert view_size_px(bounds, zoom) == size
        # centred on the place within a pixel (360 / 256 / 2^zoom degrees of longitude)
        assert (bounds[0] + bounds[2]) / 2 == pytest.approx(center[1], abs=360 / 256 / 2**zoom)
