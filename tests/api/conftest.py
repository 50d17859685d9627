"""An API client on a fresh database (SQLite file, then PostgreSQL), holding an admin key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
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
