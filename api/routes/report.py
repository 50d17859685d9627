"""The zones' yearly readiness report (Plan 310/KH-UBND) and GeoJSON interchange with GIS."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from ponmodel.access import require_admin
from ponmodel.api.deps import CacheDep, ConnectionDep, EngineDep, PrincipalDep
from ponmodel.api.problems import PROBLEM_RESPONSES
from ponmodel.document import parse_json
from ponmodel.merge import merge_elements
from ponmodel.topology.geojson import from_geojson, to_geojson
from ponmodel.topology.report import report_csv, report_html, zone_report

router = APIRouter(tags=["report"], responses=PROBLEM_RESPONSES)
GEOJSON_MEDIA_TYPE = "application/geo+json"
"""RFC 7946 §12."""

_GEOJSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {GEOJSON_MEDIA_TYPE: {"schema": {"type": "object"}},
                    "application/json": {"schema": {"type": "object"}}},
    }
}


@router.get(
    "/report",
    name="zone_report",
    responses={200: {"content": {"application/json": {}, "text/csv": {}, "text/html": {}}}},
)
def report_route(
    cache: CacheDep,
    conn: ConnectionDep,
    year: Annotated[int, Query(ge=2025, le=2100, description="Reporting year.")] = 2026,
    format: Annotated[Literal["json", "csv", "html"], Query(description="Output format.")] = "json",
    optics_class: Annotated[
        Literal["N1", "N2", "E1", "E2"],
        Query(alias="class", description="XGS-PON class for the GPON ports' readiness."),
    ] = "N1",
) -> Response:
    """Every zone's readiness against Plan 310/KH-UBND (5G sites, 10G-symmetric enterprise
    ONTs, GPON ports to upgrade, duct sharing and fill), the city-wide totals against the
    plan's baseline and targets, and the gaps in words; as JSON, CSV or a self-contained HTML
    page with charts."""
    report = cache.memo(
        conn, ("report", year, optics_class),
        lambda topo: zone_report(topo.doc, year=year, optics_class=optics_class),
    )
    if format == "csv":
        disposition = f'attachment; filename="report-{year}.csv"'
        return Response(report_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": disposition})
    if format == "html":
        return HTMLResponse(report_html(report))
    return Response(_json(report), media_type="application/json")


def _json(value: Any) -> bytes:
    return orjson.dumps(value)


@router.get("/export/geojson", name="export_geojson",
            responses={200: {"content": {GEOJSON_MEDIA_TYPE: {}}}})
def export_geojson_route(cache: CacheDep, conn: ConnectionDep) -> Response:
    """The stored network's physical layer (structures, ducts, cables) and PON layer (ONTs
    with budget headroom and 10G status) as one RFC 7946 FeatureCollection."""
    collection = cache.memo(conn, "geojson", lambda topo: to_geojson(topo.doc))
    return Response(_json(collection), media_type=GEOJSON_MEDIA_TYPE)


@router.post("/import/geojson", name="import_geojson", openapi_extra=_GEOJSON_BODY)
async def import_geojson_route(
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    replace: Annotated[bool, Query(description="Features whose id is already stored replace "
                                   "those elements (else they are refused).")] = False,
) -> dict[str, Any]:
    """Merge structures (Points) and ducts (LineStrings) drawn in a GIS into the stored
    network in one transaction: new ids are created, stored ones (with ``replace``)
    updated, and nothing else is touched (reservations, cables, the PON layer, versions of
    the elements not changed). Answers what was created, updated and left unchanged.

    Every unusable feature is returned at once (422, pointer ``/features/<index>`` and the
    reason) and nothing is written. Structures and ducts are shared plant: admin keys only.
    """
    require_admin(principal, "import structures and ducts")
    body = await request.body()  # capped by size and time: api/limits.py

    def work() -> dict[str, Any]:  # off the event loop
        data = parse_json(body, source="request body")
        return merge_elements(engine, lambda base: from_geojson(data, base, replace=replace),
                              actor=principal)

    merged = await run_in_threadpool(work)
    return {
        **merged,
        "structures": merged["created"].get("structure", 0),
        "ducts": merged["created"].get("duct", 0),
    }
