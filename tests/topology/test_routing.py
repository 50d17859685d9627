"""Routing a new cable: detours around full ducts, empty innerducts, constraints, no route."""

from __future__ import annotations

from itertools import islice
from typing import Any

import networkx as nx
import pytest

from ponmodel.document import load_document
from ponmodel.errors import NotFoundError
from ponmodel.topology.build import build_topology
from ponmodel.topology.ducts_bench import city_ducts
from ponmodel.topology.routing import plan_route, routing_index

#   A ─D1 100 m─ B ─D2 100 m─ C        shortest A→C: D1 D2, 200 m
#   A ─D3 150 m─ E ─D4 150 m─ C        detour: 300 m
#   A ─D5 120 m─ F ─D6 120 m─ C        detour: 240 m
_STRUCTURES = {"A": (105.800, 21.000), "B": (105.801, 21.000), "C": (105.802, 21.000),
               "E": (105.801, 21.001), "F": (105.801, 20.999)}
_DUCTS = {"D1": ("A", "B", 100.0), "D2": ("B", "C", 100.0), "D3": ("A", "E", 150.0),
          "D4": ("E", "C", 150.0), "D5": ("A", "F", 120.0), "D6": ("F", "C", 120.0)}


def _doc(*, full: tuple[str, ...] = (), inner_in: str | None = None, host_mm: float = 50.0,
         owners: dict[str, str] | None = None) -> dict[str, Any]:
    """The three ways A→C; each duct in ``full`` is a 30 mm duct holding a 20 mm cable
    ((400 + 196) / 900 = 0.66 > 31 % for a 14 mm one); ``inner_in`` gets an empty 32/40 mm
    innerduct of fpt's and a 14 mm cable, and becomes ``host_mm`` wide."""
    ducts = []
    for duct_id, (a, b, length) in _DUCTS.items():
        ducts.append({"id": duct_id, "from": a, "to": b, "length_m": length,
                      "inner_diameter_mm": 30.0 if duct_id in full else 100.0,
                      "owner": (owners or {}).get(duct_id, "board")})
    if inner_in is not None:
        host = next(d for d in ducts if d["id"] == inner_in)
        host["inner_diameter_mm"] = host_mm
        a, b, length = _DUCTS[inner_in]
        ducts.append({"id": f"{inner_in}-i1", "from": a, "to": b, "length_m": length,
                      "inner_diameter_mm": 32.0, "outer_diameter_mm": 40.0,
                      "within": inner_in, "owner": "fpt"})
    cables = [{"id": f"X-{d}", "operator": "vnpt", "fibre_count": 96, "outer_diameter_mm": 20.0,
               "ducts": [d]} for d in full]
    if inner_in is not None:
        cables.append({"id": "X-host", "operator": "vnpt", "fibre_count": 96,
                       "outer_diameter_mm": 14.0, "ducts": [inner_in]})
    return load_document({
        "format": "ponmodel/1",
        "operators": [{"id": o, "name": o} for o in ("vnpt", "fpt", "board")],
        "structures": [{"id": s, "kind": "manhole", "lon": lon, "lat": lat}
                       for s, (lon, lat) in _STRUCTURES.items()],
        "ducts": ducts,
        "cables": cables,
    })


def test_shortest_route_with_fill_before_and_after() -> None:
    r = plan_route(_doc(), "A", "C", cable_diameter_mm=14.0, k=3)
    assert [(x["ducts"], x["length_m"]) for x in r["routes"]] == [
        (["D1", "D2"], 200.0), (["D5", "D6"], 240.0), (["D3", "D4"], 300.0)]
    best = r["routes"][0]
    # empty 100 mm duct: 0 before, 14² / 100² = 0.0196 after, limit for one cable 53 %
    assert best["fill_before"] == {"D1": 0.0, "D2": 0.0}
    assert best["fill_after"]["D1"] == pytest.approx(0.0196, rel=1e-12)
    assert best["hops"][0]["limit_after"] == 0.53
    assert best["structures"] == ["A", "B", "C"]
    assert (r["blocking"], r["reason"]) == ([], None)


