"""The API skeleton: reads, bulk import/export, trace and reach, one error shape."""

from __future__ import annotations

from fastapi.testclient import TestClient

from ponmodel.document import canonical, load_document
from tests.conftest import fixture_doc

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


def _load(client: TestClient, name: str = "hanoi.json") -> dict:
    doc = fixture_doc(name)
    r = client.post("/import", json=doc)
    assert r.status_code == 200, r.text
    return doc


def test_zones_lists_the_hanoi_zones(client: TestClient) -> None:
    doc = _load(client)
    body = client.get("/zones", params={"limit": 1000}).json()
    assert body["total"] == len(doc["zones"])
    names = {z["name"] for z in body["items"]}
    assert {z["name"] for z in doc["zones"]} == names
    assert [z["id"] for z in body["items"]] == sorted(z["id"] for z in doc["zones"])


def test_pagination_and_filters(client: TestClient) -> None:
    doc = _load(client)
    ids = sorted(o["id"] for o in doc["onts"] if o["kind"] == "enterprise")
    r = client.get("/onts", params={"kind": "enterprise", "limit": 5, "offset": 10}).json()
    assert r["total"] == len(ids) and [o["id"] for o in r["items"]] == ids[10:15]
    assert (r["limit"], r["offset"]) == (5, 10)
    link = doc["links"][0]
    r = client.get("/links", params={"from": link["from"]}).json()
    assert link["id"] in {item["id"] for item in r["items"]}
    assert all(item["from"] == link["from"] for item in r["items"])


def test_bad_query_parameters_are_clear_problems(client: TestClient) -> None:
    for params in ({"limit": 0}, {"limit": 5000}, {"offset": -1}, {"colour": "red"}):
        r = client.get("/onts", params=params)
        assert r.status_code == 422, params
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert set(body) == PROBLEM_KEYS and body["errors"], params


def test_ids_with_slashes_and_unicode(client: TestClient) -> None:
    doc = _load(client)
    port = doc["olts"][0]["ports"][0]["id"]
    assert "/" in port
    r = client.get(f"/ports/{port}")
    assert r.status_code == 200 and r.json()["id"] == port
    assert r.json()["olt"] == doc["olts"][0]["id"]
    r = client.get("/zones/khu-công-nghệ-cao")
    assert r.status_code == 404 and r.json()["detail"] == "no zone with id 'khu-công-nghệ-cao'"


def test_import_of_a_bad_document_lists_every_problem_and_writes_nothing(
    client: TestClient,
) -> None:
    _load(client, "tiny.json")
    before = client.get("/export").json()
    bad = fixture_doc("two_operators_shared_duct.json")
    bad["links"][0]["length_m"] = 0
    bad["onts"][0]["structure"] = "NOWHERE"
    r = client.post("/import", params={"replace": "true"}, json=bad)
    assert r.status_code == 422
    body = r.json()
    assert body["type"] == "/problems/invalid-document"
    pointers = {e["pointer"] for e in body["errors"]}
    assert pointers == {"/links/0/length_m", "/onts/0/structure"}
    assert client.get("/export").json() == before


def test_import_needs_replace_over_a_stored_network(client: TestClient) -> None:
    _load(client, "tiny.json")
    r = client.post("/import", json=fixture_doc("gpon_legacy.json"))
    assert r.status_code == 409 and "replace" in r.json()["detail"]
    r = client.post("/import", params={"replace": "true"}, json=fixture_doc("gpon_legacy.json"))
    assert r.status_code == 200


def test_malformed_json_body(client: TestClient) -> None:
    r = client.post("/import", content=b'{"format": ', headers={"content-type": "application/json"})
    assert r.status_code == 422 and "not valid JSON" in r.json()["errors"][0]["message"]


def test_export_round_trips(client: TestClient) -> None:
    doc = _load(client, "two_operators_shared_duct.json")
    exported = client.get("/export").json()
    assert canonical(exported) == canonical(load_document(doc))


def test_trace_reach_through(client: TestClient) -> None:
    doc = _load(client)
    link = next(lk for lk in doc["links"] if any(o["id"] == lk["to"] for o in doc["onts"]))
    ont = link["to"]
    r = client.get(f"/trace/{ont}").json()
    assert r["ont"] == ont and r["hops"][-1]["link"] == link["id"]
    assert r["distance_m"] == r["hops"][-1]["distance_m"]
    port = r["port"]
    reach = client.get(f"/reach/{port}").json()
    assert ont in reach["onts"] and reach["count"] == len(reach["onts"])
    structure = doc["onts"][0]["structure"]
    assert doc["onts"][0]["id"] in client.get(f"/through/{structure}").json()["onts"]
    r = client.get("/trace/NOT-AN-ONT")
    assert r.status_code == 404 and set(r.json()) == PROBLEM_KEYS


def test_trace_sees_a_replaced_network(client: TestClient) -> None:
    _load(client, "tiny.json")
    assert client.get("/trace/ONT-01").status_code == 200
    client.post("/import", params={"replace": "true"}, json=fixture_doc("gpon_legacy.json"))
    gpon_ont = fixture_doc("gpon_legacy.json")["onts"][0]["id"]
    assert client.get(f"/trace/{gpon_ont}").status_code == 200
    if gpon_ont != "ONT-01":
        assert client.get("/trace/ONT-01").status_code == 404


def test_openapi_operation_ids_are_stable_and_unique(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    for expected in (
        "zones-list_zones",
        "onts-get_ont",
        "documents-import_document",
        "topology-trace_ont",
        "topology-reach",
    ):
        assert expected in ids
    assert "NetworkDocument" in spec["components"]["schemas"]


def test_schema_endpoint(client: TestClient) -> None:
    assert client.get("/schema").json()["properties"]["format"]["const"] == "ponmodel/1"
