"""folium maps built from GeoDataFrames (no Streamlit): the COP (:mod:`cimic_geo.maps.cop`), its
view reads (:mod:`cimic_geo.maps.view`) and the offline front-end assets (:mod:`cimic_geo.maps.assets`).

Importing :mod:`cimic_geo.maps.assets` (every map module does) points folium's CDN
``default_js``/``default_css`` of ``Map`` and the plugins the project uses at the app's own static
files (DESIGN §5: nothing loads from a CDN).
"""
