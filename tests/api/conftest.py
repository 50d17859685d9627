"""An API client on a fresh database (SQLite file, then PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ponmodel.api.main import create_app
from ponmodel.settings import Settings


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(Settings(database_url="sqlite://"), engine=engine)
    with TestClient(app) as c:
        yield c
