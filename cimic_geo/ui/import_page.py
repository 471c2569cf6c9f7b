"""Import page plumbing: uploads to private files, the mapping editor, report, preview, commit.

Pure helpers (:func:`save_uploads`, :func:`mapping_table`, :func:`mapping_from_table`,
:func:`parse_defaults`, :func:`problems_frame`, :func:`prepare`, :func:`commit`) carry the logic and
are tested directly; the ``*_ui`` functions only draw.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from cimic_geo.config import is_exercise_marking, markings
from cimic_geo.errors import CimicError, ConflictError, ValidationError
from cimic_geo.i18n import _, fmt_int, get_language
from cimic_geo.ingest import (
    FORMATS,
    ImportReport,
    PreparedImport,
    SourceData,
    auto_mapping,
    border_from_frame,
    commit_import,
    prepare_import,
    read_source,
)
from cimic_geo.ingest.options import parse_defaults as parse_defaults  # the page's boxes: the CLI's parser
from cimic_geo.ingest.options import parse_value_maps as parse_value_maps
from cimic_geo.maps.preview import preview_map
from cimic_geo.schema import get_layer
from cimic_geo.store import Store
from cimic_geo.store.settings import get_territory, holdings, set_territory
from cimic_geo.timefmt import dtg
from cimic_geo.ui.common import clear_caches, plain
from cimic_geo.ui.common import key as _key
from cimic_geo.ui.sign_in import current_actor
from cimic_geo.ui.tables import display_frame

PAGE = "import"
UPLOAD_TYPES = sorted({e.lstrip(".") for e in FORMATS})


def k(name: str) -> str:
    """Session-state / widget key private to the Import page."""
    return _key(PAGE, name)


class Upload(Protocol):
    """What Streamlit's ``UploadedFile`` offers (and what tests fake)."""

    name: str

    def getvalue(self) -> bytes: ...


def _safe_name(name: str) -> str:
    base = Path(str(name)).name
    return re.sub(r"[^\w.\-]+", "_", base)[:120] or "upload"


#: Upload folders older than this (left by a server that was killed) are removed at the next upload.
STALE_UPLOAD_S = 24 * 3600


def _upload_root() -> Path:
    """``<tmp>/cimic_uploads_<uid>``: a folder only this user can enter (0700); stale session folders
    left in it by a killed server are removed."""
    root = Path(tempfile.gettempdir()) / f"cimic_uploads_{os.getuid()}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = root.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            raise OSError("not a private folder")
        if stat.S_IMODE(info.st_mode) != 0o700:
            root.chmod(0o700)
    except OSError:
        return Path(tempfile.mkdtemp(prefix="cimic_uploads_"))  # someone else holds the name: a fresh one
    now = time.time()
    for old in root.glob("session_*"):
        with contextlib.suppress(OSError):
            if now - old.lstat().st_mtime > STALE_UPLOAD_S:
                shutil.rmtree(old, ignore_errors=True)
    return root


class UploadFolder:
    """A private folder (0700, files 0600) holding one session's uploads.

    It is removed by :meth:`discard` (after a commit, when the upload is cancelled or replaced)
    and, failing that, when the object is garbage collected — Streamlit drops a session's state
    when the session ends — or when the server exits.
    """

    def __init__(self, signature: str) -> None:
        self.signature = signature
        self._tmp = tempfile.TemporaryDirectory(prefix="session_", dir=_upload_root(), ignore_cleanup_errors=True)
        self.path = Path(self._tmp.name)
        self.paths: list[Path] = []

    def write(self, name: str, data: bytes) -> Path:
        return _write_private(self.path / name, data)

    def discard(self) -> None:
        self._tmp.cleanup()


def _write_private(path: Path, data: bytes) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)
    return path


def _slots(state: MutableMapping[str, Any]) -> list[str]:
    return [key for key in list(state.keys()) if str(key).startswith(k("uploads:"))]


