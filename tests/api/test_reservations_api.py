"""Reservations over HTTP: concurrent clients against a live server, 409 naming the duct."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ponmodel.api.main import create_app
from ponmodel.settings import Settings
from ponmodel.storage import import_document
from tests.api.conftest import admin_client, key_headers, served
from tests.ponmodel.test_reservations import ducts_network


@pytest.fixture
def live_server(engine: Engine) -> Iterator[dict[str, Any]]:
    """The app served by uvicorn on a free loopback port, on the test database: httpx
    client arguments holding a planner key of vnpt."""
    import_document(engine, ducts_network())
    headers = key_headers(engine, "planner", "vnpt")
    app = create_app(Settings(database_url="sqlite://"), engine=engine)
    with served(app) as base_url:
        yield {"base_url": base_url, "headers": headers}


def test_concurrent_clients_get_exactly_the_room_there_is(live_server: dict[str, Any],
                                                          engine: Engine) -> None:
    # D1 (40 mm inner) holds four 12 mm cables; 16 planners race for it over HTTP, each
    # with a key of their own (one key holds at most half of the in-flight limit).
    clients = 16
    keys = [key_headers(engine, "planner", "vnpt") for _ in range(clients)]
    barrier = threading.Barrier(clients)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        with httpx.Client(base_url=live_server["base_url"], headers=keys[i],
                          timeout=60) as http:
            barrier.wait()
            r = http.post("/reservations", json={"operator": "vnpt", "ducts": ["D1"],
                                                 "outer_diameter_mm": 12.0, "id": f"H{i:02d}"})
            with lock:
                answers.append(r)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] * 4 + [409] * (clients - 4)
    for r in answers:
        if r.status_code == 409:
            body = r.json()
            assert body["type"] == "/problems/conflict"
            assert body["detail"].startswith("duct D1 has no room for a 12 mm cable")
    with httpx.Client(**live_server) as http:
        held = http.get("/reservations", params={"status": "reserved"}).json()
    assert len(held) == 4


def test_the_command_line_lists_every_operators_reservations(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # a planner's key reads its operator's reservations only; the command line is the
    # local admin (it holds the database) and reads them all
    import json

    from typer.testing import CliRunner

    from ponmodel.api import cli as cli_module
    from ponmodel.api.cli import app as cli

    opened: list[Engine] = []  # the command's own engines, closed at the end (a process
    real_engine = cli_module._engine  # running the command would simply exit)
    monkeypatch.setattr(cli_module, "_engine",
                        lambda database: opened.append(real_engine(database)) or opened[-1])
    import_document(engine, ducts_network())
    app = create_app(Settings(database_url="sqlite://"), engine=engine)
    made = {}
    for op in ("vnpt", "fpt"):
        with TestClient(app, headers=key_headers(engine, "planner", op)) as c:
            r = c.post("/reservations", json={"operator": op, "ducts": ["D1"],
                                              "outer_diameter_mm": 12.0, "id": f"R-{op}"})
            assert r.status_code == 201, r.text
            made[op] = r.json()
            assert c.get("/reservations").json() == [made[op]]
    url = engine.url.render_as_string(hide_password=False)
    try:
        r = CliRunner().invoke(cli, ["reserve", "list", "--database", url, "--json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout) == [made["vnpt"], made["fpt"]]
        r = CliRunner().invoke(cli, ["reserve", "cancel", "R-fpt", "--database", url, "--json"])
        assert r.exit_code == 0 and json.loads(r.stdout)["status"] == "cancelled", r.output
    finally:
        for opened_engine in opened:
            opened_engine.dispose()


def test_reservation_lifecycle(engine: Engine) -> None:
    import_document(engine, ducts_network())
    with admin_client(engine) as c:
        r = c.post("/reservations", json={"operator": "vnpt", "ducts": ["D1", "D2"],
                                          "fibre_count": 48, "cable_id": "CB-PLAN"})
        assert r.status_code == 201, r.text
        ident = r.json()["id"]
        assert c.get(f"/reservations/{ident}").json()["status"] == "reserved"
        assert c.post(f"/reservations/{ident}/confirm").json()["status"] == "confirmed"
        assert c.get("/cables/CB-PLAN").json()["ducts"] == ["D1", "D2"]
        r = c.post(f"/reservations/{ident}/cancel")
        assert r.status_code == 409 and "confirmed" in r.json()["detail"]
        assert c.post("/reservations/NOPE/confirm").status_code == 404
        r = c.post("/reservations", json={"operator": "vnpt", "ducts": []})
        assert r.status_code == 422
        r = c.post("/reservations", json={"operator": "vnpt", "ducts": ["D1"]})
        assert r.status_code == 400 and "outer_diameter_mm or its fibre_count" in r.json()["detail"]
