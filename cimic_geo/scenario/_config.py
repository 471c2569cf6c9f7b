"""Fixed parameters of the two scenario scales (geography is fixed; the seed varies the rest)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: Last daily snapshot of the front line / occupied area; the history never depends on the clock.
HISTORY_END = pd.Timestamp("2026-11-20T00:00:00Z")
HISTORY_DAYS = 90
SOURCE = "EXERCISE scenario generator"
SCENARIO_NAME = "EXERCISE STEPPE SHIELD 26"
UPDATED_BY = "exercise-generator"

Coords = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class ScaleConfig:
    """Everything that differs between ``demo`` and ``national``.

    Lines and polygons are lon/lat control points; they are smoothed and perturbed by the seed.
    ``front`` runs from the north to the south with the occupied side on its left (east);
    ``occupied_closure`` closes the occupied polygon around the east beyond the area.
    """

    name: str
    area: Coords  # theatre outline (the east side is the state border)
    n_cities: int
    n_towns: int
    n_villages: int
    city_boxes: tuple[tuple[float, float, float, float, float, float], ...]  # x0,y0,x1,y1,pop_lo,pop_hi
    front: Coords
    occupied_closure: Coords
    rivers: tuple[tuple[str, Coords], ...]
    target_segments: int
    target_shelters: int
    n_corridors: int
    n_oblasts: int
    n_raions: int
    front_step_km: float
    offensives: int
    village_cluster_share: float = 0.8
    min_spacing_km: float = 0.8


def _demo_area() -> Coords:
    # Box 36.0-39.0 E, 47.8-50.0 N whose east side is a wiggly "state border".
    east = ((38.92, 50.0), (38.80, 49.70), (38.95, 49.35), (38.85, 49.00), (38.97, 48.60),
            (38.82, 48.25), (38.93, 47.80))
    return ((36.0, 47.8), (36.0, 50.0), *east, (36.0, 47.8))


DEMO = ScaleConfig(
    name="demo",
    area=_demo_area(),
    n_cities=2,
    n_towns=26,
    n_villages=340,
    city_boxes=((36.15, 49.35, 36.65, 49.85, 450_000, 900_000), (36.8, 48.1, 37.45, 48.7, 120_000, 260_000)),
    front=((37.95, 50.35), (37.92, 49.85), (38.08, 49.35), (37.88, 48.90), (38.02, 48.45),
           (37.90, 48.05), (38.15, 47.55)),
    occupied_closure=((39.6, 47.55), (39.6, 50.35)),
    rivers=(
        ("Siverka", ((36.85, 50.12), (37.05, 49.70), (37.30, 49.30), (37.55, 48.95), (37.80, 48.55),
                     (38.00, 48.15), (38.20, 47.70))),
        ("Vovcha", ((36.05, 48.55), (36.50, 48.50), (36.95, 48.62), (37.40, 48.52), (37.75, 48.60))),
    ),
    target_segments=10_000,
    target_shelters=1_000,
    n_corridors=6,
    n_oblasts=1,
    n_raions=6,
    front_step_km=1.0,
    offensives=4,
)

# A rough outline of Ukraine (clockwise from the north-west), enough to look country-like.
_UKRAINE: Coords = (
    (24.0, 51.6), (25.5, 51.9), (27.5, 51.6), (30.2, 51.5), (30.6, 51.3), (31.8, 52.1), (33.4, 52.35),
    (34.4, 51.8), (34.2, 51.25), (35.3, 51.1), (35.6, 50.4), (36.6, 50.25), (37.5, 50.4), (38.2, 50.0),
    (39.2, 49.9), (40.1, 49.6), (40.1, 49.0), (39.7, 48.6), (40.0, 48.3), (39.8, 47.85), (38.4, 47.3),
    (37.4, 47.0), (36.0, 46.6), (35.0, 46.2), (34.6, 45.95), (35.5, 45.3), (36.6, 45.4), (35.9, 44.9),
    (34.0, 44.4), (33.4, 44.6), (32.5, 45.4), (33.6, 45.9), (33.0, 46.1), (31.8, 46.3), (30.8, 46.5),
    (30.2, 45.8), (29.7, 45.3), (28.2, 45.5), (28.9, 46.5), (29.9, 46.6), (29.5, 47.4), (29.1, 47.9),
    (27.5, 48.5), (26.6, 48.3), (24.9, 47.7), (23.2, 48.0), (22.2, 48.4), (22.6, 49.1), (22.7, 49.6),
    (24.0, 50.5), (23.7, 51.5), (24.0, 51.6),
)

NATIONAL = ScaleConfig(
    name="national",
    area=_UKRAINE,
    n_cities=45,
    n_towns=420,
    n_villages=29_500,
    city_boxes=((30.35, 50.35, 30.7, 50.55, 2_600_000, 3_000_000),
                (36.1, 49.85, 36.4, 50.1, 1_200_000, 1_450_000),
                (30.5, 46.4, 30.8, 46.6, 900_000, 1_050_000),
                (34.8, 48.3, 35.2, 48.6, 850_000, 1_000_000),
                (23.9, 49.75, 24.1, 49.9, 650_000, 750_000)),
    front=((37.75, 50.75), (37.65, 50.05), (37.95, 49.40), (38.05, 48.90), (37.75, 48.30),
           (37.30, 47.90), (36.50, 47.62), (35.60, 47.52), (34.80, 47.45), (34.20, 47.20),
           (33.60, 46.85), (32.80, 46.62), (32.05, 46.50), (31.55, 45.90)),
    occupied_closure=((31.55, 44.0), (41.0, 44.0), (41.0, 50.75)),
    rivers=(
        ("Dnipro-Exercise", ((30.45, 51.6), (30.6, 50.9), (30.75, 50.3), (31.6, 49.6), (32.6, 49.1),
                             (33.7, 48.95), (34.7, 48.5), (35.1, 47.85), (34.3, 47.45), (33.4, 46.85),
                             (32.4, 46.55), (31.6, 46.45))),
        ("Siverka", ((36.85, 50.40), (37.10, 49.70), (37.55, 48.95), (38.00, 48.15), (38.30, 47.60))),
        ("Buh-Exercise", ((26.5, 49.9), (27.6, 49.3), (28.6, 48.9), (29.9, 48.1), (30.9, 47.3), (31.6, 46.7))),
    ),
    target_segments=1_000_000,
    target_shelters=60_000,
    n_corridors=24,
    n_oblasts=24,
    n_raions=130,
    front_step_km=2.0,
    offensives=10,
    min_spacing_km=1.0,
)

SCALES = {"demo": DEMO, "national": NATIONAL}
