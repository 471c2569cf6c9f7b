"""COP time slider in headless Chromium at national scale: one step of the "as of" slider to the map drawn.

Against ``streamlit run app.py`` on a *copy* of a store (the app writes beside it), driven by Debian's
Chromium through Playwright (see ``bench_pages.py``). On the COP, the slider's thumb is moved one snapshot
back and forth with the arrow keys; each step is timed from the key press to

* **map drawn**: the map's layers replaced by the new time's (front line, shelters or their aggregates,
  damage, the "what changed" rings), and
* **run done**: the page's script run finished (KPI strip and the "what changed" panel too).

The first visit of each time is *cold* (its reads not cached yet); later visits are *warm* (the target
is one step in 0.5 s or less, warm). Every number comes with the load average (the machine is shared),
the server's CPU seconds for the step and the browser's (every Chromium process of the run: the page,
the map's frame, the GPU and network processes), which load does not inflate as it inflates wall time.

Usage::

    .venv/bin/python bench/bench_slider.py --db /tmp/x/national.duckdb [--backdate] [--rounds 5] [--write]

``--backdate`` first lets the migrated versions take effect at the first snapshot (as in
``bench_history.py``), so that every past picture holds every row.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from _common import ROOT, write_section

sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_pages import COP_READY, TIMEOUT_MS, app, idle, load, open_page

#: The map layer objects of the previous time were replaced (streamlit-folium swaps the feature groups).
REPLACED = ("() => window.cimicLayers.front_line && !window.__mark.includes(window.cimicLayers.front_line) && "
            "Object.values(window.cimicLayers).filter(l => !window.__mark.includes(l)).length >= 2")


def backdate(db: Path) -> None:
    from cimic_geo.schema import VERSIONED_LAYERS
    from cimic_geo.store import connect
    from cimic_geo.store.versions import backdate_versions

    with connect(db) as store:
        first = store.history_times("front_line")[0]
        with store.transaction() as con:
            for name in VERSIONED_LAYERS:
                backdate_versions(con, name, after_version=0, at=first)


def step(server: Any, page: Any, frame: Any, key: str) -> dict[str, float]:
    """Press ``key`` on the slider; wall seconds to the map drawn and to the end of the run."""
    frame.evaluate("() => { window.__mark = Object.values(window.cimicLayers); return true; }")
    thumb = page.get_by_role("slider").first
    thumb.focus()
    la = load()
    t0 = time.perf_counter()
    c0, b0 = server_cpu(server), browser_cpu()
    thumb.press(key)
    frame.wait_for_function(REPLACED, timeout=TIMEOUT_MS)
    frame.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
    drawn = time.perf_counter() - t0
    idle(page)
    return {"drawn_s": drawn, "done_s": time.perf_counter() - t0, "cpu_s": server_cpu(server) - c0,
            "browser_cpu_s": browser_cpu() - b0, "load": la}


def server_cpu(server: Any) -> float:
    from bench_pages import cpu_s

    return cpu_s(server.pid)


def browser_cpu() -> float:
    """CPU seconds used so far by the Chromium processes started by this script (its descendants)."""
    from bench_pages import cpu_s

    children: dict[int, list[int]] = {}
    comm: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name, rest = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            comm[int(entry.name)] = name.split("(", 1)[1]
            children.setdefault(int(rest.split()[1]), []).append(int(entry.name))
    total, todo = 0.0, list(children.get(os.getpid(), []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        if comm.get(pid, "").startswith("chrom"):
            with contextlib.suppress(OSError):  # a process that just ended
                total += cpu_s(pid)
    return total


def run(db: Path, rounds: int) -> dict[str, list[dict[str, float]]]:
    out: dict[str, list[dict[str, float]]] = {"cold": [], "warm": []}
    with app(db) as (server, page):
        frame = open_page(page, "COP", COP_READY)
        idle(page)
        # first visits: one step back, one step forward (the newest time was drawn on opening)
        out["cold"].append(step(server, page, frame, "ArrowLeft"))
        out["cold"].append(step(server, page, frame, "ArrowRight"))
        for _i in range(rounds):
            out["warm"].append(step(server, page, frame, "ArrowLeft"))
            out["warm"].append(step(server, page, frame, "ArrowRight"))
    return out


def _fmt(rows: list[dict[str, float]], key: str) -> str:
    values = [r[key] for r in rows]
    return f"{statistics.median(values):.2f} s (best {min(values):.2f}, worst {max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, type=Path, help="a COPY of a store (the app writes beside it)")
    parser.add_argument("--backdate", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="record the result in docs/BENCHMARKS.md")
    args = parser.parse_args()
    if args.backdate:
        backdate(args.db)
    res = run(args.db, args.rounds)
    loads = [r["load"] for rows in res.values() for r in rows]
    lines = [f"slider step, cold (first visit of a time): drawn {_fmt(res['cold'], 'drawn_s')}; run done "
             f"{_fmt(res['cold'], 'done_s')}; server CPU {_fmt(res['cold'], 'cpu_s')}; browser CPU "
             f"{_fmt(res['cold'], 'browser_cpu_s')}",
             f"slider step, warm ({len(res['warm'])} steps): drawn {_fmt(res['warm'], 'drawn_s')}; run done "
             f"{_fmt(res['warm'], 'done_s')}; server CPU {_fmt(res['warm'], 'cpu_s')}; browser CPU "
             f"{_fmt(res['warm'], 'browser_cpu_s')}",
             f"load average {min(loads):.1f}-{max(loads):.1f}"]
    print("\n".join(lines))
    if args.write:
        write_section("## History: COP slider step in the browser\n\nCommand: `.venv/bin/python bench/bench_slider.py "
                      f"--db COPY.duckdb{' --backdate' if args.backdate else ''}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).\n\n"
                      + "\n".join(f"- {ln}" for ln in lines) + "\n", "## History: COP slider step in the browser")


if __name__ == "__main__":
    main()
