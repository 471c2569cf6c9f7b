"""The PNG/PDF brief draws the store's basemap under the layers, in the COP's palette and shapes,
and switches to APP-6 symbols on request (``View.extra["symbols"]``, ``export --symbols``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from PIL import Image

from cimic_geo.cli import main
from cimic_geo.export import View, load_view
from cimic_geo.export.snapshot import render_map_figure
from cimic_geo.export.snapshot_basemap import attach_basemap, snapshot_zoom
from cimic_geo.export.snapshot_map import SHELTER_COLOURS
from cimic_geo.maps.cop_style import BASEMAP_STYLES, MAJOR_ROAD_STYLES, SHELTER_STATUS_COLORS
from cimic_geo.store import connect

LAYERS = ("front_line", "occupied_area", "shelters", "infrastructure", "settlements")


def _count(img: np.ndarray, colour: str, tol: int = 6) -> int:
    """Pixels within ``tol`` (0-255 per channel) of ``colour``."""
    ref = np.array([round(c * 255) for c in to_rgb(colour)])
    return int((np.abs(img[..., :3].astype(int) - ref).max(axis=-1) <= tol).sum())


def _render(loaded) -> tuple[np.ndarray, object]:
    fig = render_map_figure(loaded, kpis=None)
    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(150)
    canvas.draw()
    img = np.asarray(canvas.buffer_rgba())
    ax = max(fig.axes, key=lambda a: a.get_position().width * a.get_position().height)  # the map
    return img, ax


@pytest.fixture(scope="module")
def loaded_pair(demo_db: Path):
    with connect(demo_db, read_only=True) as store:
        plain = load_view(store, View(layers=LAYERS))
        symbols = load_view(store, View(layers=LAYERS, extra={"symbols": True}))
        attach_basemap(store, plain)
        attach_basemap(store, symbols)
        bare = load_view(store, View(layers=LAYERS))  # no basemap attached
    return plain, symbols, bare


def test_snapshot_zoom_from_bbox_width() -> None:
    # z = floor(log2(760·360 / (256·w))): w=18° -> log2(59.4)=5.89 -> 5; w=3° -> log2(356.25)=8.48 -> 8;
    # w=0.1° -> 13.38 -> 13 (the cap)
    assert snapshot_zoom((22, 44, 40, 52)) == 5
    assert snapshot_zoom((36, 48, 39, 50)) == 8
    assert snapshot_zoom((36, 48, 36.1, 48.1)) == 13
    assert snapshot_zoom((0, 0, 170, 10)) == 5  # the floor


def test_palette_has_one_home() -> None:
    assert SHELTER_COLOURS is SHELTER_STATUS_COLORS


def test_basemap_drawn_under_layers(loaded_pair) -> None:
    plain, _, bare = loaded_pair
    assert set(plain.basemap) == {"basemap", "major_roads", "labels"}
    assert set(plain.basemap["basemap"]["kind"]) >= {"river", "admin1", "state"}
    with_bm, ax = _render(plain)
    without, _ = _render(bare)
    for colour in (BASEMAP_STYLES["river"]["color"], MAJOR_ROAD_STYLES["motorway"]["color"]):
        # the colour is (nearly) absent without the basemap and drawn with it
        n_with, n_without = _count(with_bm, colour, tol=12), _count(without, colour, tol=12)
        assert n_with > 3 * n_without + 100, (colour, n_with, n_without)
    # nothing of the basemap outside the map frame: the gap between the map and the legend, over the
    # map's height, is the same in both renders
    box = ax.get_window_extent()
    h = with_bm.shape[0]
    gap = (slice(h - int(box.y1), h - int(box.y0)), slice(int(box.x1) + 3, int(box.x1) + 20))
    assert np.array_equal(with_bm[gap], without[gap])


def test_shelters_not_in_threat_colours(loaded_pair) -> None:
    plain, _, _ = loaded_pair
    img, ax = _render(plain)
    xy = _shelter_pixels(plain, ax, img.shape[0])
    px = img[xy[:, 1], xy[:, 0], :3].astype(int)
    red = (px[:, 0] > 200) & (px[:, 1] < 70) & (px[:, 2] < 70)
    assert red.mean() < 0.02
    blues = sum(_count(img, SHELTER_STATUS_COLORS[s], tol=4) for s in ("open", "full"))
    assert blues > 500  # blue squares are drawn


def _shelter_pixels(loaded, ax, height: int) -> np.ndarray:
    from cimic_geo.export.snapshot_map import MapProjection

    proj = MapProjection(loaded.bbox)
    g = loaded.frames["shelters"].geometry
    x, y = proj.xy(g.x.to_numpy(), g.y.to_numpy())
    disp = ax.transData.transform(np.column_stack([x, y]))
    col = np.clip(np.round(disp[:, 0]).astype(int), 0, None)
    row = np.clip(height - np.round(disp[:, 1]).astype(int), 0, height - 1)
    return np.column_stack([col, row])


def test_symbols_switch_changes_shelter_pixels(loaded_pair) -> None:
    plain, symbols, _ = loaded_pair
    a, ax = _render(plain)
    b, _ = _render(symbols)
    xy = _shelter_pixels(plain, ax, a.shape[0])
    diff_at = [np.abs(a[r - 3:r + 4, c - 3:c + 4, :3].astype(int) - b[r - 3:r + 4, c - 3:c + 4, :3].astype(int)).mean()
               for c, r in xy[:300]]
    assert np.mean(np.array(diff_at) > 5) > 0.5  # most shelter locations look different
    # the map far from any point (the banner rows) is unchanged
    assert np.array_equal(a[:20], b[:20])


@pytest.mark.parametrize("symbols", [False, True])
def test_cli_symbols_option_writes_readable_png(demo_db: Path, tmp_path: Path, capsys, symbols: bool) -> None:
    out = tmp_path / "brief.png"
    args = ["export", "--db", str(demo_db), "--format", "png", "--out", str(out), "--layers", ",".join(LAYERS),
            "--json"] + (["--symbols"] if symbols else [])
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["files"][0]["path"] == str(out)
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (1654, 2338, 3)  # A4 landscape at 200 dpi
    assert _count(img, BASEMAP_STYLES["river"]["color"]) > 100
