"""Benchmark: the evacuation board at national scale (target: at most 1 s).

Usage::

    .venv/bin/python bench/bench_cimic.py --db data/national.duckdb [--seed] [--write]

``--seed`` creates the national EXERCISE store at ``--db`` first when it is missing. Times (best of
``--repeat``) what the Evacuations page and ``python -m cimic_geo evacuations board`` do: read
every evacuation with its status (now, and at a past time from the status history), threat band
of every pickup point at the front line in force, names, progress figures, and the sorted board;
then the straight-line shelter assignment of the waiting people. ``--write`` replaces the section
of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import pandas as pd
from _common import best_time, write_section

from cimic_geo.evacuations import assign_waiting, evacuation_overview
from cimic_geo.store import connect

HEADING = "## Evacuations (national)"


def _board(store, as_of=None):
    ov = evacuation_overview(store, as_of=as_of)
    return ov, ov.board()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="data/national.duckdb")
    ap.add_argument("--seed", action="store_true", help="seed the national scenario at --db when missing")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="write the section of docs/BENCHMARKS.md")
    args = ap.parse_args()
    db = Path(args.db)
    if not db.exists():
        if not args.seed:
            raise SystemExit(f"{db} does not exist; pass --seed to create the national scenario there")
        from cimic_geo.scenario import seed_database

        seed_database(db, scale="national")
    with connect(db, read_only=True) as store:
        n_evac = store.counts()["evacuations"]
        n_hist = int(store.query_df("SELECT count(*) AS n FROM evacuation_history")["n"].iloc[0])
        _board(store)  # warm: extension, first reads
        t_now, (ov, board) = best_time(_board, store, repeat=args.repeat)
        past = ov.front_time - pd.Timedelta(days=30)
        t_past, (ov_past, board_past) = best_time(_board, store, past, repeat=args.repeat)
        t_assign, res = best_time(assign_waiting, store, max_km=30.0, repeat=args.repeat)
    k = ov.kpis()
    rows = [
        ("board now (read, bands, names, figures, sorted board)", t_now, f"{len(board):,} rows, "
         f"{k['people_waiting']:,} people waiting, {k['requests_open']:,} open"),
        ("board 30 days earlier (status from history)", t_past, f"{len(board_past):,} rows, "
         f"{ov_past.kpis()['requests_open']:,} open then"),
        ("assign waiting people to shelters (30 km, exact)", t_assign,
         f"{res.people_assigned:,} of {res.people_waiting:,} placed"),
    ]
    lines = [
        HEADING,
        "",
        f"`.venv/bin/python bench/bench_cimic.py --db {args.db} --write` on the national EXERCISE scenario "
        f"({n_evac:,} evacuations, {n_hist:,} status-history rows); best of {args.repeat}, "
        f"{platform.processor() or platform.machine()}, shared 2-core machine (load average "
        f"{os.getloadavg()[0]:.0f} during the run). Target for the board: at most 1 s.",
        "",
        "| step | time (s) | result |",
        "|---|---:|---|",
        *[f"| {name} | {t:.2f} | {what} |" for name, t, what in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(text, HEADING)


if __name__ == "__main__":
    main()
