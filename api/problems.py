"""One error shape for every failure: RFC 9457 problem details.

Domain errors are raised by the library (:mod:`ponmodel.errors`); this module alone maps
them to HTTP statuses.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ponmodel.document import pointer
from ponmodel.errors import (
    AuthenticationError,
    CatalogError,
    ConflictError,
    DocumentError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PonmodelError,
    StorageError,
    rule_words,
)

log = logging.getLogger("ponmodel.api")
PROBLEM_MEDIA_TYPE = "application/problem+json"


class ElementProblem(BaseModel):
    """One problem of a request body or document, located by element id and JSON pointer."""

    element_id: str | None = None
    pointer: str = Field(description="RFC 6901 JSON pointer into the request body.")
    field: str | None = None
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, the body of every error response."""

    type: str = Field(description="URI naming the problem type: one of ``/problems/…`` "
                      "(the README's table lists them), never ``about:blank``.")
    title: str
    status: int
    detail: str
    errors: list[ElementProblem] = Field(default_factory=list)
    total_errors: int | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="An invalid document: how many problems it has in all (``errors`` lists "
        "the first 1,000).",
    )


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": title}
    for status, title in (
        (400, "Bad request"),
        (401, "No valid API key"),
        (403, "Not allowed for this key"),
        (404, "Not found"),
        (409, "Conflict"),
        (413, "Request body too large"),
        (422, "Invalid input"),
        (503, "Overloaded, timed out, or the database is unavailable"),
    )
}
"""Responses every route declares, so the OpenAPI schema documents the error shape."""

PRECONDITION_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": title}
    for status, title in ((412, "The element changed since the version If-Match names"),
                          (428, "If-Match is required"))
}
"""Responses of the writes that take ``If-Match`` (RFC 9110, RFC 6585)."""


HTTP_KINDS: dict[int, str] = {
    400: "/problems/bad-request",
    404: "/problems/no-such-path",
    405: "/problems/method-not-allowed",
    408: "/problems/body-timeout",
    412: "/problems/precondition-failed",
    413: "/problems/body-too-large",
    422: "/problems/invalid-request",
    428: "/problems/precondition-required",
}
"""The type of a problem raised as a plain HTTP exception, by status: Starlette's own (404
no route matches the path, 405), the body's limits (408, 413) and the ``If-Match`` checks
(400, 412, 428)."""

OTHER_HTTP_KIND = "/problems/http-error"
"""The type of an HTTP exception of any other status (none is raised today)."""


def http_kind(status: int) -> str:
    """The problem type of an HTTP exception of ``status``.

    Examples
    --------
    >>> http_kind(405), http_kind(418)
    ('/problems/method-not-allowed', '/problems/http-error')
    """
    return HTTP_KINDS.get(status, OTHER_HTTP_KIND)


