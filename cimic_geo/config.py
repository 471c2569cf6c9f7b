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
===================  ==========================  =======================================
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from cimic_geo.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "cimic.duckdb"
DEFAULT_BANDS_KM = (5.0, 20.0, 40.0)


def parse_bands(text: str | None) -> tuple[float, ...]:
    """Parse ``"5,20,40"`` into increasing outer band edges in km.

    Raises
    ------
    ConfigError
        If a value is not a number, not positive, or the edges do not increase.
    """
    if text is None or not str(text).strip():
        return DEFAULT_BANDS_KM
    try:
        edges = tuple(float(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"bands must be comma-separated numbers in km, got {text!r}") from None
    validate_bands(edges)
    return edges


def validate_bands(edges: tuple[float, ...] | list[float]) -> tuple[float, ...]:
    """Check that band edges are finite, positive and strictly increasing; return them as a tuple."""
    edges = tuple(float(e) for e in edges)
    if not edges:
        raise ConfigError("at least one threat band edge is needed, e.g. 5,20,40")
    if any(not (e > 0 and e < 1e4) for e in edges):
        raise ConfigError(f"band edges must be positive distances in km below 10000, got {list(edges)}")
    if any(b <= a for a, b in pairwise(edges)):
        raise ConfigError(f"band edges must be strictly increasing, got {list(edges)}")
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


def load_settings(*, db: str | os.PathLike | None = None) -> Settings:
    """Resolve settings from arguments, environment and ``.streamlit/secrets.toml``."""
    secrets = _secrets()
    db_value = db or _get("db_path", "CIMIC_DB", secrets)
    bands = _get("bands_km", "CIMIC_BANDS_KM", secrets)
    if isinstance(bands, (list, tuple)):
        bands_km = validate_bands(bands)
    else:
        bands_km = parse_bands(bands)
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
