"""Home page helpers: the store summary as tables."""

from __future__ import annotations

import pandas as pd

from cimic_geo.i18n import _
from cimic_geo.schema import LAYERS
from cimic_geo.store import Store
from cimic_geo.store.settings import holdings
from cimic_geo.store.summary import store_summary
from cimic_geo.timefmt import dtg


def summary_tables(store: Store) -> tuple[dict, pd.DataFrame]:
    """The store summary and a layer table (layer title, rows) for display; ``doc["holdings"]`` says
    whether the store holds exercise data, real data or both (:class:`~cimic_geo.store.settings.Holdings`)."""
    doc = store_summary(store)
    table = pd.DataFrame(
        [{"layer": _(LAYERS[name].title), "table": name, "rows": n} for name, n in doc["layers"].items()]
    )
    tr = doc["time_range"]
    doc["time_range_dtg"] = (dtg(tr["start"]), dtg(tr["end"])) if tr["start"] else None
    doc["holdings"] = holdings(store)
    return doc, table
