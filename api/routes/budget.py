"""Optical budget per zone, port and ONT (with the hop-by-hop trace), and upgrade readiness."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from ponmodel.api.deps import CacheDep, ConnectionDep
from ponmodel.api.problems import PROBLEM_RESPONSES
from ponmodel.budget import BudgetResult
from ponmodel.document import Document
from ponmodel.topology.budget import (
    ONT_FIELDS_READ,
    BudgetReport,
    compute,
    hop_losses,
    network_budget,
)
from ponmodel.topology.build import Topology
from ponmodel.topology.local import olt_document
from ponmodel.topology.pack import PonForest, pack_forest
from ponmodel.topology.upgrade import upgrade_readiness

router = APIRouter(tags=["budget"], responses=PROBLEM_RESPONSES)
ZoneQuery = Annotated[str | None, Query(description="Only this zone (default: the network).")]
IdPath = Annotated[str, Path(description="Element id (may contain '/').")]


class DirectionPublic(BaseModel):
    wavelength_nm: int
    loss_db: float
    rx_min_dbm: float
    rx_max_dbm: float
    headroom_db: float
    ok: bool


class OntBudgetPublic(BaseModel):
    id: str
    port: str
    olt: str
    distance_m: float
    split: int
    downstream: DirectionPublic
    upstream: DirectionPublic
    class_ok: bool
    reach_ok: bool
    split_ok: bool
    ok: bool
    problems: list[str]


class PortBudgetPublic(BaseModel):
    id: str
    olt: str
    technology: str
    optics_class: str
    onts: int
    onts_within_budget: int
    max_distance_m: float
    max_reach_m: float
    differential_reach_m: float
    max_differential_reach_m: float
    differential_loss_down_db: float
    differential_loss_up_db: float
    max_differential_loss_db: float
    worst_ont: str | None
    worst_headroom_db: float | None
    ok: bool
    problems: list[str]


class BudgetPublic(BaseModel):
    """ONTs (worst headroom first, paginated) and every port."""

    onts: list[OntBudgetPublic]
    onts_total: int = Field(description="ONTs matching, over all pages.")
    onts_within_budget: int
    ports: list[PortBudgetPublic]


class HopPublic(BaseModel):
    link: str | None
    node: str
    kind: str
    length_m: float
    distance_m: float
    loss_down_db: float
    loss_up_db: float
    cum_loss_down_db: float
    cum_loss_up_db: float


class OntBudgetDetail(OntBudgetPublic):
    hops: list[HopPublic] = Field(description="The path from the port, loss per hop and total.")


def forest_layers(cache: CacheDep, conn: ConnectionDep, zone: str | None
                  ) -> tuple[PonForest, BudgetResult]:
    """The packed forest and the kernel's figures, once per revision (every budget and
    capacity figure starts from them)."""
    def layers(topo: Topology) -> tuple[PonForest, BudgetResult]:
        forest = pack_forest(topo.doc)
        return forest, compute(forest)

    return cache.memo(conn, "forest", layers, zone, ont_fields=ONT_FIELDS_READ)


def budget_report(cache: CacheDep, conn: ConnectionDep, zone: str | None) -> BudgetReport:
    """The budget report of the network or a zone, once per revision."""
    return cache.memo(
        conn, "budget",
        lambda topo: network_budget(topo.doc, forest=forest_layers(cache, conn, zone)[0]),
        zone, ont_fields=ONT_FIELDS_READ,
    )


@router.get("/budget", name="budget", response_model=BudgetPublic)
def budget_route(
    cache: CacheDep,
    conn: ConnectionDep,
    zone: ZoneQuery = None,
    failing: Annotated[bool, Query(description="Only ONTs that fail.")] = False,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The optical budget of a zone (or the network): every ONT both ways, every port."""
    report = budget_report(cache, conn, zone)
    onts = [o for o in report.onts if not o.ok] if failing else report.onts
    return {
        "onts": [o.as_dict() for o in onts[offset:offset + limit]],
        "onts_total": len(onts),
        "onts_within_budget": sum(1 for o in report.onts if o.ok),
        "ports": [p.as_dict() for p in report.ports],
    }


@router.get("/budget/ports/{port_id:path}", name="port_budget", response_model=PortBudgetPublic)
def port_budget_route(cache: CacheDep, conn: ConnectionDep, port_id: IdPath) -> dict[str, Any]:
    """One PON port: its ONTs' differential reach and loss against the limits."""
    report = budget_report(cache, conn, None)
    for port in report.ports:
        if port.id == port_id:
            return port.as_dict()
    from ponmodel.errors import NotFoundError

    raise NotFoundError(kind="port", element_id=port_id)


@router.get("/budget/onts/{ont_id:path}", name="ont_budget", response_model=OntBudgetDetail)
def ont_budget_route(cache: CacheDep, conn: ConnectionDep, ont_id: IdPath) -> dict[str, Any]:
    """One ONT's budget with its path hop by hop: loss of each hop and running total.

    Right after a write, before the cached network has caught up, it is computed from the
    ONT's OLT alone (:mod:`ponmodel.topology.local`: the same figures, whatever the
    network's size)."""
    local = None if cache.is_current(conn) else local_document(cache, conn, ont_id,
                                                                 whole_olt=False)
    if local is not None:
        forest = pack_forest(local)
        result = compute(forest)
        ont = network_budget(local, forest=forest).ont(ont_id)
    else:
        ont = budget_report(cache, conn, None).ont(ont_id)
        forest, result = forest_layers(cache, conn, None)
    return {**ont.as_dict(), "hops": [h.as_dict() for h in hop_losses(forest, result, ont_id)]}


def local_document(cache: CacheDep, conn: ConnectionDep, ont_id: str, *,
                   whole_olt: bool = True) -> Document | None:
    """The document of the OLT feeding ``ont_id`` (of its port only, unless ``whole_olt``)
    as the caller may read it: None when no port reaches it; :class:`NotFoundError` when
    it is another operator's."""
    from ponmodel.errors import NotFoundError

    local = olt_document(conn, ont_id, whole_olt=whole_olt)
    if local is not None and cache.scope is not None \
            and local["olts"][0]["operator"] != cache.scope:
        raise NotFoundError(kind="ont", element_id=ont_id)
    return local


@router.get("/upgrade", name="upgrade_readiness")
def upgrade_route(
    cache: CacheDep,
    conn: ConnectionDep,
    zone: ZoneQuery = None,
    optics_class: Annotated[str, Query(alias="class", pattern="^(N1|N2|E1|E2)$")] = "N1",
) -> dict[str, Any]:
    """GPON-to-XGS-PON readiness per GPON port and per zone, with the chosen class."""
    return cache.memo(
        conn, ("upgrade", optics_class),
        lambda topo: upgrade_readiness(topo.doc, optics_class), zone,
        ont_fields=ONT_FIELDS_READ,
    )
