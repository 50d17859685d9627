"""Writes of single elements and of atomic changes: ``POST /{plural}``,
``PATCH /{plural}/{id}``, ``DELETE /{plural}/{id}`` and ``POST /changes``.

Every one runs :func:`ponmodel.changes.apply_changes`. Optimistic locking follows RFC 9110:
``GET /{plural}/{id}`` answers ``ETag: "<version>"``, and a PATCH or DELETE names it in
``If-Match`` (428 without, 412 when the element has changed since). ``PATCH /onts/{id}``
still takes the older form too, ``version`` in the body (409 when stale).
"""

# No `from __future__ import annotations`: FastAPI reads the annotations built at runtime below.

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, HTTPException, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from ponmodel.access import Principal
from ponmodel.api.deps import EngineDep, PrincipalDep
from ponmodel.api.problems import PRECONDITION_RESPONSES, PROBLEM_RESPONSES
from ponmodel.changes import KINDS, PLURALS, apply_changes
from ponmodel.document import parse_json
from ponmodel.edits import edit_ont
from ponmodel.errors import DocumentError, ElementError, StaleVersionError
from ponmodel.spreadsheet import operations_from_csv

router = APIRouter(responses=PROBLEM_RESPONSES)

_TAG = re.compile(r'^\s*(?:W/)?"(\d{1,18})"\s*$')


class ElementWritten(BaseModel):
    """An element as stored after a write, and its version (its ``ETag``)."""

    element: dict[str, Any]
    version: int


class ChangedElement(BaseModel):
    op: str
    kind: str
    id: str
    version: int | None = Field(description="Its version now; null once removed.")


class ChangesApplied(BaseModel):
    """What a change did: each element's new version, and the network's revision."""

    revision: int = Field(description="The network's revision once the change committed "
                                      "(unchanged on a dry run).")
    elements: list[ChangedElement]
    changes: list[dict[str, Any]] | None = Field(
        default=None, description="On a dry run: each element before and after.")


def if_match_version(header: str | None) -> int | None:
    """The version an ``If-Match`` names (None for ``*``: any version).

    Raises HTTP 428 without the header, 400 when it is not one entity tag.

    Examples
    --------
    >>> if_match_version('"3"'), if_match_version('W/"3"'), if_match_version("*")
    (3, 3, None)
    """
    if header is None:
        raise HTTPException(428, "this write needs If-Match: the element's ETag (read it with "
                                 "GET first), so that no one else's change is overwritten")
    if header.strip() == "*":
        return None
    found = _TAG.match(header)
    if found is None:
        raise HTTPException(400, f"If-Match must be one entity tag such as \"3\" (the "
                                 f"element's ETag) or *, got {header[:40]!r}")
    return int(found.group(1))


def _apply(engine: Any, operations: list[dict[str, Any]], principal: Principal, *,
           body_pointer: bool = False, dry_run: bool = False) -> dict[str, Any]:
    """apply_changes with a stale version answered 412, and (for a single element) the
    problems located in the request body rather than in a change."""
    try:
        return apply_changes(engine, operations, actor=principal, dry_run=dry_run)
    except StaleVersionError as exc:
        raise HTTPException(412, str(exc)) from exc
    except DocumentError as exc:
        if not body_pointer:
            raise
        raise DocumentError([
            ElementError(re.sub(r"^/0(/element|/changes)?", "", p.pointer), p.message,
                         p.element_id, p.field) for p in exc.problems
        ], exc.total) from exc


