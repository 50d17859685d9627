"""PostgreSQL backends terminated under load (a failover, an administrator, a pooler
restarting): every connection of the app's database is ended by
``pg_terminate_backend`` every 200 ms while readers and a writer use a served app.

A read must answer 200 (retried once on a fresh connection when its connection was lost:
``api/limits.py``, ``Recover``) or 503 ``/problems/database-unavailable``; never 500 and
never a closed connection. A write answers 2xx, 4xx or 503, and every acknowledged write is
in the database afterwards.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from ponmodel.api.main import create_app
from ponmodel.elements import ElementTable, OntTable, ReservationDuctTable, ReservationTable
from ponmodel.generate import generate_network
from ponmodel.keys import create_key
from ponmodel.settings import Settings
from ponmodel.storage import import_document, make_engine, migrate
from tests.api.conftest import served

pytestmark = pytest.mark.postgres

DURATION_S = 4.0
TERMINATE_EVERY_S = 0.2
READERS = 4


class Terminator(threading.Thread):
    """End every other backend of the database every ``TERMINATE_EVERY_S``."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.stop = url, stop
        self.terminated = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        engine = create_engine(make_engine(self.url).url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                while not self.stop.wait(TERMINATE_EVERY_S):
                    self.terminated += sum(conn.execute(text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )).scalars())
        except BaseException as exc:  # noqa: BLE001 (reported by the test)
            self.error = exc
        finally:
            engine.dispose()


def _problem_type(r: httpx.Response) -> str:
    try:
        return str(r.json().get("type"))
    except ValueError:
        return f"(not JSON: {r.text[:200]!r})"


def test_terminated_backends_answer_200_or_503_and_lose_no_write(
    postgres_only_url: str,
) -> None:
    url = postgres_only_url
    doc = generate_network(300, seed=2)
    engine = make_engine(url)
    migrate(engine)
    import_document(engine, doc)
    _, token = create_key(engine, role="admin", name="terminate test")
    engine.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    onts = [o["id"] for o in doc["onts"]]
    ducts = [d["id"] for d in doc["ducts"] if not d.get("within")]
    paths = ["/budget", "/fill", "/export"] + [f"/onts/{o}" for o in onts[:20]]

    reads: Counter[str] = Counter()
    bad: list[str] = []
    writes: list[dict[str, Any]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def reader(i: int) -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            n = i
            while not stop.is_set():
                path = paths[n % len(paths)]
                n += 1
                try:
                    r = client.get(path)
                except httpx.HTTPError as exc:
                    with lock:
                        bad.append(f"GET {path}: connection failed: {exc!r}")
                    continue
                outcome = str(r.status_code)
                if r.status_code == 503:
                    outcome = f"503 {_problem_type(r)}"
                    if _problem_type(r) != "/problems/database-unavailable":
                        bad.append(f"GET {path}: 503 of type {_problem_type(r)}: {r.text[:300]}")
                elif r.status_code != 200:
                    with lock:
                        bad.append(f"GET {path}: {r.status_code} {r.text[:300]}")
                elif path == "/export" and len(r.json()["onts"]) != len(onts):
                    bad.append(f"GET /export: {len(r.json()['onts'])} ONTs")
                with lock:
                    reads[outcome] += 1

    def writer() -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    if n % 2:
                        body = {"id": f"T-{n}", "operator": "vnpt",
                                "ducts": [ducts[n % len(ducts)]], "outer_diameter_mm": 1.0}
                        r = client.post("/reservations", json=body)
                        write = {"kind": "reserve", "id": body["id"]}
                    else:
                        ont = onts[n % len(onts)]
                        got = client.get(f"/onts/{ont}")
                        if got.status_code != 200:
                            continue  # a read: counted by the readers' rules below
                        body = {"version": int(got.headers["ETag"].strip('"')),
                                "customer": f"renamed {n}"}
                        r = client.patch(f"/onts/{ont}", json=body)
                        write = {"kind": "edit", "id": ont, **body}
                except httpx.HTTPError as exc:
                    with lock:
                        bad.append(f"write {n}: connection failed: {exc!r}")
                    continue
                write["status"] = r.status_code
                if not (200 <= r.status_code < 500 or r.status_code == 503):
                    with lock:
                        bad.append(f"write {write}: {r.status_code} {r.text[:300]}")
                writes.append(write)

    app = create_app(Settings(database_url=url))
    terminator = Terminator(url, stop)
    with served(app) as base_url:
        threads = [threading.Thread(target=reader, args=(i,), daemon=True)
                   for i in range(READERS)]
        threads.append(threading.Thread(target=writer, daemon=True))
        for t in threads:
            t.start()
        terminator.start()
        time.sleep(DURATION_S)
        stop.set()
        for t in [*threads, terminator]:
            t.join(60)
            assert not t.is_alive(), "a client hung"
    app.state.engine.dispose()
    assert terminator.error is None, terminator.error
    assert terminator.terminated >= 5, "the backends were hardly terminated"
    acked_reservations = {w["id"] for w in writes if w["kind"] == "reserve"
                          and 200 <= w["status"] < 300}
    acked_edits = [w for w in writes if w["kind"] == "edit" and 200 <= w["status"] < 300]
    assert acked_reservations and acked_edits, writes
    engine = make_engine(url)
    r, rd = ReservationTable.__table__, ReservationDuctTable.__table__
    el, ont = ElementTable.__table__, OntTable.__table__
    with engine.connect() as conn:
        stored = set(conn.execute(select(r.c.id)).scalars())
        with_ducts = set(conn.execute(select(rd.c.reservation_id)).scalars())
        versions = dict(conn.execute(select(el.c.id, el.c.version)).all())
        customers = dict(conn.execute(select(ont.c.id, ont.c.customer)).all())
    engine.dispose()
    lost = [f"acknowledged reservation {i} lost" for i in sorted(acked_reservations - stored)]
    lost += [f"reservation {i} has no ducts" for i in sorted(stored - with_ducts)]
    for w in acked_edits:
        if versions[w["id"]] < w["version"] + 1 or (
                versions[w["id"]] == w["version"] + 1 and customers[w["id"]] != w["customer"]):
            lost.append(f"acknowledged edit {w} lost: version {versions[w['id']]}, "
                        f"customer {customers[w['id']]!r}")
    assert lost == [], "\n".join(lost[:20])
    assert bad == [], (f"reads: {dict(reads)}; writes: {Counter(w['status'] for w in writes)}\n"
                       + "\n".join(bad[:20]))
    assert reads["200"] >= 20, dict(reads)
