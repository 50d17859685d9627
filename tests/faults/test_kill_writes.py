"""SIGKILL of the server during a stream of small writes: reservations (create, confirm,
cancel), ONT edits (``PATCH /onts/{id}`` with the version of the ``ETag``) and GeoJSON
merges that move structures (``POST /import/geojson?replace=true``).

``tests/api/test_kill_import.py`` kills the server at chosen points of one large import;
here four client threads write at once and the server's process group is killed at a random
moment, three times on each database, the server being started again on the same database
after each kill. Every write's answer is kept: acknowledged (2xx), refused (4xx: nothing
written), or unknown (no answer, or 503: written whole or not at all). After each kill the
database must hold:

* every acknowledged write, and nothing of a refused one;
* each reservation whole: all its ducts in route order, and, confirmed, its cable with the
  same route;
* versions that agree with the audit log: an element at version 1 + its edits' entries, the
  entry of every acknowledged write, the stored value that of the element's last entry, the
  network's revision one per element-changing entry, the reservations' revision one per
  reservation entry;
* a network that validates (exported, then :func:`ponmodel.document.load_document`), also
  as the restarted server exports it.

The random moments come from a seed printed on failure; ``PONMODEL_FAULTS_SEED=N`` replays
the same writes (the kill lands where the machine's timing puts it).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from ponmodel.document import canonical, load_document
from ponmodel.elements import (
    CableDuctTable,
    ElementTable,
    NetworkTable,
    OntTable,
    ReservationDuctTable,
    ReservationTable,
    StructureTable,
)
from ponmodel.generate import generate_network
from ponmodel.keys import create_key
from ponmodel.storage import export_document, import_document, make_engine, migrate

pytestmark = pytest.mark.kernel_free  # the server computes no budget here: CI runs it once

ROUNDS = 3
"""Kills per database; up to :data:`EXTRA_ROUNDS` more while some kind of write has not
been acknowledged yet (the checks would not have seen it)."""
EXTRA_ROUNDS = 3
WRITERS = 4
KILL_AFTER_S = (0.4, 2.4)
"""The kill comes at a uniformly random moment this long after the writers start."""
DIAMETER_MM = 2.0
"""Reserved cables are thin, so that most reservations find room."""


@dataclass
class Write:
    """One write sent, and what became of it."""

    kind: str  # reserve, confirm, cancel, edit, merge
    target: str  # the reservation, ONT or structure id
    payload: dict[str, Any]
    outcome: str = "pending"  # acked, refused, unknown, error
    status: int | None = None
    answer: str = ""


@dataclass
class Ledger:
    """Every write of the test, across rounds and threads."""

    writes: list[Write] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, write: Write) -> Write:
        with self.lock:
            self.writes.append(write)
        return write

    def of(self, kind: str) -> list[Write]:
        return [w for w in self.writes if w.kind == kind]


def _send(client: httpx.Client, write: Write, method: str, url: str, **kwargs: Any) -> bool:
    """Send a write and classify its answer; False when the server is gone."""
    try:
        r = client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        write.outcome, write.answer = "unknown", repr(exc)
        return False
    write.status, write.answer = r.status_code, r.text[:500]
    if 200 <= r.status_code < 300:
        write.outcome = "acked"
    elif 400 <= r.status_code < 500:
        write.outcome = "refused"
    elif r.status_code == 503:
        write.outcome = "unknown"  # written whole or not at all (api/limits.py)
    else:
        write.outcome = "error"
    return True


class Network:
    """The stored network's parts the writers pick from."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        top = [d for d in doc["ducts"] if not d.get("within")]
        self.ducts = {d["id"]: d for d in top}
        self.at: dict[str, list[str]] = defaultdict(list)
        for d in top:
            self.at[d["from"]].append(d["id"])
            self.at[d["to"]].append(d["id"])
        self.structures = {s["id"]: s for s in doc["structures"]}
        self.onts = [o["id"] for o in doc["onts"]]

    def route(self, rng: random.Random) -> list[str]:
        """1 to 3 consecutive ducts (each shares a structure with the one before)."""
        first = rng.choice(sorted(self.ducts))
        route = [first]
        end = self.ducts[first][rng.choice(("from", "to"))]
        for _ in range(rng.randint(0, 2)):
            options = [d for d in self.at[end] if d not in route]
            if not options:
                break
            nxt = rng.choice(sorted(options))
            route.append(nxt)
            duct = self.ducts[nxt]
            end = duct["to"] if duct["from"] == end else duct["from"]
        return route