def save_uploads(files: Sequence[Upload], *, folder: Path | None = None, slot: str = "files",
                 state: MutableMapping[str, Any] | None = None) -> list[Path]:
    """Write uploaded files under their own (sanitised) names to a private folder; return the paths.

    The names matter: snapshot dates are read from them (``deepstatemap_data_20250801.geojson``).
    Without ``folder`` the files go to the session's :class:`UploadFolder` for ``slot`` (kept in
    ``state``, default ``st.session_state``): the same files are written once; other files replace
    them and the old folder is deleted.
    """
    blobs = [(_safe_name(f.name), f.getvalue()) for f in files]
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        return [_write_private(folder / name, data) for name, data in blobs]
    state = st.session_state if state is None else state
    digest = hashlib.sha256()
    for name, data in blobs:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    key = k(f"uploads:{slot}")
    held: UploadFolder | None = state.get(key)
    if held is not None and held.signature == digest.hexdigest() and all(p.exists() for p in held.paths):
        return list(held.paths)
    if held is not None:
        held.discard()
    held = UploadFolder(digest.hexdigest())
    held.paths = [held.write(name, data) for name, data in blobs]
    state[key] = held
    return list(held.paths)


def discard_uploads(state: MutableMapping[str, Any] | None = None) -> None:
    """Delete the session's uploaded files (after a commit, or when the upload is cancelled)."""
    state = st.session_state if state is None else state
    for key in _slots(state):
        held = state.pop(key, None)
        if isinstance(held, UploadFolder):
            held.discard()


def upload_folders(state: MutableMapping[str, Any] | None = None) -> list[Path]:
    """The session's upload folders (one per slot)."""
    state = st.session_state if state is None else state
    return [held.path for key in _slots(state) if isinstance(held := state[key], UploadFolder)]


def uploader_key(history: bool, state: MutableMapping[str, Any] | None = None) -> str:
    """Widget key of the file uploader; it changes after a commit so that the uploader empties."""
    state = st.session_state if state is None else state
    return k(f"files:{history}:{state.get(k('upload_round'), 0)}")


def finish_upload(state: MutableMapping[str, Any] | None = None) -> None:
    """After a commit: delete the uploaded files and start with an empty uploader."""
    state = st.session_state if state is None else state
    discard_uploads(state)
    state[k("upload_round")] = int(state.get(k("upload_round"), 0)) + 1


