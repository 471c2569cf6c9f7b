"""Every exception the package raises, in one place.

All derive from :class:`CimicError`, so callers (the CLI, the pages) can catch one type and show
its message to the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cimic_geo.i18n import _, pgettext


class CimicError(Exception):
    """Base class for all errors raised by ``cimic_geo``."""


class ConfigError(CimicError):
    """A setting (environment variable, secrets file, argument) is invalid."""


class StoreError(CimicError):
    """The store cannot be opened, migrated, read or written."""


class StoreNotFoundError(StoreError):
    """The database file does not exist."""


class StoreBusyError(StoreError):
    """Another program has the database file open (DuckDB's lock) and did not let go in time."""


class StoreExistsError(StoreError):
    """The database file already exists and overwriting was not asked for."""


class SpatialExtensionError(StoreError):
    """The DuckDB spatial extension shipped with ``duckdb-extension-spatial`` cannot be loaded."""


class UnknownLayerError(CimicError, KeyError):
    """A layer or column name is not in the schema's allow-list."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else _("unknown layer")


class NotFoundError(CimicError):
    """A row (corridor, settlement, ...) asked for by id or name does not exist."""


class ConflictError(CimicError):
    """An edit was based on a version of a row that someone else has changed since."""


class PermissionDeniedError(CimicError):
    """The signed-in user (or CLI actor) lacks the role for an action; nothing was written."""


class AuthenticationError(CimicError):
    """Sign-in failed (unknown user, wrong password, disabled account, expired session)."""


class WorkflowError(CimicError):
    """An illegal status transition (for example corridor ``draft -> active``)."""


class AnalysisError(CimicError):
    """Invalid analytics input (negative distance, bands not increasing, as-of outside the history)."""


class ExportError(CimicError):
    """An export cannot be produced (empty view, unknown layer, unwritable path)."""


class AssetError(CimicError):
    """The offline front-end assets (Leaflet and plugins) are missing."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: which row (1-based, as a user counts in a file) and which field."""

    row: int | None
    field: str | None
    message: str
    severity: str = "error"  # "error" rejects the row; "warning" is reported only

    def __str__(self) -> str:  # in the language in force when it is shown; the field name stays as it is
        where = []
        if self.row is not None:
            where.append(_("row {row}").format(row=self.row))
        if self.field:
            where.append(_("field '{field}'").format(field=self.field))
        prefix = ", ".join(where)
        severity = severity_label(self.severity)
        return f"{severity}: {prefix}: {self.message}" if prefix else f"{severity}: {self.message}"


def severity_label(severity: str) -> str:
    """``error`` / ``warning`` / ``info`` of a :class:`Problem` in the current language (the same words as
    :func:`cimic_geo.i18n.term` gives for a table's ``severity`` column)."""
    if severity == "error":
        return pgettext("term", "error")
    if severity == "warning":
        return pgettext("term", "warning")
    if severity == "info":
        return pgettext("term", "info")
    return severity


@dataclass
class ValidationError(CimicError):
    """Input failed validation; nothing was written. ``problems`` lists every problem found."""

    message: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"  - {p}" for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(_("  ... and {n} more").format(n=len(self.problems) - 50))
        return "\n".join(lines)
