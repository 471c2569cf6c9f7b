"""Spreadsheets of the CIMIC layers: the template of each layer, writing it, reading a filled one.

Liaison officers keep evacuation requests, civil assessments and partner (3W) lists in
spreadsheets. Each layer has a fixed template: one header row of column names (the schema's
names), one row per record. Geometry comes from the store where it can (an assessment sits on its
settlement; a partner's area is its settlements' points unless a polygon is given as WKT; an
evacuation's pickup point is ``lat``/``lon`` or its settlement). Reading keeps the sheet's own row
numbers so that every problem names the row the user sees.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd

from cimic_geo.errors import Problem, ValidationError
from cimic_geo.i18n import N_, _
from cimic_geo.schema import get_layer

#: Layers imported from spreadsheets.
SHEET_LAYERS = ("evacuations", "assessments", "partners")
SHEET_FORMATS = (".xlsx", ".csv")
#: At most this many data rows in one sheet (a larger file is refused before anything is read).
MAX_ROWS = 200_000
MAX_BYTES = 50_000_000

#: Columns managed by the program, not filled in a spreadsheet.
_MANAGED = {
    "partners": ("id", "valid_to"),
    "evacuations": ("version", "updated_by", "updated_at"),
    "assessments": (),
}
#: Geometry columns of the template (not schema columns).
_GEOMETRY = {
    "evacuations": (("lat", N_("pickup latitude, decimal degrees (blank: the settlement's point)")),
                    ("lon", N_("pickup longitude, decimal degrees (blank: the settlement's point)"))),
    "partners": (("area_wkt", N_("area of operation as a WKT polygon in lon/lat (blank: the listed settlements)")),),
    "assessments": (),
}
#: Columns that must name rows of another layer: column -> layer.
REFERENCES = {
    "evacuations": {"settlement_id": "settlements", "destination_shelter_id": "shelters", "corridor_id": "corridors"},
    "assessments": {"settlement_id": "settlements"},
    "partners": {"settlement_ids": "settlements"},
}
#: Template columns that are required although optional in the schema, or optional although required.
_OPTIONAL = {"assessments": ("id",), "partners": ("valid_from",), "evacuations": ()}


@dataclass(frozen=True)
class SheetColumn:
    """One column of a template."""

    name: str
    required: bool
    help: str
    choices: tuple[str, ...] = ()


def sheet_columns(layer: str) -> tuple[SheetColumn, ...]:
    """The template columns of ``layer`` in order: schema columns, geometry columns, provenance."""
    if layer not in SHEET_LAYERS:
        raise ValidationError(_("no spreadsheet template for layer '{layer}'").format(layer=layer),
                              [Problem(None, "layer", _("expected one of: {choices}").format(
                                  choices=", ".join(SHEET_LAYERS)))])
    spec = get_layer(layer)
    out = [SheetColumn(c.name, c.required and c.name not in _OPTIONAL[layer], c.description or c.name,
                       tuple(c.choices or ()))
           for c in spec.columns if c.name not in _MANAGED[layer]]
    out += [SheetColumn(name, False, _(text)) for name, text in _GEOMETRY[layer]]
    out += [SheetColumn(c.name, False, c.description) for c in spec.provenance]
    return tuple(out)


def column_letter(index: int) -> str:
    """Spreadsheet letter of a 0-based column index (0 -> A, 26 -> AA)."""
    s = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        s = chr(65 + rem) + s
    return s


# ----------------------------------------------------------------------------------------------
# Templates
# ----------------------------------------------------------------------------------------------


def template_bytes(layer: str, fmt: str = "xlsx") -> bytes:
    """The empty template of ``layer`` as ``xlsx`` (header, drop-down lists, a help sheet) or ``csv``."""
    cols = sheet_columns(layer)
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([c.name for c in cols])
        return buf.getvalue().encode("utf-8")
    if fmt != "xlsx":
        raise ValidationError(_("unknown template format '{format}'").format(format=fmt),
                              [Problem(None, "format", _("expected xlsx or csv"))])
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = layer
    ws.append([c.name for c in cols])
    for i, c in enumerate(cols):
        cell = ws.cell(row=1, column=i + 1)
        cell.font = Font(bold=True)
        ws.column_dimensions[column_letter(i)].width = max(12, len(c.name) + 2)
        if c.choices:
            # the list is the schema's fixed enumeration (never user text)
            dv = DataValidation(type="list", formula1='"' + ",".join(c.choices) + '"', allow_blank=True)
            dv.error = _("one of: {choices}").format(choices=", ".join(c.choices))
            ws.add_data_validation(dv)
            dv.add(f"{column_letter(i)}2:{column_letter(i)}{MAX_ROWS}")
    ws.freeze_panes = "A2"
    help_ws = wb.create_sheet("help")
    help_ws.append([_("column"), _("required"), _("allowed values"), _("meaning")])
    for c in cols:
        help_ws.append([c.name, _("yes") if c.required else "", ", ".join(c.choices), c.help])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_template(layer: str, path: str | Path) -> Path:
    """Write the template of ``layer`` to ``path`` (format from the suffix, ``.xlsx`` or ``.csv``)."""
    p = Path(path)
    fmt = p.suffix.lower().lstrip(".")
    data = template_bytes(layer, fmt)
    p.write_bytes(data)
    return p


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


@dataclass
class Sheet:
    """The records of a spreadsheet.

    Attributes
    ----------
    frame : one row per record, columns named as in the header (stripped), values as read
        (text, numbers, dates); index = the sheet's row number of the record
    header_row : the sheet row of the header
    name : file name for messages and provenance
    """

    frame: pd.DataFrame
    header_row: int
    name: str


def _fail(name: str, message: str, *, row: int | None = None, column: str | None = None) -> ValidationError:
    return ValidationError(_("cannot read {name}: {reason}").format(name=name, reason=message),
                           [Problem(row, column, message)])


def _cell(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return text or None
    if isinstance(value, (datetime, date)) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value


def _records(rows: list[list[object]], name: str) -> Sheet:
    """Header = first non-empty row; records = later non-empty rows (sheet row numbers kept)."""
    header_at = next((i for i, r in enumerate(rows) if any(v is not None for v in r)), None)
    if header_at is None:
        raise _fail(name, _("the sheet is empty (no header row)"))
    raw_header = rows[header_at]
    while raw_header and raw_header[-1] is None:
        raw_header = raw_header[:-1]
    header = []
    for j, h in enumerate(raw_header):
        if h is None:
            raise _fail(name, _("column {column} has no name in the header row").format(column=column_letter(j)),
                        row=header_at + 1, column=column_letter(j))
        header.append(str(h).strip())
    body, index = [], []
    width = len(header)
    for i in range(header_at + 1, len(rows)):
        rec = rows[i]
        extra = [v for v in rec[width:] if v is not None]
        if extra:
            raise _fail(name, _("row {row} has values right of the last named column {column}").format(
                row=i + 1, column=column_letter(width - 1)), row=i + 1, column=column_letter(width))
        rec = (list(rec) + [None] * width)[:width]
        if all(v is None for v in rec):
            continue
        body.append(rec)
        index.append(i + 1)
    if len(body) > MAX_ROWS:
        raise _fail(name, _("{n} rows; at most {max} per sheet").format(n=len(body), max=MAX_ROWS))
    frame = pd.DataFrame(body, columns=header, index=pd.Index(index, name="row"), dtype=object)
    return Sheet(frame=frame, header_row=header_at + 1, name=name)


def _read_xlsx(p: Path, name: str, sheet: str | None) -> Sheet:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(p) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise _fail(name, _("not an .xlsx workbook (the file is not a zip archive)")) from None
    if total > 20 * MAX_BYTES:
        raise _fail(name, _("the workbook expands to {n} bytes; too large").format(n=total))
    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise _fail(name, _("not a readable .xlsx workbook ({error})").format(error=type(exc).__name__)) from None
    try:
        if sheet is not None:
            if sheet not in wb.sheetnames:
                raise _fail(name, _("no sheet '{sheet}'; sheets: {sheets}").format(sheet=sheet,
                                                                                   sheets=", ".join(wb.sheetnames)))
            ws = wb[sheet]
        else:
            ws = wb.worksheets[0]
        rows = []
        for k, r in enumerate(ws.iter_rows(values_only=True)):
            if k > MAX_ROWS + 1000:
                raise _fail(name, _("more than {max} rows; at most {max} per sheet").format(max=MAX_ROWS))
            rows.append([_cell(v) for v in r])
    finally:
        wb.close()
    return _records(rows, name)


def _read_csv(p: Path, name: str) -> Sheet:
    raw = p.read_bytes()
    if b"\x00" in raw:
        raise _fail(name, _("the file contains NUL bytes; it is not a text CSV"))
    text = None
    for enc in ("utf-8-sig", "cp1251"):
        with contextlib.suppress(UnicodeDecodeError):
            text = raw.decode(enc)
            break
    if text is None:
        text = raw.decode("latin-1")
    try:
        sep = csv.Sniffer().sniff(text[:20000], delimiters=",;\t").delimiter
    except csv.Error:
        sep = ","
    try:
        rows = [[_cell(v) for v in r] for r in csv.reader(io.StringIO(text), delimiter=sep)]
    except csv.Error as exc:
        raise _fail(name, _("not a readable CSV file ({error})").format(error=exc)) from None
    return _records(rows, name)


def read_sheet(path: str | Path, *, name: str | None = None, sheet: str | None = None) -> Sheet:
    """Read a ``.xlsx`` workbook (first sheet, or ``sheet``) or a ``.csv`` file.

    Raises
    ------
    ValidationError
        When the file cannot be read as a spreadsheet at all.
    """
    p = Path(path)
    label = name or p.name
    ext = (Path(name).suffix if name else p.suffix).lower()
    if not p.is_file():
        raise _fail(label, _("file not found"))
    if ext not in SHEET_FORMATS:
        raise _fail(label, _("unsupported file type '{ext}'; expected .xlsx or .csv").format(
            ext=ext or _("(none)")))
    size = p.stat().st_size
    if size == 0:
        raise _fail(label, _("the file is empty"))
    if size > MAX_BYTES:
        raise _fail(label, _("the file has {n} bytes; at most {max}").format(n=size, max=MAX_BYTES))
    return _read_xlsx(p, label, sheet) if ext == ".xlsx" else _read_csv(p, label)


def normalise_header(name: str) -> str:
    """Header cell -> column name: lower case, spaces and dashes as ``_`` (``Water status`` -> ``water_status``)."""
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())
