"""Command-line interface: ``python -m cimic_geo <command> ...`` (DESIGN §7).

Each module of this package that defines ``register(subparsers)`` adds its commands; the
handler it sets with ``set_defaults(handler=...)`` receives the parsed arguments and returns
either an exit code or a JSON-serialisable document (printed with ``--json``) and text lines.
Errors derived from :class:`cimic_geo.errors.CimicError` become a message on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Sequence

from cimic_geo.errors import CimicError, ValidationError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cimic_geo",
        description="CIMIC geospatial situational awareness: store, analytics and exports.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
    except CimicError as exc:
        if getattr(args, "json", False):
            document: dict = {"ok": False, "error": str(exc)}
            if isinstance(exc, ValidationError):
                document = {"ok": False, "error": exc.message,
                            "problems": [{"row": p.row, "field": p.field, "message": p.message,
                                          "severity": p.severity} for p in exc.problems]}
            json.dump(document, sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)
