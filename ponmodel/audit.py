"""The audit log: who changed what, when, with the element before and after.

Every write records its entry on the write's own connection, inside its transaction, so
an entry exists exactly when the change does.

Examples
--------
>>> from ponmodel.access import LOCAL_ADMIN
>>> from ponmodel.storage import make_engine, migrate
>>> engine = make_engine("sqlite://")
>>> migrate(engine)
>>> with engine.begin() as conn:
...     record(conn, LOCAL_ADMIN, "edit", kind="ont", element_id="ONT-1",
...            before={"customer": "A"}, after={"customer": "B"})
>>> entry = list_entries(engine)[0]
>>> entry["actor"], entry["action"], entry["before"], entry["after"]
('local', 'edit', {'customer': 'A'}, {'customer': 'B'})
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from ponmodel.access import Principal
from ponmodel.elements import AuditTable, NetworkTable

_TABLE = AuditTable.__table__


def record(conn: Connection, actor: Principal, action: str, *, kind: str | None = None,
           element_id: str | None = None, before: Any = None, after: Any = None) -> None:
    """Write one entry on ``conn`` (inside the caller's transaction, after the change, so
    the entry carries the network revision the change produced)."""
    revision = conn.execute(select(NetworkTable.__table__.c.revision)).scalar()
    record_entries(conn, actor, [{"action": action, "kind": kind, "element_id": element_id,
                                  "before": before, "after": after}], revision=revision)


def record_entries(conn: Connection, actor: Principal, entries: list[dict[str, Any]], *,
                   revision: int | None) -> None:
    """Write several entries of one change in one statement: each a dict of ``action``,
    ``kind``, ``element_id``, ``before`` and ``after`` (as :func:`record` takes them), all
    at the same time and ``revision`` (the one the change produced)."""
    if not entries:
        return
    at = datetime.now(UTC)
    conn.execute(_TABLE.insert(), [
        {"at": at, "actor": actor.key_id, "actor_name": actor.name, "role": actor.role,
         "operator": actor.operator, "action": e["action"], "kind": e["kind"],
         "element_id": e["element_id"],
         "before": None if e["before"] is None else json.dumps(e["before"], sort_keys=True),
         "after": None if e["after"] is None else json.dumps(e["after"], sort_keys=True),
         "revision": revision}
        for e in entries])


def list_entries(engine: Engine, *, element_id: str | None = None, actor: str | None = None,
                 action: str | None = None, limit: int = 100, offset: int = 0
                 ) -> list[dict[str, Any]]:
    """Entries, newest first, optionally of one element, actor (key id) or action."""
    stmt = select(_TABLE)
    for column, value in (("element_id", element_id), ("actor", actor), ("action", action)):
        if value is not None:
            stmt = stmt.where(_TABLE.c[column] == value)
    stmt = stmt.order_by(_TABLE.c.id.desc()).limit(limit).offset(offset)
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [
        {
            **{k: r[k] for k in ("id", "actor", "actor_name", "role", "operator", "action",
                                 "kind", "element_id", "revision")},
            "at": r["at"].isoformat(),
            "before": None if r["before"] is None else json.loads(r["before"]),
            "after": None if r["after"] is None else json.loads(r["after"]),
        }
        for r in rows
    ]


ELEMENT_ACTIONS = ("import", "create", "edit", "delete", "confirm")
"""Actions that change elements, each raising the network revision by one."""


def element_changes(conn: Connection, after_revision: int, up_to_revision: int
                    ) -> list[dict[str, Any]]:
    """The element-changing entries whose revision is in ``(after_revision,
    up_to_revision]``, oldest first: what a cache at ``after_revision`` replays to catch up
    (it checks there is one per revision)."""
    stmt = (
        select(_TABLE.c.action, _TABLE.c.kind, _TABLE.c.element_id, _TABLE.c.before,
               _TABLE.c.after, _TABLE.c.revision)
        .where(_TABLE.c.action.in_(ELEMENT_ACTIONS), _TABLE.c.revision > after_revision,
               _TABLE.c.revision <= up_to_revision)
        .order_by(_TABLE.c.revision)
    )
    return [
        {**r, "before": None if r["before"] is None else json.loads(r["before"]),
         "after": None if r["after"] is None else json.loads(r["after"])}
        for r in conn.execute(stmt).mappings()
    ]


def count_entries(engine: Engine) -> int:
    """How many entries the log holds."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(_TABLE)).scalar_one())
