"""Bandwidth at full load for a network: hand-computed tiers, 10G rule, placement, what-if."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ponmodel import _kernel
from ponmodel.document import load_document
from ponmodel.errors import DocumentError, NotFoundError
from ponmodel.topology.build import subset_for_zone
from ponmodel.topology.capacity import network_capacity, refresh_services
from ponmodel.topology.pack import pack_forest
from ponmodel.topology.placement import place
from ponmodel.topology.whatif import apply_changes, what_if
from tests.conftest import fixture_doc


@pytest.fixture(autouse=True)
def each_kernel(kernel: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Every test of this module with the compiled kernel and with the twin."""
    for name in ("budget_forward", "budget_check", "allocate"):
        monkeypatch.setattr(_kernel, name, getattr(kernel, name))
    return kernel


def svc(fixed: float, assured: float, maximum: float, additional: str | None = None,
        weight: float = 1.0) -> dict[str, Any]:
    one = {"fixed_mbps": fixed, "assured_mbps": assured, "max_mbps": maximum,
           "additional": additional, "weight": weight}
    return {"down": one, "up": dict(one)}


def network(onts: dict[str, dict[str, Any]], *, technology: str = "xgs-pon",
            optics_class: str = "N1", capacity: dict[str, float] | None = None,
            uplink_gbps: float = 100, ont_kind: str = "enterprise") -> dict[str, Any]:
    """One port → one 1:32 splitter (1 km feeder) → the given ONTs (100 m drops)."""
    return load_document({
        "format": "ponmodel/1",
        "operators": [{"id": "vnpt", "name": "VNPT"}],
        "zones": [{"id": "z", "name": "Z", "kind": "industrial_zone"}],
        "structures": [{"id": s, "zone": "z", "kind": k, "lon": 105.80 + i * 0.001, "lat": 21.0}
                       for i, (s, k) in enumerate((("EX", "exchange"), ("CAB", "cabinet"),
                                                   ("BLD", "building")))],
        "ducts": [{"id": "D1", "from": "EX", "to": "CAB", "length_m": 800, "inner_diameter_mm": 100,
                   "owner": "vnpt"},
                  {"id": "D2", "from": "CAB", "to": "BLD", "length_m": 150,
                   "inner_diameter_mm": 100, "owner": "vnpt"}],
        "olts": [{"id": "OLT", "operator": "vnpt", "structure": "EX", "uplink_gbps": uplink_gbps,
                  "ports": [{"id": "P", "technology": technology, "optics_class": optics_class,
                             "capacity_mbps": capacity}]}],
        "splitters": [{"id": "SP", "structure": "CAB", "ratio": 32}],
        "onts": [{"id": o, "structure": "BLD", "kind": ont_kind, "service": s}
                 for o, s in onts.items()],
        "links": [{"id": "F", "from": "P", "to": "SP", "length_m": 1000.0},
                  *({"id": f"D-{o}", "from": "SP", "to": o, "length_m": 100.0} for o in onts)],
    })


def test_every_tier_by_hand() -> None:
    # C = 1000 Mbit/s. Fixed: A 100 + B 50 = 150 ≤ 1000. Assured: A 200 + C 300 = 500 ≤ 850.
    # Non-assured (left 350) among A (asks 1000 − 300 = 700, weight 1) and C (asks
    # 600 − 300 = 300, weight 3): level 350 / 4 = 87.5 → A 87.5, C 262.5 (both below demand).
    # Best-effort (left 0): D gets nothing. B has additional none: only its fixed 50.
    report = network({
        "A": svc(100, 200, 1000, "non_assured"),
        "B": svc(50, 0, 50),
        "C": svc(0, 300, 600, "non_assured", weight=3.0),
        "D": svc(0, 0, 1000, "best_effort"),
    }, capacity={"down": 1000.0, "up": 1000.0})
    full = {o.id: o.down.full_load_mbps for o in network_capacity(report).onts}
    assert full == pytest.approx({"A": 387.5, "B": 50.0, "C": 562.5, "D": 0.0})
    port = network_capacity(report).ports[0]
    # guaranteed 300 + 50 + 300 + 0 = 650; sold 1000 + 50 + 600 + 1000 = 2650
    assert (port.down.guaranteed_mbps, port.down.sold_max_mbps) == (650.0, 2650.0)
    assert port.down.oversubscription == pytest.approx(2.65) and port.down.admissible


