"""The Audit page (admins only): who changed what and when, filtered, with a CSV download."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta

import pandas as pd
import streamlit as st

from cimic_geo.auth import Actor, require
from cimic_geo.errors import PermissionDeniedError
from cimic_geo.export.gis import neutralise_formula
from cimic_geo.i18n import _, fmt_int, ngettext, pgettext
from cimic_geo.store import Store
from cimic_geo.store.audit import AUDIT_COLUMNS, read_audit
from cimic_geo.ui.common import audit_token, key, plain
from cimic_geo.ui.tables import display_frame

PAGE = "audit"


def k(name: str) -> str:
    return key(PAGE, name)


def audit_csv(df: pd.DataFrame) -> str:
    """The rows as CSV (UTC times ISO 8601); text cells that would start a formula are neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AUDIT_COLUMNS)
    for rec in df.itertuples(index=False):
        row = []
        for name, value in zip(AUDIT_COLUMNS, rec, strict=True):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                row.append("")
            elif name == "at_utc":
                row.append(pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
            elif name == "id":
                row.append(str(int(value)))
            else:
                row.append(neutralise_formula(str(value)))
        writer.writerow(row)
    return out.getvalue()


def action_label(action: object) -> str:
    """An audit ``action`` value as the page shows it in the current language (the stored value stays
    English, as do the CSV and the ``audit`` command's output); an unknown action comes back unchanged."""
    text = "" if action is None else str(action)
    labels = {
        "import": pgettext("audit action", "import"),
        "seed": pgettext("audit action", "seed"),
        "init": pgettext("audit action", "init"),
        "set_territory": pgettext("audit action", "set_territory"),
        "sign_in": pgettext("audit action", "sign_in"),
        "sign_out": pgettext("audit action", "sign_out"),
        "user.add": pgettext("audit action", "user.add"),
        "user.set_role": pgettext("audit action", "user.set_role"),
        "user.disable": pgettext("audit action", "user.disable"),
        "user.enable": pgettext("audit action", "user.enable"),
        "user.reset": pgettext("audit action", "user.reset"),
        "user.change_password": pgettext("audit action", "user.change_password"),
        "evacuation.create": pgettext("audit action", "evacuation.create"),
        "evacuation.status": pgettext("audit action", "evacuation.status"),
        "corridor.create": pgettext("audit action", "corridor.create"),
        "corridor.edit": pgettext("audit action", "corridor.edit"),
        "corridor.status": pgettext("audit action", "corridor.status"),
        "partners.end": pgettext("audit action", "partners.end"),
        "audit.read": pgettext("audit action", "audit.read"),
        # a refused attempt without its own action is recorded under the permission it lacked
        "read": pgettext("audit action", "read"),
        "export": pgettext("audit action", "export"),
        "corridors": pgettext("audit action", "corridors"),
        "edit": pgettext("audit action", "edit"),
        "users": pgettext("audit action", "users"),
        "audit": pgettext("audit action", "audit"),
    }
    return labels.get(text, text)


@st.cache_data(show_spinner=False, max_entries=16, ttl=60)
def _rows(_store: Store, token: str, since: datetime, until: datetime, user: str | None,
          layer: str | None) -> pd.DataFrame:
    return read_audit(_store, since=since, until=until, user=user, layer=layer)


def render(store: Store, actor: Actor) -> None:
    """The page body; refuses (and records the refusal) unless ``actor`` may read the audit trail."""
    try:
        require(actor, "audit", store=store, action="audit.read", layer="audit")
    except PermissionDeniedError as exc:
        st.error(plain(exc))
        st.stop()
    st.title(_("Audit trail"))
    st.caption(_("Every write to the store: imports, edits, corridor status changes, seeding, user changes, "
                 "sign-ins and refused attempts. Append-only; times in UTC."))
    today = datetime.now(UTC).date()
    cols = st.columns(4)
    start = cols[0].date_input(_("From (UTC)"), value=today - timedelta(days=7), key=k("from"))
    end = cols[1].date_input(_("To (UTC, inclusive)"), value=today, key=k("to"))
    user = cols[2].text_input(_("User"), key=k("user")).strip() or None
    layer = cols[3].text_input(_("Layer"), key=k("layer")).strip() or None
    since = datetime.combine(start, time.min, tzinfo=UTC)
    until = datetime.combine(end, time.min, tzinfo=UTC) + timedelta(days=1)
    df = _rows(store, audit_token(store), since, until, user, layer)
    st.caption(ngettext("{n} row", "{n} rows", len(df)).format(n=fmt_int(len(df))))
    shown = df.assign(action=df["action"].map(action_label)) if "action" in df.columns else df
    st.dataframe(display_frame(shown, keep=["at_utc"]), hide_index=True, width="stretch",
                 column_config={"at_utc": st.column_config.DatetimeColumn(_("at (UTC)"), format="YYYY-MM-DD HH:mm:ss")})
    st.download_button(_("Download CSV"), data=audit_csv(df).encode("utf-8"), mime="text/csv",
                       file_name=f"cimic_audit_{since:%Y%m%d}_{until:%Y%m%d}.csv", key=k("csv"))
