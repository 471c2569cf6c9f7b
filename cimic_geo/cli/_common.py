"""Options shared by several commands."""

from __future__ import annotations

import argparse

from cimic_geo.i18n import _


def add_db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help=_("database file (default: env CIMIC_DB or data/cimic.duckdb)"))


def add_json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help=_("print one JSON document on stdout"))


def add_as_of_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", dest="as_of", help=_("as-of time, ISO 8601 UTC (default: latest in the store)"))


def add_store_options(p: argparse.ArgumentParser, *, as_of: bool = False) -> None:
    """``--as-of`` (when ``as_of``), ``--db`` and ``--json``: the options of a command that reads the store."""
    if as_of:
        add_as_of_option(p)
    add_db_option(p)
    add_json_option(p)
