"""Store commands: ``init``, ``seed``, ``info``, ``migrate``."""

from __future__ import annotations

import argparse
import time

from cimic_geo.cli import emit
from cimic_geo.cli._actor import cli_actor_at
from cimic_geo.cli._common import add_db_option, add_json_option, add_store_options
from cimic_geo.i18n import _, fmt_int, fmt_number
from cimic_geo.store import connect, init_store
from cimic_geo.store.summary import store_summary


def _init(args: argparse.Namespace) -> int:
    store = init_store(args.db, force=args.force, actor=cli_actor_at(args, args.db))
    doc = {"ok": True, "path": str(store.path), "schema_version": store.schema_version}
    store.close()
    emit(args, doc, _("created empty store {path} (schema version {version})").format(
        path=doc["path"], version=doc["schema_version"]))
    return 0


def _seed(args: argparse.Namespace) -> int:
    from cimic_geo.scenario import seed_database

    started = time.perf_counter()
    path = seed_database(args.db, scale=args.scale, seed=args.seed, force=args.force,
                         actor=cli_actor_at(args, args.db))
    seconds = time.perf_counter() - started
    with connect(path, read_only=True) as store:
        counts = store.counts()
    doc = {"ok": True, "path": str(path), "scale": args.scale, "seed": args.seed, "seconds": round(seconds, 2),
           "layers": counts}
    lines = [_("seeded EXERCISE scenario ({scale}, seed {seed}) into {path} in {seconds} s").format(
        scale=args.scale, seed=args.seed, path=path, seconds=fmt_number(seconds, digits=1))]
    lines += [f"  {name:15s} {fmt_int(n):>9}" for name, n in counts.items()]
    emit(args, doc, lines)
    return 0


def _info(args: argparse.Namespace) -> int:
    with connect(args.db, read_only=True) as store:
        doc = store_summary(store)
    tr = doc["time_range"]
    label = {"store": _("store"), "schema": _("schema"), "marking": _("marking"), "time": _("time range"),
             "bbox": _("bbox")}
    lines = [f"{label['store']:<12} {doc['path']}",
             f"{label['schema']:<12} " + _("version {version}").format(version=doc["schema_version"])]
    if doc["marking"]:
        lines.append(f"{label['marking']:<12} {doc['marking']}")
    lines.append(f"{label['time']:<12} {tr['start'] or '-'} .. {tr['end'] or '-'}")
    lines.append(f"{label['bbox']:<12} {doc['bbox'] or '-'}")
    lines += [f"  {name:15s} {fmt_int(n):>9}" for name, n in doc["layers"].items()]
    emit(args, doc, lines)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    with connect(args.db) as store:  # a read-write open applies the migrations the file lacks
        doc = {"ok": True, "path": str(store.path), "schema_version": store.schema_version}
    emit(args, doc, _("store {path} is at schema version {version}").format(
        path=doc["path"], version=doc["schema_version"]))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help=_("create an empty store with the current schema"))
    add_db_option(p)
    p.add_argument("--force", action="store_true", help=_("overwrite an existing database"))
    add_json_option(p)
    p.set_defaults(handler=_init)

    p = sub.add_parser("seed", help=_("create the store from the deterministic EXERCISE scenario"))
    add_db_option(p)
    p.add_argument("--scale", choices=("demo", "national"), default="demo",
                   help=_("size of the scenario: demo (default) or national"))
    p.add_argument("--seed", type=int, default=2026, help=_("random seed (same seed -> same data)"))
    p.add_argument("--force", action="store_true", help=_("overwrite an existing database"))
    add_json_option(p)
    p.set_defaults(handler=_seed)

    p = sub.add_parser("info", help=_("what the store holds: schema version, layer counts, time range, bbox"))
    add_store_options(p)
    p.set_defaults(handler=_info)

    p = sub.add_parser("migrate", help=_("upgrade a store written by an older version to this program's schema"))
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=_migrate)
