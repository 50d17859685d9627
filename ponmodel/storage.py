"""Storage: engines, migrations, and the bulk paths between documents and tables.

SQLite (an embedded file, no set-up) by default; PostgreSQL when the URL names one. The
schema is managed by Alembic (:func:`migrate`). Bulk paths never build one ORM object per
row: an import writes set-based ``executemany`` inserts on SQLite and ``COPY`` on
PostgreSQL, all in one transaction; an export selects tuples of only the needed columns.

Examples
--------
>>> from ponmodel.storage import make_engine, migrate, import_document, export_document
>>> engine = make_engine("sqlite://")
>>> migrate(engine)
>>> doc = {"format": "ponmodel/1", "operators": [{"id": "vnpt", "name": "VNPT"}]}
>>> import_document(engine, doc)["operator"]
1
>>> export_document(engine)["operators"]
[{'id': 'vnpt', 'name': 'VNPT'}]
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, any_, bindparam, create_engine, event, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

from ponmodel import FORMAT, audit
from ponmodel._gc import gc_paused
from ponmodel.access import LOCAL_ADMIN, Principal, require_admin
from ponmodel.document import KIND_OF_COLLECTION, Document, load_document
from ponmodel.elements import (
    ATTENUATION_COLUMNS,
    CableDuctTable,
    CableTable,
    DuctTable,
    ElementTable,
    LinkCableTable,
    LinkTable,
    NetworkTable,
    OltTable,
    OntTable,
    OperatorTable,
    PortTable,
    ReservationDuctTable,
    ReservationTable,
    SiteTable,
    SplitterTable,
    StructureTable,
    ZoneTable,
)
from ponmodel.errors import ConflictError, InventoryNotEmptyError, PonmodelError, StorageError

TABLES_IN_INSERT_ORDER = [
    ElementTable.__table__,
    NetworkTable.__table__,
    OperatorTable.__table__,
    ZoneTable.__table__,
    StructureTable.__table__,
    DuctTable.__table__,
    CableTable.__table__,
    CableDuctTable.__table__,
    OltTable.__table__,
    PortTable.__table__,
    SplitterTable.__table__,
    OntTable.__table__,
    LinkTable.__table__,
    LinkCableTable.__table__,
    SiteTable.__table__,
]
"""Every inventory table, parents before children (foreign keys hold at each insert)."""

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


# --------------------------------------------------------------------------- engines


POOL_SIZE = 5
"""Connections an engine keeps open between requests."""
MAX_CONNECTIONS = 40
"""Connections an engine opens at most at once (by default). An API request may hold two:
its read connection (the key is checked on it) and a write's own transaction; with the
in-flight limit of 16 that is at most 32. A pool smaller than what the requests in flight
can hold deadlocks under a burst of writes: every request holds its first connection and
waits for a second until the pool's timeout (measured: SQLAlchemy's default 5 + 10, 16
reservations at once on PostgreSQL, 1 run in 6 stuck for 30 s)."""


def make_engine(url: str, *, echo: bool = False, max_connections: int = MAX_CONNECTIONS
                ) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout.

    ``sqlite://`` (in memory) shares one connection across threads so every session sees
    the same database. A file or a server gets a pool that keeps :data:`POOL_SIZE`
    connections and opens up to ``max_connections`` at once.

    Examples
    --------
    >>> engine = make_engine("sqlite:////tmp/ponmodel-doctest/pool.db", max_connections=12)
    >>> engine.pool.size(), engine.pool._max_overflow  # kept, and opened beyond them
    (5, 7)
    """
    pool: dict[str, Any] = {"pool_size": POOL_SIZE,
                            "max_overflow": max(0, max_connections - POOL_SIZE)}
    if url.startswith("sqlite"):
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        read_only = False
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        else:
            path = Path(url.split("///", 1)[-1])
            read_only = _read_only_file(path)
            if read_only:
                # With no write-ahead log beside it, opened immutable (SQLite then needs no
                # -shm either); a log left by a crash holds acknowledged writes not yet
                # checkpointed, and is read in read-only mode (SQLite ≥ 3.22 reads it when
                # its -shm is there too).
                wal = Path(f"{path}-wal")
                logged = wal.exists() and wal.stat().st_size > 0
                flags = "mode=ro" if logged else "mode=ro&immutable=1"
                url = f"sqlite:///file:{path.resolve()}?{flags}&uri=true"
            else:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    msg = f"database {path}: {exc.strerror or exc}"
                    raise StorageError(msg, reason="unavailable") from exc
            kwargs.update(pool)
        engine = create_engine(url, echo=echo, **kwargs)
        engine.info_read_only = read_only  # type: ignore[attr-defined]
        event.listen(engine, "connect", _sqlite_read_only_pragmas if read_only
                     else _sqlite_pragmas)
        # let SQLAlchemy emit BEGIN itself so a write transaction takes the lock up front
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3, the driver we ship
    return create_engine(url, echo=echo, pool_pre_ping=True, **pool)


