"""Roles, actors and the permission check every write function makes itself (no Streamlit).

Four roles, each allowed everything of the roles before it:

========  =====================================================================
viewer    read every layer, export files
planner   + create and edit corridors, move them through the status workflow
editor    + import files and edit layers (shelters, infrastructure, evacuations, ...)
admin     + manage users, seed or replace the store, read the audit trail
========  =====================================================================

An :class:`Actor` is who acts: a user signed in to the app (``user`` with a local account,
``oidc`` through the identity provider), the operating-system user running the CLI (``os``) or a
service account named with the CLI's ``--as`` (``service``). Write functions take
``actor=`` and call :func:`require`; a refusal raises :class:`PermissionDeniedError`, writes
nothing and leaves a ``refused`` row in the audit trail.

Decision: the OS user who runs the CLI on the machine that holds the store is a trusted operator
with the role ``admin`` — whoever can write the database file can change it anyway; the audit
records their OS name. Scheduled jobs run with ``--as NAME`` of a service account (a user of the
store, normally ``editor``) to act with less and to be told apart in the trail. In the app, no
write happens without a signed-in user: every page run calls :func:`forbid_implicit_actor`, after
which a write without ``actor=`` is refused.
"""

from __future__ import annotations

import getpass
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cimic_geo.errors import PermissionDeniedError
from cimic_geo.schema import ACTOR_KINDS, ROLES

VIEWER, PLANNER, EDITOR, ADMIN = ROLES

#: The lowest role that may do each thing.
PERMISSIONS: dict[str, str] = {
    "read": VIEWER,
    "export": VIEWER,
    "corridors": PLANNER,
    "import": EDITOR,
    "edit": EDITOR,
    "users": ADMIN,
    "seed": ADMIN,
    "audit": ADMIN,
}

_WHAT = {
    "read": "read the store", "export": "export files", "corridors": "change corridors",
    "import": "import files", "edit": "edit layers", "users": "manage users",
    "seed": "seed or replace the store", "audit": "read the audit trail",
}


def role_rank(role: str) -> int:
    """0 for viewer ... 3 for admin; -1 for anything else."""
    return ROLES.index(role) if role in ROLES else -1


@dataclass(frozen=True)
class Actor:
    """Who is acting: ``name`` (user name or OS user), ``kind`` (user/os/service/oidc), ``role``."""

    name: str
    kind: str
    role: str

    def __post_init__(self) -> None:
        if self.kind not in ACTOR_KINDS:
            raise PermissionDeniedError(f"unknown actor kind '{self.kind}'")

    def can(self, permission: str) -> bool:
        """True when this actor's role allows ``permission`` (a key of :data:`PERMISSIONS`)."""
        needed = PERMISSIONS.get(permission)
        return needed is not None and role_rank(self.role) >= role_rank(needed)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.role})"


def os_actor() -> Actor:
    """The operating-system user running this program, as a trusted operator (role admin)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        name = "unknown-os-user"
    return Actor(name=name, kind="os", role=ADMIN)


_thread = threading.local()


def forbid_implicit_actor() -> None:
    """From now on in this thread, writes must name their actor.

    The app calls it at the start of every page run (Streamlit runs each session's script in its
    own thread), so no write made while serving a page can fall back to the OS user.
    """
    _thread.app = True


def resolve_actor(actor: Actor | None) -> Actor:
    """``actor``, or the OS user outside the app (CLI, scripts, tests).

    Raises
    ------
    PermissionDeniedError
        In a page run of the app (see :func:`forbid_implicit_actor`) when no actor is given.
    """
    if actor is not None:
        return actor
    if not getattr(_thread, "app", False):
        return os_actor()
    raise PermissionDeniedError("sign in first: this change needs a signed-in user")


def require(
    actor: Actor | None,
    permission: str,
    *,
    store: Any = None,
    action: str | None = None,
    layer: str | None = None,
    ids: Sequence[str] = (),
    detail: str | None = None,
) -> Actor:
    """Check that ``actor`` may do ``permission``; return the resolved actor.

    Parameters
    ----------
    actor : who acts (None: the OS user outside the app, refused in the app)
    permission : a key of :data:`PERMISSIONS`
    store : where to record a refusal (an audit row with outcome ``refused``)
    action, layer, ids, detail : what was attempted, for the audit row

    Raises
    ------
    PermissionDeniedError
        When the role does not allow it; nothing is written but the refusal's audit row.
    """
    if permission not in PERMISSIONS:
        raise PermissionDeniedError(f"unknown permission '{permission}'")
    who = resolve_actor(actor)
    if who.can(permission):
        return who
    needed = PERMISSIONS[permission]
    message = (f"{who.name} has the role {who.role} and may not {_WHAT[permission]} "
               f"(needs {needed} or higher); nothing was changed")
    if store is not None:
        from cimic_geo.store.audit import AuditEntry, record_refusal

        record_refusal(store, who, AuditEntry(action=action or permission, layer=layer, ids=list(ids),
                                              detail=detail or message))
    raise PermissionDeniedError(message)
