"""The editing commands of the CLI: add, edit, remove, apply (JSON and CSV), --dry-run.

Every test runs on an SQLite file holding ``fixtures/tiny.json``: OLT-01 with port
OLT-01/1/1, feeder FL-01 (3,000 m, 3 connectors, 4 splices, cable CB-01) to the 1:8
splitter SP-01, and drops DR-01..03 (150, 160, 170 m, 2 connectors) to ONT-01..03.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ponmodel.api import cli
from ponmodel.api.cli import app
from ponmodel.storage import checksum, export_document, make_engine
from tests.conftest import FIXTURES

runner = CliRunner()

# ONT-01's budget on tiny.json. Nothing in tiny sets an attenuation (no link's own, CB-01
# none, no document defaults), so every link uses the catalogue's 0.40 dB/km at both 1577
# and 1270 nm; connectors 0.75 dB, splices 0.30 dB, a 1:8 balanced splitter 10.7 dB, the
# safety margin 3.0 dB, class N1: OLT tx min 2.0 dBm, ONU sensitivity −28.0 dBm.
# feeder FL-01: 3.0 km × 0.40 + 3 × 0.75 + 4 × 0.30 = 1.2 + 2.25 + 1.2 = 4.65 dB
# drop DR-01:   0.15 km × 0.40 + 2 × 0.75           = 0.06 + 1.5      = 1.56 dB
# loss = 4.65 + 10.7 + 1.56 = 16.91 dB; headroom = (2.0 − 16.91 − 3.0) − (−28.0) = 10.09 dB
ONT_01_LOSS_DB = 16.91
ONT_01_HEADROOM_DB = 10.09
ATTENUATION_DB_PER_KM = 0.40


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'edits.db'}"
    r = runner.invoke(app, ["import", str(FIXTURES / "tiny.json"), "--database", url, "--json"])
    assert r.exit_code == 0, r.output
    return url


@pytest.fixture
def stored(db: str) -> Iterator[Any]:
    """A function: the stored network's element ``id`` of collection ``key`` (None if gone)."""
    engine = make_engine(db)

    def element(key: str, ident: str) -> dict[str, Any] | None:
        items = export_document(engine)[key]  # type: ignore[literal-required]
        return next((e for e in items if e["id"] == ident), None)

    yield element
    engine.dispose()


def sum_of(db: str) -> str:
    engine = make_engine(db)
    try:
        return checksum(engine)
    finally:
        engine.dispose()


def run(db: str, *args: str, input: str | None = None) -> Any:
    return runner.invoke(app, [*args, "--database", db], input=input)


def written(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return str(path)


MANHOLE = {"id": "MH-02", "zone": "thang-long-iz", "kind": "manhole", "lon": 105.781,
           "lat": 21.1232}
NEW_ONT = {"id": "ONT-04", "structure": "BLD-01", "customer": "Toto Vietnam (lô B2)",
           "kind": "enterprise",
           "service": {"down": {"assured_mbps": 500, "max_mbps": 2000},
                       "up": {"assured_mbps": 500, "max_mbps": 2000}}}
NEW_DROP = {"id": "DR-04", "from": "SP-01", "to": "ONT-04", "length_m": 400.0, "connectors": 2}


# --------------------------------------------------------------------------- add


def test_add_one_element(db: str, tmp_path: Path, stored: Any) -> None:
    r = run(db, "add", "structure", written(tmp_path, "mh.json", MANHOLE), "--json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["elements"] == [{"op": "create", "kind": "structure", "id": "MH-02",
                                 "version": 1}]
    assert body["revision"] == 2 and "changes" not in body
    assert stored("structures", "MH-02")["lat"] == 21.1232


