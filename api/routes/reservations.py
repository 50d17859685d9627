"""Reservations of duct room for planned cables: create, confirm, cancel, list."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, ConfigDict, Field

from ponmodel import reservations
from ponmodel.api.deps import EngineDep, PrincipalDep
from ponmodel.api.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["reservations"], responses=PROBLEM_RESPONSES)
IdPath = Annotated[str, Path(description="Reservation id.")]


class ReservationRequest(BaseModel):
    """Hold room for a planned cable along a route of ducts."""

    model_config = ConfigDict(extra="forbid", strict=True)
    operator: str = Field(min_length=1)
    ducts: list[str] = Field(min_length=1, max_length=10_000, description="The route, in order.")
    outer_diameter_mm: float | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False)
    fibre_count: int | None = Field(default=None, gt=0, le=10_000)
    cable_id: str | None = Field(default=None, min_length=1, max_length=200)
    id: str | None = Field(default=None, min_length=1, max_length=200)
    ttl_s: float = Field(default=reservations.DEFAULT_TTL_S, gt=0, le=365 * 24 * 3600,
                         description="Seconds until it lapses unless confirmed.")


class ReservationPublic(BaseModel):
    id: str
    operator: str
    cable_id: str
    fibre_count: int
    outer_diameter_mm: float
    status: Literal["reserved", "confirmed", "cancelled", "expired"]
    ducts: list[str]
    created_at: str
    expires_at: str
    confirmed_at: str | None


_FOLLOW_UPS = {
    name: {"operationId": f"reservations-{name}",
           "parameters": {"reservation_id": "$response.body#/id"}}
    for name in ("get_reservation", "confirm_reservation", "cancel_reservation")
}
"""OpenAPI links from a new reservation to what can be done with it (stateful fuzzing)."""


@router.post("/reservations", name="create_reservation", response_model=ReservationPublic,
             status_code=status.HTTP_201_CREATED,
             responses={201: {"description": "Held", "links": _FOLLOW_UPS}})
def create_route(engine: EngineDep, principal: PrincipalDep, body: ReservationRequest
                 ) -> dict[str, object]:
    """Reserve room in every duct of the route; 409 naming the duct when one is full; 403
    for a planner of another operator or a viewer."""
    return reservations.reserve(
        engine, operator=body.operator, ducts=body.ducts,
        outer_diameter_mm=body.outer_diameter_mm, fibre_count=body.fibre_count,
        cable_id=body.cable_id, reservation_id=body.id, ttl_s=body.ttl_s, actor=principal,
    )


@router.get("/reservations", name="list_reservations", response_model=list[ReservationPublic])
def list_route(
    engine: EngineDep,
    principal: PrincipalDep,
    operator: Annotated[str | None, Query()] = None,
    state: Annotated[Literal["reserved", "confirmed", "cancelled", "expired"] | None,
                     Query(alias="status")] = None,
) -> list[dict[str, object]]:
    """The reservations the key may read (an operator's key: its operator's only; the room
    others hold shows in the duct fill), optionally of one operator or in one status."""
    return reservations.list_reservations(engine, operator=operator, status=state,
                                          scope=principal.scope)


@router.get("/reservations/{reservation_id}", name="get_reservation",
            response_model=ReservationPublic)
def get_route(engine: EngineDep, principal: PrincipalDep, reservation_id: IdPath
              ) -> dict[str, object]:
    """One reservation; another operator's answers like an id that does not exist."""
    return reservations.get_reservation(engine, reservation_id, scope=principal.scope)


@router.post("/reservations/{reservation_id}/confirm", name="confirm_reservation",
             response_model=ReservationPublic)
def confirm_route(engine: EngineDep, principal: PrincipalDep, reservation_id: IdPath
                  ) -> dict[str, object]:
    """Turn an active reservation into its cable (its operator's planners, or an admin);
    another operator's is 404, as for a missing id."""
    return reservations.confirm(engine, reservation_id, actor=principal)


@router.post("/reservations/{reservation_id}/cancel", name="cancel_reservation",
             response_model=ReservationPublic)
def cancel_route(engine: EngineDep, principal: PrincipalDep, reservation_id: IdPath
                 ) -> dict[str, object]:
    """Release an active reservation's room (its operator's planners, or an admin);
    another operator's is 404, as for a missing id."""
    return reservations.cancel(engine, reservation_id, actor=principal)
