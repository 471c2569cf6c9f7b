"""Hostile text stays data, everywhere: the import path, every export format, the CLI and every page.

One store is built from nothing through the real import path (``python -m cimic_geo import``):
every free-text field of every layer carries one payload of :data:`PAYLOADS` per row — Jinja and
JavaScript template syntax, markup with script and event handlers, ``javascript:`` URLs, spreadsheet
formulas, control and bidi characters, a 100 kB string, path separators, SQL quotes, a Markdown
image pointing off the machine. Then:

* every export format and the CLI's read commands run on it (also with a hostile ``--title`` and
  ``--marking``): each exits 0 or with a clean error, no output shows an evaluated expression, and
  the file a payload would create by running a command on the server does not exist;
* every page is opened once in headless Chromium (one server), the import page with a hostile file
  in its preview, and the standalone HTML export from disk: no script of the data runs (``window.
  __pwned`` stays undefined, no dialog opens), no request leaves the machine, no page fails.

Evaluated expressions are recognised by their result framed by marker letters: ``Q{{7*7}}Q`` would
come out as ``Q49Q``, ``R${7*7}R`` as ``R49R``, the Jinja loop as ``SYYYS``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from cimic_geo.schema import LAYERS

ROOT = Path(__file__).resolve().parents[1]

#: Where the command-running payloads would create their file (one per test session folder).
MARKER_NAME = "PWNED_template_injection"


def payloads(marker_dir: Path) -> dict[str, str]:
    """The hostile corpus; the command payload would create ``marker_dir / MARKER_NAME``."""
    marker = marker_dir / MARKER_NAME
    return {
        "jinja_expr": "Q{{7*7}}Q",
        "jinja_rce": f"Shelter {{{{ lipsum.__globals__['os'].popen('touch {marker}').read() }}}}",
        "jinja_cycler": f"{{{{ cycler.__init__.__globals__.os.popen('touch {marker}').read() }}}}",
        "jinja_block": "S{% for x in range(3) %}Y{% endfor %}S",
        "jinja_broken": "{{constructor.constructor('window.__pwned=1')()}} {% if %}",
        "js_literal": "R${7*7}R`;window.__pwned=1;`${window.__pwned=1}",
        "script": "<script>window.__pwned=1;alert(1)</script></script><script>window.__pwned=1</script>",
        "img": '"><img src=x onerror="window.__pwned=1;alert(2)">',
        "svg": "<svg/onload=window.__pwned=1>",
        "js_url": "javascript:window.__pwned=1//",
        "formula": '=HYPERLINK("http://203.0.113.7/x","click")',
        "formula_at": "@SUM(1+1)*cmd|' /C calc'!A0",
        "formula_plus": "+1+1",
        "md": "![x](http://203.0.113.7/pixel.png) [y](javascript:window.__pwned=1)",
        "bidi": "abc\u202eexe.txt\u202c \u200b\u2066isolate\u2069",
        "control": "bell\u0007 escape\u001b[31mred backspace\u0008 nul-free",
        "path": "../../../etc/passwd/..\\..\\x",
        "sql": "x'; DROP TABLE shelters;-- \" OR 1=1",
        "long": "L" * 100_000,
    }


#: Payloads the importer may refuse (text limits), tested on their own.
MAY_BE_REFUSED = ("control", "long")

#: Outputs must never contain these (each is an expression of the corpus, evaluated).
EVALUATED = ("Q49Q", "R49R", "SYYYS")

#: Short fragments put into ids (ids are file names in TAK packages and keys everywhere).
ID_TAGS = ("{{7*7}}", "${7*7}", "../x", "'--", "<b>")

#: Reference fields are checked against other layers: they get real ids, not payloads.
REFERENCE_FIELDS = {"settlement_id", "road_id", "destination_shelter_id", "corridor_id", "settlement_ids"}

#: Geometry of each layer's rows, by row number ``i`` (lon/lat inside the import extent).
WHEN = "2026-11-20T06:00:00Z"
OCCUPIED_FROM = "2026-11-01T00:00:00Z"


def _geometry(geometry_types: tuple[str, ...], i: int) -> dict:
    x, y = 36.2 + 0.07 * (i % 9), 48.2 + 0.07 * (i // 9)
    kind = geometry_types[0]
    if kind == "POINT":
        return {"type": "Point", "coordinates": [x, y]}
    if kind in ("LINESTRING", "MULTILINESTRING"):
        return {"type": "LineString", "coordinates": [[x, y], [x + 0.05, y + 0.02], [x + 0.09, y + 0.01]]}
    ring = [[x, y], [x + 0.04, y], [x + 0.04, y + 0.04], [x, y + 0.04], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def _value(layer: str, column, payload: str, refs: dict[str, str], i: int):
    kind = column.kind
    if column.name in REFERENCE_FIELDS:
        return refs.get(column.name)
    if column.choices:
        return column.choices[i % len(column.choices)] if column.name != "status" else column.choices[0]
    if column.name == "reliability":
        return "B2"
    if kind == "datetime":
        if column.name in ("valid_to", "updated_at"):
            return None
        return "2026-11-21T06:00:00Z" if column.name in ("window_end", "planned_departure") else WHEN
    if kind == "int":
        return {"version": None, "people": 100}.get(column.name, 10)
    if kind == "float":
        return 30.0
    if kind == "bool":
        return True
    return payload


@dataclass
class HostileStore:
    """The store built from hostile files, the files, and where a payload's file would appear."""

    db: Path
    files: dict[str, Path]
    marker_dir: Path
    corpus: dict[str, str]
    out: Path


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """``python -m cimic_geo ARGS`` run in this process (``cimic_geo.cli.main``): the same parser and
    handlers, without paying the interpreter start-up for each of the many commands. An exception
    escaping ``main`` is a crash and fails the test; an argparse error is exit code 2."""
    from cimic_geo.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        sys.stdin = old_stdin
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def cli_process(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m cimic_geo ARGS`` in a new process (a fresh interpreter, as a user runs it)."""
    return subprocess.run([sys.executable, "-m", "cimic_geo", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def hostile_features(layer: str, corpus: dict[str, str], refs: dict[str, str]) -> list[dict]:
    """One GeoJSON feature per payload with the payload in every free-text field of ``layer``."""
    spec = LAYERS[layer]
    feats = []
    for i, (name, payload) in enumerate(corpus.items()):
        props = {}
        for col in spec.all_columns:
            if col.name == "id":
                props["id"] = f"{layer[:3]}-{i}-{name}{ID_TAGS[i % len(ID_TAGS)]}"
            elif col.name not in ("valid_from", "valid_to") or not spec.history:
                props[col.name] = _value(layer, col, payload, refs, i)
        feats.append({"type": "Feature", "properties": props, "geometry": _geometry(spec.geometry_types, i)})
    return feats


def write_geojson(path: Path, feats: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def write_csv(path: Path, feats: list[dict], *, coords: bool = True) -> Path:
    """Point features as a CSV, with ``lat``/``lon`` columns when ``coords`` (the CSV reader's path)."""
    cols = [k for k in feats[0]["properties"]]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*cols, *(("lat", "lon") if coords else ())])
        for f in feats:
            lon, lat = f["geometry"]["coordinates"]
            w.writerow([*("" if f["properties"][c] is None else f["properties"][c] for c in cols),
                        *((lat, lon) if coords else ())])
    return path


