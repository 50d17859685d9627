"""An API client on a fresh database (SQLite file, then PostgreSQL), holding an admin key."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ponmodel.api.main import create_app
from ponmodel.keys import create_key
from ponmodel.settings import Settings


def key_headers(engine: Engine, role: str = "admin", operator: str | None = None
                ) -> dict[str, str]:
    """The Authorization header of a new key of ``role`` (and ``operator``)."""
    _, token = create_key(engine, role=role, operator=operator, name=f"test {role}")
    return {"Authorization": f"Bearer {token}"}


def admin_client(engine: Engine, **settings: object) -> TestClient:
    """A client of a new app on ``engine`` that sends an admin key with every request."""
    app = create_app(Settings(database_url="sqlite://", **settings), engine=engine)  # type: ignore[arg-type]
    return TestClient(app, headers=key_headers(engine))


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with admin_client(engine) as c:
        yield c


@contextmanager
def served(app: FastAPI, *, start_timeout_s: float = 30.0) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free loopback port; its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail(f"the test server did not start in {start_timeout_s:g} s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(start_timeout_s)
