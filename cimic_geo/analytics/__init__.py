"""Analytics (DESIGN §6): pure functions on GeoDataFrames; no Streamlit, no DuckDB.

Modules: :mod:`.bands` (distance to the front line, threat bands), :mod:`.exposure`,
:mod:`.coverage`, :mod:`.restoration`, and others added by their owners. Import from the module.
"""
