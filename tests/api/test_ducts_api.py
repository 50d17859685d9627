"""Duct fill, routing and impact through the API and the CLI; reservations count as room used."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from ponmodel.api.cli import app as cli
from ponmodel.document import dump_document
from ponmodel.storage import import_document
from tests.api.conftest import admin_client
from tests.conftest import FIXTURES, fixture_doc
from tests.ponmodel.test_reservations import ducts_network


def _client(engine: Engine) -> TestClient:
    return admin_client(engine)


def test_fill_counts_active_reservations(engine: Engine) -> None:
    import_document(engine, ducts_network())
    with _client(engine) as c:
        before = c.get("/fill/ducts/D1").json()
        assert before["occupants"] == [] and before["fill_ratio"] == 0.0
        r = c.post("/reservations", json={"operator": "vnpt", "ducts": ["D1"],
                                          "outer_diameter_mm": 12.0, "id": "R1"})
        assert r.status_code == 201
        after = c.get("/fill/ducts/D1").json()
        # one 12 mm cable in a 40 mm duct: 144 / 1600 = 9 %, limit 53 % for one occupant
        assert after["occupants"] == ["reservation:R1"]
        assert abs(after["fill_ratio"] - 0.09) < 1e-12 and after["limit_ratio"] == 0.53
        report = c.get("/fill").json()
        assert {d["id"] for d in report["ducts"]} >= {"D1", "D2", "D3", "I3"}
        assert c.get("/fill", params={"near": 2}).status_code == 422


def test_route_detours_and_names_blocking_ducts(engine: Engine) -> None:
    import_document(engine, ducts_network())
    with _client(engine) as c:
        # A → C: D3 (150 m, with the 32 mm innerduct as occupant) or D1 + D2 (180 m)
        body = c.post("/routes", json={"from": "A", "to": "C", "cable_diameter_mm": 12.0,
                                       "k": 2}).json()
        lengths = [r["length_m"] for r in body["routes"]]
        assert lengths == sorted(lengths) and lengths[0] <= 180.0
        too_big = c.post("/routes", json={"from": "A", "to": "B",
                                          "cable_diameter_mm": 35.0}).json()
        assert too_big["routes"] == [] and "D1" in too_big["blocking"]
        r = c.post("/routes", json={"from": "A", "to": "NOWHERE", "cable_diameter_mm": 12.0})
        assert r.status_code == 404
        r = c.post("/routes", json={"from": "A", "to": "C"})
        assert r.status_code == 400 and "cable_diameter_mm or fibre_count" in r.json()["detail"]


def test_impact_of_a_shared_duct(engine: Engine) -> None:
    doc = fixture_doc("two_operators_shared_duct.json")
    import_document(engine, doc)
    with _client(engine) as c:
        body = c.get("/impact", params={"element": "DU-01"}).json()
        # both operators' feeders run in DU-01: every ONT of both goes dark
        assert sorted(body["onts"]) == sorted(o["id"] for o in doc["onts"])
        assert set(body["by_operator"]) == {"vnpt", "viettel"}
        assert c.get("/impact").status_code == 422
        risk = c.get("/shared-risk").json()
        assert "DU-01" in {row["id"] for row in risk["shared_ducts"]}


def test_cli_ducts_route_impact(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    shared = str(FIXTURES / "two_operators_shared_duct.json")
    r = runner.invoke(cli, ["ducts", shared, "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert set(body["ducts"][0]) >= {"id", "fill_ratio", "limit_ratio", "over_limit", "occupants",
                                     "operators", "max_new_cable_mm"}
    assert abs(sum(o["area_share"] for o in body["operators"]) - 1.0) < 1e-9
    r = runner.invoke(cli, ["impact", shared, "--element", "DU-01", "--json"])
    assert r.exit_code == 0 and set(json.loads(r.stdout)["by_operator"]) == {"vnpt", "viettel"}
    path = tmp_path / "ducts.json"
    dump_document(ducts_network(), path)
    r = runner.invoke(cli, ["route", str(path), "--from", "A", "--to", "B",
                            "--cable-diameter-mm", "35", "--json"])
    # A reaches C through D3 and E through D4; D1 (A–B) and D2 (C–B) have no room for 35 mm
    assert r.exit_code == 1 and sorted(json.loads(r.stdout)["blocking"]) == ["D1", "D2"]
    r = runner.invoke(cli, ["route", str(path), "--from", "A", "--to", "B",
                            "--cable-diameter-mm", "12", "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["routes"][0]["ducts"] == ["D1"]
