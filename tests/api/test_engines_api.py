"""Budget, upgrade readiness, capacity, placement and what-if through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ponmodel.document import load_document
from ponmodel.topology.budget import network_budget
from ponmodel.topology.capacity import network_capacity
from tests.conftest import fixture_doc


def _load(client: TestClient, name: str) -> dict:
    doc = fixture_doc(name)
    assert client.post("/import", json=doc).status_code == 200
    return doc


def test_budget_matches_the_engine(client: TestClient) -> None:
    doc = _load(client, "hanoi.json")
    expected = network_budget(load_document(doc))
    body = client.get("/budget", params={"limit": 5}).json()
    assert body["onts_total"] == len(expected.onts)
    assert body["onts_within_budget"] == sum(o.ok for o in expected.onts)
    assert [o["id"] for o in body["onts"]] == [o.id for o in expected.onts[:5]]
    failing = client.get("/budget", params={"failing": "true", "limit": 10000}).json()
    assert failing["onts_total"] == sum(not o.ok for o in expected.onts)
    assert all(o["problems"] for o in failing["onts"])


def test_budget_of_a_zone_and_an_ont_with_hops(client: TestClient) -> None:
    doc = _load(client, "tiny.json")
    zone = doc["zones"][0]["id"]
    body = client.get("/budget", params={"zone": zone}).json()
    assert body["onts_total"] == len(doc["onts"])
    ont = doc["onts"][0]["id"]
    detail = client.get(f"/budget/onts/{ont}").json()
    # the last hop's running total is the ONT's loss, both ways
    assert detail["hops"][-1]["cum_loss_down_db"] == detail["downstream"]["loss_db"]
    assert detail["hops"][-1]["cum_loss_up_db"] == detail["upstream"]["loss_db"]
    assert detail["hops"][0]["kind"] == "port" and detail["hops"][-1]["node"] == ont
    running = 0.0
    for hop in detail["hops"]:
        running += hop["loss_down_db"]
        assert abs(running - hop["cum_loss_down_db"]) < 1e-9
    port = doc["olts"][0]["ports"][0]["id"]
    assert client.get(f"/budget/ports/{port}").json()["onts"] == len(doc["onts"])
    assert client.get("/budget/onts/NO-SUCH").status_code == 404


def test_upgrade_readiness(client: TestClient) -> None:
    _load(client, "gpon_legacy.json")
    body = client.get("/upgrade", params={"class": "N2"}).json()
    assert body["class"] == "N2" and body["ports"]
    assert {p["status"] for p in body["ports"]} <= {
        "ready", "needs E1", "needs E2", "needs re-engineering"}
    assert client.get("/upgrade", params={"class": "C+"}).status_code == 422


def test_capacity_matches_the_engine(client: TestClient) -> None:
    doc = _load(client, "hanoi.json")
    expected = network_capacity(load_document(doc))
    body = client.get("/capacity").json()
    assert len(body["onts"]) == len(expected.onts)
    ports = {p["id"]: p for p in body["ports"]}
    assert all(ports[p.id]["down"] == p.down.as_dict() for p in expected.ports)
    one = expected.onts[0]
    assert client.get(f"/capacity/onts/{one.id}").json()["down"] == one.down.as_dict()
    rows = client.get("/capacity/summary", params={"by": "operator"}).json()
    assert [r["operator"] for r in rows] == ["fpt", "viettel", "vnpt"]
    assert client.get("/capacity/summary", params={"by": "colour"}).status_code == 422


def test_tiny_allocation_by_hand(client: TestClient) -> None:
    _load(client, "tiny.json")
    onts = {o["id"]: o for o in client.get("/capacity").json()["onts"]}
    port = client.get("/capacity").json()["ports"][0]
    capacity = port["down"]["capacity_mbps"]
    # tiny: ONT-01 assured 1000 (non-assured up to 10000); ONT-02 best effort; ONT-03 fixed
    # 500 + assured 2000 (non-assured up to 10000). Guaranteed 1000 + 0 + 2500 = 3500; the rest
    # C − 3500 is split evenly between the two non-assured ONTs (both ask more); none is left
    # for best effort.
    share = (capacity - 3500.0) / 2
    assert abs(onts["ONT-01"]["down"]["full_load_mbps"] - (1000.0 + share)) < 1e-6
    assert abs(onts["ONT-03"]["down"]["full_load_mbps"] - (2500.0 + share)) < 1e-6
    assert onts["ONT-02"]["down"]["full_load_mbps"] == 0.0
    # ONT-01's peak: capped by C minus ONT-03's reserved fixed 500
    assert abs(onts["ONT-01"]["down"]["peak_mbps"] - (capacity - 500.0)) < 1e-6


def test_placement_and_what_if(client: TestClient) -> None:
    doc = _load(client, "tiny.json")
    before = client.get("/export").json()
    svc = {"down": {"assured_mbps": 100, "max_mbps": 1000},
           "up": {"assured_mbps": 100, "max_mbps": 1000}}
    building = doc["onts"][0]["structure"]
    body = client.post("/placement", json={"structure": building, "service": svc}).json()
    assert [c["splitter"] for c in body["candidates"]] == [doc["splitters"][0]["id"]]
    r = client.post("/placement", json={"structure": "NOWHERE", "service": svc})
    assert r.status_code == 404
    r = client.post("/placement", json={"structure": building, "service": svc, "colour": 1})
    assert r.status_code == 422
    gone = doc["onts"][1]["id"]
    body = client.post("/what-if", json={"remove": [gone]}).json()
    # what changes, not the whole network: the ONT gone, its port's load, the headline
    assert set(body) == {"difference"}
    diff = body["difference"]
    assert diff["onts_removed"] == [gone] and diff["onts_added"] == []
    assert diff["headline"]["onts_with_budget"] == {"before": 3, "after": 2, "change": -1}
    [port] = diff["ports"]
    # the removed ONT sold 1,000 Mbit/s max each way: 21,000 → 20,000 on its port
    assert port["change"]["sold_max_down_mbps"] == -1000.0
    assert (port["before"]["onts"], port["after"]["onts"]) == (3, 2)
    full = client.post("/what-if", params={"full": "true"}, json={"remove": [gone]}).json()
    assert gone not in {o["id"] for o in full["capacity"]["onts"]}
    assert full["difference"] == diff
    # a profile that breaks a rule is refused naming it
    svc_bad = {"down": {"assured_mbps": 2000, "max_mbps": 1000},
               "up": {"assured_mbps": 100, "max_mbps": 1000}}
    r = client.post("/what-if", json={"profile": {doc["onts"][0]["id"]: svc_bad}})
    assert r.status_code == 422 and r.json()["type"] == "/problems/invalid-value"
    assert "assured_mbps 2000 Mbit/s exceeds max_mbps 1000 Mbit/s" in r.json()["detail"]
    assert client.get("/export").json() == before  # nothing written
