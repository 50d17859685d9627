"""ONT edits: optimistic locking (409 on a stale version, no lost update under concurrent
writers on both databases, with the scope checked first), merge-patch semantics,
validation naming the field."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ponmodel.edits import edit_ont
from ponmodel.errors import StaleVersionError
from ponmodel.storage import checksum, export_with, import_document, read_elements
from tests.api.conftest import admin_client
from tests.conftest import fixture_doc


@pytest.fixture
def tiny(engine: Engine) -> Engine:
    import_document(engine, fixture_doc("tiny.json"))
    return engine


def _etag(client: TestClient, ont_id: str) -> int:
    return int(client.get(f"/onts/{ont_id}").headers["etag"].strip('"'))


def test_an_edit_raises_the_version_and_a_stale_one_is_409(tiny: Engine) -> None:
    with admin_client(tiny) as c:
        assert _etag(c, "ONT-01") == 1
        r = c.patch("/onts/ONT-01", json={"version": 1, "customer": "Canon Việt Nam"})
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2 and r.headers["etag"] == '"2"'
        assert c.get("/onts/ONT-01").json()["customer"] == "Canon Việt Nam"
        before = checksum(tiny)
        stale = c.patch("/onts/ONT-01", json={"version": 1, "customer": "lost update"})
        assert stale.status_code == 409
        assert stale.json()["detail"].startswith("'ONT-01' is at version 2, the edit was "
                                                 "based on version 1")
        assert checksum(tiny) == before
        assert c.get("/onts/ONT-01").json()["customer"] == "Canon Việt Nam"


def test_service_merges_and_the_budget_sees_the_edit_at_once(tiny: Engine) -> None:
    with admin_client(tiny) as c:
        old = c.get("/onts/ONT-01").json()["service"]
        assert c.get("/capacity/onts/ONT-01").json()["down"]["max_mbps"] == 10000.0  # cached
        r = c.patch("/onts/ONT-01", json={"version": 1, "service": {"down": {"max_mbps": 5000}}})
        assert r.status_code == 200, r.text
        new = r.json()["element"]["service"]
        assert new["down"]["max_mbps"] == 5000
        assert new["up"] == old["up"]  # merge patch: the other direction is untouched
        assert {k: v for k, v in new["down"].items() if k != "max_mbps"} == \
            {k: v for k, v in old["down"].items() if k != "max_mbps"}
        down = c.get("/capacity/onts/ONT-01").json()["down"]
        assert down["max_mbps"] == 5000.0  # the cached figures caught up
        assert down["peak_mbps"] <= 5000.0  # was 8,091 with a 10,000 cap
        assert c.get("/capacity", params={"zone": "thang-long-iz"}).status_code == 200
        r = c.patch("/onts/ONT-02", json={"version": 1, "service": {"up": {"max_mbps": 700}}})
        assert r.status_code == 200, r.text
        refreshed = [c.get("/capacity", params=p).json()
                     for p in ({}, {"zone": "thang-long-iz"})]
        summary = c.get("/capacity/summary").json()
    with admin_client(tiny) as fresh:  # a new cache computes everything from the database
        assert refreshed == [fresh.get("/capacity", params=p).json()
                             for p in ({}, {"zone": "thang-long-iz"})]
        assert summary == fresh.get("/capacity/summary").json()


@pytest.mark.parametrize(("body", "pointer"), [
    ({"structure": "NO-SUCH"}, "/structure"),
    ({"structure": "EX-01-DOES-NOT-EXIST"}, "/structure"),
    ({"service": {"up": {"max_mbps": 1, "assured_mbps": 100}}}, "/service/up/max_mbps"),
    ({"service": {"down": {"max_mbps": -5}}}, "/service/down/max_mbps"),
    ({"onu_tx_dbm": {"min": 9.0, "max": 4.0}}, "/onu_tx_dbm"),
])
def test_a_bad_edit_is_422_naming_the_field_and_writes_nothing(
        tiny: Engine, body: dict[str, object], pointer: str) -> None:
    with admin_client(tiny) as c:
        before = checksum(tiny)
        r = c.patch("/onts/ONT-01", json={"version": 1, **body})
        assert r.status_code == 422, r.text
        errors = r.json()["errors"]
        assert [e["pointer"] for e in errors] == [pointer]
        assert errors[0]["element_id"] == "ONT-01"
        assert checksum(tiny) == before
        assert _etag(c, "ONT-01") == 1  # the version did not move either


def test_unknown_fields_and_wrong_ids(tiny: Engine) -> None:
    with admin_client(tiny) as c:
        assert c.patch("/onts/ONT-01", json={"version": 1, "id": "X"}).status_code == 422
        # neither If-Match nor the older body version: 428 Precondition Required (RFC 6585)
        assert c.patch("/onts/ONT-01", json={"customer": "no version"}).status_code == 428
        assert c.patch("/onts/NO-SUCH", json={"version": 1}).status_code == 404
        assert c.patch("/onts/SP-01", json={"version": 1}).status_code == 404  # not an ONT


def test_concurrent_edits_of_one_ont_lose_no_update(tiny: Engine) -> None:
    # 8 writers each read version 1 and write: exactly one wins, 7 get StaleVersionError,
    # and the stored customer is the winner's (on SQLite and on PostgreSQL).
    writers = 8
    barrier = threading.Barrier(writers)
    results: list[str] = []
    lock = threading.Lock()

    def write(i: int) -> None:
        barrier.wait()
        try:
            edit_ont(tiny, "ONT-02", {"customer": f"writer {i}"}, expected_version=1)
            outcome = f"won {i}"
        except StaleVersionError as exc:
            assert (exc.sent, exc.current) == (1, 2)
            outcome = "stale"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [r for r in results if r.startswith("won")]
    assert len(results) == writers and len(winners) == 1
    with tiny.connect() as conn:
        (ont,), _ = read_elements(conn, "ont", ids=["ONT-02"])
    assert ont["customer"] == f"writer {winners[0].split()[1]}"


def test_concurrent_edits_with_the_scope_checked_first_still_have_one_winner(
        engine: Engine) -> None:
    # 8 VNPT planners and 8 Viettel planners edit VNPT's ONT-01 at version 1 at once: the
    # scope check (plain reads) runs before the version check takes the row's lock, and
    # still exactly one VNPT writer wins, 7 are stale, and every Viettel writer finds no
    # such ONT (on SQLite and on PostgreSQL).
    from ponmodel.access import Principal
    from ponmodel.errors import NotFoundError

    import_document(engine, fixture_doc("two_operators_shared_duct.json"))
    planners = {op: Principal(f"k-{op}", f"{op} planning", "planner", op)
                for op in ("vnpt", "viettel")}
    writers = [("vnpt", i) for i in range(8)] + [("viettel", i) for i in range(8)]
    barrier = threading.Barrier(len(writers))
    results: list[tuple[str, str]] = []
    lock = threading.Lock()

    def write(op: str, i: int) -> None:
        barrier.wait()
        try:
            edit_ont(engine, "ONT-01", {"customer": f"{op} {i}"}, expected_version=1,
                     actor=planners[op])
            outcome = f"won {i}"
        except StaleVersionError as exc:
            assert (exc.sent, exc.current) == (1, 2)
            outcome = "stale"
        except NotFoundError as exc:
            assert str(exc) == "no ont with id 'ONT-01'"
            outcome = "not found"
        with lock:
            results.append((op, outcome))

    threads = [threading.Thread(target=write, args=w) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(o for op, o in results if op == "viettel") == ["not found"] * 8
    vnpt = sorted(o for op, o in results if op == "vnpt")
    assert len(vnpt) == 8 and vnpt[-1].startswith("won") and vnpt[:-1] == ["stale"] * 7
    with engine.connect() as conn:
        (ont,), _ = read_elements(conn, "ont", ids=["ONT-01"])
    assert ont["customer"] == f"vnpt {vnpt[-1].split()[1]}"


def test_the_cache_replays_an_edit_to_what_a_rebuild_reads(engine: Engine) -> None:
    from ponmodel.api.deps import TopologyCache
    from ponmodel.scope import redact
    from ponmodel.storage import export_with
    from ponmodel.topology.build import subset_for_zone

    import_document(engine, fixture_doc("two_operators_shared_duct.json"))
    cache, zone = TopologyCache(), "sai-dong-b-iz"

    def views() -> list[Any]:
        with engine.connect() as conn:
            return [cache.get(conn), cache.get(conn, zone), cache.get(conn, None, "vnpt"),
                    cache.get(conn, zone, "vnpt")]

    def fresh() -> list[Any]:
        with engine.connect() as conn:
            doc = export_with(conn)
        return [doc, subset_for_zone(doc, zone), redact(doc, "vnpt"),
                subset_for_zone(redact(doc, "vnpt"), zone)]

    graphs = [t.pon for t in views()]
    edit_ont(engine, "ONT-01", {"customer": "Renamed", "kind": "residential",
                                "service": {"down": {"max_mbps": 2500}}}, expected_version=1)
    replayed = views()
    assert [t.pon for t in replayed] == graphs  # the same graphs: replayed, not rebuilt
    assert all(a is b for a, b in zip((t.pon for t in replayed), graphs, strict=True))
    assert [t.doc for t in replayed] == fresh()
    assert replayed[0].pon.nodes[("ont", "ONT-01")]["kind"] == "residential"
    assert replayed[0].element("ONT-01")[1]["customer"] == "Renamed"
    # moving an ONT to another structure changes the physical picture: a full rebuild
    edit_ont(engine, "ONT-01", {"structure": "BLD-02"}, expected_version=2)
    rebuilt = views()
    assert rebuilt[0].pon is not graphs[0]
    assert [t.doc for t in rebuilt] == fresh()


def test_an_edit_keeps_the_cached_values_that_read_none_of_its_fields(engine: Engine) -> None:
    from ponmodel.api.deps import TopologyCache
    from ponmodel.topology.budget import ONT_FIELDS_READ as BUDGET_READS
    from ponmodel.topology.budget import network_budget
    from ponmodel.topology.capacity import ONT_FIELDS_READ as CAPACITY_READS
    from ponmodel.topology.capacity import network_capacity

    import_document(engine, fixture_doc("tiny.json"))
    cache = TopologyCache()
    calls: list[str] = []

    def values() -> tuple[Any, Any, Any]:
        def budget(topo: Any) -> Any:
            calls.append("budget")
            return network_budget(topo.doc)

        def capacity(topo: Any) -> Any:
            calls.append("capacity")
            return network_capacity(topo.doc)

        def everything(topo: Any) -> Any:
            calls.append("everything")
            return [o.get("customer") for o in topo.doc["onts"]]

        with engine.connect() as conn:
            return (cache.memo(conn, "budget", budget, ont_fields=BUDGET_READS),
                    cache.memo(conn, "capacity", capacity, ont_fields=CAPACITY_READS),
                    cache.memo(conn, "everything", everything))

    first = values()
    assert calls == ["budget", "capacity", "everything"]
    calls.clear()
    edit_ont(engine, "ONT-01", {"customer": "Renamed"}, expected_version=1)
    renamed = values()
    assert calls == ["everything"]  # budget and capacity read no customer: kept
    assert renamed[0] is first[0] and renamed[1] is first[1]
    assert renamed[2][0] == "Renamed"
    calls.clear()
    edit_ont(engine, "ONT-01", {"service": {"down": {"max_mbps": 2500}}}, expected_version=2)
    reprofiled = values()
    assert calls == ["capacity", "everything"]  # the budget reads no service
    assert reprofiled[0] is first[0]
    assert reprofiled[1].ont("ONT-01").down.max_mbps == 2500.0
    calls.clear()
    edit_ont(engine, "ONT-01", {"onu_rx_sensitivity_dbm": -20.0}, expected_version=3)
    values()
    assert calls == ["budget", "capacity", "everything"]


def test_a_service_edit_refreshes_the_cached_capacity_instead_of_recomputing(
        engine: Engine) -> None:
    from ponmodel.api.deps import Refresh, TopologyCache
    from ponmodel.topology.capacity import ONT_FIELDS_READ as CAPACITY_READS
    from ponmodel.topology.capacity import SERVICE_FIELDS, network_capacity, refresh_services
    from ponmodel.topology.pack import pack_forest

    import_document(engine, fixture_doc("tiny.json"))
    cache = TopologyCache()
    calls: list[tuple[str, frozenset[str]]] = []

    def capacity() -> Any:
        def compute(topo: Any) -> Any:
            calls.append(("compute", frozenset()))
            return network_capacity(topo.doc)

        def refreshed(value: Any, topo: Any, edited: frozenset[str]) -> Any:
            calls.append(("refresh", edited))
            onts = {o["id"]: o for o in topo.doc["onts"]}
            return refresh_services(value, pack_forest(topo.doc), onts, edited)

        with engine.connect() as conn:
            return cache.memo(conn, "capacity", compute, ont_fields=CAPACITY_READS,
                              refresh=Refresh(SERVICE_FIELDS, refreshed))

    def fresh() -> Any:
        with engine.connect() as conn:
            return network_capacity(export_with(conn)).as_dict()

    def catch_up() -> None:  # another route's reader: the cache replays, capacity unread
        with engine.connect() as conn:
            cache.get(conn)

    first = capacity()
    assert calls == [("compute", frozenset())]
    calls.clear()
    edit_ont(engine, "ONT-01", {"service": {"down": {"max_mbps": 2500}}}, expected_version=1)
    catch_up()
    edit_ont(engine, "ONT-02", {"service": {"up": {"max_mbps": 900}}}, expected_version=1)
    edit_ont(engine, "ONT-02", {"customer": "Renamed"}, expected_version=2)  # not read
    catch_up()
    second = capacity()
    # the edits of both replays, caught up with at once by the next reader
    assert calls == [("refresh", frozenset({"ONT-01", "ONT-02"}))]
    assert second.as_dict() == fresh()
    assert second.ont("ONT-01").down.max_mbps == 2500.0
    assert first.ont("ONT-01").down.max_mbps == 10000.0  # a reader of the old one keeps it
    calls.clear()
    assert capacity() is second and calls == []  # caught up: kept as it is
    # a service and a kind edit in one replay: the kind is no service, so computed again
    edit_ont(engine, "ONT-02", {"service": {"up": {"max_mbps": 800}}}, expected_version=3)
    edit_ont(engine, "ONT-01", {"kind": "residential"}, expected_version=2)
    third = capacity()
    assert calls == [("compute", frozenset())]
    assert third.ont("ONT-01").kind == "residential" and third.as_dict() == fresh()


def test_a_refresh_overtaken_by_an_edit_is_not_kept_and_a_failed_one_is_retried(
        engine: Engine) -> None:
    from ponmodel.api.deps import Refresh, TopologyCache
    from ponmodel.topology.capacity import ONT_FIELDS_READ as CAPACITY_READS
    from ponmodel.topology.capacity import SERVICE_FIELDS, network_capacity, refresh_services
    from ponmodel.topology.pack import pack_forest

    import_document(engine, fixture_doc("tiny.json"))
    cache = TopologyCache()
    entered, release = threading.Event(), threading.Event()
    calls: list[frozenset[str]] = []
    fail = [False]

    def refreshed(value: Any, topo: Any, edited: frozenset[str]) -> Any:
        calls.append(edited)
        if fail[0]:
            msg = "refresh failed"
            raise RuntimeError(msg)
        if len(calls) == 1:  # the first refresh waits while another edit lands
            entered.set()
            release.wait(30)
        onts = {o["id"]: o for o in topo.doc["onts"]}
        return refresh_services(value, pack_forest(topo.doc), onts, edited)

    def capacity() -> Any:
        with engine.connect() as conn:
            return cache.memo(conn, "capacity", lambda topo: network_capacity(topo.doc),
                              ont_fields=CAPACITY_READS, refresh=Refresh(SERVICE_FIELDS, refreshed))

    def fresh() -> Any:
        with engine.connect() as conn:
            return network_capacity(export_with(conn)).as_dict()

    capacity()
    edit_ont(engine, "ONT-01", {"service": {"down": {"max_mbps": 2500}}}, expected_version=1)
    answers: list[Any] = []
    slow = threading.Thread(target=lambda: answers.append(capacity()))
    slow.start()
    assert entered.wait(30)
    edit_ont(engine, "ONT-02", {"service": {"down": {"max_mbps": 900}}}, expected_version=1)
    with engine.connect() as conn:
        cache.get(conn)  # the cache moves on while the first refresh is under way
    release.set()
    slow.join(30)
    assert answers[0].ont("ONT-01").down.max_mbps == 2500.0  # its reader gets its answer ...
    latest = capacity()  # ... but it is not kept: the next reader catches up with both edits
    assert calls == [frozenset({"ONT-01"}), frozenset({"ONT-01", "ONT-02"})]
    assert latest.as_dict() == fresh()
    edit_ont(engine, "ONT-03", {"service": {"up": {"max_mbps": 7000}}}, expected_version=1)
    fail[0] = True
    with pytest.raises(RuntimeError, match="refresh failed"):
        capacity()
    fail[0] = False
    assert capacity().as_dict() == fresh()  # still marked stale: the next reader refreshes
    assert calls[-2:] == [frozenset({"ONT-03"})] * 2


def test_an_operators_scoped_capacity_catches_up_with_a_service_edit(engine: Engine) -> None:
    from ponmodel.api.main import create_app
    from ponmodel.settings import Settings
    from tests.api.conftest import key_headers

    import_document(engine, fixture_doc("two_operators_shared_duct.json"))
    vnpt = key_headers(engine, "planner", "vnpt")
    zone = {"zone": "sai-dong-b-iz"}

    def planner() -> TestClient:
        return TestClient(create_app(Settings(database_url="sqlite://"), engine=engine),
                          headers=vnpt)

    with planner() as c:
        before = [c.get("/capacity", params=p).json() for p in ({}, zone)]
        ours = [o["id"] for o in before[0]["onts"]]
        edited = ours[0]
        version = int(c.get(f"/onts/{edited}").headers["etag"].strip('"'))
        r = c.patch(f"/onts/{edited}",
                    json={"version": version, "service": {"down": {"max_mbps": 1234}}})
        assert r.status_code == 200, r.text
        after = [c.get("/capacity", params=p).json() for p in ({}, zone)]
    assert [o["id"] for o in after[0]["onts"]] == ours  # still only VNPT's ONTs
    assert next(o for o in after[0]["onts"] if o["id"] == edited)["down"]["max_mbps"] == 1234
    with planner() as fresh:  # a new cache computes the scoped reports from the database
        assert after == [fresh.get("/capacity", params=p).json() for p in ({}, zone)]


def test_readers_asking_at_once_compute_a_value_once(engine: Engine) -> None:
    from ponmodel.api.deps import TopologyCache

    import_document(engine, fixture_doc("tiny.json"))
    cache = TopologyCache()
    with engine.connect() as conn:
        cache.get(conn)  # the topology built; the value below is what they race for
    started, release = threading.Event(), threading.Event()
    computed: list[int] = []
    answers: list[Any] = []

    def slow(topo: Any) -> Any:
        computed.append(1)
        started.set()
        release.wait(30)
        return len(topo.doc["onts"])

    def reader() -> None:
        with engine.connect() as conn:
            answers.append(cache.memo(conn, "slow", slow))

    threads = [threading.Thread(target=reader) for _ in range(6)]
    threads[0].start()
    assert started.wait(30)
    for t in threads[1:]:
        t.start()
    time.sleep(0.3)  # the five others are waiting on the first one's computation
    release.set()
    for t in threads:
        t.join(30)
    assert computed == [1] and answers == [3] * 6


def test_a_failed_computation_is_raised_and_not_kept(engine: Engine) -> None:
    from ponmodel.api.deps import TopologyCache

    import_document(engine, fixture_doc("tiny.json"))
    cache = TopologyCache()

    def broken(topo: Any) -> Any:
        msg = "broken"
        raise RuntimeError(msg)

    with engine.connect() as conn:
        for _ in range(2):  # not kept: the next reader computes again, and fails again
            with pytest.raises(RuntimeError, match="broken"):
                cache.memo(conn, "broken", broken)
        assert cache.memo(conn, "fine", lambda topo: 7) == 7


def test_a_rename_shows_in_impact_and_keeps_its_index(tiny: Engine) -> None:
    with admin_client(tiny) as c:
        before = c.get("/impact", params={"element": "SP-01"}).json()
        assert before["by_customer"]["Canon Vietnam (lô A1)"] == 1
        cache = c.app.state.topology_cache  # type: ignore[attr-defined]
        index = next(m.value for k, m in cache._memo.items() if k[0] == "impact")
        r = c.patch("/onts/ONT-01", json={"version": 1, "customer": "Canon Việt Nam"})
        assert r.status_code == 200, r.text
        after = c.get("/impact", params={"element": "SP-01"}).json()
        assert "Canon Vietnam (lô A1)" not in after["by_customer"]
        assert after["by_customer"]["Canon Việt Nam"] == 1
        assert after["onts"] == before["onts"] == ["ONT-01", "ONT-02", "ONT-03"]
        kept = next(m.value for k, m in cache._memo.items() if k[0] == "impact")
        assert kept is index  # the index reads no customer: the rename did not rebuild it
