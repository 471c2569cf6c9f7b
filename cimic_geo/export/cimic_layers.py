"""Reads of the CIMIC work layers for an export view, each as it was at the view's time.

Evacuations carry their status at that time (from their status history), partners the 3W version
in force, assessments the latest assessment of each settlement made by then. Without an explicit
time (``as_of`` None) the current state is read: the latest status, the current 3W versions and
the latest assessments, even when they are newer than the last front-line snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import shapely

from cimic_geo.store.assessment_records import latest_assessments
from cimic_geo.store.evacuation_records import read_evacuations
from cimic_geo.store.partner_records import read_partners

CIMIC_LAYERS = ("evacuations", "assessments", "partners")


def read_cimic_layer(store: Any, name: str, *, bbox: Sequence[float], as_of: Any = None) -> gpd.GeoDataFrame:
    """Rows of ``name`` (one of :data:`CIMIC_LAYERS`) in ``bbox`` at ``as_of`` (None = now)."""
    if name == "evacuations":
        return read_evacuations(store, as_of=as_of, bbox=bbox)
    if name == "assessments":
        return latest_assessments(store, as_of=as_of, bbox=bbox)
    if name == "partners":
        gdf = read_partners(store, as_of=as_of)
        box = shapely.box(*bbox)
        return gdf[gdf.geometry.intersects(box).to_numpy()].reset_index(drop=True)
    raise KeyError(name)
