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

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from ponmodel import __version__
from ponmodel.api import problems
from ponmodel.api.deps import TopologyCache
from ponmodel.api.routes import (
    budget,
    capacity,
    documents,
    ducts,
    elements,
    report,
    reservations,
    topology,
    viewer,
)
from ponmodel.document import NetworkDocument
from ponmodel.settings import Settings
from ponmodel.storage import make_engine, migrate


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids (``tag-name``) so generated clients keep working."""
    return f"{route.tags[0]}-{route.name}"


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the API on ``settings`` (default: the environment), migrating the database."""
    settings = settings or Settings()
    engine = engine or make_engine(settings.database_url)
    migrate(engine)
    app = FastAPI(
        title="ponmodel",
        version=__version__,
        summary="XGS-PON fibre network inventory and capacity modeller.",
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.topology_cache = TopologyCache()
    problems.install(app)

    @app.get("/health", tags=["meta"], name="health")
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    app.include_router(elements.router)
    app.include_router(documents.router)
    app.include_router(topology.router)
    app.include_router(budget.router)
    app.include_router(capacity.router)
    app.include_router(reservations.router)
    app.include_router(ducts.router)
    app.include_router(report.router)
    app.include_router(viewer.router)
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