def mapping_table(layer: str, columns: Sequence[str], mapping: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows ``field, required, source column`` for the mapping editor (auto-matched unless given)."""
    spec = get_layer(layer)
    chosen = auto_mapping(spec, columns) if mapping is None else mapping
    rows = [{"field": c.name, "required": bool(c.required), "source column": chosen.get(c.name, "")}
            for c in spec.all_columns if c.name not in ("version", "updated_by", "updated_at")]
    return pd.DataFrame(rows)


def mapping_from_table(table: pd.DataFrame) -> dict[str, str]:
    """The ``{field: source column}`` mapping from an edited :func:`mapping_table`; blanks unmap."""
    out: dict[str, str] = {}
    for fld, col in zip(table["field"], table["source column"], strict=True):
        out[str(fld)] = "" if col is None or (isinstance(col, float) and pd.isna(col)) else str(col)
    return out


def problems_frame(report: ImportReport) -> pd.DataFrame:
    """The report's problems as a table (row, field, severity, message)."""
    rows = report.problem_rows()
    return pd.DataFrame(rows, columns=["row", "field", "severity", "message"]).astype({"row": "Int64"})


def load_sources(paths: Sequence[Path]) -> list[SourceData]:
    """Read the saved uploads (raises :class:`ValidationError` for an unreadable file)."""
    return [read_source(p) for p in paths]


def prepare(store: Store, layer: str, sources: Sequence[SourceData] | Sequence[Path], **options: Any
            ) -> PreparedImport:
    """Validate without writing (the page shows the result)."""
    spec = get_layer(layer)
    target: Any = list(sources) if spec.history else sources[0]
    return prepare_import(layer, target, store=store, **options)


def commit(store: Store, prepared: PreparedImport) -> ImportReport:
    """Write the prepared import in one transaction and forget cached query results.

    When a corridor changed since the preview (:class:`ConflictError`), the prepared import is
    dropped so that the next run validates the file again against the current versions.
    """
    try:
        report = commit_import(store, prepared, actor=current_actor())  # editors and admins only
    except ConflictError:
        forget_prepared()
        raise
    clear_caches()
    return report


def border_from_upload(path: Path | None) -> Any:
    """The state border polygon from an uploaded area file, or None."""
    if path is None:
        return None
    return border_from_frame(read_source(path).frame)


def keep_territory(store: Store, border_path: str | None) -> str | None:
    """After a commit: keep the uploaded state territory as the store's setting; its file name, or None."""
    if not border_path:
        return None
    path = Path(border_path)
    set_territory(store, border_from_upload(path), name=path.name, actor=current_actor())
    return path.name


def warning_lines(report: ImportReport) -> list[str]:
    """Every warning of a report as one line each (none truncated), for the message after a commit."""
    lines = []
    for p in report.warnings:
        where = ([_("record {row}").format(row=p.row)] if p.row is not None else []) + ([p.field] if p.field else [])
        lines.append(": ".join([*where, p.message]))
    return lines


def front_lengths(report: ImportReport) -> pd.DataFrame:
    """Per snapshot: date, derived front line (km, geodesic) and the whole outline of the occupied area."""
    rows = [{"valid_from": s["valid_from"], "file": s["file"], "front line km": round(float(s["front_km"]), 1),
             "outline km": round(float(s.get("boundary_km", s["front_km"])), 1)} for s in report.snapshots]
    return pd.DataFrame(rows, columns=["valid_from", "file", "front line km", "outline km"])


# ----------------------------------------------------------------------------------------------
# Drawing
# ----------------------------------------------------------------------------------------------


def marking_ui(store: Store, *, key: Callable[[str], str] = k) -> dict[str, Any]:
    """Exercise or real data, its marking (from the configured list) and, when it would mix the store's
    data kinds, the operator's confirmation; returns the import options (``key`` names the widgets)."""
    held = holdings(store)
    exercise = st.checkbox(_("The file holds exercise data"), key=key("exercise"),
                           help=_("File imports are real data unless marked as exercise."))
    options: dict[str, Any] = {"exercise": exercise, "marking": None, "allow_mixed": False}
    if not exercise:
        real = [m for m in markings() if not is_exercise_marking(m)]
        default = held.real_marking if held.real_marking in real else real[0]
        options["marking"] = st.selectbox(_("Marking of the real data"), real, index=real.index(default),
                                          key=key("marking"))
    if (not exercise and held.exercise) or (exercise and held.real):
        st.warning(_("This store holds {have} data. Importing {new} data mixes the two: banners, analytics and "
                     "exports then cover both. Prefer a new store for it.").format(
                         have=_("EXERCISE") if not exercise else _("real"), new=_("real") if not exercise else
                         _("exercise")))
        options["allow_mixed"] = st.checkbox(_("Mix them in this store anyway"), key=key("allow_mixed"))
    return options


def territory_ui(store: Store) -> dict[str, Any]:
    """The state territory for deriving the front line: the store's setting, or a new file (kept after the
    commit); without either, the operator must confirm a front from the outline alone."""
    kept = get_territory(store)
    options: dict[str, Any] = {"border_path": None, "allow_outline_front": False}
    if kept is not None:
        st.caption(_("State territory of this store: {name} (set by {who}, {when}). Coasts and state borders "
                     "are not front line.").format(name=kept.name, who=kept.updated_by, when=dtg(kept.updated_at)))
    label = (_("Replace the state territory (areas file: national outline or oblasts)") if kept is not None else
             _("State territory (areas file: national outline or oblasts); kept for later imports"))
    upload = st.file_uploader(label, type=UPLOAD_TYPES, key=k("border"))
    if upload is not None:
        options["border_path"] = str(save_uploads([upload], slot="border")[0])
    elif kept is None:
        st.warning(_("No state territory: the front line would be the whole outline of the occupied area, "
                     "coasts and state borders included."))
        options["allow_outline_front"] = st.checkbox(
            _("Derive the front line from the outline alone (coasts and borders included)"),
            key=k("allow_outline_front"))
    return options


def front_ui(report: ImportReport) -> None:
    """The derived front line's length per snapshot (drawn black on the preview map)."""
    table = front_lengths(report)
    if table.empty:
        return
    last = table.iloc[-1]
    st.metric(_("Derived front line (black on the map), geodesic"), _("{km} km").format(
        km=f"{last['front line km']:,.0f}"), help=_("Outline of the occupied area: {km} km").format(
            km=f"{last['outline km']:,.0f}"))
    if len(table) > 1:
        st.dataframe(display_frame(table), hide_index=True, width="stretch")


def done_ui(message: str, warnings: Sequence[str]) -> None:
    """The result of a commit and every warning of the import, each on its own line."""
    st.success(plain(message))
    if warnings:
        st.warning(_("Imported with {n} warning(s):").format(n=len(warnings)))
        st.markdown("\n".join(f"- {plain(w)}" for w in warnings))


# ----------------------------------------------------------------------------------------------
# Drawing
# ----------------------------------------------------------------------------------------------


def mapping_editor_ui(layer: str, columns: Sequence[str], file_key: str) -> dict[str, str]:
    """An editable mapping table (auto-matched); returns the mapping."""
    table = mapping_table(layer, columns)
    edited = st.data_editor(
        table,
        key=k(f"mapping:{layer}:{file_key}"),
        hide_index=True,
        disabled=["field", "required"],
        column_config={"source column": st.column_config.SelectboxColumn(options=["", *columns])},
        width="stretch",
    )
    return mapping_from_table(edited)


def report_ui(report: ImportReport) -> None:
    """Counts and the problem table."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(_("Records read"), fmt_int(report.rows_read))
    c2.metric(_("Valid"), fmt_int(report.rows_valid))
    c3.metric(_("Rejected"), fmt_int(report.rows_rejected))
    c4.metric(_("Errors / warnings"), f"{fmt_int(len(report.errors))} / {fmt_int(len(report.warnings))}")
    if report.snapshots:
        snaps = pd.DataFrame(report.snapshots)
        st.dataframe(display_frame(snaps), hide_index=True, width="stretch")
    if report.problems:
        st.dataframe(display_frame(problems_frame(report)), hide_index=True, width="stretch")
    elif report.rows_read:
        st.success(_("No problems found."))


def preview_ui(prepared: PreparedImport) -> None:
    """The preview map (valid records blue, rejected red)."""
    st_folium(preview_map(prepared.preview), key=k("preview"), height=450, use_container_width=True,
              returned_objects=[])


def error_ui(exc: CimicError) -> None:
    st.error(plain(str(exc).splitlines()[0]))
    if isinstance(exc, ValidationError) and exc.problems:
        st.dataframe(display_frame(pd.DataFrame([{"row": p.row, "field": p.field, "severity": p.severity,
                                                 "message": p.message} for p in exc.problems])), hide_index=True, width="stretch")


def prepared_for(store: Store, layer: str, paths: Sequence[Path], options: dict[str, Any]) -> PreparedImport:
    """:func:`prepare` once per (files, layer, options, language) in this session (validation can take
    seconds; its messages are in the language in force when it ran)."""
    sig = json.dumps([layer, [str(p) for p in paths], options, get_language()], sort_keys=True, default=str)
    cached = st.session_state.get(k("prepared"))
    if cached is not None and cached[0] == sig:
        return cached[1]
    opts = dict(options)
    border_path = opts.pop("border_path", None)
    opts["border"] = border_from_upload(Path(border_path)) if border_path else None
    spec = get_layer(layer)
    sources: Any = list(paths) if spec.history else [source_for(paths[0])]
    prepared = prepare(store, layer, sources, **opts)
    st.session_state[k("prepared")] = (sig, prepared)
    return prepared


def source_for(path: Path) -> SourceData:
    """The uploaded file read once per session (the last file is kept; reading can take seconds)."""
    sig = f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}"
    cached = st.session_state.get(k("_source_data"))
    if cached is not None and cached[0] == sig:
        return cached[1]
    src = read_source(path)
    st.session_state[k("_source_data")] = (sig, src)
    return src


def forget_prepared() -> None:
    st.session_state.pop(k("prepared"), None)
