"""What changed, as one readable table per kind (shelters, damage, corridors, front, imports).

Used by the COP's "what changed" panel and the brief's "since the last brief" page, so both show the
same rows. Column headers and values are in the current language (build the tables at the point of use);
times are DTGs.
"""

from __future__ import annotations

import pandas as pd

from cimic_geo.analytics.changes import Changes
from cimic_geo.i18n import _, fmt_int, fmt_number, term
from cimic_geo.timefmt import dtg

#: Kinds of table, in the order they are shown.
KINDS = ("shelters", "damage", "corridors", "front", "imports")


def change_labels() -> dict[str, str]:
    """Labels of the kinds of change (shelters, damage, corridors) in the current language."""
    return {"opened": _("opened"), "closed": _("closed"), "filled": _("filled"), "freed": _("places free again"),
            "damaged": _("damaged"), "removed": _("removed"), "capacity": _("capacity changed"), "new": _("new"),
            "worse": _("worse"), "repaired": _("repaired"), "status": _("status changed")}


def kind_titles() -> dict[str, str]:
    """Titles of the tables in the current language."""
    return {"shelters": _("Shelters"), "damage": _("Damage"), "corridors": _("Corridors"), "front": _("Front"),
            "imports": _("Imports received")}


def _v(value: object) -> str:
    return term(str(value)) if value is not None else "–"


def _n(value: int | None) -> str:
    return fmt_int(value) if value is not None else "–"


def change_tables(res: Changes) -> dict[str, pd.DataFrame]:
    """One table per kind of :data:`KINDS` (empty tables keep their columns)."""
    labels = change_labels()
    shelters = pd.DataFrame(
        [[c.name, c.id, labels.get(c.change, c.change), _v(c.status_before), _v(c.status_after),
          _n(c.capacity_before), _n(c.capacity_after)] for c in res.shelters],
        columns=[_("name"), _("id"), _("change"), _("status before"), _("status after"), _("capacity before"),
                 _("capacity after")])
    damage = pd.DataFrame(
        [[term(d.sector), d.name, d.id, labels.get(d.change, d.change), _v(d.damage_before), _v(d.damage_after)]
         for d in res.damage],
        columns=[_("sector"), _("name"), _("id"), _("change"), _("damage before"), _("damage after")])
    corridors = pd.DataFrame(
        [[dtg(c.at), c.name, c.id, _v(c.from_status), _v(c.to_status), c.by] for c in res.corridors],
        columns=[_("time (DTG)"), _("name"), _("id"), _("status before"), _("status after"), _("by")])
    if res.front_gained_km2 is None:
        front = pd.DataFrame(columns=[_("change"), _("area (km², geodesic)")])
    else:
        front = pd.DataFrame([[_("newly occupied"), fmt_number(res.front_gained_km2, digits=1)],
                              [_("liberated"), fmt_number(res.front_lost_km2, digits=1)],
                              [_("net occupied"), ("+" if res.front_gained_km2 >= (res.front_lost_km2 or 0) else "")
                               + fmt_number(res.front_gained_km2 - (res.front_lost_km2 or 0), digits=1)]],
                             columns=[_("change"), _("area (km², geodesic)")])
    imports = pd.DataFrame([[dtg(i.at), i.layer, fmt_int(i.rows), i.files or "–", i.by] for i in res.imports],
                           columns=[_("time (DTG)"), _("layer"), _("rows"), _("files"), _("by")])
    return {"shelters": shelters, "damage": damage, "corridors": corridors, "front": front, "imports": imports}


def summary_line(res: Changes) -> str:
    """One sentence: how many shelters, damaged objects and corridors changed, and the open places."""
    change = res.open_capacity_after - res.open_capacity_before
    return _("changed: shelters {shelters}, infrastructure objects {damage}, corridors {corridors}; places in "
             "open shelters {before} → {after} ({change})").format(
        shelters=fmt_int(len(res.shelters)), damage=fmt_int(len(res.damage)),
        corridors=fmt_int(len({c.id for c in res.corridors})), before=fmt_int(res.open_capacity_before),
        after=fmt_int(res.open_capacity_after), change=("+" if change >= 0 else "") + fmt_int(change))
