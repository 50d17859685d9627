"""The readiness report and GeoJSON interchange over HTTP (SQLite, then PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ponmodel.storage import checksum, row_counts
from tests.conftest import fixture_doc


def _load(client: TestClient, name: str = "hanoi.json") -> dict:
    doc = fixture_doc(name)
    r = client.post("/import", json=doc)
    assert r.status_code == 200, r.text
    return doc


def test_report_json_csv_html(client: TestClient) -> None:
    doc = _load(client)
    r = client.get("/report", params={"year": 2026})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["year"] == 2026 and len(body["zones"]) == len(doc["zones"])
    assert body["totals"]["sites"] == len(doc["sites"])
    assert body["totals"]["sites_5g"] == sum(s["generation"] == "5g" for s in doc["sites"])
    for zone in body["zones"]:
        assert {"id", "kind", "sites", "sites_5g", "enterprise_onts",
                "enterprise_ten_g_symmetric_share", "gpon_port_readiness", "shared_duct_share",
                "ducts_over_limit"} <= set(zone)
    r = client.get("/report", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["id"] for row in rows[:-1]] == [z["id"] for z in body["zones"]]
    assert rows[-1]["id"] == "total"
    r = client.get("/report", params={"format": "html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Plotly.newPlot" in r.text
    assert not re.search(r"<(script|link)\b[^>]*\b(src|href)\s*=\s*['\"]?(https?:)?//", r.text)


def test_report_year_and_bad_format(client: TestClient) -> None:
    _load(client)
    text = client.get("/report", params={"year": 2027}).json()["totals"]["gaps"][0]["text"]
    assert "overdue since the end of 2026" in text
    r = client.get("/report", params={"format": "pdf"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


def test_export_geojson(client: TestClient) -> None:
    doc = _load(client)
    r = client.get("/export/geojson")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    layers = [f["properties"]["layer"] for f in fc["features"]]
    assert layers.count("structure") == len(doc["structures"])
    assert layers.count("duct") == len(doc["ducts"])
    assert layers.count("ont") == len(doc["onts"])


def test_import_geojson_merges_a_drawn_duct(client: TestClient) -> None:
    doc = _load(client, "tiny.json")
    cab = next(s for s in doc["structures"] if s["id"] == "CAB-01")
    drawn = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [105.7835, 21.1245]},
         "properties": {"id": "HH-NEW", "kind": "handhole", "zone": cab["zone"]}},
        {"type": "Feature",
         "geometry": {"type": "LineString",
                      "coordinates": [[cab["lon"], cab["lat"]], [105.7835, 21.1245]]},
         "properties": {"id": "DU-NEW", "inner_diameter_mm": 50.0, "owner": "vnpt"}},
    ]}
    r = client.post("/import/geojson", content=json.dumps(drawn),
                    headers={"content-type": "application/geo+json"})
    assert r.status_code == 200, r.text
    assert (r.json()["structures"], r.json()["ducts"]) == (1, 1)
    duct = client.get("/ducts/DU-NEW").json()
    assert (duct["from"], duct["to"]) == ("CAB-01", "HH-NEW")
    assert 200 < duct["length_m"] < 260  # 0.002° east, 0.0011° north at 21° N ≈ 231 m
    assert client.get("/structures/HH-NEW").status_code == 200
    assert client.get("/onts/ONT-01").status_code == 200  # the rest of the network stays


def test_import_geojson_errors_write_nothing(client: TestClient, engine: Engine) -> None:
    _load(client, "tiny.json")
    counts, before = row_counts(engine), checksum(engine)
    bad = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [21.12, 105.78]},
         "properties": {"id": "HH-LATLON", "kind": "handhole"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [105.79, 21.12]},
         "properties": {"id": "EX-01", "kind": "exchange"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [105.79, 21.12]},
         "properties": {"id": "HH-2", "kind": "handhole", "zone": "atlantis"}},
    ]}
    r = client.post("/import/geojson", content=json.dumps(bad))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    pointers = [e["pointer"] for e in r.json()["errors"]]
    assert pointers == ["/features/0/geometry/coordinates", "/features/1/properties/id"]
    assert "nothing was written" in r.json()["detail"]
    assert (row_counts(engine), checksum(engine)) == (counts, before)
    # the validator's problems are located at the feature too, and still nothing is written
    r = client.post("/import/geojson", content=json.dumps({**bad, "features": bad["features"][2:]}))
    assert r.status_code == 422
    assert [e["pointer"] for e in r.json()["errors"]] == ["/features/0/properties/zone"]
    assert (row_counts(engine), checksum(engine)) == (counts, before)


def test_import_geojson_replace_updates_stored_elements(client: TestClient) -> None:
    _load(client, "tiny.json")
    fc = client.get("/export/geojson").json()
    exchange = next(f for f in fc["features"] if f["id"] == "EX-01")
    exchange["geometry"]["coordinates"] = [105.7791, 21.1221]
    moved = {"type": "FeatureCollection", "features": [exchange]}
    assert client.post("/import/geojson", json=moved).status_code == 422
    r = client.post("/import/geojson", params={"replace": "true"}, json=moved)
    assert r.status_code == 200, r.text
    ex = client.get("/structures/EX-01").json()
    assert (ex["lon"], ex["lat"]) == (105.7791, 21.1221)
