"""The language of a command-line run and argparse's own words in it.

The help text of every option is translated when the parser is built, so the language is settled
first: ``--lang uk`` / ``--lang en`` before the command, else the setting (``CIMIC_LANGUAGE``).
argparse writes a few words of its own ("usage:", "options", its error messages) through gettext's
``argparse`` domain; :func:`install_argparse_messages` sends them through the package's catalogue
(the strings are listed below so that the catalogue holds them) and falls back to gettext for any
other text, so English output is exactly argparse's.
"""

from __future__ import annotations

import argparse
import gettext
import sys
from collections.abc import Sequence

from cimic_geo.errors import ConfigError
from cimic_geo.i18n import LANGUAGES, N_, _, default_language, gettext_, normalise, set_language

#: argparse's messages (Python 3.11) that a user of these commands can meet; translated in the catalogue.
ARGPARSE_MESSAGES: tuple[str, ...] = (
    N_("usage: "),
    N_("options"),
    N_("positional arguments"),
    N_("show this help message and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("ignored explicit argument %r"),
    N_("unexpected option string: %s"),
    N_("can't open '%(filename)s': %(error)s"),
)
_KNOWN = frozenset(ARGPARSE_MESSAGES)
#: Options before the command that take a value (``--as NAME``).
_VALUE_OPTIONS = frozenset({"--as"})


def _argparse_gettext(message: str) -> str:
    if message in _KNOWN:
        got = gettext_(message)
        if got != message:
            return got
    return gettext.gettext(message)


def install_argparse_messages() -> None:
    """Let argparse's own words follow the language of the run (idempotent; English unchanged)."""
    argparse._ = _argparse_gettext  # type: ignore[attr-defined]  # argparse looks its ``_`` up per call


def split_language_option(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """The value of ``--lang`` given before the command (``--lang uk`` or ``--lang=uk``) and the other
    arguments, in order (so that finding the command skips the option's value)."""
    args = list(argv)
    value: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i:])
            break
        if not a.startswith("-"):  # the command: later --lang belongs to nobody (argparse will say so)
            rest.extend(args[i:])
            break
        if a == "--lang" and i + 1 < len(args):
            value = args[i + 1]
            i += 2
            continue
        if a.startswith("--lang="):
            value = a.split("=", 1)[1]
            i += 1
            continue
        if a in _VALUE_OPTIONS and i + 1 < len(args):  # ``--as NAME``: the name is not the command
            rest.extend(args[i:i + 2])
            i += 2
            continue
        rest.append(a)
        i += 1
    return value, rest


def start_cli_language(argv: Sequence[str]) -> list[str]:
    """Settle the language of this run before the parser is built; return ``argv`` without ``--lang``.

    ``--lang`` wins over the setting; an unknown ``--lang`` value builds the help in English and
    argparse refuses it. A wrong ``CIMIC_LANGUAGE`` ends the run with the setting's error (exit 2).
    """
    value, rest = split_language_option(argv)
    if value is not None:
        set_language(normalise(value))
    else:
        try:
            default_language()
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    install_argparse_messages()
    return rest


def add_language_option(parser: argparse.ArgumentParser) -> None:
    """``--lang``: the language of help, messages and text output (JSON keys stay English)."""
    parser.add_argument("--lang", choices=sorted(LANGUAGES), metavar="LANG",
                        help=_("language of the help and the text output: uk or en (default: CIMIC_LANGUAGE or en)"))
