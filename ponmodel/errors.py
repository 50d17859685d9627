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
        What is wrong, in words an engineer reads; a value of the document it echoes is
        cut (:func:`ponmodel.document.shown`).
    element_id : str or None
        The id of the element the problem belongs to, when it has one. The validator gives
        an id that is no valid id (over-long, a NUL or another control character) in its
        cut, escaped ``repr`` form, so that printing a problem is always safe and short.
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
    """A network document is invalid; every problem is found at once.

    Parameters
    ----------
    problems : list of ElementError
        The problems, in document order; only the first ``MAX_SHOWN`` are kept (a
        document of 500,000 empty ONTs has 2,000,000 problems: keeping and answering them
        all cost 19 s and a 229 MB response).
    total : int
        How many problems were found in all (at least ``len(problems)``; by default the
        length of the list given).

    Examples
    --------
    >>> err = DocumentError([ElementError(f"/onts/{i}", "wrong") for i in range(1001)])
    >>> len(err.problems), err.total, err.more
    (1000, 1001, 1)
    >>> str(err).splitlines()[-1]
    '  … and 1 more problems (1,001 in all)'
    """

    MAX_SHOWN = 1000
    """Problems kept (and shown by the CLI and the API); the rest are only counted."""

    problems: list[ElementError] = field(default_factory=list)
    total: int = 0

    def __post_init__(self) -> None:
        self.total = max(self.total, len(self.problems))
        if len(self.problems) > self.MAX_SHOWN:
            self.problems = self.problems[: self.MAX_SHOWN]

    @property
    def more(self) -> int:
        """Problems found but not kept."""
        return self.total - len(self.problems)

    def __str__(self) -> str:
        head = f"invalid network document: {self.total:,} problem(s)"
        lines = [head, *(f"  {p}" for p in self.problems)]
        if self.more:
            lines.append(f"  … and {self.more:,} more problems ({self.total:,} in all)")
        return "\n".join(lines)


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


class DependentsError(ConflictError):
    """Removing an element that other elements still refer to (nothing cascades).

    Parameters
    ----------
    kind, element_id : str
        The element that was to be removed.
    dependents : list of (kind, id, field)
        What still refers to it, and through which field.
    hidden : int
        Referrers outside the caller's scope: counted, never named.
    """

    def __init__(self, kind: str, element_id: str, dependents: list[tuple[str, str, str]],
                 hidden: int = 0) -> None:
        self.kind = kind
        self.dependents = dependents
        self.hidden = hidden
        shown = [f"{k} {i!r} ({f})" for k, i, f in dependents[:20]]
        if len(dependents) > 20:
            shown.append(f"{len(dependents) - 20:,} more")
        if hidden:
            shown.append(f"{hidden:,} element(s) of other operators")
        verb = "refers" if len(dependents) + hidden == 1 else "refer"
        super().__init__(f"{kind} {element_id!r} cannot be removed: {', '.join(shown)} still "
                         f"{verb} to it", element_id)


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


class StorageError(PonmodelError):
    """The database cannot do what was asked of it: its disk is full, it is read-only, or
    it cannot be reached. Nothing was written.

    Parameters
    ----------
    message : str
        The database (file or server) and the cause, in one line.
    reason : {"full", "read_only", "unavailable"}
        What is wrong, for callers that answer differently (the API: 507 or 503).
    """

    def __init__(self, message: str, *, reason: str) -> None:
        self.reason = reason
        super().__init__(message)


