"""Shared pytest fixtures."""

from __future__ import annotations

from types import ModuleType

import pytest

# --- kernel fixtures (owned by the kernel work: ponmodel/_kernel.py) -------------------------
from ponmodel import _kernel

_KERNELS = _kernel.implementations()


@pytest.fixture(scope="session", params=list(_KERNELS), ids=list(_KERNELS))
def kernel(request: pytest.FixtureRequest) -> ModuleType:
    """Each kernel implementation in turn: "cython" (when built and enabled) and "python".

    Session-scoped so that hypothesis tests may use it.
    """
    return _KERNELS[request.param]


# --- end of kernel fixtures -------------------------------------------------------------------

# --- databases, fixtures and the app ----------------------------------------------------------
import json  # noqa: E402
import os  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import Engine  # noqa: E402

from ponmodel.storage import make_engine, migrate, scratch_postgres  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VALID_FIXTURES = sorted(
    p.name for p in FIXTURES.glob("*.json") if not p.name.startswith("invalid_")
)
INVALID_FIXTURES = sorted(p.name for p in FIXTURES.glob("invalid_*.json"))


def fixture_doc(name: str) -> dict[str, Any]:
    """A fixture file, parsed (not validated)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end.

    Needs ``PONMODEL_TEST_DATABASE_URL``. Without it the PostgreSQL tests skip on a
    developer's machine, and fail in CI (``CI=true``): CI must never pass them silently.
    """
    base = os.environ.get("PONMODEL_TEST_DATABASE_URL")
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "CI=true but PONMODEL_TEST_DATABASE_URL is not set: PostgreSQL tests cannot run"
            )
        pytest.skip("PONMODEL_TEST_DATABASE_URL is not set (PostgreSQL tests skipped)")
    with scratch_postgres(base, "ponmodel_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database: an SQLite file, then a real PostgreSQL."""
    if request.param == "postgresql":
        yield request.getfixturevalue("postgres_engine")
        return
    eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """A migrated, empty PostgreSQL database (for what only PostgreSQL does)."""
    from ponmodel.storage import drop_all

    eng = make_engine(postgres_url)
    drop_all(eng)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty SQLite file."""
    eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    migrate(eng)
    yield eng
    eng.dispose()
