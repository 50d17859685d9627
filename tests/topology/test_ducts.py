"""Duct fill by hand: the NEC rule per occupant count, overrides, innerducts, operator shares."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ponmodel import catalog
from ponmodel.document import load_document, read_document
from ponmodel.errors import NotFoundError
from ponmodel.fill import fill_ratio, max_new_cable_mm
from ponmodel.topology.ducts import duct_fill
from tests.conftest import FIXTURES

Q = math.pi / 4  # cross-section of a unit diameter


def _doc(ducts: list[dict[str, Any]], cables: list[dict[str, Any]]) -> dict[str, Any]:
    """Structures A (zone z1), B, C (zone z2); the given ducts and cables."""
    structures = [
        {"id": "A", "zone": "z1", "kind": "manhole", "lon": 105.80, "lat": 21.00},
        {"id": "B", "zone": "z1", "kind": "manhole", "lon": 105.801, "lat": 21.00},
        {"id": "C", "zone": "z2", "kind": "cabinet", "lon": 105.802, "lat": 21.00},
    ]
    return load_document({
        "format": "ponmodel/1",
        "operators": [{"id": o, "name": o} for o in ("vnpt", "viettel", "fpt", "board")],
        "zones": [{"id": z, "name": z, "kind": "industrial_zone"} for z in ("z1", "z2")],
        "structures": structures,
        "ducts": [{"from": "A", "to": "B", "length_m": 100.0, "owner": "board", **d}
                  for d in ducts],
        "cables": [{"fibre_count": 24, **c} for c in cables],
    })


def _rule_doc() -> dict[str, Any]:
    ducts = [{"id": f"D{i}", "inner_diameter_mm": 100.0} for i in range(1, 6)]
    ducts[3]["max_fill_ratio"] = 0.5
    ducts[4]["to"] = "C"
    cables = [
        {"id": "C1", "operator": "vnpt", "outer_diameter_mm": 20.0, "ducts": ["D1"]},
        {"id": "C2", "operator": "vnpt", "outer_diameter_mm": 30.0, "ducts": ["D2"]},
        {"id": "C3", "operator": "viettel", "outer_diameter_mm": 40.0, "ducts": ["D2"]},
        *({"id": f"C4{i}", "operator": "fpt", "outer_diameter_mm": 40.0, "ducts": ["D3", "D4"]}
          for i in range(3)),
    ]
    return _doc(ducts, cables)


def test_fill_one_two_three_cables_by_hand() -> None:
    r = duct_fill(_rule_doc(), near_share=0.8)
    one, two, three = r.duct("D1"), r.duct("D2"), r.duct("D3")
    # one 20 mm cable in 100 mm: 400 / 10000 = 0.04; limit 53 %
    assert one.fill_ratio == pytest.approx(0.04, rel=1e-12)
    assert (one.limit_ratio, one.over_limit, one.near_limit) == (0.53, False, False)
    # headroom for a second cable: √(0.31 · 10000 − 400) = √2700 = 51.9615 mm
    assert one.max_new_cable_mm == pytest.approx(math.sqrt(2700.0), rel=1e-12)
    # 30 + 40 mm: (900 + 1600) / 10000 = 0.25; limit 31 %; near from 0.8 · 0.31 = 0.248
    assert two.fill_ratio == pytest.approx(0.25, rel=1e-12)
    assert (two.limit_ratio, two.over_limit, two.near_limit) == (0.31, False, True)
    # a third cable: √(0.40 · 10000 − 2500) = √1500 = 38.73 mm
    assert two.max_new_cable_mm == pytest.approx(math.sqrt(1500.0), rel=1e-12)
    # three 40 mm: 3 · 1600 / 10000 = 0.48 > 0.40: over; no room (4000 − 4800 < 0)
    assert three.fill_ratio == pytest.approx(0.48, rel=1e-12)
    assert (three.limit_ratio, three.over_limit, three.max_new_cable_mm) == (0.40, True, 0.0)
    assert three.occupied_area_mm2 == pytest.approx(Q * 4800.0, rel=1e-12)


def test_override_replaces_the_rule() -> None:
    r = duct_fill(_rule_doc())
    d4 = r.duct("D4")
    # the same 0.48 as D3, but the duct's own limit is 0.50: not over, and it stays the limit
    # for one more cable: √(0.50 · 10000 − 4800) = √200
    assert (d4.limit_ratio, d4.limit_source, d4.over_limit) == (0.5, "override", False)
    assert d4.max_new_cable_mm == pytest.approx(math.sqrt(200.0), rel=1e-12)
    assert r.duct("D3").limit_source == "rule"


def test_the_rule_is_replaceable() -> None:
    # a flat 24 % rule (AS/NZS 3084, new installations): D2 at 0.25 is now over
    r = duct_fill(_rule_doc(), limit_rule=lambda n: 0.24)
    assert (r.duct("D2").limit_ratio, r.duct("D2").over_limit) == (0.24, True)
    assert r.duct("D4").limit_ratio == 0.5  # the override still wins
    assert catalog.max_fill_ratio(2) == 0.31  # the catalogue is untouched


def test_zone_lists() -> None:
    r = duct_fill(_rule_doc(), near_share=0.8)
    zones = {z.id: z for z in r.zones}
    # D1..D4 run A–B (z1); D5 runs A–C (z1 and z2) and is empty
    assert zones["z1"].ducts == 5
    assert zones["z1"].over_limit == ["D3"]
    # D2: 0.25 ≥ 0.8 · 0.31 = 0.248; D4: 0.48 ≥ 0.8 · 0.50 = 0.40 (its override)
    assert zones["z1"].near_limit == ["D2", "D4"]
    assert zones["z1"].unused == ["D5"]
    assert (zones["z2"].ducts, zones["z2"].unused) == (1, ["D5"])
    with pytest.raises(NotFoundError):
        r.duct("nope")


def _inner_doc() -> dict[str, Any]:
    """Host H (110 mm) holding innerducts I1 (32/40 mm, fpt's, empty) and I2 (40/50 mm,
    viettel's, one 14 mm cable) and a 12 mm vnpt cable laid directly."""
    return _doc(
        [
            {"id": "H", "inner_diameter_mm": 110.0, "length_m": 200.0},
            {"id": "I1", "inner_diameter_mm": 32.0, "outer_diameter_mm": 40.0, "within": "H",
             "owner": "fpt", "length_m": 200.0},
            {"id": "I2", "inner_diameter_mm": 40.0, "outer_diameter_mm": 50.0, "within": "H",
             "owner": "viettel", "length_m": 200.0},
            {"id": "E", "inner_diameter_mm": 100.0, "length_m": 50.0},
        ],
        [
            {"id": "CV", "operator": "vnpt", "outer_diameter_mm": 12.0, "ducts": ["H", "E"]},
            {"id": "CT", "operator": "viettel", "outer_diameter_mm": 14.0, "ducts": ["I2"]},
        ],
    )


def test_innerducts_are_occupants_and_hold_their_own_cables() -> None:
    r = duct_fill(_inner_doc())
    host, i1, i2 = r.duct("H"), r.duct("I1"), r.duct("I2")
    # occupants of H: the cable laid in it and both innerducts (not CT, which is inside I2)
    assert host.occupants == ["CV", "I1", "I2"]
    assert (host.cables, host.innerducts) == (["CV"], ["I1", "I2"])
    # (144 + 1600 + 2500) / 12100 = 4244 / 12100 = 0.350744; 3 occupants → 40 %
    assert host.fill_ratio == pytest.approx(4244 / 12100, rel=1e-12)
    assert (host.limit_ratio, host.over_limit) == (0.40, False)
    # headroom: √(0.40 · 12100 − 4244) = √596 = 24.41 mm
    assert host.max_new_cable_mm == pytest.approx(math.sqrt(596.0), rel=1e-12)
    # I2: 196 / 1600 = 0.1225 with one cable
    assert (i2.occupants, i2.limit_ratio) == (["CT"], 0.53)
    assert i2.fill_ratio == pytest.approx(0.1225, rel=1e-12)
    # free innerducts: I1 only; it takes √0.53 · 32 = 23.30 mm
    assert host.free_innerducts == ["I1"]
    assert host.max_new_cable_in_innerduct_mm == pytest.approx(math.sqrt(0.53) * 32, rel=1e-12)
    assert i1.occupants == [] and i1.fill_ratio == 0.0
    assert host.operators == ["viettel", "vnpt"]


def test_operator_shares_sum_to_the_occupied_area() -> None:
    r = duct_fill(_inner_doc())
    use = {o.id: o for o in r.operators}
    # H (200 m): vnpt 144, viettel 2500 (I2's OD, all for CT), fpt 1600 (I1 empty: its owner)
    # E (50 m): vnpt 144.  In mm²·m, times π/4:
    assert use["vnpt"].area_mm2_m == pytest.approx(Q * (144 * 200 + 144 * 50), rel=1e-12)
    assert use["viettel"].area_mm2_m == pytest.approx(Q * 2500 * 200, rel=1e-12)
    assert use["fpt"].area_mm2_m == pytest.approx(Q * 1600 * 200, rel=1e-12)
    occupied = sum(d.occupied_area_mm2 * d.length_m for d in r.ducts if d.within is None)
    assert sum(o.area_mm2_m for o in r.operators) == pytest.approx(occupied, rel=1e-12)
    assert sum(o.area_share for o in r.operators) == pytest.approx(1.0, rel=1e-12)
    # 36000 / (36000 + 500000 + 320000)
    assert use["vnpt"].area_share == pytest.approx(36000 / 856000, rel=1e-12)
    # duct-metres: CV through H (200) and E (50); CT through I2 (200); fpt has no cable
    assert (use["vnpt"].duct_metres, use["viettel"].duct_metres) == (250.0, 200.0)
    assert (use["fpt"].duct_metres, use["fpt"].cables) == (0.0, 0)
    assert use["vnpt"].ducts == {"H": ["CV"], "E": ["CV"]}
    # per duct, the split by use adds up to the occupied cross-section
    host = r.duct("H")
    assert sum(host.area_by_operator_mm2.values()) == pytest.approx(host.occupied_area_mm2)


def test_two_operators_shared_duct_fixture() -> None:
    r = duct_fill(read_document(FIXTURES / "two_operators_shared_duct.json"))
    du01 = r.duct("DU-01")
    # 12.6² + 14.0² = 158.76 + 196 = 354.76 over 100² → 0.035476; two cables → 31 %
    assert du01.fill_ratio == pytest.approx(0.035476, rel=1e-12)
    assert (du01.limit_ratio, du01.operators) == (0.31, ["viettel", "vnpt"])
    # vnpt: 158.76 · (240 + 150) = 61916.4; viettel: 196 · (240 + 130) = 72520
    assert r.operator("vnpt").area_share == pytest.approx(61916.4 / 134436.4, rel=1e-12)
    assert r.operator("viettel").duct_metres == 370.0
    out = r.as_dict()
    assert set(out["ducts"][0]) >= {"id", "fill_ratio", "limit_ratio", "over_limit", "occupants",
                                    "operators", "max_new_cable_mm"}
    assert set(out["operators"][0]) >= {"id", "duct_metres", "area_share"}


def test_helpers() -> None:
    assert fill_ratio([], 100.0) == 0.0
    # an empty duct: the first cable may take 53 %: √0.53 · 100 = 72.80 mm
    assert max_new_cable_mm([], 100.0) == pytest.approx(math.sqrt(0.53) * 100, rel=1e-12)


def test_hanoi_has_its_nine_over_limit_ducts() -> None:
    r = duct_fill(read_document(FIXTURES / "hanoi.json"))
    # the generator puts a handful of cabinet ducts over their limit on purpose (README)
    assert sum(d.over_limit for d in r.ducts) == 9
    assert sum(o.area_share for o in r.operators) == pytest.approx(1.0, rel=1e-12)


def _hanoi() -> Any:
    return read_document(FIXTURES / "hanoi.json")


def test_one_duct_fill_equals_the_whole_networks_row_for_every_duct() -> None:
    from ponmodel.topology.ducts import duct_parts, one_duct_fill

    for name in ("hanoi.json", "two_operators_shared_duct.json"):
        doc = read_document(FIXTURES / name)
        whole, parts = duct_fill(doc), duct_parts(doc)
        assert set(parts) == {d["id"] for d in doc["ducts"]}
        for d in doc["ducts"]:
            assert one_duct_fill(parts[d["id"]], d["id"]) == whole.duct(d["id"]), d["id"]


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_one_duct_fill_counts_held_cables_as_the_whole_network_does(data: Any) -> None:
    """Reservations held as cables (random ducts, diameters, operators): each duct's fill
    from its part equals its row of the whole network's fill with the same cables."""
    from ponmodel.topology.ducts import duct_parts, one_duct_fill

    doc = HANOI
    duct_ids = [d["id"] for d in doc["ducts"]]
    held = [
        {"id": f"R{i}", "operator": data.draw(st.sampled_from(["vnpt", "viettel", "fpt"])),
         "outer_diameter_mm": data.draw(st.floats(5.0, 20.0)),
         "ducts": data.draw(st.lists(st.sampled_from(duct_ids), min_size=1, max_size=4,
                                     unique=True))}
        for i in range(data.draw(st.integers(1, 6)))
    ]
    whole = duct_fill({**doc, "cables": [*doc["cables"], *held]})
    parts = duct_parts(doc)
    for duct_id in duct_ids:  # hosts of a touched innerduct change too (its split by operator)
        assert one_duct_fill(parts[duct_id], duct_id, held_cables=held) == whole.duct(duct_id)


HANOI = _hanoi()
