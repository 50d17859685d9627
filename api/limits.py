"""What every request passes before the application reads a byte of its body, and the
limits that keep one client from taking the service from the others.

The layers, outermost first (:func:`ponmodel.api.main.create_app` stacks them):

1. :class:`Gate` — **who is asking**, from the headers alone (the key is looked up before
   any body is read; a request without a key, the loopback viewer's included, may only
   GET: one with any other method is 401 at once, its body unread), then
   **a share of the in-flight limit** (:class:`Admission`: a key may hold at most half of
   it and requests without a key a quarter, so neither keyless clients nor one key can
   lock the others out), then **the body**: the declared ``Content-Length`` against the
   cap at once, the bytes counted as they arrive (413 past the cap) and a deadline for the
   whole body (408), so a body trickled a byte a second holds its slot for a bounded time.
2. :class:`Recover` — an unexpected error becomes a 500 problem *without* resetting the
   connection (Starlette's own handler re-raises, and uvicorn then closes the keep-alive
   connection); a read whose database connection was lost (a PostgreSQL backend
   terminated, a failover) is run once more on a fresh connection, and a write is told
   503 (its transaction rolled back or committed whole: the audit log says which).
3. :class:`TimeLimit` — a request still running after its time limit gets 503.

Work running in a thread is not interrupted (Python cannot stop a thread): the client gets
its answer and the connection is freed; a write under way still commits or rolls back
whole, because every write is one transaction.

Slow headers and idle connections are the HTTP server's part: :class:`GuardedHttpProtocol`
closes a connection whose request headers have not all arrived within
``PONMODEL_HEADER_TIMEOUT_S``; uvicorn's keep-alive timeout closes idle ones.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import DBAPIError, PendingRollbackError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ponmodel.access import LOOPBACK_VIEWER, Principal
from ponmodel.api.problems import http_kind, problem, storage_problem
from ponmodel.document import parse_json
from ponmodel.errors import AuthenticationError, DocumentError
from ponmodel.settings import Settings
from ponmodel.storage import storage_failure

log = logging.getLogger("ponmodel.api")

IMPORT_PATHS = ("/import", "/import/geojson")
"""Routes that take a whole network: their own body cap and time limits."""

EXEMPT_PATHS = ("/health",)
"""Never turned away and never authenticated: what a load balancer polls."""

PROXY_HEADERS = frozenset({
    "forwarded", "via", "x-real-ip", "true-client-ip", "cf-connecting-ip", "x-client-ip",
    "x-cluster-client-ip", "fastly-client-ip", "forwarded-for", "x-original-forwarded-for",
    "x-proxyuser-ip", "client-ip",
})
"""Headers that only a proxy adds; any of them (or any ``X-Forwarded-*``) means the request
came through one, and a request through a proxy is never the loopback viewer."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that carry no body and change nothing (RFC 9110 §9.2.1): retried once when the
database connection is lost, and the only ones a keyless request may use."""

_LOOPBACK = frozenset({"127.0.0.1", "::1"})


# --------------------------------------------------------------------------- who is asking


def came_through_proxy(headers: Headers, peer: str, trusted_proxies: frozenset[str]) -> bool:
    """Whether a request came through a proxy: it carries any proxy header, or it comes
    from an address named in ``PONMODEL_TRUSTED_PROXIES``.

    Examples
    --------
    >>> came_through_proxy(Headers({"via": "1.1 nginx"}), "127.0.0.1", frozenset())
    True
    >>> came_through_proxy(Headers({"x-forwarded-host": "a"}), "127.0.0.1", frozenset())
    True
    >>> came_through_proxy(Headers({"accept": "*/*"}), "127.0.0.1", frozenset({"127.0.0.1"}))
    True
    >>> came_through_proxy(Headers({"accept": "*/*"}), "127.0.0.1", frozenset())
    False
    """
    if peer in trusted_proxies:
        return True
    return any(name in PROXY_HEADERS or name.startswith("x-forwarded-") for name in headers)


def identify(headers: Headers, peer: str, settings: Settings,
             authenticate: Callable[[str], Principal]) -> Principal | None:
    """Who is asking, from the headers alone: the key's holder, the loopback viewer (a
    keyless request from this machine, not through a proxy, when ``local_viewer`` is on),
    or None (no key).

    Raises
    ------
    AuthenticationError
        A malformed, unknown or revoked key.
    """
    header = headers.get("authorization")
    if header is None:
        local = (settings.local_viewer and peer in _LOOPBACK
                 and not came_through_proxy(headers, peer, settings.trusted_proxy_set))
        return LOOPBACK_VIEWER if local else None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        msg = "the Authorization header must read 'Bearer <API key>'"
        raise AuthenticationError(msg)
    return authenticate(token.strip())


NO_KEY_MESSAGE = ("this request needs an API key: 'Authorization: Bearer pm_…' "
                  "(create one with `ponmodel keys create`)")


def unauthorized(detail: str) -> Any:
    """The 401 problem, with its ``WWW-Authenticate`` challenge."""
    return problem(401, "Unauthorized", detail, kind="/problems/unauthorized",
                   headers={"WWW-Authenticate": 'Bearer realm="ponmodel"'})


# --------------------------------------------------------------------------- admission


class Admission:
    """The requests one worker serves at once, counted per key.

    A request is admitted while fewer than ``limit`` are in flight and its key holds fewer
    than its share: half of the limit for a key (the loopback viewer counts as one key),
    a quarter for requests without a key (each rounded up, at least 1). So keyless
    clients cannot fill the limit at all, and it takes two keys held by one party to fill
    it. One event loop per process: the counts need no lock.

    Examples
    --------
    >>> a = Admission(4)
    >>> [a.enter("k1") for _ in range(3)]  # a key's share is 2 of 4
    [None, None, 'key']
    >>> a.enter(None), a.enter(None)  # keyless requests: 1 of 4
    (None, 'unauthenticated')
    >>> a.enter("k2"), a.in_flight, a.overloaded
    (None, 4, True)
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.per_key = max(1, math.ceil(limit / 2))
        self.unauthenticated = max(1, math.ceil(limit / 4))
        self.in_flight = 0
        self._by_key: dict[str | None, int] = {}

    @property
    def overloaded(self) -> bool:
        """Whether the next request would be turned away whoever sent it."""
        return 0 < self.limit <= self.in_flight

    def enter(self, key: str | None) -> str | None:
        """Admit a request of ``key`` (None: no key): None when admitted, else which
        limit turned it away (``"total"``, ``"key"`` or ``"unauthenticated"``)."""
        if self.limit <= 0:
            return None
        held = self._by_key.get(key, 0)
        if self.in_flight >= self.limit:
            return "total"
        if held >= (self.unauthenticated if key is None else self.per_key):
            return "unauthenticated" if key is None else "key"
        self._by_key[key] = held + 1
        self.in_flight += 1
        return None

    def leave(self, key: str | None) -> None:
        """A request of ``key`` admitted by :meth:`enter` has finished."""
        if self.limit <= 0:
            return
        held = self._by_key[key] - 1
        if held:
            self._by_key[key] = held
        else:
            del self._by_key[key]
        self.in_flight -= 1