#: Layers imported from CSV (lat/lon columns): the spreadsheet layers, and shelters for the CSV reader.
CSV_LAYERS = ("shelters", "assessments", "partners", "evacuations")

#: Import order: referenced layers first.
IMPORT_ORDER = ("settlements", "roads", "shelters", "infrastructure", "corridors", "occupied_area", "assessments",
                "partners", "evacuations")


def build_hostile_store(base: Path) -> HostileStore:
    """Create a store and import the corpus into every layer through the CLI (asserting success)."""
    marker_dir = base / "marker"
    marker_dir.mkdir()
    corpus = {k: v for k, v in payloads(marker_dir).items() if k not in MAY_BE_REFUSED}
    db = base / "hostile.duckdb"
    r = cli("init", "--db", str(db))
    assert r.returncode == 0, r.stderr
    refs: dict[str, str] = {}
    files: dict[str, Path] = {}
    for layer in (*IMPORT_ORDER, *(n for n in LAYERS if n not in IMPORT_ORDER and n != "front_line")):
        if layer not in LAYERS:
            continue
        feats = hostile_features(layer, corpus, refs)
        if layer == "occupied_area":
            # one snapshot: a block east of the points; the front line is derived from it
            ring = [[37.4, 48.0], [38.5, 48.0], [38.5, 49.5], [37.4, 49.5], [37.4, 48.0]]
            feats = [{"type": "Feature", "properties": {"id": "occ-1"},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}}]
            path = write_geojson(base / "occupied_area_20261101.geojson", feats)
            args = ["--valid-from", OCCUPIED_FROM, "--source", corpus["jinja_rce"], "--outline-front"]
        elif layer in CSV_LAYERS:
            feats = [{**f, "geometry": _geometry(("POINT",), i)} for i, f in enumerate(feats)]
            # the spreadsheet layers have a template of their own and take their place from the
            # settlement they name
            if layer != "shelters":
                from cimic_geo.ingest.sheets import sheet_columns

                keep = [c.name for c in sheet_columns(layer)]
                feats = [{**f, "properties": {c: f["properties"].get(c) for c in keep}} for f in feats]
            path = write_csv(base / f"{layer}.csv", feats, coords=layer == "shelters")
            args = []
        else:
            path = write_geojson(base / f"{layer}.geojson", feats)
            args = []
        r = cli("import", layer, str(path), "--db", str(db), "--reliability", "B2", *args, "--json")
        assert r.returncode == 0, (layer, r.stdout[-3000:], r.stderr[-3000:])
        files[layer] = path
        first = feats[0]["properties"].get("id")
        refs.update({"settlements": {"settlement_id": first, "settlement_ids": first},
                     "roads": {"road_id": first}, "shelters": {"destination_shelter_id": first},
                     "corridors": {"corridor_id": first}}.get(layer, {}))
    out = base / "out"
    out.mkdir()
    return HostileStore(db=db, files=files, marker_dir=marker_dir, corpus=corpus, out=out)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileStore:
    return build_hostile_store(tmp_path_factory.mktemp("hostile"))


