"""The FastAPI application factory.

Examples
--------
>>> from ponmodel.api.main import create_app
>>> from ponmodel.settings import Settings
>>> app = create_app(Settings(database_url="sqlite://"))
>>> app.title
'ponmodel'
"""

from __future__ import annotations

from functools import partial

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from ponmodel import __version__
from ponmodel.api import problems
from ponmodel.api.deps import (
    TopologyCache,
    checked_query,
    declared_query_parameters,
    get_principal,
)
from ponmodel.api.limits import Admission, Gate, Recover, TimeLimit
from ponmodel.api.routes import (
    audit,
    budget,
    capacity,
    changes,
    documents,
    ducts,
    elements,
    report,
    reservations,
    topology,
    viewer,
)
from ponmodel.document import NetworkDocument
from ponmodel.keys import authenticate
from ponmodel.settings import Settings
from ponmodel.storage import MAX_CONNECTIONS, database_name, make_engine, migrate


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids (``tag-name``) so generated clients keep working."""
    return f"{route.tags[0]}-{route.name}"


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the API on ``settings`` (default: the environment), migrating the database."""
    settings = settings or Settings()
    # two connections per request in flight at most (see MAX_CONNECTIONS)
    engine = engine or make_engine(
        settings.database_url, max_connections=max(MAX_CONNECTIONS, 2 * settings.max_in_flight))
    migrate(engine)
    app = FastAPI(
        dependencies=[Depends(checked_query)],
        title="ponmodel",
        version=__version__,
        summary="XGS-PON fibre network inventory and capacity modeller.",
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.topology_cache = TopologyCache()
    admission = app.state.admission = Admission(settings.max_in_flight)
    problems.install(app)

    @app.get("/health", tags=["meta"], name="health")
    async def health() -> JSONResponse:
        """Liveness and load: 200 ``ok``, or 503 ``overloaded`` while this worker serves
        its limit of requests at once (a load balancer then sends the next elsewhere).
        Never turned away, and needs no key."""
        body = {"status": "overloaded" if admission.overloaded else "ok",
                "version": __version__, "in_flight": admission.in_flight,
                "max_in_flight": admission.limit}
        return JSONResponse(body, status_code=503 if admission.overloaded else 200)

    # Every data route needs a key (or the loopback viewer); the document schema, the
    # viewer's page and its static files carry no data and stay open.
    keyed = [Depends(get_principal)]
    for module in (elements, changes, topology, budget, capacity, reservations, ducts, report,
                   audit):
        app.include_router(module.router, dependencies=keyed)
    app.include_router(documents.router)  # import: admin; export: scoped (per route)
    app.include_router(viewer.router)  # its data routes read through the scoped cache
    # what each route accepts in its query string, read once (deps.checked_query)
    app.state.query_parameters = declared_query_parameters(app.routes)
    app.add_middleware(TimeLimit, settings=settings)
    app.add_middleware(Recover, database=database_name(engine))
    # outermost: who is asking, a share of the in-flight limit, then the body (api/limits.py)
    app.add_middleware(Gate, settings=settings, admission=admission,
                       authenticate=partial(authenticate, engine),
                       database=database_name(engine))
    _add_document_schema(app)
    return app


def _add_document_schema(app: FastAPI) -> None:
    """Publish the network document's schema in OpenAPI's components (for /import's body)."""
    original = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        doc_schema = NetworkDocument.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}"
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, sub in doc_schema.pop("$defs", {}).items():
            components.setdefault(name, sub)
        components["NetworkDocument"] = doc_schema
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