class Writer(threading.Thread):
    """A stream of random writes until the server dies or ``stop`` is set."""

    def __init__(self, name: str, base_url: str, token: str, net: Network, ledger: Ledger,
                 rng: random.Random, onts: list[str], structures: list[str],
                 held: list[str], stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.tag, self.base_url, self.token = name, base_url, token
        self.net, self.ledger, self.rng = net, ledger, rng
        self.onts, self.structures, self.held, self.stop = onts, structures, held, stop
        self.count = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30,
                          headers={"Authorization": f"Bearer {self.token}"}) as client:
            while not self.stop.is_set():
                if not self.step(client):
                    return

    def step(self, client: httpx.Client) -> bool:
        self.count += 1
        roll = self.rng.random()
        if roll < 0.35 or (roll < 0.65 and not self.held):
            ident = f"R-{self.tag}-{self.count}"
            body = {"id": ident, "operator": "vnpt", "ducts": self.net.route(self.rng),
                    "outer_diameter_mm": DIAMETER_MM}
            w = self.ledger.add(Write("reserve", ident, body))
            alive = _send(client, w, "POST", "/reservations", json=body)
            if w.outcome == "acked":
                self.held.append(ident)
            return alive
        if roll < 0.65:
            ident = self.held.pop(self.rng.randrange(len(self.held)))
            kind = "confirm" if roll < 0.5 else "cancel"
            w = self.ledger.add(Write(kind, ident, {}))
            return _send(client, w, "POST", f"/reservations/{ident}/{kind}")
        if roll < 0.85:
            ont = self.rng.choice(self.onts)
            try:
                got = client.get(f"/onts/{ont}")
            except httpx.HTTPError:
                return False
            if got.status_code != 200:  # a read that failed: reported with the writes
                self.ledger.add(Write("read", ont, {}, "error", got.status_code, got.text[:500]))
                return True
            version = int(got.headers["ETag"].strip('"'))
            body = {"version": version, "customer": f"customer {self.tag}-{self.count}"}
            w = self.ledger.add(Write("edit", ont, body))
            return _send(client, w, "PATCH", f"/onts/{ont}", json=body)
        ident = self.rng.choice(self.structures)
        s = self.net.structures[ident]
        lon = round(s["lon"] + self.rng.uniform(-2e-4, 2e-4), 7)
        feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, s["lat"]]},
                   "properties": {k: s.get(k) for k in ("id", "kind", "zone", "name")}}
        w = self.ledger.add(Write("merge", ident, {"lon": lon}))
        return _send(client, w, "POST", "/import/geojson", params={"replace": "true"},
                     content=json.dumps({"type": "FeatureCollection", "features": [feature]}),
                     headers={"Content-Type": "application/geo+json"})


# --------------------------------------------------------------------------- what is stored


def _stored(engine: Engine) -> dict[str, Any]:
    """Everything the checks compare, read in one go."""
    from ponmodel import audit

    r, rd = ReservationTable.__table__, ReservationDuctTable.__table__
    cd, el = CableDuctTable.__table__, ElementTable.__table__
    with engine.connect() as conn:
        reservations = {row["id"]: dict(row) for row in conn.execute(select(r)).mappings()}
        routes: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for res, pos, duct in conn.execute(select(rd.c.reservation_id, rd.c.position,
                                                  rd.c.duct_id)):
            routes[res].append((pos, duct))
        cables: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for cable, pos, duct in conn.execute(select(cd.c.cable_id, cd.c.position, cd.c.duct_id)):
            cables[cable].append((pos, duct))
        versions = dict(conn.execute(select(el.c.id, el.c.version)).all())
        kinds = dict(conn.execute(select(el.c.id, el.c.kind)).all())
        customers = dict(conn.execute(select(OntTable.__table__.c.id,
                                             OntTable.__table__.c.customer)).all())
        lons = dict(conn.execute(select(StructureTable.__table__.c.id,
                                        StructureTable.__table__.c.lon)).all())
        net = conn.execute(select(NetworkTable.__table__)).mappings().one()
    return {"reservations": reservations, "routes": routes, "cables": cables,
            "versions": versions, "kinds": kinds, "customers": customers, "lons": lons,
            "revision": net["revision"], "reservations_revision": net["reservations_revision"],
            "audit": list(reversed(audit.list_entries(engine, limit=1_000_000)))}


def _in_order(pairs: list[tuple[int, str]]) -> tuple[list[str], bool]:
    """The ids in position order, and whether the positions are exactly 0..n-1."""
    pairs = sorted(pairs)
    return [d for _, d in pairs], [p for p, _ in pairs] == list(range(len(pairs)))


