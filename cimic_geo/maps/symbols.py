"""APP-6(D) / MIL-STD-2525D symbol codes (SIDCs) for the CIMIC point layers.

The COP offers these symbols instead of its plain shapes (a toggle on the map); the browser draws
them with ``milsymbol`` (served offline like Leaflet, :mod:`cimic_geo.maps.assets`), the PNG/PDF
brief with the same codes (:mod:`cimic_geo.export.snapshot_map`).

A 20-digit SIDC is ``VV C I SS T H AA EEEEEE M1 M2``:

======  =====================================================================================
``10``  version: MIL-STD-2525D / APP-6(D)
``0``   context: reality
``3``   standard identity: friend (the state's own civil objects; a shelter or a substation is
        not hostile or unknown)
``SS``  symbol set: ``20`` land installation (infrastructure), ``40`` activities/events
        (emergency management: shelters, evacuation points)
``T``   status: ``0`` present, ``2`` present/fully capable, ``3`` present/damaged,
        ``4`` present/destroyed, ``5`` present/full to capacity
``H``   headquarters/task force/dummy: ``0``; ``AA`` amplifier ``00``
``EEEEEE`` entity (below); ``M1 M2`` modifiers ``0000``
======  =====================================================================================

Entities chosen (APP-6(D) names):

* shelters: ``40 131206`` Emergency shelter (blast shelters, collective and medical centres),
  transit centres ``40 131201`` Emergency collection/evacuation point;
* evacuation pickups: ``40 131201`` Emergency collection/evacuation point;
* infrastructure by sector (set ``20``): power ``120500`` Energy facility (electric power icon),
  heating ``120500`` (an energy facility), gas ``120503`` Natural gas facility, water ``121400``
  Water supply infrastructure, telecom ``121200`` Telecommunications infrastructure, health
  ``120701`` Medical facility, education ``120402`` School, bridge and road ``121300``
  Transportation infrastructure, rail ``121307`` Railhead.

Status from the data: a shelter ``open`` is fully capable, ``full`` full to capacity,
``damaged`` damaged, ``closed`` present; infrastructure damage ``none`` fully capable, ``minor``
and ``major`` damaged, ``destroyed`` destroyed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from cimic_geo.config import PROJECT_ROOT
from cimic_geo.errors import AssetError

#: Symbol set and entity per shelter kind.
SHELTER_ENTITY = {"blast_shelter": ("40", "131206"), "collective_centre": ("40", "131206"),
                  "transit_centre": ("40", "131201"), "medical": ("40", "131206")}
SHELTER_STATUS_CODE = {"open": "2", "full": "5", "closed": "0", "damaged": "3"}
#: Symbol set and entity per infrastructure sector.
SECTOR_ENTITY = {
    "power": ("20", "120500"), "heating": ("20", "120500"), "gas": ("20", "120503"),
    "water": ("20", "121400"), "telecom": ("20", "121200"), "health": ("20", "120701"),
    "education": ("20", "120402"), "bridge": ("20", "121300"), "road": ("20", "121300"),
    "rail": ("20", "121307"),
}
DAMAGE_STATUS_CODE = {"none": "2", "minor": "3", "major": "3", "destroyed": "4"}
EVACUATION_ENTITY = ("40", "131201")


def sidc(symbol_set: str, entity: str, *, status: str = "0", identity: str = "3") -> str:
    """A 20-digit APP-6(D) SIDC: reality, ``identity`` (3 friend), ``symbol_set``, ``status``, ``entity``."""
    code = f"100{identity}{symbol_set}{status}000{entity}0000"
    if len(code) != 20 or not code.isdigit():
        raise ValueError(f"not a 20-digit SIDC: {code!r}")
    return code


def shelter_sidc(kind: Any, status: Any) -> str:
    """SIDC of a shelter of ``kind`` with ``status`` (unknown values: emergency shelter, present)."""
    s, e = SHELTER_ENTITY.get(str(kind), ("40", "131206"))
    return sidc(s, e, status=SHELTER_STATUS_CODE.get(str(status), "0"))


def infrastructure_sidc(sector: Any, damage: Any) -> str:
    """SIDC of an infrastructure object of ``sector`` with ``damage``."""
    s, e = SECTOR_ENTITY.get(str(sector), ("20", "120000"))
    return sidc(s, e, status=DAMAGE_STATUS_CODE.get(str(damage), "0"))


def evacuation_sidc() -> str:
    """SIDC of an evacuation pickup point."""
    return sidc(*EVACUATION_ENTITY)


def symbol_table() -> dict[str, Any]:
    """The mapping for the browser: per layer, the property the entity and the status depend on."""
    return {
        "shelters": {"entity_by": "kind", "status_by": "status",
                     "entities": {k: "".join(v) for k, v in SHELTER_ENTITY.items()},
                     "status": SHELTER_STATUS_CODE, "default": "40131206"},
        "infrastructure": {"entity_by": "sector", "status_by": "damage",
                           "entities": {k: "".join(v) for k, v in SECTOR_ENTITY.items()},
                           "status": DAMAGE_STATUS_CODE, "default": "20120000"},
        "evacuations": {"entity_by": None, "status_by": None, "entities": {}, "status": {},
                        "default": "".join(EVACUATION_ENTITY)},
    }


def all_sidcs() -> list[str]:
    """Every SIDC the COP and the brief can draw (the symbol file holds one SVG for each)."""
    out = {evacuation_sidc()}
    for kind in SHELTER_ENTITY:
        out.update(shelter_sidc(kind, s) for s in SHELTER_STATUS_CODE)
    for sector in SECTOR_ENTITY:
        out.update(infrastructure_sidc(sector, d) for d in DAMAGE_STATUS_CODE)
    out.update({shelter_sidc(None, None), infrastructure_sidc(None, None)})
    return sorted(out)


# ----------------------------------------------------------------------------------------------
# The symbols for the PNG/PDF brief: rendered once with milsymbol, kept with the package
# ----------------------------------------------------------------------------------------------

#: SVG of every SIDC of :func:`all_sidcs`, rendered by milsymbol (``python -m cimic_geo.maps.assets symbols``).
SYMBOL_FILE = Path(__file__).resolve().parent / "app6_symbols.json"
_RENDER_SCRIPT = Path(__file__).resolve().parent / "js" / "render-symbols.js"


def render_symbols(*, node: str = "node", dest: Path = SYMBOL_FILE) -> int:
    """Render the SIDCs with milsymbol (``js/render-symbols.js`` under Node.js) into ``dest``;
    return how many. Needs ``node_modules/milsymbol`` (``npm ci``)."""
    try:
        done = subprocess.run([node, str(_RENDER_SCRIPT)], input=json.dumps(all_sidcs()),
                              capture_output=True, text=True, cwd=PROJECT_ROOT, check=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        raise AssetError(f"cannot render the APP-6 symbols with Node.js ({exc}); run `npm ci --no-audit "
                         "--no-fund` in the project folder") from exc
    data = json.loads(done.stdout)
    dest.write_text(json.dumps(data, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    return len(data["symbols"])
