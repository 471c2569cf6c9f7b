"""Command-line interface: ``python -m cimic_geo <command> ...``.

Each module of this package that defines ``register(subparsers)`` adds its commands; the
handler it sets with ``set_defaults(handler=...)`` receives the parsed arguments and returns
either an exit code or a JSON-serialisable document (printed with ``--json``) and text lines.
Errors derived from :class:`cimic_geo.errors.CimicError`, a full disk, file-system and database
errors become a message on stderr and exit 2; a closed output pipe ends the command quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import json
import os
import pkgutil
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from cimic_geo.cli._actor import add_actor_option
from cimic_geo.cli._language import add_language_option, start_cli_language
from cimic_geo.errors import CimicError, ValidationError
from cimic_geo.i18n import _


def _command_modules(argv: Sequence[str] | None) -> list[str]:
    """The command modules to import: only the one whose source registers the command in ``argv``
    (``sub.add_parser("NAME"``), so a one-off command does not import every other command's
    libraries; all of them for help, an unknown command or no ``argv``."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    argv = list(argv or [])
    first = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
    if first is None or any(a.startswith("--as") for a in argv[:first]):  # --as NAME precedes the command
        return names
    pattern = re.compile(rf"""\bsub\.add_parser\(\s*["']{re.escape(argv[first])}["']""")
    hits = [n for n in names if pattern.search((Path(__file__).parent / f"{n}.py").read_text(encoding="utf-8"))]
    return hits if len(hits) == 1 else names


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser with every command (with ``argv``: only the module registering its command), its help in
    the language of the run (``--lang`` before the command, else ``CIMIC_LANGUAGE``)."""
    argv = start_cli_language(argv or [])
    parser = argparse.ArgumentParser(
        prog="python -m cimic_geo",
        description=_("CIMIC geospatial situational awareness: store, analytics and exports."),
    )
    add_actor_option(parser)  # --as NAME: act as a service account (default: the OS user)
    add_language_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _command_modules(argv):
        module = importlib.import_module(f"{__name__}.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def emit(args: argparse.Namespace, document: object, text: str | Sequence[str]) -> None:
    """Print ``document`` as one JSON document when ``--json`` was given, else the text."""
    if getattr(args, "json", False):
        json.dump(document, sys.stdout, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        print(text if isinstance(text, str) else "\n".join(text))


def _report(args: argparse.Namespace, exc: CimicError) -> int:
    """Print an error (and the JSON document with ``--json``); the exit code for errors is 2."""
    if getattr(args, "json", False):
        document: dict = {"ok": False, "error": str(exc)}
        if isinstance(exc, ValidationError):
            document = {"ok": False, "error": exc.message,
                        "problems": [{"row": p.row, "field": p.field, "message": p.message,
                                      "severity": p.severity} for p in exc.problems]}
        with contextlib.suppress(OSError):
            json.dump(document, sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
    print(f"error: {exc}", file=sys.stderr)
    return 2


def _disk_full(exc: BaseException) -> bool:
    """True when ``exc`` (or an error it was raised from) reports a full disk, whatever library raised it."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        if getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in text or \
                "disk is full" in text:  # SQLite (GeoPackage) words it so
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _as_cimic_error(exc: Exception) -> CimicError | None:
    """A readable error for failures outside the package's own errors (disk full, I/O, database)."""
    if _disk_full(exc):
        where = getattr(exc, "filename", None)
        return CimicError(f"the disk is full{f' ({where})' if where else ''}; nothing was saved. "
                          "Free some space and try again")
    from cimic_geo.store import describe_database_error  # the store (and pandas) only when a command failed

    database = describe_database_error(exc)
    if database is not None:
        return database
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return CimicError(f"{exc.strerror or exc}{where}")
    return None


def _close_stdout_quietly() -> None:
    """After a broken pipe, point stdout at /dev/null so that the interpreter's final flush stays quiet."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors become a message on stderr and exit code 2 (never a traceback).

    A reader that closes the output early (``... | head``) ends the command quietly with exit 2.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
        sys.stdout.flush()
    except BrokenPipeError:
        _close_stdout_quietly()
        return 2
    except CimicError as exc:
        return _report(args, exc)
    except Exception as exc:
        error = _as_cimic_error(exc)
        if error is None:
            raise
        return _report(args, error)
    return int(result or 0)
