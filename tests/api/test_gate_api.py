"""The probes of the outside fault-and-abuse run against the gate in front of every route
(issue 14, items 1, 4 and 6): each reproduces what the probe did and checks the answer.

Over real sockets where the probe used them (a served uvicorn with ponmodel's protocol),
and at the ASGI level where what matters is that the application never read a byte."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ponmodel.access import Principal
from ponmodel.api.limits import PROXY_HEADERS, Admission, Gate, GuardedHttpProtocol
from ponmodel.api.main import create_app
from ponmodel.errors import AuthenticationError
from ponmodel.settings import Settings
from ponmodel.storage import import_document
from tests.api.conftest import key_headers
from tests.conftest import fixture_doc


@contextmanager
def guarded(engine: Engine, **settings: Any) -> Iterator[tuple[str, int, Any]]:
    """The app on ``engine`` served as ``ponmodel serve`` serves it (ponmodel's protocol,
    header timeout from ``settings``): (host, port, app)."""
    conf = Settings(database_url="sqlite://", **settings)
    app = create_app(conf, engine=engine)
    GuardedHttpProtocol.header_timeout_s = conf.header_timeout_s
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=port, http=GuardedHttpProtocol, log_level="warning",
        access_log=False, timeout_keep_alive=5))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    try:
        yield "127.0.0.1", port, app
    finally:
        server.should_exit = True
        thread.join(30)
        GuardedHttpProtocol.header_timeout_s = None


def _read_response(sock: socket.socket, timeout_s: float = 5.0) -> bytes:
    """Bytes until the peer stops sending (or closes), at most ``timeout_s``."""
    sock.settimeout(timeout_s)
    data = b""
    try:
        while b"\r\n\r\n" not in data or not data.split(b"\r\n\r\n", 1)[1]:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    return data


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    """Closes what a test opens (warnings are errors: an unclosed socket fails the test)."""
    with ExitStack() as opened:
        yield opened


@pytest.fixture
def tiny(engine: Engine) -> Engine:
    import_document(engine, fixture_doc("tiny.json"))
    return engine


# --------------------------------------------------------------------------- item 1


def test_a_keyless_gigabyte_post_is_refused_before_its_body_is_read(tiny: Engine) -> None:
    # The probe: a keyless 1 GB chunked POST to /reservations took the server from 121 MB to
    # 3.2 GB before its 401. Now the 401 comes after the headers, with 64 KiB sent.
    with guarded(tiny) as (host, port, _), socket.create_connection((host, port)) as sock:
        sock.sendall(b"POST /reservations HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        sock.sendall(b"10000\r\n" + b"[" * 0x10000 + b"\r\n")
        answer = _read_response(sock)
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert b"needs an API key" in answer


def test_the_application_never_reads_a_keyless_body() -> None:
    called = {"app": 0, "receive": 0}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        called["app"] += 1

    async def receive() -> dict[str, Any]:
        called["receive"] += 1
        return {"type": "http.request", "body": b"x" * 1024, "more_body": True}

    def authenticate(token: str) -> Principal:
        raise AuthenticationError("unknown API key")

    gate = Gate(app, Settings(database_url="sqlite://"), Admission(16), authenticate, "test")
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for headers in ([], [(b"authorization", b"Bearer pm_abc_def")],
                    [(b"content-length", str(10**9).encode())]):
        asyncio.run(gate({"type": "http", "method": "POST", "path": "/what-if",
                          "headers": headers, "client": ("192.0.2.7", 1)}, receive, send))
    assert statuses == [401, 401, 401]
    assert called == {"app": 0, "receive": 0}


def test_sixteen_keyless_trickles_do_not_lock_out_the_admin(tiny: Engine, stack: ExitStack) -> None:
    # The probe: 16 keyless POSTs trickling a byte a second filled PONMODEL_MAX_IN_FLIGHT and
    # every user got 503 while /health said 200. Now each is 401 at its headers.
    admin = key_headers(tiny)
    with guarded(tiny) as (host, port, app):
        socks = []
        for _ in range(16):
            sock = socket.create_connection((host, port))
            sock.sendall(b"POST /reservations HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                         b"Content-Type: application/json\r\n\r\n{")
            socks.append(sock)
        try:
            answers = [_read_response(s) for s in socks]
            assert all(a.startswith(b"HTTP/1.1 401 ") for a in answers)
            assert app.state.admission.in_flight == 0
            conn = stack.enter_context(closing(http.client.HTTPConnection(host, port, timeout=10)))
            conn.request("GET", "/zones", headers=admin)
            assert conn.getresponse().status == 200
        finally:
            for s in socks:
                s.close()


def test_a_keyed_trickle_runs_out_of_time_and_frees_its_slot(tiny: Engine) -> None:
    admin = key_headers(tiny)
    body = json.dumps({"operator": "vnpt", "ducts": ["DU-01"], "fibre_count": 12}).encode()
    with guarded(tiny, body_timeout_s=0.5) as (host, port, app), \
            socket.create_connection((host, port)) as sock:
        sock.sendall(b"POST /reservations HTTP/1.1\r\nHost: x\r\n"
                     + f"Authorization: {admin['Authorization']}\r\n".encode()
                     + f"Content-Length: {len(body)}\r\nContent-Type: application/json\r\n\r\n"
                     .encode() + body[:1])
        started = time.monotonic()
        answer = _read_response(sock)
        waited = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
        assert b"did not arrive within 0.5 s" in answer
        assert waited < 5
        assert app.state.admission.in_flight == 0


def test_a_chunked_body_past_the_cap_is_refused_as_it_arrives(tiny: Engine) -> None:
    admin = key_headers(tiny)
    with guarded(tiny, max_request_body_bytes=64 * 1024) as (host, port, _), \
            socket.create_connection((host, port)) as sock:
        sock.sendall(b"POST /what-if HTTP/1.1\r\nHost: x\r\n"
                     + f"Authorization: {admin['Authorization']}\r\n".encode()
                     + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        with pytest.raises(OSError):  # noqa: PT012 (the server closes while we still send)
            for _ in range(1000):  # 1000 × 16 KiB = 16 MiB offered, 64 KiB accepted
                sock.sendall(b"4000\r\n" + b" " * 0x4000 + b"\r\n")
                time.sleep(0.001)
        answer = _read_response(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:300]
    assert b"exceeds the limit of 65,536 bytes" in answer


def test_a_declared_body_past_the_cap_is_refused_unread(tiny: Engine) -> None:
    with TestClient(create_app(Settings(database_url="sqlite://",
                                        max_request_body_bytes=4096), engine=tiny),
                    headers=key_headers(tiny)) as client:
        r = client.post("/what-if", content=b" " * 5000,
                        headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert r.json()["type"] == "/problems/body-too-large"
        assert "request body of 5,000 bytes exceeds the limit of 4,096 bytes" in r.json()["detail"]
        # imports have their own, larger cap
        assert client.post("/import", content=b" " * 5000,
                           headers={"content-type": "application/json"}).status_code == 422


def test_slow_headers_and_silent_connections_are_closed(tiny: Engine, stack: ExitStack) -> None:
    with guarded(tiny, header_timeout_s=0.5) as (host, port, _):
        with socket.create_connection((host, port)) as silent, \
                socket.create_connection((host, port)) as slow:
            slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # the blank line never comes
            started = time.monotonic()
            assert _read_response(silent, 5.0) == b""  # closed by the server
            assert _read_response(slow, 5.0) == b""
            assert time.monotonic() - started < 4.0
        # a whole request on a fresh connection is served as usual
        conn = stack.enter_context(closing(http.client.HTTPConnection(host, port, timeout=5)))
        conn.request("GET", "/health")
        assert conn.getresponse().status == 200


def test_health_reports_overload_and_each_key_gets_half() -> None:
    app = create_app(Settings(database_url="sqlite://", max_in_flight=4))
    admission: Admission = app.state.admission
    with TestClient(app) as client:
        assert client.get("/health").json()["status"] == "ok"
        assert [admission.enter("k1") for _ in range(3)] == [None, None, "key"]
        assert [admission.enter(None) for _ in range(2)] == [None, "unauthenticated"]
        assert admission.enter("k2") is None  # the fourth: 2 of k1, 1 keyless, 1 of k2
        r = client.get("/health")
        assert r.status_code == 503
        assert r.json() | {"version": None} == {"status": "overloaded", "version": None,
                                                 "in_flight": 4, "max_in_flight": 4}
        admission.leave("k2")
        assert client.get("/health").json()["status"] == "ok"


# --------------------------------------------------------------------------- item 4


@pytest.mark.parametrize("header", sorted(PROXY_HEADERS | {"x-forwarded-host"}))
def test_any_proxy_header_ends_the_loopback_viewer(tiny: Engine, header: str,
                                                   stack: ExitStack) -> None:
    # The probe read every operator's customers anonymously through X-Real-IP, Via,
    # X-Forwarded-Host, True-Client-IP or CF-Connecting-IP (only two headers were checked).
    with guarded(tiny) as (host, port, _):
        conn = stack.enter_context(closing(http.client.HTTPConnection(host, port, timeout=10)))
        conn.request("GET", "/onts")
        plain = conn.getresponse()
        assert (plain.status, json.loads(plain.read())["total"]) == (200, 3)  # tiny's ONTs
        conn.request("GET", "/onts", headers={header: "203.0.113.9"})
        r = conn.getresponse()
        assert r.status == 401, r.read()
        r.read()


def test_a_trusted_proxy_is_never_the_loopback_viewer(tiny: Engine, stack: ExitStack) -> None:
    with guarded(tiny, trusted_proxies="127.0.0.1, ::1") as (host, port, _):
        conn = stack.enter_context(closing(http.client.HTTPConnection(host, port, timeout=10)))
        conn.request("GET", "/onts")
        assert conn.getresponse().status == 401


# --------------------------------------------------------------------------- item 6


@pytest.mark.parametrize("url", ["/onts/ONT%0001", "/onts?structure=a%00b",
                                 "/budget/onts/%00", "/fill?zone=%00"])
def test_nul_bytes_in_the_url_are_invalid_input(client: TestClient, url: str) -> None:
    # The probe: NUL bytes in ids and query values answered 500 on PostgreSQL.
    r = client.get(url)
    assert r.status_code == 422, r.text
    assert r.json()["type"] == "/problems/invalid-request"
    assert "NUL byte" in r.json()["detail"]


def test_a_500_keeps_the_connection(tiny: Engine, monkeypatch: pytest.MonkeyPatch,
                                    stack: ExitStack) -> None:
    # The probe: after any 500 the keep-alive connection was reset (Starlette's error
    # handler re-raises, and uvicorn then closes it).
    from ponmodel.api.routes import topology

    def broken(*_: Any, **__: Any) -> Any:
        msg = "a bug"
        raise RuntimeError(msg)

    monkeypatch.setattr(topology.tracing, "trace", broken)
    admin = key_headers(tiny)
    with guarded(tiny) as (host, port, _):
        conn = stack.enter_context(closing(http.client.HTTPConnection(host, port, timeout=10)))
        conn.request("GET", "/trace/ONT-01", headers=admin)
        r = conn.getresponse()
        body = json.loads(r.read())
        assert (r.status, body["type"]) == (500, "/problems/internal")
        sock = conn.sock
        conn.request("GET", "/zones", headers=admin)  # the same connection, still open
        assert conn.getresponse().status == 200 and conn.sock is sock


@pytest.mark.parametrize(("body", "said"), [
    (b'{"version": 1, "service": ' + b'{"a": ' * 900 + b"1" + b"}" * 901, "nest more than 64 deep"),
    (b'{"version": 1, "customer": "a\\u0000b"}', "NUL"),
    (b'{"version": 1, "customer": ' + b"9" * 5000 + b"}", "number"),
])
def test_hostile_json_bodies_are_invalid_input(client: TestClient, body: bytes,
                                               said: str) -> None:
    # The probe: a PATCH body nested 900 deep and an integer of 5,000 digits answered 500.
    client.post("/import", json=fixture_doc("tiny.json"))
    r = client.patch("/onts/ONT-01", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["type"] == "/problems/invalid-request"
    assert said.lower() in json.dumps(r.json()).lower()
    assert client.get("/onts/ONT-01").headers["etag"] == '"1"'  # nothing written