_REFUSED = {
    "total": "the server is serving its limit of {limit} requests at once "
             "(PONMODEL_MAX_IN_FLIGHT); try again in a moment",
    "key": "this key already has {share} requests in flight, its share of the server's "
           "{limit} (PONMODEL_MAX_IN_FLIGHT / 2); try again when one has finished",
    "unauthenticated": "requests without a key already hold their share of {share} of the "
                       "server's {limit} at once; try again in a moment, or send a key",
}


# --------------------------------------------------------------------------- the gate


class Gate:
    """Authenticate on the headers, admit within the in-flight shares, and cap the body by
    size and time, before the application reads any of it (see the module docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings, admission: Admission,
                 authenticate: Callable[[str], Principal], database: str) -> None:
        self.app = app
        self.database = database
        self.settings = settings
        self.admission = admission
        self.authenticate = authenticate

    def body_limit_bytes(self, path: str) -> int:
        """The largest body a request to ``path`` may send."""
        if path in IMPORT_PATHS:
            return self.settings.max_body_bytes
        return self.settings.max_request_body_bytes

    def body_deadline_s(self, path: str) -> float:
        """Seconds the whole body of a request to ``path`` may take to arrive."""
        if path in IMPORT_PATHS:
            return self.settings.import_timeout_s
        return self.settings.body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        peer = scope["client"][0] if scope.get("client") else ""
        try:
            if "authorization" in headers:  # a database read: off the event loop
                principal = await run_in_threadpool(
                    identify, headers, peer, self.settings, self.authenticate)
            else:
                principal = identify(headers, peer, self.settings, self.authenticate)
        except AuthenticationError as exc:
            await unauthorized(str(exc))(scope, receive, send)
            return
        except DBAPIError as exc:  # the key could not be looked up
            failure = _unexpected(exc, _connection_lost(exc), False, self.database)
            await failure(scope, receive, send)
            return
        keyless = principal is None or principal is LOOPBACK_VIEWER
        if keyless and scope["method"] not in SAFE_METHODS:  # no key: no body, ever
            await unauthorized(NO_KEY_MESSAGE)(scope, receive, send)
            return
        nul = _nul_in_url(scope)
        if nul is not None:
            await problem(422, "Invalid request", f"the {nul} contains a NUL byte (%00), which "
                          "no id, name or value may hold", kind="/problems/invalid-request",
                          )(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        key = None if principal is None else principal.key_id
        refused = self.admission.enter(key)
        if refused is not None:
            detail = _REFUSED[refused].format(
                limit=self.admission.limit,
                share=self.admission.unauthenticated if key is None else self.admission.per_key)
            await problem(503, "Service Unavailable", detail, kind="/problems/overloaded",
                          headers={"Retry-After": "1"})(scope, receive, send)
            return
        try:
            limit = self.body_limit_bytes(scope["path"])
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                await _too_large(limit, int(declared))(scope, receive, send)
                return
            capped = _capped_receive(receive, limit, self.body_deadline_s(scope["path"]))
            if _checked_here(scope, headers):
                try:
                    capped = await _checked_json(capped)
                except HTTPException as exc:
                    await problem(exc.status_code, _status_title(exc.status_code),
                                  str(exc.detail), kind=http_kind(exc.status_code),
                                  headers=exc.headers)(scope, receive, send)
                    return
                except DocumentError as exc:
                    await problem(422, "Invalid request", f"{len(exc.problems)} problem(s) in "
                                  "the request body; nothing was written",
                                  kind="/problems/invalid-request",
                                  errors=[p.as_dict() for p in exc.problems],
                                  )(scope, receive, send)
                    return
            await self.app(scope, capped, send)
        finally:
            self.admission.leave(key)


def _status_title(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase


def _checked_here(scope: Scope, headers: Headers) -> bool:
    """Whether the gate reads and checks the JSON body itself: every JSON body but a whole
    network's (imports parse theirs with the same limits, :func:`parse_json`)."""
    if scope["method"] in SAFE_METHODS or scope["path"] in IMPORT_PATHS:
        return False
    media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def _checked_json(receive: Receive) -> Receive:
    """Read the whole body through ``receive`` and check it against the document's JSON
    limits (nesting, string and number size, NUL bytes: :func:`ponmodel.document.parse_json`)
    before FastAPI parses it (a body nested 900 deep was a 500, a NUL in a string a 500 on
    PostgreSQL); a receive that gives the application the same body."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    if body.strip():
        parse_json(body, source="request body")
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _nul_in_url(scope: Scope) -> str | None:
    """Where the request's URL holds a NUL byte ("URL path" or "query string"), or None.
    PostgreSQL cannot store or compare one in text (a 500 before this check), and SQLite
    would store what PostgreSQL then cannot import: refused everywhere alike."""
    if "\x00" in scope["path"]:
        return "URL path"
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return "query string"
    return None


def _too_large(limit: int, declared: int | None = None) -> Any:
    size = "request body" if declared is None else f"request body of {declared:,} bytes"
    return problem(413, "Content Too Large",
                   f"{size} exceeds the limit of {limit:,} bytes "
                   "(PONMODEL_MAX_BODY_BYTES for imports, PONMODEL_MAX_REQUEST_BODY_BYTES "
                   "for every other route)", kind="/problems/body-too-large")


class BodyTooLargeError(HTTPException):
    """The body grew past its cap while it was read (an HTTP exception, so that FastAPI's
    own body reading lets it through to the problem handlers)."""


def _capped_receive(receive: Receive, limit: int, deadline_s: float) -> Receive:
    """``receive`` that counts the body's bytes against ``limit`` (413) and gives the whole
    body ``deadline_s`` seconds to arrive (408)."""
    loop = asyncio.get_running_loop()
    due = loop.time() + deadline_s
    size = 0
    done = False

    async def capped() -> Message:
        nonlocal size, done
        if done:  # the body is in: what follows is the disconnect, not bounded here
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), max(0.0, due - loop.time()))
        except TimeoutError:
            msg = (f"the request body did not arrive within {deadline_s:g} s "
                   "(PONMODEL_BODY_TIMEOUT_S; imports: PONMODEL_IMPORT_TIMEOUT_S)")
            raise HTTPException(408, msg, headers={"Connection": "close"}) from None
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                msg = (f"request body exceeds the limit of {limit:,} bytes "
                       "(PONMODEL_MAX_BODY_BYTES for imports, "
                       "PONMODEL_MAX_REQUEST_BODY_BYTES for every other route)")
                raise BodyTooLargeError(413, msg, headers={"Connection": "close"})
            done = not message.get("more_body", False)
        return message

    return capped


# --------------------------------------------------------------------------- recovery


class Recover:
    """Turn an error that escaped every handler into a 500 problem while keeping the
    connection; retry a safe request once when its database connection was lost."""

    def __init__(self, app: ASGIApp, database: str) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watched = _WatchedSend(send)
        safe = scope["method"] in SAFE_METHODS
        for attempt in (1, 2):
            try:
                await self.app(scope, receive if attempt == 1 else _no_body(receive),
                               watched)
                return
            except Exception as exc:  # noqa: BLE001 (the last resort: every error)
                if watched.started:  # the status line has gone: nothing better than closing
                    raise
                lost = _connection_lost(exc)
                if lost and safe and attempt == 1:
                    log.warning("database connection lost during %s %s; retrying once",
                                scope["method"], scope["path"])
                    continue
                response = _unexpected(exc, lost, safe, self.database)
                await response(scope, receive, send)
                return


class _WatchedSend:
    """An ASGI ``send`` that remembers whether the response has started (after its status
    line has gone, an error can only close the connection)."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