def assert_inert(text: str, where: str, hs: HostileStore) -> None:
    """No evaluated expression in ``text`` and no file created by a payload."""
    for token in EVALUATED:
        assert token not in text, f"{where}: evaluated template expression {token!r} found"
    assert not (hs.marker_dir / MARKER_NAME).exists(), f"{where}: a payload ran a command on the server"


def assert_clean_exit(r: subprocess.CompletedProcess, where: str) -> None:
    """Exit 0, or a clean error: a message, no Python traceback."""
    assert "Traceback (most recent call last)" not in r.stderr, f"{where}: traceback\n{r.stderr[-3000:]}"
    assert r.returncode in (0, 1, 2), f"{where}: exit {r.returncode}\n{r.stderr[-2000:]}"


# ----------------------------------------------------------------------------------------------
# The corpus went in as data
# ----------------------------------------------------------------------------------------------


def test_corpus_is_stored_verbatim(hostile: HostileStore) -> None:
    from cimic_geo.store import connect

    with connect(hostile.db, read_only=True) as store:
        counts = store.counts()
        shelters = set(store.read("shelters", columns=["name"])["name"])
        notes = set(store.read("corridors", columns=["notes"])["notes"])
        ids = store.read("settlements", columns=["id"])["id"].tolist()
    n = len(hostile.corpus)
    assert counts["settlements"] == counts["shelters"] == counts["corridors"] == n
    # exactly the text that was imported (not evaluated, not cut)
    for name, text in hostile.corpus.items():
        assert text in shelters and text in notes, name
    assert any("../x" in i for i in ids) and any("{{7*7}}" in i for i in ids)
    assert_inert("\n".join(map(str, shelters | notes)), "store", hostile)


