"""Imports never delete what they do not name, and never reset versions (issue 14, item 3):
the probe's empty GeoJSON import that took every operator's reservations, and the version
reset that let a stale edit overwrite a newer one."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from ponmodel.elements import ElementTable
from ponmodel.storage import checksum
from tests.conftest import fixture_doc


def _versions(engine: Engine) -> dict[str, int]:
    table = ElementTable.__table__
    with engine.connect() as conn:
        return dict(conn.execute(select(table.c.id, table.c.version)).all())  # type: ignore[arg-type]


def _setup(client: TestClient) -> dict:
    doc = fixture_doc("tiny.json")
    assert client.post("/import", json=doc).status_code == 200
    r = client.post("/reservations", json={"operator": "vnpt", "ducts": ["DU-01"],
                                           "outer_diameter_mm": 12.0, "id": "R-KEEP"})
    assert r.status_code == 201, r.text
    return doc


def test_an_empty_geojson_import_changes_nothing(client: TestClient, engine: Engine) -> None:
    _setup(client)
    edited = client.patch("/onts/ONT-01", json={"version": 1, "customer": "Nhà máy B"})
    assert edited.status_code == 200
    before, versions = checksum(engine), _versions(engine)
    r = client.post("/import/geojson", params={"replace": "true"},
                    json={"type": "FeatureCollection", "features": []})
    assert r.status_code == 200, r.text
    assert r.json() == {"created": {}, "updated": {}, "unchanged": 6, "structures": 0,
                        "ducts": 0}  # tiny.json: 4 structures + 2 ducts, all unchanged
    assert checksum(engine) == before and _versions(engine) == versions
    assert [x["id"] for x in client.get("/reservations").json()] == ["R-KEEP"]
    assert _versions(engine)["ONT-01"] == 2  # the edit's version, not reset to 1


def test_a_geojson_move_bumps_only_the_moved_structure(client: TestClient,
                                                        engine: Engine) -> None:
    _setup(client)
    versions = _versions(engine)
    fc = client.get("/export/geojson").json()
    manhole = next(f for f in fc["features"] if f["id"] == "MH-01")
    manhole["geometry"]["coordinates"] = [105.7801, 21.1222]
    r = client.post("/import/geojson", params={"replace": "true"},
                    json={"type": "FeatureCollection", "features": [manhole]})
    assert r.status_code == 200, r.text
    # the other 3 structures and 2 ducts of tiny.json are left as they are
    assert (r.json()["updated"], r.json()["unchanged"]) == ({"structure": 1}, 5)
    after = _versions(engine)
    assert after.pop("MH-01") == versions.pop("MH-01") + 1
    assert after == versions  # every other element keeps its version
    assert client.get("/reservations/R-KEEP").json()["status"] == "reserved"
    entry = client.get("/audit", params={"element_id": "MH-01"}).json()[0]
    assert (entry["action"], entry["kind"]) == ("edit", "structure")
    assert (entry["before"]["lon"], entry["after"]["lon"]) == (105.7805, 105.7801)


def test_a_replace_import_keeps_reservations_and_raises_versions(client: TestClient,
                                                                 engine: Engine) -> None:
    doc = _setup(client)
    assert client.patch("/onts/ONT-01", json={"version": 1, "customer": "B"}).status_code == 200
    r = client.post("/import", params={"replace": "true"}, json=doc)
    assert r.status_code == 200, r.text
    assert [x["id"] for x in client.get("/reservations").json()] == ["R-KEEP"]
    versions = _versions(engine)
    assert versions["ONT-01"] == 3  # edited to 2, then rewritten by the import
    assert versions["MH-01"] == 2  # rewritten once
    # an edit based on the version read before the import is refused, not applied
    stale = client.patch("/onts/ONT-01", json={"version": 2, "customer": "C"})
    assert stale.status_code == 409
    assert client.get("/onts/ONT-01").json()["customer"] == doc["onts"][0]["customer"]


def test_a_replace_import_that_drops_a_reserved_duct_is_refused(client: TestClient,
                                                                engine: Engine) -> None:
    doc = _setup(client)
    before = checksum(engine)
    without = {**doc, "ducts": [d for d in doc["ducts"] if d["id"] != "DU-01"],
               "cables": [c for c in doc["cables"] if "DU-01" not in c["ducts"]]}
    kept = {x["id"] for x in without["cables"]}
    without["links"] = [{**link, "cables": [c for c in link.get("cables") or [] if c in kept]}
                        for link in doc["links"]]
    r = client.post("/import", params={"replace": "true"}, json=without)
    assert r.status_code == 409, r.text
    assert "1 active reservation(s)" in r.json()["detail"] and "'R-KEEP'" in r.json()["detail"]
    assert checksum(engine) == before
    # once cancelled, the reservation goes with its duct, named in the audit log
    assert client.post("/reservations/R-KEEP/cancel").status_code == 200
    r = client.post("/import", params={"replace": "true"}, json=without)
    assert r.status_code == 200, r.text
    assert client.get("/reservations").json() == []
    entry = client.get("/audit", params={"action": "import"}).json()[0]
    assert entry["after"]["reservations_removed"] == ["R-KEEP"]
