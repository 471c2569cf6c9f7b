"""Basemap layers from standard files: national/oblast boundary files and OpenStreetMap extracts.

The COP's basemap (state and oblast outlines, rivers, water areas) is a store layer, ``basemap``
(:data:`cimic_geo.schema.BASEMAP_KINDS`), so the map never needs a tile server. Two sources:

* :func:`read_admin_boundaries`: any polygon file GDAL reads (GeoJSON, GeoPackage, Shapefile),
  e.g. an oblast file from OSM (``name``, ``name:uk``, ``name:en`` tags) or from the COD-AB
  (``ADM1_EN``/``ADM1_UA``). Each polygon becomes an ``admin1`` outline; with ``state=True`` their
  union is added as the ``state`` outline.
* :func:`read_osm_basemap`: rivers (``waterway`` river/canal lines) and water areas
  (``natural=water`` or ``waterway=riverbank`` polygons) from an ``.osm.pbf``/``.osm`` extract,
  read like the roads (GDAL's OSM driver through pyogrio, :mod:`cimic_geo.ingest.osm`), and
  administrative boundaries (``boundary=administrative``, ``admin_level`` 2 → ``state``, 4 →
  ``admin1``).

:func:`write_basemap` replaces the store's basemap rows of the kinds given (an import of rivers
leaves the borders alone). Bad input raises :class:`~cimic_geo.errors.ValidationError` naming the
file and field; nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from cimic_geo.errors import Problem, ValidationError
from cimic_geo.i18n import _
from cimic_geo.schema import BASEMAP_KINDS

#: Candidate attribute names, first present wins (OSM tags, COD-AB, common national files).
NAME_FIELDS = ("name:en", "NAME_EN", "ADM1_EN", "NAME_LAT", "name", "NAME", "ADMIN_1")
NAME_UK_FIELDS = ("name:uk", "ADM1_UA", "NAME_UA", "NAME_UK", "name", "ADMIN_1")
WATERWAYS = ("river", "canal")
_TAG_RE = r'"{}"=>"((?:[^"\\]|\\.)*)"'


def _fail(label: str, field: str, message: str) -> ValidationError:
    return ValidationError(f"{label}: {message}", [Problem(None, field, message)])


def _pick(df: pd.DataFrame, fields: Sequence[str]) -> pd.Series:
    out = pd.Series([None] * len(df), index=df.index, dtype=object)
    for f in fields:
        if f in df.columns:
            vals = df[f].where(df[f].notna() & (df[f].astype(str).str.strip() != ""), None)
            out = out.where(out.notna(), vals)
    return out


def _frame(kind: Iterable[str], names, names_uk, geoms, *, prefix: str, source: str) -> gpd.GeoDataFrame:
    geoms = list(geoms)
    df = pd.DataFrame({"id": [f"{prefix}-{i + 1:05d}" for i in range(len(geoms))], "kind": list(kind),
                       "name": list(names), "name_uk": list(names_uk), "source": source})
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326"), crs="EPSG:4326")


def _read(path: Path, label: str, **kwargs) -> gpd.GeoDataFrame:
    import pyogrio

    if not path.is_file():
        raise _fail(label, "file", _("no such file: {path}").format(path=path))
    try:
        gdf = pyogrio.read_dataframe(str(path), **kwargs)
    except Exception as exc:  # pyogrio raises several types for damaged files
        raise _fail(label, "file", _("cannot read the file ({error})").format(error=exc)) from None
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs("EPSG:4326")
    return gdf


def read_admin_boundaries(path: str | Path, *, state: bool = True, kind: str = "admin1",
                          source: str | None = None) -> gpd.GeoDataFrame:
    """Outlines from a polygon file as basemap rows (``kind`` per polygon, plus the union as ``state``).

    Parameters
    ----------
    path : the boundary file (one polygon per oblast, or one national outline with ``kind="state"``)
    state : also add the union of all polygons as one ``state`` outline
    kind : ``admin1`` (oblasts) or ``state``
    source : provenance text (default the file name)
    """
    p = Path(path)
    label = p.name
    if kind not in ("state", "admin1"):
        raise _fail(label, "kind", _("kind must be 'state' or 'admin1', got {kind}").format(kind=repr(kind)))
    gdf = _read(p, label)
    types = set(gdf.geom_type.dropna())
    if not len(gdf) or not types <= {"Polygon", "MultiPolygon"}:
        raise _fail(label, "geometry", _("expected polygons, found {found}").format(
            found=sorted(types) or _("no features")))
    geoms = shapely.make_valid(gdf.geometry.to_numpy())
    names, names_uk = _pick(gdf, NAME_FIELDS), _pick(gdf, NAME_UK_FIELDS)
    out = _frame([kind] * len(gdf), names, names_uk, geoms, prefix=f"BM-{kind.upper()}", source=source or label)
    if state and kind == "admin1":
        union = shapely.union_all(geoms, grid_size=1e-6)
        out = pd.concat([out, _frame(["state"], [None], [None], [union], prefix="BM-STATE", source=source or label)],
                        ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def _tag(other: pd.Series, key: str) -> pd.Series:
    val = other.fillna("").str.extract(_TAG_RE.format(re.escape(key)), expand=False)
    return val.where(val.notna(), None)


def read_osm_basemap(path: str | Path, *, source: str | None = None) -> gpd.GeoDataFrame:
    """Rivers, water areas and admin boundaries (levels 2 and 4) from an OSM extract.

    Uses GDAL's OSM driver: ``lines`` for ``waterway`` river/canal, ``multipolygons`` for
    ``natural=water`` / ``waterway=riverbank`` areas and ``boundary=administrative`` relations.
    """
    p = Path(path)
    label = p.name
    src = source or label
    lines = _read(p, label, layer="lines", columns=["osm_id", "name", "waterway", "other_tags"],
                  where="waterway IS NOT NULL")
    polys = _read(p, label, layer="multipolygons",
                  columns=["osm_id", "osm_way_id", "name", "natural", "boundary", "admin_level", "other_tags"])
    parts = []
    rivers = lines[lines["waterway"].isin(WATERWAYS)]
    if len(rivers):
        parts.append(_frame(["river"] * len(rivers), rivers["name"], _tag(rivers["other_tags"], "name:uk"),
                            rivers.geometry, prefix="BM-OSM-R", source=src))
    ww = _tag(polys["other_tags"], "waterway")
    water = polys[(polys["natural"] == "water") | (ww == "riverbank")]
    if len(water):
        parts.append(_frame(["water"] * len(water), water["name"], _tag(water["other_tags"], "name:uk"),
                            water.geometry, prefix="BM-OSM-W", source=src))
    level = polys["admin_level"].astype(str)
    admin = polys[(polys["boundary"] == "administrative") & level.isin(["2", "4"])]
    if len(admin):
        kinds = ["state" if lv == "2" else "admin1" for lv in admin["admin_level"].astype(str)]
        parts.append(_frame(kinds, admin["name"], _tag(admin["other_tags"], "name:uk"), admin.geometry,
                            prefix="BM-OSM-A", source=src))
    if not parts:
        raise _fail(label, "file", _("no rivers, water areas or administrative boundaries in the extract"))
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def write_basemap(store, frame: gpd.GeoDataFrame, *, prefix: str | None = None, actor=None) -> int:
    """Replace the store's basemap rows of the kinds in ``frame`` by ``frame``; return rows written.

    Needs the ``import`` permission (``actor``; default the OS user outside the app). ``prefix`` is
    put before every id (keeps imports from different files apart).
    """
    from cimic_geo.auth import require

    require(actor, "import", store=store, action="import", layer="basemap")
    frame = frame.copy()
    unknown = sorted(set(frame["kind"]) - set(BASEMAP_KINDS))
    if unknown:
        raise _fail("basemap", "kind", _("unknown kind(s) {kinds}; expected {choices}").format(
            kinds=unknown, choices=list(BASEMAP_KINDS)))
    if prefix:
        frame["id"] = prefix + "-" + frame["id"].astype(str)
    written = 0
    with store.transaction() as con:
        for kind in sorted(set(frame["kind"])):
            part = frame[frame["kind"] == kind]
            written += store._write_in_transaction(con, "basemap", part, mode="replace", replace_where={"kind": kind})
    return written
