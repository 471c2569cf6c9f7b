"""The PNG/PDF brief in Ukrainian: every label, title, key figure and footer of the export modules is
Ukrainian; what stays Latin is data (names, sources, reliability codes, ids), the marking, DTGs,
MGRS and the projection's EPSG name. The English brief keeps its text."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pandas as pd
import pytest
from export_fixtures import BBOX, FRAMES, build_store
from shapely.geometry import Point

from cimic_geo.export import View, export, load_view
from cimic_geo.export.snapshot import _fonts, render_map_figure
from cimic_geo.export.snapshot_kpis import kpi_table
from cimic_geo.export.snapshot_map import MapProjection
from cimic_geo.geo import to_mgrs
from cimic_geo.i18n import fmt_int, use_language
from cimic_geo.i18n_catalogue import read_catalogue
from cimic_geo.store import connect
from cimic_geo.store.evacuation_records import create_evacuation

LAYERS = ("settlements", "shelters", "infrastructure", "front_line", "occupied_area", "corridors", "roads",
          "evacuations")
#: Modules whose text reaches the PNG/PDF pages.
EXPORT_MODULES = ("snapshot.py", "snapshot_pages.py", "snapshot_kpis.py", "brief_cimic.py", "snapshot_map.py",
                  "snapshot_basemap.py")
DTG = re.compile(r"\b\d{6}Z[A-Z]{3}\d{2}\b")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
CYRILLIC = re.compile(r"[А-Яа-яІіЇїЄєҐґ]")
#: Names that are the same in both languages: the grid reference system, the time zone, the date-time
#: group and the program's own name.
TECHNICAL = {"MGRS", "UTC", "DTG", "cimic_geo"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    path = build_store(tmp_path_factory.mktemp("export_i18n") / "hand.duckdb")
    s = connect(path)
    # one open request, so that the brief has its evacuations and needs page
    create_evacuation(s, evacuation_id="E1", geometry=Point(37.95, 49.5), people=8, children=3, user="u",
                      settlement_id="s1", requested_at="2026-11-21T10:00Z")
    yield s
    s.close()


@pytest.fixture(scope="module")
def view() -> View:
    return View(bbox=BBOX, layers=LAYERS)  # the default title: printed in the brief's language


def _data_words(store) -> set[str]:
    """Latin words that may stay: the values of the drawn rows (names, sources, codes, ids), the
    marking, the projection's name (EPSG) and the evacuation's id."""
    values: list[str] = [str(store.get_meta().get("marking", "")), MapProjection(BBOX).name, "E1"]
    for gdf in FRAMES.values():
        for col in ("id", "name", "name_uk", "source", "reliability", "origin", "destination"):
            if col in gdf:
                values += [str(v) for v in gdf[col].dropna()]
    return {w for v in values for w in LATIN_WORD.findall(v)} | TECHNICAL


def _export_msgids() -> list[str]:
    """English text of the catalogue entries used by the export modules (placeholders cut out)."""
    out = []
    for msg in read_catalogue("uk"):
        if not msg.id or not any(Path(loc).name in EXPORT_MODULES and "/export/" in loc
                                 for loc, _line in msg.locations):
            continue
        for msgid in (msg.id if isinstance(msg.id, tuple) else (msg.id,)):
            out += [p.strip(" ·:;,()…") for p in re.split(r"\{[a-z_0-9]+\}", msgid)]
    # fragments long enough to be English words of ours, not data ("km", "n", "id" are checked by
    # the Latin-word test below)
    return sorted({f for f in out if len(re.findall(r"[A-Za-z]", f)) >= 4})


def _untranslated(lines: list[str], allowed: set[str]) -> list[str]:
    """Lines with a Latin word that is neither data nor a technical name (DTG and MGRS cut out first)."""
    centre = to_mgrs((BBOX[1] + BBOX[3]) / 2, (BBOX[0] + BBOX[2]) / 2, precision=3)
    bad = []
    for line in lines:
        text = DTG.sub(" ", line.replace(centre, " "))
        if [w for w in LATIN_WORD.findall(text) if w not in allowed]:
            bad.append(line.strip())
    return bad


def _pdftotext(path: Path, *args: str) -> str:
    if not shutil.which("pdftotext"):
        from ci_skips import in_ci

        if in_ci():
            pytest.fail("pdftotext (poppler-utils) is needed to read the PDF brief back")
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    return subprocess.run(["pdftotext", "-layout", *args, str(path), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout


def test_ukrainian_pdf_brief_has_no_english_text(store, view, tmp_path: Path) -> None:
    with use_language("uk"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = export(store, view, "pdf", tmp_path / "uk.pdf")
    assert not [w for w in caught if "missing from font" in str(w.message)]  # DejaVu Sans has Cyrillic
    text = _pdftotext(out)
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) == 5  # map, tables, evacuations and needs, changes, trends
    lines = [ln for ln in text.splitlines() if re.search(r"[^\W\d_]", ln)]
    assert not _untranslated(lines, _data_words(store))
    msgids = _export_msgids()
    assert len(msgids) > 40  # the export modules' text is in the catalogue
    flat = " ".join(text.split())
    assert [m for m in msgids if re.search(rf"(?<![A-Za-z]){re.escape(m)}(?![A-Za-z])", flat)] == []
    # the Ukrainian text itself (fixture arithmetic in export_fixtures: Near 3.6 km from the front -> 0-5
    # band, 1 000 people; 40 km is the outer band; 3 shelters, 1 open)
    with use_language("uk"):
        near = f"{fmt_int(1000)} (1 н. п.)".replace("\xa0", " ")  # pdftotext gives the no-break space as a space
    assert "Обстановка ЦВС" in pages[0] and "Умовні позначення" in pages[0]
    assert "Ключові показники (район вигляду)" in pages[0] and near in pages[0]
    assert "понад 40 км" in flat and "на окупованій території" in flat and "відкриті / усього" in flat
    assert "Джерела: " in flat and "достовірність A1–C3" in flat and "проєкція WGS 84 / UTM zone 37N" in flat
    assert f"центр MGRS {to_mgrs(49.5, 37.95, precision=3)}" in flat
    assert "шари: Окупована територія, Дороги, Лінія зіткнення" in flat
    assert "Обстановка ЦВС — таблиці" in pages[1] and "Укриття за типом і статусом" in pages[1]
    assert "Обстановка ЦВС — евакуація та потреби" in pages[2] and "Відкриті запити: 1" in pages[2]
    # numbers in the Ukrainian format: the corridor Near -> Far is 34.6 km (geodesic, see test_export)
    assert re.search(r"\b34,6\b", pages[1])
    # every line with text has Cyrillic, except those made only of data, the marking and DTGs
    data = _data_words(store)
    latin_only = [ln for ln in lines if not CYRILLIC.search(ln)]
    assert all(set(LATIN_WORD.findall(DTG.sub(" ", ln))) <= data for ln in latin_only), latin_only


def test_english_pdf_brief_keeps_its_text(store, view, tmp_path: Path) -> None:
    with use_language("en"):
        out = export(store, view, "pdf", tmp_path / "en.pdf")
        rows = dict(kpi_table(store, load_view(store, view)).rows())
    flat = " ".join(_pdftotext(out).split())
    assert "CIMIC situation" in flat and "CIMIC situation — tables" in flat
    assert "reliability A1–C3" in flat and "Source: " in flat and "UTM zone 37N" in flat
    assert "Corridors" in flat and "Near → Far" in flat and "Shelters by kind and status" in flat
    assert "CIMIC situation — evacuations and needs" in flat and "Open requests: 1" in flat
    assert rows["0-5 km"] == "1 000 (1 stl.)" and rows["beyond 40 km"] == "0 (0 stl.)"
    assert rows["occupied side"] == "5 000 (1 stl.)" and rows["capacity used"] == "21 %"


def _figure_texts(fig) -> list[str]:
    """Every text artist of a figure: figure texts, axes texts and annotations, legends and titles."""
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts] + [ax.get_title(loc="left")]
        legend = ax.get_legend()
        if legend is not None:
            out += [legend.get_title().get_text(), *[t.get_text() for t in legend.get_texts()]]
    return [t for line in out for t in line.splitlines() if t.strip()]


def test_ukrainian_png_map_page_text(store, view, tmp_path: Path) -> None:
    with use_language("uk"):
        loaded = load_view(store, view)
        with _fonts():
            fig = render_map_figure(loaded, kpis=kpi_table(store, loaded))
        texts = _figure_texts(fig)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            export(store, view, "png", tmp_path / "uk.png")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert not _untranslated(texts, _data_words(store))
    for expected in ("Обстановка ЦВС", "Умовні позначення", "Лінія зіткнення", "Межі зон загрози 5, 20, 40 км",
                     "Ключові показники (район вигляду)", "Населення за зонами загрози", "на окупованій території",
                     "використано місткості", "Пн", "км"):
        assert expected in texts, expected
    # settlement labels: the Ukrainian names of the fixture (name_uk) where the store has them
    assert "Далеке" in texts and "Far" not in texts
    joined = " ".join(texts)
    assert "район 48,90–50,10° пн. ш., 37,30–38,60° сх. д." in joined  # BBOX in the Ukrainian number format
    assert "Джерела: " in joined and "повідомлено 200600ZNOV26–" in joined


def _text_words(frames) -> set[str]:
    """Latin words of every text cell of ``frames`` (names, sources, codes, ids of the data)."""
    words: set[str] = set()
    for gdf in frames:
        for col in gdf.columns:
            if col != gdf.geometry.name and (gdf[col].dtype == object or pd.api.types.is_string_dtype(gdf[col])):
                words |= {w for v in gdf[col].dropna().astype(str) for w in LATIN_WORD.findall(v)}
    return words


def test_ukrainian_pdf_brief_of_the_demo_store(demo_db: Path, tmp_path: Path) -> None:
    s = connect(demo_db, read_only=True)
    try:
        x0, y0, x1, y1 = s.bbox()
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        view = View(bbox=(cx - 1.0, cy - 0.6, cx + 1.0, cy + 0.6))
        with use_language("uk"):
            out = export(s, view, "pdf", tmp_path / "demo_uk.pdf")
        loaded = load_view(s, view)
        # the evacuations page lists requests of the whole store with their settlements
        allowed = (_text_words([*loaded.frames.values(), s.read("evacuations"), s.read("settlements")])
                   | {w for v in (*s.get_meta().values(), MapProjection(view.bbox).name)  # marking, scenario
                      for w in LATIN_WORD.findall(str(v))} | TECHNICAL)
        centre = to_mgrs(cy, cx, precision=3)
    finally:
        s.close()
    text = _pdftotext(out).replace(centre, " ")
    lines = [ln for ln in text.splitlines() if re.search(r"[^\W\d_]", ln)]
    assert len([p for p in text.split("\f") if p.strip()]) == 5
    bad = _untranslated(lines, allowed)
    assert not bad, [(w, ln) for ln in bad for w in LATIN_WORD.findall(DTG.sub(' ', ln)) if w not in allowed]
    flat = " ".join(text.split())
    # English text of ours (a word that is also in the data, e.g. a source named "... scenario generator",
    # is the data's)
    assert [m for m in _export_msgids() if re.search(rf"(?<![A-Za-z]){re.escape(m)}(?![A-Za-z])", flat)
            and not set(LATIN_WORD.findall(m)) <= allowed] == []
    assert "Обстановка ЦВС — евакуація та потреби" in flat and "Ключові показники (район вигляду)" in flat
