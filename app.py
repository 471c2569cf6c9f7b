"""Entry point: page navigation, and the home page showing what the store holds."""

import streamlit as st

from cimic_geo.ui.startup_nav import replace_startup_navigation

# First run after a start: hide the list of pages/ files Streamlit shows (this file as "app") until
# run_pages below sets the real navigation ("Home", ...). Before the slow imports that follow.
replace_startup_navigation()

from cimic_geo.i18n import _  # noqa: E402
from cimic_geo.ui.common import page_setup  # noqa: E402
from cimic_geo.ui.home import summary_tables  # noqa: E402
from cimic_geo.ui.incidents import incident_guard  # noqa: E402
from cimic_geo.ui.sign_in import run_pages  # noqa: E402


def home() -> None:
    """What the store holds (layers, time range, marking) and where to go next."""
    store = page_setup("CIMIC situational awareness", icon="🛡️")
    doc, table = summary_tables(store)

    st.title("CIMIC situational awareness")
    st.caption(
        "Common operational picture for Civil-Military Cooperation: front line and exposure, shelters and "
        "collective centres, damage and restoration, humanitarian corridors. Works offline."
    )
    held = doc["holdings"]
    if held.mixed:
        st.error(_(
            "This store holds **EXERCISE and REAL data mixed** (the {scenario} scenario and real imports, marked "
            "{marking}). Maps, analytics and exports cover both: keep real data in a store of its own."
        ).format(scenario=doc["meta"].get("scenario", "exercise"), marking=held.real_marking or "REAL"))
    elif held.exercise:
        st.info(
            f"This store holds **{held.banner}** data "
            f"({doc['meta'].get('scenario', 'scenario')}, scale {doc['meta'].get('scale', '?')}, "
            f"seed {doc['meta'].get('seed', '?')}). It is not real operational data."
        )
    elif held.real:
        st.info(_("This store holds real data, marked **{marking}**.").format(marking=held.banner))

    cols = st.columns(4)
    cols[0].metric("Settlements", f"{doc['layers']['settlements']:,}")
    cols[1].metric("Shelters", f"{doc['layers']['shelters']:,}")
    cols[2].metric("Infrastructure objects", f"{doc['layers']['infrastructure']:,}")
    cols[3].metric("Corridors", f"{doc['layers']['corridors']:,}")

    left, right = st.columns([2, 3])
    with left:
        st.subheader("Layers")
        st.dataframe(table, hide_index=True, width="stretch")
    with right:
        st.subheader("Store")
        if doc["time_range_dtg"]:
            start, end = doc["time_range_dtg"]
            st.markdown(
                f"**Front-line history:** {start} – {end}  \n"
                f"({doc['time_range']['start']} – {doc['time_range']['end']} UTC)"
            )
        else:
            st.markdown("**Front-line history:** none yet — import occupied-area snapshots on the Import page.")
        if doc["bbox"]:
            x0, y0, x1, y1 = doc["bbox"]
            st.markdown(f"**Extent:** {y0:.3f}°N {x0:.3f}°E – {y1:.3f}°N {x1:.3f}°E")
        st.markdown(f"**Schema version:** {doc['schema_version']}")  # no server paths for viewers

    st.subheader("Pages")
    st.markdown(
        "- **COP** — the common operational picture: front line at a date, shelters, damage, corridors.\n"
        "- **Exposure and coverage** — population in threat bands, shelter coverage, restoration priorities.\n"
        "- **Corridor planner** — draw, route, evaluate and move corridors through their workflow.\n"
        "- **Import** — bring in shelter lists, damage reports, settlements and front-line snapshots.\n"
        "- **Evacuations** — requests and missions by status beside a map, people waiting per threat band."
    )


# No page icons: a ``:material/...:`` icon becomes the favicon, fetched from a public font server.
# run_pages: the sign-in gate first (anonymous visitors see nothing else), then these pages.
with incident_guard():  # unexpected errors: a message and an incident id; the traceback goes to the log
    run_pages(
        [
            st.Page(home, title="Home", default=True),
            st.Page("pages/1_COP.py", title="COP"),
            st.Page("pages/2_Exposure_and_coverage.py", title="Exposure and coverage"),
            st.Page("pages/3_Corridor_planner.py", title="Corridor planner"),
            st.Page("pages/4_Import.py", title="Import"),
            st.Page("pages/5_Evacuations.py", title="Evacuations"),
            st.Page("pages/6_Assessments.py", title="Civil assessments"),
            st.Page("pages/7_Partners.py", title="Partners (3W)"),
        ]
    )
