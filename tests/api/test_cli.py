"""The ``ponmodel`` command line: exit codes, --json output, import/export, trace, demo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ponmodel.api.cli import app
from ponmodel.document import canonical, load_document
from tests.conftest import FIXTURES, fixture_doc

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_validate_ok_and_invalid() -> None:
    r = runner.invoke(app, ["validate", str(FIXTURES / "tiny.json"), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["valid"] is True
    r = runner.invoke(app, ["validate", str(FIXTURES / "invalid_cycle.json"), "--json"])
    assert r.exit_code == 2
    body = json.loads(r.stdout)
    assert body["error"] == "DocumentError"
    assert [(p["element_id"], p["pointer"]) for p in body["problems"]] == [
        ("SP-02", "/splitters/1")
    ]


def test_validate_human_output_names_the_problem() -> None:
    r = runner.invoke(app, ["validate", str(FIXTURES / "invalid_zero_length.json")])
    assert r.exit_code == 2
    assert "/links/2/length_m: DR-02" in r.stderr


def test_import_export_round_trip(db: str, tmp_path: Path) -> None:
    r = runner.invoke(
        app,
        ["import", str(FIXTURES / "two_operators_shared_duct.json"), "--database", db, "--json"],
    )
    assert r.exit_code == 0, r.output
    doc = fixture_doc("two_operators_shared_duct.json")
    assert json.loads(r.stdout)["imported"]["ont"] == len(doc["onts"])
    out = tmp_path / "out.json"
    assert runner.invoke(app, ["export", "--database", db, "--out", str(out)]).exit_code == 0
    assert canonical(json.loads(out.read_text())) == canonical(load_document(doc))
    # a second import without --replace is refused, and nothing changes
    r = runner.invoke(app, ["import", str(FIXTURES / "tiny.json"), "--database", db, "--json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["error"] == "InventoryNotEmptyError"


def test_import_of_an_invalid_file_exits_2(db: str) -> None:
    r = runner.invoke(
        app,
        ["import", str(FIXTURES / "invalid_missing_reference.json"), "--database", db, "--json"],
    )
    assert r.exit_code == 2
    assert json.loads(r.stdout)["problems"][0]["pointer"] == "/onts/1/structure"


def test_trace_and_reach_from_a_file() -> None:
    doc = fixture_doc("tiny.json")
    ont = doc["onts"][0]["id"]
    r = runner.invoke(app, ["trace", ont, "--file", str(FIXTURES / "tiny.json"), "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    lengths = {link["to"]: link["length_m"] for link in doc["links"]}
    # tiny: port → splitter → ONT, so the distance is the feeder plus the drop
    feeder = next(link for link in doc["links"] if link["from"] == body["port"])
    assert body["distance_m"] == pytest.approx(feeder["length_m"] + lengths[ont])
    r = runner.invoke(app, ["reach", body["port"], "--file", str(FIXTURES / "tiny.json"), "--json"])
    assert json.loads(r.stdout)["onts"] == sorted(o["id"] for o in doc["onts"])
    r = runner.invoke(app, ["trace", "NOPE", "--file", str(FIXTURES / "tiny.json")])
    assert r.exit_code == 1 and "no ont with id 'NOPE'" in r.stderr


def test_demo_then_zones_are_there(db: str) -> None:
    r = runner.invoke(app, ["demo", "--database", db, "--json"])
    assert r.exit_code == 0, r.output
    hanoi = fixture_doc("hanoi.json")
    assert json.loads(r.stdout)["imported"]["zone"] == len(hanoi["zones"])
    r = runner.invoke(app, ["through", hanoi["structures"][0]["id"], "--database", db, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["structure"] == hanoi["structures"][0]["id"]


def test_generate_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for out in (a, b):
        assert (
            runner.invoke(
                app, ["generate", "--onts", "300", "--seed", "7", "--out", str(out)]
            ).exit_code
            == 0
        )
    assert a.read_bytes() == b.read_bytes()
    assert len(json.loads(a.read_text())["onts"]) == 300
    r = runner.invoke(app, ["validate", str(a), "--json"])
    assert r.exit_code == 0


def test_schema_command(tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    assert runner.invoke(app, ["schema", "--out", str(out)]).exit_code == 0
    assert json.loads(out.read_text())["title"] == "ponmodel/1 network document"


def test_budget_json_shape() -> None:
    r = runner.invoke(app, ["budget", str(FIXTURES / "tiny.json"), "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    ont = body["onts"][0]
    assert set(ont) >= {"id", "port", "distance_m", "split", "downstream", "upstream",
                        "class_ok", "ok", "problems"}
    assert set(ont["downstream"]) == {"wavelength_nm", "loss_db", "rx_min_dbm", "rx_max_dbm",
                                      "headroom_db", "ok"}
    assert body["ports"][0]["id"] == fixture_doc("tiny.json")["olts"][0]["ports"][0]["id"]


def test_budget_from_the_database_by_zone(db: str) -> None:
    runner.invoke(app, ["demo", "--database", db])
    r = runner.invoke(app, ["budget", "--zone", "thang-long-iz", "--database", db, "--json",
                            "--failing"])
    assert r.exit_code == 0, r.output
    assert all(not o["ok"] and o["problems"] for o in json.loads(r.stdout)["onts"])
    r = runner.invoke(app, ["budget", "--zone", "atlantis", "--database", db])
    assert r.exit_code == 1 and "no zone with id 'atlantis'" in r.stderr


def test_upgrade_command() -> None:
    r = runner.invoke(app, ["upgrade", str(FIXTURES / "gpon_legacy.json"), "--class", "E1",
                            "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["class"] == "E1"
    r = runner.invoke(app, ["upgrade", str(FIXTURES / "gpon_legacy.json"), "--class", "B+"])
    assert r.exit_code == 2 and "does not belong" in r.stderr


def test_capacity_json_shape() -> None:
    r = runner.invoke(app, ["capacity", str(FIXTURES / "tiny.json"), "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert set(body["ports"][0]["down"]) == {"capacity_mbps", "guaranteed_mbps", "sold_max_mbps",
                                             "oversubscription", "admissible"}
    assert set(body["onts"][0]["down"]) >= {"guaranteed_mbps", "full_load_mbps", "peak_mbps"}
    assert isinstance(body["onts"][0]["ten_g_symmetric"], bool)


def test_place_command() -> None:
    doc = fixture_doc("tiny.json")
    building = doc["onts"][0]["structure"]
    r = runner.invoke(app, ["place", str(FIXTURES / "tiny.json"), "--at", building,
                            "--service", "down=100/1000,up=100/1000", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["candidates"][0]["splitter"] == doc["splitters"][0]["id"]
    r = runner.invoke(app, ["place", str(FIXTURES / "tiny.json"), "--at", building,
                            "--service", "down=9000/10000,up=100/1000"])
    assert r.exit_code == 1 and "no splitter can serve" in r.stderr
    r = runner.invoke(app, ["place", str(FIXTURES / "tiny.json"), "--at", building,
                            "--service", "sideways=1/2"])
    assert r.exit_code == 2


def test_parse_service() -> None:
    from ponmodel.api.cli import parse_service

    assert parse_service("down=500+1000/10000,up=200/2000") == {
        "down": {"fixed_mbps": 500.0, "assured_mbps": 1000.0, "max_mbps": 10000.0},
        "up": {"fixed_mbps": 0.0, "assured_mbps": 200.0, "max_mbps": 2000.0},
    }


def test_reserve_commands(tmp_path: Path) -> None:
    from ponmodel.document import dump_document
    from tests.ponmodel.test_reservations import ducts_network

    db = f"sqlite:///{tmp_path / 'r.db'}"
    doc = tmp_path / "ducts.json"
    dump_document(ducts_network(), doc)
    assert runner.invoke(app, ["import", str(doc), "--database", db]).exit_code == 0
    made = []
    for _ in range(4):  # D1 holds four 12 mm cables
        r = runner.invoke(app, ["reserve", "create", "--operator", "vnpt", "--ducts", "D1",
                                "--cable-diameter-mm", "12", "--database", db, "--json"])
        assert r.exit_code == 0, r.output
        made.append(json.loads(r.stdout)["id"])
    r = runner.invoke(app, ["reserve", "create", "--operator", "vnpt", "--ducts", "D1",
                            "--cable-diameter-mm", "12", "--database", db])
    assert r.exit_code == 1 and "duct D1 has no room" in r.stderr
    assert runner.invoke(app, ["reserve", "cancel", made[0], "--database", db]).exit_code == 0
    r = runner.invoke(app, ["reserve", "confirm", made[1], "--database", db, "--json"])
    assert json.loads(r.stdout)["status"] == "confirmed"
    r = runner.invoke(app, ["reserve", "list", "--status", "reserved", "--database", db, "--json"])
    assert sorted(x["id"] for x in json.loads(r.stdout)) == sorted(made[2:])


def test_report_and_geojson_commands(db: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["demo", "--database", db]).exit_code == 0
    out = tmp_path / "report.json"
    r = runner.invoke(app, ["report", "--database", db, "--format", "json", "--out", str(out)])
    assert r.exit_code == 0, r.output
    report = json.loads(out.read_text())
    hanoi = fixture_doc("hanoi.json")
    assert len(report["zones"]) == len(hanoi["zones"])
    # sites per zone, straight from the fixture
    assert {z["id"]: z["sites"] for z in report["zones"]} == {
        z["id"]: sum(1 for s in hanoi["sites"] if s["zone"] == z["id"]) for z in hanoi["zones"]}
    html = tmp_path / "report.html"
    assert runner.invoke(app, ["report", "--database", db, "--out", str(html)]).exit_code == 0
    page = html.read_text()
    assert "<html" in page[:500].lower()
    assert not re.search(r"<(script|link)[^>]+(src|href)=['\"]?https?:", page)  # offline
    geo = tmp_path / "net.geojson"
    r = runner.invoke(app, ["export", "--format", "geojson", "--database", db, "--out", str(geo)])
    assert r.exit_code == 0, r.output
    collection = json.loads(geo.read_text())
    assert collection["type"] == "FeatureCollection"
    points = [f for f in collection["features"] if f["properties"]["layer"] == "structure"]
    assert len(points) == len(hanoi["structures"])
    lon, lat = points[0]["geometry"]["coordinates"]
    assert 105 < lon < 107 and 20 < lat < 22  # longitude first
    # re-importing the same structures and ducts changes nothing but needs --replace
    r = runner.invoke(app, ["import", str(geo), "--format", "geojson", "--database", db,
                            "--replace", "--json"])
    assert r.exit_code == 0, r.output
    merged = json.loads(r.stdout)
    assert (merged["created"], merged["updated"]) == ({}, {})
    assert merged["unchanged"] == len(hanoi["structures"]) + len(hanoi["ducts"])


def test_demo_prints_a_working_admin_key_and_revokes_the_previous_one(db: str) -> None:
    from fastapi.testclient import TestClient

    from ponmodel.api.main import create_app
    from ponmodel.settings import Settings
    from ponmodel.storage import make_engine

    first = json.loads(runner.invoke(app, ["demo", "--database", db, "--json"]).stdout)
    second = json.loads(runner.invoke(app, ["demo", "--database", db, "--json"]).stdout)
    engine = make_engine(db)
    client = TestClient(create_app(Settings(database_url=db), engine=engine))

    def status(token: str) -> int:
        return client.get("/audit", headers={"Authorization": f"Bearer {token}"}).status_code

    assert status(second["admin_key"]) == 200  # an admin key: the audit log opens
    assert status(first["admin_key"]) == 401  # the earlier demo key was revoked
    listed = json.loads(runner.invoke(app, ["keys", "list", "--database", db, "--json"]).stdout)
    assert [k["name"] for k in listed if k["revoked_at"] is None] == ["demo admin"]
    engine.dispose()


def test_keys_create_list_revoke(db: str) -> None:
    assert runner.invoke(app, ["demo", "--database", db]).exit_code == 0
    r = runner.invoke(app, ["keys", "create", "--role", "planner", "--operator", "vnpt",
                            "--name", "VNPT planning", "--database", db, "--json"])
    assert r.exit_code == 0, r.output
    made = json.loads(r.stdout)
    assert (made["role"], made["operator"], made["name"]) == ("planner", "vnpt", "VNPT planning")
    assert made["token"].startswith(f"pm_{made['id']}_")
    listed = json.loads(runner.invoke(app, ["keys", "list", "--database", db, "--json"]).stdout)
    assert made["id"] in {k["id"] for k in listed}
    assert all("token" not in k and "secret_sha256" not in k for k in listed)
    r = runner.invoke(app, ["keys", "revoke", made["id"], "--database", db, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["revoked_at"] is not None
    assert runner.invoke(app, ["keys", "revoke", "nope", "--database", db]).exit_code == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "root"], "role must be one of admin, planner, viewer"),
    (["--role", "planner"], "a planner key needs --operator"),
    (["--role", "admin", "--operator", "vnpt"], "an admin key has no operator"),
    (["--role", "viewer", "--operator", "no-such-operator"], "'no-such-operator' is not in"),
])
def test_keys_create_refuses_bad_requests_with_exit_2(db: str, args: list[str],
                                                      message: str) -> None:
    r = runner.invoke(app, ["keys", "create", *args, "--database", db, "--json"])
    assert r.exit_code == 2
    assert message in json.loads(r.stdout)["message"]


def test_check_reads_the_database_and_writes_the_results(db: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["import", str(FIXTURES / "tiny.json"), "--database", db]
                         ).exit_code == 0
    out = tmp_path / "results"
    r = runner.invoke(app, ["check", "--database", db, "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    # tiny.json: three ONTs on one XGS-PON port, each 16.91-16.92 dB, 10.08 dB headroom or
    # more (tests/topology/test_e2e_bench.py has the arithmetic)
    assert (body["onts"], body["onts_within_budget"], body["ports_in_use"]) == (3, 3, 1)
    assert body["onts_failing_budget"] == 0 and body["onts_ten_g_symmetric"] == 3
    assert round(body["worst_headroom_db"], 2) == 10.08
    assert set(body["files"]) == {"onts", "problems", "ports", "olts", "summary"}
    assert all(Path(p).is_file() for p in body["files"].values())
    r = runner.invoke(app, ["check", "--database", db])  # the human table
    assert r.exit_code == 0 and "3 ONTs on 1 ports in use" in r.stdout


def test_check_of_the_hanoi_demo_counts_the_failing_onts(db: str) -> None:
    assert runner.invoke(app, ["demo", "--database", db]).exit_code == 0
    body = json.loads(runner.invoke(app, ["check", "--database", db, "--json"]).stdout)
    # fixtures/README.md: 2,606 of the 2,710 ONTs pass every budget check
    assert (body["onts"], body["onts_within_budget"], body["onts_failing_budget"]) == (
        2710, 2606, 104)


def test_bench_e2e_on_sqlite_prints_every_phase(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PONMODEL_TEST_DATABASE_URL", raising=False)  # SQLite only: quick
    r = runner.invoke(app, ["bench", "e2e", "--onts", "300", "--workdir", str(tmp_path),
                            "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert [p["phase"] for p in body["phases"]] == [
        "generate", "validate", "import", "check", "write_results"]
    assert body["summary"]["onts"] == 300 and body["goal"]["met"] is None  # judged at 1M
    assert (tmp_path / "results-sqlite" / "onts.csv.gz").is_file()
    assert not (tmp_path / "e2e.db").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--url", "http://192.0.2.1:8000", "--key", "pm_x"], "loopback only"),
    (["--url", "http://127.0.0.1:9"], "--url needs --key"),
])
def test_bench_load_refuses_with_exit_2(args: list[str], message: str) -> None:
    r = runner.invoke(app, ["bench", "load", *args, "--json"])
    assert r.exit_code == 2
    assert message in json.loads(r.stdout)["message"]


def test_bench_load_without_a_postgresql_server_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PONMODEL_TEST_DATABASE_URL", raising=False)
    r = runner.invoke(app, ["bench", "load", "--json"])
    assert r.exit_code == 2 and "--postgres" in json.loads(r.stdout)["message"]
