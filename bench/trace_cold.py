"""Trace a page's cold first visit in headless Chromium: what the browser asked for and when, and where
its threads spent their CPU.

The visit is the one of ``bench_pages.py cold`` (a new server on a copy of the store, signed in, the
server idle, then a click on the page's link until its map is drawn). Recorded meanwhile: every request
(start and end, seconds after the click) and every websocket message of 1 kB or more (the page's elements
as the server sends them), and a Chrome trace (CDP ``Tracing``) from which the summary counts only the
top-level tasks (``ThreadControllerImpl::RunTask``) of each thread: their thread CPU by thread (the page's
main thread; the compositors, which an animation keeps busy at every frame) and the longest tasks of the
page's main thread with the script they ran.

Usage::

    .venv/bin/python bench/trace_cold.py --db <copy of national.duckdb> [--page planner|exposure|cop]
        [--out PREFIX]   # PREFIX.trace.json (open in chrome://tracing or Perfetto) and PREFIX.json
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import time
from pathlib import Path
from typing import Any

import bench_pages as bp

PAGES = {"planner": ("Corridor planner", bp.PLANNER_READY), "exposure": ("Exposure and coverage", bp.EXPOSURE_READY),
         "cop": ("COP", bp.COP_READY)}
CATEGORIES = ("devtools.timeline,disabled-by-default-devtools.timeline,toplevel,v8.execute,blink.user_timing,"
              "disabled-by-default-devtools.timeline.frame,loading")


def visit(db: Path, page_name: str) -> tuple[dict[str, Any], bytes]:
    """The cold visit: its timings and events, and the Chrome trace (JSON bytes)."""
    from browser_utils import chromium, sign_in, streamlit_server

    link, ready = PAGES[page_name]
    events: list[tuple[str, str, float]] = []
    armed = [False]

    def on_ws(ws: Any) -> None:
        ws.on("framereceived", lambda f: armed[0] and len(f) >= 1000
              and events.append(("message", f"{len(f)} bytes", time.perf_counter())))

    with streamlit_server(db, env={"CIMIC_LANGUAGE": "en"}, timeout=300) as base, \
            chromium(viewport=(1400, 1000)) as context:
        page = context.new_page()
        page.on("websocket", on_ws)
        sign_in(page, base, timeout_ms=300_000)
        server = bp.Server(base)
        bp.idle(page)
        bp.settle(server, quiet_s=1.0)
        page.on("request", lambda r: events.append(("request", r.url, time.perf_counter())))
        page.on("requestfinished", lambda r: events.append(("done", r.url, time.perf_counter())))
        cdp = page.context.new_cdp_session(page)
        cdp.send("Tracing.start", {"categories": CATEGORIES, "transferMode": "ReturnAsStream"})
        page.evaluate("() => performance.mark('cimic-click')")
        armed[0] = True
        b0 = bp.browser_cpu()
        click = time.perf_counter()
        timed = server.timed(lambda: bp.open_page(page, link, ready))
        b1 = bp.browser_cpu()
        done: dict[str, Any] = {}
        cdp.on("Tracing.tracingComplete", lambda ev: done.setdefault("stream", ev.get("stream")))
        cdp.send("Tracing.end")
        while "stream" not in done:
            page.wait_for_timeout(100)
        chunks = []
        while True:
            r = cdp.send("IO.read", {"handle": done["stream"], "size": 1 << 20})
            chunks.append(base64.b64decode(r["data"]) if r.get("base64Encoded") else r["data"].encode())
            if r.get("eof"):
                break
        cdp.send("IO.close", {"handle": done["stream"]})
    # seconds after the click; a URL without its server
    out = {**timed, **{k: round(b1[k] - b0[k], 2) for k in b0},
           "events": [(kind, "/" + what.split("//", 1)[-1].split("/", 1)[-1][:90] if "//" in what else what,
                       round(t - click, 3)) for kind, what, t in events if t >= click]}
    return out, b"".join(chunks)


def summary(trace: bytes, *, longest: int = 12) -> dict[str, Any]:
    """Thread CPU of the top-level tasks after the click, by thread, and the page's longest main-thread tasks."""
    doc = json.loads(trace)
    ev = doc["traceEvents"] if isinstance(doc, dict) else doc
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev if e.get("ph") == "M" and e.get("name") == "thread_name"}
    marks = [e["ts"] for e in ev if e.get("name") == "cimic-click"]
    t0 = marks[0] if marks else 0
    tasks = [e for e in ev if e.get("ph") == "X" and e.get("name") == "ThreadControllerImpl::RunTask" and e["ts"] >= t0]
    per: collections.Counter = collections.Counter()
    for e in tasks:
        per[names.get((e["pid"], e["tid"]), "?")] += e.get("tdur", 0) / 1000
    mains = collections.Counter({(e["pid"], e["tid"]): 0 for e in tasks if names.get((e["pid"], e["tid"])) == "CrRendererMain"})
    for e in tasks:
        if (e["pid"], e["tid"]) in mains:
            mains[(e["pid"], e["tid"])] += e.get("tdur", 0)
    main = mains.most_common(1)[0][0] if mains else None
    scripts = sorted((e for e in ev if (e.get("pid"), e.get("tid")) == main and e.get("ph") == "X"
                      and e.get("name") in ("EvaluateScript", "FunctionCall") and e["ts"] >= t0), key=lambda e: e["ts"])
    top = sorted((e for e in tasks if (e["pid"], e["tid"]) == main), key=lambda e: -e.get("dur", 0))[:longest]
    rows = []
    for t in sorted(top, key=lambda e: e["ts"]):
        inside = [s for s in scripts if t["ts"] <= s["ts"] <= t["ts"] + t["dur"]]
        data = (inside[0].get("args", {}).get("data", {}) if inside else {}) or {}
        what = (data.get("url") or data.get("functionName") or "").rsplit("/", 1)[-1][:50]
        rows.append({"at_s": round((t["ts"] - t0) / 1e6, 3), "wall_ms": round(t["dur"] / 1000),
                     "cpu_ms": round(t.get("tdur", 0) / 1000), "script": what})
    return {"thread_cpu_ms": {k: round(v) for k, v in per.most_common(8)}, "longest_main_tasks": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a copy of the national store (the app writes beside it)")
    parser.add_argument("--page", choices=sorted(PAGES), default="planner")
    parser.add_argument("--out", default="cold", help="file prefix: PREFIX.trace.json and PREFIX.json")
    args = parser.parse_args(argv)
    result, trace = visit(Path(args.db), args.page)
    Path(args.out + ".trace.json").write_bytes(trace)
    result["trace"] = summary(trace)
    Path(args.out + ".json").write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k not in ("events", "trace")}))
    for kind, what, t in result["events"]:
        print(f"  {t:7.3f} s  {kind:8s} {what}")
    print(json.dumps(result["trace"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
