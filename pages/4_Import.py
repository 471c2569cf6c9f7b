"""Import real-world layers: upload, pick the layer, check the validation report and preview, commit."""

import streamlit as st

from cimic_geo.errors import CimicError
from cimic_geo.i18n import _, fmt_int
from cimic_geo.ingest import DEFAULT_EXTENT, MODES
from cimic_geo.ingest.sheets import SHEET_LAYERS
from cimic_geo.schema import HISTORY_LAYERS, LAYERS
from cimic_geo.ui import import_page as ui
from cimic_geo.ui.common import page_setup

store = page_setup("Import")
st.title(_("Import data"))
st.caption(_("GeoJSON, GeoPackage, zipped Shapefile, KML or CSV (lat/lon or WKT). Nothing is written until "
             "you commit, and then all in one transaction."))

done = st.session_state.pop(ui.k("done"), None)
if done:
    ui.done_ui(*done)

with st.sidebar:
    layer = st.selectbox(_("Layer"), [n for n in LAYERS if n not in SHEET_LAYERS],
                         format_func=lambda n: _(LAYERS[n].title) if LAYERS[n].title else n, key=ui.k("layer"))
    st.caption(_("Evacuations, civil assessments and partners come from their spreadsheet templates: "
                 "import them on the Evacuations, Civil assessments and Partners pages."))
    mode = st.radio(_("Mode"), MODES, horizontal=True, key=ui.k("mode"),
                    help=_("append: new rows only · upsert: replace rows with the same id · replace: the layer "
                           "becomes the file (history: the file's dates)"))
    source = st.text_input(_("Source"), key=ui.k("source"), placeholder=_("e.g. Kharkiv city administration"))
    reliability = st.text_input(_("Reliability (admiralty code)"), key=ui.k("reliability"), placeholder=_("e.g. B2"))
    reported_at = st.text_input(_("Reported at (UTC, ISO 8601)"), key=ui.k("reported_at"), placeholder=_("default: now"))
    only_valid = st.checkbox(_("Write only the valid rows (reject the others)"), key=ui.k("only_valid"))
    marking_options = ui.marking_ui(store)

history = layer in HISTORY_LAYERS
files = st.file_uploader(
    _("Snapshot files (one per date; the date comes from the file name or a date property)") if history
    else _("File"),
    type=ui.UPLOAD_TYPES, accept_multiple_files=history, key=ui.uploader_key(history),
)
files = (files or []) if history else ([files] if files else [])
if not files:
    ui.discard_uploads()
    st.info(_("Upload a file to see its validation report and a preview. The CLI does the same: `{command}`.")
            .format(command="python -m cimic_geo import LAYER FILE --dry-run"))
    st.stop()

paths = ui.save_uploads(files)
options: dict = {"mode": mode, "source": source or None, "reliability": reliability or None,
                 "reported_at": reported_at or None, "only_valid": only_valid, "extent": DEFAULT_EXTENT,
                 **marking_options}
try:
    if history and layer == "occupied_area":
        options.update(ui.territory_ui(store))
    else:
        columns = [c for c in ui.source_for(paths[0]).frame.columns if c != "geometry"]
        with st.expander(_("Column mapping (matched automatically; edit if needed)"), expanded=True):
            options["mapping"] = ui.mapping_editor_ui(layer, columns, paths[0].parent.name)
            options["defaults"] = ui.parse_defaults(st.text_input(
                _("Default values for empty fields (FIELD=VALUE, comma separated)"), key=ui.k("defaults"),
                placeholder="status=open, capacity=0"))
            options["value_maps"] = ui.parse_value_maps(st.text_input(
                _("Value maps (JSON), e.g. {example}").format(example='{"status": {"successful": "closed"}}'),
                key=ui.k("values")))
    prepared = ui.prepared_for(store, layer, paths, options)
except CimicError as exc:
    ui.error_ui(exc)
    st.stop()

report = prepared.report
ui.report_ui(report)
ui.front_ui(report)
ui.preview_ui(prepared)
blocked = store.read_only or not report.can_commit
if store.read_only:
    st.warning(_("The store is open read-only (CIMIC_READ_ONLY); imports are disabled."))
elif report.errors and not report.can_commit:
    st.warning(_("Nothing can be written while there are errors. Fix the file or the mapping, or choose "
                 "'Write only the valid rows'."))
if st.button(_("Commit {n} record(s) to {layer}").format(n=fmt_int(report.rows_valid), layer=layer),
             type="primary", disabled=blocked,
             key=ui.k("commit")):
    try:
        result = ui.commit(store, prepared)
    except CimicError as exc:
        ui.error_ui(exc)
    else:
        kept = ui.keep_territory(store, options.get("border_path"))
        ui.forget_prepared()
        ui.finish_upload()
        written = ", ".join(f"{n:,} {name}" for name, n in result.written.items())
        message = _("Imported {written} ({mode}); {kind} data, marked {marking}.").format(
            written=written, mode=mode, kind=_(result.kind), marking=result.marking)
        if kept:
            message += " " + _("State territory kept for later imports: {name}.").format(name=kept)
        st.session_state[ui.k("done")] = (message, ui.warning_lines(result))
        st.rerun()
