"""Entry point: page navigation, and the home page showing what the store holds."""

import streamlit as st

from cimic_geo.ui.startup_nav import replace_startup_navigation

# First run after a start: hide the list of pages/ files Streamlit shows (this file as "app") until
# run_pages below sets the real navigation ("Home", ...). Before the slow imports that follow.
replace_startup_navigation()

from cimic_geo.i18n import _, fmt_int  # noqa: E402
from cimic_geo.ui.common import apply_language, page_setup  # noqa: E402
from cimic_geo.ui.home import summary_tables  # noqa: E402
from cimic_geo.ui.incidents import incident_guard  # noqa: E402
from cimic_geo.ui.sign_in import run_pages  # noqa: E402
from cimic_geo.ui.tables import display_frame  # noqa: E402


def home() -> None:
    """What the store holds (layers, time range, marking) and where to go next."""
    store = page_setup("CIMIC situational awareness", icon="🛡️")
    doc, table = summary_tables(store)

    st.title(_("CIMIC situational awareness"))
    st.caption(_(
        "Common operational picture for Civil-Military Cooperation: front line and exposure, shelters and "
        "collective centres, damage and restoration, humanitarian corridors. Works offline."
    ))
    held = doc["holdings"]
    if held.mixed:
        st.error(_(
            "This store holds **EXERCISE and REAL data mixed** (the {scenario} scenario and real imports, marked "
            "{marking}). Maps, analytics and exports cover both: keep real data in a store of its own."
        ).format(scenario=doc["meta"].get("scenario", "exercise"), marking=held.real_marking or "REAL"))
    elif held.exercise:
        st.info(_(
            "This store holds **{marking}** data ({scenario}, scale {scale}, seed {seed}). It is not real "
            "operational data."
        ).format(marking=held.banner, scenario=doc["meta"].get("scenario", "scenario"),
                 scale=doc["meta"].get("scale", "?"), seed=doc["meta"].get("seed", "?")))
    elif held.real:
        st.info(_("This store holds real data, marked **{marking}**.").format(marking=held.banner))

    cols = st.columns(4)
    cols[0].metric(_("Settlements"), fmt_int(doc["layers"]["settlements"]))
    cols[1].metric(_("Shelters"), fmt_int(doc["layers"]["shelters"]))
    cols[2].metric(_("Infrastructure objects"), fmt_int(doc["layers"]["infrastructure"]))
    cols[3].metric(_("Corridors"), fmt_int(doc["layers"]["corridors"]))

    left, right = st.columns([2, 3])
    with left:
        st.subheader(_("Layers"))
        st.dataframe(display_frame(table), hide_index=True, width="stretch")
    with right:
        st.subheader(_("Store"))
        if doc["time_range_dtg"]:
            start, end = doc["time_range_dtg"]
            st.markdown(_("**Front-line history:** {start} – {end}").format(start=start, end=end) + "  \n"
                        f"({doc['time_range']['start']} – {doc['time_range']['end']} UTC)")
        else:
            st.markdown(_("**Front-line history:** none yet — import occupied-area snapshots on the Import page."))
        if doc["bbox"]:
            x0, y0, x1, y1 = doc["bbox"]
            st.markdown(_("**Extent:** {extent}").format(extent=f"{y0:.3f}°N {x0:.3f}°E – {y1:.3f}°N {x1:.3f}°E"))
        st.markdown(_("**Schema version:** {version}").format(version=doc["schema_version"]))  # no server paths for viewers

    st.subheader(_("Pages"))
    st.markdown("\n".join([
        _("- **COP** — the common operational picture: front line at a date, shelters, damage, corridors."),
        _("- **Exposure and coverage** — population in threat bands, shelter coverage, restoration priorities."),
        _("- **Corridor planner** — draw, route, evaluate and move corridors through their workflow."),
        _("- **Import** — bring in shelter lists, damage reports, settlements and front-line snapshots."),
        _("- **Evacuations** — requests and missions by status beside a map, people waiting per threat band."),
        _("- **Civil assessments** — each settlement's latest assessment by sector, stale and never assessed."),
        _("- **Partners (3W)** — who does what where, and the gaps no partner covers."),
    ]))


# No page icons: a ``:material/...:`` icon becomes the favicon, fetched from a public font server.
# run_pages: the sign-in gate first (anonymous visitors see nothing else), then these pages.
with incident_guard():  # unexpected errors: a message and an incident id; the traceback goes to the log
    apply_language()  # the session's language, before the page titles below are translated
    run_pages(
        [
            st.Page(home, title=_("Home"), default=True),
            st.Page("pages/1_COP.py", title=_("COP")),
            st.Page("pages/2_Exposure_and_coverage.py", title=_("Exposure and coverage")),
            st.Page("pages/3_Corridor_planner.py", title=_("Corridor planner")),
            st.Page("pages/4_Import.py", title=_("Import")),
            st.Page("pages/5_Evacuations.py", title=_("Evacuations")),
            st.Page("pages/6_Assessments.py", title=_("Civil assessments")),
            st.Page("pages/7_Partners.py", title=_("Partners (3W)")),
        ]
    )