def check(engine: Engine, ledger: Ledger) -> list[str]:
    """Every way the database disagrees with the answers the clients got."""
    s = _stored(engine)
    problems = [f"{w.kind} {w.target} answered {w.status}: {w.answer[:300]}"
                for w in ledger.writes if w.outcome == "error"]
    entries: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for e in s["audit"]:
        entries[(e["action"], e["element_id"])].append(e)

    # reservations: whole, with what was acknowledged
    sent = {w.target: w for w in ledger.of("reserve")}
    for ident, row in s["reservations"].items():
        route, contiguous = _in_order(s["routes"].get(ident, []))
        w = sent.get(ident)
        if w is None:
            problems.append(f"reservation {ident} stored but never sent")
            continue
        if not contiguous or route != w.payload["ducts"]:
            problems.append(f"reservation {ident} half-written: ducts {route} "
                            f"(positions contiguous: {contiguous}), sent {w.payload['ducts']}")
        if w.outcome == "refused":
            problems.append(f"reservation {ident} stored although refused ({w.status})")
        if len(entries[("reserve", ident)]) != 1:
            problems.append(f"reservation {ident}: {len(entries[('reserve', ident)])} "
                            "reserve entries in the audit log")
        cable = s["cables"].get(f"CB-{ident}")
        confirmed = row["status"] == "confirmed"
        if confirmed != (cable is not None) or confirmed != bool(entries[("confirm", ident)]):
            problems.append(f"reservation {ident} is {row['status']} but its cable "
                            f"{'exists' if cable else 'does not'} and "
                            f"{len(entries[('confirm', ident)])} confirm entries")
        if cable is not None:
            cable_route, ok = _in_order(cable)
            if not ok or cable_route != route:
                problems.append(f"cable CB-{ident} route {cable_route} != reservation's {route}")
            if s["versions"].get(f"CB-{ident}") != 1:
                problems.append(f"cable CB-{ident} at version {s['versions'].get(f'CB-{ident}')}")
        if (row["status"] == "cancelled") != bool(entries[("cancel", ident)]):
            problems.append(f"reservation {ident} is {row['status']} with "
                            f"{len(entries[('cancel', ident)])} cancel entries")
    orphans = set(s["routes"]) - set(s["reservations"])
    if orphans:
        problems.append(f"reservation ducts without a reservation: {sorted(orphans)[:5]}")
    for w in ledger.of("reserve"):
        if w.outcome == "acked" and w.target not in s["reservations"]:
            problems.append(f"acknowledged reservation {w.target} lost")
    for kind, status in (("confirm", "confirmed"), ("cancel", "cancelled")):
        for w in ledger.of(kind):
            stored = s["reservations"].get(w.target, {}).get("status")
            if w.outcome == "acked" and stored != status:
                problems.append(f"acknowledged {kind} of {w.target} lost: it is {stored}")
            if w.outcome == "refused" and stored == status:
                problems.append(f"refused {kind} of {w.target} was written")
    for e in s["audit"]:
        if e["kind"] == "reservation" and e["element_id"] not in s["reservations"]:
            problems.append(f"audit entry {e['action']} {e['element_id']} without its change")

    # ONT edits and structure moves: versions, audit entries and stored values agree
    for kind, stored_value, key in (("edit", s["customers"], "customer"),
                                    ("merge", s["lons"], "lon")):
        by_target: dict[str, list[Write]] = defaultdict(list)
        for w in ledger.of(kind):
            by_target[w.target].append(w)
        for ident, writes in by_target.items():
            logged = entries[("edit", ident)]
            values = [e["after"][key] for e in logged]
            version = s["versions"][ident]
            if version != 1 + len(logged):
                problems.append(f"{ident} at version {version} with {len(logged)} edit entries")
            if logged and stored_value[ident] != values[-1]:
                problems.append(f"{ident}: stored {key} {stored_value[ident]!r}, last entry "
                                f"{values[-1]!r}")
            sent_values = {w.payload[key] for w in writes if w.outcome in ("acked", "unknown")}
            for w in writes:
                if w.outcome == "acked" and w.payload[key] not in values:
                    problems.append(f"acknowledged {kind} of {ident} ({w.payload[key]!r}) lost")
                if w.outcome == "acked" and kind == "edit" and version < w.payload["version"] + 1:
                    problems.append(f"{ident} at version {version} below an acknowledged "
                                    f"edit's {w.payload['version'] + 1}")
            for v in values:
                if v not in sent_values:
                    problems.append(f"{ident}: audit entry {key} {v!r} was never acknowledged "
                                    "nor in flight")

    # revisions: one per element-changing entry, one per reservation entry
    from ponmodel.audit import ELEMENT_ACTIONS

    changing = [e for e in s["audit"] if e["action"] in ELEMENT_ACTIONS]
    if s["revision"] != len(changing):
        problems.append(f"network revision {s['revision']} with {len(changing)} "
                        "element-changing audit entries")
    held = [e for e in s["audit"] if e["action"] in ("reserve", "confirm", "cancel")]
    if s["reservations_revision"] != 1 + len(held):
        problems.append(f"reservations revision {s['reservations_revision']} with "
                        f"{len(held)} reservation entries (+1 of the import)")
    return problems


