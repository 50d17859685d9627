"""Limits of the API as ASGI middleware: the request time limit (503 when a request runs
too long) and the in-flight limit (503 at once when a worker already serves its share).

Work running in a thread is not interrupted (Python cannot stop a thread): the client gets
its answer and the connection is freed; a write under way still commits or rolls back
whole, because every write is one transaction.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ponmodel.api.problems import problem
from ponmodel.settings import Settings

IMPORT_PATHS = ("/import", "/import/geojson")


class TimeLimit:
    """Answer 503 (``Retry-After``) to a request still running after its time limit."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    def limit_s(self, path: str) -> float:
        """The limit for a request path: imports get ``import_timeout_s``."""
        if path in IMPORT_PATHS:
            return self.settings.import_timeout_s
        return self.settings.request_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        limit = self.limit_s(scope["path"])
        try:
            await asyncio.wait_for(self.app(scope, receive, watched_send), limit)
        except TimeoutError:
            if started:  # the status line has gone: nothing better than closing
                raise
            detail: Any = (f"the request ran longer than its limit of {limit:g} s "
                           "(PONMODEL_REQUEST_TIMEOUT_S / PONMODEL_IMPORT_TIMEOUT_S)")
            response = problem(503, "Service Unavailable", detail, headers={"Retry-After": "5"})
            await response(scope, receive, send)


class InFlightLimit:
    """Answer 503 (``Retry-After: 1``) at once to a request that arrives while this process
    already serves ``max_in_flight`` of them.

    Without it an overload has no bound: every request waits behind all the others, answers
    come later than the clients wait for them, and the server works for clients that have
    gone (measured: 200 requests per second offered to a server that can answer about 90
    answered 34 per second, every one of them late). With it the requests it takes are
    answered in time and the others are told at once to come back. One event loop per
    process: the count needs no lock.
    """

    EXEMPT_PATHS = ("/health",)

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limit = settings.max_in_flight
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or scope["path"] in self.EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            detail = (f"the server is serving its limit of {self.limit} requests at once "
                      "(PONMODEL_MAX_IN_FLIGHT); try again in a moment")
            response = problem(503, "Service Unavailable", detail, headers={"Retry-After": "1"})
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
