"""Tables a person can read (issue 16): at 80 columns with output piped, no id is cut; long
tables say how many rows they left out; ports sort naturally; the answers list what the
user came for (ports with their verdict, customers and sites, a duct's occupants, why fewer
routes); a planned route is reserved without copying its ducts; an unexpected error is one
line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ponmodel.api import cli
from ponmodel.api.cli import app
from ponmodel.api.tables import natural_key
from ponmodel.document import load_document
from ponmodel.topology.upgrade import upgrade_readiness
from tests.conftest import FIXTURES, fixture_doc

runner = CliRunner()
HANOI = str(FIXTURES / "hanoi.json")


def _run(*args: str) -> str:
    r = runner.invoke(app, list(args), env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    return r.stdout


def _width(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_budget_at_80_columns_keeps_every_id_whole() -> None:
    out = _run("budget", HANOI, "--zone", "thang-long-iz", "--limit", "12")
    table = out.split("\n(columns")[0]
    assert _width(table) <= 80
    r = runner.invoke(app, ["budget", HANOI, "--zone", "thang-long-iz", "--json"])
    worst = json.loads(r.stdout)["onts"][:12]
    assert len({len(o["port"]) for o in worst}) > 1  # ports of several lengths
    for o in worst:
        # the ONT and its port on one line, whole: what the next command needs
        assert re.search(rf"│ {re.escape(o['id'])} +│ {re.escape(o['port'])} +│", table), o["id"]
    assert "…" not in table
    assert "columns left out at 80 characters" in out and "--wide" in out
    assert re.search(r"\d+ more \(use --limit N / --json\)", out)


def test_wide_shows_every_column() -> None:
    out = _run("budget", HANOI, "--zone", "thang-long-iz", "--limit", "3", "--wide")
    assert "columns left out" not in out
    header = out.splitlines()[2]
    for column in ("km", "split", "loss ↓/↑ dB", "checks failed"):
        assert column in header, column


def test_upgrade_lists_the_ports_with_their_verdict() -> None:
    out = _run("upgrade", HANOI, "--limit", "200", "--wide")
    result = upgrade_readiness(load_document(fixture_doc("hanoi.json")), "N1")
    used = [p for p in result["ports"] if p["onts"]]
    assert len(used) > 10
    for p in used:
        line = next(line for line in out.splitlines() if f"│ {p['id']} " in line)
        assert p["status"] in line, p["id"]
    # worst first: every port needing re-engineering comes before every ready one
    ids = [p["id"] for p in used]
    order = [i for i in re.findall(r"│ (OLT-\S+) ", out) if i in ids]
    statuses = {p["id"]: p["status"] for p in used}
    ranks = [("needs re-engineering", "needs E2", "needs E1", "ready").index(statuses[i])
             for i in order]
    assert ranks == sorted(ranks)


def test_natural_order_of_ports() -> None:
    ports = ["OLT-A/1/10", "OLT-A/1/2", "OLT-A/1/1", "OLT-A/2/1"]
    assert sorted(ports, key=natural_key) == ["OLT-A/1/1", "OLT-A/1/2", "OLT-A/1/10",
                                              "OLT-A/2/1"]
    out = _run("capacity", HANOI, "--zone", "thang-long-iz", "--by", "port", "--limit", "500",
               "--wide")
    listed = re.findall(r"│ (OLT-TL-VNPT-01/\S+) ", out)
    assert len(listed) >= 3 and listed == sorted(listed, key=natural_key)


def test_impact_lists_customers_sites_and_onts(tmp_path: Path) -> None:
    r = runner.invoke(app, ["impact", HANOI, "--element", "SP-TL-0010", "--json"])
    expected = json.loads(r.stdout)
    assert expected["onts"] and expected["by_customer"]
    out = _run("impact", HANOI, "--element", "SP-TL-0010", "--limit", "100")
    for customer in expected["by_customer"]:
        assert customer in out
    for ont in expected["onts"]:
        assert f"│ {ont} " in out


def test_one_ducts_occupants() -> None:
    doc = fixture_doc("two_operators_shared_duct.json")
    out = _run("ducts", str(FIXTURES / "two_operators_shared_duct.json"), "--duct", "DU-01")
    in_it = [c for c in doc["cables"] if "DU-01" in c["ducts"]]
    assert [c["operator"] for c in in_it] == ["vnpt", "viettel"]  # the fixture's shared duct
    for c in in_it:
        line = next(line for line in out.splitlines() if f"│ {c['id']} " in line)
        assert c["operator"] in line and f"{c['outer_diameter_mm']:g}" in line
    r = runner.invoke(app, ["ducts", str(FIXTURES / "two_operators_shared_duct.json"), "--duct",
                            "DU-01", "--json"])
    body = json.loads(r.stdout)
    assert [o["id"] for o in body["occupant_details"]] == [c["id"] for c in in_it]
    r = runner.invoke(app, ["ducts", str(FIXTURES / "two_operators_shared_duct.json"), "--duct",
                            "DU-99"])
    assert r.exit_code == 1 and "DU-99" in r.output


def test_route_says_why_fewer_than_k() -> None:
    r = runner.invoke(app, ["route", str(FIXTURES / "two_operators_shared_duct.json"), "--from",
                            "CAB-01", "--to", "CAB-02", "--fibre-count", "96", "--k", "3"])
    assert r.exit_code == 0
    assert "only 1 of the 3 routes asked for: no other loopless duct path joins CAB-01 and " \
        "CAB-02" in " ".join(r.stdout.split())


def test_reserve_a_planned_route_from_its_file(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'r.db'}"
    fixture = str(FIXTURES / "two_operators_shared_duct.json")
    assert runner.invoke(app, ["import", fixture, "--database", db]).exit_code == 0
    r = runner.invoke(app, ["route", "--from", "CAB-01", "--to", "CAB-02", "--fibre-count", "24",
                            "--database", db, "--json"])
    routes = tmp_path / "routes.json"
    routes.write_text(r.stdout)
    planned = json.loads(r.stdout)
    r = runner.invoke(app, ["reserve", "create", "--operator", "viettel", "--from-route",
                            str(routes), "--route", "1", "--database", db, "--json"])
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout)
    assert row["ducts"] == planned["routes"][0]["ducts"] == ["DU-02", "DU-03"]
    assert row["outer_diameter_mm"] == pytest.approx(planned["cable_diameter_mm"])
    r = runner.invoke(app, ["reserve", "create", "--operator", "viettel", "--from-route",
                            str(routes), "--route", "2", "--database", db])
    assert r.exit_code == 2 and "holds 1 route(s)" in r.output
    r = runner.invoke(app, ["reserve", "create", "--operator", "viettel", "--database", db])
    assert r.exit_code == 2 and "--from-route" in r.output


def test_an_unexpected_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object, **__: object) -> None:
        msg = "a bug"
        raise RuntimeError(msg)

    monkeypatch.setattr("ponmodel.topology.trace.trace", broken)
    r = runner.invoke(app, ["trace", "ONT-01", "-f", str(FIXTURES / "tiny.json")])
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    assert r.output.strip() == ("error: internal error (RuntimeError): a bug; please report it "
                                "(PONMODEL_DEBUG=1 shows where)")
    r = runner.invoke(app, ["trace", "ONT-01", "-f", str(FIXTURES / "tiny.json"), "--json"])
    assert json.loads(r.stdout)["error"] == "RuntimeError"


def test_pydantic_messages_in_our_words() -> None:
    from pydantic import BaseModel, Field, ValidationError

    class Cable(BaseModel):
        fibre_count: int = Field(ge=1)
        outer_diameter_mm: float = Field(gt=0, le=200)

    with pytest.raises(ValidationError) as caught:
        Cable(fibre_count=0, outer_diameter_mm=300)
    assert cli.validation_message(caught.value) == (
        "fibre_count = 0: must be at least 1; outer_diameter_mm = 300 mm: must be at most "
        "200 mm")


def test_what_if_shows_before_after_and_change() -> None:
    out = _run("what-if", str(FIXTURES / "tiny.json"), "--remove", "ONT-02")
    # ONT-02 sold 1,000 Mbit/s max each way: its port 21,000 → 20,000, 3 → 2 ONTs
    assert re.search(r"│ onts_with_budget +│ +3 │ +2 │ +-1 │", out)
    assert "│ OLT-01/1/1 │ 3 → 2 │" in out and "21,000 → 20,000" in out
    r = runner.invoke(app, ["what-if", str(FIXTURES / "tiny.json"), "--remove", "ONT-02",
                            "--json"])
    assert json.loads(r.stdout)["onts_removed"] == ["ONT-02"]
    r = runner.invoke(app, ["what-if", str(FIXTURES / "tiny.json"), "--profile",
                            "ONT-01:down=2000/1000,up=1/2"])
    assert r.exit_code == 2
    assert "assured_mbps 2000 Mbit/s exceeds max_mbps 1000 Mbit/s" in r.output


def test_place_ranks_the_in_building_splitter_first_with_its_port_before_and_after() -> None:
    out = _run("place", HANOI, "--at", "BLD-TL-0001", "--service", "down=1000/10000,up=1000/10000",
               "--limit", "3", "--wide")
    first = next(line for line in out.splitlines() if line.startswith("│ 1 "))
    # the splitter in the customer's own building: 20 m in-building drop, no trench
    assert "│ SP-TL-0002 │" in first and re.search(r"│ +0 │ +20 │", first)
    r = runner.invoke(app, ["place", HANOI, "--at", "BLD-TL-0001", "--service",
                            "down=1000/10000,up=1000/10000", "--json"])
    c = json.loads(r.stdout)["candidates"][0]
    change = c["port_guaranteed_change_mbps"]["down"]
    assert change == 1000.0  # the new customer's assured rate
    assert c["port_guaranteed_after_mbps"]["down"] == \
        c["port_guaranteed_before_mbps"]["down"] + change
    assert c["port_onts_after"] == c["port_onts_before"] + 1
    assert f"{c['port_guaranteed_before_mbps']['down']:,.0f} → " \
        f"{c['port_guaranteed_after_mbps']['down']:,.0f}" in first


BOX_LEFT, BOX_RIGHT = "┏┃┡│└", "┓┃┩│┘"

WIDE_COMMANDS = [
    ("budget", HANOI, "--zone", "thang-long-iz", "--limit", "8"),
    ("upgrade", str(FIXTURES / "gpon_legacy.json")),
    ("upgrade", HANOI, "--limit", "8"),
    ("capacity", HANOI, "--by", "port", "--limit", "8"),
    ("ducts", HANOI, "--limit", "8"),
    ("place", HANOI, "--at", "BLD-TL-0001", "--service", "down=1000/10000,up=1000/10000",
     "--limit", "4"),
    ("route", str(FIXTURES / "two_operators_shared_duct.json"), "--from", "EX-01", "--to",
     "CAB-02", "--fibre-count", "96", "--k", "3"),
    ("impact", HANOI, "--element", "SP-TL-0010", "--limit", "5"),
    ("trace", "ONT-TL-0037", "-f", HANOI),
    ("what-if", str(FIXTURES / "tiny.json"), "--remove", "ONT-02"),
]


@pytest.mark.parametrize("columns", [60, 80, 100])
@pytest.mark.parametrize("args", WIDE_COMMANDS, ids=lambda a: a[0])
def test_no_table_is_cropped_at_any_width(args: tuple[str, ...], columns: int,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # the CLI's console reads the terminal's width once, when it starts: a fresh one here
    monkeypatch.setattr(cli, "console", Console(width=columns))
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    for line in r.stdout.splitlines():
        text = line.rstrip()
        if text[:1] in BOX_LEFT:
            # a table row drawn whole: both borders, within the terminal (rich crops silently)
            assert text[-1:] in BOX_RIGHT, (columns, line)
            assert len(text) <= columns, (columns, line)
            for cell in text.strip("┃│").split("│" if "│" in text else "┃"):
                assert not cell.strip().endswith("…"), (columns, line)
    # what --json holds shows whole in the table: every id of the first rows
    ids = re.findall(r"\b(?:ONT|OLT|SP|DU|DR|FL|CAB|EX)-[A-Z0-9/-]+\b", r.stdout)
    assert ids, r.stdout
    whole = _json_text(args)
    for ident in ids:
        assert ident in whole, ident


def _json_text(args: tuple[str, ...]) -> str:
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    return r.stdout


def test_a_narrow_terminal_prints_rows_as_blocks_rather_than_cut(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "console", Console(width=40))
    r = runner.invoke(app, ["budget", HANOI, "--zone", "thang-long-iz", "--limit", "2"])
    ids = re.findall(r"^ +ONT: (\S+)$", r.stdout, re.M)
    body = json.loads(_json_text(("budget", HANOI, "--zone", "thang-long-iz")))
    assert ids == [o["id"] for o in body["onts"][:2]]
    ports = re.findall(r"^ +port: (\S+)$", r.stdout, re.M)
    assert ports == [o["port"] for o in body["onts"][:2]]
