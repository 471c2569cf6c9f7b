"""Ukrainian and English user interface: translated text and locale formats of numbers and dates.

Every user-facing string goes through :func:`_` (``from cimic_geo.i18n import _``)::

    st.subheader(_("Layers"))
    st.caption(_("{n} settlements in range").format(n=fmt_int(n)))
    ngettext("{n} shelter", "{n} shelters", n).format(n=fmt_int(n))

Placeholders are named (``{name}``) so a translation can put them in another order; ``.format`` comes
after ``_``, never before (the catalogue holds the text with its placeholders). Text defined at import
time (tables of labels, page titles) is marked with :func:`N_` and translated where it is shown
(``_(label)``), because the language is only known during a page run.

The language of the current run is a context variable: the Streamlit layer sets it from the session
(the sidebar switch, ``cimic_geo.ui.common``) at the start of every page run; the CLI and exports use
the setting (``CIMIC_LANGUAGE``, :func:`cimic_geo.config.language`). This module does not import
Streamlit. English is the source language; the Ukrainian catalogue is
``cimic_geo/locale/uk/LC_MESSAGES/cimic.po``, read at run time with Babel (nothing compiled or
generated is kept in the tree). DTG (``cimic_geo.timefmt.dtg``) and MGRS stay as they are in both
languages: they are military formats, not locale ones.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import decimal
import functools
import gettext
import io
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Babel is imported when first needed: a command printing English text never loads it
    from babel import Locale

#: Languages of the user interface: code -> its own name (shown in the switch).
LANGUAGES: dict[str, str] = {"uk": "Українська", "en": "English"}
#: The language the source text is written in.
SOURCE_LANGUAGE = "en"
#: Gettext domain and catalogue folder.
DOMAIN = "cimic"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("cimic_language", default=None)


def catalogue_path(language: str) -> Path:
    """The ``.po`` file of ``language``."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.lru_cache(maxsize=8)
def _translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language`` (read once per process; English: the source text)."""
    path = catalogue_path(language)
    if language == SOURCE_LANGUAGE or not path.exists():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def reload_catalogues() -> None:
    """Forget the catalogues read so far (after editing a ``.po`` file in a running process)."""
    _translations.cache_clear()


def normalise(language: str | None) -> str:
    """A supported language code from ``"uk"``, ``"uk_UA"``, ``"UK-ua"``, ``"en_GB"`` ...; else English."""
    code = (language or "").strip().replace("-", "_").split("_")[0].lower()
    return code if code in LANGUAGES else SOURCE_LANGUAGE


def default_language() -> str:
    """The configured language (``CIMIC_LANGUAGE`` / secrets ``language``; English when unset)."""
    from cimic_geo.config import language

    return language()


def get_language() -> str:
    """The language of the current run: the one set by :func:`set_language`, else the setting."""
    value = _current.get()
    return value if value is not None else default_language()


def set_language(language: str | None) -> str:
    """Use ``language`` for the rest of this run (thread / context); return the code used."""
    code = normalise(language) if language else default_language()
    _current.set(code)
    return code


@contextlib.contextmanager
def use_language(language: str) -> Iterator[str]:
    """Temporarily translate into ``language`` (tests, exports in a chosen language)."""
    token = _current.set(normalise(language))
    try:
        yield _current.get() or SOURCE_LANGUAGE
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """``message`` in the current language (the message itself when there is no translation)."""
    if not message:
        return message
    return _translations(get_language()).gettext(message)


def gettext_(message: str) -> str:
    """Alias of :func:`_` for code that uses ``_`` as a throw-away name."""
    return _(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or the plural form for count ``n`` in the current language (3 forms in Ukrainian)."""
    return _translations(get_language()).ngettext(singular, plural, int(n))


def pgettext(context: str, message: str) -> str:
    """``message`` translated in ``context`` (the same English word meaning two things)."""
    return _translations(get_language()).pgettext(context, message)


#: Context of the schema's enumerated values (statuses, kinds, sectors, roles) in the catalogue.
TERM = "term"


