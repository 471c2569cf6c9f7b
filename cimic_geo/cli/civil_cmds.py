"""Commands for civil assessments and partners: ``assessments``, ``partners``, ``template``.

``import assessments|partners|evacuations FILE.xlsx|.csv`` goes through the spreadsheet import
(:func:`run_sheet_import`, called by the ``import`` command).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cimic_geo.civil import assessment_overview, partner_overview, partner_versions, settlement_card
from cimic_geo.cli import emit
from cimic_geo.cli._common import add_json_option, add_store_options
from cimic_geo.errors import Problem, ValidationError
from cimic_geo.i18n import _, fmt_int, fmt_number, term
from cimic_geo.ingest.import_report import ImportReport
from cimic_geo.ingest.sheets import SHEET_LAYERS, write_template
from cimic_geo.ingest.spreadsheet import import_sheet
from cimic_geo.schema import ASSESSMENT_SECTORS
from cimic_geo.store import connect
from cimic_geo.store.partner_records import end_partner
from cimic_geo.timefmt import dtg, iso


def run_sheet_import(args: argparse.Namespace) -> int:
    """``import LAYER FILE`` for the spreadsheet layers: exit 0 written (or clean dry run), 1 refused."""
    if len(args.files) != 1:
        raise ValidationError(f"{args.layer}: import one spreadsheet at a time",
                              [Problem(None, None, f"{len(args.files)} files given")])
    path = args.files[0]
    with connect(args.db, read_only=args.dry_run) as store:
        try:
            report = import_sheet(store, args.layer, path, dry_run=args.dry_run, source=args.source,
                                  reported_at=args.reported_at, reliability=args.reliability,
                                  exercise=args.exercise, marking=args.marking, allow_mixed=args.allow_mixed)
        except ValidationError as exc:
            report = ImportReport(layer=args.layer, mode="upsert", files=[Path(path).name],
                                  problems=list(exc.problems) or [Problem(None, None, exc.message)],
                                  dry_run=args.dry_run)
    emit(args, report.to_dict(), report.summary_lines(max_problems=args.max_problems))
    return 0 if report.ok else 1


def _sector_width() -> int:
    """Width of the sector column: the longest sector name in the current language (at least 10)."""
    return max([10, *(len(term(s)) for s in ASSESSMENT_SECTORS)])


def _assessments(args: argparse.Namespace) -> int:
    with connect(args.db, read_only=True) as store:
        if args.settlement:
            card = settlement_card(store, args.settlement, as_of=args.as_of)
            doc = card.to_dict()
            s = card.settlement
            lines = [_("{name} ({id}), {admin1}: population {population}").format(
                         name=s["name"], id=s["id"], admin1=s.get("admin1") or "",
                         population=fmt_int(s.get("population") or 0)),
                     _("{n} assessment(s), newest first:").format(n=len(card.history))]
            for _row, r in card.history.iterrows():
                lines.append(_("  {dtg} present {people}: ").format(dtg=dtg(r["assessed_at"]),
                                                                    people=r.get("population_present")) + ", ".join(
                    f"{term(sec)} {term(r[f'{sec}_status'])}" for sec in ASSESSMENT_SECTORS
                    if isinstance(r.get(f"{sec}_status"), str)))
            who = [f"{o} ({term(sec)})" for o, sec in zip(card.partners["organisation"], card.partners["sector"],
                                                           strict=True)]
            lines.append(_("partners: {who}").format(who=", ".join(who) or _("none")))
            emit(args, doc, lines)
            return 0
        ov = assessment_overview(store, as_of=args.as_of, sector=args.sector, stale_days=args.stale_days)
    doc = ov.to_dict(rows=args.rows)
    w = _sector_width()
    head = (_("sector"), term("functional"), term("partial"), term("disrupted"), term("unknown"))
    lines = [_("civil assessments as of {dtg} (stale after {days} days)").format(
                 dtg=dtg(ov.as_of), days=fmt_number(ov.stale.stale_days)),
             _("settlements {settlements}: assessed {assessed}, current {current}, stale {stale}, never {never}")
             .format(**{k: doc[k] for k in ("settlements", "assessed", "current", "stale", "never")}),
             f"{head[0]:<{w}} {head[1]:>10} {head[2]:>8} {head[3]:>9} {head[4]:>8}"]
    for r in doc["by_sector"]:
        lines.append(f"{term(r['sector']):<{w}} {r['functional']:>10} {r['partial']:>8} {r['disrupted']:>9} {r['unknown']:>8}")
    for s in doc["stale_settlements"][:10]:
        lines.append(_("  stale: {name} ({id}) last {last} ({days} d)").format(
            name=s["name"], id=s["id"], last=s["last_assessed"], days=fmt_number(s["age_days"])))
    emit(args, doc, lines)
    return 0


def _partners(args: argparse.Namespace) -> int:
    if args.end:
        with connect(args.db) as store:
            t = end_partner(store, args.end, at=args.at)
        emit(args, {"partner_id": args.end, "valid_to": iso(t)}, _("3W entry {id} ended at {dtg}").format(id=args.end, dtg=dtg(t)))
        return 0
    with connect(args.db, read_only=True) as store:
        if args.history:
            hist = partner_versions(store, args.history)
            doc = {"partner_id": args.history, "versions": hist.astype(object).where(hist.notna(), None)
                   .to_dict("records")}
            now, area = _("now"), _("area")
            lines = [f"{r['valid_from']} - {r['valid_to'] or now}: {r['organisation']} {term(r['sector'])} "
                     f"{r['settlement_ids'] or area}" for r in doc["versions"]]
            emit(args, doc, lines)
            return 0
        ov = partner_overview(store, as_of=args.as_of, sector=args.sector)
    doc = ov.to_dict(gaps=not args.no_gaps, table=not args.no_table)
    w = _sector_width()
    head = (_("sector"), _("needs"), _("covered"), _("gaps"), _("people in gaps"))
    lines = [_("3W as of {dtg}: {partners} entries, {organisations} organisations; {gaps} settlement(s) with an "
               "uncovered need").format(dtg=dtg(ov.as_of), partners=doc["partners"],
                                        organisations=doc["organisations"], gaps=doc["gap_settlements"]),
             f"{head[0]:<{w}} {head[1]:>6} {head[2]:>8} {head[3]:>5} {head[4]:>15}"]
    for r in doc["by_sector"]:
        lines.append(f"{term(r['sector']):<{w}} {r['needs']:>6} {r['covered']:>8} {r['gaps']:>5} {fmt_int(r['people_in_gaps']):>15}")
    for g in doc.get("gaps", [])[:args.top]:
        lines.append(_("  gap: {name} ({id}) {sector} {status}").format(
            name=g.get("name") or g["settlement_id"], id=g["settlement_id"], sector=term(g["sector"]),
            status=term(g["status"])))
    emit(args, doc, lines)
    return 0


def _template(args: argparse.Namespace) -> int:
    out = Path(args.out or f"{args.layer}_template.xlsx")
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise ValidationError("--out must end in .xlsx or .csv", [Problem(None, "--out", f"got {out.name}")])
    if out.exists() and not args.force:
        raise ValidationError(f"{out} exists", [Problem(None, "--out", "give --force to overwrite it")])
    if out.exists() and not out.is_file():
        raise ValidationError(f"{out} is not a regular file", [Problem(None, "--out", "choose a file name")])
    write_template(args.layer, out)
    emit(args, {"layer": args.layer, "path": str(out)}, _("wrote the {layer} template to {path}").format(layer=args.layer, path=out))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("assessments", help=_("civil assessments: staleness and sector status, or one settlement's card"))
    p.add_argument("--sector", default="water", choices=ASSESSMENT_SECTORS, help=_("sector for the status column"))
    p.add_argument("--stale-days", dest="stale_days", type=float, help=_("days after which an assessment is stale "
                   "(default: setting CIMIC_STALE_DAYS, 14)"))
    p.add_argument("--settlement", help=_("show this settlement's card (assessment history and partners)"))
    p.add_argument("--rows", action="store_true", help=_("with --json: include the latest assessment of each settlement"))
    add_store_options(p, as_of=True)
    p.set_defaults(handler=_assessments)

    p = sub.add_parser("partners", help=_("3W (who does what where): entries in force and the gaps"))
    p.add_argument("--sector", choices=ASSESSMENT_SECTORS, help=_("only this assessed sector"))
    p.add_argument("--history", metavar="PARTNER_ID", help=_("every version of one 3W entry"))
    p.add_argument("--end", metavar="PARTNER_ID", help=_("end the current version of a 3W entry (kept as history)"))
    p.add_argument("--at", help=_("with --end: when it ended, ISO 8601 UTC (default now)"))
    p.add_argument("--no-gaps", dest="no_gaps", action="store_true", help=_("leave the gap list out of the JSON"))
    p.add_argument("--no-table", dest="no_table", action="store_true", help=_("leave the 3W table out of the JSON"))
    p.add_argument("--top", type=int, default=20, help=_("gaps listed in the text output (default 20)"))
    add_store_options(p, as_of=True)
    p.set_defaults(handler=_partners)

    p = sub.add_parser("template", help=_("write the spreadsheet template of a layer (.xlsx or .csv)"))
    p.add_argument("layer", choices=SHEET_LAYERS, metavar="LAYER", help=_("one of: {layers}").format(layers=", ".join(SHEET_LAYERS)))
    p.add_argument("--out", help=_("file to write (default LAYER_template.xlsx)"))
    p.add_argument("--force", action="store_true", help=_("overwrite an existing file"))
    add_json_option(p)
    p.set_defaults(handler=_template)
