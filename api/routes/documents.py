"""Bulk import and export of whole network documents, and the JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ponmodel.access import require_admin
from ponmodel.api.deps import CacheDep, ConnectionDep, EngineDep, PrincipalDep
from ponmodel.api.problems import PROBLEM_RESPONSES
from ponmodel.document import dump_document, json_schema, load_document, parse_json
from ponmodel.storage import export_document, import_document
from ponmodel.topology.build import subset_for_zone

router = APIRouter(tags=["documents"], responses=PROBLEM_RESPONSES)

_DOCUMENT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/NetworkDocument"}}
        },
    }
}


@router.post("/import", name="import_document", openapi_extra=_DOCUMENT_BODY)
async def import_route(
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    replace: Annotated[bool, Query(description="Replace the stored network.")] = False,
) -> dict[str, Any]:
    """Validate a whole ``ponmodel/1`` document and store it in one transaction.

    Every problem is returned at once (422, each with element id and JSON pointer) and
    nothing is written. Importing over a stored network needs ``replace=true`` (else 409).
    Admin keys only (403 before the body is read).
    """
    require_admin(principal, "import a whole network")
    body = await request.body()  # capped by size and time: api/limits.py

    def work() -> dict[str, int]:  # validation and writing are CPU-bound: off the event loop
        doc = load_document(parse_json(body, source="request body"))
        return import_document(engine, doc, replace=replace, validated=True, actor=principal)

    return {"imported": await run_in_threadpool(work)}


@router.get("/export", name="export_document")
def export_route(
    engine: EngineDep,
    cache: CacheDep,
    conn: ConnectionDep,
    zone: Annotated[str | None, Query(description="Only what concerns this zone.")] = None,
) -> Response:
    """The stored network (or one zone of it) as a ``ponmodel/1`` document; for a key of
    one operator, the network as that operator may read it (others' PON trees left out)."""
    doc = export_document(engine) if cache.scope is None else cache.get(conn).doc
    if zone is not None:
        doc = subset_for_zone(doc, zone)
    return Response(dump_document(doc, indent=False), media_type="application/json")


@router.get("/schema", name="document_schema")
def schema_route() -> dict[str, Any]:
    """The JSON Schema of the ``ponmodel/1`` network document."""
    return json_schema()