def term(value: object) -> str:
    """A stored enumerated value (``"open"``, ``"in_progress"``, ``"collective_centre"``) in the current
    language, for labels and option lists; the stored value itself stays English. Unknown values (data,
    not vocabulary) come back unchanged; None gives ``""``."""
    if value is None:
        return ""
    text = str(value)
    got = pgettext(TERM, text)
    return text.replace("_", " ") if got == text else got


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (translate where shown: ``_(x)``)."""
    return message


# --- formats -------------------------------------------------------------------------------------

def _babel(name: str) -> ModuleType:
    """``babel.numbers`` or ``babel.dates``, imported on first use."""
    import importlib

    return importlib.import_module(f"babel.{name}")


def _locale() -> Locale:
    from babel import Locale

    return Locale.parse({"uk": "uk_UA", "en": "en_GB"}[get_language()])


def fmt_int(value: float | int | None) -> str:
    """A whole number with the locale's grouping: ``40,800`` / ``40 800``; ``–`` for None/NaN."""
    if value is None or value != value:
        return "–"
    return _english(round(value), 0, 0) or _babel("numbers").format_decimal(round(value), format="#,##0",
                                                                              locale=_locale())


def fmt_number(value: float | int | None, *, digits: int | None = None) -> str:
    """A number in the locale's format (``1,234.5`` / ``1 234,5``): exactly ``digits`` decimals, or with
    ``digits=None`` up to three and no trailing zeros (like ``:g``: ``15``, ``2.5``)."""
    if value is None or value != value:
        return "–"
    if digits is None:
        return _english(value, 0, 3) or _babel("numbers").format_decimal(value, format="#,##0.###",
                                                                          locale=_locale())
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return _english(value, digits, digits) or _babel("numbers").format_decimal(value, format=pattern,
                                                                                locale=_locale())


def _english(value: float | int, lo: int, hi: int) -> str | None:
    """``value`` as Babel formats it in English (``#,##0`` with ``lo`` to ``hi`` decimals), or None when
    the language is not English or the number is not finite.

    The same steps as ``babel.numbers.NumberPattern.apply`` (``Decimal(str(value))``, the sign taken
    before rounding, half-even quantizing, groups of three, trailing zeros down to ``lo``), without
    loading Babel's locale data: ~0.1 s of a one-off CLI command (tests/test_i18n.py compares the two).
    """
    if get_language() != "en":
        return None
    d = decimal.Decimal(str(value))
    if not d.is_finite():
        return None
    sign = "-" if d.is_signed() else ""
    try:
        whole, _sep, frac = f"{abs(d).normalize().quantize(decimal.Decimal(1).scaleb(-hi)):f}".partition(".")
    except decimal.InvalidOperation:  # more digits than the context's precision: Babel says what it says
        return None
    frac = (frac or "0").ljust(lo, "0")
    if hi == 0 or (lo == 0 and int(frac) == 0):
        frac = ""
    else:
        while len(frac) > lo and frac.endswith("0"):
            frac = frac[:-1]
        frac = "." + frac
    return f"{sign}{int(whole):,}{frac}"


def fmt_percent(fraction: float | None, *, digits: int = 1) -> str:
    """A fraction (0.25) as a percentage in the locale's format (``25.0%`` / ``25,0%``)."""
    if fraction is None or fraction != fraction:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    return _babel("numbers").format_percent(fraction, format=pattern, locale=_locale())


def fmt_date(value: dt.date | dt.datetime | None, *, format: str = "medium") -> str:
    """A calendar date in the locale (``27 Nov 2026`` / ``27 лист. 2026 р.``); ``–`` for None."""
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
    return _babel("dates").format_date(value, format=format, locale=_locale())


def fmt_datetime(value: dt.datetime | None, *, format: str = "medium") -> str:
    """A UTC date and time in the locale, with ``UTC`` after it; ``–`` for None. (DTG: ``timefmt.dtg``.)"""
    if value is None:
        return "–"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return _babel("dates").format_datetime(value, format=format, tzinfo=dt.UTC, locale=_locale()) + " UTC"