def test_text_beyond_the_limits_is_refused_by_row_and_field(hostile: HostileStore, tmp_path: Path) -> None:
    """Control characters and a 100 kB name: either stored verbatim or refused with a problem naming
    the row and the field; nothing is written from a refused file."""
    corpus = payloads(hostile.marker_dir)
    rows = {k: corpus[k] for k in MAY_BE_REFUSED}
    path = write_geojson(tmp_path / "limits.geojson", hostile_features("shelters", rows, {}))
    db = tmp_path / "limits.duckdb"
    assert cli("init", "--db", str(db)).returncode == 0
    r = cli("import", "shelters", str(path), "--db", str(db), "--reliability", "B2", "--json")
    assert_clean_exit(r, "import over the limits")
    doc = json.loads(r.stdout)
    if r.returncode == 0:
        from cimic_geo.store import connect

        with connect(db, read_only=True) as store:
            assert set(store.read("shelters", columns=["name"])["name"]) == set(rows.values())
    else:
        assert doc["written"] == {} and doc["problems"]
        assert all(p["row"] in (1, 2) and p["field"] for p in doc["problems"]), doc["problems"]
    assert_inert(r.stdout + r.stderr, "import over the limits", hostile)


def test_rendered_map_text_is_never_parsed_as_a_template_again() -> None:
    """branca compiles each element's rendered output as a template; the maps package stops that."""
    import pickle

    import folium
    from branca.element import Div, Element

    import cimic_geo.maps  # noqa: F401  (installs the verbatim rendering)

    text = "<p>Q{{7*7}}Q S{% for x in range(3) %}Y{% endfor %}S {{constructor}} {% if %}</p>"
    m = folium.Map(tiles=None)
    m.get_root().html.add_child(Element(text))
    folium.Tooltip("Q{{7*7}}Q").add_to(folium.CircleMarker([48.5, 37.5]).add_to(m))
    page = m.get_root().render()
    assert text in page and "Q{{7*7}}Q" in page and "Q49Q" not in page and "SYYYS" not in page
    # a pickled element (Streamlit caches) comes back as text, too
    assert pickle.loads(pickle.dumps(Element(text))).render() == text
    # branca's own constant template still renders: a Div shows its children
    div = Div()
    div.html.add_child(Element("<i>child</i>"))
    assert "<i>child</i>" in div.html.render()


# ----------------------------------------------------------------------------------------------
# Every export format
# ----------------------------------------------------------------------------------------------

FORMATS = ("png", "pdf", "html", "geojson", "gpkg", "kml", "csv", "cot", "cotzip")
SUFFIX = {"cotzip": ".zip"}
ALL_LAYERS = "front_line,occupied_area,settlements,shelters,infrastructure,roads,corridors"
#: A hostile title and marking for the exports (``T64``/``M64M`` if evaluated).
TITLE = "T{{ 8*8 }} Q{{7*7}}Q <script>window.__pwned=1</script> ${7*7}"
MARKING = "M{{ 8*8 }}M"


@pytest.fixture(scope="module")
def exports(hostile: HostileStore) -> dict[str, Path]:
    """Every export format of the hostile store, written by one ``export`` command in a new process."""
    r = cli_process("export", "--db", str(hostile.db), "--format", ",".join(FORMATS), "--out", str(hostile.out),
                    "--layers", ALL_LAYERS, "--title", TITLE + " " + hostile.corpus["jinja_rce"], "--marking", MARKING)
    assert_clean_exit(r, "export")
    assert r.returncode == 0, (r.stdout[-2000:], r.stderr[-3000:])
    assert_inert(r.stdout + r.stderr, "export output", hostile)
    files = {p.suffix: p for p in hostile.out.iterdir() if p.is_file()}
    out = {fmt: files.get(SUFFIX.get(fmt, "." + fmt)) for fmt in FORMATS}
    assert all(out.values()), (out, sorted(files))
    return out