class InvalidRequestError(PonmodelError, ValueError):
    """A question the library cannot answer as asked: a value breaks its rule.

    The message names the field, the value, the unit and the rule, e.g. ``service.down:
    assured_mbps 2000 Mbit/s exceeds max_mbps 1000 Mbit/s (assured ≤ max)``. The CLI exits 2
    on it, the API answers 422 (``/problems/invalid-value``).

    Parameters
    ----------
    message : str
        What is wrong, in one line.
    field : str or None
        The field (or option) at fault.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


UNITS = {"_mm": "mm", "_m": "m", "_db": "dB", "_dbm": "dBm", "_mbps": "Mbit/s",
         "_gbps": "Gbit/s", "_s": "s", "_km": "km", "_nm": "nm", "_mm2": "mm²"}
"""Name suffix → unit: every physical name carries its unit (``length_m``, ``loss_db``)."""

_RULES = {"greater_than": ("more than", "gt"), "greater_than_equal": ("at least", "ge"),
          "less_than": ("less than", "lt"), "less_than_equal": ("at most", "le")}


def unit_of(field: str) -> str:
    """The unit a field's name carries, or ``""``.

    Examples
    --------
    >>> unit_of("service.down.max_mbps"), unit_of("length_m"), unit_of("fibre_count")
    ('Mbit/s', 'm', '')
    """
    last = field.rsplit(".", 1)[-1]
    return next((unit for suffix, unit in sorted(UNITS.items(), key=lambda kv: -len(kv[0]))
                 if last.endswith(suffix)), "")


def rule_words(error: dict[str, object]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in our words: the
    field, the value given and its unit, the rule.

    Examples
    --------
    >>> rule_words({"type": "greater_than", "loc": ("body", "cable_diameter_mm"),
    ...             "input": -3, "ctx": {"gt": 0.0}, "msg": "Input should be greater than 0"})
    'cable_diameter_mm = -3 mm: must be more than 0 mm'
    >>> rule_words({"type": "missing", "loc": ("body", "operator"), "input": {},
    ...             "msg": "Field required"})
    'operator: field required'
    """
    field, given, rule = _parts(error)
    return f"{field}{given}: {rule}"


def range_words(error: dict[str, object]) -> str | None:
    """A pydantic range error (``gt``, ``ge``, ``lt``, ``le``) as the rule then the value,
    for a message whose pointer already names the field; None for another kind of error.

    Examples
    --------
    >>> range_words({"type": "greater_than", "loc": ("links", 2, "length_m"), "input": 0,
    ...              "ctx": {"gt": 0.0}, "msg": "Input should be greater than 0"})
    'must be more than 0 m, not 0 m'
    """
    if str(error.get("type", "")) not in _RULES:
        return None
    _, given, rule = _parts(error)
    return f"{rule}, not {given.removeprefix(' = ')}" if given else rule


def _parts(error: dict[str, object]) -> tuple[str, str, str]:
    """(field, `` = value unit`` or ``""``, the rule) of one pydantic error."""
    loc = [str(x) for x in error.get("loc", ()) or ()]  # type: ignore[union-attr]
    if loc and loc[0] in ("body", "query", "path", "header"):
        loc = loc[1:]
    field = ".".join(loc) or "value"
    unit = unit_of(field)
    suffix = f" {unit}" if unit else ""
    ctx = error.get("ctx") or {}
    kind = str(error.get("type", ""))
    if kind in _RULES:
        words, key = _RULES[kind]
        bound = ctx.get(key)  # type: ignore[attr-defined]
        shown_bound = f"{bound:g}" if isinstance(bound, float) else bound
        rule = f"must be {words} {shown_bound}{suffix}"
    else:
        rule = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        rule = rule[:1].lower() + rule[1:]
    value = error.get("input")
    given = "" if isinstance(value, dict | list) or value is None else f" = {value}{suffix}"
    return field, given, rule


class CatalogError(KeyError):
    """A figure the catalogue does not hold (unknown name, class, ratio or size).

    A `KeyError`, hence also a `LookupError`: callers may catch either. It is no
    :class:`PonmodelError`: the CLI exits 2 on it (invalid input) and the API answers 422,
    where a generic domain error is exit 1.

    Examples
    --------
    >>> str(CatalogError("no splitter of ratio 1:3"))
    'no splitter of ratio 1:3'
    """

    def __str__(self) -> str:
        # KeyError.__str__ would quote the message (it shows the missing key's repr).
        return str(self.args[0]) if self.args else ""


class KernelError(PonmodelError):
    """The kernel refused its input (a status code other than OK)."""


class ReservationError(PonmodelError):
    """A reservation request that cannot be carried out as asked (bad route, bad cable)."""


class RouteError(PonmodelError):
    """A route request that cannot be answered as asked."""


class KeyRequestError(PonmodelError):
    """A key that cannot be created as asked (bad role, unknown operator)."""


class ReplayError(Exception):
    """The changes do not fit the topology (an edit of an element it does not hold, a
    creation of one it holds, an id that changes kind): build it again instead.

    No :class:`PonmodelError`: no caller ever sees it. The API's cache catches it and
    builds the topology again."""