def _read_only_file(path: Path) -> bool:
    """Whether an existing SQLite file can only be read (a read-only mount, an immutable
    file, no write permission on it or on its folder, where SQLite keeps its -wal file)."""
    import os

    return path.exists() and not (os.access(path, os.W_OK)
                                  and os.access(path.parent, os.W_OK))


def is_read_only(engine: Engine) -> bool:
    """Whether ``engine`` opened its database read-only (:func:`make_engine` does so for a
    file it cannot write): reads work, every write raises :class:`StorageError`."""
    return bool(getattr(engine, "info_read_only", False))


def _sqlite_read_only_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN
    dbapi_connection.execute("PRAGMA query_only=ON")


def storage_failure(exc: BaseException, where: str) -> StorageError | None:
    """The :class:`StorageError` that a database exception means (the disk is full, the
    database is read-only, or it cannot be reached), or None for any other error.

    Examples
    --------
    >>> import sqlite3
    >>> storage_failure(sqlite3.OperationalError("database or disk is full"), "x.db")
    StorageError('database x.db: its disk is full; nothing was written')
    >>> storage_failure(ValueError("no"), "x.db") is None
    True
    """
    text_ = str(getattr(exc, "orig", None) or exc).lower()
    if any(s in text_ for s in ("database or disk is full", "no space left on device",
                                "could not extend file", "disk full")):
        return StorageError(f"database {where}: its disk is full; nothing was written",
                            reason="full")
    if any(s in text_ for s in ("readonly database", "read-only", "query_only",
                                "read only", "readonly")):
        return StorageError(f"database {where} is read-only; reads work, writes do not",
                            reason="read_only")
    if any(s in text_ for s in ("unable to open database file", "connection refused",
                                "could not connect", "server closed the connection",
                                "terminating connection", "connection is closed",
                                "disk i/o error", "database is locked",
                                "the database system is shutting down",
                                "the database system is starting up")):
        return StorageError(f"database {where} cannot be reached: {text_.splitlines()[0]}",
                            reason="unavailable")
    return None


def database_name(engine: Engine) -> str:
    """The database an engine opens, for messages: the file, or the server and database
    (never the password)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        name = url.database or ":memory:"
        return name.removeprefix("file:").split("?", 1)[0]
    return url.render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event issues BEGIN
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MiB: bulk inserts into text-keyed indexes
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = conn.info.get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine: Engine, *, bulk: bool = False, whole_network: bool = False
                      ) -> Iterator[Connection]:
    """A transaction that intends to write: on SQLite it takes the write lock at BEGIN
    (``BEGIN IMMEDIATE``), so two writers serialise instead of failing half-way.

    With ``bulk`` on SQLite, foreign keys are not checked row by row but once for the whole
    transaction before it commits (``PRAGMA foreign_key_check``); a violation rolls it back.
    """
    try:
        with engine.connect() as conn:
            sqlite = engine.dialect.name == "sqlite"
            raw = conn.connection.dbapi_connection if sqlite and bulk else None
            if sqlite:
                conn.info["sqlite_begin"] = "IMMEDIATE"
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, as SQLite requires
            try:
                with conn.begin():
                    if engine.dialect.name == "postgresql":
                        # Every write holds the network lock shared, a write of the whole
                        # network (import, merge) exclusive, as its first statement: the
                        # latter starts once the writes under way have committed and before
                        # any new one takes a row, so their locks never cross (a merge beside
                        # a reservation's confirm deadlocked).
                        lock = "pg_advisory_xact_lock" if whole_network \
                            else "pg_advisory_xact_lock_shared"
                        conn.execute(text(f"SELECT {lock}(:key)"), {"key": NETWORK_LOCK_KEY})
                    yield conn
                    if raw is not None:
                        _check_foreign_keys(conn)
            finally:
                conn.info.pop("sqlite_begin", None)
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys=ON")
    except DBAPIError as exc:  # the disk full, a read-only file, the server gone: say so
        failure = storage_failure(exc, database_name(engine))
        if failure is None or (exc.connection_invalidated and failure.reason == "unavailable"):
            raise  # (a lost connection: the API's Recover layer answers it)
        raise failure from exc


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one snapshot of the database, whatever commits in
    between: ``REPEATABLE READ`` on PostgreSQL (under its default READ COMMITTED every
    statement takes a new snapshot, and an export of several SELECTs during an import mixed
    two networks); on SQLite the read transaction that the first SELECT opens (WAL) gives
    one by itself. Read-only work only (on PostgreSQL the transaction is ``READ ONLY``: a
    write fails).

    Examples
    --------
    >>> engine = make_engine("sqlite://")
    >>> migrate(engine)
    >>> with read_snapshot(engine) as conn:
    ...     revision(conn)
    0
    """
    conn = engine.connect()
    try:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ",
                                          postgresql_readonly=True)
        yield conn
        if conn.in_transaction() and conn.dialect.name == "postgresql":
            # A read-only transaction ends the same either way; COMMIT keeps psycopg's
            # prepared statements, which it forgets (DEALLOCATE ALL, one more round trip)
            # on every ROLLBACK: the statements a request repeats are then parsed and
            # planned once per connection, not once per request.
            with suppress(DBAPIError):  # as the close below
                conn.commit()
    finally:
        # Ending a read loses nothing: when the server went away meanwhile (a terminated
        # backend), the end of the transaction fails, and that must not turn an answer
        # already sent into a reset connection. SQLAlchemy discards the connection.
        with suppress(DBAPIError):
            conn.close()


