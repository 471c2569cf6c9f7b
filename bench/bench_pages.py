"""Pages in headless Chromium at national scale: cold first visits, a zoom step, toggles, memory.

Each row runs against ``streamlit run app.py`` (the way users get the app) on a *copy* of a store
(the app writes caches beside it), driven by Debian's Chromium through Playwright:

1. **Exposure, cold**: a new server, sign in, click *Exposure and coverage*; time from the click to
   the map drawn with its settlements (the first visit of the page after the server started).
2. **Planner, cold**: the same for *Corridor planner* (map drawn with its roads); **COP, cold** (``cop``):
   the same for the *COP* (its first map drawn with the front line and shelters).
3. **COP zoom step**: on the COP, one mouse-wheel step over the map; time from the wheel to the
   new view's layers drawn.
4. **Demo store, layer toggle and search** (``--demo``): on the COP, one sidebar layer checkbox
   (map redrawn without the layer) and a settlement search (pin drawn).
5. **Road time** (``road``): on a settled server, the Exposure page opened, then coverage by road time
   chosen as a user does (*road minutes*, 15 min) and a second limit (25 min) typed; time from the click
   (key) to the people covered shown.
6. **Memory**: RSS of the server process after the first visit of COP, Exposure (coverage by road
   time) and Planner, then after visiting every page 5 times with different settings.

Every number comes with the load average (the machine is shared) and the server's CPU seconds
for the step (``/proc/<pid>/stat``), which load does not inflate as it inflates wall time.

Usage::

    .venv/bin/python bench/bench_pages.py --db /tmp/x/national.duckdb --demo /tmp/x/demo.duckdb [--write]
        [--only exposure,planner,cop,zoom,demo,road,memory] [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _common import ROOT, write_section

sys.path.insert(0, str(ROOT / "tests"))

TICK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
#: How long one step may take before the bench gives up (ms).
TIMEOUT_MS = 600_000
STEPS = ("exposure", "planner", "cop", "zoom", "demo", "road", "memory")
#: The map is drawn: Leaflet has the layers that carry the page's data.
EXPOSURE_READY = ("() => window.map && Object.values(window.map._layers)"
                  ".filter(l => l instanceof L.CircleMarker).length > 10")
PLANNER_READY = "() => window.cimicLayers && window.cimicLayers.roads && window.cimicLayers.roads.getLayers().length > 0"
#: The map's view: west, south, east, north and zoom (to replay a step in-process).
VIEW_JS = ("() => { const b = window.map.getBounds(); "
           "return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth(), window.map.getZoom()]; }")
COP_READY = ("() => window.cimicLayers && window.cimicLayers.front_line && "
             "(window.cimicLayers.shelters || window.cimicLayers.shelters_grid)")


def _server_pid(port: str) -> int:
    """The pid of the ``streamlit run`` process listening on ``port`` (started by this script)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
            if b"streamlit" in b" ".join(cmd) and port.encode() in cmd and b"run" in cmd:
                return int(entry.name)
    raise RuntimeError(f"no streamlit process on port {port}")


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB."""
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE / 1e6


def rss_parts(pid: int) -> dict[str, float]:
    """Resident MB of ``pid`` split into anonymous memory and file-backed mapped pages (the store's
    ``national.duckdb.*`` folders counted apart as ``store_files``), from ``/proc/<pid>/smaps``."""
    anon = files = store = 0
    name = ""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps", encoding="utf-8", errors="replace") as f:
        for line in f:
            head = line.split(None, 1)[0]
            if "-" in head and not head.endswith(":"):
                parts = line.split(None, 5)
                name = parts[5].strip() if len(parts) > 5 else ""
            elif head == "Rss:":
                kb = int(line.split()[1])
                if name.startswith("/") and not name.startswith("/dev/"):
                    files += kb
                    store += kb if ".duckdb." in name else 0
                else:
                    anon += kb
    return {"anon": round(anon / 1024), "files": round(files / 1024), "store_files": round(store / 1024)}


def cpu_s(pid: int) -> float:
    """User + system CPU seconds used by ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def load() -> float:
    return os.getloadavg()[0]


