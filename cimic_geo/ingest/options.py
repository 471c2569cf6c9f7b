"""What users give an import besides the file: default values, value maps and a column mapping.

One parser for the CLI (``--default FIELD=VALUE``, repeated; ``--values`` and ``--mapping`` as
JSON) and the Import page (``status=open, capacity=0`` in one box; the same JSON), with the same
rules and messages. Every error is a :class:`~cimic_geo.errors.ValidationError` naming the
option (``field``), so nothing is read or written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cimic_geo.errors import Problem, ValidationError
from cimic_geo.i18n import N_, _

#: The reasons Python's JSON parser gives, translated where they are shown (other reasons stay as given).
_JSON_REASONS = frozenset({
    N_("Expecting value"), N_("Expecting property name enclosed in double quotes"), N_("Expecting ':' delimiter"),
    N_("Expecting ',' delimiter"), N_("Extra data"), N_("Unterminated string starting at"),
    N_("Invalid control character at"), N_("Invalid \\escape"),
})


def parse_defaults(items: str | Sequence[str] | None, *, field: str = "defaults") -> dict[str, str]:
    """``FIELD=VALUE`` items: a sequence (CLI, one per ``--default``) or one text with items
    separated by commas (page). Blank items are skipped; keys and values are stripped.

    >>> parse_defaults("status=open, capacity = 0")
    {'status': 'open', 'capacity': '0'}
    """
    parts = items.split(",") if isinstance(items, str) else list(items or [])
    out: dict[str, str] = {}
    for item in parts:
        if not str(item).strip():
            continue
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise ValidationError(_("{option} takes FIELD=VALUE").format(option=field),
                                  [Problem(None, field, _("got {value}").format(value=repr(str(item).strip())))])
        out[key.strip()] = value.strip()
    return out


def parse_json_object(text: str | None, *, field: str) -> dict[str, Any]:
    """A JSON object given as text (empty text: ``{}``)."""
    if text is None or not str(text).strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = _(exc.msg) if exc.msg in _JSON_REASONS else exc.msg
        where = _("{reason}: line {line} column {column} (char {position})").format(
            reason=reason, line=exc.lineno, column=exc.colno, position=exc.pos)
        raise ValidationError(_("{option} is not valid JSON").format(option=field),
                              [Problem(None, field, where)]) from None
    if not isinstance(value, dict):
        raise ValidationError(_("{option} must be a JSON object").format(option=field),
                              [Problem(None, field, _("got {value}").format(value=type(value).__name__))])
    return value


def check_value_maps(value_maps: Any, *, field: str = "values") -> None:
    """Value maps must be ``{field: {source label: value}}`` (JSON from a user can hold anything)."""
    if value_maps is None:
        return
    bad = ([] if isinstance(value_maps, Mapping) else [Problem(None, field, _("expected a JSON object "
                                                                             "{{field: {{source label: value}}}}")
                                                               .format())])
    if not bad:
        bad = [Problem(None, f"{field}.{key}", _("expected {{source label: value}} for field '{field}', got "
                                                 "{type} {value}").format(field=key, type=type(labels).__name__,
                                                                          value=repr(str(labels)[:40])))
               for key, labels in value_maps.items() if not isinstance(labels, Mapping)]
    if bad:
        raise ValidationError(_('value maps must be {{field: {{source label: value}}}}, e.g. '
                                '{{"status": {{"successful": "closed"}}}}').format(), bad)


def parse_value_maps(text: str | None, *, field: str = "values") -> dict[str, dict[str, Any]]:
    """Value maps ``{field: {source label: value}}`` given as JSON text (empty text: none)."""
    value = parse_json_object(text, field=field)
    check_value_maps(value, field=field)
    return value