def _check_foreign_keys(conn: Connection) -> None:
    """Raise when any row of the transaction breaks a foreign key (SQLite)."""
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchmany(5)
    if broken:
        where = "; ".join(f"{table} row {rowid} → {parent}" for table, rowid, parent, _ in broken)
        msg = f"foreign key check failed: {where}"
        raise PonmodelError(msg)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (creates every table on a new database).

    Safe when several processes or machines start at once: the migration holds the
    database's write lock (SQLite) or a transaction-scoped advisory lock (PostgreSQL), so one
    migrates and the others then find the schema at ``revision``.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if revision == "head" and _at_head(engine, config):
        return  # nothing to write: a read-only database serves reads
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _at_head(engine: Engine, config: Any) -> bool:
    """Whether the schema is at the newest revision already (read only)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(config).get_heads())
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads()) == heads
    except DBAPIError as exc:
        failure = storage_failure(exc, database_name(engine))
        if failure is None:
            raise
        raise failure from exc


MIGRATION_LOCK_KEY = 0x706F6E6D  # "ponm"
"""PostgreSQL advisory lock held while migrating."""


# --------------------------------------------------------------------------- import


def _flat_attenuation(value: dict[str, float] | None) -> dict[str, float | None]:
    value = value or {}
    return {column: value.get(nm) for nm, column in ATTENUATION_COLUMNS.items()}


def document_rows(doc: Document) -> dict[str, list[dict[str, Any]]]:
    """The table rows of a validated document, keyed by table name, in insert order."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    defaults = doc.get("defaults") or {}
    rows["network"].append(
        {
            "id": 1,
            "format": FORMAT,
            "revision": 0,
            "reservations_revision": 0,
            "name": doc.get("name"),
            "connector_loss_db": defaults.get("connector_loss_db"),
            "splice_loss_db": defaults.get("splice_loss_db"),
            "safety_margin_db": defaults.get("safety_margin_db"),
            **_flat_attenuation(defaults.get("attenuation_db_per_km")),
        }
    )
    elements = rows["element"]
    for key, kind in (("operators", "operator"), ("zones", "zone"), ("structures", "structure")):
        for e in doc.get(key, []):
            elements.append({"id": e["id"], "kind": kind, "version": 1})
            rows[kind].append(dict(e))
    for d in _parents_first(doc.get("ducts", [])):
        elements.append({"id": d["id"], "kind": "duct", "version": 1})
        row = {k: v for k, v in d.items() if k not in ("from", "to")}
        rows["duct"].append({**row, "from_id": d["from"], "to_id": d["to"]})
    for c in doc.get("cables", []):
        elements.append({"id": c["id"], "kind": "cable", "version": 1})
        rows["cable"].append(
            {
                "id": c["id"],
                "operator": c["operator"],
                "fibre_count": c["fibre_count"],
                "outer_diameter_mm": c["outer_diameter_mm"],
                **_flat_attenuation(c.get("attenuation_db_per_km")),
            }
        )
        rows["cable_duct"].extend(
            {"cable_id": c["id"], "position": i, "duct_id": d} for i, d in enumerate(c["ducts"])
        )
    for o in doc.get("olts", []):
        elements.append({"id": o["id"], "kind": "olt", "version": 1})
        rows["olt"].append({k: o[k] for k in ("id", "operator", "structure", "uplink_gbps")})
        for i, p in enumerate(o["ports"]):
            elements.append({"id": p["id"], "kind": "port", "version": 1})
            tx = p.get("olt_tx_dbm") or {}
            cap = p.get("capacity_mbps") or {}
            row = {k: v for k, v in p.items() if k not in ("olt_tx_dbm", "capacity_mbps")}
            row.update(
                olt_id=o["id"],
                position=i,
                olt_tx_min_dbm=tx.get("min"),
                olt_tx_max_dbm=tx.get("max"),
                capacity_down_mbps=cap.get("down"),
                capacity_up_mbps=cap.get("up"),
            )
            rows["port"].append(row)
    for s in doc.get("splitters", []):
        elements.append({"id": s["id"], "kind": "splitter", "version": 1})
        rows["splitter"].append(dict(s))
    ont_rows = rows["ont"]
    for o in doc.get("onts", []):
        elements.append({"id": o["id"], "kind": "ont", "version": 1})
        ont_rows.append(ont_row(o))
    for link in doc.get("links", []):
        elements.append({"id": link["id"], "kind": "link", "version": 1})
        rows["link"].append(
            {
                "id": link["id"],
                "from_id": link["from"],
                "to_id": link["to"],
                "length_m": link["length_m"],
                "connectors": link["connectors"],
                "splices": link["splices"],
                "extra_loss_db": link["extra_loss_db"],
                "leg": link["leg"],
                **_flat_attenuation(link.get("attenuation_db_per_km")),
            }
        )
        rows["link_cable"].extend(
            {"link_id": link["id"], "position": i, "cable_id": c}
            for i, c in enumerate(link["cables"])
        )
    for site in doc.get("sites", []):
        elements.append({"id": site["id"], "kind": "site", "version": 1})
        rows["site"].append(dict(site))
    return rows


