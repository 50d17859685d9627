"""Domain errors. The library raises these; only ``ponmodel.api`` maps them to HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field


class PonmodelError(Exception):
    """Base class of every error ponmodel raises on purpose."""


@dataclass(frozen=True, slots=True)
class ElementError:
    """One problem of a network document, located by element id and JSON pointer.

    Parameters
    ----------
    pointer : str
        RFC 6901 JSON pointer to the offending value, e.g. ``/links/3/length_m``.
    message : str
        What is wrong, in words an engineer reads.
    element_id : str or None
        The id of the element the problem belongs to, when it has one.
    field : str or None
        The field name, when the problem is about one field.
    """

    pointer: str
    message: str
    element_id: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        """Plain-dict form used by the CLI's ``--json`` and the API's problem details."""
        return {
            "element_id": self.element_id,
            "pointer": self.pointer,
            "field": self.field,
            "message": self.message,
        }

    def __str__(self) -> str:
        who = f"{self.element_id}: " if self.element_id else ""
        return f"{self.pointer or '/'}: {who}{self.message}"


@dataclass
class DocumentError(PonmodelError):
    """A network document is invalid; ``problems`` lists every problem found at once."""

    problems: list[ElementError] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"invalid network document: {len(self.problems)} problem(s)"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class NotFoundError(PonmodelError, LookupError):
    """An element id that does not exist (or is of another kind than asked)."""

    def __init__(self, kind: str, element_id: str) -> None:
        self.kind = kind
        self.element_id = element_id
        super().__init__(f"no {kind} with id {element_id!r}")


class ConflictError(PonmodelError):
    """A write that conflicts with what the database holds (taken id, full duct, stale version)."""

    def __init__(self, message: str, element_id: str | None = None) -> None:
        self.element_id = element_id
        super().__init__(message)


class InventoryNotEmptyError(ConflictError):
    """An import into a database that already holds a network, without ``replace``."""


class AuthenticationError(PonmodelError):
    """A request without a valid key (missing, unknown, malformed or revoked)."""


class PermissionDeniedError(PonmodelError):
    """A valid key whose role or operator does not allow the action."""

    def __init__(self, message: str, element_id: str | None = None) -> None:
        self.element_id = element_id
        super().__init__(message)


class StaleVersionError(ConflictError):
    """An edit based on a version of the element that another edit has replaced."""

    def __init__(self, element_id: str, sent: int, current: int) -> None:
        self.sent = sent
        self.current = current
        super().__init__(
            f"{element_id!r} is at version {current}, the edit was based on version {sent}: "
            "read it again and reapply the change",
            element_id,
        )
