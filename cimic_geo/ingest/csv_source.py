"""CSV files with lat/lon or WKT columns: encoding, separator, cells, geometry.

Why Python's :mod:`csv` and not GDAL's CSV driver (through pyogrio): the driver assumes UTF-8
and has no notion of a stray byte, so a legacy Windows-1251 file comes out garbled and a
UTF-8 file with one bad byte cannot be reported by record and field. Here the bytes are
decoded first (:func:`decode_text`), every cell that held a bad byte becomes an error naming
its record and column, and the geometry is then built in one vectorised step
(``shapely.from_wkt`` / ``shapely.points``) — on 100,000 rows that is as fast as the driver
(see ``bench/bench_csv_import.py``).

Encoding rule: strict UTF-8 (with or without BOM; UTF-16 with a BOM) first. Bytes that are not
UTF-8 are read as Windows-1251 only when the file has no more valid UTF-8 multi-byte characters
than twice its invalid bytes (a real legacy file has hardly any of the first and very many of the
second); otherwise the file is UTF-8 with stray bytes and each affected cell is an error.
Reading a file as Windows-1251 is reported as a warning.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cimic_geo.errors import Problem, ValidationError
from cimic_geo.i18n import _

WGS84 = "EPSG:4326"

_LAT_NAMES = ("lat", "latitude", "y", "lat_dd", "latitude_dd", "широта", "y_coord", "ycoord")
_LON_NAMES = ("lon", "lng", "long", "longitude", "x", "lon_dd", "longitude_dd", "довгота", "x_coord", "xcoord")
_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "geometry_wkt", "wkt_geom")
_WKT_START = re.compile(r"^\s*(SRID=\d+;)?\s*(MULTI)?(POINT|LINESTRING|POLYGON)|^\s*GEOMETRYCOLLECTION", re.I)
_SURROGATE = re.compile("[\udc80-\udcff]")

#: Largest CSV field read (characters); the csv module's default of 131,072 is smaller than the
#: WKT of a detailed polygon.
MAX_FIELD = 256 * 1024 * 1024


def _fail(name: str, message: str) -> ValidationError:
    return ValidationError(_("cannot read {name}: {reason}").format(name=name, reason=message),
                           [Problem(None, None, message)])


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-zа-яіїєґ]+", "_", str(name).strip().lower()).strip("_")


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode a text file; return ``(text, encoding)``.

    ``encoding`` is ``"utf-8"``, ``"utf-16"``, ``"cp1251"`` or ``"utf-8-stray"``; in the last case
    each invalid byte is kept as a lone surrogate (``U+DC80``-``U+DCFF``, Python's
    ``surrogateescape``) so that the caller can name the cell that holds it.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        with contextlib.suppress(UnicodeDecodeError):
            return raw.decode("utf-16"), "utf-16"
    with contextlib.suppress(UnicodeDecodeError):
        return raw.decode("utf-8-sig"), "utf-8"
    text = raw.decode("utf-8-sig", errors="surrogateescape")
    stray = len(_SURROGATE.findall(text))
    good = sum(1 for ch in text if ch > "\x7f") - stray
    if good > 2 * stray:
        return text, "utf-8-stray"
    try:
        return raw.decode("cp1251"), "cp1251"
    except UnicodeDecodeError:  # 0x98 is the one byte Windows-1251 leaves undefined
        return raw.decode("cp1251", errors="replace"), "cp1251"


def _stray_bytes(value: str) -> str:
    return ", ".join(f"0x{ord(c) - 0xDC00:02x}" for c in _SURROGATE.findall(value)[:4])


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, limit))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def parse_numbers(values: pd.Series) -> np.ndarray:
    """Coordinates as floats (NaN where not a number): spaces and no-break spaces dropped, one
    decimal comma accepted (``"49,5"``)."""
    text = values.astype("string").str.strip().str.replace("\u00a0", "", regex=False).str.replace(" ", "",
                                                                                                 regex=False)
    comma = (text.str.count(",") == 1) & ~text.str.contains(".", regex=False)
    text = text.where(~comma.fillna(False), text.str.replace(",", ".", regex=False))
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _records(text: str, label: str) -> tuple[list[list[str]], str]:
    sample = text[:20000]
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        with _field_limit(MAX_FIELD):
            records = [r for r in reader if any(v.strip() for v in r)]
    except csv.Error as exc:
        raise _fail(label, _("line {line}: {reason}").format(line=reader.line_num, reason=exc)) from None
    return records, sep


def read_csv(p: Path, label: str, *, lat_column: str | None, lon_column: str | None,
             wkt_column: str | None) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read a CSV file into a frame in EPSG:4326 and the problems met (rows are 1-based records)."""
    problems: list[Problem] = []
    raw = p.read_bytes()
    if raw.count(b"\x00") > max(16, len(raw) // 20):
        raise _fail(label, _("the file is mostly NUL bytes: not a text CSV (UTF-16 without a byte-order mark, "
                             "or a binary file)"))
    text, encoding = decode_text(raw)
    if encoding == "cp1251":
        problems.append(Problem(None, None, _("the file is not UTF-8; read as Windows-1251 (Cyrillic)"), "warning"))
    records, _sep = _records(text, label)
    if not records:
        raise _fail(label, _("the file has no header line"))
    header = [h.strip() for h in records[0]]
    if any(_SURROGATE.search(h) for h in header):
        raise _fail(label, _("the header line has bytes that are not valid UTF-8 ({bytes}); save the file as "
                             "UTF-8").format(bytes=_stray_bytes("".join(header))))
    body = []
    for i, rec in enumerate(records[1:], start=1):
        if len(rec) != len(header):
            problems.append(Problem(i, None, _("{n} fields, the header has {header} (a separator inside an "
                                               "unquoted value?)").format(n=len(rec), header=len(header))))
            rec = (rec + [""] * len(header))[: len(header)]
        if encoding == "utf-8-stray":
            for col, v in zip(header, rec, strict=True):
                if _SURROGATE.search(v):
                    problems.append(Problem(i, col, _("bytes that are not valid UTF-8 ({bytes}) in an otherwise "
                                                      "UTF-8 file; fix the value or save the file as UTF-8")
                                            .format(bytes=_stray_bytes(v))))
            rec = [_SURROGATE.sub("\ufffd", v) for v in rec]
        body.append([v if v.strip() else None for v in rec])
    df = pd.DataFrame(body, columns=header, dtype=object)
    if df.columns.duplicated().any():
        dup = df.columns[df.columns.duplicated()].tolist()
        raise _fail(label, _("duplicate column names {names}").format(names=dup))
    geoms, geom_cols = _geometry(df, label, problems, lat_column=lat_column, lon_column=lon_column,
                                 wkt_column=wkt_column)
    attrs = df.drop(columns=geom_cols)
    return gpd.GeoDataFrame(attrs, geometry=gpd.GeoSeries(geoms, crs=WGS84), crs=WGS84), problems


def _geometry(df: pd.DataFrame, label: str, problems: list[Problem], *, lat_column: str | None,
              lon_column: str | None, wkt_column: str | None) -> tuple[np.ndarray, list[str]]:
    cols = {_norm(c): c for c in df.columns}

    def pick(explicit: str | None, names: tuple[str, ...]) -> str | None:
        if explicit:
            if explicit not in df.columns:
                raise _fail(label, _("no column '{column}'; columns: {columns}").format(
                    column=explicit, columns=", ".join(map(str, df.columns))))
            return explicit
        return next((cols[n] for n in names if n in cols), None)

    lat = pick(lat_column, _LAT_NAMES)
    lon = pick(lon_column, _LON_NAMES)
    wkt = pick(wkt_column, _WKT_NAMES)
    if wkt is None and (lat is None or lon is None):
        for c in df.columns:  # a column whose values look like WKT
            vals = df[c].dropna().astype(str).head(20)
            if len(vals) and vals.map(lambda v: bool(_WKT_START.match(v))).all():
                wkt = c
                break
    geoms = np.full(len(df), None, dtype=object)
    if wkt is not None and not (lat_column and lon_column):
        text = df[wkt].astype("string").str.replace(r"^\s*SRID=\d+;", "", regex=True)
        present = (text.notna() & (text.str.strip() != "")).to_numpy(dtype=bool, na_value=False)
        values = text.to_numpy(dtype=object, na_value=None)
        parsed = shapely.from_wkt(values[present], on_invalid="ignore")
        geoms[present] = parsed
        for i in np.flatnonzero(present)[shapely.is_missing(parsed)]:
            try:
                shapely.from_wkt(values[i])
                message = _("cannot parse WKT")
            except Exception as exc:  # shapely.errors.GEOSException
                message = _("cannot parse WKT: {reason}").format(reason=str(exc).strip().splitlines()[0][:200])
            problems.append(Problem(int(i) + 1, wkt, message))
        return geoms, [wkt]
    if lat is None or lon is None:
        raise _fail(label, _("no geometry columns: expected lat/lon (latitude/longitude, y/x) or a WKT column "
                             "(name others with the lat/lon/WKT column options, CLI --lat-column/--lon-column/"
                             "--wkt-column); columns are {columns}").format(columns=", ".join(map(str, df.columns))))
    ys = parse_numbers(df[lat])
    xs = parse_numbers(df[lon])
    ok = np.isfinite(xs) & np.isfinite(ys)
    geoms[ok] = shapely.points(xs[ok], ys[ok])
    for c, vals in ((lon, xs), (lat, ys)):
        raw = df[c].to_numpy(dtype=object)
        for i in np.flatnonzero(~np.isfinite(vals) & pd.notna(raw)):
            problems.append(Problem(int(i) + 1, c, _("not a number: {value}").format(value=repr(str(raw[i])[:40]))))
    return geoms, [lat, lon]