def ont_row(ont: dict[str, Any]) -> dict[str, Any]:
    """The ``ont`` table's row of a document ONT (its service flattened per direction)."""
    tx = ont.get("onu_tx_dbm") or {}
    down, up = ont["service"]["down"], ont["service"]["up"]
    return {
        "id": ont["id"],
        "structure": ont["structure"],
        "customer": ont.get("customer"),
        "kind": ont["kind"],
        "onu_rx_sensitivity_dbm": ont.get("onu_rx_sensitivity_dbm"),
        "onu_rx_overload_dbm": ont.get("onu_rx_overload_dbm"),
        "onu_tx_min_dbm": tx.get("min"),
        "onu_tx_max_dbm": tx.get("max"),
        "down_fixed_mbps": down["fixed_mbps"],
        "down_assured_mbps": down["assured_mbps"],
        "down_max_mbps": down["max_mbps"],
        "down_additional": down["additional"],
        "down_weight": down["weight"],
        "up_fixed_mbps": up["fixed_mbps"],
        "up_assured_mbps": up["assured_mbps"],
        "up_max_mbps": up["max_mbps"],
        "up_additional": up["additional"],
        "up_weight": up["weight"],
    }


def _parents_first(ducts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ducts ordered so that every innerduct follows the duct it lies in."""
    by_id = {d["id"]: d for d in ducts}

    def depth(d: dict[str, Any]) -> int:
        n = 0
        while d.get("within") in by_id and n < len(by_id):
            d = by_id[d["within"]]
            n += 1
        return n

    return sorted(ducts, key=depth)


def is_empty(engine: Engine) -> bool:
    """True when the database holds no element."""
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(ElementTable.__table__)).scalar_one() == 0
        )


def import_document(
    engine: Engine,
    doc: Document | dict[str, Any],
    *,
    replace: bool = False,
    validated: bool = False,
    actor: Principal = LOCAL_ADMIN,
) -> dict[str, int]:
    """Validate ``doc`` and write it in one transaction; return the rows written per table.

    Parameters
    ----------
    engine : Engine
        A migrated database.
    doc : dict
        A parsed ``ponmodel/1`` document.
    replace : bool
        Replace the stored network. Without it, importing into a database that already
        holds elements raises :class:`~ponmodel.errors.InventoryNotEmptyError`.
    validated : bool
        ``doc`` is already the output of :func:`ponmodel.document.load_document`.
    actor : Principal
        Who imports: only an admin replaces the network. The audit log records the rows
        per table before and after, in the import's transaction.

    Raises
    ------
    DocumentError
        The document is invalid; nothing was written.
    InventoryNotEmptyError
        The database holds a network and ``replace`` is false; nothing was written.
    """
    require_admin(actor, "import a whole network")
    network = doc if validated else load_document(doc)
    with gc_paused():
        rows = document_rows(network)
    with write_transaction(engine, bulk=True, whole_network=True) as conn, gc_paused():
        lock_network(conn)
        count = conn.execute(select(func.count()).select_from(ElementTable.__table__)).scalar_one()
        if count and not replace:
            msg = (
                f"the database already holds a network ({count} elements); "
                "import with replace to overwrite it"
            )
            raise InventoryNotEmptyError(msg)
        rows["network"][0]["revision"] = revision(conn) + 1
        rows["network"][0]["reservations_revision"] = reservations_revision(conn) + 1
        before = _counts(conn) if count else None
        kept, dropped = _reservations_kept(conn, rows) if count else ({}, [])
        if count:
            _save_versions(conn)
        if count or replace:
            _delete_all(conn)
        else:  # an empty network (no element) may still have left its row
            conn.execute(NetworkTable.__table__.delete())
        # Into empty tables, building each secondary index once from sorted data is far
        # cheaper than updating it row by row (measured on SQLite, 1,000,000 ONTs: see
        # README); the DDL is transactional on both databases, so a failure restores them.
        # Not over a stored network on PostgreSQL: DROP INDEX locks its table against every
        # reader until the import commits (seen: reads blocked 13 s by a 200k-ONT import).
        indexes = ([index for table in TABLES_IN_INSERT_ORDER for index in table.indexes]
                   if not count or conn.dialect.name == "sqlite" else [])
        for index in indexes:
            index.drop(conn)
        for table in TABLES_IN_INSERT_ORDER:
            _bulk_insert(conn, table, rows.get(table.name, []))
        for index in indexes:
            index.create(conn)
        for table in (ReservationTable.__table__, ReservationDuctTable.__table__):
            _bulk_insert(conn, table, kept.get(table.name, []))
        if count:
            _restore_versions(conn)
        if conn.dialect.name == "postgresql":
            # Fresh statistics for the planner: without them (until autovacuum's turn) it
            # took a port's subtree for half the link table and merge-joined all of it,
            # 62 ms at 100,000 ONTs where the index walk takes 0.5 ms. ANALYZE samples
            # (30,000 rows a table) and counts this transaction's own rows as live.
            quote = conn.dialect.identifier_preparer.quote
            names = ", ".join(quote(t.name) for t in TABLES_IN_INSERT_ORDER)
            conn.execute(text(f"ANALYZE {names}"))
        written = {str(t.name): len(rows.get(t.name, [])) for t in TABLES_IN_INSERT_ORDER}
        audit.record(conn, actor, "import", before=before,
                     after={**written, "reservations_kept": len(kept.get("reservation", [])),
                            "reservations_removed": dropped})
    return written


NETWORK_LOCK_KEY = 0x706F6E6E  # "ponn"
"""PostgreSQL advisory lock held by the writes that rewrite many elements at once."""


def lock_network(conn: Connection) -> None:
    """Serialise the writes that rewrite many elements at once (imports, GIS merges): on
    PostgreSQL, inside a ``write_transaction(..., whole_network=True)`` (which holds the
    network's advisory lock exclusive, so no other write is under way), every inventory
    table locked against other writers (``EXCLUSIVE``: plain reads go on, from their own
    snapshot), ducts and the element registry first, in the order every other writer takes
    them, so that a reservation or an edit under way finishes first instead of deadlocking
    with the import. On SQLite the write transaction's ``BEGIN IMMEDIATE`` already holds
    the database's one write lock."""
    if conn.dialect.name != "postgresql":
        return
    first = [DuctTable.__table__, ElementTable.__table__]
    tables = first + [t for t in (*TABLES_IN_INSERT_ORDER, ReservationTable.__table__,
                                  ReservationDuctTable.__table__) if t not in first]
    names = ", ".join(f'"{t.name}"' for t in tables)
    conn.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))