def test_detours_around_a_full_duct() -> None:
    r = plan_route(_doc(full=("D2",)), "A", "C", cable_diameter_mm=14.0, k=2)
    # D2: (20² + 14²) / 30² = 596 / 900 = 0.662 > 0.31 → A-F-C (240 m), then A-E-C (300 m)
    assert [(x["ducts"], x["length_m"]) for x in r["routes"]] == [
        (["D5", "D6"], 240.0), (["D3", "D4"], 300.0)]
    # no second cable of any size fits: 0.31 · 900 = 279 mm² < 400 mm² already there
    assert plan_route(_doc(full=("D2",)), "A", "C", cable_diameter_mm=4.0)["routes"][0][
        "ducts"] == ["D5", "D6"]


def test_uses_an_empty_innerduct_of_a_full_duct() -> None:
    r = plan_route(_doc(inner_in="D2"), "A", "C", fibre_count=96)
    route = r["routes"][0]
    # D2 (50 mm) holds the 40 mm innerduct and a 14 mm cable: (1600 + 196 + 196) / 2500 =
    # 0.797 > 0.40 directly; the empty innerduct takes it: 14² / 32² = 196 / 1024 ≤ 0.53
    assert r["cable_diameter_mm"] == 14.0  # 96 fibres, the catalogue's diameter
    assert route["ducts"] == ["D1", "D2-i1"]
    assert route["length_m"] == 200.0
    hop = route["hops"][1]
    assert (hop["duct"], hop["occupies"], hop["innerduct"]) == ("D2", "D2-i1", True)
    assert route["fill_after"]["D2-i1"] == pytest.approx(196 / 1024, rel=1e-12)
    assert route["fill_before"]["D2-i1"] == 0.0
    # a 24 mm cable does not fit it (576 / 1024 = 0.5625 > 0.53): detour
    assert plan_route(_doc(inner_in="D2"), "A", "C", cable_diameter_mm=24.0)["routes"][0][
        "ducts"] == ["D5", "D6"]


def test_operator_prefers_its_own_empty_innerduct() -> None:
    doc = _doc(inner_in="D1", host_mm=100.0)
    # D1 (100 mm) holds the 40 mm innerduct and a 14 mm cable: a 12 mm one fits directly,
    # (1600 + 196 + 144) / 10000 = 0.194 ≤ 0.40; fpt's goes into fpt's own innerduct, any
    # other operator's into the duct itself (not into another operator's innerduct)
    assert plan_route(doc, "A", "C", cable_diameter_mm=12.0, operator="fpt")["routes"][0][
        "ducts"] == ["D1-i1", "D2"]
    assert plan_route(doc, "A", "C", cable_diameter_mm=12.0, operator="vnpt")["routes"][0][
        "ducts"] == ["D1", "D2"]


def test_fails_with_the_blocking_ducts_named() -> None:
    r = plan_route(_doc(full=("D2", "D4", "D6")), "A", "C", cable_diameter_mm=14.0, k=3)
    # reachable from A: B, E, F; every way on to C is through a full duct
    assert r["routes"] == []
    assert r["blocking"] == ["D2", "D4", "D6"]
    assert "D2, D4, D6" in r["reason"]


def test_constraints_avoid_owners_via() -> None:
    doc = _doc(owners={"D5": "vnpt", "D6": "vnpt"})
    assert plan_route(doc, "A", "C", cable_diameter_mm=14.0, avoid=["B"])["routes"][0][
        "ducts"] == ["D5", "D6"]
    assert plan_route(doc, "A", "C", cable_diameter_mm=14.0, avoid=["D1", "D5"])["routes"][0][
        "ducts"] == ["D3", "D4"]
    only = plan_route(doc, "A", "C", cable_diameter_mm=14.0, owners=["vnpt"], k=3)
    assert [x["ducts"] for x in only["routes"]] == [["D5", "D6"]]
    via = plan_route(doc, "A", "C", cable_diameter_mm=14.0, via=["E"], k=2)
    assert [(x["ducts"], x["length_m"]) for x in via["routes"]] == [(["D3", "D4"], 300.0)]
    none = plan_route(doc, "A", "C", cable_diameter_mm=14.0, avoid=["B", "E", "F"])
    assert none["routes"] == [] and none["blocking"] == []
    assert none["excluded"] == ["D1", "D3", "D5"]


