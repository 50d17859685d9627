"""Who is asking, and what they may do: principals, roles and the write rules.

Three roles (issue 7): ``admin`` (the zones' management board) may do everything;
``planner`` writes only its own operator's equipment, cables and reservations; ``viewer``
only reads. A key with an operator reads that operator's scope (see
:mod:`ponmodel.scope`); a key without one (admin, or a board viewer) reads everything.

Examples
--------
>>> planner = Principal("k1", "vnpt planning", "planner", "vnpt")
>>> may_write(planner, "vnpt"), may_write(planner, "viettel")
(True, False)
>>> require_write(Principal("k2", "kiosk", "viewer", None), "vnpt")
Traceback (most recent call last):
...
ponmodel.errors.PermissionDeniedError: key 'k2' (kiosk) is a viewer: it cannot write
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ponmodel.errors import PermissionDeniedError

Role = Literal["admin", "planner", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "planner", "viewer")


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of a key, as the API and the audit log see it.

    Parameters
    ----------
    key_id : str
        The key's public id (``"local"`` for the command line, ``"anonymous"`` for the
        loopback viewer of the demo).
    name : str
        Who holds the key, as written when it was created.
    role : {"admin", "planner", "viewer"}
    operator : str or None
        The operator the key is scoped to; None reads every operator.
    """

    key_id: str
    name: str
    role: Role
    operator: str | None

    @property
    def scope(self) -> str | None:
        """The operator whose view this principal reads, or None for the whole network."""
        return None if self.role == "admin" else self.operator


LOCAL_ADMIN = Principal("local", "command line", "admin", None)
"""Whoever runs the command line on the database's machine: it holds the database file."""

LOOPBACK_VIEWER = Principal("anonymous", "loopback viewer", "viewer", None)
"""A request from this machine without a key, when ``PONMODEL_LOCAL_VIEWER`` allows it."""


def may_write(principal: Principal, operator: str | None) -> bool:
    """Whether ``principal`` may change plant or reservations of ``operator``.

    ``operator`` None means shared plant (zones, structures, ducts) or the whole network:
    only admins write those.
    """
    if principal.role == "admin":
        return True
    if principal.role == "planner":
        return operator is not None and operator == principal.operator
    return False


def require_write(principal: Principal, operator: str | None, element_id: str | None = None
                  ) -> None:
    """Raise :class:`PermissionDeniedError` unless ``principal`` may write ``operator``'s."""
    if may_write(principal, operator):
        return
    who = f"key {principal.key_id!r} ({principal.name})"
    if principal.role == "viewer":
        msg = f"{who} is a viewer: it cannot write"
    elif operator is None:
        msg = f"{who} is a planner of {principal.operator!r}: only an admin changes shared " \
              "plant or the whole network"
    else:
        what = f"{element_id!r}, which belongs to" if element_id else "the plant of"
        msg = f"{who} is a planner of {principal.operator!r}: it cannot change {what} " \
              f"{operator!r}"
    raise PermissionDeniedError(msg, element_id)


def require_admin(principal: Principal, what: str) -> None:
    """Raise :class:`PermissionDeniedError` unless ``principal`` is an admin."""
    if principal.role != "admin":
        msg = f"key {principal.key_id!r} ({principal.name}) is a {principal.role}: " \
              f"only an admin may {what}"
        raise PermissionDeniedError(msg)
