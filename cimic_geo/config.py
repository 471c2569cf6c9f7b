"""Settings from the environment (and ``.streamlit/secrets.toml`` for the app).

Precedence: explicit argument > environment variable > secrets file > default.

===================  ==========================  =======================================
setting              environment variable        default
===================  ==========================  =======================================
db_path              ``CIMIC_DB``                ``data/cimic.duckdb`` under the project
bands_km             ``CIMIC_BANDS_KM``          ``5,20,40``
tile_url             ``CIMIC_TILE_URL``          none (vector basemap from the store)
tile_attribution     ``CIMIC_TILE_ATTRIBUTION``  ``local tiles``
marking              ``CIMIC_MARKING``           ``EXERCISE`` for scenario data
read_only            ``CIMIC_READ_ONLY``         ``0`` (the app can import and edit)
asset_dir            ``CIMIC_ASSET_DIR``         ``static/vendor`` under the project
stale_days           ``CIMIC_STALE_DAYS``        ``14`` (a civil assessment older is stale)
markings             ``CIMIC_MARKINGS``          ``EXERCISE,UNCLASSIFIED,OFFICIAL,OFFICIAL-SENSITIVE``
language             ``CIMIC_LANGUAGE``          ``en`` (``uk``: Ukrainian; users switch in the sidebar)
import_extent        ``CIMIC_IMPORT_EXTENT``     the store's data grown by a margin (any lon/lat when empty)
cache_mb             ``CIMIC_CACHE_MB``          ``200``: MB of results kept between runs (cache_budget)
===================  ==========================  =======================================
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from cimic_geo.errors import CimicError, ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "cimic.duckdb"
#: Default threat bands (outer edges, km): roughly tube artillery and FPV drones, MLRS, long-range
#: MLRS and glide bombs. The one place these numbers are written.
DEFAULT_BANDS_KM: tuple[float, ...] = (5.0, 20.0, 40.0)


def band_edges(
    value: str | Sequence[float] | None, *, error: type[CimicError] = ConfigError
) -> tuple[float, ...]:
    """Threat-band outer edges in km from ``"5,20,40"`` or a sequence; ``None`` gives the default.

    The one check of band edges used by the settings, the CLI, the pages and the analytics.

    Raises
    ------
    error (default ConfigError)
        If an edge is not a number, not a positive distance below 10,000 km, or the edges do not
        strictly increase.
    """
    if value is None:
        return DEFAULT_BANDS_KM
    parts = [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else list(value)
    try:
        edges = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        raise error(f"threat bands must be numbers in km like 5,20,40; got {value!r}") from None
    if not edges:
        raise error("at least one threat band edge is needed, e.g. 5,20,40")
    if any(not (math.isfinite(e) and 0 < e < 1e4) for e in edges):
        raise error(f"threat band edges must be positive distances in km below 10000; got {list(edges)}")
    if any(b <= a for a, b in pairwise(edges)):
        raise error(f"threat band edges must be strictly increasing; got {list(edges)}")
    return edges


def _secrets() -> dict:
    path = PROJECT_ROOT / ".streamlit" / "secrets.toml"
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    return data.get("cimic", data)


def _get(name: str, env: str, secrets: dict, default=None):
    if env in os.environ and os.environ[env] != "":
        return os.environ[env]
    return secrets.get(name, default)


@dataclass(frozen=True)
class Settings:
    """Resolved settings. Build with :func:`load_settings`."""

    db_path: Path = DEFAULT_DB_PATH
    bands_km: tuple[float, ...] = DEFAULT_BANDS_KM
    tile_url: str | None = None
    tile_attribution: str = "local tiles"
    marking: str | None = None
    read_only: bool = False
    asset_dir: Path = PROJECT_ROOT / "static" / "vendor"
    extra: dict = field(default_factory=dict)


def resolve_db_path(db: str | os.PathLike | None = None) -> Path:
    """The database path: ``db`` if given, else env ``CIMIC_DB``, else ``data/cimic.duckdb``."""
    if db:
        return Path(db).expanduser()
    env = os.environ.get("CIMIC_DB")
    if env:
        return Path(env).expanduser()
    return DEFAULT_DB_PATH


#: Days after which a settlement's latest civil assessment is stale.
DEFAULT_STALE_DAYS = 14


def positive_setting(value: float | str | None, *, name: str, env: str, default: float, what: str,
                     unit: str = "") -> float:
    """A positive number setting: ``value``, else the environment variable ``env``, else ``name`` in the
    secrets, else ``default``.

    Raises
    ------
    ConfigError
        Naming ``what`` (and ``unit``) when the value is not a positive finite number.
    """
    raw = value if value is not None else _get(name, env, _secrets(), default)
    try:
        number = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a number{unit}, got {raw!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ConfigError(f"{what} must be a positive number{unit}, got {raw!r}")
    return number


def stale_days(value: float | str | None = None) -> float:
    """Days after which an assessment is stale: ``value``, else ``CIMIC_STALE_DAYS``, else secrets, else 14."""
    return positive_setting(value, name="stale_days", env="CIMIC_STALE_DAYS", default=DEFAULT_STALE_DAYS,
                            what="stale days")


#: The handling marking of exercise data (the scenario seed and imports marked exercise).
EXERCISE_MARKING = "EXERCISE"
#: Handling markings an operator may choose (imports, exports); ``CIMIC_MARKINGS`` replaces the list.
DEFAULT_MARKINGS: tuple[str, ...] = (EXERCISE_MARKING, "UNCLASSIFIED", "OFFICIAL", "OFFICIAL-SENSITIVE")


def is_exercise_marking(marking: str | None) -> bool:
    """True for the exercise marking (``EXERCISE``, any case, also ``EXERCISE ...`` variants)."""
    return bool(marking) and str(marking).strip().upper().startswith(EXERCISE_MARKING)


def markings(value: str | Sequence[str] | None = None) -> tuple[str, ...]:
    """The handling markings to choose from: ``value``, else ``CIMIC_MARKINGS`` (comma separated), else
    secrets, else :data:`DEFAULT_MARKINGS`. ``EXERCISE`` is always first; markings are upper case.

    Raises
    ------
    ConfigError
        If the list holds no marking for real data, or a marking longer than 40 characters.
    """
    raw = value if value is not None else _get("markings", "CIMIC_MARKINGS", _secrets(), None)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return DEFAULT_MARKINGS
    parts = raw.split(",") if isinstance(raw, str) else list(raw)
    out: list[str] = [EXERCISE_MARKING]
    for p in parts:
        m = " ".join(str(p).split()).upper()
        if not m or m in out:
            continue
        if len(m) > 40:
            raise ConfigError(f"a marking is at most 40 characters, got {m!r}")
        out.append(m)
    if not [m for m in out if not is_exercise_marking(m)]:
        raise ConfigError(f"the markings must include one for real data, got {raw!r}")
    return tuple(out)


def language(value: str | None = None) -> str:
    """The default user-interface language: ``value``, else ``CIMIC_LANGUAGE``, else secrets, else ``en``.

    Raises
    ------
    ConfigError
        If the language is not one the interface has (``uk``, ``en``).
    """
    from cimic_geo.i18n import LANGUAGES, normalise

    raw = value if value is not None else _get("language", "CIMIC_LANGUAGE", _secrets(), "en")
    code = normalise(str(raw))
    if str(raw).strip().replace("-", "_").split("_")[0].lower() != code:
        raise ConfigError(f"language must be one of {', '.join(sorted(LANGUAGES))}, got {raw!r}")
    return code


def import_extent(value: str | None = None) -> tuple[float, float, float, float] | None:
    """The plausible extent of imported data, ``minlon,minlat,maxlon,maxlat``: ``value``, else
    ``CIMIC_IMPORT_EXTENT``, else secrets; None when unset (the store's data decides).

    Raises
    ------
    ConfigError
        Not four numbers, or not a valid lon/lat box.
    """
    raw = value if value is not None else _get("import_extent", "CIMIC_IMPORT_EXTENT", _secrets(), None)
    if raw is None or not str(raw).strip():
        return None
    try:
        box = tuple(float(v) for v in str(raw).split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not all(math.isfinite(v) for v in box) or not (
            -180 <= box[0] < box[2] <= 180 and -90 <= box[1] < box[3] <= 90):
        raise ConfigError(f"import extent must be minlon,minlat,maxlon,maxlat in degrees, got {raw!r}")
    return box  # type: ignore[return-value]


def load_settings(*, db: str | os.PathLike | None = None) -> Settings:
    """Resolve settings from arguments, environment and ``.streamlit/secrets.toml``."""
    secrets = _secrets()
    db_value = db or _get("db_path", "CIMIC_DB", secrets)
    bands = _get("bands_km", "CIMIC_BANDS_KM", secrets)
    bands_km = band_edges(None if isinstance(bands, str) and not bands.strip() else bands)
    tile_url = _get("tile_url", "CIMIC_TILE_URL", secrets) or None
    if tile_url and not ("{z}" in tile_url and "{x}" in tile_url and "{y}" in tile_url):
        raise ConfigError(f"tile URL must be a template with {{z}}, {{x}} and {{y}}, got {tile_url!r}")
    read_only = str(_get("read_only", "CIMIC_READ_ONLY", secrets, "0")).lower() in ("1", "true", "yes")
    return Settings(
        db_path=resolve_db_path(db_value),
        bands_km=bands_km,
        tile_url=tile_url,
        tile_attribution=str(_get("tile_attribution", "CIMIC_TILE_ATTRIBUTION", secrets, "local tiles")),
        marking=_get("marking", "CIMIC_MARKING", secrets),
        read_only=read_only,
        asset_dir=Path(_get("asset_dir", "CIMIC_ASSET_DIR", secrets, PROJECT_ROOT / "static" / "vendor")),
    )
