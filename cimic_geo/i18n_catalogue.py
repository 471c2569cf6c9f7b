"""Keeping the Ukrainian catalogue in step with the code (Babel's extractor, no generated files kept).

``python -m cimic_geo.i18n_catalogue update`` adds every new ``_()`` / ``N_()`` / ``ngettext()`` /
``pgettext()`` / ``page_setup()`` string of ``cimic_geo``, ``pages`` and ``app.py`` to
``cimic_geo/locale/uk/LC_MESSAGES/cimic.po`` (keeping the translations made so far and dropping strings
the code no longer has); ``... check`` lists strings without a Ukrainian translation and exits 1 when
there are any. ``tests/test_i18n_catalogue.py`` runs the same extraction.
"""

from __future__ import annotations

import string
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from cimic_geo.i18n import DOMAIN, TERM, catalogue_path

#: Functions whose string arguments are user-facing text (Babel keyword specs).
KEYWORDS: dict[str, tuple | None] = {
    "_": None,
    "N_": None,
    "gettext_": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "page_setup": None,  # the page title (translated inside page_setup)
}
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def source_files(root: Path = PROJECT_ROOT) -> list[Path]:
    """The Python files whose text the user sees: the package, the pages and ``app.py``."""
    files = sorted((root / "cimic_geo").rglob("*.py")) + sorted((root / "pages").glob("*.py"))
    if (root / "app.py").exists():
        files.append(root / "app.py")
    return [f for f in files if "__pycache__" not in f.parts]


@dataclass(frozen=True)
class Message:
    """One extracted message: its id (a tuple for plural forms), context and where it is used."""

    id: str | tuple[str, str]
    context: str | None
    locations: tuple[tuple[str, int], ...]


def extract(files: Iterable[Path], *, root: Path = PROJECT_ROOT, vocabulary: bool = True) -> dict[tuple, Message]:
    """Every marked string of ``files`` (and the schema's vocabulary), keyed by ``(id, context)``."""
    found: dict[tuple, Message] = schema_messages() if vocabulary else {}
    for path in files:
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        for lineno, msgid, _comments, context in extract_from_file("python", str(path), keywords=KEYWORDS,
                                                                   strip_comment_tags=True):
            if isinstance(msgid, tuple) and any(m is None for m in msgid):
                continue  # a non-literal argument: tests/test_i18n_catalogue.py reports those
            key = (msgid, context)
            prev = found.get(key)
            locs = ((*prev.locations, (rel, lineno)) if prev else ((rel, lineno),))
            found[key] = Message(msgid, context, locs)
    return found


def schema_messages() -> dict[tuple, Message]:
    """The schema's vocabulary: layer titles (shown with ``_(title)``), every enumerated value of a
    column, role and people group (shown with :func:`cimic_geo.i18n.term`, context ``term``) and the
    column headers of the tables pages show (:mod:`cimic_geo.ui.tables`, context ``column``)."""
    from cimic_geo import schema

    out: dict[tuple, Message] = {}
    where = (("cimic_geo/schema.py", 0),)
    values: list[str] = [*schema.ROLES, *schema.PEOPLE_GROUPS, *schema.AUDIT_OUTCOMES]
    for layer in schema.LAYERS.values():
        if layer.title:
            out[(layer.title, None)] = Message(layer.title, None, where)
        for col in layer.columns:
            values.extend(col.choices or ())
    for value in dict.fromkeys(values):
        out[(value, TERM)] = Message(value, TERM, where)
    from cimic_geo.ui.tables import COLUMN, COLUMNS  # column headers of the tables pages show

    for name in COLUMNS:
        out[(name, COLUMN)] = Message(name, COLUMN, (("cimic_geo/ui/tables.py", 0),))
    return out


def placeholders(text: str) -> set[str]:
    """The named ``{fields}`` of a format string (``{{`` escapes are not fields)."""
    try:
        return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text)
                if name is not None}
    except ValueError:
        return {"<malformed>"}


def read_catalogue(language: str = "uk") -> Catalog:
    """The ``.po`` catalogue of ``language``."""
    with catalogue_path(language).open("rb") as fh:
        return read_po(fh, locale=language, domain=DOMAIN)


def update(language: str = "uk", *, root: Path = PROJECT_ROOT) -> tuple[int, int]:
    """Merge the extracted strings into the catalogue; return (strings, untranslated)."""
    path = catalogue_path(language)
    old = read_catalogue(language) if path.exists() else Catalog(locale=language, domain=DOMAIN)
    new = Catalog(locale=language, domain=DOMAIN, project="cimic-geo", charset="utf-8")
    new.fuzzy = False
    for (msgid, context), msg in extract(source_files(root), root=root).items():
        before = old.get(msgid, context)
        if isinstance(msgid, tuple):
            n = new.num_plurals
            strings = before.string if before is not None and isinstance(before.string, tuple) else ("",) * n
            new.add(msgid, strings, locations=msg.locations, context=context)
        else:
            new.add(msgid, before.string if before is not None else "", locations=msg.locations, context=context)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, new, width=116, sort_output=False, include_previous=False, include_lineno=False)
    missing = sum(1 for m in new if m.id and not _translated(m.string))
    return len([m for m in new if m.id]), missing


def _translated(value: str | tuple[str, ...]) -> bool:
    return all(value) if isinstance(value, tuple) else bool(value)


def untranslated(language: str = "uk", *, root: Path = PROJECT_ROOT) -> list[Message]:
    """Extracted strings without a (non-fuzzy, non-empty) translation in the catalogue."""
    cat = read_catalogue(language)
    out = []
    for (msgid, context), msg in extract(source_files(root), root=root).items():
        entry = cat.get(msgid, context)
        if entry is None or entry.fuzzy or not _translated(entry.string):
            out.append(msg)
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["update"]:
        total, missing = update()
        print(f"{catalogue_path('uk')}: {total} strings, {missing} without a translation")
        return 0
    if args[:1] == ["check"]:
        missing = untranslated()
        for m in missing:
            where = ", ".join(f"{f}:{n}" for f, n in m.locations[:2])
            print(f"{where}: {m.id!r}")
        return 1 if missing else 0
    print("usage: python -m cimic_geo.i18n_catalogue update|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