def test_best_effort_shares_what_non_assured_leaves() -> None:
    # C = 1000: A non-assured asks 200 → gets 200; left 800 for best effort: B (w 1) asks
    # 1000, C (w 3) asks 150. Level 800/4 = 200: C needs 150/3 = 50 per weight → C 150;
    # then B gets the remaining 650.
    report = network_capacity(network({
        "A": svc(0, 0, 200, "non_assured"),
        "B": svc(0, 0, 1000, "best_effort"),
        "C": svc(0, 0, 150, "best_effort", weight=3.0),
    }, capacity={"down": 1000.0, "up": 1000.0}))
    assert {o.id: o.down.full_load_mbps for o in report.onts} == pytest.approx(
        {"A": 200.0, "B": 650.0, "C": 150.0})


def test_overbooked_port_scales_fixed_and_assured() -> None:
    # C = 1000; fixed 600 + 600 = 1200 > 1000 → each scaled by 1000/1200: 500 each;
    # nothing left for assured. The port is not admissible (guaranteed 1200 + 400 > 1000).
    report = network_capacity(network({
        "A": svc(600, 200, 2000), "B": svc(600, 200, 2000),
    }, capacity={"down": 1000.0, "up": 1000.0}))
    assert [o.down.full_load_mbps for o in report.onts] == pytest.approx([500.0, 500.0])
    assert not report.ports[0].down.admissible
    assert report.ports[0].down.guaranteed_mbps == 1600.0


def test_fixed_bandwidth_of_idle_onts_caps_peak() -> None:
    # C = 1000: B and C reserve 300 fixed each even when idle → A's peak is
    # min(1000, 1000 − 600) = 400, though it may buy up to 1000.
    report = network_capacity(network({
        "A": svc(0, 0, 1000, "best_effort"), "B": svc(300, 0, 300), "C": svc(300, 0, 300),
    }, capacity={"down": 1000.0, "up": 1000.0}))
    assert report.ont("A").down.peak_mbps == pytest.approx(400.0)
    assert report.ont("B").down.peak_mbps == pytest.approx(300.0)


def test_capacity_model_of_xgs_pon_is_used_without_override() -> None:
    from ponmodel import catalog

    report = network_capacity(network({"A": svc(0, 100, 1000)}))
    tech = catalog.technology("xgs-pon")
    assert report.ports[0].down.capacity_mbps == tech.capacity_down_mbps
    assert report.ports[0].up.capacity_mbps == tech.capacity_up_mbps


def test_gpon_is_never_ten_g_symmetric() -> None:
    report = network_capacity(network({"A": svc(0, 100, 1000)}, technology="gpon",
                                      optics_class="C+"))
    ont = report.ont("A")
    assert not ont.ten_g_symmetric
    assert ont.reasons == ["gpon line rate 2.49/1.24 Gbit/s is not 9.95 Gbit/s both ways"]


def test_xgs_pon_failing_only_on_its_uplink() -> None:
    report = network_capacity(network({"A": svc(0, 1000, 10000)}, uplink_gbps=1))
    ont = report.ont("A")
    assert not ont.ten_g_symmetric
    assert ont.reasons == ["OLT OLT uplink 1 Gbit/s is below 10 Gbit/s"]
    olt = report.olts[0]
    # uplink 1 Gbit/s = 1000 Mbit/s against 1000 guaranteed and 10000 sold: 10×, admissible
    assert (olt.down.capacity_mbps, olt.down.oversubscription, olt.down.admissible) == (
        1000.0, 10.0, True)


def test_xgs_pon_ten_g_symmetric_when_everything_holds() -> None:
    report = network_capacity(network({"A": svc(0, 1000, 10000)}))
    assert report.ont("A").ten_g_symmetric and report.ont("A").reasons == []
    assert report.summary("zone")[0]["enterprise_ten_g_symmetric_share"] == 1.0


SERVICE = {"down": {"fixed_mbps": 0.0, "assured_mbps": 100.0, "max_mbps": 1000.0},
           "up": {"fixed_mbps": 0.0, "assured_mbps": 100.0, "max_mbps": 1000.0}}