def test_add_a_list_from_stdin_is_one_change(db: str, stored: Any) -> None:
    two = [{**MANHOLE, "id": "MH-02"}, {**MANHOLE, "id": "MH-03"}]
    r = run(db, "add", "structure", "-", "--json", input=json.dumps(two))
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert [e["id"] for e in body["elements"]] == ["MH-02", "MH-03"]
    assert body["revision"] == 2  # one change, one revision
    # all or nothing: one bad element of a list, none is written, problem located in the list
    before = sum_of(db)
    bad = [{**MANHOLE, "id": "MH-04"}, {**MANHOLE, "id": "MH-05", "kind": "crater"}]
    r = run(db, "add", "structure", "-", "--json", input=json.dumps(bad))
    assert r.exit_code == 2
    (problem,) = json.loads(r.stdout)["problems"]
    assert (problem["pointer"], problem["element_id"]) == ("/1/kind", "MH-05")
    assert sum_of(db) == before and stored("structures", "MH-04") is None


def test_add_of_a_taken_id_exits_1(db: str, tmp_path: Path) -> None:
    r = run(db, "add", "structure", written(tmp_path, "mh.json", {**MANHOLE, "id": "MH-01"}))
    assert r.exit_code == 1
    assert "'MH-01' is already used by a structure" in r.stderr


def test_add_of_an_ont_without_its_link_exits_2(db: str, tmp_path: Path) -> None:
    r = run(db, "add", "ont", written(tmp_path, "ont.json", NEW_ONT))
    assert r.exit_code == 2
    assert "ONT-04" in r.stderr and "not reached from any PON port" in r.stderr
    assert "Traceback" not in r.output