def _reservations_kept(conn: Connection, rows: dict[str, list[dict[str, Any]]]
                       ) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """The stored reservations a replace import keeps (every one whose operator and ducts
    the new network still has: the import does not name reservations, so it does not delete
    them) and the ids of the released ones (cancelled, confirmed or lapsed) it removes with
    their ducts; an active reservation in a duct the new network drops refuses the import.
    """
    from datetime import UTC, datetime

    ducts = {r["id"] for r in rows.get("duct", [])}
    operators = {r["id"] for r in rows.get("operator", [])}
    res, res_ducts = ReservationTable.__table__, ReservationDuctTable.__table__
    reservations = [dict(r) for r in conn.execute(select(*res.columns)).mappings()]
    routes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in conn.execute(select(*res_ducts.columns)).mappings():
        routes[r["reservation_id"]].append(dict(r))
    now = datetime.now(UTC).replace(tzinfo=None)
    kept: dict[str, list[dict[str, Any]]] = {"reservation": [], "reservation_duct": []}
    dropped, blocking = [], []
    for r in reservations:
        route = routes.get(r["id"], [])
        if r["operator"] in operators and all(d["duct_id"] in ducts for d in route):
            kept["reservation"].append(r)
            kept["reservation_duct"].extend(route)
            continue
        expires = r["expires_at"].replace(tzinfo=None)
        active = r["status"] == "reserved" and expires > now
        (blocking if active else dropped).append(r["id"])
    if blocking:
        shown = ", ".join(repr(i) for i in sorted(blocking)[:20])
        more = f" and {len(blocking) - 20} more" if len(blocking) > 20 else ""  # noqa: PLR2004
        msg = (f"the new network drops a duct or operator that {len(blocking)} active "
               f"reservation(s) hold room in: {shown}{more}; cancel them first")
        raise ConflictError(msg)
    return kept, sorted(dropped)


def _save_versions(conn: Connection) -> None:
    """Keep every stored element's version in a temporary table for :func:`_restore_versions`
    (set-based: a million ids never come to Python)."""
    conn.exec_driver_sql("DROP TABLE IF EXISTS ponmodel_old_versions")
    on_commit = " ON COMMIT DROP" if conn.dialect.name == "postgresql" else ""
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE ponmodel_old_versions{on_commit} AS "
                         "SELECT id, version FROM element")


def _restore_versions(conn: Connection) -> None:
    """An element that was stored before a replace import is at its old version + 1 (the
    import rewrote it), never back at 1: an edit based on a version read before the import
    is refused as stale instead of overwriting what the import wrote."""
    conn.exec_driver_sql(
        "UPDATE element SET version = ponmodel_old_versions.version + 1 "
        "FROM ponmodel_old_versions WHERE element.id = ponmodel_old_versions.id")
    if conn.dialect.name != "postgresql":
        conn.exec_driver_sql("DROP TABLE ponmodel_old_versions")