def _two_splitters() -> dict[str, Any]:
    """SP-NEAR (1:4, full: 4 ONTs) and SP-FAR (1:8, 1 ONT) on the same port; the customer is
    at BLD; SP-FAR sits in CAB, 150 m of duct away."""
    doc = network({"A": svc(0, 100, 1000)})
    raw = {k: v for k, v in doc.items()}
    raw["splitters"] = [{"id": "SP", "structure": "CAB", "ratio": 2},
                        {"id": "SP-NEAR", "structure": "BLD", "ratio": 4},
                        {"id": "SP-FAR", "structure": "CAB", "ratio": 8}]
    raw["onts"] = [*raw["onts"], *({"id": f"N{i}", "structure": "BLD", "kind": "residential",
                                    "service": svc(0, 0, 500)} for i in range(4))]
    raw["links"] = [
        {"id": "F", "from": "P", "to": "SP", "length_m": 1000.0},
        {"id": "L-NEAR", "from": "SP", "to": "SP-NEAR", "length_m": 200.0},
        {"id": "L-FAR", "from": "SP", "to": "SP-FAR", "length_m": 50.0},
        {"id": "D-A", "from": "SP-FAR", "to": "A", "length_m": 150.0},
        *({"id": f"D-N{i}", "from": "SP-NEAR", "to": f"N{i}", "length_m": 30.0} for i in range(4)),
    ]
    return load_document(raw)


def test_placement_picks_the_splitter_with_a_free_output() -> None:
    doc = _two_splitters()
    result = place(doc, structure_id="BLD", service=SERVICE)
    assert [c["splitter"] for c in result["candidates"]] == ["SP-FAR"]
    best = result["candidates"][0]
    # drop along duct D2: 150 m; distance 1000 + 50 + 150 = 1200 m; split 1:2 × 1:8 = 1:16
    assert best["drop_length_m"] == 150.0 and best["drop_ducts"] == ["D2"]
    assert best["distance_m"] == 1200.0 and best["split"] == 16
    # loss at 1577 nm: fibre 1.2 km × 0.40 = 0.48; splitters 4.3 + 10.7 = 15.0;
    # drop connectors 2 × 0.75 = 1.5 → 16.98 dB; N1 downstream: 2 − 16.98 − 3 = −17.98 dBm
    assert best["downstream"]["loss_db"] == pytest.approx(16.98)
    assert best["downstream"]["headroom_db"] == pytest.approx(-17.98 + 28)
    refused = {r["splitter"]: r["reason"] for r in result["refused"]}
    assert refused["SP-NEAR"] == "no free output (1:4 all used)"
    assert refused["SP"] == "no free output (1:2 all used)"


def test_placement_refuses_when_no_splitter_qualifies() -> None:
    doc = _two_splitters()
    greedy = {"down": {"fixed_mbps": 0.0, "assured_mbps": 9000.0, "max_mbps": 10000.0},
              "up": {"fixed_mbps": 0.0, "assured_mbps": 100.0, "max_mbps": 1000.0}}
    result = place(doc, structure_id="BLD", service=greedy)
    assert result["candidates"] == []
    reason = {r["splitter"]: r["reason"] for r in result["refused"]}["SP-FAR"]
    assert reason.startswith("port downstream would not stay admissible (9,100 > 8,591")
    assert place(doc, structure_id="BLD", service=SERVICE, operator="viettel")["candidates"] == []


def test_placement_of_an_unknown_structure() -> None:
    with pytest.raises(NotFoundError):
        place(_two_splitters(), structure_id="NOWHERE", service=SERVICE)


def test_what_if_remove_and_reprofile() -> None:
    doc = network({"A": svc(0, 0, 1000, "best_effort"), "B": svc(300, 0, 300)},
                  capacity={"down": 1000.0, "up": 1000.0})
    result = what_if(doc, remove=["B"])
    assert result["capacity"].ont("A").down.peak_mbps == pytest.approx(1000.0)
    result = what_if(doc, profile={"B": svc(600, 0, 600)})
    assert result["capacity"].ont("A").down.peak_mbps == pytest.approx(400.0)
    # nothing was written to the original
    assert [o["service"]["down"]["fixed_mbps"] for o in doc["onts"]] == [0.0, 300.0]


def test_what_if_add_needs_a_valid_link() -> None:
    doc = network({"A": svc(0, 0, 1000)})
    new = {"ont": {"id": "NEW", "structure": "BLD", "kind": "enterprise",
                   "service": svc(0, 500, 5000)},
           "link": {"id": "D-NEW", "from": "SP", "to": "NEW", "length_m": 80.0}}
    report = what_if(doc, add=[new])["capacity"]
    assert report.ont("NEW").down.guaranteed_mbps == 500.0
    with pytest.raises(DocumentError, match="refers to 'SP-X', which does not exist"):
        apply_changes(doc, add=[{**new, "link": {**new["link"], "from": "SP-X"}}])


