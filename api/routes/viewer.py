"""The browser topology viewer: the page, plotly.js from the installed package, and its data.

The page (``/viewer``, ``/viewer/{zone}``) is plain HTML and JS with no build step and no
external request. Its data comes per zone and per layer from JSON endpoints, computed once
per revision of the database (``cache.memo``) and served as ready-made bytes: a 20,000-ONT
zone is a few megabytes of JSON that must not go through FastAPI's encoder at each request.
"""

from __future__ import annotations

from functools import cache
from html import escape
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response

from ponmodel.api.deps import CacheDep, ConnectionDep, EngineDep
from ponmodel.api.problems import PROBLEM_RESPONSES
from ponmodel.errors import NotFoundError
from ponmodel.storage import read_elements, read_snapshot
from ponmodel.topology import viewer
from ponmodel.topology.budget import compute, network_budget
from ponmodel.topology.build import Topology
from ponmodel.topology.impact import impact, impact_index
from ponmodel.topology.pack import pack_forest

router = APIRouter(tags=["viewer"], responses=PROBLEM_RESPONSES)
STATIC = Path(__file__).resolve().parent.parent / "static"
ASSETS = {"viewer.js": "text/javascript", "viewer.css": "text/css"}
ZonePath = Annotated[str, PathParam(description="Zone id.")]
OperatorQuery = Annotated[
    str | None, Query(description="Only this operator's trees, ducts and figures.")
]


def _json(value: Any) -> Response:
    return Response(orjson.dumps(value), media_type="application/json")


def _bytes(data: bytes) -> Response:
    return Response(data, media_type="application/json",
                    headers={"Cache-Control": "no-cache"})


@cache
def _page() -> str:
    return (STATIC / "viewer.html").read_text(encoding="utf-8")


def plotly_js_path() -> Path:
    """``plotly/package_data/plotly.min.js`` of the installed plotly package."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def _reports(cache: CacheDep, conn: ConnectionDep, zone: str) -> tuple[Any, Any, Any]:
    return cache.memo(conn, "viewer-reports", lambda topo: viewer.zone_reports(topo.doc), zone)


def _operator(operator: str | None) -> str | None:
    return operator or None


@router.get("/viewer", include_in_schema=False)
def viewer_page() -> HTMLResponse:
    """The viewer page (it opens the first zone)."""
    return HTMLResponse(_page())


@cache
def _plotly_js() -> bytes:
    return plotly_js_path().read_bytes()


@router.get("/viewer/static/plotly.min.js", include_in_schema=False)
def plotly_route() -> Response:
    """plotly.js from the installed plotly package (the page works offline).

    Held in memory and sent in one piece: streamed from the file in 64 kB chunks, its 4.8 MB
    took about 0.25 s on the loopback, on the page's critical path.
    """
    return Response(_plotly_js(), media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/viewer/static/{name}", include_in_schema=False)
def asset_route(name: str) -> FileResponse:
    """The viewer's own script and stylesheet."""
    if name not in ASSETS:
        raise NotFoundError(kind="viewer asset", element_id=name)
    return FileResponse(STATIC / name, media_type=ASSETS[name],
                        headers={"Cache-Control": "no-cache"})


@router.get("/viewer/data/zones", name="viewer_zones")
def zones_route(cache: CacheDep, conn: ConnectionDep) -> Response:
    """The zone picker (id, name, kind, district, ONTs) and the operator filter entries."""
    return _bytes(cache.memo(conn, "viewer-zones",
                             lambda topo: orjson.dumps(viewer.zone_picker(topo.doc))))


@router.get("/viewer/data/{zone}/physical", name="viewer_physical")
def physical_route(cache: CacheDep, conn: ConnectionDep, zone: ZonePath,
                   operator: OperatorQuery = None) -> Response:
    """Structures and ducts of a zone as plotly traces (fill colours, hover text)."""
    op = _operator(operator)
    _, _, ducts = _reports(cache, conn, zone)
    return _bytes(cache.memo(
        conn, ("viewer-physical", op),
        lambda topo: orjson.dumps(viewer.physical_layer(topo, ducts, zone=zone, operator=op)),
        zone,
    ))


@router.get("/viewer/data/{zone}/pon", name="viewer_pon")
def pon_route(cache: CacheDep, conn: ConnectionDep, zone: ZonePath,
              operator: OperatorQuery = None) -> Response:
    """The PON trees of a zone as plotly traces (headroom colours, hover text)."""
    op = _operator(operator)
    budget, capacity, _ = _reports(cache, conn, zone)
    return _bytes(cache.memo(
        conn, ("viewer-pon", op),
        lambda topo: orjson.dumps(
            viewer.pon_layer(topo, budget, capacity, zone=zone, operator=op)
        ),
        zone,
    ))


