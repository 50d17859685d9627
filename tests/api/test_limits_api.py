"""The request limits: a request running longer gets 503 with Retry-After; one beyond the
in-flight limit gets 503 at once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from ponmodel.access import Principal
from ponmodel.api.limits import Admission, Gate, TimeLimit
from ponmodel.settings import Settings
from ponmodel.storage import import_document
from tests.api.conftest import admin_client
from tests.conftest import fixture_doc


def test_a_request_over_its_limit_gets_503(sqlite_engine: Engine) -> None:
    # The first budget read builds the topology of the Hanoi network (2,710 ONTs): far more
    # than 1 ms on any machine.
    import_document(sqlite_engine, fixture_doc("hanoi.json"))
    with admin_client(sqlite_engine, request_timeout_s=0.001) as client:
        r = client.get("/budget")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    assert "longer than its limit of 0.001 s" in r.json()["detail"]


def test_imports_have_their_own_limit() -> None:
    limits = TimeLimit(app=None, settings=Settings(  # type: ignore[arg-type]
        database_url="sqlite://", request_timeout_s=7, import_timeout_s=600))
    assert limits.limit_s("/import") == 600
    assert limits.limit_s("/import/geojson") == 600
    assert limits.limit_s("/budget") == 7


def test_defaults_bound_every_request() -> None:
    settings = Settings(database_url="sqlite://")
    assert (settings.request_timeout_s, settings.import_timeout_s) == (30.0, 900.0)


def test_a_request_beyond_the_in_flight_limit_is_turned_away_at_once() -> None:
    """Four requests of two keys held in flight (limit 4): a fifth gets 503 at once,
    /health still answers, and when one finishes the next is served again."""
    import asyncio
    import json

    release = asyncio.Event()

    async def slow_app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]

    settings = Settings(database_url="sqlite://", max_in_flight=4)
    admission = Admission(settings.max_in_flight)

    def authenticate(token: str) -> Principal:
        return Principal(token, token, "admin", None)

    limited = Gate(slow_app, settings, admission, authenticate, "test")

    async def call(path: str, key: str = "k1") -> tuple[int, dict[str, str], bytes]:
        sent: list[dict] = []  # type: ignore[type-arg]

        async def send(message: dict) -> None:  # type: ignore[type-arg]
            sent.append(message)

        async def receive() -> dict:  # type: ignore[type-arg]
            return {"type": "http.request", "body": b""}

        headers = [(b"authorization", f"Bearer {key}".encode())]
        await limited({"type": "http", "path": path, "method": "GET", "headers": headers,
                       "client": ("192.0.2.1", 5000)}, receive, send)
        start = sent[0]
        headers = {k.decode(): v.decode() for k, v in start.get("headers", [])}
        return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])

    async def scenario() -> None:
        held = [asyncio.create_task(call("/budget", key)) for key in ("k1", "k1", "k2", "k2")]
        await asyncio.sleep(0.05)
        assert admission.in_flight == 4 and admission.overloaded
        status, headers, body = await asyncio.wait_for(call("/trace/ONT-01", "k3"), 5)
        assert status == 503 and headers["retry-after"] == "1"
        assert "limit of 4 requests at once" in json.loads(body)["detail"]
        health = asyncio.create_task(call("/health"))  # exempt: waits with the others
        await asyncio.sleep(0.05)
        assert not health.done() and admission.in_flight == 4
        release.set()
        assert [(await t)[0] for t in (*held, health)] == [200] * 5
        assert admission.in_flight == 0
        assert (await call("/trace/ONT-01"))[0] == 200

    asyncio.run(scenario())


def test_the_in_flight_limit_defaults_to_16_and_0_turns_it_off() -> None:
    assert Settings(database_url="sqlite://").max_in_flight == 16
    off = Admission(Settings(database_url="sqlite://", max_in_flight=0).max_in_flight)
    assert [off.enter("k") for _ in range(100)] == [None] * 100 and not off.overloaded


def test_the_pool_holds_two_connections_for_every_request_in_flight(tmp_path: Path) -> None:
    # A request may hold its read connection (the key is checked on it) and open a write's
    # own: 16 requests in flight need up to 32 at once, or a burst of writes deadlocks the
    # pool (each request holding one and waiting for a second) until its 30 s timeout.
    from contextlib import ExitStack

    from ponmodel.api.main import create_app

    for in_flight, wanted in ((16, 32), (30, 60)):
        app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/p{in_flight}.db",
                                  max_in_flight=in_flight))
        engine = app.state.engine
        assert engine.pool.size() + engine.pool._max_overflow >= wanted
        with ExitStack() as stack:  # all of them at once, none waiting
            conns = [stack.enter_context(engine.connect()) for _ in range(wanted)]
            assert all(c.exec_driver_sql("SELECT 1").scalar() == 1 for c in conns)
        engine.dispose()
