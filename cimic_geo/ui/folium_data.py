"""streamlit-folium with the COP layers' data put into the component's script last.

``st_folium`` turns each feature group into script text and then runs ``textwrap.dedent`` and two
regular-expression passes (variable renaming, element references) over all of it, data included: for
a national view (several MB of GeoJSON) about 0.2 CPU s per page run, for text that none of them
changes. :func:`data_last` hands ``st_folium`` the layers with a short placeholder in place of each
layer's data (its digest is already made from the data) and puts the data back into the feature-group
script just before the component is called, so the component gets the same script, made without
those passes over the data.

Unlike the passes, this never alters data: ``st_folium`` rewrote a ``{{'x'}}`` or a ``_div"`` inside
a name; here names reach the browser as they are.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import folium
import streamlit_folium

from cimic_geo.errors import CimicError
from cimic_geo.i18n import _
from cimic_geo.maps.cop_map import DataLayer

_local = threading.local()


def fill(script: str, data: dict[str, str]) -> str:
    """``script`` with each placeholder of ``data`` (exactly once each) replaced by its text."""
    parts, start = [], 0
    found = sorted((script.find(token), token) for token in data)
    for at, token in found:
        if at < 0 or script.count(token) != 1:
            raise CimicError(_("a map layer's data could not be placed in the map script"))
        parts += [script[start:at], data[token]]
        start = at + len(token)
    parts.append(script[start:])
    return "".join(parts)


class _DataLast:
    """streamlit-folium's component function, filling in the data :func:`data_last` took out (this thread)."""

    def __init__(self, func: Any) -> None:
        self.func = func

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        data = getattr(_local, "data", None)
        if data and isinstance(kwargs.get("feature_group"), str):
            kwargs["feature_group"] = fill(kwargs["feature_group"], data)
        return self.func(*args, **kwargs)


def _install() -> None:
    if not isinstance(streamlit_folium._component_func, _DataLast):
        streamlit_folium._component_func = _DataLast(streamlit_folium._component_func)


@contextlib.contextmanager
def data_last(groups: Sequence[folium.FeatureGroup]) -> Iterator[None]:
    """Within the block, ``st_folium(..., feature_group_to_add=groups)`` scripts the layers of ``groups``
    without their data and puts it back last (see the module's description)."""
    layers = [child for fg in groups for child in fg._children.values() if isinstance(child, DataLayer)]
    data: dict[str, str] = {}
    for layer in layers:
        token = "cimicLayerData" + uuid.uuid4().hex  # no underscore, quote or line break: no pass touches it
        data[token], layer.text_js = layer.text_js, token
    _install()
    _local.data = data
    try:
        yield
    finally:
        _local.data = None
        for layer, text in zip(layers, data.values(), strict=True):
            layer.text_js = text
