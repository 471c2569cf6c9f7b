"""``changes``: what changed between two times (shelters, damage, corridors, the front, imports)."""

from __future__ import annotations

import argparse

from cimic_geo.analytics.changes import Changes, build_changes, check_window
from cimic_geo.cli import emit
from cimic_geo.cli._common import add_db_option, add_json_option
from cimic_geo.i18n import _, fmt_int, fmt_number, term
from cimic_geo.store import connect
from cimic_geo.store.changes_reads import change_inputs
from cimic_geo.timefmt import dtg


def _shelter_labels() -> dict[str, str]:
    return {"opened": _("opened"), "closed": _("closed"), "filled": _("filled"), "freed": _("places free again"),
            "damaged": _("damaged"), "removed": _("removed"), "capacity": _("capacity changed")}


def _damage_labels() -> dict[str, str]:
    return {"new": _("new"), "worse": _("worse"), "repaired": _("repaired")}


def _status(value: str | None) -> str:
    return term(value) if value is not None else _("(none)")


def change_lines(res: Changes) -> list[str]:
    """The human-readable report of :class:`~cimic_geo.analytics.changes.Changes` (times as DTG)."""
    until = dtg(res.until) if res.until is not None else _("now")
    lines = [_("changes from {since} to {until}").format(since=dtg(res.since), until=until)]
    labels = _shelter_labels()
    counts = res.shelter_counts()
    lines.append(_("shelters: {counts}").format(
        counts=", ".join(f"{labels[k]} {fmt_int(n)}" for k, n in counts.items())))
    lines.append(_("  places in open shelters: {before} -> {after} ({change})").format(
        before=fmt_int(res.open_capacity_before), after=fmt_int(res.open_capacity_after),
        change=("+" if res.open_capacity_after >= res.open_capacity_before else "")
        + fmt_int(res.open_capacity_after - res.open_capacity_before)))
    for c in res.shelters:
        lines.append(_("  {change}: {name} [{id}] {before} -> {after}, capacity {cap_before} -> {cap_after}").format(
            change=labels[c.change], name=c.name, id=c.id, before=_status(c.status_before),
            after=_status(c.status_after), cap_before=_count(c.capacity_before), cap_after=_count(c.capacity_after)))
    dlabels = _damage_labels()
    by_sector = res.damage_by_sector()
    lines.append(_("damage by sector:") if by_sector else _("damage: no change"))
    for sector, n in by_sector.items():
        lines.append(f"  {term(sector)}: " + ", ".join(f"{dlabels[k]} {fmt_int(v)}" for k, v in n.items()))
    for d in res.damage:
        lines.append(_("  {change}: {name} [{id}] {sector}, {before} -> {after}").format(
            change=dlabels[d.change], name=d.name, id=d.id, sector=term(d.sector), before=_status(d.damage_before),
            after=_status(d.damage_after)))
    lines.append(_("corridors:") if res.corridors else _("corridors: no status change"))
    for c in res.corridors:
        lines.append(_("  {dtg} {name} [{id}]: {before} -> {after} (by {who})").format(
            dtg=dtg(c.at), name=c.name, id=c.id, before=_status(c.from_status), after=_status(c.to_status), who=c.by))
    if res.front_gained_km2 is None:
        lines.append(_("front: no occupied-area history at these times"))
    else:
        lines.append(_("front: newly occupied {gained} km², liberated {lost} km² (geodesic)").format(
            gained=fmt_number(res.front_gained_km2, digits=1), lost=fmt_number(res.front_lost_km2, digits=1)))
    lines.append(_("imports received:") if res.imports else _("imports received: none"))
    for i in res.imports:
        lines.append(_("  {dtg} {layer}: {rows} rows from {files} (by {who})").format(
            dtg=dtg(i.at), layer=i.layer, rows=fmt_int(i.rows), files=i.files or "-", who=i.by))
    return lines


def _count(value: int | None) -> str:
    return fmt_int(value) if value is not None else "-"


def _changes(args: argparse.Namespace) -> int:
    since, until = check_window(args.since, args.until)
    with connect(args.db, read_only=True) as store:
        res = build_changes(since=since, until=until, **change_inputs(store, since=since, until=until))
    emit(args, res.to_dict(), change_lines(res))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("changes", help=_("what changed between two times: shelters, damage, corridors, front, "
                                         "imports"))
    p.add_argument("--since", required=True, help=_("start of the window, ISO 8601 UTC"))
    p.add_argument("--until", help=_("end of the window, ISO 8601 UTC (default: now)"))
    add_db_option(p)
    add_json_option(p)
    p.set_defaults(handler=_changes)