@router.get("/viewer/data/{zone}/headlines", name="viewer_headlines")
def headlines_route(cache: CacheDep, conn: ConnectionDep, zone: ZonePath,
                    operator: OperatorQuery = None) -> Response:
    """The zone's headline figures: ONTs, % within budget, % 10G-symmetric, 5G sites, ducts
    over their fill limit."""
    op = _operator(operator)
    budget, capacity, ducts = _reports(cache, conn, zone)
    return _bytes(cache.memo(
        conn, ("viewer-headlines", op),
        lambda topo: orjson.dumps(viewer.zone_headlines(
            topo.doc, budget, capacity, ducts, zone=zone, operator=op)),
        zone,
    ))


@router.get("/viewer/search", name="viewer_search")
def search_route(
    cache: CacheDep, conn: ConnectionDep,
    q: Annotated[str, Query(description="Part of an element id, a name or a customer.")],
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> Response:
    """Elements of any kind whose id, name or customer contains ``q`` (accents ignored)."""
    index = cache.memo(conn, "viewer-search", lambda topo: viewer.search_index(topo.doc))
    return _json({"query": q, "results": viewer.search(index, q, limit)})


@router.get("/viewer/trace/{ont_id:path}", name="viewer_trace")
def trace_route(cache: CacheDep, conn: ConnectionDep,
                ont_id: Annotated[str, PathParam(description="ONT id.")]) -> Response:
    """An ONT's path to its OLT: each hop's loss and the cumulative loss both ways, the
    ducts its cables run in, and its budget."""

    def layers(topo: Topology) -> tuple[Any, Any, Any]:
        forest = pack_forest(topo.doc)
        return forest, compute(forest), network_budget(topo.doc, forest=forest)

    forest, result, budget = cache.memo(conn, "viewer-forest", layers)
    topo = cache.get(conn)
    return _json(viewer.trace_detail(topo, forest, result, budget, ont_id))


@router.get("/viewer/impact", name="viewer_impact")
def impact_route(
    cache: CacheDep, conn: ConnectionDep,
    element: Annotated[str, Query(description="Duct, structure, cable, link, splitter, ONT, "
                                  "port or OLT id.")],
) -> Response:
    """What goes dark when the element fails: ONTs, links, mobile sites, by operator, and
    the structures of the ONTs lost (to highlight them on the map)."""
    index = cache.memo(conn, "viewer-impact-index", impact_index)
    result = impact(index, element)
    structure_of = {o["id"]: o["structure"] for o in index.doc.get("onts", [])}
    result["ont_structures"] = sorted({structure_of[o] for o in result["onts"]})
    result["summary"] = viewer.impact_summary(element, result)
    return _json(result)


@router.get("/viewer/{zone}", include_in_schema=False)
def viewer_zone_page(request: Request, engine: EngineDep, zone: ZonePath) -> HTMLResponse:
    """The viewer page opened on one zone, or a 404 page listing the zones when the zone
    is unknown (the page once opened another zone in silence).

    Zones are shared plant, which every key reads, and come straight from the database (a
    topology built for the check would hold the page back on a cold cache). A request
    without a key (a browser elsewhere: the page's script sends the key, from the URL's
    ``#key=``, with its data requests only) reads no data: it gets the page, whose script
    says when the zone is unknown.
    """
    if request.scope.get("state", {}).get("principal") is None:
        return HTMLResponse(_page())
    with read_snapshot(engine) as conn:
        if read_elements(conn, "zone", ids=[zone], limit=1)[1]:
            return HTMLResponse(_page())
        zones, _ = read_elements(conn, "zone")
    return HTMLResponse(unknown_zone_page(zone, zones), status_code=404)


def unknown_zone_page(zone: str, zones: list[dict[str, Any]]) -> str:
    """The 404 page of ``/viewer/{zone}``: the zone is unknown, and a link to each zone's
    page, by name.

    Examples
    --------
    >>> page = unknown_zone_page("nope", [{"id": "a b", "name": "A & B"}])
    >>> "No zone has the id <code>nope</code>" in page
    True
    >>> '<a href="/viewer/a%20b">A &amp; B</a>' in page
    True
    """
    items = "\n".join(
        f'<li><a href="/viewer/{quote(z["id"], safe="")}">{escape(z.get("name") or z["id"])}'
        f"</a> <code>{escape(z['id'])}</code></li>"
        for z in sorted(zones, key=lambda z: (z.get("name") or z["id"], z["id"])))
    listing = (f"<p>The zones:</p>\n<ul>\n{items}\n</ul>" if zones
               else "<p>The database holds no zone yet.</p>")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Unknown zone · ponmodel viewer</title>
<link rel="icon" href="data:,">
<style>body {{ font: 15px/1.5 system-ui, sans-serif; margin: 2em auto; max-width: 40em; }}
code {{ color: #475569; }}</style>
</head>
<body>
<h1>Unknown zone</h1>
<p>No zone has the id <code>{escape(zone)}</code>.</p>
{listing}
</body>
</html>
"""
