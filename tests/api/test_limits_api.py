"""The request time limit: a request running longer gets 503 with Retry-After."""

from __future__ import annotations

from sqlalchemy import Engine

from ponmodel.api.limits import TimeLimit
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