class Server:
    """A running app and the pid of its process (RSS, CPU)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.pid = _server_pid(base.rsplit(":", 1)[1])

    def timed(self, fn: Callable[[], Any]) -> dict[str, float]:
        """Wall and server CPU seconds of ``fn()``, with the load average at its start."""
        la, c0, t0 = load(), cpu_s(self.pid), time.perf_counter()
        fn()
        return {"wall_s": time.perf_counter() - t0, "cpu_s": cpu_s(self.pid) - c0, "load": la,
                "rss_mb": rss_mb(self.pid)}


@contextlib.contextmanager
def app(db: Path) -> Iterator[tuple[Server, Any]]:
    """A new server on ``db`` and a signed-in Chromium page."""
    from browser_utils import chromium, sign_in, streamlit_server

    with streamlit_server(db, env={"CIMIC_LANGUAGE": "en"}, timeout=300) as base, \
            chromium(viewport=(1400, 1000)) as context:
        page = context.new_page()
        sign_in(page, base, timeout_ms=300_000)
        yield Server(base), page


def idle(page: Any) -> None:
    """Wait until the page's script run has finished."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => { const a = document.querySelector('[data-test-script-state]');"
                           " return a && a.getAttribute('data-test-script-state') !== 'running'; }",
                           timeout=TIMEOUT_MS)


def open_page(page: Any, link: str, ready: str) -> Any:
    """Click the sidebar link ``link`` and wait for its map with ``ready``; return the map's frame."""
    from browser_utils import map_frame
    from playwright.sync_api import Error as PlaywrightError

    page.get_by_role("link", name=link).first.click(timeout=TIMEOUT_MS)
    for attempt in range(5):  # the component's frame may be replaced while the page runs
        try:
            frame = map_frame(page, timeout_ms=TIMEOUT_MS)
            frame.wait_for_function(ready, timeout=TIMEOUT_MS)
            return frame
        except (AttributeError, PlaywrightError):
            if attempt == 4:
                raise
            page.wait_for_timeout(500)
    raise AssertionError("unreachable")


def cold(db: Path, link: str, ready: str, *, settle: bool = False) -> dict[str, float]:
    """First visit of the page ``link`` after the server started: click → map drawn.

    ``settle``: click only once the server has been idle for a second (its background warm-up after the
    first run done, as when a user signs in and reads the COP first); ``settled_s`` says how long after
    the sign-in that was. Without it the click comes as soon as the sign-in page has run.
    """
    with app(db) as (server, page):
        idle(page)
        extra = {}
        if settle:
            t0, last = time.perf_counter(), cpu_s(server.pid)
            while time.perf_counter() - t0 < 300:
                time.sleep(1.0)
                now = cpu_s(server.pid)
                if now - last < 0.05:
                    break
                last = now
            extra["settled_s"] = time.perf_counter() - t0
        b0 = browser_cpu()  # and the browser's CPU for the visit (its threads; the renderers' main threads)
        out = {**server.timed(lambda: open_page(page, link, ready)), **extra}
        b1 = browser_cpu()
    return {**out, **{k: round(b1[k] - b0[k], 2) for k in b0}}