def _register(kind: str) -> None:
    plural = PLURALS[kind]
    id_path = Annotated[str, Path(description=f"The {kind}'s id (may contain '/').")]

    def create(engine: EngineDep, principal: PrincipalDep, response: Response,
               element: Annotated[dict[str, Any], Body()]) -> Any:
        ident = element.get("id")
        result = _apply(engine, [{"op": "create", "kind": kind, "element": element}],
                        principal, body_pointer=True)
        stored = result["changes"][0]
        response.headers["Location"] = f"/{plural}/{ident}"
        response.headers["ETag"] = '"1"'
        return {"element": stored["after"], "version": 1}

    def update(engine: EngineDep, principal: PrincipalDep, response: Response,
               element_id: id_path, changes: Annotated[dict[str, Any], Body()],
               if_match: Annotated[str | None, Header()] = None) -> Any:
        if kind == "ont" and if_match is None and "version" in changes:
            return _legacy_ont_edit(engine, principal, response, element_id, changes)
        version = if_match_version(if_match)
        op = {"op": "update", "kind": kind, "id": element_id, "changes": changes}
        if version is not None:
            op["version"] = version
        result = _apply(engine, [op], principal, body_pointer=True)
        stored = result["changes"][0]
        response.headers["ETag"] = f'"{stored["version"]}"'
        return {"element": stored["after"], "version": stored["version"]}

    def remove(engine: EngineDep, principal: PrincipalDep, element_id: id_path,
               if_match: Annotated[str | None, Header()] = None) -> Response:
        version = if_match_version(if_match)
        op: dict[str, Any] = {"op": "delete", "kind": kind, "id": element_id}
        if version is not None:
            op["version"] = version
        _apply(engine, [op], principal, body_pointer=True)
        return Response(status_code=204)

    create.__doc__ = (
        f"Create a {kind}, given exactly as the network document writes it"
        + (" (and `olt`, naming its OLT)" if kind == "port" else "")
        + ". 201 with `Location` and `ETag`; 409 when the id is taken; 422 naming every "
        "problem when the network would break a rule; 403 outside the key's role."
    )
    update.__doc__ = (
        f"Change fields of a {kind}: a JSON Merge Patch (RFC 7396: nested objects merge, "
        "null clears), with `If-Match` naming its ETag: 428 without, 412 when it changed "
        "since; 404 when the key's scope holds no such element; 422 naming every problem."
        + (" The older form, `version` in the body, answers 409 when stale." if kind == "ont"
           else "")
    )
    remove.__doc__ = (
        f"Remove a {kind}, with `If-Match` naming its ETag: 204; 409 naming every element "
        "that still refers to it (nothing cascades"
        + ("; its ports go with it" if kind == "olt" else "") + ")."
    )
    name = "edit_ont" if kind == "ont" else f"edit_{kind}"
    router.add_api_route(f"/{plural}", create, methods=["POST"], tags=[plural],
                         name=f"create_{kind}", status_code=201,
                         response_model=ElementWritten)
    router.add_api_route(f"/{plural}/{{element_id:path}}", update, methods=["PATCH"],
                         tags=[plural], name=name, response_model=ElementWritten,
                         responses=PRECONDITION_RESPONSES)
    router.add_api_route(f"/{plural}/{{element_id:path}}", remove, methods=["DELETE"],
                         tags=[plural], name=f"delete_{kind}", status_code=204,
                         response_class=Response, responses=PRECONDITION_RESPONSES)


def _legacy_ont_edit(engine: Any, principal: Principal, response: Response, ont_id: str,
                     body: dict[str, Any]) -> Any:
    """``PATCH /onts/{id}`` with ``version`` in the body, as before If-Match (409 stale)."""
    from ponmodel.api.routes.elements import OntEdit

    try:
        edit = OntEdit.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc
    changes = edit.model_dump(exclude_unset=True, exclude={"version"}, mode="json")
    edited = edit_ont(engine, ont_id, changes, expected_version=edit.version, actor=principal)
    response.headers["ETag"] = f'"{edited["version"]}"'
    return edited


for _kind in KINDS:
    _register(_kind)


@router.post("/changes", tags=["changes"], name="apply_changes",
             response_model=ChangesApplied, response_model_exclude_none=True,
             responses={412: PRECONDITION_RESPONSES[412]},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                 "text/csv": {"schema": {"type": "string"}}}}})
async def changes_route(
    request: Request,
    engine: EngineDep,
    principal: PrincipalDep,
    kind: Annotated[str | None, Query(description="For a CSV body: the kind of its rows.")]
    = None,
    dry_run: Annotated[bool, Query(description="Check, write nothing, show before/after.")]
    = False,
) -> Any:
    """Apply a list of operations in one transaction, all or nothing (see the README's
    editing workflow): each `{"op": "create"|"update"|"delete", "kind", "id"|"element",
    "changes", "version"}`. A stale `version` fails the whole change with 412; a change
    that would break a rule, with 422 naming every problem (pointers into the change).

    With `Content-Type: text/csv` and `?kind=`, one row per element: the document's field
    names as headers (nested ones dotted: `service.down.max_mbps`), an `op` column
    (create, update or delete; update when absent).
    """
    body = await request.body()
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "text/csv":
        if kind is None:
            raise HTTPException(422, "a CSV change needs ?kind= (the kind of its rows)")
        operations: Any = operations_from_csv(body, kind)
    else:
        if kind is not None:
            raise HTTPException(422, "?kind= is for a CSV body; each JSON operation names "
                                     "its kind")
        operations = parse_json(body, source="request body")
    result = await run_in_threadpool(_apply, engine, operations, principal, dry_run=dry_run)
    if not dry_run:
        result.pop("changes")
    return result
