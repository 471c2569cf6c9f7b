"""Spreadsheet panel shared by the evacuations, assessments and partners pages: template downloads
and the import of a filled template (validated in full; nothing written unless every row is valid).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from cimic_geo.errors import CimicError, ValidationError
from cimic_geo.i18n import _, fmt_int
from cimic_geo.ingest.sheets import template_bytes
from cimic_geo.ingest.spreadsheet import import_sheet
from cimic_geo.schema import LAYERS
from cimic_geo.store import Store
from cimic_geo.ui.common import clear_caches, plain
from cimic_geo.ui.common import key as _key
from cimic_geo.ui.import_page import marking_ui
from cimic_geo.ui.layer_page import writer
from cimic_geo.ui.tables import display_frame

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def problems_frame(problems: list) -> pd.DataFrame:
    return pd.DataFrame([{"row": p.row, "column": p.field, "severity": p.severity, "message": p.message}
                         for p in problems], columns=["row", "column", "severity", "message"])


def _layer_title(layer: str) -> str:
    """The layer's title in the current language (``evacuations`` -> "Evacuations" / "Евакуації")."""
    return _(LAYERS[layer].title) if layer in LAYERS and LAYERS[layer].title else layer


def template_buttons(layer: str, page: str) -> None:
    """Download buttons for the layer's empty template (XLSX with drop-down lists, and CSV)."""
    c1, c2 = st.columns(2)
    c1.download_button(_("{layer} template (XLSX)").format(layer=_layer_title(layer)), template_bytes(layer, "xlsx"), file_name=f"{layer}_template.xlsx",
                       mime=XLSX_MIME, key=_key(page, f"tpl_xlsx_{layer}"))
    c2.download_button(_("{layer} template (CSV)").format(layer=_layer_title(layer)), template_bytes(layer, "csv"), file_name=f"{layer}_template.csv",
                       mime="text/csv", key=_key(page, f"tpl_csv_{layer}"))


def sheet_import_panel(store: Store, layer: str, *, page: str) -> None:
    """An expander with the templates and, for editors on a writable store, the spreadsheet import."""
    with st.expander(_("Spreadsheet: template and import ({layer})").format(layer=_layer_title(layer))):
        st.caption(_("Fill the template (one row per record; the help sheet lists the columns and allowed values) "
                     "and import it here or with `{command}`. The whole file is checked first: any error and "
                     "nothing is written.").format(command=f"python -m cimic_geo import {layer} FILE.xlsx"))
        template_buttons(layer, page)
        actor = writer(store, "import", action=_("Imports"))
        if actor is None:
            return
        up = st.file_uploader(_("Filled template (.xlsx or .csv)"), type=["xlsx", "csv"], key=_key(page, f"up_{layer}"))
        rel = st.text_input(_("Reliability for rows without one (admiralty code, e.g. B2)"), value="",
                            key=_key(page, f"rel_{layer}"))
        marking = marking_ui(store, key=lambda name: _key(page, f"{name}_{layer}"))
        if up is None or not st.button(_("Check and import"), key=_key(page, f"go_{layer}")):
            return
        suffix = ".xlsx" if up.name.lower().endswith(".xlsx") else ".csv"
        with tempfile.TemporaryDirectory(prefix="cimic-sheet-") as tmp:
            path = Path(tmp) / f"upload{suffix}"  # never the user's file name on disk
            path.write_bytes(up.getvalue())
            try:
                report = import_sheet(store, layer, path, name=up.name, actor=actor, reliability=rel.strip() or None,
                                      **marking)
            except ValidationError as exc:
                st.error(plain(exc.message))
                st.dataframe(display_frame(problems_frame(exc.problems)), hide_index=True, width="stretch")
                return
            except CimicError as exc:
                st.error(plain(str(exc).splitlines()[0]))
                return
        clear_caches()
        st.success(plain(_("Imported {n} row(s) into {layer} from {file}.").format(
            n=fmt_int(sum(report.written.values())), layer=layer, file=up.name)))
        if report.problems:
            st.dataframe(display_frame(problems_frame(report.problems)), hide_index=True, width="stretch")