def _readable_text(path: Path) -> str:
    """The text a reader of the file sees (archives: every entry; PDF: pdftotext; PNG: its text chunks, since
    the compressed pixels may hold any byte sequence; GPKG: raw bytes)."""
    data = path.read_bytes()
    if path.suffix == ".png":
        from PIL import Image

        with Image.open(path) as im:
            return "\n".join(f"{k}: {v}" for k, v in im.text.items())
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                assert not name.startswith("/") and ".." not in Path(name).parts, f"unsafe entry {name!r}"
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    if path.suffix == ".pdf":
        r = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True)
        return r.stdout if r.returncode == 0 else ""
    return data.decode("utf-8", "replace")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_export_keeps_the_corpus_inert(hostile: HostileStore, exports: dict[str, Path], fmt: str) -> None:
    text = _readable_text(exports[fmt])
    assert_inert(text, f"export {fmt}", hostile)
    assert "T64" not in text and "M64M" not in text, f"{fmt}: the title or marking was evaluated"
    if fmt == "html":
        # markup from the data, title or marking never appears as markup
        assert "<script>window.__pwned" not in text and '<img src=x onerror="window.__pwned' not in text
        assert "<svg/onload" not in text
        # the title is shown as text (escaped once)
        assert "<title>T{{ 8*8 }} Q{{7*7}}Q &lt;script&gt;" in text
    if fmt == "csv":
        # Depends on the CSV export's formula guard: a value that a spreadsheet would run as a
        # formula (leading = + - @ tab or CR) is written as text, with a leading '
        rows = list(csv.reader(text.splitlines()))
        cells = [c for row in rows[1:] for c in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], "a CSV cell starts a formula"
        assert any(c.startswith("'=HYPERLINK(") for c in cells)


# ----------------------------------------------------------------------------------------------
# The CLI's commands
# ----------------------------------------------------------------------------------------------


def _cli_commands(hs: HostileStore) -> list[list[str]]:
    db = ["--db", str(hs.db)]
    first_corridor = hostile_features("corridors", hs.corpus, {})[0]["properties"]["id"]
    return [
        ["info", *db], ["info", *db, "--json"],
        ["exposure", *db], ["exposure", *db, "--json"],
        ["coverage", *db], ["coverage", *db, "--json"],
        ["restoration", *db], ["restoration", *db, "--json"],
        ["corridor", "list", *db], ["corridor", "list", *db, "--json"],
        ["corridor", "history", first_corridor, *db],
        ["access", "cutoff", *db],
        ["import", "settlements", str(hs.files["settlements"]), *db, "--dry-run"],
        ["import", "settlements", str(hs.files["settlements"]), *db, "--dry-run", "--json"],
        ["import", "shelters", str(hs.files["shelters"]), *db, "--dry-run", "--mode", "upsert",
         "--source", hs.corpus["jinja_rce"], "--default", f"address={hs.corpus['jinja_expr']}"],
    ]


def test_cli_commands_keep_the_corpus_inert(hostile: HostileStore) -> None:
    for args in _cli_commands(hostile):
        r = cli(*args)
        where = " ".join(a if len(a) < 60 else a[:60] + "..." for a in args)
        assert_clean_exit(r, where)
        assert_inert(r.stdout + r.stderr, where, hostile)


# ----------------------------------------------------------------------------------------------
# Every page in a real browser, and the HTML export opened from disk
# ----------------------------------------------------------------------------------------------

PWNED = "() => typeof window.__pwned"
#: Opens every tooltip and popup of a Leaflet map in a frame (the text from the data gets drawn).
OPEN_EVERYTHING = """() => {
  const m = window.map || Object.values(window).find(v => v && v instanceof L.Map);
  if (!m) { return 0; }
  let n = 0;
  m.eachLayer(l => {
    try {
      if (l.getTooltip && l.getTooltip()) { l.openTooltip(l.getLatLng ? l.getLatLng() : l.getCenter()); n++; }
      if (l.getPopup && l.getPopup()) { l.openPopup(l.getLatLng ? l.getLatLng() : l.getCenter()); n++; }
    } catch (e) { /* lines and areas without a centre yet */ }
  });
  return n;
}"""

PASSWORD = "corpus-Test-password-2026!"


