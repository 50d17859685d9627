"""Reservations: room held in a route of ducts for a planned cable, safe under concurrency.

A reservation holds the cross-section of its cable in every duct of its route until it is
confirmed (it becomes the cable), cancelled, or it lapses at ``expires_at``. While active it
counts as an occupant in the fill check of every later reservation.

Two planners reserving the last room in a duct at the same moment must not both succeed.
Each reservation runs in one write transaction that first locks the route's duct rows in a
fixed order (sorted ids, so two routes sharing ducts cannot deadlock): ``SELECT … FOR
UPDATE`` on PostgreSQL, and on SQLite the database write lock taken at ``BEGIN IMMEDIATE``.
Only then does it read the ducts' occupants (cables, innerducts, active reservations) and
check the fill; the second planner waits for the first to commit and then sees its
reservation, so it gets a :class:`~ponmodel.errors.ConflictError` naming the full duct.

A reservation is a plan, so it is read like an operator's PON tree, not like a cable
(:mod:`ponmodel.scope`): a reader with a scope (a planner, an operator's viewer) reads, confirms
and cancels only its own operator's reservations; another operator's answers exactly like a
reservation id that does not exist. Only the room it holds is common knowledge:
:func:`active_reservation_cables` shows it to such a reader as anonymous room held in each
duct (no reservation id, operator, cable or route), so duct fill stays true for everyone.

Examples
--------
>>> from ponmodel.storage import make_engine, migrate, import_document
>>> from ponmodel.document import read_document
>>> engine = make_engine("sqlite://"); migrate(engine)
>>> _ = import_document(engine, read_document("fixtures/tiny.json"))
>>> r = reserve(engine, operator="vnpt", ducts=["DU-01"], outer_diameter_mm=12.0,
...             reservation_id="R-1")
>>> (r["id"], r["status"], r["ducts"])
('R-1', 'reserved', ['DU-01'])
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from ponmodel import audit, catalog
from ponmodel.access import LOCAL_ADMIN, Principal, require_write
from ponmodel.document import route_breaks
from ponmodel.elements import (
    CableDuctTable,
    CableTable,
    DuctTable,
    ElementTable,
    OperatorTable,
    ReservationDuctTable,
    ReservationTable,
)
from ponmodel.errors import ConflictError, NotFoundError, ReservationError
from ponmodel.fill import fill_ratio, has_room, limit_ratio, max_new_cable_mm
from ponmodel.storage import bump_reservations_revision, bump_revision, write_transaction

DEFAULT_TTL_S = 7 * 24 * 3600
"""A reservation lapses a week after it is made unless confirmed (override per request)."""

HELD_ROOM_OPERATOR = "(reserved)"
"""What a scoped reader's duct fill names as the user of room another operator holds
(:func:`active_reservation_cables`): that operator is not told."""

_R = ReservationTable.__table__
_RD = ReservationDuctTable.__table__
_D = DuctTable.__table__
_CD = CableDuctTable.__table__
_C = CableTable.__table__


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def occupants(conn: Connection, duct_ids: list[str], now: datetime,
              exclude_reservation: str | None = None) -> dict[str, list[tuple[str, float]]]:
    """Per duct: ``(id, outer diameter)`` of its cables, innerducts and active reservations."""
    out: dict[str, list[tuple[str, float]]] = {d: [] for d in duct_ids}
    for duct_id, cable_id, diameter in conn.execute(
        select(_CD.c.duct_id, _C.c.id, _C.c.outer_diameter_mm)
        .join(_C, _C.c.id == _CD.c.cable_id)
        .where(_CD.c.duct_id.in_(duct_ids))
    ):
        out[duct_id].append((cable_id, float(diameter)))
    for host, inner_id, diameter in conn.execute(
        select(_D.c.within, _D.c.id, _D.c.outer_diameter_mm).where(_D.c.within.in_(duct_ids))
    ):
        out[host].append((inner_id, float(diameter)))
    active = and_(_R.c.status == "reserved", _R.c.expires_at > now)
    if exclude_reservation is not None:
        active = and_(active, _R.c.id != exclude_reservation)
    for duct_id, reservation_id, diameter in conn.execute(
        select(_RD.c.duct_id, _R.c.id, _R.c.outer_diameter_mm)
        .join(_R, _R.c.id == _RD.c.reservation_id)
        .where(_RD.c.duct_id.in_(duct_ids), active)
    ):
        out[duct_id].append((f"reservation {reservation_id}", float(diameter)))
    return out


def _lock_ducts(conn: Connection, duct_ids: list[str]) -> dict[str, Any]:
    """Lock the route's duct rows (sorted ids) and return them; NotFound for a missing one."""
    ordered = sorted(set(duct_ids))
    stmt = select(*_D.columns).where(_D.c.id.in_(ordered)).order_by(_D.c.id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    rows = {r["id"]: dict(r) for r in conn.execute(stmt).mappings()}
    for duct_id in ordered:
        if duct_id not in rows:
            raise NotFoundError(kind="duct", element_id=duct_id)
    return rows


def reserve(
    engine: Engine,
    *,
    operator: str,
    ducts: list[str],
    outer_diameter_mm: float | None = None,
    fibre_count: int | None = None,
    cable_id: str | None = None,
    reservation_id: str | None = None,
    ttl_s: float = DEFAULT_TTL_S,
    now: datetime | None = None,
    actor: Principal = LOCAL_ADMIN,
) -> dict[str, Any]:
    """Hold room for a planned cable along ``ducts`` (in route order).

    Parameters
    ----------
    operator : str
        The operator the cable will belong to.
    ducts : list of str
        The route; consecutive ducts must share a structure.
    outer_diameter_mm, fibre_count : optional
        The cable: its diameter, else the catalogue's diameter for ``fibre_count``.
    cable_id : str, optional
        The id the cable takes when confirmed (default ``CB-<reservation id>``).
    ttl_s : float
        Seconds until the reservation lapses unless confirmed.
    actor : Principal
        Who asks (recorded in the audit log); a planner reserves only for its operator.

    Raises
    ------
    PermissionDeniedError
        ``actor`` may not write for ``operator``.
    ConflictError
        A duct of the route has no room left (named, with its fill), or the ids are taken.
    NotFoundError
        The operator or a duct does not exist.
    ReservationError
        The route is broken or the cable is not described.
    """
    require_write(actor, operator)
    if not ducts:
        msg = "a reservation needs a route of at least one duct"
        raise ReservationError(msg)
    if outer_diameter_mm is None:
        if fibre_count is None:
            msg = "give the cable's outer_diameter_mm or its fibre_count"
            raise ReservationError(msg)
        outer_diameter_mm = catalog.cable_outer_diameter_mm(fibre_count)
    if not outer_diameter_mm > 0 or ttl_s <= 0:
        msg = "outer_diameter_mm and ttl_s must be > 0"
        raise ReservationError(msg)
    fibres = fibre_count or next(
        (n for n, d in sorted(catalog.CABLE_OUTER_DIAMETER_MM_BY_FIBRE_COUNT.items())
         if d >= outer_diameter_mm), 0)
    now = now or _now()
    ident = reservation_id or f"RSV-{uuid.uuid4().hex[:12]}"
    cable = cable_id or f"CB-{ident}"
    with write_transaction(engine) as conn:
        if conn.execute(select(OperatorTable.__table__.c.id).where(
                OperatorTable.__table__.c.id == operator)).first() is None:
            raise NotFoundError(kind="operator", element_id=operator)
        rows = _lock_ducts(conn, ducts)
        breaks = route_breaks(ducts, {d: (r["from_id"], r["to_id"]) for d, r in rows.items()})
        if breaks:
            i = breaks[0]
            msg = f"consecutive ducts {ducts[i - 1]!r} and {ducts[i]!r} share no structure"
            raise ReservationError(msg)
        _check_ids_free(conn, ident, cable, now, actor.scope)
        inside = occupants(conn, sorted(rows), now)
        full = []
        for duct_id in sorted(rows):
            duct = rows[duct_id]
            diameters = [d for _, d in inside[duct_id]]
            override = duct["max_fill_ratio"]
            squares = sum(d * d for d in diameters)
            if not has_room(squares, len(diameters), duct["inner_diameter_mm"],
                            outer_diameter_mm, override=override):
                n = len(diameters) + 1
                largest = max_new_cable_mm(diameters, duct["inner_diameter_mm"], override=override)
                after = fill_ratio([*diameters, outer_diameter_mm], duct["inner_diameter_mm"])
                full.append(
                    f"duct {duct_id} has no room for a {outer_diameter_mm:g} mm cable: "
                    f"fill would be {after:.1%} against a limit of "
                    f"{limit_ratio(n, duct['max_fill_ratio']):.0%} for {n} occupants "
                    f"(largest cable that fits: {largest:.1f} mm)"
                )
        if full:
            raise ConflictError("; ".join(full), element_id=sorted(rows)[0])
        conn.execute(_R.insert().values(
            id=ident, operator=operator, cable_id=cable, fibre_count=fibres,
            outer_diameter_mm=outer_diameter_mm, status="reserved", created_at=now,
            expires_at=now + timedelta(seconds=ttl_s), confirmed_at=None,
        ))
        conn.execute(_RD.insert(), [
            {"reservation_id": ident, "position": i, "duct_id": d} for i, d in enumerate(ducts)
        ])
        bump_reservations_revision(conn)
        created = _read(conn, ident, now)
        audit.record(conn, actor, "reserve", kind="reservation", element_id=ident, after=created)
        return created


def _check_ids_free(conn: Connection, ident: str, cable: str, now: datetime,
                    scope: str | None) -> None:
    """Ids are one namespace for every operator, so a taken one is a conflict whoever holds
    it; the messages name no reservation outside ``scope``."""
    element = ElementTable.__table__
    if conn.execute(select(element.c.id).where(element.c.id == cable)).first() is not None:
        msg = f"cable id {cable!r} is already used by an element"
        raise ConflictError(msg, element_id=cable)
    if conn.execute(select(_R.c.id).where(_R.c.id == ident)).first() is not None:
        msg = f"reservation id {ident!r} is already used"
        raise ConflictError(msg, element_id=ident)
    taken = conn.execute(select(_R.c.id, _R.c.operator).where(
        _R.c.cable_id == cable, _R.c.status == "reserved", _R.c.expires_at > now)).first()
    if taken is not None:
        holder = f"reservation {taken[0]!r}" if scope in (None, taken[1]) else "a reservation"
        msg = f"cable id {cable!r} is already held by {holder}"
        raise ConflictError(msg, element_id=cable)


def _visible(ident: str, scope: str | None) -> Any:
    """The condition selecting reservation ``ident`` if ``scope`` may read it."""
    found = _R.c.id == ident
    return found if scope is None else and_(found, _R.c.operator == scope)


def _read(conn: Connection, ident: str, now: datetime, scope: str | None = None
          ) -> dict[str, Any]:
    row = conn.execute(select(*_R.columns).where(_visible(ident, scope))).mappings().first()
    if row is None:
        raise NotFoundError(kind="reservation", element_id=ident)
    ducts = [d for (d,) in conn.execute(
        select(_RD.c.duct_id).where(_RD.c.reservation_id == ident).order_by(_RD.c.position))]
    return _public(dict(row), ducts, now)


def _public(row: dict[str, Any], ducts: list[str], now: datetime) -> dict[str, Any]:
    expires = _aware(row["expires_at"])
    status = row["status"]
    if status == "reserved" and expires <= now:
        status = "expired"
    return {
        "id": row["id"], "operator": row["operator"], "cable_id": row["cable_id"],
        "fibre_count": row["fibre_count"], "outer_diameter_mm": row["outer_diameter_mm"],
        "status": status, "ducts": ducts,
        "created_at": _aware(row["created_at"]).isoformat(),
        "expires_at": expires.isoformat(),
        "confirmed_at": _aware(row["confirmed_at"]).isoformat() if row["confirmed_at"] else None,
    }


def _lock_reservation(conn: Connection, ident: str, scope: str | None) -> dict[str, Any]:
    """Lock and return the reservation if ``scope`` may read it, else NotFound as for a
    missing id (one statement: another operator's row is never locked)."""
    stmt = select(*_R.columns).where(_visible(ident, scope))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    if row is None:
        raise NotFoundError(kind="reservation", element_id=ident)
    return dict(row)


def confirm(engine: Engine, reservation_id: str, *, now: datetime | None = None,
            actor: Principal = LOCAL_ADMIN) -> dict[str, Any]:
    """Turn an active reservation into its cable (same transaction: all or nothing).

    Raises
    ------
    NotFoundError
        No such reservation in ``actor``'s scope (checked first).
    PermissionDeniedError
        ``actor`` may not write for the reservation's operator.
    ConflictError
        The reservation is not active (confirmed, cancelled or lapsed).
    """
    now = now or _now()
    with write_transaction(engine) as conn:
        row = _lock_reservation(conn, reservation_id, actor.scope)
        require_write(actor, row["operator"], reservation_id)
        current = _public(row, [], now)["status"]
        if current != "reserved":
            msg = (f"reservation {reservation_id!r} is {current}; "
                   "only an active one can be confirmed")
            raise ConflictError(msg, element_id=reservation_id)
        ducts = [d for (d,) in conn.execute(select(_RD.c.duct_id).where(
            _RD.c.reservation_id == reservation_id).order_by(_RD.c.position))]
        conn.execute(
            ElementTable.__table__.insert().values(id=row["cable_id"], kind="cable", version=1)
        )
        conn.execute(_C.insert().values(
            id=row["cable_id"], operator=row["operator"], fibre_count=row["fibre_count"],
            outer_diameter_mm=row["outer_diameter_mm"],
        ))
        conn.execute(_CD.insert(), [
            {"cable_id": row["cable_id"], "position": i, "duct_id": d} for i, d in enumerate(ducts)
        ])
        conn.execute(_R.update().where(_R.c.id == reservation_id).values(
            status="confirmed", confirmed_at=now))
        bump_revision(conn)
        bump_reservations_revision(conn)
        confirmed = _read(conn, reservation_id, now)
        audit.record(conn, actor, "confirm", kind="reservation", element_id=reservation_id,
                     before=_public(row, confirmed["ducts"], now), after=confirmed)
        return confirmed


def cancel(engine: Engine, reservation_id: str, *, now: datetime | None = None,
           actor: Principal = LOCAL_ADMIN) -> dict[str, Any]:
    """Release an active reservation's room.

    Raises
    ------
    NotFoundError
        No such reservation in ``actor``'s scope (checked first).
    PermissionDeniedError
        ``actor`` may not write for the reservation's operator.
    ConflictError
        The reservation was already confirmed or cancelled.
    """
    now = now or _now()
    with write_transaction(engine) as conn:
        row = _lock_reservation(conn, reservation_id, actor.scope)
        require_write(actor, row["operator"], reservation_id)
        if row["status"] != "reserved":
            msg = f"reservation {reservation_id!r} is {row['status']}; it cannot be cancelled"
            raise ConflictError(msg, element_id=reservation_id)
        conn.execute(_R.update().where(_R.c.id == reservation_id).values(status="cancelled"))
        bump_reservations_revision(conn)
        cancelled = _read(conn, reservation_id, now)
        audit.record(conn, actor, "cancel", kind="reservation", element_id=reservation_id,
                     before=_public(row, cancelled["ducts"], now), after=cancelled)
        return cancelled


def list_reservations(engine: Engine, *, operator: str | None = None, status: str | None = None,
                      scope: str | None = None, now: datetime | None = None
                      ) -> list[dict[str, Any]]:
    """Every reservation ``scope`` may read: all of them for None (an admin, a board
    viewer, the command line), else that operator's only; optionally of one operator, or
    with one derived status."""
    now = now or _now()
    wanted = [_R.c.operator == op for op in (operator, scope) if op is not None]
    with engine.connect() as conn:
        stmt = select(*_R.columns).where(*wanted).order_by(_R.c.created_at, _R.c.id)
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
        routes: dict[str, list[str]] = {}
        for reservation_id, duct_id in conn.execute(
            select(_RD.c.reservation_id, _RD.c.duct_id)
            .join(_R, _R.c.id == _RD.c.reservation_id).where(*wanted)
            .order_by(_RD.c.reservation_id, _RD.c.position)
        ):
            routes.setdefault(reservation_id, []).append(duct_id)
    out = [_public(r, routes.get(r["id"], []), now) for r in rows]
    return [r for r in out if status is None or r["status"] == status]


def get_reservation(engine: Engine, reservation_id: str, *, scope: str | None = None,
                    now: datetime | None = None) -> dict[str, Any]:
    """One reservation; NotFoundError, as for a missing id, when ``scope`` may not read it."""
    with engine.connect() as conn:
        return _read(conn, reservation_id, now or _now(), scope)


def active_count(conn: Connection, *, now: datetime | None = None) -> int:
    """How many reservations are active (held, not lapsed) at ``now``."""
    now = now or _now()
    stmt = select(func.count()).select_from(_R).where(_R.c.status == "reserved",
                                                      _R.c.expires_at > now)
    return int(conn.execute(stmt).scalar_one())


def active_reservation_cables(conn: Connection, *, scope: str | None = None,
                              now: datetime | None = None) -> list[dict[str, Any]]:
    """Active reservations as document cables: what they occupy, as ``scope`` may read it.

    For ``scope`` None (the whole network) each reservation is one cable
    ``reservation:<id>`` of its operator along its route, and so is each of the scope's own
    operator's. Another operator's is cut into one anonymous cable per duct of its route,
    ``reserved:<duct id>:<n>`` (the n-th such in that duct) of :data:`HELD_ROOM_OPERATOR`
    with no fibre count: the cross-section held in every duct, with nothing that names the
    plan or ties its ducts into a route.

    Examples
    --------
    >>> from ponmodel.storage import make_engine, migrate, import_document
    >>> from ponmodel.document import read_document
    >>> engine = make_engine("sqlite://"); migrate(engine)
    >>> _ = import_document(engine, read_document("fixtures/two_operators_shared_duct.json"))
    >>> _ = reserve(engine, operator="viettel", ducts=["DU-01", "DU-03"],
    ...             outer_diameter_mm=12.0, reservation_id="R-V")
    >>> with engine.connect() as conn:
    ...     [(c["id"], c["operator"], c["ducts"]) for c in active_reservation_cables(conn)]
    ...     [(c["id"], c["operator"], c["ducts"])
    ...      for c in active_reservation_cables(conn, scope="vnpt")]
    [('reservation:R-V', 'viettel', ['DU-01', 'DU-03'])]
    [('reserved:DU-01:1', '(reserved)', ['DU-01']), ('reserved:DU-03:1', '(reserved)', ['DU-03'])]
    """
    now = now or _now()
    rows = conn.execute(
        select(*_R.columns).where(_R.c.status == "reserved", _R.c.expires_at > now)
        .order_by(_R.c.created_at, _R.c.id)
    ).mappings().all()
    if not rows:
        return []
    routes: dict[str, list[str]] = {}
    for reservation_id, duct_id in conn.execute(
        select(_RD.c.reservation_id, _RD.c.duct_id)
        .where(_RD.c.reservation_id.in_([r["id"] for r in rows]))
        .order_by(_RD.c.reservation_id, _RD.c.position)
    ):
        routes.setdefault(reservation_id, []).append(duct_id)
    cables: list[dict[str, Any]] = []
    held_in: dict[str, int] = {}
    for r in rows:
        route = routes.get(r["id"], [])
        if scope is None or r["operator"] == scope:
            cables.append({"id": f"reservation:{r['id']}", "operator": r["operator"],
                           "fibre_count": r["fibre_count"],
                           "outer_diameter_mm": r["outer_diameter_mm"], "ducts": route,
                           "attenuation_db_per_km": None})
            continue
        for duct_id in dict.fromkeys(route):
            held_in[duct_id] = n = held_in.get(duct_id, 0) + 1
            cables.append({"id": f"reserved:{duct_id}:{n}", "operator": HELD_ROOM_OPERATOR,
                           "fibre_count": None, "outer_diameter_mm": r["outer_diameter_mm"],
                           "ducts": [duct_id], "attenuation_db_per_km": None})
    return cables
