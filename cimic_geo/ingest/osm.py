"""Roads from an OpenStreetMap extract (``.osm.pbf`` or ``.osm``): the drivable network as a roads layer.

Two readers feed one tag mapping (:func:`read_osm_roads`, ``engine``):

* ``gdal`` (default): GDAL's OSM driver through pyogrio. The file is streamed once in C++; node
  locations go to GDAL's index, which moves to a temporary file on disk past
  ``OSM_MAX_TMPFILE_SIZE`` (100 MB), so reading stays in bounded memory whatever the extract's
  size; only ways with a ``highway`` tag come back, their other tags parsed from ``other_tags``
  with vectorised regular expressions.
* ``pyosmium`` (libosmium): a C++ key filter passes only ``highway`` ways to Python, node
  locations in libosmium's location store (``node_storage``: ``flex_mem``, or file-backed
  ``dense_file_array,FILE``), geometries written as WKB in C++.

Measured on the national scenario written as a 1.0M-way ``.osm.pbf`` (bench/bench_roads.py,
docs/BENCHMARKS.md "Roads"): GDAL 27.7 CPU s, pyosmium 37.9 CPU s, both ~1.6 GB peak (the 1M-row
result dominates), so GDAL is the default — it is ~27 % cheaper, needs no extra package and
already reads every other format here. pyrosm parsed the same file with ~4 CPU s and 0.7 GB, but
its driving network applies its own filter (no tracks) and tag handling, and it reads ``.pbf``
only; it is the candidate to adopt as a third engine.

Mapping (all in this module, documented in the README):

* ``highway`` → ``road_class``: motorway, trunk, primary, secondary, tertiary (each with its
  ``_link``), ``local`` (unclassified, residential, living_street, service, road), ``track``.
  Other values (footway, cycleway, path, steps, pedestrian, construction, ...) are not drivable
  and left out, as are areas (``area=yes``) and ways closed to motor vehicles (``access``,
  ``motor_vehicle`` or ``motorcar`` = ``no``).
* ``maxspeed`` → ``speed_kmh``: numbers (``50``), units (``50 mph``, ``30 knots``), the first of
  several (``50;70``), country zones (``UA:urban`` 50, ``UA:rural`` 90, ``RU:urban`` 60, ...),
  ``walk`` (6); missing, ``none``, ``signals`` or unknown values take the class default
  (:data:`DEFAULT_SPEEDS_KMH`, configurable per call). Tracks without ``maxspeed`` go by
  ``tracktype`` (grade1 40 … grade5 10 km/h); unpaved ``surface`` halves the speed; ``ford``
  caps it at 10 km/h.
* ``oneway``: ``yes``/``true``/``1`` (line direction), ``-1``/``reverse`` (the line is reversed so
  ``oneway`` always means "in the line's direction"); roundabouts and motorways are one-way unless
  ``oneway=no``.
* ``bridge``, ``tunnel``, ``ford`` (any value but ``no``); ``name``, ``name:uk``, ``name:en``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from cimic_geo.errors import Problem, ValidationError
from cimic_geo.i18n import _
from cimic_geo.ingest.readers import SourceData

#: ``highway`` value → road class; values not listed are not drivable.
HIGHWAY_CLASSES: dict[str, str] = {
    "motorway": "motorway", "motorway_link": "motorway", "trunk": "trunk", "trunk_link": "trunk",
    "primary": "primary", "primary_link": "primary", "secondary": "secondary", "secondary_link": "secondary",
    "tertiary": "tertiary", "tertiary_link": "tertiary", "unclassified": "local", "residential": "local",
    "living_street": "local", "service": "local", "road": "local", "track": "track",
}
#: Default speed (km/h) per road class when ``maxspeed`` is missing or not a speed.
DEFAULT_SPEEDS_KMH: dict[str, float] = {
    "motorway": 110.0, "trunk": 90.0, "primary": 80.0, "secondary": 70.0, "tertiary": 60.0, "local": 40.0,
    "track": 20.0,
}
#: Default speed (km/h) of tracks by ``tracktype``.
TRACKTYPE_SPEEDS_KMH: dict[str, float] = {"grade1": 40.0, "grade2": 30.0, "grade3": 20.0, "grade4": 15.0,
                                          "grade5": 10.0}
#: Implicit ``maxspeed`` zones (``CC:zone``) in km/h; ``XX`` applies to any country not listed.
ZONE_SPEEDS_KMH: dict[str, float] = {
    "UA:urban": 50, "UA:rural": 90, "UA:motorway": 130, "UA:trunk": 110, "UA:living_street": 20,
    "RU:urban": 60, "RU:rural": 90, "RU:motorway": 110, "RU:living_street": 20,
    "PL:urban": 50, "PL:rural": 90, "PL:motorway": 140, "PL:expressway": 120,
    "DE:urban": 50, "DE:rural": 100, "FI:urban": 50, "FI:rural": 80,
    "XX:urban": 50, "XX:rural": 90, "XX:motorway": 110, "XX:trunk": 100, "XX:living_street": 20,
}
_UNPAVED = {"unpaved", "gravel", "fine_gravel", "dirt", "earth", "ground", "mud", "sand", "grass", "compacted",
            "pebblestone", "rock", "woodchips"}
_UNITS = {"": 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0, "mph": 1.609344, "knots": 1.852}
_SPEED_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$", re.I)
_NO = {"no", "false", "0"}
_MISSING = "\uffff"  # a tag the way does not have (a noncharacter: never an OSM value)
_MIN_KMH, _MAX_KMH = 1.0, 200.0


def parse_maxspeed(value: str | None, *, road_class: str, speeds: Mapping[str, float] = DEFAULT_SPEEDS_KMH
                   ) -> float | None:
    """Speed in km/h from an OSM ``maxspeed`` value; None when it gives none (use the class default).

    >>> parse_maxspeed("50 mph", road_class="primary")
    80.4672
    """
    if value is None:
        return None
    text = str(value).split(";")[0].strip()
    m = _SPEED_RE.match(text)
    if m:
        kmh = float(m.group(1)) * _UNITS[(m.group(2) or "").lower()]
        return kmh if kmh > 0 else None
    low = text.lower()
    if low == "walk":
        return 6.0
    if ":" in text:
        cc, zone = text.split(":", 1)
        key = f"{cc.upper()}:{zone.lower()}"
        return float(ZONE_SPEEDS_KMH.get(key, ZONE_SPEEDS_KMH.get(f"XX:{zone.lower()}", 0))) or None
    return None  # none, signals, variable, ...


def _speed(tags: Mapping[str, str], road_class: str, speeds: Mapping[str, float]) -> float:
    kmh = parse_maxspeed(tags.get("maxspeed"), road_class=road_class, speeds=speeds)
    if kmh is None:
        kmh = float(speeds[road_class])
        if road_class == "track":
            kmh = TRACKTYPE_SPEEDS_KMH.get(tags.get("tracktype", ""), kmh)
    if tags.get("surface", "") in _UNPAVED:
        kmh *= 0.5
    if tags.get("ford", "no") not in _NO:
        kmh = min(kmh, 10.0)
    return float(min(max(kmh, _MIN_KMH), _MAX_KMH))


def _oneway(tags: Mapping[str, str], highway: str) -> int:
    """1 (line direction), -1 (against it) or 0 (both ways)."""
    v = tags.get("oneway", "").lower()
    if v in ("yes", "true", "1"):
        return 1
    if v in ("-1", "reverse"):
        return -1
    if v in _NO or v in ("reversible", "alternating"):
        return 0
    if tags.get("junction", "") in ("roundabout", "circular") or highway == "motorway":
        return 1
    return 0


def _clipped_wkb(way: object) -> bytes | None:
    """WKB of the longest run of consecutive nodes with a location (None: fewer than 2)."""
    best: list[tuple[float, float]] = []
    run: list[tuple[float, float]] = []
    for n in way.nodes:  # type: ignore[attr-defined]
        if n.location.valid():
            xy = (n.location.lon, n.location.lat)
            if not run or run[-1] != xy:
                run.append(xy)
            continue
        best, run = max(best, run, key=len), []
    best = max(best, run, key=len)
    return shapely.to_wkb(shapely.linestrings(best)) if len(best) >= 2 else None


def _fail(label: str, message: str) -> ValidationError:
    return ValidationError(_("cannot read {name}: {reason}").format(name=label, reason=message),
                           [Problem(None, None, message)])


#: OSM tags read for each ``highway`` way.
_TAGS = ("maxspeed", "tracktype", "surface", "ford", "oneway", "junction", "bridge", "tunnel", "area", "access",
         "motor_vehicle", "motorcar", "name", "name:uk", "name:en")


def read_osm_roads(
    path: str | Path,
    *,
    name: str | None = None,
    speeds: Mapping[str, float] | None = None,
    engine: str = "gdal",
    node_storage: str = "flex_mem",
) -> SourceData:
    """The drivable roads of an OpenStreetMap extract, as rows of the ``roads`` layer.

    Parameters
    ----------
    path : ``.osm.pbf`` or ``.osm`` file
    name : file name for messages (uploads are saved under temporary names)
    speeds : default speed per road class (km/h) replacing :data:`DEFAULT_SPEEDS_KMH` entries
    engine : ``gdal`` (default; GDAL's OSM driver through pyogrio) or ``pyosmium``; both feed the
        same mapping
    node_storage : libosmium node location store (``flex_mem``; ``dense_file_array,FILE`` keeps
        memory bounded for continent-size extracts)

    Raises
    ------
    ValidationError
        Damaged or truncated file, or no drivable roads in it (nothing is returned).
    """
    p = Path(path)
    label = name or p.name
    if not p.exists():
        raise _fail(label, _("file not found"))
    table = {**DEFAULT_SPEEDS_KMH, **dict(speeds or {})}
    bad_speeds = {k: v for k, v in table.items() if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0)}
    if bad_speeds:
        raise ValidationError(_("default speeds must be positive numbers"),
                              [Problem(None, "speed_kmh", f"{k}: {v!r}") for k, v in bad_speeds.items()])
    if engine not in ("pyosmium", "gdal"):
        raise ValidationError(_("unknown OSM reader"), [Problem(None, None, _("engine {engine}: {a} or {b}").format(
            engine=repr(engine), a="pyosmium", b="gdal"))])
    reader = _ways_gdal if engine == "gdal" else _ways_pyosmium
    ways, geoms, stats = reader(p, label, node_storage)
    return _roads(ways, geoms, stats, label, table)


def _ways_pyosmium(p: Path, label: str, node_storage: str) -> tuple[dict[str, list], np.ndarray, dict[str, int]]:
    """Drivable-class ``highway`` ways: raw tags, geometries, counts of what was left out."""
    import osmium

    wkb = osmium.geom.WKBFactory()
    cols: dict[str, list] = {k: [] for k in ("id", "highway", *_TAGS)}
    blobs: list[bytes] = []
    stats = {"highway_ways": 0, "clipped": 0, "no_location": 0}
    other: dict[str, int] = {}
    try:
        fp = (osmium.FileProcessor(str(p), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations(node_storage)
              .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
              .with_filter(osmium.filter.KeyFilter("highway")))
        for way in fp:
            tags = way.tags
            highway = tags.get("highway", "")
            stats["highway_ways"] += 1
            if highway not in HIGHWAY_CLASSES:
                other[highway] = other.get(highway, 0) + 1
                continue
            try:
                geom = wkb.create_linestring(way)
            except (osmium.InvalidLocationError, RuntimeError):
                geom = _clipped_wkb(way)  # nodes outside a clipped extract: keep the longest run inside
                if geom is None:
                    stats["no_location"] += 1
                    continue
                stats["clipped"] += 1
            cols["id"].append(way.id)
            cols["highway"].append(highway)
            for k in _TAGS:
                cols[k].append(tags.get(k))
            blobs.append(geom)
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:
        raise _fail(label, _("the file is damaged or truncated ({error})").format(error=exc)) from None
    stats.update({f"other:{k}": v for k, v in other.items()})
    return cols, shapely.from_wkb(np.asarray(blobs, dtype=object)), stats


def _ways_gdal(p: Path, label: str, node_storage: str) -> tuple[dict[str, list], np.ndarray, dict[str, int]]:
    """The same from GDAL's OSM driver (``lines`` layer; other tags parsed from ``other_tags``)."""
    import pyogrio

    try:
        df = pyogrio.read_dataframe(str(p), layer="lines", columns=["osm_id", "highway", "name", "other_tags"],
                                    where="highway IS NOT NULL")
    except Exception as exc:  # pyogrio raises several types for damaged files
        raise _fail(label, _("the file is damaged or truncated ({error})").format(error=exc)) from None
    hw = df["highway"].astype(str)
    drivable = hw.isin(list(HIGHWAY_CLASSES)).to_numpy()
    stats = {"highway_ways": len(df), "clipped": 0, "no_location": 0}
    stats.update({f"other:{k}": int(v) for k, v in hw[~drivable].value_counts().items()})
    df = df[drivable]
    tags = df["other_tags"].fillna("")
    cols: dict[str, list] = {"id": df["osm_id"].astype("int64").tolist(), "highway": df["highway"].tolist(),
                             "name": df["name"].tolist()}
    for k in _TAGS:
        if k != "name":
            val = tags.str.extract('"' + re.escape(k) + r'"=>"((?:[^"\\]|\\.)*)"', expand=False)
            cols[k] = val.where(val.notna(), None).tolist()
    return cols, np.asarray(df.geometry.values, dtype=object), stats


def _roads(ways: dict[str, list], geoms: np.ndarray, stats: dict[str, int], label: str,
           table: Mapping[str, float]) -> SourceData:
    """The roads frame from raw ways: road class, speed, one-way, flags, names (see the module docstring)."""
    import pandas as pd

    raw = pd.DataFrame(ways)
    raw = raw.astype({k: object for k in _TAGS})  # a tag no way has would come out as float NaN
    other = {k.split(":", 1)[1]: v for k, v in stats.items() if k.startswith("other:")}
    closed = (raw["area"].fillna("no").map(lambda v: v not in _NO)
              | raw[["access", "motor_vehicle", "motorcar"]].eq("no").any(axis=1)).to_numpy(bool)
    raw, geoms = raw[~closed].reset_index(drop=True), geoms[~closed]
    if not len(raw):
        seen = ", ".join(f"{k} {v}" for k, v in sorted(other.items(), key=lambda kv: -kv[1])[:5])
        detail = (_("{n} way(s) with a highway tag ({kinds})") if seen else _("{n} way(s) with a highway tag")).format(
            n=stats["highway_ways"], kinds=seen)
        raise _fail(label, _("the extract has no drivable roads: {detail}; nothing to import").format(detail=detail))
    cls = raw["highway"].map(HIGHWAY_CLASSES)
    # speeds: distinct (class, tags) combinations are few, so map each once
    key_cols = ["highway", "maxspeed", "tracktype", "surface", "ford", "oneway", "junction"]
    keys = raw[key_cols].fillna(_MISSING)
    codes, uniq = pd.MultiIndex.from_frame(keys).factorize()
    speed_u = np.empty(len(uniq))
    oneway_u = np.empty(len(uniq), dtype=np.int8)
    for i, row in enumerate(uniq):
        td = {k: v for k, v in zip(key_cols, row, strict=True) if v != _MISSING}
        speed_u[i] = _speed(td, HIGHWAY_CLASSES[td["highway"]], table)
        oneway_u[i] = _oneway(td, td["highway"])
    speed, oneway = speed_u[codes], oneway_u[codes]
    del keys, codes
    rev = oneway < 0
    if rev.any():
        geoms = geoms.copy()
        geoms[rev] = shapely.reverse(geoms[rev])
    flags = {k: raw[k].fillna("no").map(lambda v: v not in _NO).to_numpy(bool) for k in ("bridge", "tunnel", "ford")}
    frame = gpd.GeoDataFrame(
        {"id": "osm-w" + raw["id"].astype(str), "road_class": cls.to_numpy(), "speed_kmh": speed,
         "oneway": oneway != 0, **flags, "name": raw["name"].to_numpy(), "name_uk": raw["name:uk"].to_numpy(),
         "name_en": raw["name:en"].to_numpy(), "status": "open"},
        geometry=geoms, crs="EPSG:4326")
    problems = []
    left_out = sum(other.values()) + int(closed.sum())
    if left_out:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(other.items(), key=lambda kv: -kv[1])[:6])
        problems.append(Problem(None, "highway", (_("{n} non-drivable way(s) or area(s) left out ({kinds})") if kinds
                                                  else _("{n} non-drivable way(s) or area(s) left out")).format(
            n=left_out, kinds=kinds), "info"))
    if stats["clipped"]:
        problems.append(Problem(None, "geometry", _("{n} way(s) cut at the edge of the extract").format(
            n=stats["clipped"]), "info"))
    if stats["no_location"]:
        problems.append(Problem(None, "geometry", _("{n} way(s) with nodes outside the extract left out").format(
            n=stats["no_location"]), "info"))
    return SourceData(frame=frame, name=label, problems=problems, crs_in="EPSG:4326")
