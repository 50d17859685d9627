"""Paginated, filterable reads of every element kind: ``GET /{kind}s`` and ``GET /{kind}s/{id}``."""

# No `from __future__ import annotations`: FastAPI reads the annotations built at runtime below.

from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from ponmodel.api.deps import CacheDep, ConnectionDep
from ponmodel.api.problems import PROBLEM_RESPONSES
from ponmodel.elements import PUBLIC_MODELS, ElementTable, PowerRange
from ponmodel.errors import NotFoundError
from ponmodel.scope import document_elements
from ponmodel.storage import read_elements

T = TypeVar("T")
router = APIRouter(responses=PROBLEM_RESPONSES)


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total number of matching elements."""

    items: list[T]
    total: int = Field(description="Elements matching the filters, over all pages.")
    limit: int
    offset: int


class Paging(BaseModel):
    """Paging parameters; unknown query parameters are an error, never ignored."""

    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=100, ge=1, le=1000, description="Page size (1-1000).")
    offset: int = Field(default=0, ge=0, le=100_000_000, description="Elements to skip.")


class OperatorFilters(Paging):
    """Operators have no filter besides paging."""


class ZoneFilters(Paging):
    kind: str | None = Field(
        default=None, description="high_tech_park | industrial_zone | industrial_cluster"
    )


class StructureFilters(Paging):
    zone: str | None = None
    kind: str | None = None


class DuctFilters(Paging):
    owner: str | None = None
    within: str | None = None


class CableFilters(Paging):
    operator: str | None = None


class OltFilters(Paging):
    operator: str | None = None
    structure: str | None = None
    zone: str | None = None


class PortFilters(Paging):
    olt: str | None = None
    technology: str | None = None
    optics_class: str | None = None


class SplitterFilters(Paging):
    structure: str | None = None
    zone: str | None = None


class OntFilters(Paging):
    structure: str | None = None
    zone: str | None = None
    kind: str | None = None


class LinkFilters(Paging):
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None


class SiteFilters(Paging):
    zone: str | None = None
    operator: str | None = None
    generation: str | None = None


FILTERS: dict[str, type[Paging]] = {
    "operator": OperatorFilters,
    "zone": ZoneFilters,
    "structure": StructureFilters,
    "duct": DuctFilters,
    "cable": CableFilters,
    "olt": OltFilters,
    "port": PortFilters,
    "splitter": SplitterFilters,
    "ont": OntFilters,
    "link": LinkFilters,
    "site": SiteFilters,
}


def _register(kind: str) -> None:
    public = PUBLIC_MODELS[kind]
    filters_model = FILTERS[kind]
    plural = f"{kind}s"

    def list_elements(
        conn: ConnectionDep,
        cache: CacheDep,
        query: Annotated[filters_model, Query()],  # type: ignore[valid-type]
    ) -> Any:
        params = query.model_dump(by_alias=True)  # type: ignore[attr-defined]
        limit, offset = params.pop("limit"), params.pop("offset")
        items, total = _read(conn, cache, kind, filters=params, limit=limit, offset=offset)
        return {"items": items, "total": total, "limit": limit, "offset": offset}

    def get_element(
        conn: ConnectionDep,
        cache: CacheDep,
        response: Response,
        element_id: Annotated[str, Path(description=f"The {kind}'s id (may contain '/').")],
    ) -> Any:
        items, _ = _read(conn, cache, kind, ids=[element_id])
        if not items:
            raise NotFoundError(kind, element_id)
        response.headers["ETag"] = f'"{_version(conn, element_id)}"'
        return items[0]

    list_elements.__doc__ = f"List {plural}, filtered and paginated, ordered by id."
    get_element.__doc__ = f"One {kind} by id."
    router.add_api_route(
        f"/{plural}",
        list_elements,
        methods=["GET"],
        tags=[plural],
        name=f"list_{plural}",
        response_model=Page[public],  # type: ignore[valid-type]
    )
    router.add_api_route(
        f"/{plural}/{{element_id:path}}",
        get_element,
        methods=["GET"],
        tags=[plural],
        name=f"get_{kind}",
        response_model=public,
    )


def _read(conn: Any, cache: CacheDep, kind: str, **query: Any) -> tuple[list[Any], int]:
    """Elements from the database, or for a scoped key from its redacted document (the
    same filters and order: :func:`ponmodel.scope.document_elements`)."""
    if cache.scope is None:
        return read_elements(conn, kind, **query)
    return document_elements(cache.get(conn).doc, kind, **query)


def _version(conn: Any, element_id: str) -> int:
    table = ElementTable.__table__
    return int(conn.execute(select(table.c.version).where(table.c.id == element_id)).scalar_one())


for _kind in FILTERS:
    _register(_kind)


class OntEdit(BaseModel):
    """The older form of ``PATCH /onts/{id}`` (before If-Match): fields of an ONT to change
    (JSON Merge Patch: ``service`` merges, ``null`` clears), and the version the change was
    based on (the ``ETag`` of ``GET /onts/{id}``)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    version: int = Field(ge=1, le=2**62, description="The version the edit was based on.")
    customer: str | None = Field(default=None, max_length=500)
    kind: Literal["enterprise", "residential", "site_backhaul", "iot_gateway"] | None = None
    structure: str | None = Field(default=None, min_length=1, max_length=500)
    onu_tx_dbm: PowerRange | None = None
    onu_rx_sensitivity_dbm: float | None = Field(default=None, allow_inf_nan=False)
    onu_rx_overload_dbm: float | None = Field(default=None, allow_inf_nan=False)
    service: dict[str, dict[str, Any]] | None = Field(
        default=None, description="Per direction (down, up), the fields of the service to change."
    )
