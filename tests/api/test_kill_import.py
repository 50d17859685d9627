"""SIGKILL of the server during a large import (issue 7): after a restart the database holds
either the whole document or none of it.

A tiny network is stored first; ``ponmodel serve`` then receives a generated network of
:data:`ONTS` ONTs on ``POST /import?replace=true`` and is killed (SIGKILL to its process
group) at one of three points, watched from outside the server:

* **writing**, before the commit: on PostgreSQL while ``COPY "ont"`` streams rows (the old
  network's rows are already deleted and its indexes dropped inside the transaction); on
  SQLite while the import holds the database's write lock (``BEGIN IMMEDIATE``, seen by a
  probe that cannot take it) and its write-ahead log has not started to grow: the old
  network must be there, checksum for checksum;
* **committing**: on SQLite as soon as the write-ahead log grows (the commit writing its
  frames), on PostgreSQL during the index rebuild that precedes the commit, or the commit:
  one whole network must be there, the old (checksum) or the new (element for element);
* **committed**, after the 200 answer: exactly the new network.

After each kill the server is started again on the same database (SQLite recovers its log
on opening; PostgreSQL has rolled the dead client's transaction back) and the network is
read through it and with the library.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from ponmodel.api.loadtest import free_port, serve_command, start_server, stop_server, wait_healthy
from ponmodel.document import canonical, dump_document, load_document, read_document
from ponmodel.generate import generate_network
from ponmodel.keys import create_key
from ponmodel.storage import checksum, export_document, import_document, row_counts
from tests.conftest import FIXTURES

pytestmark = pytest.mark.kernel_free  # runs no kernel: CI runs it once (.ci/run)

ONTS = 40_000
"""Big enough that the import writes for most of a second on SQLite and streams ONT rows
for a few tenths of a second on PostgreSQL on a 2-core machine; small enough for the time
budget (about 20 s per database)."""

POLL_S = 0.002
WRITING_HELD_S = 0.15
"""SQLite: the write lock must have been held this long, continuously, before the kill (the
import's own; no other writer runs), so that rows are being inserted."""


@pytest.fixture(scope="module")
def big_network() -> dict[str, Any]:
    """The generated network: its JSON body and its validated canonical form."""
    doc = generate_network(ONTS, seed=11)
    return {"body": dump_document(doc, indent=False),
            "canonical": canonical(load_document(doc)), "onts": len(doc["onts"])}


@contextmanager
def serving(url: str, log: Path) -> Iterator[tuple[Any, str]]:
    """``ponmodel serve`` on ``url`` in its own process group, until the block ends."""
    port = free_port()
    process = start_server(serve_command(url, port, workers=1), log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, process, timeout_s=60)
        yield process, base_url
    finally:
        stop_server(process)  # a process already killed is only reaped


class ImportInFlight:
    """``POST /import?replace=true`` of ``body``, sent from a thread."""

    def __init__(self, base_url: str, token: str, body: bytes) -> None:
        self.response: httpx.Response | None = None
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._post, args=(base_url, token, body),
                                       daemon=True)
        self.thread.start()

    def _post(self, base_url: str, token: str, body: bytes) -> None:
        try:
            self.response = httpx.post(
                f"{base_url}/import", params={"replace": "true"}, content=body, timeout=120,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:  # the server died under it: expected
            self.error = exc

    def done(self) -> bool:
        return not self.thread.is_alive()


def wait_for(condition: Callable[[], bool], imp: ImportInFlight, what: str,
             timeout_s: float = 60.0) -> None:
    """Poll ``condition`` until it holds; fail when the import ends first or time is up."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if imp.done():
            answer = imp.response.status_code if imp.response is not None else imp.error
            pytest.fail(f"the import ended ({answer}) before {what}: the kill point was "
                        f"missed (make ONTS bigger)")
        if time.monotonic() > deadline:
            pytest.fail(f"no sign of {what} within {timeout_s:g} s")
        time.sleep(POLL_S)


def kill(process: Any, imp: ImportInFlight) -> None:
    """SIGKILL the server's process group and wait for the client thread to notice."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    imp.thread.join(30)


# --------------------------------------------------------------------------- kill points


def _sqlite_path(engine: Engine) -> str:
    path = engine.url.database
    assert path
    return path


def _sqlite_write_locked(path: str) -> bool:
    """True while another connection holds the database's write lock."""
    con = sqlite3.connect(path, timeout=0)
    try:
        con.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:  # "database is locked"
        return True
    finally:
        con.close()  # closing rolls the probe's empty transaction back
    return False


def _wal_bytes(path: str) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


@contextmanager
def pg_statements(engine: Engine) -> Iterator[Callable[[], str]]:
    """A probe: the statements the server's connections are running (or, idle inside a
    transaction, ran last), joined; '' when there are none."""
    query = text("SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                 "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                 "AND state <> 'idle'")
    with engine.connect() as conn:

        def statements() -> str:
            rows = conn.execute(query).scalars().all()
            conn.rollback()  # a fresh snapshot of pg_stat_activity each time
            return " | ".join(rows)

        yield statements


def until_writing(engine: Engine, imp: ImportInFlight) -> str:
    """Block until the import is writing rows, well before its commit; what was seen."""
    if engine.dialect.name == "postgresql":
        with pg_statements(engine) as statements:
            wait_for(lambda: 'COPY "ont"' in statements(), imp, 'COPY "ont"')
        return 'COPY "ont" running'
    path = _sqlite_path(engine)
    wal_before = _wal_bytes(path)
    held_since: list[float] = []

    def held_long_enough() -> bool:
        if not _sqlite_write_locked(path):
            held_since.clear()
            return False
        if not held_since:
            held_since.append(time.monotonic())
        return time.monotonic() - held_since[0] >= WRITING_HELD_S

    wait_for(held_long_enough, imp, "the import's write lock")
    assert _wal_bytes(path) <= wal_before + 1_000_000, "the commit started before the kill"
    return f"write lock held {WRITING_HELD_S} s, log not growing"


def until_committing(engine: Engine, imp: ImportInFlight) -> str:
    """Block until the import is at its commit (or what runs just before it: over a stored
    network on PostgreSQL, the versions raised from the old ones; no index is rebuilt)."""
    if engine.dialect.name == "postgresql":
        with pg_statements(engine) as statements:
            wait_for(lambda: any(s in statements() for s in (
                "CREATE INDEX", "CREATE UNIQUE INDEX", "UPDATE element SET version", "COMMIT")),
                     imp, "the versions raised")
        return "versions raised or COMMIT running"
    path = _sqlite_path(engine)
    wal_before = _wal_bytes(path)
    wait_for(lambda: _wal_bytes(path) > wal_before + 2_000_000, imp, "the log growing")
    return "write-ahead log growing"


# --------------------------------------------------------------------------- the tests


@pytest.fixture
def stored(engine: Engine, tmp_path: Path) -> dict[str, Any]:
    """The tiny network stored, its checksum and row counts, a database URL for the
    server, and an admin key."""
    import_document(engine, read_document(FIXTURES / "tiny.json"))
    _, token = create_key(engine, role="admin", name="kill test")
    return {
        "url": engine.url.render_as_string(hide_password=False),
        "token": token,
        "checksum": checksum(engine),
        "rows": row_counts(engine),
        "logs": tmp_path,
    }


def _onts_served(url: str, token: str, log: Path) -> int:
    """Restart the server on the database and count the ONTs it serves."""
    with serving(url, log) as (_, base_url):
        r = httpx.get(f"{base_url}/onts", params={"limit": 1},
                      headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert r.status_code == 200, r.text
        return int(r.json()["total"])


def _holds_the_old_network(engine: Engine, stored: dict[str, Any]) -> bool:
    return checksum(engine) == stored["checksum"] and row_counts(engine) == stored["rows"]


def _holds_the_new_network(engine: Engine, big: dict[str, Any]) -> bool:
    return canonical(export_document(engine)) == big["canonical"]


def test_kill_while_writing_keeps_the_old_network(
    engine: Engine, stored: dict[str, Any], big_network: dict[str, Any]
) -> None:
    with serving(stored["url"], stored["logs"] / "first.log") as (process, base_url):
        imp = ImportInFlight(base_url, stored["token"], big_network["body"])
        seen = until_writing(engine, imp)
        kill(process, imp)
    assert imp.response is None, f"the import answered before the kill ({seen})"
    engine.dispose()
    old_onts = stored["rows"]["ont"]
    assert _onts_served(stored["url"], stored["token"], stored["logs"] / "restart.log") \
        == old_onts
    assert _holds_the_old_network(engine, stored), f"killed at: {seen}"


def test_kill_during_the_commit_leaves_one_whole_network(
    engine: Engine, stored: dict[str, Any], big_network: dict[str, Any]
) -> None:
    with serving(stored["url"], stored["logs"] / "first.log") as (process, base_url):
        imp = ImportInFlight(base_url, stored["token"], big_network["body"])
        seen = until_committing(engine, imp)
        kill(process, imp)
    engine.dispose()
    served = _onts_served(stored["url"], stored["token"], stored["logs"] / "restart.log")
    if served == stored["rows"]["ont"]:  # killed before the commit point
        assert _holds_the_old_network(engine, stored), f"killed at: {seen}"
    else:  # killed after it: the whole new network, element for element
        assert served == big_network["onts"]
        assert _holds_the_new_network(engine, big_network), f"killed at: {seen}"


def test_kill_after_the_commit_keeps_the_new_network(
    engine: Engine, stored: dict[str, Any], big_network: dict[str, Any]
) -> None:
    with serving(stored["url"], stored["logs"] / "first.log") as (process, base_url):
        imp = ImportInFlight(base_url, stored["token"], big_network["body"])
        imp.thread.join(120)
        assert imp.response is not None and imp.response.status_code == 200, \
            imp.response.text if imp.response is not None else imp.error
        kill(process, imp)  # at once: nothing after the answer can matter
    written = imp.response.json()["imported"]
    engine.dispose()
    assert _onts_served(stored["url"], stored["token"], stored["logs"] / "restart.log") \
        == big_network["onts"]
    assert row_counts(engine) == written
    assert checksum(engine) != stored["checksum"]
    assert _holds_the_new_network(engine, big_network)
