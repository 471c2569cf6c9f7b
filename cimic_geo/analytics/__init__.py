"""Analytics: pure functions on GeoDataFrames and road graphs; no Streamlit, no DuckDB.

Modules: :mod:`.front_distance` (geodesic distance to the front line), :mod:`.bands` (threat
bands), :mod:`.exposure`, :mod:`.coverage` (over :mod:`.reach` and :mod:`.allocation`),
:mod:`.restoration`, :mod:`.kpi` (the COP's strip), the road graph and routing
(:mod:`.roadgraph`, :mod:`.access`), :mod:`.corridor_eval` and :mod:`.corridor_lines`, and the
CIMIC layers' analytics. Import from the module.
"""