def _sign_in(page: object, user: str) -> None:
    """Sign in with the local account when the app asks for it."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    page.locator("h1").first.wait_for(timeout=120_000)
    _settle(page)
    if page.locator("h1", has_text="Sign in").count() == 0:
        return
    page.get_by_role("textbox", name="User name").fill(user)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator("h1", has_text="CIMIC situational awareness").first.wait_for(timeout=90_000)


def _settle(page: object) -> None:
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=180_000)


def _check_page(page: object, where: str, hs: HostileStore, log: object = None) -> None:
    """No script of the data ran and no expression was evaluated, in the page and all its frames;
    maps get every tooltip and popup opened first (that is when the text is drawn)."""
    from tests.browser_utils import map_frame

    if page.locator('iframe[title="streamlit_folium.st_folium"]').count():
        frame = map_frame(page, timeout_ms=180_000)
        frame.evaluate(OPEN_EVERYTHING)
        page.wait_for_timeout(300)
    for frame in page.frames:
        try:
            kind = frame.evaluate(PWNED)
            text = frame.evaluate("() => document.body ? document.body.innerText : ''")
        except Exception as exc:  # a frame that navigated away meanwhile
            if "detached" in str(exc) or "destroyed" in str(exc):
                continue
            raise
        assert kind == "undefined", f"{where}: a script from the data ran in {frame.url}"
        assert_inert(text, f"{where} ({frame.url[:60]})", hs)
    exc = page.locator('[data-testid="stException"]')
    assert exc.count() == 0, (where, exc.first.inner_text())
    # e.g. a Markdown image from the data would be fetched from its host
    assert log is None or log.external == [], (where, log.external)


@pytest.mark.browser
def test_every_page_and_the_html_export_in_chromium(hostile: HostileStore, exports: dict[str, Path]) -> None:
    from tests.browser_utils import RequestLog, chromium, require_browser, streamlit_server

    require_browser()
    user = "corpus-admin"
    r = cli("users", "add", user, "--role", "admin", "--password-stdin", "--db", str(hostile.db),
            stdin=PASSWORD + "\n")
    assert r.returncode == 0 or "invalid choice: 'users'" in r.stderr, r.stderr[-2000:]
    html_export = exports["html"]
    dialogs: list[str] = []
    with streamlit_server(hostile.db) as base, chromium(viewport=(1400, 1000)) as context:
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        log = RequestLog.attach(page)
        page.goto(base + "/")
        _sign_in(page, user)
        _settle(page)
        _check_page(page, "Home", hostile, log)
        links = page.locator('[data-testid="stSidebar"] :is([data-testid="stSidebarNavLink"], [data-testid="stPageLink-NavLink"])')
        links.first.wait_for(timeout=60_000)
        names = [n.strip() for n in links.all_inner_texts() if n.strip() and n.strip() != "Home"]
        assert {"COP", "Exposure and coverage", "Corridor planner", "Import"} <= set(names), names
        for name in names:
            links.filter(has_text=name).first.click()
            page.locator("h1").first.wait_for(timeout=90_000)
            _settle(page)
            if name == "Import":
                # the preview of a hostile file, before anything is committed
                page.locator('input[type="file"]').first.set_input_files(str(hostile.files["settlements"]))
                page.locator('iframe[title="streamlit_folium.st_folium"]').first.wait_for(timeout=180_000)
                _settle(page)
            _check_page(page, name, hostile, log)
        # the standalone HTML export, opened from disk
        page.goto(html_export.as_uri())
        page.wait_for_function("() => window.L && document.querySelector('.leaflet-container')", timeout=60_000)
        page.evaluate(OPEN_EVERYTHING)
        page.wait_for_timeout(300)
        assert page.evaluate(PWNED) == "undefined", "a script from the data ran in the HTML export"
        assert_inert(page.evaluate("() => document.body.innerText"), "HTML export in the browser", hostile)
        assert "T{{ 8*8 }}" in page.title() and "T64" not in page.title()
        assert dialogs == [], dialogs
        # (the export itself was opened from a file:// URL; nothing else may leave localhost)
        assert [u for u in log.external if not u.startswith("file:")] == [], log.external
        assert log.page_errors == [], log.page_errors
    assert not (hostile.marker_dir / MARKER_NAME).exists()
