"""The audit log, for admins: who changed what, when, before and after."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ponmodel import audit
from ponmodel.access import require_admin
from ponmodel.api.deps import EngineDep, PrincipalDep
from ponmodel.api.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["audit"], responses=PROBLEM_RESPONSES)


class AuditEntry(BaseModel):
    """One change: the key that made it, when, and the element before and after."""

    id: int
    at: str
    actor: str
    actor_name: str
    role: str
    operator: str | None
    action: str
    kind: str | None
    element_id: str | None
    before: Any
    after: Any
    revision: int | None


@router.get("/audit", name="audit_log", response_model=list[AuditEntry])
def audit_route(
    engine: EngineDep,
    principal: PrincipalDep,
    element_id: Annotated[str | None, Query(max_length=500)] = None,
    actor: Annotated[str | None, Query(max_length=100, description="A key id.")] = None,
    action: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Entries, newest first (admin keys only)."""
    require_admin(principal, "read the audit log")
    return audit.list_entries(engine, element_id=element_id, actor=actor, action=action,
                              limit=limit, offset=offset)