def _counts(conn: Connection) -> dict[str, int]:
    return {
        str(t.name): conn.execute(select(func.count()).select_from(t)).scalar_one()
        for t in TABLES_IN_INSERT_ORDER
    }


def _delete_all(conn: Connection) -> None:
    # reservations reference the old network's ducts: the kept ones are written back after
    conn.execute(ReservationDuctTable.__table__.delete())
    conn.execute(ReservationTable.__table__.delete())
    for table in reversed(TABLES_IN_INSERT_ORDER):
        if table.name == "duct":  # innerducts reference their duct: children first
            conn.execute(table.delete().where(table.c.within.is_not(None)))
        conn.execute(table.delete())


def _bulk_insert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = [c.name for c in table.columns]
    getter = itemgetter(*columns)
    try:
        tuples = list(map(getter, rows)) if len(columns) > 1 else [(getter(r),) for r in rows]
    except KeyError:  # a row that leaves optional columns out
        tuples = [tuple(r.get(c) for c in columns) for r in rows]
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        assert raw is not None
        names = ", ".join(f'"{c}"' for c in columns)
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for row in tuples:
                copy.write_row(row)
        return
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', tuples)


# --------------------------------------------------------------------------- reading

TABLE_OF_KIND: dict[str, Any] = {
    "operator": OperatorTable.__table__,
    "zone": ZoneTable.__table__,
    "structure": StructureTable.__table__,
    "duct": DuctTable.__table__,
    "cable": CableTable.__table__,
    "olt": OltTable.__table__,
    "port": PortTable.__table__,
    "splitter": SplitterTable.__table__,
    "ont": OntTable.__table__,
    "link": LinkTable.__table__,
    "site": SiteTable.__table__,
}
"""Element kind → its table."""

LOCATED_KINDS = ("structure", "olt", "splitter", "ont", "site")
"""Kinds that can be filtered by ``zone`` (directly or through their structure)."""


def one_of(conn: Connection, column: Any, values: Iterable[Any]) -> Any:
    """The condition ``column IN values``, as ``conn``'s database runs it fastest.

    On PostgreSQL it is ``column = ANY(:array)``: one statement text however many values,
    so SQLAlchemy compiles it once and psycopg prepares it on the server after a few runs,
    where an ``IN`` list is a new text (compiled, parsed and planned again) for every
    length. Elsewhere it is SQLAlchemy's expanding ``IN``. Callers keep their lists under
    SQLite's limit of bound parameters (:data:`_CHUNK`).

    Examples
    --------
    >>> from sqlalchemy import create_engine
    >>> links = TABLE_OF_KIND["link"]
    >>> with create_engine("sqlite://").connect() as conn:
    ...     print(one_of(conn, links.c.id, ["FL-1", "FL-2"]))
    link.id IN (__[POSTCOMPILE_id_1])
    """
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def _attenuation_of(row: Any) -> dict[str, float] | None:
    value = {nm: row[col] for nm, col in ATTENUATION_COLUMNS.items() if row[col] is not None}
    return value or None


def _range(low: float | None, high: float | None, names: tuple[str, str]) -> Any:
    return None if low is None else {names[0]: low, names[1]: high}


def _children(
    conn: Connection, table: Any, parent: str, child: str, ids: list[str] | None
) -> dict[str, list[str]]:
    """parent id → its child ids in ``position`` order (a route, a link's cables)."""
    stmt = select(table.c[parent], table.c[child]).order_by(table.c[parent], table.c.position)
    if ids is not None:
        stmt = stmt.where(one_of(conn, table.c[parent], ids))
    out: dict[str, list[str]] = defaultdict(list)
    for p, c in conn.execute(stmt):
        out[p].append(c)
    return out


def _ports_of(conn: Connection, olt_ids: list[str] | None) -> dict[str, list[dict[str, Any]]]:
    table = PortTable.__table__
    stmt = select(*table.columns).order_by(table.c.olt_id, table.c.position)
    if olt_ids is not None:
        stmt = stmt.where(one_of(conn, table.c.olt_id, olt_ids))
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    result = conn.execute(stmt)
    keys = list(result.keys())
    for row in result:
        r = dict(zip(keys, row, strict=True))
        out[r["olt_id"]].append(port_element(r))
    return out


def port_element(r: Any) -> dict[str, Any]:
    """A ``port`` row as its document element (nested overrides)."""
    return {
        "id": r["id"],
        "technology": r["technology"],
        "optics_class": r["optics_class"],
        "olt_tx_dbm": _range(r["olt_tx_min_dbm"], r["olt_tx_max_dbm"], ("min", "max")),
        "olt_rx_sensitivity_dbm": r["olt_rx_sensitivity_dbm"],
        "olt_rx_overload_dbm": r["olt_rx_overload_dbm"],
        "capacity_mbps": _range(r["capacity_down_mbps"], r["capacity_up_mbps"], ("down", "up")),
        "coexistence_loss_db": r["coexistence_loss_db"],
        "max_split": r["max_split"],
        "max_reach_m": r["max_reach_m"],
    }