def _no_body(receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A receive for the retry of a safe request: its (empty) body, then the real one."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return replay


def _connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the database connection going away."""
    seen = 0
    while exc is not None and seen < 8:  # noqa: PLR2004
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        # a session or connection left unusable by a disconnect met earlier in the request
        if isinstance(exc, PendingRollbackError) or (
                type(exc).__module__.startswith("psycopg")
                and type(exc).__name__ == "OperationalError"):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
        seen += 1
    return False


def _unexpected(exc: Exception, lost: bool, safe: bool, database: str) -> Any:
    failure = storage_failure(exc, database) if not lost else None
    if failure is not None:
        log.warning("database failure: %s", exc)
        return storage_problem(failure)
    if lost:
        log.warning("database connection lost: %s", exc)
        what = ("a read" if safe else "the change was not acknowledged: it was either "
                "written whole or not at all (read it back, or see the audit log)")
        return problem(503, "Service Unavailable",
                       f"the database connection was lost twice; {what}; try again"
                       if safe else f"the database connection was lost; {what}",
                       kind="/problems/database-unavailable", headers={"Retry-After": "1"})
    log.exception("unexpected error", exc_info=exc)
    return problem(500, "Internal server error", "an unexpected error occurred; it was logged",
                   kind="/problems/internal")


# --------------------------------------------------------------------------- time limit


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
        watched = _WatchedSend(send)
        limit = self.limit_s(scope["path"])
        try:
            await asyncio.wait_for(self.app(scope, receive, watched), limit)
        except TimeoutError:
            if watched.started:  # the status line has gone: nothing better than closing
                raise
            detail: Any = (f"the request ran longer than its limit of {limit:g} s "
                           "(PONMODEL_REQUEST_TIMEOUT_S / PONMODEL_IMPORT_TIMEOUT_S)")
            response = problem(503, "Service Unavailable", detail, kind="/problems/timeout",
                               headers={"Retry-After": "5"})
            await response(scope, receive, send)


# --------------------------------------------------------------------------- the server


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that closes a connection whose request headers have
    not all arrived ``PONMODEL_HEADER_TIMEOUT_S`` seconds after it opened or after the
    request began (a slow-headers client holds a socket, not a worker's slot; uvicorn has
    no such timeout of its own). Idle keep-alive connections are closed by uvicorn's
    ``timeout_keep_alive``."""

    header_timeout_s: float | None = None
    """Read from the settings by the first connection (workers are separate processes)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        if GuardedHttpProtocol.header_timeout_s is None:
            from ponmodel.api.config import get_settings

            GuardedHttpProtocol.header_timeout_s = get_settings().header_timeout_s
        self._header_timer = self.loop.call_later(
            GuardedHttpProtocol.header_timeout_s, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()