def test_errors() -> None:
    doc = _doc()
    with pytest.raises(NotFoundError):
        plan_route(doc, "A", "nowhere", cable_diameter_mm=14.0)
    with pytest.raises(NotFoundError):
        plan_route(doc, "A", "C", cable_diameter_mm=14.0, avoid=["D9"])  # a typo
    with pytest.raises(ValueError, match="diameter"):
        plan_route(doc, "A", "C")
    with pytest.raises(ValueError, match="avoid"):
        plan_route(doc, "A", "C", cable_diameter_mm=14.0, avoid=["C"])
    with pytest.raises(ValueError, match="k must"):
        plan_route(doc, "A", "C", cable_diameter_mm=14.0, k=0)
    # a Topology works as well as a document
    assert plan_route(build_topology(doc), "A", "C", cable_diameter_mm=14.0)["routes"]


def test_k_shortest_match_networkx_yen_on_a_generated_city() -> None:
    doc = city_ducts(1500, seed=3)
    assert city_ducts(1500, seed=3) == doc  # deterministic
    idx = routing_index(doc)
    diameter = 21.0
    # networkx on the same rule: keep ducts with room, collapse parallel ones to the shortest
    fill = {d.id: d for d in idx.fill.ducts}
    g = nx.Graph()
    not_kept = 0
    for d in doc["ducts"]:
        if d["within"] is not None:
            continue
        row = fill[d["id"]]
        room = (row.sum_sq_mm2 + diameter**2) / row.inner_diameter_mm**2 <= idx.limit_next[
            idx.duct_index[d["id"]]] + 1e-12
        room = room or any(
            diameter**2 / fill[i].inner_diameter_mm**2 <= 0.53 + 1e-12
            for i in row.free_innerducts)
        not_kept += not room
        if room:
            old = g.get_edge_data(d["from"], d["to"])
            if old is None or d["length_m"] < old["length_m"]:
                g.add_edge(d["from"], d["to"], length_m=d["length_m"])
    assert not_kept >= 4  # some ducts really are too full for a 288-fibre cable
    pairs = [("MH-0012-0012", "MH-0020-0005"), ("MH-0003-0004", "MH-0015-0016"),
             ("MH-0000-0000", "MH-0009-0001")]
    for a, b in pairs:
        ours = plan_route(idx, a, b, cable_diameter_mm=diameter, k=5)
        assert len(ours["routes"]) == 5
        theirs = list(islice(nx.shortest_simple_paths(g, a, b, weight="length_m"), 5))
        lengths = [nx.path_weight(g, p, "length_m") for p in theirs]
        assert [x["length_m"] for x in ours["routes"]] == pytest.approx(lengths, rel=1e-9)


def test_fewer_routes_than_asked_says_why() -> None:
    # D4 and D6 full: only A-B-C has room; the two other ways pass through D6 (A-F-C, 240 m)
    # and D4 (A-E-C, 300 m), and the reason names them
    r = plan_route(_doc(full=("D4", "D6")), "A", "C", cable_diameter_mm=14.0, k=3)
    assert [x["ducts"] for x in r["routes"]] == [["D1", "D2"]]
    assert r["reason"] == ("only 1 of the 3 routes asked for: the next ways from A to C pass "
                           "through ducts without room for a 14 mm cable: D4, D6")
    # k=2 looks one further than asked (k + the routes found): both other ways again
    r = plan_route(_doc(full=("D4", "D6")), "A", "C", cable_diameter_mm=14.0, k=2)
    assert r["reason"].endswith("without room for a 14 mm cable: D4, D6")
    # every way asked for exists: no reason
    assert plan_route(_doc(), "A", "C", cable_diameter_mm=14.0, k=3)["reason"] is None
    # four ways asked, three exist: none is blocked, there is no other
    r = plan_route(_doc(), "A", "C", cable_diameter_mm=14.0, k=4)
    assert len(r["routes"]) == 3
    assert r["reason"] == ("only 3 of the 4 routes asked for: no other loopless duct path "
                           "joins A and C under the given constraints")
