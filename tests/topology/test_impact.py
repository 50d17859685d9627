"""Failure impact on two operators sharing a duct, innerducts, structures, shared risk."""

from __future__ import annotations

from typing import Any

import pytest

from ponmodel.document import read_document
from ponmodel.errors import NotFoundError
from ponmodel.topology.impact import impact, impact_index, shared_risk
from tests.conftest import FIXTURES

# two_operators_shared_duct.json: EX-01 ─DU-01 (HHTIP)─ MH-01 ─DU-02─ CAB-01 (vnpt SP-01 1:16:
# ONT-01, ONT-02 of Sumi-Hanel); MH-01 ─DU-03─ CAB-02 (viettel SP-02 1:32: ONT-03, ONT-04 of
# Hanel). CB-01 (vnpt) runs DU-01, DU-02 and carries FL-01; CB-02 (viettel) runs DU-01, DU-03
# and carries FL-02.


@pytest.fixture(scope="module")
def shared() -> Any:
    return impact_index(read_document(FIXTURES / "two_operators_shared_duct.json"))


def test_shared_duct_cuts_both_operators(shared: Any) -> None:
    r = impact(shared, ["DU-01"])
    assert r["cables"] == ["CB-01", "CB-02"]
    assert r["links"] == ["FL-01", "FL-02"]
    assert r["onts"] == ["ONT-01", "ONT-02", "ONT-03", "ONT-04"]
    assert r["by_operator"] == {"viettel": 2, "vnpt": 2}
    assert r["by_customer"] == {"Hanel": 2, "Sumi-Hanel": 2}
    assert r["by_zone"] == {"sai-dong-b-iz": 4}
    # 2 feeders + 4 drops downstream
    assert r["totals"]["links_out_of_service"] == 6
    assert (r["totals"]["onts"], r["totals"]["customers"], r["sites"]) == (4, 2, [])


def test_own_duct_cuts_one_operator(shared: Any) -> None:
    r = impact(shared, "DU-02")
    assert (r["cables"], r["links"]) == (["CB-01"], ["FL-01"])
    assert r["onts"] == ["ONT-01", "ONT-02"]
    assert r["by_operator"] == {"vnpt": 2}
    assert r["links_out_of_service"] == ["DR-01", "DR-02", "FL-01"]


def test_structures_equipment_and_sets(shared: Any) -> None:
    # MH-01: every duct ends there
    assert impact(shared, "MH-01")["ducts"] == ["DU-01", "DU-02", "DU-03"]
    # CAB-02: DU-03 and splitter SP-02 there
    cab = impact(shared, "CAB-02")
    assert (cab["ducts"], cab["onts"]) == (["DU-03"], ["ONT-03", "ONT-04"])
    # an OLT: no link is cut, all its tree is out of service
    olt = impact(shared, ["OLT-VTL-01"])
    assert (olt["links"], olt["links_out_of_service"]) == ([], ["DR-03", "DR-04", "FL-02"])
    # a PON port, a cable, a splitter
    assert impact(shared, "OLT-VNPT-01/1/1")["onts"] == ["ONT-01", "ONT-02"]
    assert impact(shared, "CB-02")["by_operator"] == {"viettel": 2}
    assert impact(shared, "SP-01")["links"] == []
    # a planned dig: two elements at once, traversed once, nothing counted twice
    both = impact(shared, ["DU-02", "SP-02", "DU-02"])
    assert both["elements"] == ["DU-02", "SP-02"]
    assert both["totals"]["onts"] == 4


def test_unknown_or_unfailing_element(shared: Any) -> None:
    with pytest.raises(NotFoundError):
        impact(shared, ["nope"])
    with pytest.raises(NotFoundError):
        impact(shared, ["vnpt"])  # an operator does not fail


def test_site_backhaul_lost() -> None:
    # tiny.json: CB-01 runs DU-01, DU-02 and carries FL-01 to SP-01; ONT-03 backhauls SITE-01
    doc = read_document(FIXTURES / "tiny.json")
    r = impact(doc, ["DU-02"])
    assert r["onts"] == ["ONT-01", "ONT-02", "ONT-03"]
    assert r["sites"] == ["SITE-01"]
    assert r["sites_by_operator"] == {"vnpt": 1}
    # SITE-01 stands in BLD-01: failing the building takes the site itself and the ONTs there
    b = impact(doc, "BLD-01")
    assert (b["sites_at_failed_structures"], b["totals"]["onts"]) == (["SITE-01"], 3)


def test_innerducts_fail_with_their_duct() -> None:
    doc = read_document(FIXTURES / "hanoi.json")
    idx = impact_index(doc)
    host = impact(idx, "DU-HL-0040")
    inner = impact(idx, "DU-HL-0041")
    assert host["ducts"] == ["DU-HL-0040", "DU-HL-0041"]
    # the host's loss includes everything its innerduct's loss does
    assert set(inner["onts"]) <= set(host["onts"])
    assert set(inner["cables"]) < set(host["cables"])


def test_shared_risk(shared: Any) -> None:
    r = shared_risk(shared, share=0.5)
    assert [(d["id"], d["onts_by_operator"]) for d in r["shared_ducts"]] == [
        ("DU-01", {"viettel": 2, "vnpt": 2})]
    assert r["shared_ducts"][0]["cables_by_operator"] == {"viettel": ["CB-02"],
                                                          "vnpt": ["CB-01"]}
    # each operator's 2 ONTs of the zone behind one feeder: DU-01 and its own duct cut 2 / 2
    assert [(p["duct"], p["share"]) for p in r["single_points"]["viettel"]] == [
        ("DU-01", 1.0), ("DU-03", 1.0)]
    assert r["single_points"]["vnpt"][0] == {
        "duct": "DU-01", "zone": "sai-dong-b-iz", "onts_lost": 2, "onts_in_zone": 2,
        "share": 1.0}
    # "more than" the share: a 100 % share lists nothing
    assert shared_risk(shared, share=1.0)["single_points"] == {}


def test_shared_risk_agrees_with_impact_on_hanoi() -> None:
    idx = impact_index(read_document(FIXTURES / "hanoi.json"))
    r = shared_risk(idx, share=0.2)
    for row in r["shared_ducts"][:10]:
        assert impact(idx, row["id"])["by_operator"] == row["onts_by_operator"]
    for op, rows in r["single_points"].items():
        for row in rows[:5]:
            by_zone = impact(idx, row["duct"])
            lost = sum(1 for o in by_zone["onts"]
                       if idx.ont_operator[o] == op and idx.ont_zone[o] == row["zone"])
            assert lost == row["onts_lost"] and row["share"] > 0.2