def test_an_ont_and_its_link_as_apply(db: str, tmp_path: Path, stored: Any) -> None:
    change = written(tmp_path, "change.json", [
        {"op": "create", "kind": "ont", "element": NEW_ONT},
        {"op": "create", "kind": "link", "element": NEW_DROP},
    ])
    before = sum_of(db)
    r = run(db, "apply", change, "--dry-run", "--json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert sum_of(db) == before
    # only ONT-04 moves: it appears. Its path is FL-01 and the splitter as for ONT-01, then
    # DR-04: 0.4 km × 0.40 + 2 × 0.75 = 1.66 dB: 4.65 + 10.7 + 1.66 = 17.01 dB
    assert [(m["ont"], m["direction"]) for m in body["budgets"]] == [
        ("ONT-04", "downstream"), ("ONT-04", "upstream")]
    for move in body["budgets"]:
        assert move["before"] is None
        assert move["after"]["loss_db"] == pytest.approx(17.01, abs=1e-9)
        assert move["after"]["headroom_db"] == pytest.approx(10.09 - 0.1, abs=1e-9)
        assert move["after"]["class_ok"] is True
    r = run(db, "apply", change, "--json")
    assert r.exit_code == 0, r.output
    assert [e["version"] for e in json.loads(r.stdout)["elements"]] == [1, 1]
    assert stored("links", "DR-04")["to"] == "ONT-04"
    assert stored("onts", "ONT-04")["customer"] == "Toto Vietnam (lô B2)"


# --------------------------------------------------------------------------- edit


def test_edit_with_pairs(db: str, stored: Any) -> None:
    r = run(db, "edit", "ont", "ONT-01", "service.down.max_mbps=5000", "customer=null",
            "onu_rx_sensitivity_dbm=-29", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["elements"] == [
        {"op": "update", "kind": "ont", "id": "ONT-01", "version": 2}]
    ont = stored("onts", "ONT-01")
    assert ont["service"]["down"]["max_mbps"] == 5000.0
    assert ont["service"]["down"]["assured_mbps"] == 1000.0  # nested objects merge
    assert ont["customer"] is None and ont["onu_rx_sensitivity_dbm"] == -29.0
    # the human form: one line per element and the revision
    r = run(db, "edit", "ont", "ONT-01", "customer=Canon", "--version", "2")
    assert r.exit_code == 0, r.output
    assert "network revision 3" in r.stdout and "ONT-01" in r.stdout


def test_edit_with_a_patch_and_pairs_over_it(db: str, tmp_path: Path, stored: Any) -> None:
    patch = written(tmp_path, "patch.json", {"connectors": 3, "length_m": 100})
    r = run(db, "edit", "link", "DR-01", "--patch", patch, "length_m=120", "--json")
    assert r.exit_code == 0, r.output
    link = stored("links", "DR-01")
    assert (link["connectors"], link["length_m"]) == (3, 120.0)
    r = run(db, "edit", "link", "DR-01", "--patch", "-", input='{"splices": 1}')
    assert r.exit_code == 0, r.output
    assert stored("links", "DR-01")["splices"] == 1


def test_edit_on_a_stale_version_exits_1(db: str) -> None:
    assert run(db, "edit", "link", "DR-01", "length_m=200", "--version", "1").exit_code == 0
    before = sum_of(db)
    r = run(db, "edit", "link", "DR-01", "length_m=300", "--version", "1")
    assert r.exit_code == 1
    assert "'DR-01' is at version 2, the edit was based on version 1" in r.stderr
    r = run(db, "edit", "link", "DR-01", "length_m=300", "--version", "1", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["error"] == "StaleVersionError"
    assert sum_of(db) == before


def test_edit_of_an_invalid_value_exits_2_with_the_pointer(db: str) -> None:
    before = sum_of(db)
    r = run(db, "edit", "link", "DR-01", "length_m=-5", "--json")
    assert r.exit_code == 2
    body = json.loads(r.stdout)
    assert [(p["pointer"], p["element_id"]) for p in body["problems"]] == [("/length_m", "DR-01")]
    r = run(db, "edit", "link", "DR-01", "length_m=-5")
    assert r.exit_code == 2 and "/length_m: DR-01:" in r.stderr
    assert "Traceback" not in r.output
    assert sum_of(db) == before


def test_edit_refusals(db: str) -> None:
    r = run(db, "edit", "link", "DR-99", "length_m=200")
    assert r.exit_code == 1 and "no link with id 'DR-99'" in r.stderr
    r = run(db, "edit", "lnk", "DR-01", "length_m=200")
    assert r.exit_code == 2 and "kind must be one of operator, zone" in r.stderr
    r = run(db, "edit", "link", "DR-01", "lengthm=200")
    assert r.exit_code == 2 and "'lengthm' is no field of a link" in r.stderr
    r = run(db, "edit", "link", "DR-01", "length_m")
    assert r.exit_code == 2 and "'length_m' is not field=value" in r.stderr
    r = run(db, "edit", "link", "DR-01")
    assert r.exit_code == 2 and "nothing to change" in r.stderr
    r = run(db, "edit", "link", "DR-01", "id=DR-09")
    assert r.exit_code == 2 and "ids never change" in r.stderr


# --------------------------------------------------------------------------- remove


def test_remove_an_element_nothing_refers_to(db: str, stored: Any) -> None:
    r = run(db, "remove", "site", "SITE-01", "--version", "1", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["elements"] == [
        {"op": "delete", "kind": "site", "id": "SITE-01", "version": None}]
    assert stored("sites", "SITE-01") is None
    r = run(db, "remove", "site", "SITE-01")
    assert r.exit_code == 1 and "no site with id 'SITE-01'" in r.stderr


def test_remove_an_ont_fed_by_a_link_exits_1_naming_it(db: str, stored: Any) -> None:
    before = sum_of(db)
    r = run(db, "remove", "ont", "ONT-01")
    assert r.exit_code == 1
    assert "ont 'ONT-01' cannot be removed: link 'DR-01' (to) still refers to it" in r.stderr
    r = run(db, "remove", "ont", "ONT-01", "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["error"] == "DependentsError"
    assert sum_of(db) == before


# --------------------------------------------------------------------------- apply


def test_apply_json_and_its_errors(db: str, tmp_path: Path, stored: Any) -> None:
    change = written(tmp_path, "change.json", [
        {"op": "update", "kind": "link", "id": "DR-02", "changes": {"length_m": 180},
         "version": 1},
        {"op": "delete", "kind": "site", "id": "SITE-01"},
    ])
    r = run(db, "apply", change)
    assert r.exit_code == 0, r.output
    assert "network revision 2" in r.stdout
    assert stored("links", "DR-02")["length_m"] == 180.0 and stored("sites", "SITE-01") is None
    # problems of a change file are located in it
    bad = written(tmp_path, "bad.json", [
        {"op": "update", "kind": "link", "id": "DR-03", "changes": {"length_m": 0}}])
    r = run(db, "apply", bad, "--json")
    assert r.exit_code == 2
    assert json.loads(r.stdout)["problems"][0]["pointer"] == "/0/changes/length_m"
    r = run(db, "apply", written(tmp_path, "empty.json", []))
    assert r.exit_code == 2 and "no operations" in r.stderr


def test_files_that_cannot_be_read_or_are_not_json_exit_2(db: str, tmp_path: Path) -> None:
    for args in (["apply", str(tmp_path / "missing.json")],
                 ["add", "splitter", str(tmp_path / "missing.json")],
                 ["edit", "link", "DR-01", "--patch", str(tmp_path / "missing.json")]):
        r = run(db, *args)
        assert r.exit_code == 2, args
        assert r.stderr.strip().count("\n") == 0 and "cannot read" in r.stderr
    r = run(db, "apply", written(tmp_path, "text.json", "not json"))
    assert r.exit_code == 2 and r.stderr.strip().count("\n") == 0
    assert "is not valid JSON" in r.stderr
    r = run(db, "edit", "link", "DR-01", "--patch", written(tmp_path, "list.json", [1]))
    assert r.exit_code == 2 and "no JSON Merge Patch" in r.stderr
    r = run(db, "add", "structure", written(tmp_path, "number.json", "5"))
    assert r.exit_code == 2 and "holds no structure" in r.stderr


def test_apply_csv(db: str, tmp_path: Path, stored: Any) -> None:
    rows = "id,length_m,connectors,version\nDR-02,300,3,1\nDR-03,175,,\n"
    r = run(db, "apply", "--csv", "link", written(tmp_path, "drops.csv", rows), "--json")
    assert r.exit_code == 0, r.output
    assert [(e["id"], e["version"]) for e in json.loads(r.stdout)["elements"]] == [
        ("DR-02", 2), ("DR-03", 2)]
    assert (stored("links", "DR-02")["length_m"], stored("links", "DR-02")["connectors"]) == (
        300.0, 3)
    assert stored("links", "DR-03")["length_m"] == 175.0
    # the same rows again: DR-02 is at version 2 now
    r = run(db, "apply", "--csv", "link", str(tmp_path / "drops.csv"))
    assert r.exit_code == 1 and "is at version 2" in r.stderr
    r = run(db, "apply", "--csv", "lnk", str(tmp_path / "drops.csv"))
    assert r.exit_code == 2 and "kind must be one of" in r.stderr
    r = run(db, "apply", "--csv", "link", written(tmp_path, "bad.csv", "id,colour\nDR-02,red\n"))
    assert r.exit_code == 2 and "column 'colour' is no field of a link" in r.stderr


# --------------------------------------------------------------------------- dry run


def test_dry_run_writes_nothing_and_shows_the_budget_delta(db: str) -> None:
    before = sum_of(db)
    r = run(db, "edit", "link", "DR-01", "length_m=250", "--dry-run", "--json")
    assert r.exit_code == 0, r.output
    assert sum_of(db) == before
    body = json.loads(r.stdout)
    assert set(body) == {"revision", "elements", "changes", "budgets"}
    assert body["revision"] == 1
    (change,) = body["changes"]
    assert (change["before"]["length_m"], change["after"]["length_m"]) == (150.0, 250.0)
    # +100 m of DR-01 at 0.40 dB/km (catalogue, see the top): 100 / 1000 × 0.40 = +0.04 dB
    # both ways (1577 and 1270 nm have the same figure); only ONT-01 is behind DR-01
    delta_db = 100 / 1000 * ATTENUATION_DB_PER_KM
    assert [(m["ont"], m["direction"]) for m in body["budgets"]] == [
        ("ONT-01", "downstream"), ("ONT-01", "upstream")]
    for move in body["budgets"]:
        old, new = move["before"], move["after"]
        assert old["loss_db"] == pytest.approx(ONT_01_LOSS_DB, abs=1e-9)
        assert new["loss_db"] == pytest.approx(ONT_01_LOSS_DB + delta_db, abs=1e-9)
        assert old["headroom_db"] == pytest.approx(ONT_01_HEADROOM_DB, abs=1e-9)
        assert new["headroom_db"] == pytest.approx(ONT_01_HEADROOM_DB - delta_db, abs=1e-9)
        assert old["class_ok"] is new["class_ok"] is True
    assert body["budgets"][0]["before"]["wavelength_nm"] == 1577


@pytest.fixture
def columns_80(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's console 80 columns wide, whatever terminal runs the tests."""
    monkeypatch.setattr(cli, "console", Console(width=80))


def fits_80(text: str) -> list[str]:
    """The lines of ``text``, each checked to fit 80 columns with its table's right border
    (a table too wide for the console loses its right edge)."""
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert all(line.rstrip()[-1] in "┓┃┩│┤┘" for line in lines if line[:1] in "┏┃┡│├└")
    return lines


@pytest.mark.usefixtures("columns_80")
def test_dry_run_human_output_fits_80_columns(db: str, tmp_path: Path) -> None:
    before = sum_of(db)
    change = written(tmp_path, "change.json", [
        {"op": "create", "kind": "ont", "element": NEW_ONT},
        {"op": "create", "kind": "link", "element": NEW_DROP},
        {"op": "update", "kind": "link", "id": "FL-01", "changes": {"splices": 6}},
    ])
    r = run(db, "apply", change, "--dry-run")
    assert r.exit_code == 0, r.output
    lines = fits_80(r.stdout)
    assert any("service.down.assured_mbps" in line and "500.0" in line for line in lines)
    # two more splices on the feeder: +0.60 dB for every ONT behind it
    assert sum("+0.600" in line for line in lines) == 6
    r = run(db, "edit", "link", "DR-01", "length_m=250", "--dry-run")
    assert r.exit_code == 0, r.output
    assert sum_of(db) == before
    lines = fits_80(r.stdout)
    assert any("length_m" in line and "150.0" in line and "250.0" in line for line in lines)
    # 16.91 → 16.95 dB down and up (see the test above), headroom 10.09 → 10.05 dB
    moved = [line for line in lines if "ONT-01" in line]
    assert len(moved) == 2
    assert all("16.91 → 16.95" in line and "10.09 → 10.05" in line and "+0.040" in line
               for line in moved)
    r = run(db, "remove", "site", "SITE-01", "--dry-run")
    assert r.exit_code == 0 and "removed" in r.stdout and "no ONT's budget moves" in r.stdout
    assert sum_of(db) == before


def test_dry_run_shows_an_ont_that_disappears(db: str, tmp_path: Path) -> None:
    change = written(tmp_path, "change.json", [{"op": "delete", "kind": "link", "id": "DR-02"},
                                               {"op": "delete", "kind": "ont", "id": "ONT-02"}])
    before = sum_of(db)
    r = run(db, "apply", change, "--dry-run", "--json")
    assert r.exit_code == 0, r.output
    assert sum_of(db) == before
    moves = json.loads(r.stdout)["budgets"]
    assert [(m["ont"], m["after"]) for m in moves] == [("ONT-02", None), ("ONT-02", None)]
    # DR-02: 0.16 km × 0.40 + 2 × 0.75 = 1.564 dB: 4.65 + 10.7 + 1.564 = 16.914 dB
    assert moves[0]["before"]["loss_db"] == pytest.approx(16.914, abs=1e-9)


def test_dry_run_of_an_invalid_change_exits_like_the_change(db: str) -> None:
    before = sum_of(db)
    r = run(db, "remove", "ont", "ONT-01", "--dry-run")
    assert r.exit_code == 1 and "link 'DR-01' (to)" in r.stderr
    r = run(db, "edit", "link", "DR-01", "length_m=-5", "--dry-run")
    assert r.exit_code == 2 and "/length_m" in r.stderr
    assert sum_of(db) == before