def browser_cpu() -> dict[str, float]:
    """CPU seconds used so far by the Chromium processes this script started: all threads, and the
    renderers' main threads (where the pages' and the map's scripts, layout and painting run)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    mine, todo = set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        kids = [c for c, p in parent.items() if p == pid and c not in mine]
        mine.update(kids)
        todo += kids
    out = {"browser_cpu_s": 0.0, "renderer_main_cpu_s": 0.0}
    for pid in mine:
        with contextlib.suppress(OSError, ValueError, IndexError):
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"chromium" not in cmd[0]:
                continue
            for task in Path(f"/proc/{pid}/task").iterdir():
                stat = (task / "stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                used = (int(fields[11]) + int(fields[12])) / TICK
                out["browser_cpu_s"] += used
                # a zygote-forked renderer's command line is one string (its title rewritten)
                if b"--type=renderer" in b" ".join(cmd) and task.name == str(pid):
                    out["renderer_main_cpu_s"] += used
    return out


def zoom_step(db: Path) -> dict[str, Any]:
    """COP: one mouse-wheel step in (and one out) over the map → the new view's layers drawn; with the
    browser's CPU seconds for the step (all its threads, and the renderers' main threads). Each step starts
    on a settled server, as the other steps do."""
    with app(db) as (server, page):
        frame = open_page(page, "COP", COP_READY)
        idle(page)
        handle = page.query_selector('iframe[title="streamlit_folium.st_folium"]')
        handle.scroll_into_view_if_needed()  # the wheel must happen over the map, inside the viewport
        box = handle.bounding_box()
        out: dict[str, Any] = {"start": {"view": frame.evaluate(VIEW_JS)}}
        for name, dy in (("in", -120), ("in2", -120), ("out", 120)):
            settle(server)  # the server's background warm-up after its first run, and the step before, over
            frame.evaluate("() => { window.__mark = Object.values(window.cimicLayers); return true; }")
            page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)

            drawn: list[float] = []

            def step(dy: int = dy, drawn: list[float] = drawn) -> None:
                t0 = time.perf_counter()
                page.mouse.wheel(0, dy)
                # new layer objects for the view (the old ones replaced), then the run over
                frame.wait_for_function("() => Object.values(window.cimicLayers).some(l => !window.__mark.includes(l))"
                                        " && !window.map._animatingZoom", timeout=TIMEOUT_MS)
                drawn.append(time.perf_counter() - t0)
                idle(page)
            b0 = browser_cpu()
            timed = server.timed(step)
            b1 = browser_cpu()
            # the view after the step (bounds and zoom), to replay the same step in-process
            out[name] = {**timed, "drawn_s": drawn[0], "view": frame.evaluate(VIEW_JS),
                         **{k: b1[k] - b0[k] for k in b0}}
            page.wait_for_timeout(500)
    return out


def settle(server: Server, *, quiet_s: float = 0.6, limit_s: float = 120.0) -> None:
    """Wait until the server has used (almost) no CPU for ``quiet_s`` (its background work and the runs a
    step causes, such as the map's view report after it moved, are over)."""
    t0, last, quiet_since = time.perf_counter(), cpu_s(server.pid), time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        time.sleep(0.1)
        now = cpu_s(server.pid)
        if now - last > 0.015:
            quiet_since = time.perf_counter()
        elif time.perf_counter() - quiet_since >= quiet_s:
            return
        last = now


def demo_steps(db: Path) -> dict[str, Any]:
    """Demo store, COP: a sidebar layer checkbox (layer gone from the map) and a search (pin drawn, the map
    moved to it). Each step starts on a settled server (its warm-up after the first run over) and counts the
    server CPU until the server is quiet again (the runs the step causes, the map's view report included);
    its wall time is from the click (key) to the map drawn."""
    # read before the server starts: opening the store from here would make the app let go of it (another
    # program waits) and open it again in the step timed, with every cache keyed on the file's stamp cold
    places = _largest_places(db)
    with app(db) as (server, page):
        frame = open_page(page, "COP", COP_READY)
        idle(page)
        settle(server, quiet_s=1.0)
        out: dict[str, Any] = {}
        box = page.get_by_role("checkbox", name="Shelters")

        def timed_step(act: Callable[[], None], drawn: str, arg: Any = None) -> dict[str, float]:
            walls: list[float] = []

            def run() -> None:
                t0 = time.perf_counter()
                act()
                frame.wait_for_function(drawn, arg=arg, timeout=TIMEOUT_MS)
                walls.append(time.perf_counter() - t0)
                idle(page)
                settle(server)
            timed = server.timed(run)
            return {**timed, "done_s": timed["wall_s"], "wall_s": walls[0]}

        # the layer on the map (a hidden group keeps its layer object, off the map)
        shown = ("() => ['shelters', 'shelters_grid'].some(k => window.cimicLayers[k] && "
                 "window.map.hasLayer(window.cimicLayers[k]))")
        click = page.locator('[data-testid="stSidebar"]').get_by_text("Shelters", exact=True).first.click
        out["toggle_off"] = timed_step(click, f"() => !({shown})()")
        out["toggle_on"] = timed_step(click, shown)
        assert box.is_checked()
        field = page.get_by_label("Find a settlement")
        for name, text in zip(("search", "search2"), places, strict=False):
            def search(text: str = text) -> None:
                field.fill(text)
                field.press("Enter")
            # the pin drawn and the map moved to it (zoom 12)
            out[name] = timed_step(search, "(t) => window.cimicLayers.search && JSON.stringify("
                                   "window.cimicLayers.search._cimicData).includes(t) && window.map.getZoom() === 12",
                                   text)
    return out


def _largest_places(db: Path, n: int = 2) -> list[str]:
    """Names of the ``n`` largest settlements of the store (what the search step looks for)."""
    from cimic_geo.store import connect

    with connect(db) as store:
        places = store.read("settlements", columns=["name", "population"])
    return places.sort_values("population", ascending=False)["name"].head(n).tolist()


#: The Exposure page's coverage by road time: the regex its "Settlements (coverage)" tab's caption matches
#: once the coverage for a limit is shown (the limit, then the people covered and the total).
ROAD_CAPTION = r"Reach: within {minutes} min\. Covered ([\d,]+) of ([\d,]+)"


def _road_shown(page: Any, minutes: float) -> dict[str, int]:
    """Wait until the page shows the coverage by road time within ``minutes`` (the settlements tab's caption
    and the coverage KPI tile); return the people covered and the total it shows."""
    pattern = ROAD_CAPTION.format(minutes=f"{minutes:g}")
    # the tab's text is in the page while another tab is open: read it from the DOM, not as visible text
    text = page.wait_for_function(
        "(p) => { const re = new RegExp(p); const hit = [...document.querySelectorAll("
        "'[data-testid=\"stCaption\"], [data-testid=\"stCaptionContainer\"]')].map(e => e.textContent)"
        ".find(t => re.test(t)); const kpi = [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
        ".some(e => e.textContent.includes('Shelter coverage')); return hit && kpi ? hit : false; }",
        arg=pattern, timeout=TIMEOUT_MS).json_value()
    got = re.search(pattern, text)
    assert got, text
    return {"covered": int(got.group(1).replace(",", "")), "total": int(got.group(2).replace(",", ""))}


def road_steps(db: Path, limits: tuple[float, ...] = (15.0, 25.0)) -> dict[str, Any]:
    """Exposure page, coverage by road time as a user meets it: a new server, signed in and settled (its
    background warm-up over), the page opened (map drawn, the server quiet again); then *road minutes*
    clicked (the page's default limit, ``limits[0]``) and each further limit typed into *Within (minutes by
    road)*. Each step's wall time is from the click (key) to the coverage shown (people covered in the
    settlements tab's caption, the coverage tile); its server CPU until the server is quiet again."""
    with app(db) as (server, page):
        idle(page)
        t0 = time.perf_counter()
        settle(server, quiet_s=1.0, limit_s=300.0)
        settled = time.perf_counter() - t0
        open_page(page, "Exposure and coverage", EXPOSURE_READY)
        idle(page)
        settle(server, quiet_s=1.0)
        out: dict[str, Any] = {"settled_s": settled}
        for i, minutes in enumerate(limits):
            shown: list[Any] = []

            def run(i: int = i, minutes: float = minutes, shown: list[Any] = shown) -> None:
                t1 = time.perf_counter()
                if i == 0:
                    page.get_by_text("road minutes", exact=True).click()
                else:
                    field = page.get_by_label("Within (minutes by road)", exact=True)
                    field.fill(f"{minutes:g}")
                    field.press("Enter")
                got = _road_shown(page, minutes)
                shown.append((time.perf_counter() - t1, got))
                idle(page)
                settle(server)
            b0 = browser_cpu()
            timed = server.timed(run)
            b1 = browser_cpu()
            out[f"{minutes:g}"] = {**timed, "done_s": timed["wall_s"], "wall_s": shown[0][0], **shown[0][1],
                                   **{k: round(b1[k] - b0[k], 2) for k in b0}}
            print(f"road {minutes:g} min: {out[f'{minutes:g}']}", flush=True)
    return out


def _set_number(page: Any, label: str, value: float) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(f"{value:g}")
    field.press("Enter")
    idle(page)


def memory(db: Path, rounds: int) -> dict[str, Any]:
    """RSS after the first visit of COP, Exposure (road-time coverage) and Planner, then after
    each of ``rounds`` rounds of every page with other settings (as-of time, shift, reach, ...)."""
    with app(db) as (server, page):
        samples: list[dict[str, float]] = []
        t0, c0 = time.perf_counter(), cpu_s(server.pid)
        for r in range(rounds):
            after: dict[str, float] = {}  # RSS after each page of the round (which page holds memory)
            steps: dict[str, float] = {}  # and after each step within a page
            parts: dict[str, dict[str, float]] = {}  # anonymous / file-backed MB after each step
            open_page(page, "COP", COP_READY)
            idle(page)
            if r:  # another time on the as-of slider
                thumb = page.get_by_role("slider").first
                thumb.focus()
                for _i in range(r):
                    thumb.press("ArrowLeft")
                idle(page)
            after["cop_mb"] = rss_mb(server.pid)
            parts["cop"] = rss_parts(server.pid)
            open_page(page, "Exposure and coverage", EXPOSURE_READY)
            idle(page)
            steps["exposure_open"] = rss_mb(server.pid)
            parts["exposure_open"] = rss_parts(server.pid)
            page.get_by_text("road minutes", exact=True).click()
            idle(page)
            steps["road_minutes"] = rss_mb(server.pid)
            parts["road_minutes"] = rss_parts(server.pid)
            _set_number(page, "Within (minutes by road)", 15.0 + 5 * (r % 2))
            steps["within"] = rss_mb(server.pid)
            parts["within"] = rss_parts(server.pid)
            _set_number(page, "What-if: shift the front toward us (km)", float(r * 2))
            after["exposure_mb"] = rss_mb(server.pid)
            parts["exposure"] = rss_parts(server.pid)
            open_page(page, "Corridor planner", PLANNER_READY)
            idle(page)
            steps["planner_open"] = rss_mb(server.pid)
            parts["planner_open"] = rss_parts(server.pid)
            if r:
                thumb = page.get_by_role("slider").first
                thumb.focus()
                for _i in range(r):
                    thumb.press("ArrowLeft")
                idle(page)
                page.get_by_role("link", name="Corridor planner").first.wait_for()
            # the slider's keys may start several runs (one per key, each stopped by the next): the page
            # can look idle between two of them, so the round's sample waits until the server is quiet
            # (what it read before is kept as ``unsettled_mb``, with the CPU it used after that reading)
            unsettled, busy = rss_mb(server.pid), cpu_s(server.pid)
            settle(server, quiet_s=1.0, limit_s=300.0)
            after["unsettled_mb"], after["busy_after_cpu_s"] = unsettled, cpu_s(server.pid) - busy
            samples.append({"round": r + 1, "rss_mb": rss_mb(server.pid), **after, "load": load(),
                            "wall_s": time.perf_counter() - t0, "cpu_s": cpu_s(server.pid) - c0,
                            "steps_mb": {k: round(v) for k, v in steps.items()},
                            "parts_mb": {**parts, "end": rss_parts(server.pid)}})
            print(f"memory round {r + 1}: {samples[-1]}", flush=True)
    first = samples[0]["rss_mb"]
    return {"samples": samples, "peak_mb": max(s["rss_mb"] for s in samples),
            "growth": max(s["rss_mb"] for s in samples) / first - 1.0}


def fmt(r: dict[str, float] | None) -> str:
    if not r:
        return "–"
    return f"{r['wall_s']:.2f} s (server CPU {r['cpu_s']:.2f} s, load {r['load']:.0f})"


def _cold(r: dict[str, float] | None) -> str:
    """A cold visit's row: :func:`fmt` and the browser's CPU seconds for the visit when measured."""
    if not r or "browser_cpu_s" not in r:
        return fmt(r)
    return f"{fmt(r)}, browser CPU {r['browser_cpu_s']:.2f} s (renderer main thread {r['renderer_main_cpu_s']:.2f} s)"


def _road(r: dict[str, Any] | None) -> str:
    """The road step's row: each limit's :func:`fmt` and the people covered it showed."""
    if not r:
        return "–"
    return "; ".join(f"{k} min {fmt(v)}, covered {v['covered']:,}" for k, v in r.items() if isinstance(v, dict))


def _memory(m: dict[str, Any] | None) -> str:
    if not m:
        return "–"
    return (f"first {m['samples'][0]['rss_mb']:.0f} MB, peak {m['peak_mb']:.0f} MB ({m['growth']:+.0%}); per round: "
            + ", ".join(f"{s['rss_mb']:.0f}" for s in m["samples"]) + " MB")


def _rows(r: dict[str, Any]) -> dict[str, str]:
    """One text per table row from one run's results (``–`` for steps not run)."""
    z, d = r.get("zoom") or {}, r.get("demo") or {}
    return {
        "exposure": _cold(r.get("exposure")),
        "planner": _cold(r.get("planner")),
        "cop": _cold(r.get("cop")),
        "zoom": "; ".join(f"drawn {z[k]['drawn_s']:.2f} s, run over {fmt(z[k])}" if "drawn_s" in z[k]
                          else fmt(z[k]) for k in ("in", "in2", "out") if k in z) if z else "–",
        "zoom_browser": "; ".join(f"browser CPU {z[k]['browser_cpu_s']:.2f} s (renderer main thread "
                                  f"{z[k]['renderer_main_cpu_s']:.2f} s)" for k in ("in", "in2", "out")
                                  if "browser_cpu_s" in z.get(k, {})) or "–",
        "toggle": f"{fmt(d.get('toggle_off'))}; {fmt(d.get('toggle_on'))}" if d else "–",
        "search": f"{fmt(d.get('search'))}; {fmt(d.get('search2'))}" if d else "–",
        "road": _road(r.get("road")),
        "memory": _memory(r.get("memory")),
    }


ROW_TITLES = {
    "exposure": ("Exposure page, cold (first visit after server start): click → map drawn", "≤ 3 s"),
    "planner": ("Planner page, cold: click → map drawn with its roads", "≤ 3 s"),
    "cop": ("COP, cold: click → first map drawn with the front line and shelters", "–"),
    "zoom": ("COP, one mouse-wheel step (120 px) → new view's layers drawn and run over (in, in, out)", "≤ 1 s"),
    "zoom_browser": ("the same steps: the browser's CPU (until the run is over)", "–"),
    "toggle": ("demo store, COP layer checkbox (Shelters off, on) → map redrawn", "≤ 0.5 s"),
    "search": ("demo store, COP search (two largest places) → pin drawn, map moved to it (zoom 12)", "≤ 0.5 s"),
    "road": ("Exposure page on a settled server, coverage by road time: *road minutes* clicked (15 min), then "
             "25 min typed → people covered shown", "≤ 3 s"),
    "memory": ("server RSS after COP, Exposure (road-time coverage) and Planner, then again with other "
               "settings each round", "≤ 1.5 GB, ≤ +10 %"),
}


def report(results: dict[str, Any], before: dict[str, Any] | None = None, before_note: str = "") -> str:
    """The docs/BENCHMARKS.md section: one row per step, before (``before``) and now."""
    lines = ["## Pages in the browser (national)", "",
             "Command: `.venv/bin/python bench/bench_pages.py --db <copy of national.duckdb> --demo <copy of "
             f"demo.duckdb> --write` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs "
             "shared with other jobs). `streamlit run app.py` on a copy of each store, headless Chromium signed in; "
             "wall time from the click (wheel, key) to the map drawn; server CPU seconds of the step (/proc); "
             "load average (1 min) at the start of the step. On this shared machine the load was far above the "
             "2 cores, so wall times are several times what an idle machine shows: compare the CPU seconds.", ""]
    now = _rows(results)
    if before:
        old = _rows(before)
        lines += [f"Before: {before_note}", ""] if before_note else []
        lines += ["| step | target | before | now |", "| --- | --- | --- | --- |"]
        lines += [f"| {title} | {target} | {old[k]} | {now[k]} |" for k, (title, target) in ROW_TITLES.items()
                  if now[k] != "–" or old[k] != "–"]
    else:
        lines += ["| step | target | now |", "| --- | --- | --- |"]
        lines += [f"| {title} | {target} | {now[k]} |" for k, (title, target) in ROW_TITLES.items() if now[k] != "–"]
    lines += ["", "How the pages keep their work down: the server imports the heavy pages' modules in the background "
              "after its first run (not on a user's first visit). The Exposure page draws its map as soon as the "
              "exposure is known (coverage and the tables after it), ranks restoration only when asked (a button in "
              "its tab, in a fragment) and makes its CSV downloads only when a button is pressed; its analysis "
              "results are shared objects in a bounded cache (no pickled copy per rerun), and the analyses and the "
              "planner read each whole layer once per process (shared copies per store content). The planner keeps "
              "its map layers (chosen roads, settlements, extent) in a file beside the store per road-graph data "
              "version and time, so a server's first visit reads them instead of choosing and encoding them. "
              "The planner draws its roads from the rows it chose (no line built for a million roads) and the "
              "road pieces off the main network as one multi-line (not 2,000 map elements), and keeps one road-graph "
              "context per process. The COP reads and caches each visible layer on its own, so a layer toggle "
              "reads only the layer switched on. After every page run the server hands the memory the run freed "
              "back to the system (glibc keeps it per session thread otherwise).", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a copy of the national store (the app writes beside it)")
    parser.add_argument("--demo", help="a copy of the demo store (layer toggle and search)")
    parser.add_argument("--only", default=",".join(STEPS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--settle", action="store_true",
                        help="cold steps: click once the server is idle after the sign-in (its warm-up done)")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--json", help="also write the results as JSON here")
    parser.add_argument("--before", help="results JSON of an earlier run (a before column in the table)")
    parser.add_argument("--report-only", help="no run: the table from this results JSON (with --before)")
    parser.add_argument("--before-note", default="", help="what the before column measured (one sentence)")
    args = parser.parse_args(argv)
    db = Path(args.db)
    demo = Path(args.demo) if args.demo else None
    steps = [s.strip() for s in args.only.split(",") if s.strip()]
    results: dict[str, Any] = {}
    before = json.loads(Path(args.before).read_text(encoding="utf-8")) if args.before else None
    if args.report_only:
        text = report(json.loads(Path(args.report_only).read_text(encoding="utf-8")), before, args.before_note)
        print(text)
        if args.write:
            write_section(text, "## Pages in the browser (national)")
        return 0
    runs: dict[str, Callable[[], Any]] = {
        "exposure": lambda: cold(db, "Exposure and coverage", EXPOSURE_READY, settle=args.settle),
        "planner": lambda: cold(db, "Corridor planner", PLANNER_READY, settle=args.settle),
        "cop": lambda: cold(db, "COP", COP_READY, settle=args.settle),
        "zoom": lambda: zoom_step(db),
        "demo": lambda: demo_steps(demo) if demo else None,
        "road": lambda: road_steps(db),
        "memory": lambda: memory(db, args.rounds),
    }
    for step in steps:
        results[step] = runs[step]()
        print(step, json.dumps(results[step], default=str), flush=True)
    results = {k: v for k, v in results.items() if v is not None}
    text = report(results, before, args.before_note)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    if args.write:
        write_section(text, "## Pages in the browser (national)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
