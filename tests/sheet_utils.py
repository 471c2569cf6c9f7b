"""Writing small spreadsheets (XLSX or CSV, by the file's suffix) for the spreadsheet import tests."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import openpyxl


def write_sheet(path: Path, header: list[str], rows: list[list]) -> Path:
    """A one-sheet workbook (``.xlsx``) or a UTF-8 CSV with ``header`` and ``rows``; returns ``path``."""
    if path.suffix == ".xlsx":
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(header)
        for r in rows:
            ws.append(r)
        wb.save(path)
    else:
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows([["" if v is None else (v.isoformat() if isinstance(v, datetime) else v) for v in r]
                         for r in rows])
    return path
