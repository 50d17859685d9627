"""Changes of the stored network, element by element: created, updated and removed, one at
a time or several as one atomic change, each checked by the network document's rules.

A change is a list of operations (the body of ``POST /changes``)::

    [{"op": "create", "kind": "splitter", "element": {...}},
     {"op": "update", "kind": "link", "id": "FL-1", "changes": {...}, "version": 3},
     {"op": "delete", "kind": "ont", "id": "ONT-9"}]

``element`` is the element exactly as the network document writes it (a port carries one
more field, ``olt``, naming its OLT; an OLT may bring its ports); ``changes`` is a JSON Merge
Patch (RFC 7396) of the element's fields; ``version`` (optional) is the version the
operation was based on. Each id appears in one operation of a change, and ids never
change (a rename is a delete and a create).

:func:`apply_changes` runs a change in one transaction, all or nothing, in this order:

1. **Shape** of the operations (422, pointers into the change: ``/2/changes/length_m``).
2. **Scope, role, version** per operation, as for every write (:mod:`ponmodel.edits`): an
   element of another operator's tree is, to a planner, an id that does not exist (404,
   and a reference to it "does not exist", 422); then the role (403: planners write their
   own operator's OLTs, ports, splitters, links, ONTs, cables and sites, and create
   buildings; everything else is an admin's); then the version (:class:`StaleVersionError`).
   A create of an id already used is a :class:`~ponmodel.errors.ConflictError`.
3. **Dependents**: removing an element something still refers to (a splitter that feeds
   links, a duct that cables run through, a structure that holds equipment, a duct that
   a reservation holds) is refused with every referrer named
   (:class:`~ponmodel.errors.DependentsError`). Nothing cascades, except that an OLT is
   removed with its ports (they are part of it in the document).
4. **The network's rules**, on the part of the network the change touches
   (:mod:`ponmodel.region`): the same problems a validation of the whole network with the
   change applied gives, found by examining only the edited elements, what refers to them
   and the PON subtree below any edited link (:class:`~ponmodel.errors.DocumentError`;
   an element the change names is located in the change, ``/0/element/ratio``; another
   element by its id and a pointer into it, ``/ratio``).
5. **Write**: rows, versions (a created element starts at 1, an updated one goes up by
   one, an update that changes nothing is not written at all), one network revision, and
   an audit entry per element (``create``, ``edit`` or ``delete``, with the element
   before and after).

Concurrency: on PostgreSQL the change locks, in one statement and in id order, the
registry rows of every element it names and of every element its created or changed
elements refer to (a splitter that gains a link, the structure of a new ONT), so two
changes that could each be valid alone but not together (two new links into the last free
leg of a splitter) run one after the other; on SQLite the write transaction holds the
database's one write lock.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.storage import import_document, make_engine, migrate
>>> engine = make_engine("sqlite://")
>>> migrate(engine)
>>> _ = import_document(engine, read_document("fixtures/tiny.json"))
>>> result = apply_changes(engine, [
...     {"op": "update", "kind": "link", "id": "DR-01", "changes": {"length_m": 900},
...      "version": 1}])
>>> result["elements"]
[{'op': 'update', 'kind': 'link', 'id': 'DR-01', 'version': 2}]
>>> apply_changes(engine, [{"op": "delete", "kind": "ont", "id": "ONT-01"}])
Traceback (most recent call last):
...
ponmodel.errors.DependentsError: ont 'ONT-01' cannot be removed: link 'DR-01' (to) still ...
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from ponmodel import audit
from ponmodel.access import LOCAL_ADMIN, Principal, may_write, require_write
from ponmodel.document import validate_region
from ponmodel.edits import merge_patch
from ponmodel.elements import (
    ApiKeyTable,
    CableDuctTable,
    ElementTable,
    LinkCableTable,
    PortTable,
    ReservationDuctTable,
    ReservationTable,
)
from ponmodel.errors import (
    ConflictError,
    DependentsError,
    DocumentError,
    ElementError,
    NotFoundError,
    StaleVersionError,
)
from ponmodel.pending import PendingNetwork, references
from ponmodel.region import COLLECTION_OF_KIND, touched_region
from ponmodel.storage import (
    TABLE_OF_KIND,
    bump_revision,
    document_rows,
    elements_by_ids,
    one_of,
    revision,
    write_transaction,
)

KINDS = ("operator", "zone", "structure", "duct", "cable", "olt", "port", "splitter", "ont",
         "link", "site")
"""Every element kind, parents before children (the order a change creates them in)."""

PLURALS = {kind: f"{kind}s" for kind in KINDS}
"""Kind → its collection in URLs (``/splitters``)."""

SHARED_KINDS = ("operator", "zone", "structure", "duct")
"""Plant no operator owns: written by admins (a planner may create a ``building``)."""

OPS = ("create", "update", "delete")

MAX_OPERATIONS = 100_000
"""Operations in one change (a year's survey of a zone is some thousands of rows)."""

_OPERATION_KEYS = {"op", "kind", "id", "element", "changes", "version"}


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a change, as parsed (see the module's description)."""

    op: str
    kind: str
    id: str
    element: dict[str, Any] | None = None
    changes: dict[str, Any] | None = None
    version: int | None = None
    index: int = 0
    """Its position in the change (problems are located by it)."""
    within: str = ""
    """For a port an OLT's create brings: its pointer inside the OLT (``/ports/1``)."""


@dataclass
class _Change:
    """A change being applied: its operations and the network with them laid over it."""

    operations: list[Operation]
    net: PendingNetwork
    actor: Principal
    versions: dict[str, int] = field(default_factory=dict)
    before: dict[str, dict[str, Any]] = field(default_factory=dict)


# --------------------------------------------------------------------------- parsing


def parse_operations(raw: Any) -> list[Operation]:
    """The operations of a change body, checked in their shape.

    Raises
    ------
    DocumentError
        Every problem, located in the change (``/1/op``).

    Examples
    --------
    >>> parse_operations([{"op": "delete", "kind": "ont", "id": "N1"}])[0].id
    'N1'
    >>> parse_operations([{"op": "move", "kind": "ont", "id": "N1"}])
    Traceback (most recent call last):
    ...
    ponmodel.errors.DocumentError: invalid network document: 1 problem(s)
      /0/op: N1: op must be one of create, update, delete, got 'move'
    """
    if not isinstance(raw, list):
        raise DocumentError([ElementError("", "a change is a list of operations")])
    if not raw:
        raise DocumentError([ElementError("", "a change holds at least one operation")])
    if len(raw) > MAX_OPERATIONS:
        raise DocumentError([ElementError("", f"a change holds at most {MAX_OPERATIONS:,} "
                                              f"operations, this one {len(raw):,}")])
    problems: list[ElementError] = []
    out: list[Operation] = []
    first_of: dict[str, int] = {}
    for i, item in enumerate(raw):
        parsed = _parse_one(i, item, problems)
        if parsed is None:
            continue
        for op in _expanded(parsed):
            if op.id in first_of:
                where = f"/element{op.within}/id" if op.op == "create" else "/id"
                problems.append(ElementError(
                    f"/{i}{where}",
                    f"{op.id!r} is already named by operation {first_of[op.id]}: an element "
                    "appears in one operation of a change", op.id, "id"))
            else:
                first_of[op.id] = i
            out.append(op)
    if problems:
        raise DocumentError(problems[:DocumentError.MAX_SHOWN], len(problems))
    return out


def _parse_one(i: int, item: Any, problems: list[ElementError]) -> Operation | None:
    def bad(name: str, message: str, element_id: Any = None) -> None:
        problems.append(ElementError(f"/{i}/{name}" if name else f"/{i}", message,
                                     element_id if isinstance(element_id, str) else None,
                                     name or None))

    if not isinstance(item, dict):
        bad("", "an operation is an object with op, kind and id (or element)")
        return None
    n = len(problems)
    element = item.get("element")
    ident = item.get("id", element.get("id") if isinstance(element, dict) else None)
    for key in sorted(set(item) - _OPERATION_KEYS):
        bad(str(key), f"unknown key {key!r} (allowed: {', '.join(sorted(_OPERATION_KEYS))})",
            ident)
    op, kind = item.get("op"), item.get("kind")
    if op not in OPS:
        bad("op", f"op must be one of {', '.join(OPS)}, got {op!r}", ident)
    if kind not in KINDS:
        bad("kind", f"kind must be one of {', '.join(KINDS)}, got {kind!r}", ident)
    if not isinstance(ident, str) or not ident or "\x00" in ident:
        bad("id" if op != "create" else "element/id", "id must be a non-empty string without "
            "NUL", None)
    version = item.get("version")
    if version is not None and (type(version) is not int or not 1 <= version <= 2**62):
        bad("version", f"version must be a whole number from 1, got {version!r}", ident)
    if op == "create":
        if not isinstance(element, dict):
            bad("element", "a create brings the element, an object", ident)
        elif "id" in item and element.get("id") != item["id"]:
            bad("id", f"id {item['id']!r} is not the element's id {element.get('id')!r}",
                ident)
        if "changes" in item:
            bad("changes", "a create brings its element, not changes", ident)
        if version is not None:
            bad("version", "a create has no version to be based on (it starts at 1)", ident)
    elif op == "update":
        if not isinstance(item.get("changes"), dict):
            bad("changes", "an update brings changes: an object of the fields to change "
                "(JSON Merge Patch)", ident)
        if "element" in item:
            bad("element", "an update brings changes, not an element", ident)
    elif op == "delete":
        for key in ("element", "changes"):
            if key in item:
                bad(key, f"a delete brings no {key}", ident)
    if len(problems) > n:
        return None
    return Operation(op, kind, ident, element=element, changes=item.get("changes"),
                     version=version, index=i)


def _expanded(op: Operation) -> list[Operation]:
    """An OLT's create with ports: the OLT, then a create per port (``olt`` set)."""
    if op.op != "create" or op.kind != "olt" or not isinstance(op.element, dict):
        return [op]
    ports = op.element.get("ports")
    if not isinstance(ports, list):
        return [op]
    olt = Operation(op.op, op.kind, op.id, element={k: v for k, v in op.element.items()
                                                     if k != "ports"}, index=op.index)
    out = [olt]
    for j, port in enumerate(ports):
        port_id = port.get("id") if isinstance(port, dict) else None
        if not isinstance(port_id, str) or not port_id:
            continue  # the region's check reports it, inside the OLT
        out.append(Operation("create", "port", port_id, element={**port, "olt": op.id},
                             index=op.index, within=f"/ports/{j}"))
    return out


# --------------------------------------------------------------------------- documents


def apply_to_document(doc: dict[str, Any], raw: Any) -> dict[str, Any]:
    """A document with a change applied in memory, as :func:`apply_changes` would store
    it: collections ordered by id (as an export orders them), a created port last among
    its OLT's ports, an OLT's removal taking its ports. Not validated: pass the result to
    :func:`ponmodel.document.load_document` (or compare budgets before and after).

    Raises
    ------
    DocumentError
        The operations are malformed; ``NotFoundError`` for an update or removal of an id
        the document does not hold.

    Examples
    --------
    >>> doc = {"links": [{"id": "L1", "length_m": 100.0}], "olts": []}
    >>> apply_to_document(doc, [{"op": "update", "kind": "link", "id": "L1",
    ...                          "changes": {"length_m": 200.0}}])["links"]
    [{'id': 'L1', 'length_m': 200.0}]
    """
    out = copy.deepcopy(doc)
    olt_of = {p["id"]: o for o in out.get("olts", []) for p in o.get("ports", [])}
    for o in parse_operations(raw):
        if o.kind == "port":
            _apply_port(out, olt_of, o)
            continue
        items = out.setdefault(COLLECTION_OF_KIND[o.kind], [])
        if o.op == "create":
            items.append(copy.deepcopy(o.element))
            if o.kind == "olt":
                items[-1]["ports"] = []
            continue
        index = next((i for i, e in enumerate(items) if e.get("id") == o.id), None)
        if index is None:
            raise NotFoundError(o.kind, o.id)
        if o.op == "delete":
            del items[index]
        else:
            items[index] = merge_patch(items[index], copy.deepcopy(o.changes))
    for key in COLLECTION_OF_KIND.values():
        if isinstance(out.get(key), list):
            out[key].sort(key=lambda e: str(e.get("id")))
    return out


def _apply_port(doc: dict[str, Any], olt_of: dict[str, dict[str, Any]], o: Operation) -> None:
    if o.op == "create":
        assert o.element is not None
        olt = next((x for x in doc.get("olts", []) if x.get("id") == o.element.get("olt")),
                   None)
        if olt is None:
            raise NotFoundError(kind="olt", element_id=str(o.element.get("olt")))
        port = {k: v for k, v in copy.deepcopy(o.element).items() if k != "olt"}
        olt.setdefault("ports", []).append(port)
        olt_of[o.id] = olt
        return
    olt = olt_of.get(o.id)
    ports = olt.get("ports", []) if olt is not None else []
    index = next((i for i, p in enumerate(ports) if p.get("id") == o.id), None)
    if olt is None or index is None:
        raise NotFoundError(kind="port", element_id=o.id)
    if o.op == "delete":
        del ports[index]
    else:
        ports[index] = merge_patch(ports[index], copy.deepcopy(o.changes))


# --------------------------------------------------------------------------- applying


def apply_changes(engine: Engine, raw: Any, *, actor: Principal = LOCAL_ADMIN,
                  dry_run: bool = False) -> dict[str, Any]:
    """Apply a change (a list of operations) to the stored network, all or nothing.

    Parameters
    ----------
    engine : Engine
        A migrated database holding a network.
    raw : list
        The operations, as ``POST /changes`` takes them (see the module's description).
    actor : Principal
        Who changes: scope, role and audit entries follow it.
    dry_run : bool
        Check everything, write nothing: the answer says what would change.

    Returns
    -------
    dict
        ``revision``: the network's revision after the change (unchanged on a dry run);
        ``elements``: per element, ``op``, ``kind``, ``id`` and its new ``version`` (None
        once removed), in the change's order; ``changes``: the same with ``before`` and
        ``after`` (the element as stored, None where there is none).

    Raises
    ------
    DocumentError
        The operations are malformed, or the network would break a rule (422).
    NotFoundError
        An updated or removed element does not exist in ``actor``'s scope (404).
    PermissionDeniedError
        ``actor``'s role may not write an element (403).
    StaleVersionError
        An operation's ``version`` is not the element's (412 in the API).
    ConflictError
        A created id is already used (409); :class:`DependentsError` when a removed
        element is still referred to.
    """
    operations = parse_operations(raw)
    try:
        return _apply(engine, operations, actor, dry_run)
    except _DryRun as done:
        return done.result


class _DryRun(Exception):
    """Leaves a dry run's transaction, rolling it back, with the answer."""

    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result


def _apply(engine: Engine, operations: list[Operation], actor: Principal, dry_run: bool
           ) -> dict[str, Any]:
    with write_transaction(engine) as conn:
        change = _Change(operations, PendingNetwork(conn), actor)
        _lock(conn, operations)
        _lay_over(change)
        _check_dependents(change)
        region = touched_region(change.net, [(o.op, o.kind, o.id) for o in operations])
        problems, total, checked = validate_region(region.document(), region.known())
        if total:
            raise DocumentError(_located(problems, region.document(), operations), total)
        written = _checked_elements(checked, operations)
        unchanged = {o.id for o in operations
                     if o.op == "update" and written[o.id] == change.before[o.id]}
        result = _result(change, written, unchanged)
        if dry_run:
            result["revision"] = revision(conn)
            raise _DryRun(result)
        if len(unchanged) == len(operations):  # nothing to write: no revision either
            result["revision"] = revision(conn)
            return result
        change.operations = [o for o in operations if o.id not in unchanged]
        _write(conn, change, written)
        now_at = bump_revision(conn)  # each audit entry carries the revision the change made
        stored = _stored_after(conn, change.operations)
        entries = []
        for item in result["changes"]:
            if item["id"] in unchanged:
                continue
            if item["after"] is not None:
                item["after"] = stored[item["id"]]
            action = {"create": "create", "update": "edit", "delete": "delete"}[item["op"]]
            entries.append({"action": action, "kind": item["kind"], "element_id": item["id"],
                            "before": item["before"], "after": item["after"]})
        audit.record_entries(conn, actor, entries, revision=now_at)
        result["revision"] = int(now_at or 0)
    return result


def _lock(conn: Connection, operations: list[Operation]) -> None:
    """On PostgreSQL, the registry rows of what the change names and refers to, in id
    order, in one statement (see the module's description)."""
    if conn.dialect.name != "postgresql":
        return
    ids = {o.id for o in operations}
    for o in operations:
        body = o.element if o.op == "create" else o.changes
        if isinstance(body, dict):
            ids.update(target for _, target in references(o.kind, body))
    registry = ElementTable.__table__
    ordered = sorted(ids)
    for start in range(0, len(ordered), 10_000):
        batch = ordered[start:start + 10_000]
        conn.execute(select(registry.c.id).where(one_of(conn, registry.c.id, batch))
                     .order_by(registry.c.id).with_for_update()).all()


def _visible(change: _Change, kind: str, element_id: str) -> bool:
    """Whether the actor's scope holds this stored element (another operator's OLTs,
    ports, splitters, ONTs and links are not in it; shared plant, cables and sites are)."""
    scope = change.actor.scope
    if scope is None or kind not in ("olt", "port", "splitter", "ont", "link"):
        return True
    return change.net.owner(element_id, after=False) == scope


def _lay_over(change: _Change) -> None:
    """Every operation laid over the stored network, checked for existence in scope,
    role and version, in that order per operation."""
    net = change.net
    net.load(o.id for o in change.operations)
    _with_ports_of_removed_olts(change)
    versions = _versions(net.conn, change.operations)
    problems: list[ElementError] = []
    for o in change.operations:
        stored = net.get(o.id, after=False)
        if o.op == "create":
            if stored is not None:
                taken = f"id {o.id!r} is already used by a {stored[0]}: ids are unique " \
                    "across the network (an update changes an element)"
                raise ConflictError(taken, o.id)
            net.put(o.kind, o.id, copy.deepcopy(o.element))
            continue
        if stored is None or stored[0] != o.kind or not _visible(change, o.kind, o.id):
            raise NotFoundError(o.kind, o.id)
        change.versions[o.id] = int(versions[o.id])
        change.before[o.id] = stored[1]
        if o.op == "delete":
            net.put(o.kind, o.id, None)
            continue
        problems.extend(_fixed_fields(o, stored[1]))
        net.put(o.kind, o.id, merge_patch(stored[1], o.changes))
    if problems:
        raise DocumentError(problems)
    for o in change.operations:  # roles, once the whole change is laid over
        _check_role(change, o)
    _check_references_visible(change)  # before the roles of what a change joins to a tree
    for o in change.operations:
        _check_tree_role(change, o)
    for o in change.operations:
        if o.version is not None and o.op != "create" and change.versions[o.id] != o.version:
            raise StaleVersionError(o.id, o.version, change.versions[o.id])


def _with_ports_of_removed_olts(change: _Change) -> None:
    """A removed OLT's stored ports are removed with it (each its own operation, at the
    OLT's position in the change), unless the change already names them."""
    named = {o.id for o in change.operations}
    added = []
    for o in change.operations:
        if o.op == "delete" and o.kind == "olt" and change.net.kind(o.id) == "olt":
            added.extend(Operation("delete", "port", port["id"], index=o.index)
                         for port in change.net.ports_of(o.id) if port["id"] not in named)
    change.operations.extend(added)


def _versions(conn: Connection, operations: list[Operation]) -> dict[str, int]:
    registry = ElementTable.__table__
    ids = sorted({o.id for o in operations if o.op != "create"})
    out: dict[str, int] = {}
    for start in range(0, len(ids), 10_000):
        out.update(conn.execute(select(registry.c.id, registry.c.version).where(
            one_of(conn, registry.c.id, ids[start:start + 10_000]))).all())
    return out


def _fixed_fields(o: Operation, stored: dict[str, Any]) -> list[ElementError]:
    """Problems of an update that changes what cannot change: the id, an OLT's ports (they
    are changed as ports), a port's OLT."""
    assert o.changes is not None
    fixed = {"id": "ids never change (a rename is a delete and a create in one change)"}
    if o.kind == "olt":
        fixed["ports"] = "an OLT's ports are created, changed and removed as ports"
    if o.kind == "port":
        fixed["olt"] = "a port stays in its OLT (remove it and create it in the other one)"
    return [
        ElementError(f"/{o.index}/changes/{name}", f"{name} cannot be changed: {why}", o.id,
                     name)
        for name, why in fixed.items()
        if name in o.changes and o.changes[name] != stored.get(name)
    ]


def _check_role(change: _Change, o: Operation) -> None:
    """403 unless the actor may write this element as it was and as it will be."""
    actor, net = change.actor, change.net
    if actor.role == "admin":
        return
    if actor.role != "planner":
        require_write(actor, None, o.id)  # a viewer writes nothing
    if o.kind in SHARED_KINDS:
        after = net.get(o.id)
        building = (o.op == "create" and o.kind == "structure" and after is not None
                    and after[1].get("kind") == "building")
        if actor.role == "planner" and building:
            return
        require_write(actor, None, o.id)
    if o.op != "create":
        require_write(actor, net.owner(o.id, after=False), o.id)
    if o.op != "delete" and o.kind in ("cable", "olt", "site"):
        require_write(actor, net.owner(o.id), o.id)  # the operator it names


def _check_tree_role(change: _Change, o: Operation) -> None:
    """403 unless a planner's port, splitter, ONT or link stays in (or joins) its own
    operator's tree; checked once every reference is known to be in the planner's scope,
    so the refusal names no other operator's element."""
    actor = change.actor
    if actor.role == "admin" or o.op == "delete" or o.kind not in _TREE_KINDS:
        return
    owner = change.net.owner(o.id)
    if o.kind != "port" and owner is None:
        return  # no port reaches it: the network's rules refuse it (422)
    if not may_write(actor, owner):
        require_write(actor, owner, o.id)


_TREE_KINDS = ("port", "splitter", "ont", "link")


def _check_references_visible(change: _Change) -> None:
    """For a scoped actor, a reference to another operator's OLT, port, splitter, ONT or
    link is a reference to an id that does not exist (422, as for a missing one): a
    planner cannot learn that another operator's customer exists."""
    scope = change.actor.scope
    if scope is None:
        return
    net = change.net
    problems = []
    for o in change.operations:
        after = net.get(o.id)
        if o.op == "delete" or after is None:
            continue
        for name, target in references(o.kind, after[1]):
            if target in net.changed:
                continue
            found = net.get(target, after=False)
            if found is not None and not _visible(change, found[0], target):
                where = f"/{o.index}/element{o.within}" if o.op == "create" else \
                    f"/{o.index}/changes"
                problems.append(ElementError(f"{where}/{name}", f"{name} refers to {target!r}, "
                                             "which does not exist", o.id, name))
    if problems:
        raise DocumentError(problems)


def _check_dependents(change: _Change) -> None:
    """Refuse removing an element anything still refers to, naming every referrer (those
    outside the actor's scope counted, not named)."""
    net = change.net
    for o in change.operations:
        if o.op != "delete":
            continue
        named, hidden = [], 0
        for kind, ident, name in net.referrers(o.kind, o.id):
            if _visible(change, kind, ident) or ident in net.changed:
                named.append((kind, ident, name))
            else:
                hidden += 1
        held = _held_by_reservations(net.conn, o.kind, o.id)
        if held:
            named.extend(("reservation", r, "ducts" if o.kind == "duct" else "operator")
                         for r in held)
        if o.kind == "operator":
            keys = ApiKeyTable.__table__
            n_keys = net.conn.execute(select(func.count()).select_from(keys).where(
                keys.c.operator == o.id)).scalar_one()
            if n_keys:
                named.append(("api key", f"{n_keys} key(s)", "operator"))
        if named or hidden:
            raise DependentsError(o.kind, o.id, named, hidden)


def _held_by_reservations(conn: Connection, kind: str, element_id: str) -> list[str]:
    if kind == "duct":
        table = ReservationDuctTable.__table__
        stmt = select(table.c.reservation_id).where(table.c.duct_id == element_id)
    elif kind == "operator":
        table = ReservationTable.__table__
        stmt = select(table.c.id).where(table.c.operator == element_id)
    else:
        return []
    return sorted(set(conn.execute(stmt.distinct()).scalars()))


# --------------------------------------------------------------------------- results


def _located(problems: list[ElementError], doc: dict[str, Any], operations: list[Operation]
             ) -> list[ElementError]:
    """Problems with pointers into the change for the elements it names, and into the
    element itself for the others."""
    at: dict[tuple[str, int], str] = {}
    ports_at: dict[tuple[int, int], str] = {}
    for key, items in doc.items():
        if not isinstance(items, list):
            continue
        for i, element in enumerate(items):
            at[(key, i)] = element.get("id")
            if key == "olts":
                for j, port in enumerate(element.get("ports", [])):
                    ports_at[(i, j)] = port.get("id")
    named = {o.id: o for o in operations}
    out = []
    for p in problems:
        tokens = p.pointer.split("/")[1:]
        ident, rest = p.element_id, p.pointer
        if len(tokens) >= 2 and tokens[1].isdigit():
            ident = at.get((tokens[0], int(tokens[1])), ident)
            rest = "/" + "/".join(tokens[2:]) if len(tokens) > 2 else ""
            if tokens[0] == "olts" and len(tokens) >= 4 and tokens[2] == "ports" \
                    and tokens[3].isdigit():
                ident = ports_at.get((int(tokens[1]), int(tokens[3])), ident)
                rest = "/" + "/".join(tokens[4:]) if len(tokens) > 4 else ""
        o = named.get(ident) if isinstance(ident, str) else None
        if o is None:
            pointer = rest
        elif o.op == "create":
            pointer = f"/{o.index}/element{o.within}{rest}"
        else:
            pointer = f"/{o.index}/changes{rest}"
        out.append(ElementError(pointer, p.message, ident, p.field))
    return out


def _checked_elements(doc: dict[str, Any], operations: list[Operation]
                      ) -> dict[str, dict[str, Any]]:
    """The created and updated elements as the check filled them in (ports with ``olt``)."""
    by_id: dict[str, dict[str, Any]] = {}
    for key, items in doc.items():
        if not isinstance(items, list):
            continue
        for element in items:
            by_id[element["id"]] = element
            if key == "olts":
                by_id[element["id"]] = {k: v for k, v in element.items() if k != "ports"}
                for port in element.get("ports", []):
                    by_id[port["id"]] = {**port, "olt": element["id"]}
    return {o.id: by_id[o.id] for o in operations if o.op != "delete"}


def _result(change: _Change, written: dict[str, dict[str, Any]], unchanged: set[str]
            ) -> dict[str, Any]:
    """The answer of a change; an update that changes nothing keeps its version."""
    elements, changes = [], []
    for o in change.operations:
        version = 1 if o.op == "create" else None if o.op == "delete" \
            else change.versions[o.id] + (o.id not in unchanged)
        elements.append({"op": o.op, "kind": o.kind, "id": o.id, "version": version})
        changes.append({"op": o.op, "kind": o.kind, "id": o.id, "version": version,
                        "before": change.before.get(o.id), "after": written.get(o.id)})
    return {"revision": None, "elements": elements, "changes": changes}


def _stored_after(conn: Connection, operations: list[Operation]) -> dict[str, dict[str, Any]]:
    """The created and updated elements as every reader reads them back."""
    by_kind: dict[str, list[str]] = {}
    for o in operations:
        if o.op != "delete":
            by_kind.setdefault(o.kind, []).append(o.id)
    out = {}
    for kind, ids in by_kind.items():
        for element in elements_by_ids(conn, kind, ids):
            if kind == "olt":
                element = {k: v for k, v in element.items() if k != "ports"}
            out[element["id"]] = element
    return out


# --------------------------------------------------------------------------- writing


def _write(conn: Connection, change: _Change, written: dict[str, dict[str, Any]]) -> None:
    """Rows for the change, in an order every foreign key and the one-feed-per-node unique
    index accept at each statement: links removed or changed first (nothing refers to a
    link but its cable list), then creates parents first, updates, removals children
    first."""
    registry = ElementTable.__table__
    link_cable, cable_duct = LinkCableTable.__table__, CableDuctTable.__table__
    links = TABLE_OF_KIND["link"]
    order = {kind: i for i, kind in enumerate(KINDS)}
    ops = sorted(change.operations, key=lambda o: (order[o.kind], o.index))
    moved_links = [o.id for o in ops if o.kind == "link" and o.op != "create"]
    if moved_links:
        conn.execute(link_cable.delete().where(one_of(conn, link_cable.c.link_id, moved_links)))
        conn.execute(links.delete().where(one_of(conn, links.c.id, moved_links)))
    creates = [o for o in ops if o.op == "create"]
    creates.sort(key=lambda o: (order[o.kind], _depth(change.net, o) if o.kind == "duct" else 0))
    for o in creates:
        conn.execute(registry.insert().values(id=o.id, kind=o.kind, version=1))
        _insert(conn, o.kind, written[o.id])
    for o in ops:
        if o.op != "update":
            continue
        conn.execute(registry.update().where(registry.c.id == o.id)
                     .values(version=registry.c.version + 1))
        if o.kind == "link":
            _insert(conn, "link", written[o.id])
        else:
            _update(conn, o.kind, written[o.id])
    removals = [o for o in ops if o.op == "delete"]
    removals.sort(key=lambda o: (-order[o.kind], -_depth(change.net, o, after=False)
                                 if o.kind == "duct" else 0))
    for o in removals:
        table = TABLE_OF_KIND[o.kind]
        if o.kind == "cable":
            conn.execute(cable_duct.delete().where(cable_duct.c.cable_id == o.id))
        if o.kind != "link":  # links are already gone
            conn.execute(table.delete().where(table.c.id == o.id))
        conn.execute(registry.delete().where(registry.c.id == o.id))


def _depth(net: PendingNetwork, o: Operation, *, after: bool = True) -> int:
    """How many ducts an innerduct lies in (so that a host is created before and removed
    after its innerducts)."""
    depth, seen = 0, {o.id}
    found = net.get(o.id, after=after)
    while found is not None and isinstance(found[1].get("within"), str) and depth < 64:
        host = found[1]["within"]
        if host in seen:
            break
        seen.add(host)
        depth += 1
        found = net.get(host, after=after)
    return depth


def _rows(kind: str, element: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The table rows of one element, as an import writes them."""
    if kind == "port":
        port = {k: v for k, v in element.items() if k != "olt"}
        olt = {"id": element["olt"], "operator": "", "structure": "", "uplink_gbps": None,
               "ports": [port]}
        return {"port": document_rows({"olts": [olt]})["port"]}  # type: ignore[typeddict-item]
    if kind == "olt":
        element = {**element, "ports": []}
    rows = document_rows({COLLECTION_OF_KIND[kind]: [element]})  # type: ignore[misc]
    return {t: r for t, r in rows.items() if t not in ("network", "element")}


def _insert(conn: Connection, kind: str, element: dict[str, Any]) -> None:
    rows = _rows(kind, element)
    if kind == "port":
        table = PortTable.__table__
        last = conn.execute(select(func.max(table.c.position)).where(
            table.c.olt_id == element["olt"])).scalar()
        rows["port"][0]["position"] = 0 if last is None else int(last) + 1
    for name in (kind, "cable_duct", "link_cable"):
        if rows.get(name):
            conn.execute(_table(name).insert(), rows[name])


def _update(conn: Connection, kind: str, element: dict[str, Any]) -> None:
    rows = _rows(kind, element)
    table = TABLE_OF_KIND[kind]
    row = {k: v for k, v in rows[kind][0].items() if k not in ("id", "position", "olt_id")}
    conn.execute(table.update().where(table.c.id == element["id"]).values(**row))
    if kind == "cable":
        cable_duct = CableDuctTable.__table__
        conn.execute(cable_duct.delete().where(cable_duct.c.cable_id == element["id"]))
        if rows.get("cable_duct"):
            conn.execute(cable_duct.insert(), rows["cable_duct"])


def _table(name: str) -> Any:
    lists = {"cable_duct": CableDuctTable.__table__, "link_cable": LinkCableTable.__table__}
    return lists[name] if name in lists else TABLE_OF_KIND[name]