class ProblemError(Exception):
    """A problem a dependency or route raises with its own type (answered as it is)."""

    def __init__(self, status: int, title: str, detail: str, *, kind: str,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind
        self.errors = errors or []


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem-details response of type ``kind`` (required: every problem names its
    class, ``/problems/…``, so that a client can tell one 422 from another)."""
    body = Problem(
        type=kind,
        title=title,
        status=status,
        detail=detail,
        errors=[ElementProblem(**e) for e in errors or []],
    )
    return JSONResponse(
        body.model_dump(), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def install(app: FastAPI) -> None:
    """Register the exception handlers that turn errors into problems."""

    @app.exception_handler(DocumentError)
    async def _document(_: Request, exc: DocumentError) -> JSONResponse:
        # at most DocumentError.MAX_SHOWN problems: 500,000 empty ONTs once made a 229 MB 422
        shown = "" if not exc.more else f", the first {len(exc.problems):,} shown"
        body = Problem(
            type="/problems/invalid-document",
            title="Invalid network document",
            status=422,
            detail=f"{exc.total:,} problem(s){shown}; nothing was written",
            errors=[ElementProblem.model_validate(p.as_dict()) for p in exc.problems],
            total_errors=exc.total,
        )
        return JSONResponse(body.model_dump(), status_code=422, media_type=PROBLEM_MEDIA_TYPE)

    @app.exception_handler(StorageError)
    async def _storage(_: Request, exc: StorageError) -> JSONResponse:
        return storage_problem(exc)

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return problem(404, "Not found", str(exc), kind="/problems/not-found")

    @app.exception_handler(ConflictError)
    async def _conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return problem(409, "Conflict", str(exc), kind="/problems/conflict")

    @app.exception_handler(AuthenticationError)
    async def _unauthenticated(_: Request, exc: AuthenticationError) -> JSONResponse:
        return problem(401, "Unauthorized", str(exc), kind="/problems/unauthorized",
                       headers={"WWW-Authenticate": 'Bearer realm="ponmodel"'})

    @app.exception_handler(PermissionDeniedError)
    async def _forbidden(_: Request, exc: PermissionDeniedError) -> JSONResponse:
        return problem(403, "Forbidden", str(exc), kind="/problems/forbidden")

    @app.exception_handler(CatalogError)
    async def _catalog(_: Request, exc: CatalogError) -> JSONResponse:
        return problem(422, "Not in the catalogue", str(exc), kind="/problems/catalogue")

    @app.exception_handler(InvalidRequestError)
    async def _invalid_value(_: Request, exc: InvalidRequestError) -> JSONResponse:
        errors = [{"pointer": pointer(*exc.field.split(".")), "field": exc.field,
                   "message": str(exc)}] if exc.field else []
        return problem(422, "Invalid value", str(exc), kind="/problems/invalid-value",
                       errors=errors)

    @app.exception_handler(PonmodelError)
    async def _domain(_: Request, exc: PonmodelError) -> JSONResponse:
        return problem(400, "Bad request", str(exc), kind="/problems/bad-request")

    @app.exception_handler(ProblemError)
    async def _own(_: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, kind=exc.kind, errors=exc.errors)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            loc = [str(t) for t in err.get("loc", ())]
            field = loc[-1] if loc else None
            errors.append({"pointer": pointer(*loc), "field": field, "message": rule_words(err)})
        return problem(
            422,
            "Invalid request",
            f"{len(errors)} problem(s) in the request",
            kind="/problems/invalid-request",
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            allowed = _allowed_methods(app, request.url.path)
            return problem(405, "Method Not Allowed", f"allowed: {allowed}",
                           kind=http_kind(405), headers={"Allow": allowed})
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":  # Starlette's: no route matched
            detail = "no route serves this path (GET /openapi.json lists the routes)"
        return problem(exc.status_code, _title(exc.status_code), detail,
                       kind=http_kind(exc.status_code), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return problem(500, "Internal server error", "an unexpected error occurred; it was logged",
                       kind="/problems/internal")


def storage_problem(exc: StorageError) -> JSONResponse:
    """The problem of a database that cannot do what was asked: 507 for a full disk (RFC
    4918), 503 with ``Retry-After`` for a read-only or unreachable one."""
    if exc.reason == "full":
        return problem(507, "Insufficient Storage", str(exc), kind="/problems/storage-full")
    kind = "/problems/read-only" if exc.reason == "read_only" else "/problems/database-unavailable"
    return problem(503, "Service Unavailable", str(exc), kind=kind,
                   headers={"Retry-After": "30" if exc.reason == "read_only" else "1"})


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _allowed_methods(app: FastAPI, path: str) -> str:
    """Every method some route serves at ``path`` (RFC 9110: a 405 lists them in Allow)."""
    from starlette.routing import Match

    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    methods: set[str] = set()
    for route in app.router.routes:
        for method in getattr(route, "methods", None) or ():
            match, _ = route.matches({**scope, "method": method})
            if match == Match.FULL:
                methods.add(method)
    return ", ".join(sorted(methods))