def _ont_element(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "structure": r["structure"],
        "customer": r["customer"],
        "kind": r["kind"],
        "onu_tx_dbm": _range(r["onu_tx_min_dbm"], r["onu_tx_max_dbm"], ("min", "max")),
        "onu_rx_sensitivity_dbm": r["onu_rx_sensitivity_dbm"],
        "onu_rx_overload_dbm": r["onu_rx_overload_dbm"],
        "service": {
            d: {
                "fixed_mbps": r[f"{d}_fixed_mbps"],
                "assured_mbps": r[f"{d}_assured_mbps"],
                "max_mbps": r[f"{d}_max_mbps"],
                "additional": r[f"{d}_additional"],
                "weight": r[f"{d}_weight"],
            }
            for d in ("down", "up")
        },
    }


def _duct_element(r: Any) -> dict[str, Any]:
    return {
        "id": r["id"],
        "from": r["from_id"],
        "to": r["to_id"],
        "length_m": r["length_m"],
        "inner_diameter_mm": r["inner_diameter_mm"],
        "owner": r["owner"],
        "within": r["within"],
        "outer_diameter_mm": r["outer_diameter_mm"],
        "max_fill_ratio": r["max_fill_ratio"],
    }


def read_elements(
    conn: Connection,
    kind: str,
    *,
    filters: dict[str, Any] | None = None,
    ids: list[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    routes: bool = True,
) -> tuple[list[dict[str, Any]], int]:
    """Elements of one kind as document elements, ordered by id, and the total matching.

    Parameters
    ----------
    conn : Connection
        An open connection.
    kind : str
        A key of :data:`TABLE_OF_KIND`.
    filters : dict, optional
        Column → value equality filters; ``zone`` also works for the kinds in
        :data:`LOCATED_KINDS` (through their structure).
    ids : list of str, optional
        Only these ids.
    limit, offset : int
        Paging.
    routes : bool
        Read each cable's route (``ducts``); False leaves it empty, one query fewer for a
        caller that reads only a cable's attenuation.
    """
    table = TABLE_OF_KIND[kind]
    conditions = []
    for name, value in (filters or {}).items():
        if value is None:
            continue
        column = {"from": "from_id", "to": "to_id", "olt": "olt_id"}.get(name, name)
        if name == "zone" and kind in ("olt", "splitter", "ont"):
            structures = select(StructureTable.__table__.c.id).where(
                StructureTable.__table__.c.zone == value
            )
            conditions.append(table.c.structure.in_(structures))
        else:
            conditions.append(table.c[column] == value)
    if ids is not None:
        conditions.append(one_of(conn, table.c.id, ids))
    by_ids_only = ids is not None and limit is None and not offset and len(conditions) == 1
    total = None if by_ids_only else conn.execute(
        select(func.count()).select_from(table).where(*conditions)).scalar_one()
    stmt = select(*table.columns).where(*conditions).order_by(table.c.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    result = conn.execute(stmt)
    keys = list(result.keys())
    rows = [dict(zip(keys, row, strict=True)) for row in result]
    if total is None:  # the elements with these ids: counting them needs no query
        total = len(rows)
    page = [r["id"] for r in rows] if (limit is not None or ids is not None or conditions) else None
    if kind == "duct":
        return [_duct_element(r) for r in rows], total
    if kind == "cable":
        route_of = (_children(conn, CableDuctTable.__table__, "cable_id", "duct_id", page)
                    if routes else {})
        return [
            {
                "id": r["id"],
                "operator": r["operator"],
                "fibre_count": r["fibre_count"],
                "outer_diameter_mm": r["outer_diameter_mm"],
                "ducts": route_of.get(r["id"], []),
                "attenuation_db_per_km": _attenuation_of(r),
            }
            for r in rows
        ], total
    if kind == "olt":
        ports = _ports_of(conn, page)
        return [{**dict(r), "ports": ports.get(r["id"], [])} for r in rows], total
    if kind == "port":
        return [{**port_element(r), "olt": r["olt_id"]} for r in rows], total
    if kind == "ont":
        return [_ont_element(r) for r in rows], total
    if kind == "link":
        carried = _children(conn, LinkCableTable.__table__, "link_id", "cable_id", page)
        return [
            {
                "id": r["id"],
                "from": r["from_id"],
                "to": r["to_id"],
                "length_m": r["length_m"],
                "connectors": r["connectors"],
                "splices": r["splices"],
                "extra_loss_db": r["extra_loss_db"],
                "leg": r["leg"],
                "cables": carried.get(r["id"], []),
                "attenuation_db_per_km": _attenuation_of(r),
            }
            for r in rows
        ], total
    return [dict(r) for r in rows], total


def bump_revision(conn: Connection) -> int | None:
    """Mark the stored network as changed (caches keyed on :func:`revision` rebuild); the
    revision it is now at (None when no network is stored)."""
    table = NetworkTable.__table__
    return conn.execute(table.update().values(revision=table.c.revision + 1)
                        .returning(table.c.revision)).scalar()


def bump_reservations_revision(conn: Connection) -> None:
    """Mark the reservations as changed (duct fill and routing caches rebuild)."""
    table = NetworkTable.__table__
    conn.execute(table.update().values(reservations_revision=table.c.reservations_revision + 1))


def reservations_revision(conn: Connection) -> int:
    """The reservations' revision: it changes with every reserve, confirm, cancel, import."""
    table = NetworkTable.__table__
    value = conn.execute(select(table.c.reservations_revision)).scalar_one_or_none()
    return int(value or 0)


def revision(conn: Connection) -> int:
    """The stored network's revision: it changes with every write."""
    value = conn.execute(select(NetworkTable.__table__.c.revision)).scalar_one_or_none()
    return int(value or 0)


def kind_of(conn: Connection, element_id: str) -> str | None:
    """The kind of the element with this id, or None."""
    table = ElementTable.__table__
    return conn.execute(select(table.c.kind).where(table.c.id == element_id)).scalar_one_or_none()


def export_document(engine: Engine) -> Document:
    """The stored network as a ``ponmodel/1`` document (elements ordered by id), read in
    one snapshot (:func:`read_snapshot`)."""
    with read_snapshot(engine) as conn, gc_paused():
        return export_with(conn)


def network_meta(conn: Connection) -> dict[str, Any]:
    """The stored network's ``name`` and ``defaults`` (as the document writes them)."""
    net = conn.execute(select(*NetworkTable.__table__.columns)).mappings().first()
    if net is None:
        return {"name": None, "defaults": None}
    defaults = {
        "attenuation_db_per_km": _attenuation_of(net),
        "connector_loss_db": net["connector_loss_db"],
        "splice_loss_db": net["splice_loss_db"],
        "safety_margin_db": net["safety_margin_db"],
    }
    return {
        "name": net["name"],
        "defaults": defaults if any(v is not None for v in defaults.values()) else None,
    }


def export_with(conn: Connection) -> Document:
    """:func:`export_document` on an open connection (inside a caller's transaction: one
    snapshot when it is a :func:`read_snapshot` or a write transaction)."""
    doc: Document = {"format": FORMAT, **network_meta(conn)}
    for key, kind in KIND_OF_COLLECTION.items():
        doc[key] = read_elements(conn, kind)[0]
    return doc


# --------------------------------------------------------------------------- inspection


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per inventory table."""
    with engine.connect() as conn:
        return _counts(conn)


def checksum(engine: Engine) -> str:
    """SHA-256 over every inventory row in primary-key order: equal before and after a
    failed write proves that nothing was written."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in TABLES_IN_INSERT_ORDER:
            digest.update(table.name.encode())
            stmt = select(*table.columns).order_by(*table.primary_key.columns)
            for row in conn.execute(stmt):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def drop_all(engine: Engine) -> None:
    """Drop every ponmodel table and Alembic's version table (for tests and resets)."""
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@contextmanager
def scratch_postgres(url: str, prefix: str = "ponmodel_scratch") -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of ``url``, dropped on leaving (even
    on error, and with any connection still open to it): for tests and benchmarks.

    Yields its URL (``url`` with the database replaced by ``prefix`` and a random suffix);
    the user of ``url`` needs the CREATEDB privilege, and the database ``url`` names is only
    used to connect.
    """
    import uuid

    from sqlalchemy.engine import make_url

    base = make_url(url)
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


# --------------------------------------------------------------------------- zone loads

_CHUNK = 10_000
"""Ids per ``IN (…)`` list: below SQLite's limit of bound parameters per statement."""


def _chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for ident in ids:
        batch.append(ident)
        if len(batch) == _CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def elements_by_ids(conn: Connection, kind: str, ids: Iterable[str], *, routes: bool = True
                    ) -> list[dict[str, Any]]:
    """Document elements of one kind with these ids (in chunks), ordered by id (``routes``
    as :func:`read_elements` takes it)."""
    out: list[dict[str, Any]] = []
    for batch in _chunks(sorted(set(ids))):
        out.extend(read_elements(conn, kind, ids=batch, routes=routes)[0])
    out.sort(key=lambda e: e["id"])
    return out


def column_where_in(conn: Connection, table: Any, columns: Sequence[str], key: str,
                    values: Iterable[str]) -> list[tuple[Any, ...]]:
    """Rows (only ``columns``) of ``table`` whose ``key`` is one of ``values`` (chunked)."""
    rows: list[tuple[Any, ...]] = []
    cols = [table.c[c] for c in columns]
    for batch in _chunks(sorted(set(values))):
        stmt = select(*cols).where(one_of(conn, table.c[key], batch))
        rows.extend(tuple(r) for r in conn.execute(stmt))
    return rows
