"""The ``changes`` map layer: the features that changed between two times, drawn as highlight rings
(shelters, infrastructure) and glows (corridors) over the COP's own layers.

:func:`changed_features` joins a :class:`cimic_geo.analytics.changes.Changes` to the positions of the
features it names; the text columns are in the current language (build the frame at the point of use).
The frame goes through :func:`cimic_geo.maps.cop_map.encode_layer` like every other layer (escaped JSON
data, never template source).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from cimic_geo.analytics.change_tables import change_labels
from cimic_geo.analytics.changes import Changes
from cimic_geo.i18n import _, term

COLUMNS = ["id", "name", "kind", "what", "change", "before", "after"]


def _value(v: object) -> str:
    return term(str(v)) if v is not None else "–"


def _capacity(status: str | None, capacity: int | None) -> str:
    return _value(status) + ("" if capacity is None else f" ({capacity:,})")


def changed_features(changes: Changes, *, shelters: gpd.GeoDataFrame | None, infrastructure: gpd.GeoDataFrame | None,
                     corridors: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """One row per changed shelter, infrastructure object and corridor that has a position.

    Parameters
    ----------
    changes : what changed (:func:`cimic_geo.analytics.changes.build_changes`)
    shelters, infrastructure, corridors : frames with ``id`` and geometry of (at least) the changed features

    Returns
    -------
    GeoDataFrame with :data:`COLUMNS`: ``kind`` is the layer key (colour of the ring), ``what`` its title,
    ``change``/``before``/``after`` readable text.
    """
    labels = change_labels()
    rows: list[dict[str, object]] = []
    for c in changes.shelters:
        rows.append({"id": c.id, "name": c.name, "kind": "shelters", "what": _("Shelters"),
                     "change": labels.get(c.change, c.change),
                     "before": _capacity(c.status_before, c.capacity_before),
                     "after": _capacity(c.status_after, c.capacity_after)})
    for d in changes.damage:
        rows.append({"id": d.id, "name": d.name, "kind": "infrastructure", "what": _("Damaged infrastructure"),
                     "change": labels.get(d.change, d.change) + f" ({term(d.sector)})",
                     "before": _value(d.damage_before), "after": _value(d.damage_after)})
    last: dict[str, dict[str, object]] = {}
    for k in changes.corridors:  # one ring per corridor: its first and last status in the window
        first = last.get(k.id, {}).get("before", _value(k.from_status))
        last[k.id] = {"id": k.id, "name": k.name, "kind": "corridors", "what": _("Corridors"),
                      "change": labels["status"], "before": first, "after": _value(k.to_status)}
    rows += list(last.values())
    geoms = {}
    for kind, frame in (("shelters", shelters), ("infrastructure", infrastructure), ("corridors", corridors)):
        if frame is not None and len(frame):
            geoms.update({(kind, str(i)): g for i, g in zip(frame["id"], frame.geometry, strict=True)})
    kept = [r for r in rows if geoms.get((r["kind"], r["id"])) is not None]
    df = pd.DataFrame(kept, columns=COLUMNS)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([geoms[(r["kind"], r["id"])] for r in kept], crs="EPSG:4326"),
                            crs="EPSG:4326")
