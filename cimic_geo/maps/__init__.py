"""folium maps built from GeoDataFrames (no Streamlit): the COP (:mod:`cimic_geo.maps.cop_map`), its
view reads (:mod:`cimic_geo.maps.cop_view`) and the offline front-end assets (:mod:`cimic_geo.maps.assets`).

Importing :mod:`cimic_geo.maps.assets` (every map module does) points folium's CDN
``default_js``/``default_css`` of ``Map`` and the plugins the project uses at the app's own static
files: nothing loads from a CDN.

Importing this package also runs :func:`cimic_geo.maps.safe_render.install`: text that folium has
rendered once (with data in it) is never parsed as a template again, so data stays data.
"""

from cimic_geo.maps.safe_render import install as _install_safe_render

_install_safe_render()
