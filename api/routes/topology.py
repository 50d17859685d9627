"""Trace, reach and pass-through queries over the cached topology."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from ponmodel.api.deps import TopologyDep
from ponmodel.api.problems import PROBLEM_RESPONSES
from ponmodel.topology import trace as tracing

router = APIRouter(tags=["topology"], responses=PROBLEM_RESPONSES)
IdPath = Annotated[str, Path(description="Element id (may contain '/').")]


class HopPublic(BaseModel):
    link: str
    from_kind: str
    from_id: str
    to_kind: str
    to_id: str
    length_m: float
    distance_m: float
    connectors: int
    splices: int
    cables: list[str]


class TracePublic(BaseModel):
    ont: str
    port: str
    olt: str
    distance_m: float
    split: int
    hops: list[HopPublic]


class ReachPublic(BaseModel):
    element: str
    onts: list[str]
    count: int


class ThroughPublic(BaseModel):
    structure: str
    ducts: list[str]
    cables: list[str]
    links: list[str]
    olts: list[str]
    splitters: list[str]
    onts: list[str]
    sites: list[str]


@router.get("/trace/{ont_id:path}", name="trace_ont", response_model=TracePublic)
def trace_route(topo: TopologyDep, ont_id: IdPath) -> TracePublic:
    """The path of an ONT back to its PON port and OLT, hop by hop."""
    return TracePublic.model_validate(tracing.trace(topo, ont_id).as_dict())


@router.get("/reach/{element_id:path}", name="reach", response_model=ReachPublic)
def reach_route(topo: TopologyDep, element_id: IdPath) -> ReachPublic:
    """Every ONT an OLT, PON port or splitter reaches."""
    onts = tracing.reach(topo, element_id)
    return ReachPublic(element=element_id, onts=onts, count=len(onts))


@router.get("/through/{structure_id:path}", name="through_structure", response_model=ThroughPublic)
def through_route(topo: TopologyDep, structure_id: IdPath) -> ThroughPublic:
    """What passes through or sits in a structure: ducts, cables, links, equipment."""
    return ThroughPublic(structure=structure_id, **tracing.through(topo, structure_id))
