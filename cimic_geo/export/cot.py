"""TAK exports: corridors as Cursor-on-Target routes and shelters as map points.

* a corridor becomes one ``b-m-r`` (route) event whose ``<link>`` children are its waypoints in
  order: start and end are waypoints (``b-m-p-w``), the vertices between them check points
  (``b-m-p-c``), as ATAK writes its own routes;
* a shelter becomes one ``b-m-p-s-m`` (spot map marker) event coloured by status, with kind,
  capacity, occupancy, MGRS and provenance in the remarks.

Two containers: a CoT XML file (``<events>`` holding complete ``<event>`` elements, for scripts
and feeds) and a TAK data package (zip with ``MANIFEST/manifest.xml`` and one ``.cot`` file per
event), which ATAK and WinTAK import with *Import > Local SD / Data package*.

UIDs are derived from the store ids (``cimic.corridor.<id>``), so importing a newer package
updates the routes and markers instead of duplicating them. An id with characters other than
letters, digits, ``_``, ``-`` and ``.`` (a ``/``, ``..``, spaces) is made safe first
(:func:`safe_id`): the UID doubles as the name of the package entry, which must stay one flat
``<uid>/<uid>.cot`` file whatever the data holds.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from cimic_geo.errors import ExportError
from cimic_geo.export.export_view import LoadedView
from cimic_geo.export.naming import atomic_path
from cimic_geo.geo import geodesic_length_km, to_mgrs
from cimic_geo.timefmt import dtg, to_utc

UNKNOWN_HAE = "9999999.0"

#: ARGB colours as the signed 32-bit integers ATAK stores.
_ARGB = {
    "green": -16711936,  # 0xFF00FF00
    "blue": -16776961,  # 0xFF0000FF
    "yellow": -256,  # 0xFFFFFF00
    "orange": -23296,  # 0xFFFFA500
    "red": -65536,  # 0xFFFF0000
    "grey": -7829368,  # 0xFF888888
    "black": -16777216,  # 0xFF000000
    "purple": -8388480,  # 0xFF800080
}
CORRIDOR_COLOURS = {
    "active": "green", "agreed": "blue", "proposed": "yellow", "draft": "grey",
    "suspended": "orange", "closed": "black",
}
SHELTER_COLOURS = {"open": "green", "full": "orange", "closed": "grey", "damaged": "red"}


_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


def safe_id(raw: Any) -> str:
    """A store id as a UID part and file name: unchanged when it is only letters, digits, ``_``,
    ``-`` and single dots; otherwise the other characters become ``_`` and 8 hex digits of its
    SHA-1 are appended (``"a/b"`` -> ``"a_b-<hash>"``), so different ids stay different."""
    text = str(raw)
    clean = _UNSAFE.sub("_", text)
    if clean == text and clean.strip(".") == clean and ".." not in clean and clean:
        return clean
    clean = clean.replace("..", "_").strip(".")[:60] or "id"
    return f"{clean}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:8]}"


@dataclass(frozen=True)
class CotEvent:
    """One event: its uid and the XML element."""

    uid: str
    kind: str
    element: ET.Element


def _time(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _present(v: Any) -> bool:
    return v is not None and v is not pd.NA and v is not pd.NaT and not (isinstance(v, float) and v != v)


def _event(uid: str, cot_type: str, *, lat: float, lon: float, now: pd.Timestamp, stale: pd.Timestamp,
           how: str = "h-e") -> tuple[ET.Element, ET.Element]:
    ev = ET.Element("event", {
        "version": "2.0", "uid": uid, "type": cot_type, "how": how,
        "time": _time(now), "start": _time(now), "stale": _time(stale),
    })
    ET.SubElement(ev, "point", {"lat": f"{lat:.7f}", "lon": f"{lon:.7f}", "hae": UNKNOWN_HAE,
                                "ce": UNKNOWN_HAE, "le": UNKNOWN_HAE})
    return ev, ET.SubElement(ev, "detail")


def _provenance(row: dict[str, Any]) -> str:
    parts = []
    if _present(row.get("source")):
        parts.append(f"source {row['source']}")
    if _present(row.get("reliability")):
        parts.append(f"reliability {row['reliability']}")
    if _present(row.get("reported_at")):
        parts.append(f"reported {dtg(row['reported_at'])}")
    return "; ".join(parts)


def corridor_event(row: dict[str, Any], geom: Any, *, now: pd.Timestamp, stale: pd.Timestamp,
                   marking: str) -> CotEvent:
    """The ``b-m-r`` route event of one corridor (a LineString in lon/lat)."""
    if geom is None or geom.is_empty or geom.geom_type != "LineString":
        raise ExportError(f"corridor {row.get('id')!r}: geometry must be a non-empty LineString for a TAK route")
    uid = f"cimic.corridor.{safe_id(row['id'])}"
    coords = list(geom.coords)
    lon0, lat0 = coords[0][0], coords[0][1]
    ev, detail = _event(uid, "b-m-r", lat=lat0, lon=lon0, now=now, stale=stale)
    name = str(row.get("name") or row["id"])
    origin = str(row["origin"]) if _present(row.get("origin")) else "SP"
    destination = str(row["destination"]) if _present(row.get("destination")) else "EP"
    last = len(coords) - 1
    for i, (x, y, *_) in enumerate(coords):
        waypoint = i in (0, last)
        callsign = origin if i == 0 else destination if i == last else ""
        ET.SubElement(detail, "link", {
            "uid": f"{uid}.wp{i:04d}", "callsign": callsign, "type": "b-m-p-w" if waypoint else "b-m-p-c",
            "point": f"{y:.7f},{x:.7f}", "remarks": "", "relation": "c",
        })
    status = str(row.get("status") or "")
    colour = str(_ARGB[CORRIDOR_COLOURS.get(status, "grey")])
    ET.SubElement(detail, "link_attr", {
        "planningmethod": "Infil", "color": colour, "method": "Driving", "prefix": "CP", "type": "Vehicle",
        "stroke": "3", "direction": "Infil", "routetype": "Primary", "order": "Ascending Check Points",
    })
    ET.SubElement(detail, "labels_on", {"value": "true"})
    routeinfo = ET.SubElement(detail, "__routeinfo")
    ET.SubElement(routeinfo, "__navcues")
    ET.SubElement(detail, "archive")
    ET.SubElement(detail, "color", {"value": colour})
    ET.SubElement(detail, "strokeColor", {"value": colour})
    ET.SubElement(detail, "strokeWeight", {"value": "3.0"})
    ET.SubElement(detail, "contact", {"callsign": name})
    window = ""
    if _present(row.get("window_start")) or _present(row.get("window_end")):
        window = f"window {dtg(row.get('window_start')) or '?'} - {dtg(row.get('window_end')) or '?'}; "
    remarks = (
        f"[{marking}] corridor {status.upper()}; {origin} -> {destination}; "
        f"{geodesic_length_km(geom):.1f} km; {window}"
        + (f"notes: {row['notes']}; " if _present(row.get("notes")) else "")
        + _provenance(row)
    )
    ET.SubElement(detail, "remarks").text = remarks.strip("; ")
    return CotEvent(uid=uid, kind="corridor", element=ev)


def shelter_event(row: dict[str, Any], geom: Any, *, now: pd.Timestamp, stale: pd.Timestamp,
                  marking: str) -> CotEvent:
    """The ``b-m-p-s-m`` marker event of one shelter (a Point in lon/lat)."""
    if geom is None or geom.is_empty:
        raise ExportError(f"shelter {row.get('id')!r}: no geometry")
    pt = geom if geom.geom_type == "Point" else geom.representative_point()
    uid = f"cimic.shelter.{safe_id(row['id'])}"
    ev, detail = _event(uid, "b-m-p-s-m", lat=pt.y, lon=pt.x, now=now, stale=stale)
    status = str(row.get("status") or "")
    colour = _ARGB[SHELTER_COLOURS.get(status, "grey")]
    ET.SubElement(detail, "status", {"readiness": "true"})
    ET.SubElement(detail, "archive")
    ET.SubElement(detail, "contact", {"callsign": str(row.get("name") or row["id"])})
    ET.SubElement(detail, "color", {"argb": str(colour)})
    ET.SubElement(detail, "usericon", {"iconsetpath": f"COT_MAPPING_SPOTMAP/b-m-p-s-m/{colour}"})
    occ = row.get("occupancy")
    cap = row.get("capacity")
    occupancy = f"{int(occ)}/{int(cap)}" if _present(occ) and _present(cap) else (
        f"?/{int(cap)}" if _present(cap) else "?")
    access = "" if not _present(row.get("accessible")) else (
        "step-free; " if bool(row["accessible"]) else "not step-free; ")
    remarks = (
        f"[{marking}] shelter {str(row.get('kind') or '').replace('_', ' ')}; status {status.upper()}; "
        f"occupancy {occupancy}; {access}MGRS {to_mgrs(pt.y, pt.x)}; "
        + (f"address {row['address']}; " if _present(row.get("address")) else "")
        + _provenance(row)
    )
    ET.SubElement(detail, "remarks").text = remarks.strip("; ")
    return CotEvent(uid=uid, kind="shelter", element=ev)


def build_events(loaded: LoadedView, *, now: pd.Timestamp | None = None, stale_hours: float = 24.0) -> list[CotEvent]:
    """Route events for the visible corridors, then marker events for the visible shelters.

    Raises
    ------
    ExportError
        When neither corridors nor shelters are visible, or none are in the view.
    """
    if "corridors" not in loaded.frames and "shelters" not in loaded.frames:
        raise ExportError("TAK export needs the corridors or shelters layer among the visible layers")
    now = to_utc(now) if now is not None else pd.Timestamp.now(tz="UTC")
    if not (stale_hours > 0):
        raise ExportError(f"stale time must be positive hours, got {stale_hours!r}")
    stale = now + timedelta(hours=float(stale_hours))
    events: list[CotEvent] = []
    for name, build in (("corridors", corridor_event), ("shelters", shelter_event)):
        gdf: gpd.GeoDataFrame | None = loaded.frames.get(name)
        if gdf is None or not len(gdf):
            continue
        records = gdf.drop(columns=gdf.geometry.name).astype("object").to_dict("records")
        for row, geom in zip(records, gdf.geometry.values, strict=True):
            events.append(build(row, geom, now=now, stale=stale, marking=loaded.marking))
    if not events:
        raise ExportError("empty view: no corridors or shelters to send to TAK in this view")
    return events


def _xml_bytes(element: ET.Element) -> bytes:
    buf = io.BytesIO()
    ET.ElementTree(element).write(buf, encoding="utf-8", xml_declaration=True)
    return buf.getvalue()


def cot_document(events: list[CotEvent]) -> bytes:
    """``<events>`` with every event (UTF-8 XML)."""
    root = ET.Element("events")
    root.extend(e.element for e in events)
    return _xml_bytes(root)


def manifest(events: list[CotEvent], *, package_uid: str, name: str) -> bytes:
    """``MANIFEST/manifest.xml`` (MissionPackageManifest version 2) listing every ``.cot`` entry."""
    root = ET.Element("MissionPackageManifest", {"version": "2"})
    conf = ET.SubElement(root, "Configuration")
    ET.SubElement(conf, "Parameter", {"name": "uid", "value": package_uid})
    ET.SubElement(conf, "Parameter", {"name": "name", "value": name})
    contents = ET.SubElement(root, "Contents")
    for e in events:
        content = ET.SubElement(contents, "Content", {"ignore": "false", "zipEntry": f"{e.uid}/{e.uid}.cot"})
        ET.SubElement(content, "Parameter", {"name": "uid", "value": e.uid})
    return _xml_bytes(root)


def write_cot(loaded: LoadedView, out: str | os.PathLike, *, now: pd.Timestamp | None = None,
              stale_hours: float = 24.0) -> Path:
    """Write the CoT XML file (``<events>`` root)."""
    data = cot_document(build_events(loaded, now=now, stale_hours=stale_hours))
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)
    return Path(out)


def write_data_package(loaded: LoadedView, out: str | os.PathLike, *, now: pd.Timestamp | None = None,
                       stale_hours: float = 24.0) -> Path:
    """Write a TAK data package: a zip with ``MANIFEST/manifest.xml`` and ``<uid>/<uid>.cot`` files."""
    events = build_events(loaded, now=now, stale_hours=stale_hours)
    target = Path(out)
    package_uid = f"cimic.package.{target.stem}"
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("MANIFEST/manifest.xml", manifest(events, package_uid=package_uid, name=target.name))
        for e in events:
            zf.writestr(f"{e.uid}/{e.uid}.cot", _xml_bytes(e.element))
    return target
