"""The load test (issue 7): a short real run against a live server, and its refusals.

No latency goal is asserted here (timings on a shared test machine are not a test); the
figures' shape, the absence of errors and the writes' effects in the database are.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from ponmodel.api.loadtest import (
    READ_MIX,
    WRITE_ENDPOINTS,
    LoadTargetError,
    check_loopback,
    percentile,
    run_load,
)
from ponmodel.api.main import create_app
from ponmodel.document import read_document
from ponmodel.elements import ElementTable, ReservationTable
from ponmodel.keys import create_key
from ponmodel.settings import Settings
from ponmodel.storage import import_document
from tests.api.conftest import served
from tests.conftest import FIXTURES


@pytest.fixture
def hanoi_server(engine: Engine) -> Iterator[dict[str, Any]]:
    """The Hanoi network served by uvicorn on a free loopback port (on the test database:
    an SQLite file, then PostgreSQL), with an admin key."""
    import_document(engine, read_document(FIXTURES / "hanoi.json"), validated=True)
    _, token = create_key(engine, role="admin", name="load test")
    app = create_app(Settings(database_url="sqlite://"), engine=engine)
    with served(app) as base_url:
        yield {"base_url": base_url, "token": token}


def _ont_versions(engine: Engine) -> int:
    element = ElementTable.__table__
    with engine.connect() as conn:
        total = conn.execute(select(func.sum(element.c.version))
                             .where(element.c.kind == "ont")).scalar_one()
    return int(total)


def _reservations_by_status(engine: Engine) -> dict[str, int]:
    table = ReservationTable.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.status, func.count()).group_by(table.c.status))
        return {str(status): int(n) for status, n in rows}


def test_a_short_run_reads_and_writes_without_errors(
    hanoi_server: dict[str, Any], engine: Engine
) -> None:
    versions_before = _ont_versions(engine)
    # 3 s at 30 arrivals per second, a fifth of them writes: about 9 reservations and 9 edits
    result = run_load(hanoi_server["base_url"], hanoi_server["token"], rate_rps=30,
                      duration_s=3, write_share=0.2, seed=7, warmup_rounds=1,
                      timeout_s=60)

    assert result["errors"] == 0, result["error_samples"]
    assert result["operations"] == 90 and result["abandoned"] == 0
    assert result["requests"] >= 90
    assert result["offered_rps"] > 0 and result["achieved_rps"] > 0
    endpoints = result["endpoints"]
    assert set(endpoints) == set(READ_MIX) | set(WRITE_ENDPOINTS)
    for name, figures in endpoints.items():
        assert figures["count"] > 0, name
        assert figures["errors"] == 0, name
        assert 0 <= figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"], name
    assert result["reads"]["count"] == sum(
        e["count"] for n, e in endpoints.items() if n.startswith("GET ")
    )
    goal = result["goal"]
    assert goal["zero_errors"] is True
    assert goal["met"] == (goal["read_p99_ms"] < goal["read_p99_limit_ms"])
    assert goal["worst_read_endpoint"] in {*READ_MIX, "GET /onts/{ont}"}

    # the warm-up is reported apart, and did its own writes
    warmup = result["warmup"]
    assert warmup["errors"] == 0 and warmup["requests"] > 0
    assert warmup["writes_done"]["ont_edits"] == 1
    assert warmup["writes_done"]["reservations_created"] == 1

    # the writes really happened: every successful edit raised its ONT's version by one
    done = result["writes_done"]
    assert done["ont_edits"] > 0 and done["reservations_created"] > 0
    edits = done["ont_edits"] + warmup["writes_done"]["ont_edits"]
    assert _ont_versions(engine) == versions_before + edits
    assert endpoints["PATCH /onts/{ont}"]["count"] >= done["ont_edits"]
    # ... and every reservation made was cancelled again
    created = done["reservations_created"] + warmup["writes_done"]["reservations_created"]
    assert done["reservations_cancelled"] == done["reservations_created"]
    assert _reservations_by_status(engine) == {"cancelled": created}


@pytest.mark.parametrize("url", [
    "http://10.0.0.5:8000",
    "http://192.168.1.1",
    "https://example.com",
    "http://[2001:db8::1]:8000",
    "http://[::ffff:127.0.0.1]:8000",  # mapped, not loopback itself: refused, not resolved
    "ftp://127.0.0.1/",
    "not a url",
])
def test_a_non_loopback_target_is_refused(url: str) -> None:
    with pytest.raises(LoadTargetError):
        run_load(url, "pm_x_y", rate_rps=1, duration_s=1)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000", "http://127.8.9.10", "http://localhost:1", "http://[::1]:8000",
])
def test_loopback_targets_are_accepted(url: str) -> None:
    assert check_loopback(url)


@pytest.mark.parametrize("bad", [
    {"rate_rps": 0}, {"rate_rps": 1e6}, {"duration_s": 0}, {"duration_s": 1e6},
    {"max_requests": 0}, {"write_share": 1.5},
])
def test_bounds_are_checked_before_any_request(bad: dict[str, float]) -> None:
    # port 9 (discard) on loopback: nothing answers, and nothing is asked
    with pytest.raises(LoadTargetError):
        run_load("http://127.0.0.1:9", "pm_x_y", **bad)  # type: ignore[arg-type]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([3.0], 99) == 3.0
