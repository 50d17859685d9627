"""Bandwidth at full load, 10G-symmetric verdicts, placement of a new customer, what-if."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ponmodel.api.deps import CacheDep, ConnectionDep, Refresh
from ponmodel.api.problems import PROBLEM_RESPONSES
from ponmodel.api.routes.budget import budget_report, forest_layers, local_document
from ponmodel.elements import LinkCreate, OntCreate, RateMbps, Service
from ponmodel.service import check_service
from ponmodel.topology.build import Topology
from ponmodel.topology.capacity import (
    ONT_FIELDS_READ,
    SERVICE_FIELDS,
    CapacityReport,
    network_capacity,
    refresh_services,
)
from ponmodel.topology.placement import place
from ponmodel.topology.whatif import what_if

router = APIRouter(tags=["capacity"], responses=PROBLEM_RESPONSES)
ZoneQuery = Annotated[str | None, Query(description="Only this zone (default: the network).")]


class LoadPublic(BaseModel):
    capacity_mbps: float
    guaranteed_mbps: float
    sold_max_mbps: float
    oversubscription: float
    admissible: bool


class RatesPublic(BaseModel):
    guaranteed_mbps: float
    full_load_mbps: float
    peak_mbps: float
    max_mbps: float


class OntCapacityPublic(BaseModel):
    id: str
    port: str
    olt: str
    kind: str
    zone: str | None
    down: RatesPublic
    up: RatesPublic
    ten_g_symmetric: bool
    reasons: list[str] = Field(description="Why it is not 10G-symmetric (empty when it is).")


class PortCapacityPublic(BaseModel):
    id: str
    olt: str
    operator: str
    zone: str | None
    technology: str
    onts: int
    down: LoadPublic
    up: LoadPublic
    worst_served_ont: str | None
    worst_served_share: float | None


class OltCapacityPublic(BaseModel):
    id: str
    operator: str
    zone: str | None
    uplink_gbps: float
    down: LoadPublic
    up: LoadPublic


class CapacityPublic(BaseModel):
    ports: list[PortCapacityPublic]
    onts: list[OntCapacityPublic]
    olts: list[OltCapacityPublic]


def _report(cache: CacheDep, conn: ConnectionDep, zone: str | None) -> CapacityReport:
    def report(topo: Topology) -> CapacityReport:
        forest, _ = forest_layers(cache, conn, zone)
        return network_capacity(topo.doc, forest=forest,
                                budget=budget_report(cache, conn, zone))

    def refreshed(value: CapacityReport, topo: Topology, edited: frozenset[str]
                  ) -> CapacityReport:
        # a service edit reallocates the edited ONTs' ports only, not the whole network
        forest, _ = forest_layers(cache, conn, zone)
        onts = {ont["id"]: ont for ont in topo.doc.get("onts", [])}
        return refresh_services(value, forest, onts, edited)

    return cache.memo(conn, "capacity", report, zone, ont_fields=ONT_FIELDS_READ,
                      refresh=Refresh(SERVICE_FIELDS, refreshed))


@router.get("/capacity", name="capacity", response_model=CapacityPublic)
def capacity_route(cache: CacheDep, conn: ConnectionDep, zone: ZoneQuery = None) -> Any:
    """Every port and OLT uplink (capacity, guaranteed, sold, oversubscription, admissible)
    and every ONT (guaranteed, full-load and peak rates both ways, 10G-symmetric)."""
    return _report(cache, conn, zone).as_dict()


@router.get("/capacity/summary", name="capacity_summary")
def summary_route(
    cache: CacheDep,
    conn: ConnectionDep,
    by: Annotated[Literal["zone", "operator", "olt", "port"], Query()] = "zone",
    zone: ZoneQuery = None,
) -> list[dict[str, Any]]:
    """Totals per zone, operator, OLT or port, with the worst-served ONT and the share of
    enterprise ONTs that are 10G-symmetric."""
    return cache.memo(conn, ("capacity-summary", by),
                      lambda topo: _report(cache, conn, zone).summary(by), zone,
                      ont_fields=ONT_FIELDS_READ)


@router.get("/capacity/onts/{ont_id:path}", name="ont_capacity",
            response_model=OntCapacityPublic)
def ont_capacity_route(
    cache: CacheDep, conn: ConnectionDep,
    ont_id: Annotated[str, Path(description="ONT id.")],
) -> Any:
    """One ONT's guaranteed, full-load and peak rates, and why it is not 10G-symmetric
    (right after a write, from the ONT's OLT alone, as ``GET /budget/onts/{id}``)."""
    local = None if cache.is_current(conn) else local_document(cache, conn, ont_id)
    if local is not None:
        return network_capacity(local).ont(ont_id).as_dict()
    return _report(cache, conn, None).ont(ont_id).as_dict()


class DirectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    fixed_mbps: RateMbps = 0.0
    assured_mbps: RateMbps = 0.0
    max_mbps: RateMbps


class ServiceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    down: DirectionRequest
    up: DirectionRequest


class PlacementRequest(BaseModel):
    """A new customer: where, what service, optionally which operator. The service's rules
    across fields (assured ≤ max, fixed + assured ≤ max) are checked by the library
    (:func:`ponmodel.service.check_service`): 422 ``/problems/invalid-value``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    structure: str = Field(min_length=1, description="Structure of the new customer.")
    service: ServiceRequest
    operator: str | None = None
    zone: str | None = Field(default=None, description="Only splitters of this zone's trees.")


@router.post("/placement", name="placement")
def placement_route(cache: CacheDep, conn: ConnectionDep, body: PlacementRequest) -> dict[str, Any]:
    """Every splitter with a free output whose budget (with the new drop routed along the
    ducts) closes both ways with the margin and whose port stays admissible, cheapest to
    connect first: new trench metres, then drop length, then headroom."""
    zone = body.zone
    service = body.service.model_dump()
    check_service(service)  # 422 /problems/invalid-value before any layer is built
    forest, result = forest_layers(cache, conn, zone)
    capacity = _report(cache, conn, zone)
    topo = cache.get(conn, zone)
    return place(topo.doc, structure_id=body.structure, service=service,
                 operator=body.operator, topology=topo, forest=forest, result=result,
                 capacity=capacity)


class AddedOnt(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ont: OntCreate
    link: LinkCreate = Field(description="The link feeding the new ONT.")


class WhatIfRequest(BaseModel):
    """Changes to try, nothing written."""

    model_config = ConfigDict(extra="forbid", strict=True)
    add: list[AddedOnt] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)
    profile: dict[str, Service] = Field(default_factory=dict)
    zone: str | None = None


@router.post("/what-if", name="what_if")
def what_if_route(
    cache: CacheDep, conn: ConnectionDep, body: WhatIfRequest,
    full: Annotated[bool, Query(description="Also the whole changed network's budget and "
                                "capacity, not only what changes.")] = False,
) -> dict[str, Any]:
    """What changes with ONTs added, removed or re-profiled: ONTs added and removed, every
    ONT whose budget or rates move and whose verdicts flip, every port whose load moves
    (before, after, change), the headline counts before and after; the database is not
    touched."""
    topo = cache.get(conn, body.zone)
    result = what_if(
        topo.doc,
        before=(budget_report(cache, conn, body.zone), _report(cache, conn, body.zone)),
        add=[{"ont": a.ont.model_dump(by_alias=True), "link": a.link.model_dump(by_alias=True)}
             for a in body.add],
        remove=body.remove,
        profile={k: v.model_dump() for k, v in body.profile.items()},
    )
    answer: dict[str, Any] = {"difference": result["difference"]}
    if full:
        answer["capacity"] = result["capacity"].as_dict()
        answer["budget"] = result["budget"].as_dict()
        answer["summary"] = result["capacity"].summary("port")
    return answer
