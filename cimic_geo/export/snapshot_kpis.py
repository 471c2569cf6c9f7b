"""The small KPI table printed on snapshots: threat-band population, shelters, damage, corridors.

Numbers come from the analytics package (:func:`cimic_geo.analytics.kpi_strip.kpi_strip`, which uses
:func:`cimic_geo.analytics.exposure.exposure` for the bands); this module only arranges them
for print.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd

from cimic_geo.config import DEFAULT_BANDS_KM
from cimic_geo.export.export_view import LoadedView, picture_as_of
from cimic_geo.i18n import _, fmt_int, fmt_number, get_language, term


@dataclass
class KpiTable:
    """Rows ``(label, value)`` grouped in sections, plus notes (e.g. why a section is missing)."""

    sections: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    strip: dict[str, Any] | None = None

    def rows(self) -> list[tuple[str, str]]:
        """Flat rows: a section title row (value ``""``) followed by its rows."""
        out: list[tuple[str, str]] = []
        for title, rows in self.sections:
            out.append((title, ""))
            out.extend(rows)
        return out


def print_int(v: Any) -> str:
    """A whole number as the brief prints it: grouped by spaces in English (``1 000``), in the
    locale's format otherwise (Ukrainian: ``1 000`` with a no-break space); "n/a" when not a number."""
    try:
        n = round(float(v))
    except (TypeError, ValueError):
        return _("n/a")
    return f"{n:,}".replace(",", " ") if get_language() == "en" else fmt_int(n)


def _frame(loaded: LoadedView, store: Any, name: str) -> gpd.GeoDataFrame:
    if name in loaded.frames:
        return loaded.frames[name]
    return store.read(name, bbox=loaded.bbox, as_of=picture_as_of(store, name, loaded.as_of))


def kpi_table(store: Any, loaded: LoadedView, *, bands_km: Sequence[float] = DEFAULT_BANDS_KM) -> KpiTable:
    """KPIs of the view's area at its as-of time, the same definitions as the COP's KPI strip
    (:func:`cimic_geo.analytics.kpi_strip.kpi_strip`) but for the rows inside the view's bounding box.

    Population per band counts the settlements inside the box (whether or not the settlements
    layer is visible); distances are to the whole front line in force (read without the box,
    because a front just outside the view still threatens it).
    """
    from cimic_geo.analytics.bands import BEYOND, OCCUPIED, band_labels
    from cimic_geo.analytics.kpi_strip import kpi_strip

    table = KpiTable()
    front = store.read("front_line", as_of=loaded.as_of)
    occupied = store.read("occupied_area", as_of=loaded.as_of)
    strip = kpi_strip(
        settlements=_frame(loaded, store, "settlements"),
        shelters=_frame(loaded, store, "shelters"),
        infrastructure=_frame(loaded, store, "infrastructure"),
        corridors=_frame(loaded, store, "corridors"),
        front_line=front, occupied_area=occupied, bands_km=tuple(bands_km), as_of=loaded.as_of,
    )
    table.strip = strip.to_dict()
    table.notes += strip.notes
    rows: list[tuple[str, str]] = []
    bands = strip.bands
    if len(bands):
        for label in (*band_labels(bands_km), BEYOND, OCCUPIED):
            if label not in bands.index:
                continue
            if label == BEYOND:
                name = _("beyond {km} km").format(km=fmt_number(bands_km[-1]))
            elif label == OCCUPIED:
                name = _("occupied side")
            else:
                name = _("{band} km").format(band=label)
            r = bands.loc[label]
            rows.append((name, _("{people} ({n} stl.)").format(people=print_int(r["population"]),
                                                                n=print_int(r["settlements"]))))
    else:
        rows.append((_("threat bands"), _("n/a (no front line)")))
    table.sections.append((_("Population by threat band"), rows))
    sh = strip.shelters
    total = sum(sh.by_status.values())
    if total:
        used = sh.capacity_used
        srows = [
            (_("open / total"), f"{print_int(sh.by_status.get('open', 0))} / {print_int(total)}"),
            (_("full, closed, damaged"),
             ", ".join(print_int(sh.by_status.get(s, 0)) for s in ("full", "closed", "damaged"))),
            (_("capacity in service"), print_int(sh.capacity)),
            (_("occupancy"), print_int(sh.occupancy)),
            (_("capacity used"), _("n/a") if used is None else f"{fmt_number(used * 100, digits=0)} %"),
        ]
    else:
        srows = [(_("shelters"), _("none in view"))]
    table.sections.append((_("Shelters"), srows))
    dmg = strip.damage
    if int(dmg["total"].sum()):
        drows = [(term(level), print_int(dmg[level].sum())) for level in ("destroyed", "major", "minor")]
    else:
        drows = [(_("damaged objects"), _("none in view"))]
    table.sections.append((_("Damage"), drows))
    crows = [(term(status), print_int(n)) for status, n in strip.corridors.items() if n]
    table.sections.append((_("Corridors"), crows or [(_("corridors"), _("none in view"))]))
    return table
