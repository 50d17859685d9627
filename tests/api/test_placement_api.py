"""POST /placement: the cheapest connection first, and a service that breaks its rules
refused with 422 /problems/invalid-value naming the rule (issue 16, item 5)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import fixture_doc

FACTORY = {d: {"fixed_mbps": 0, "assured_mbps": 1000, "max_mbps": 10000} for d in ("down", "up")}


def test_hanoi_factory_gets_the_splitter_in_its_own_building_first(client: TestClient) -> None:
    assert client.post("/import", json=fixture_doc("hanoi.json")).status_code == 200
    r = client.post("/placement", json={"structure": "BLD-TL-0001", "service": FACTORY})
    assert r.status_code == 200
    body = r.json()
    assert body["ranked_by"] == ["new_trench_m", "drop_length_m", "-worst_headroom_db",
                                 "splitter"]
    first = body["candidates"][0]
    # Canon Vietnam (lô A1)'s own 1:8: a 20 m in-building drop, no duct, no trench
    assert (first["rank"], first["splitter"], first["drop_length_m"], first["new_trench_m"],
            first["drop_via_ducts"], first["drop_ducts"]) == (
        1, "SP-TL-0002", 20.0, 0.0, True, [])
    # then SP-TL-0007: DU-TL-0009 178.8 + DU-TL-0004 248.3 = 427.1 m of duct
    second = body["candidates"][1]
    assert (second["splitter"], second["drop_ducts"]) == ("SP-TL-0007",
                                                          ["DU-TL-0009", "DU-TL-0004"])
    assert abs(second["drop_length_m"] - 427.1) < 1e-9


def test_assured_above_max_is_422_naming_the_rule(client: TestClient) -> None:
    doc = fixture_doc("tiny.json")
    assert client.post("/import", json=doc).status_code == 200
    service = {"down": {"assured_mbps": 2000, "max_mbps": 1000},
               "up": {"assured_mbps": 100, "max_mbps": 1000}}
    r = client.post("/placement", json={"structure": doc["onts"][0]["structure"],
                                        "service": service})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    message = "service.down: assured_mbps 2000 Mbit/s exceeds max_mbps 1000 Mbit/s (assured ≤ max)"
    assert (body["type"], body["status"], body["detail"]) == ("/problems/invalid-value", 422,
                                                              message)
    assert [(e["pointer"], e["field"], e["message"]) for e in body["errors"]] == [
        ("/service/down/assured_mbps", "service.down.assured_mbps", message)]


def test_fixed_plus_assured_above_max_is_422_on_max(client: TestClient) -> None:
    doc = fixture_doc("tiny.json")
    assert client.post("/import", json=doc).status_code == 200
    service = {"down": {"assured_mbps": 100, "max_mbps": 1000},
               "up": {"fixed_mbps": 500, "assured_mbps": 800, "max_mbps": 1000}}
    r = client.post("/placement", json={"structure": doc["onts"][0]["structure"],
                                        "service": service})
    body = r.json()
    assert (r.status_code, body["type"]) == (422, "/problems/invalid-value")
    assert body["detail"] == ("service.up: fixed_mbps 500 + assured_mbps 800 = 1300 Mbit/s "
                              "exceeds max_mbps 1000 Mbit/s (fixed + assured ≤ max)")
    assert body["errors"][0]["pointer"] == "/service/up/max_mbps"


def test_a_negative_rate_is_refused_by_the_schema(client: TestClient) -> None:
    doc = fixture_doc("tiny.json")
    assert client.post("/import", json=doc).status_code == 200
    service = {"down": {"assured_mbps": -5, "max_mbps": 1000},
               "up": {"assured_mbps": 100, "max_mbps": 1000}}
    r = client.post("/placement", json={"structure": doc["onts"][0]["structure"],
                                        "service": service})
    body = r.json()
    assert (r.status_code, body["type"]) == (422, "/problems/invalid-request")
    assert body["errors"][0]["pointer"] == "/body/service/down/assured_mbps"