# --------------------------------------------------------------------------- refresh


def test_a_refreshed_port_by_hand() -> None:
    # One port of 1000 Mbit/s, A (max 800) and B (max 900) best effort: water-filling gives
    # each 500 (1000 / 2, both want more); worst served B (500 / 900 = 0.56 < 500 / 800).
    doc = network({"A": svc(0, 0, 800), "B": svc(0, 0, 900)},
                  capacity={"down": 1000, "up": 1000})
    forest = pack_forest(doc)
    before = network_capacity(doc, forest=forest)
    assert [before.ont(o).down.full_load_mbps for o in "AB"] == [500.0, 500.0]
    assert before.ports[0].worst_served_ont == "B"
    onts = {o["id"]: o for o in doc["onts"]}
    onts["A"] = {**onts["A"], "service": svc(0, 0, 200)}
    # A's max cut to 200: A keeps 200, B takes 800 of the 800 left (800 / 900 = 0.89)
    after = refresh_services(before, forest, onts, ["A"])
    assert [after.ont(o).down.full_load_mbps for o in "AB"] == [200.0, 800.0]
    assert after.ports[0].down.sold_max_mbps == after.olts[0].down.sold_max_mbps == 1100.0
    assert after.ports[0].worst_served_ont == "B"
    assert after.ports[0].worst_served_share == 800.0 / 900.0
    # A's max raised to 3000: 500 each again, A now worst (500 / 3000 = 0.17)
    onts["A"] = {**onts["A"], "service": svc(0, 0, 3000)}
    raised = refresh_services(after, forest, onts, ["A"])
    assert raised.ports[0].worst_served_ont == "A"
    assert raised.olts[0].up.sold_max_mbps == 3900.0  # 3000 + 900
    assert before.ont("A").down.full_load_mbps == 500.0  # the old reports stay as they were
    assert after.ont("A").down.max_mbps == 200.0
    assert refresh_services(before, forest, onts, ["not-an-ont", "P", "SP"]) is before
    other = pack_forest(network({"B": svc(0, 0, 900), "A": svc(0, 0, 800)}))
    with pytest.raises(ValueError, match="not computed on this forest"):
        refresh_services(before, other, onts, ["A"])  # a report of another network


_RATE = st.integers(min_value=0, max_value=4000).map(float)


@st.composite
def _direction(draw: st.DrawFn) -> dict[str, Any]:
    fixed, assured, extra = draw(_RATE), draw(_RATE), draw(_RATE)
    return {"fixed_mbps": fixed, "assured_mbps": assured, "max_mbps": fixed + assured + extra,
            "additional": draw(st.sampled_from([None, "non_assured", "best_effort", "none"])),
            "weight": draw(st.sampled_from([0.5, 1.0, 2.0, 7.0]))}


@pytest.fixture(scope="module")
def hanoi_views() -> list[tuple[dict[str, Any], Any, Any]]:
    """The Hanoi network and one zone of it: (document, forest, capacity report)."""
    doc = load_document(fixture_doc("hanoi.json"))
    views = []
    for view in (doc, subset_for_zone(doc, "thang-long-iz")):
        forest = pack_forest(view)
        views.append((view, forest, network_capacity(view, forest=forest)))
    return views


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_refreshed_services_equal_a_whole_recompute(
        hanoi_views: list[tuple[dict[str, Any], Any, Any]], data: st.DataObject) -> None:
    view, forest, report = data.draw(st.sampled_from(hanoi_views))
    before = report.as_dict()
    ids = data.draw(st.lists(st.sampled_from([o["id"] for o in view["onts"]]),
                             min_size=1, max_size=6, unique=True))
    edited = {**view, "onts": [dict(o) for o in view["onts"]]}
    onts = {o["id"]: o for o in edited["onts"]}
    for ont_id in ids:
        onts[ont_id]["service"] = {"down": data.draw(_direction()), "up": data.draw(_direction())}
    whole = network_capacity(edited, forest=forest)
    refreshed = refresh_services(report, forest, onts, ids)
    assert refreshed.as_dict() == whole.as_dict()  # every figure, to the last bit
    assert report.as_dict() == before
