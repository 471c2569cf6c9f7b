"""The map page's layout: labels stay inside the map frame, the footer stays on the page above the
bottom banner (wrapped, never cut off), and a DTG earlier than the reports drawn is said so."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from export_fixtures import T0, T1, build_store
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from cimic_geo.export import View, export, load_view
from cimic_geo.export.snapshot import _fonts, render_map_figure
from cimic_geo.export.snapshot_pages import A4_LANDSCAPE_IN, footer, text_width_in, wrap_to_width
from cimic_geo.store import connect
from cimic_geo.timefmt import dtg

#: A wide, low view whose right edge is 0.005° (0.36 km) east of "Mid <script>…" at lon 37.90: the map
#: keeps the width and adds height, so that settlement sits at the right frame with its long label.
EDGE_BBOX = (36.0, 49.45, 37.905, 49.55)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("layout") / "hand.duckdb")


def test_labels_do_not_run_outside_the_map_frame(db: Path, tmp_path: Path) -> None:
    with connect(db, read_only=True) as store:
        out = export(store, View(bbox=EDGE_BBOX, as_of=T1, layers=("settlements",), title="edge"), "png",
                     tmp_path / "edge.png")
    with Image.open(out) as im:
        arr = np.asarray(im.convert("RGB")).astype(int)
    dpi = arr.shape[1] / A4_LANDSCAPE_IN[0]
    H = A4_LANDSCAPE_IN[1]
    # the gap between the map's right frame (at 0.3 + 7.9 in) and the legend panel (at 8.45 in),
    # over the map's height: white, no label pixels (a frame line is 1 pt, skip 3 px beside it)
    x0, x1 = int(8.2 * dpi) + 4, int(8.42 * dpi)
    y0, y1 = int(1.1 * dpi), int((H - 0.75) * dpi)
    gap = arr[y0:y1, x0:x1]
    assert (gap >= 250).all(), np.argwhere(gap.min(axis=2) < 250)[:5]
    # the label is drawn (inside the frame): dark text pixels just left of the frame
    inside = arr[y0:y1, int(8.0 * dpi):int(8.2 * dpi) - 4]
    assert (inside.max(axis=2) < 90).sum() > 20


def test_footer_wraps_inside_the_page_above_the_banner(db: Path) -> None:
    sources = " · ".join(f"source number {i} with a long name" for i in range(12))
    with _fonts():
        lines = wrap_to_width(sources, fontsize=6.5, width_in=11.09)
        assert len(lines) > 1 and all(text_width_in(line, 6.5) <= 11.09 for line in lines)
        assert " · ".join(lines) == sources  # nothing dropped
        with connect(db, read_only=True) as store:
            loaded = load_view(store, View(bbox=EDGE_BBOX, as_of=T1, layers=("settlements",), title="t"))
        fig = render_map_figure(loaded, kpis=None, produced=T1)
        long = footer(fig, "Source: " + sources + " · " + sources)  # > 3 lines at 6.5 pt
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        dpi = fig.dpi
        banner_top = 0.30 * dpi
        map_bottom = 0.70 * dpi
        texts = [t for t in fig.texts if t.get_text().startswith("Source:")]
        assert len(texts) == 2 and long in texts
        for t in texts:
            box = t.get_window_extent(renderer)
            assert box.x0 >= 0 and box.x1 <= A4_LANDSCAPE_IN[0] * dpi, (t.get_text()[:40], box)
            assert box.y0 > banner_top and box.y1 < map_bottom, (t.get_text()[:40], box)
        assert long.get_fontsize() < 6.5  # three lines' worth: a smaller font, still whole


def test_a_dtg_before_later_versions_draws_what_was_in_force(db: Path, tmp_path: Path) -> None:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    # as of T0: every layer of the view keeps versions, so the brief draws what was in force then (the corridors'
    # first version starts at T1, a day later: none drawn) and nothing reported after the DTG
    with connect(db, read_only=True) as store:
        out = export(store, View(bbox=(37.3, 48.9, 38.6, 50.1), as_of=T0, layers=("front_line", "settlements",
                                                                              "shelters", "corridors"), title="t"),
                     "pdf", tmp_path / "t0.pdf")
    text = " ".join(subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(out), "-"], capture_output=True,
                                   text=True, timeout=60).stdout.split())
    assert dtg(T0) in text
    assert f"Situation as of {dtg(T0)} (UTC) · area" in text
    assert "layers without history" not in text and dtg(T1) not in text
    # the footer is whole: it ends with the projection and the marking
    assert "projection WGS 84 / UTM zone 37N (EPSG:32637) · EXERCISE" in text
