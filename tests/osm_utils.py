"""Writing small OpenStreetMap extracts (``.osm.pbf``) with pyosmium for the road-import tests."""

from __future__ import annotations

from pathlib import Path

import pytest


def write_pbf(path: Path, nodes: dict[int, tuple[float, float]], ways: list[tuple[int, list[int], dict]]) -> Path:
    """An extract with ``nodes`` (id -> lon, lat) and ``ways`` (id, node ids, tags); returns ``path``."""
    osmium = pytest.importorskip("osmium")
    with osmium.SimpleWriter(str(path)) as w:
        for nid, (lon, lat) in sorted(nodes.items()):
            w.add_node(osmium.osm.mutable.Node(id=nid, location=(lon, lat)))
        for wid, refs, tags in ways:
            w.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags))
    return path
