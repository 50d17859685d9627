"""Shared ducts: fill and use per operator, routing of new cables, failure impact."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from ponmodel.api.deps import CacheDep, ConnectionDep
from ponmodel.api.problems import PROBLEM_RESPONSES
from ponmodel.document import Document
from ponmodel.errors import NotFoundError, RouteError
from ponmodel.reservations import active_count, active_reservation_cables
from ponmodel.storage import reservations_revision
from ponmodel.topology.ducts import ONT_FIELDS_READ as FILL_ONT_FIELDS
from ponmodel.topology.ducts import DuctReport, duct_fill, duct_parts, one_duct_fill
from ponmodel.topology.impact import (
    ONT_FIELDS_READ_LIVE_CUSTOMERS,
    impact,
    impact_index,
    shared_risk,
)
from ponmodel.topology.routing import ONT_FIELDS_READ as ROUTING_ONT_FIELDS
from ponmodel.topology.routing import plan_route, routing_index

router = APIRouter(tags=["ducts"], responses=PROBLEM_RESPONSES)
ZoneQuery = Annotated[str | None, Query(description="Only this zone (default: the network).")]


def with_reservations(doc: Document, conn: Connection, scope: str | None = None) -> Document:
    """``doc`` with every active reservation as a cable occupying its route (they hold room);
    for an operator's ``scope``, other operators' reservations as anonymous room per duct
    (:func:`ponmodel.reservations.active_reservation_cables`)."""
    held = active_reservation_cables(conn, scope=scope)
    if not held:
        return doc
    present = {d["id"] for d in doc.get("ducts", [])}
    held = [c for c in held if all(d in present for d in c["ducts"])]
    return {**doc, "cables": [*doc.get("cables", []), *held]}


def _held(conn: Connection) -> tuple[int, int]:
    """What the room reservations hold depends on: their revision, and how many are still
    active (one lapses at its expiry time, without any write)."""
    return reservations_revision(conn), active_count(conn)


def _fill(cache: CacheDep, conn: ConnectionDep, zone: str | None, near: float) -> DuctReport:
    return cache.memo(conn, ("fill", near),
                      lambda topo: duct_fill(with_reservations(topo.doc, conn, cache.scope),
                                            near_share=near),
                      zone, generation=_held(conn), ont_fields=FILL_ONT_FIELDS)


@router.get("/fill", name="duct_fill")
def fill_route(
    cache: CacheDep,
    conn: ConnectionDep,
    zone: ZoneQuery = None,
    near: Annotated[float, Query(gt=0, le=1, description="Share of the limit that is 'near'.")]
    = 0.9,
) -> dict[str, Any]:
    """Every duct's fill against its limit, occupants and operators, headroom and free
    innerducts; per operator its duct-metres and share of the occupied cross-section; per zone
    the ducts over, near and unused. Active reservations count as occupants."""
    return _fill(cache, conn, zone, near).as_dict()


@router.get("/fill/ducts/{duct_id:path}", name="duct_occupancy")
def duct_occupancy_route(
    cache: CacheDep, conn: ConnectionDep, duct_id: Annotated[str, Path()]
) -> dict[str, Any]:
    """One duct's occupancy: occupants, operators, fill, limit and headroom."""
    parts = cache.memo(conn, "duct-parts", lambda topo: duct_parts(topo.doc),
                       ont_fields=FILL_ONT_FIELDS)
    part = parts.get(duct_id)
    if part is None:
        raise NotFoundError(kind="duct", element_id=duct_id)
    # computed from the duct's own part: a reservation elsewhere costs this duct nothing more
    # than a look at the active reservations, not the whole network's fill again
    return cache.memo(
        conn, ("duct-fill", duct_id),
        lambda topo: one_duct_fill(part, duct_id,
                                   held_cables=active_reservation_cables(
                                       conn, scope=cache.scope)).as_dict(),
        generation=_held(conn), ont_fields=FILL_ONT_FIELDS,
    )


class RouteRequest(BaseModel):
    """A new cable to route from one structure to another."""

    model_config = ConfigDict(extra="forbid", strict=True)
    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    cable_diameter_mm: float | None = Field(default=None, gt=0, le=200)
    fibre_count: int | None = Field(default=None, gt=0, le=10_000)
    operator: str | None = None
    k: int = Field(default=1, ge=1, le=20)
    avoid: list[str] = Field(default_factory=list, max_length=10_000)
    owners: list[str] | None = None
    via: list[str] = Field(default_factory=list, max_length=20)
    zone: str | None = None


@router.post("/routes", name="plan_route")
def route_route(cache: CacheDep, conn: ConnectionDep, body: RouteRequest) -> dict[str, Any]:
    """The k shortest routes through ducts that still have room for the cable (active
    reservations count), each with its ducts and their fill before and after; when none
    exists, the blocking ducts named."""
    if body.cable_diameter_mm is None and body.fibre_count is None:
        msg = "give cable_diameter_mm or fibre_count"
        raise RouteError(msg)
    index = cache.memo(conn, "routing",
                       lambda topo: routing_index(with_reservations(topo.doc, conn, cache.scope)),
                       body.zone,
                       generation=_held(conn), ont_fields=ROUTING_ONT_FIELDS)
    try:
        return plan_route(
            index, body.from_, body.to, cable_diameter_mm=body.cable_diameter_mm,
            fibre_count=body.fibre_count, operator=body.operator, k=body.k, avoid=body.avoid,
            owners=body.owners, via=body.via,
        )
    except ValueError as exc:
        raise RouteError(str(exc)) from None


@router.get("/impact", name="impact")
def impact_route(
    cache: CacheDep,
    conn: ConnectionDep,
    element: Annotated[list[str], Query(min_length=1, max_length=10_000,
                                        description="Failing elements (repeat).")],
) -> dict[str, Any]:
    """Everything that loses service when the elements fail together: links cut, ONTs dark
    (by operator, zone and customer), sites losing backhaul, totals."""
    # customers are read from the live elements (ONT edits update them in place), so a
    # rename keeps the index
    elements = cache.get(conn).elements
    index = cache.memo(conn, "impact", lambda topo: impact_index(topo.doc),
                       ont_fields=ONT_FIELDS_READ_LIVE_CUSTOMERS)
    return impact(index, element,
                  customer_of=lambda ont: elements.get(ont, ("ont", {}))[1].get("customer"))


@router.get("/shared-risk", name="shared_risk")
def shared_risk_route(
    cache: CacheDep,
    conn: ConnectionDep,
    share: Annotated[float, Query(gt=0, le=1)] = 0.2,
) -> dict[str, Any]:
    """Ducts carrying several operators' feeders, and per operator the single ducts whose
    loss would cut more than ``share`` of its ONTs in a zone."""
    index = cache.memo(conn, "impact", lambda topo: impact_index(topo.doc),
                       ont_fields=ONT_FIELDS_READ_LIVE_CUSTOMERS)  # no customer read
    return shared_risk(index, share)
