"""Edits of one stored element, with an optimistic lock and an audit entry.

An edit names the version it was based on; the element's ``version`` (in the ``element``
registry) must still be that one, else :class:`~ponmodel.errors.StaleVersionError` and
nothing changes: two people editing the same ONT never lose one another's change.

The checks run in one transaction, in this order: the ONT must exist *in the editor's
scope* (:mod:`ponmodel.scope`: an ONT of another operator's tree is, to a planner or a
scoped viewer, exactly an id that does not exist, whatever version the edit names), then
the editor's role must allow the write, then the version must still be the one named. The
scope and role checks only read; the version check is the transaction's first statement
that takes a lock (the row's), so on PostgreSQL a concurrent edit of the same element
waits, then sees the new version and fails; on SQLite the transaction holds the write lock
from its start.

Changes follow JSON Merge Patch (RFC 7396): nested objects (``service``) merge, ``null``
clears an optional field. The edited element is validated by the document's own rules
(:func:`ponmodel.document.validate_element`). Only fields that leave the PON tree as it is
may change: an ONT's customer, kind, structure, optics overrides and service. Moving an
ONT to another port is a change of links, done by importing the network.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.storage import import_document, make_engine, migrate
>>> engine = make_engine("sqlite://")
>>> migrate(engine)
>>> _ = import_document(engine, read_document("fixtures/tiny.json"))
>>> edited = edit_ont(engine, "ONT-01", {"customer": "Nhà máy B"}, expected_version=1)
>>> edited["version"], edited["element"]["customer"]
(2, 'Nhà máy B')
>>> edit_ont(engine, "ONT-01", {"customer": "C"}, expected_version=1)
Traceback (most recent call last):
...
ponmodel.errors.StaleVersionError: 'ONT-01' is at version 2, the edit was based on version 1: ...
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, select

from ponmodel import audit
from ponmodel.access import LOCAL_ADMIN, Principal, require_write
from ponmodel.document import validate_element
from ponmodel.elements import ElementTable, LinkTable, OltTable, OntTable, PortTable
from ponmodel.errors import DocumentError, ElementError, NotFoundError, StaleVersionError
from ponmodel.storage import bump_revision, kind_of, ont_row, read_elements, write_transaction

EDITABLE_ONT_FIELDS = (
    "customer",
    "kind",
    "structure",
    "onu_tx_dbm",
    "onu_rx_sensitivity_dbm",
    "onu_rx_overload_dbm",
    "service",
)
"""Fields of an ONT an edit may change."""

_MAX_TREE_DEPTH = 64


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with ``patch`` applied as an RFC 7396 JSON Merge Patch (a new value):
    objects merge member by member, ``null`` removes a member (an optional field of an
    element then takes its default, which is null), anything else replaces.

    Examples
    --------
    >>> merge_patch({"a": 1, "s": {"x": 1, "y": 2}}, {"s": {"y": 3, "x": None}, "a": None})
    {'s': {'y': 3}}
    """
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def tree_operator(conn: Connection, element_id: str) -> str | None:
    """The operator of the OLT whose port feeds a splitter, ONT or link (walking up the
    links), or None when no port reaches it."""
    links, ports, olts = LinkTable.__table__, PortTable.__table__, OltTable.__table__
    node = element_id
    for _ in range(_MAX_TREE_DEPTH):
        source = conn.execute(select(links.c.from_id).where(links.c.to_id == node)).scalar()
        if source is None:
            return None
        olt = conn.execute(select(ports.c.olt_id).where(ports.c.id == source)).scalar()
        if olt is not None:
            operator = conn.execute(select(olts.c.operator).where(olts.c.id == olt)).scalar()
            return None if operator is None else str(operator)
        node = source
    return None


def visible_ont_operator(conn: Connection, ont_id: str, reader: Principal) -> str | None:
    """The operator of an ONT that ``reader`` may read (None for one no port reaches).

    Raises :class:`~ponmodel.errors.NotFoundError` — the same one as for an id that does
    not exist — when there is no such ONT or it is outside ``reader``'s scope (another
    operator's tree, or no tree at all: :func:`ponmodel.scope.redact` keeps neither).
    Only reads: it takes no lock.
    """
    element = ElementTable.__table__
    exists = conn.execute(select(element.c.id).where(
        element.c.id == ont_id, element.c.kind == "ont")).first() is not None
    operator = tree_operator(conn, ont_id)
    if not exists or (reader.scope is not None and operator != reader.scope):
        raise NotFoundError(kind="ont", element_id=ont_id)
    return operator


def edit_ont(engine: Engine, ont_id: str, changes: dict[str, Any], *, expected_version: int,
             actor: Principal = LOCAL_ADMIN) -> dict[str, Any]:
    """Change fields of one ONT if it is still at ``expected_version``.

    Returns
    -------
    dict
        ``{"element": the ONT after the edit, "version": its new version}``.

    Raises
    ------
    NotFoundError
        No ONT with this id in ``actor``'s scope (checked first).
    PermissionDeniedError
        ``actor`` may not write the ONT's operator's plant (checked second).
    StaleVersionError
        The ONT has been edited since ``expected_version`` (checked last).
    DocumentError
        A field that cannot be edited, or an edited ONT the document's rules refuse.
    """
    fixed = [f for f in changes if f not in EDITABLE_ONT_FIELDS]
    if fixed:
        raise DocumentError([
            ElementError(f"/{f}", f"{f} cannot be edited (editable: "
                         f"{', '.join(EDITABLE_ONT_FIELDS)})", ont_id, f)
            for f in fixed
        ])
    element = ElementTable.__table__
    with write_transaction(engine) as conn:
        require_write(actor, visible_ont_operator(conn, ont_id, actor), ont_id)
        claimed = conn.execute(
            element.update()
            .where(element.c.id == ont_id, element.c.kind == "ont",
                   element.c.version == expected_version)
            .values(version=element.c.version + 1)
        ).rowcount
        if claimed != 1:
            current = conn.execute(
                select(element.c.version).where(element.c.id == ont_id, element.c.kind == "ont")
            ).scalar()
            if current is None:  # removed since the scope check (an import replacing all)
                raise NotFoundError(kind="ont", element_id=ont_id)
            raise StaleVersionError(ont_id, expected_version, int(current))
        before = read_elements(conn, "ont", ids=[ont_id])[0][0]
        merged = merge_patch(before, changes)
        structure = merged.get("structure")
        known = {}
        if isinstance(structure, str):
            found = kind_of(conn, structure)
            if found is not None:
                known[structure] = found
        after = validate_element("onts", merged, known)
        ont = OntTable.__table__
        conn.execute(ont.update().where(ont.c.id == ont_id).values(**ont_row(after)))
        stored = read_elements(conn, "ont", ids=[ont_id])[0][0]  # as every reader reads it
        bump_revision(conn)
        audit.record(conn, actor, "edit", kind="ont", element_id=ont_id, before=before,
                     after=stored)
    return {"element": stored, "version": expected_version + 1}
