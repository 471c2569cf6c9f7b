"""Roads from an OpenStreetMap extract (``.osm.pbf`` or ``.osm``): the drivable network as a roads layer.

Read with pyosmium (libosmium): the file is streamed once; a C++ tag filter passes only ways with
a ``highway`` tag to Python, node locations are kept in libosmium's compact location store (or a
file-backed one for very large extracts: ``node_storage``), and each way's geometry is written as
WKB in C++ and decoded with shapely in bulk. Chosen on measured speed and memory against GDAL's
OSM driver (through pyogrio) and pyrosm on the same file: see docs/BENCHMARKS.md ("Roads").

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
    return ValidationError(f"cannot read {label}: {message}", [Problem(None, None, message)])


def read_osm_roads(
    path: str | Path,
    *,
    name: str | None = None,
    speeds: Mapping[str, float] | None = None,
    node_storage: str = "flex_mem",
) -> SourceData:
    """The drivable roads of an OpenStreetMap extract, as rows of the ``roads`` layer.

    Parameters
    ----------
    path : ``.osm.pbf`` or ``.osm`` file
    name : file name for messages (uploads are saved under temporary names)
    speeds : default speed per road class (km/h) replacing :data:`DEFAULT_SPEEDS_KMH` entries
    node_storage : libosmium node location store (``flex_mem``; ``dense_file_array,FILE`` keeps
        memory bounded for continent-size extracts)

    Raises
    ------
    ValidationError
        Damaged or truncated file, or no drivable roads in it (nothing is returned).
    """
    import osmium

    p = Path(path)
    label = name or p.name
    if not p.exists():
        raise _fail(label, "file not found")
    table = {**DEFAULT_SPEEDS_KMH, **dict(speeds or {})}
    bad_speeds = {k: v for k, v in table.items() if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0)}
    if bad_speeds:
        raise ValidationError("default speeds must be positive numbers",
                              [Problem(None, "speed_kmh", f"{k}: {v!r}") for k, v in bad_speeds.items()])
    wkb = osmium.geom.WKBFactory()
    cols: dict[str, list] = {k: [] for k in ("id", "road_class", "speed_kmh", "oneway", "bridge", "tunnel", "ford",
                                             "name", "name_uk", "name_en", "wkb")}
    highway_ways = skipped_area = skipped_location = clipped = 0
    other: dict[str, int] = {}
    try:
        fp = (osmium.FileProcessor(str(p), osmium.osm.NODE | osmium.osm.WAY)
              .with_locations(node_storage)
              .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
              .with_filter(osmium.filter.KeyFilter("highway")))
        for way in fp:
            tags = way.tags
            highway = tags.get("highway", "")
            highway_ways += 1
            cls = HIGHWAY_CLASSES.get(highway)
            if cls is None:
                other[highway] = other.get(highway, 0) + 1
                continue
            if (tags.get("area", "no") not in _NO or tags.get("access", "") == "no"
                    or tags.get("motor_vehicle", "") == "no" or tags.get("motorcar", "") == "no"):
                skipped_area += 1
                continue
            try:
                geom = wkb.create_linestring(way)
            except (osmium.InvalidLocationError, RuntimeError):
                geom = _clipped_wkb(way)  # nodes outside a clipped extract: keep the longest run inside
                if geom is None:
                    skipped_location += 1
                    continue
                clipped += 1
            td = {k: tags.get(k) for k in ("maxspeed", "tracktype", "surface", "ford", "oneway", "junction")
                  if k in tags}
            cols["id"].append(f"osm-w{way.id}")
            cols["road_class"].append(cls)
            cols["speed_kmh"].append(_speed(td, cls, table))
            cols["oneway"].append(_oneway(td, highway))
            for key in ("bridge", "tunnel", "ford"):
                cols[key].append(tags.get(key, "no") not in _NO)
            cols["name"].append(tags.get("name"))
            cols["name_uk"].append(tags.get("name:uk"))
            cols["name_en"].append(tags.get("name:en"))
            cols["wkb"].append(geom)
    except (RuntimeError, ValueError, osmium.InvalidLocationError) as exc:
        raise _fail(label, f"the file is damaged or truncated ({exc})") from None
    if not cols["id"]:
        seen = ", ".join(f"{k} {v}" for k, v in sorted(other.items(), key=lambda kv: -kv[1])[:5])
        detail = f"{highway_ways} way(s) with a highway tag" + (f" ({seen})" if seen else "")
        raise _fail(label, f"the extract has no drivable roads: {detail}; nothing to import")
    geoms = shapely.from_wkb(np.asarray(cols.pop("wkb"), dtype=object))
    oneway = np.asarray(cols.pop("oneway"), dtype=np.int8)
    rev = oneway < 0
    if rev.any():
        geoms[rev] = shapely.reverse(geoms[rev])
    frame = gpd.GeoDataFrame({**cols, "oneway": oneway != 0, "status": "open"}, geometry=geoms, crs="EPSG:4326")
    problems = []
    left_out = sum(other.values()) + skipped_area
    if left_out:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(other.items(), key=lambda kv: -kv[1])[:6])
        problems.append(Problem(None, "highway", f"{left_out} non-drivable way(s) or area(s) left out"
                                + (f" ({kinds})" if kinds else ""), "info"))
    if clipped:
        problems.append(Problem(None, "geometry", f"{clipped} way(s) cut at the edge of the extract", "info"))
    if skipped_location:
        problems.append(Problem(None, "geometry", f"{skipped_location} way(s) with nodes outside the extract left out",
                                "info"))
    return SourceData(frame=frame, name=label, problems=problems, crs_in="EPSG:4326")
