"""Placement ranks like an engineer (issue 16, item 5): new trench, then drop length, then
headroom; a service that breaks its rules is refused, naming the rule."""

from __future__ import annotations

import functools
import math
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ponmodel import _kernel
from ponmodel.document import Document, load_document, read_document
from ponmodel.errors import InvalidRequestError
from ponmodel.service import check_service
from ponmodel.topology.budget import compute
from ponmodel.topology.build import build_topology
from ponmodel.topology.capacity import network_capacity
from ponmodel.topology.pack import pack_forest
from ponmodel.topology.placement import EARTH_RADIUS_M, RANKED_BY, place, rank_key
from tests.conftest import FIXTURES


@pytest.fixture(autouse=True)
def each_kernel(kernel: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Every test of this module with the compiled kernel and with the twin."""
    for name in ("budget_forward", "budget_check", "allocate"):
        monkeypatch.setattr(_kernel, name, getattr(kernel, name))
    return kernel


def rates(assured: float, maximum: float, fixed: float = 0.0) -> dict[str, dict[str, float]]:
    one = {"fixed_mbps": fixed, "assured_mbps": assured, "max_mbps": maximum}
    return {"down": one, "up": dict(one)}


# a large factory's plan in the Hanoi demo: assured 1 Gbit/s, max 10 Gbit/s, both ways
FACTORY = rates(1000, 10000)


@functools.cache
def hanoi() -> dict[str, Any]:
    """The Hanoi demo and its layers, built once (as the API caches them)."""
    doc = read_document(FIXTURES / "hanoi.json")
    forest = pack_forest(doc)
    return {"doc": doc, "topology": build_topology(doc), "forest": forest,
            "result": compute(forest), "capacity": network_capacity(doc, forest=forest)}


def place_hanoi(structure_id: str, service: dict[str, Any],
                operator: str | None = None) -> dict[str, Any]:
    layers = hanoi()
    return place(layers["doc"], structure_id=structure_id, service=service, operator=operator,
                 topology=layers["topology"], forest=layers["forest"], result=layers["result"],
                 capacity=layers["capacity"])


def test_hanoi_factory_gets_the_splitter_in_its_own_building_first() -> None:
    result = place_hanoi("BLD-TL-0001", FACTORY)
    first, second, third = result["candidates"][:3]
    # Canon Vietnam (lô A1) has its own 1:8, SP-TL-0002: a 20 m in-building drop, no duct,
    # no trench. Ranked by whole-dB headroom it was 13th, behind drops of 3.0-5.2 km.
    assert (first["rank"], first["splitter"], first["structure"]) == (1, "SP-TL-0002",
                                                                      "BLD-TL-0001")
    assert (first["drop_length_m"], first["new_trench_m"]) == (20.0, 0.0)
    assert first["drop_via_ducts"] and first["drop_ducts"] == [] and first["new_trench"] is None
    assert first["worst_headroom_db"] == pytest.approx(2.1594)
    # next: SP-TL-0007 in BLD-TL-0004, DU-TL-0009 178.8 + DU-TL-0004 248.3 = 427.1 m
    assert (second["splitter"], second["drop_ducts"]) == ("SP-TL-0007",
                                                          ["DU-TL-0009", "DU-TL-0004"])
    assert second["drop_length_m"] == pytest.approx(427.1) and second["new_trench_m"] == 0.0
    # SP-TL-0005 in BLD-TL-0003: DU-TL-0008 202.8 + DU-TL-0005 258.1 + DU-TL-0004 248.3
    # = 709.2 m; its 6.0 dB of headroom no longer outweighs 282 m more of drop
    assert third["splitter"] == "SP-TL-0005"
    assert third["drop_length_m"] == pytest.approx(709.2)
    assert third["worst_headroom_db"] == pytest.approx(5.999)
    assert result["ranked_by"] == RANKED_BY
    # no multi-km drop ranks before a shorter one among the trench-free candidates
    lengths = [c["drop_length_m"] for c in result["candidates"] if c["new_trench_m"] == 0]
    assert lengths == sorted(lengths)


LON = 105.80
METRES_PER_MILLIDEGREE = EARTH_RADIUS_M * math.pi / 180 / 1000  # 111.195 m


def small_network() -> Document:
    """Seven structures on one meridian (so straight lines are Δlat × 111.195 m/0.001°).

    The customer's duct network: EX ─D0 500─ CAB-A ─D1 250─ MH ─D2 150─ BLD. Another,
    not joined to it: CAB-B ─D3 80─ HH, with HH 0.001° (111.2 m) north of BLD. FAR has no
    duct, 0.020° (2,224 m) north of BLD. Each splitter (1:32) on its own N1 port: SP-IN in
    BLD (feeder 1.5 km), SP-A and SP-A2 in CAB-A (2 km and 6 km), SP-B in CAB-B (3 km),
    SP-FAR in FAR (1 km).
    """
    structures = [("EX", "exchange", 21.000), ("CAB-A", "cabinet", 21.004),
                  ("MH", "manhole", 21.006), ("BLD", "building", 21.007),
                  ("HH", "manhole", 21.008), ("CAB-B", "cabinet", 21.0086),
                  ("FAR", "building", 21.027)]
    ducts = [("D0", "EX", "CAB-A", 500.0), ("D1", "CAB-A", "MH", 250.0),
             ("D2", "MH", "BLD", 150.0), ("D3", "CAB-B", "HH", 80.0)]
    feeders = [("SP-IN", "BLD", 1500.0), ("SP-A", "CAB-A", 2000.0), ("SP-A2", "CAB-A", 6000.0),
               ("SP-B", "CAB-B", 3000.0), ("SP-FAR", "FAR", 1000.0)]
    return load_document({
        "format": "ponmodel/1",
        "operators": [{"id": "vnpt", "name": "VNPT"}],
        "zones": [{"id": "z", "name": "Z", "kind": "industrial_zone"}],
        "structures": [{"id": s, "zone": "z", "kind": kind, "lon": LON, "lat": lat}
                       for s, kind, lat in structures],
        "ducts": [{"id": d, "from": a, "to": b, "length_m": length, "inner_diameter_mm": 100,
                   "owner": "vnpt"} for d, a, b, length in ducts],
        "olts": [{"id": "OLT", "operator": "vnpt", "structure": "EX", "uplink_gbps": 100,
                  "ports": [{"id": f"P-{sp}", "technology": "xgs-pon", "optics_class": "N1"}
                            for sp, _, _ in feeders]}],
        "splitters": [{"id": sp, "structure": at, "ratio": 32} for sp, at, _ in feeders],
        "onts": [{"id": "ONT-1", "structure": "BLD", "kind": "enterprise",
                  "service": rates(100, 1000)}],
        "links": [*({"id": f"F-{sp}", "from": f"P-{sp}", "to": sp, "length_m": length}
                    for sp, _, length in feeders),
                  {"id": "D-1", "from": "SP-A", "to": "ONT-1", "length_m": 400.0}],
    })


def test_ducts_before_trench_then_length_then_headroom() -> None:
    result = place(small_network(), structure_id="BLD", service=rates(100, 1000))
    by_id = {c["splitter"]: c for c in result["candidates"]}
    assert [c["splitter"] for c in result["candidates"]] == ["SP-IN", "SP-A", "SP-A2", "SP-B"]
    assert [c["rank"] for c in result["candidates"]] == [1, 2, 3, 4]
    # downstream (the worst way here), N1: headroom = 2 − loss − 3 margin + 28 = 27 − loss;
    # loss = fibre (feeder + drop) × 0.40 dB/km + 17.2 (1:32) + 2 × 0.75 (drop connectors)
    sp_in = by_id["SP-IN"]  # in BLD: 20 m; 1.52 km × 0.4 = 0.608 + 18.7 = 19.308 dB
    assert (sp_in["drop_length_m"], sp_in["new_trench_m"], sp_in["drop_ducts"]) == (20.0, 0.0, [])
    assert sp_in["worst_headroom_db"] == pytest.approx(27 - 19.308)
    sp_a = by_id["SP-A"]  # D1 250 + D2 150 = 400 m; 2.4 km × 0.4 = 0.96 + 18.7 = 19.66 dB
    assert (sp_a["drop_length_m"], sp_a["new_trench_m"]) == (400.0, 0.0)
    assert sp_a["drop_ducts"] == ["D1", "D2"] and sp_a["drop_via_ducts"]
    assert sp_a["worst_headroom_db"] == pytest.approx(27 - 19.66)
    sp_a2 = by_id["SP-A2"]  # the same 400 m drop; 6.4 km × 0.4 = 2.56 + 18.7 = 21.26 dB
    assert sp_a2["drop_length_m"] == 400.0
    assert sp_a2["worst_headroom_db"] == pytest.approx(27 - 21.26)
    sp_b = by_id["SP-B"]
    # D3 80 m to HH, then a new trench HH → BLD of 1.3 × 111.195 = 144.554 m:
    # 80 + 144.554 = 224.554 m. Shorter than SP-A's 400 m, but it needs digging.
    trench = 1.3 * METRES_PER_MILLIDEGREE
    assert sp_b["new_trench_m"] == pytest.approx(144.5536, abs=1e-4)
    assert sp_b["new_trench_m"] == pytest.approx(trench, rel=1e-9)
    assert sp_b["drop_length_m"] == pytest.approx(80 + trench, rel=1e-9)
    assert sp_b["drop_ducts"] == ["D3"] and not sp_b["drop_via_ducts"]
    assert (sp_b["new_trench"]["from"], sp_b["new_trench"]["to"]) == ("HH", "BLD")
    assert sp_b["new_trench"]["straight_m"] == pytest.approx(METRES_PER_MILLIDEGREE, rel=1e-9)
    # 3.2246 km × 0.4 = 1.2898 + 18.7 = 19.9898 dB: 7.01 dB, as much headroom as SP-A's
    # 7.34 in whole dB; the old rule (whole dB, then length) put SP-B before SP-A
    assert sp_b["worst_headroom_db"] == pytest.approx(27 - 18.7 - (3000 + 80 + trench) * 4e-4)
    refused = {r["splitter"]: r["reason"] for r in result["refused"]}
    # FAR: no duct, 0.020° = 2,224 m from BLD (its nearest structure of the ducts)
    assert refused == {"SP-FAR": "no duct route to the customer's structure, and a new trench "
                       "would be 2,224 m in a straight line (from FAR to BLD; at most 1,000 m "
                       "is proposed)"}


def test_a_customer_without_ducts_is_reached_by_trench_from_the_nearest_structure() -> None:
    # FAR itself has no duct: every drop to it needs a trench; SP-FAR is in it
    result = place(small_network(), structure_id="FAR", service=rates(100, 1000))
    assert [c["splitter"] for c in result["candidates"]] == ["SP-FAR"]
    assert result["candidates"][0]["drop_length_m"] == 20.0
    # HH is 0.019° = 2,113 m from FAR, the nearest of the others: all beyond 1 km
    assert {r["splitter"] for r in result["refused"]} == {"SP-IN", "SP-A", "SP-A2", "SP-B"}


def ranked(candidates: list[dict[str, Any]]) -> bool:
    keys = [(c["new_trench_m"], c["drop_length_m"], -c["worst_headroom_db"])
            for c in candidates]
    return keys == sorted(keys)


HANOI_STRUCTURES = sorted(s["id"] for s in read_document(FIXTURES / "hanoi.json")["structures"])


@st.composite
def services(draw: st.DrawFn) -> dict[str, dict[str, float]]:
    out = {}
    for d in ("down", "up"):
        fixed = draw(st.sampled_from([0.0, 0.0, 100.0, 500.0]))
        assured = draw(st.floats(0, 3000, allow_nan=False))
        out[d] = {"fixed_mbps": fixed, "assured_mbps": assured,
                  "max_mbps": fixed + assured + draw(st.floats(0, 10000, allow_nan=False))}
    return out


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(structure=st.sampled_from(HANOI_STRUCTURES), service=services(),
       operator=st.sampled_from([None, "vnpt", "viettel", "fpt"]))
def test_candidates_are_sorted_by_trench_then_length_then_headroom(
        structure: str, service: dict[str, Any], operator: str | None) -> None:
    result = place_hanoi(structure, service, operator)
    candidates = result["candidates"]
    assert ranked(candidates)
    assert candidates == sorted(candidates, key=rank_key)
    assert [c["rank"] for c in candidates] == list(range(1, len(candidates) + 1))
    for c in candidates:
        assert c["drop_via_ducts"] == (c["new_trench"] is None)
        if c["drop_via_ducts"]:
            assert c["new_trench_m"] == 0.0
        if c["structure"] == structure:  # in the customer's building: 20 m, nothing to dig
            assert (c["drop_length_m"], c["new_trench_m"], c["drop_ducts"]) == (20.0, 0.0, [])
    # a splitter in the customer's own building ranks before every other
    inside = [c["rank"] for c in candidates if c["structure"] == structure]
    outside = [c["rank"] for c in candidates if c["structure"] != structure]
    assert not inside or not outside or max(inside) < min(outside)


def test_the_small_network_is_ranked_too() -> None:
    assert ranked(place(small_network(), structure_id="MH", service=rates(0, 500))["candidates"])


@pytest.mark.parametrize(("service", "field", "message"), [
    (rates(2000, 1000), "service.down.assured_mbps",
     "service.down: assured_mbps 2000 Mbit/s exceeds max_mbps 1000 Mbit/s (assured ≤ max)"),
    ({"down": {"assured_mbps": 100, "max_mbps": 1000},
      "up": {"fixed_mbps": 1500, "max_mbps": 1000}}, "service.up.fixed_mbps",
     "service.up: fixed_mbps 1500 Mbit/s exceeds max_mbps 1000 Mbit/s (fixed ≤ max)"),
    (rates(800, 1000, fixed=500), "service.down.max_mbps",
     "service.down: fixed_mbps 500 + assured_mbps 800 = 1300 Mbit/s exceeds max_mbps 1000 "
     "Mbit/s (fixed + assured ≤ max)"),
    (rates(-5, 1000), "service.down.assured_mbps",
     "service.down: assured_mbps -5 Mbit/s is negative (rate ≥ 0)"),
    (rates(100, float("nan")), "service.down.max_mbps",
     "service.down: max_mbps nan Mbit/s is not finite (rate is a finite number)"),
    ({"down": {"assured_mbps": 100}, "up": {"max_mbps": 1000}}, "service.down.max_mbps",
     "service.down: max_mbps is missing (every direction has a maximum rate)"),
    ({"down": {"max_mbps": 1000}}, "service.up",
     "service.up: missing (a service has down and up)"),
    ({"down": {"max_mbps": 1000, "asured_mbps": 5}, "up": {"max_mbps": 1000}},
     "service.down.asured_mbps", "service.down: unknown field 'asured_mbps' (fields: "
     "fixed_mbps, assured_mbps, max_mbps, additional, weight)"),
    ({"down": {"max_mbps": "1000"}, "up": {"max_mbps": 1000}}, "service.down.max_mbps",
     "service.down: max_mbps '1000' is not a number (a rate in Mbit/s)"),
])
def test_a_service_that_breaks_a_rule_is_refused_naming_it(
        service: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        place(small_network(), structure_id="BLD", service=service)
    assert (caught.value.field, str(caught.value)) == (field, message)
    assert isinstance(caught.value, ValueError)


def test_a_valid_service_passes_the_check() -> None:
    check_service(FACTORY)
    check_service(rates(1000, 1000))  # assured = max: no additional bandwidth
    check_service({"down": {"max_mbps": 300, "additional": "best_effort", "weight": 2},
                   "up": {"max_mbps": 100}})
