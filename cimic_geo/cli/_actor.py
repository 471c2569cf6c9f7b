"""Who runs a CLI command: the OS user (a trusted operator, role admin) or ``--as`` a service account.

``python -m cimic_geo --as NAME COMMAND ...`` acts as the store's user ``NAME`` (kind ``service``)
with that user's role; the account must exist and not be disabled. Without ``--as`` the actor is
the operating-system user running the command (kind ``os``, role admin: whoever can write the
database file can change it anyway). Every write names this actor in the audit trail.
"""

from __future__ import annotations

import argparse
from typing import Any

from cimic_geo.auth import Actor, os_actor
from cimic_geo.errors import PermissionDeniedError
from cimic_geo.i18n import _


def add_actor_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="as_user", metavar="NAME",
                        help=_("act as this service account of the store (default: the OS user, role admin)"))


def cli_actor(args: argparse.Namespace, store: Any) -> Actor:
    """The actor of this command (see the module docstring)."""
    name = getattr(args, "as_user", None)
    if not name:
        return os_actor()
    from cimic_geo.store.users import get_user

    user = get_user(store, name)
    if user is None:
        raise PermissionDeniedError(f"--as {name}: no such user in the store; create it with "
                                    "`python -m cimic_geo users add NAME --role editor`")
    if user.disabled:
        raise PermissionDeniedError(f"--as {name}: the account is disabled")
    return Actor(name=user.username, kind="service", role=user.role)


def cli_actor_at(args: argparse.Namespace, db: Any) -> Actor | None:
    """:func:`cli_actor` for commands that replace the store file (``init``, ``seed``): None without ``--as``."""
    if not getattr(args, "as_user", None):
        return None
    from cimic_geo.store import connect

    with connect(db, read_only=True) as store:
        return cli_actor(args, store)