# --------------------------------------------------------------------------- the test


def _seed() -> int:
    given = os.environ.get("PONMODEL_FAULTS_SEED")
    return int(given) if given else random.SystemRandom().randrange(2**32)


def _warm_up(base_url: str, token: str, net: Network) -> None:
    """Reads first: a fresh server's first requests each take a few tenths of a second
    (modules imported, connections opened), which would leave early kills nothing to cut."""
    with httpx.Client(base_url=base_url, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        for path in (f"/onts/{net.onts[0]}", "/reservations", f"/structures/{min(net.structures)}",
                     f"/ducts/{min(net.ducts)}"):
            r = client.get(path)
            assert r.status_code == 200, r.text


def test_kill_during_small_writes_loses_nothing_acknowledged(
    database_url: str, server_factory: Any, tmp_path: Path
) -> None:
    seed = _seed()
    rng = random.Random(seed)
    doc = generate_network(300, seed=1)
    engine = make_engine(database_url)
    migrate(engine)
    import_document(engine, doc)
    _, token = create_key(engine, role="admin", name="kill writes")
    engine.dispose()
    net = Network(doc)
    ledger = Ledger()
    ont_parts = [net.onts[i::WRITERS] for i in range(WRITERS)]
    structures = sorted(net.structures)
    structure_parts = [structures[i::WRITERS] for i in range(WRITERS)]
    held: list[list[str]] = [[] for _ in range(WRITERS)]
    kills = []
    kinds = ("reserve", "confirm", "cancel", "edit", "merge")

    def acknowledged() -> dict[str, int]:
        return {k: sum(1 for w in ledger.of(k) if w.outcome == "acked") for k in kinds}

    for round_ in range(ROUNDS + EXTRA_ROUNDS):
        if round_ >= ROUNDS and all(acknowledged().values()):
            break
        server = server_factory(database_url)
        _warm_up(server.base_url, token, net)
        stop = threading.Event()
        writers = [Writer(f"{round_}{i}", server.base_url, token, net, ledger,
                          random.Random(rng.random()), ont_parts[i], structure_parts[i],
                          held[i], stop) for i in range(WRITERS)]
        for w in writers:
            w.start()
        pause = rng.uniform(*KILL_AFTER_S)
        time.sleep(pause)
        in_flight = sum(1 for w in ledger.writes if w.outcome == "pending")
        server.kill()
        stop.set()
        for w in writers:
            w.join(60)
            assert not w.is_alive(), "a writer hung after the kill"
        kills.append(f"round {round_}: killed after {pause:.2f} s, {in_flight} writes in "
                     f"flight, {len(ledger.writes)} sent so far")
        for w in ledger.writes:
            if w.outcome == "pending":  # its thread stopped before sending
                w.outcome = "unknown"
        engine = make_engine(database_url)  # SQLite recovers its log on opening
        problems = check(engine, ledger)
        engine.dispose()
        assert problems == [], (f"seed {seed}; {'; '.join(kills)}\n" + "\n".join(problems[:30]))
        assert not server.tracebacks(), server.tracebacks()[-3000:]

    outcomes = {k: sum(1 for w in ledger.writes if w.outcome == k)
                for k in ("acked", "refused", "unknown")}
    assert all(acknowledged().values()), \
        f"some kind of write was never acknowledged: {acknowledged()}; {'; '.join(kills)}"
    assert outcomes["unknown"] >= 1, f"no write was cut by a kill: {outcomes}"

    # the restarted server serves a network that validates, the one the library reads
    engine = make_engine(database_url)
    expected = canonical(load_document(export_document(engine)))
    engine.dispose()
    server = server_factory(database_url)
    r = httpx.get(f"{server.base_url}/export", timeout=60,
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    assert canonical(load_document(r.json())) == expected
    r = httpx.get(f"{server.base_url}/reservations", timeout=60,
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    acked = {w.target for w in ledger.of("reserve") if w.outcome == "acked"}
    assert acked <= {x["id"] for x in r.json()}
    server.stop()
    assert not server.tracebacks(), server.tracebacks()[-3000:]
