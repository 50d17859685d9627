"""Merging elements into the stored network: created or replaced by id, nothing else touched.

A merge (a GIS layer of structures and ducts today) is a write like any edit: it reads the
stored network inside its own write transaction (so nothing written meanwhile is lost),
validates the network with the merge applied as a whole, and then writes only the elements
that differ from what is stored. A changed element's version goes up by one and an element
the merge adds starts at version 1, so an edit based on a version read before the merge is
refused as stale. Every written element gets an audit entry (``create`` or ``edit``, before
and after). Nothing the merge does not name is deleted: reservations, cables, the PON
layer and every other element stay as they are, with their versions.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.storage import export_document, import_document, make_engine, migrate
>>> engine = make_engine("sqlite://")
>>> migrate(engine)
>>> _ = import_document(engine, read_document("fixtures/tiny.json"))
>>> def move(base):
...     structures = [dict(s, lon=105.78) if s["id"] == "MH-01" else s
...                   for s in base["structures"]]
...     return {**base, "structures": structures}
>>> merge_elements(engine, move)
{'created': {}, 'updated': {'structure': 1}, 'unchanged': 5}
>>> [s["lon"] for s in export_document(engine)["structures"] if s["id"] == "MH-01"]
[105.78]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

from ponmodel import audit
from ponmodel.access import LOCAL_ADMIN, Principal, require_admin
from ponmodel.document import KIND_OF_COLLECTION, Document, load_document
from ponmodel.elements import ElementTable
from ponmodel.storage import (
    TABLE_OF_KIND,
    bump_revision,
    document_rows,
    export_with,
    lock_network,
    write_transaction,
)

MERGED_COLLECTIONS = ("structures", "ducts")
"""What a merge may create or replace: the shared plant drawn in a GIS."""


def merge_elements(engine: Engine, merge: Callable[[Document], Document], *,
                   actor: Principal = LOCAL_ADMIN) -> dict[str, Any]:
    """Apply ``merge`` to the stored network and write the structures and ducts it created
    or changed, in one transaction.

    Parameters
    ----------
    engine : Engine
        A migrated database.
    merge : callable
        Takes the stored network (read inside the write transaction) and returns the
        network with the merge applied; it may raise :class:`~ponmodel.errors.DocumentError`
        (nothing is written). The result is validated as a whole.
    actor : Principal
        Who merges: structures and ducts are shared plant, so an admin.

    Returns
    -------
    dict
        ``{"created": {kind: n}, "updated": {kind: n}, "unchanged": n}`` over the merged
        collections.

    Raises
    ------
    DocumentError
        The merged network is invalid, or ``merge`` refused the input; nothing was written.
    PonmodelError
        ``merge`` removed an element or changed one outside structures and ducts (a merge
        never deletes: that is an edit of its own).
    """
    require_admin(actor, "merge structures and ducts")
    with write_transaction(engine, whole_network=True) as conn:
        lock_network(conn)
        base = export_with(conn)
        merged = load_document(merge(base))
        created: dict[str, int] = {}
        updated: dict[str, int] = {}
        unchanged = 0
        entries: list[tuple[str, str, str, Any, Any]] = []
        for key in MERGED_COLLECTIONS:
            kind = KIND_OF_COLLECTION[key]
            stored = {e["id"]: e for e in base.get(key, [])}
            _check_nothing_removed(key, stored, merged.get(key, []))
            after = {e["id"]: e for e in merged.get(key, [])}
            old_rows = _rows_by_id(kind, list(stored.values()))
            for element_id, row in _rows_by_id(kind, list(after.values())).items():
                exists = element_id in old_rows
                if exists and old_rows[element_id] == row:
                    unchanged += 1
                    continue
                _write(conn, kind, row, exists=exists)
                counts = updated if exists else created
                counts[kind] = counts.get(kind, 0) + 1
                entries.append(("edit" if exists else "create", kind, element_id,
                                stored.get(element_id), after[element_id]))
        _check_rest_unchanged(base, merged)
        if entries:
            bump_revision(conn)  # first: each entry carries the revision the merge produced
        for action, kind, element_id, before, element in entries:
            audit.record(conn, actor, action, kind=kind, element_id=element_id, before=before,
                         after=element)
    return {"created": created, "updated": updated, "unchanged": unchanged}


def _rows_by_id(kind: str, elements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The table rows of ``elements`` (as an import writes them), keyed by id, in the order
    an insert needs (an innerduct after the duct it lies in)."""
    collection = next(k for k, v in KIND_OF_COLLECTION.items() if v == kind)
    rows = document_rows({collection: elements})[kind]  # type: ignore[typeddict-item]
    return {r["id"]: r for r in rows}


def _write(conn: Connection, kind: str, row: dict[str, Any], *, exists: bool) -> None:
    table = TABLE_OF_KIND[kind]
    registry = ElementTable.__table__
    if exists:
        conn.execute(table.update().where(table.c.id == row["id"]).values(**row))
        conn.execute(registry.update().where(registry.c.id == row["id"])
                     .values(version=registry.c.version + 1))
    else:
        conn.execute(registry.insert().values(id=row["id"], kind=kind, version=1))
        conn.execute(table.insert().values(**row))


def _check_nothing_removed(key: str, stored: dict[str, Any], merged: list[dict[str, Any]]
                           ) -> None:
    from ponmodel.errors import PonmodelError

    missing = stored.keys() - {e["id"] for e in merged}
    if missing:
        shown = ", ".join(sorted(missing)[:5])
        msg = f"a merge never deletes, but it leaves out {len(missing)} of {key}: {shown}"
        raise PonmodelError(msg)


def _check_rest_unchanged(base: Document, merged: Document) -> None:
    from ponmodel.errors import PonmodelError

    for key in KIND_OF_COLLECTION:
        if key in MERGED_COLLECTIONS:
            continue
        if len(base.get(key, [])) != len(merged.get(key, [])):
            msg = f"a merge of {', '.join(MERGED_COLLECTIONS)} changed {key}"
            raise PonmodelError(msg)
