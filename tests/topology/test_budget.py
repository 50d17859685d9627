"""The optical budget engine: hand-computed cases, class boundaries, both kernels."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import pytest

from ponmodel import _kernel, catalog
from ponmodel.document import load_document
from ponmodel.topology.budget import hop_losses, network_budget
from ponmodel.topology.pack import pack_forest
from ponmodel.topology.upgrade import upgrade_readiness


@pytest.fixture(autouse=True)
def each_kernel(kernel: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Run every test of this module with the compiled kernel and with the twin."""
    monkeypatch.setattr(_kernel, "budget_forward", kernel.budget_forward)
    monkeypatch.setattr(_kernel, "budget_check", kernel.budget_check)
    return kernel


SVC = {"down": {"max_mbps": 1000}, "up": {"max_mbps": 1000}}


def network(links: list[dict[str, Any]], *, splitters: list[dict[str, Any]] | None = None,
            ports: list[dict[str, Any]] | None = None, onts: list[str] | None = None,
            defaults: dict[str, Any] | None = None, cables: list[dict[str, Any]] | None = None,
            ont_overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """A one-OLT network in one building; ONTs are the link targets that are no splitter."""
    splitters = splitters or []
    names = {s["id"] for s in splitters}
    onts = onts or sorted({lk["to"] for lk in links if lk["to"] not in names})
    ports = ports or [{"id": "P", "technology": "xgs-pon", "optics_class": "N1"}]
    return load_document({
        "format": "ponmodel/1",
        "defaults": defaults,
        "operators": [{"id": "op", "name": "Operator"}],
        "zones": [{"id": "z", "name": "Z", "kind": "industrial_zone"}],
        "structures": [{"id": "BLD", "zone": "z", "kind": "building", "lon": 105.8, "lat": 21.0}],
        "cables": cables or [],
        "olts": [{"id": "OLT", "operator": "op", "structure": "BLD", "uplink_gbps": 100,
                  "ports": ports}],
        "splitters": [{"structure": "BLD", **s} for s in splitters],
        "onts": [{"id": o, "structure": "BLD", "kind": "enterprise", "service": SVC,
                  **(ont_overrides or {}).get(o, {})} for o in onts],
        "links": links,
    })


# Zero fibre, connector and splice loss: a link's loss is exactly its extra_loss_db.
FLAT = {"attenuation_db_per_km": {"1270": 0.0, "1310": 0.0, "1358": 0.0, "1490": 0.0,
                                  "1577": 0.0},
        "connector_loss_db": 0.0, "splice_loss_db": 0.0, "safety_margin_db": 3.0}


def one_link(loss_db: float, technology: str = "xgs-pon", optics_class: str = "N1") -> Any:
    doc = network(
        [{"id": "L", "from": "P", "to": "N", "length_m": 100.0, "extra_loss_db": loss_db}],
        ports=[{"id": "P", "technology": technology, "optics_class": optics_class}],
        defaults=FLAT,
    )
    return network_budget(doc).ont("N")


def test_published_worked_example() -> None:
    # laxmidharnetworking.blogspot.com (April 2024), example 2: OLT +7 dBm; 2 km + 6 km of
    # fibre at 0.35 dB/km; 3 connectors at 0.75 dB; splitters 1:8 10.5 dB and 1:16 14 dB;
    # 3 splices at 0.2 dB; 3 dB margin.
    # 2.8 fibre + 2.25 connectors + 24.5 splitters + 0.6 splices = 30.15 dB
    # worst case received: 7 − 30.15 − 3 = −26.15 dBm
    doc = network(
        [
            {"id": "F1", "from": "P", "to": "S8", "length_m": 2000.0, "connectors": 1,
             "splices": 1},
            {"id": "F2", "from": "S8", "to": "S16", "length_m": 3000.0, "connectors": 1,
             "splices": 1},
            {"id": "F3", "from": "S16", "to": "N", "length_m": 3000.0, "connectors": 1,
             "splices": 1},
        ],
        splitters=[{"id": "S8", "ratio": 8, "insertion_loss_db": 10.5},
                   {"id": "S16", "ratio": 16, "insertion_loss_db": 14.0}],
        ports=[{"id": "P", "technology": "xgs-pon", "optics_class": "E1",
                "olt_tx_dbm": {"min": 7.0, "max": 7.0}}],
        defaults={"attenuation_db_per_km": {"1577": 0.35, "1270": 0.35},
                  "connector_loss_db": 0.75, "splice_loss_db": 0.2, "safety_margin_db": 3.0},
    )
    ont = network_budget(doc).ont("N")
    assert math.isclose(ont.downstream.loss_db, 30.15, rel_tol=1e-12)
    assert math.isclose(ont.downstream.rx_min_dbm, -26.15, rel_tol=1e-12)
    assert math.isclose(ont.downstream.rx_max_dbm, 7.0 - 30.15, rel_tol=1e-12)
    assert (ont.distance_m, ont.split) == (8000.0, 128)


def test_hand_computed_default_figures() -> None:
    # catalogue (worst case): 0.40 dB/km, connector 0.75 dB, splice 0.30 dB, 1:32 17.2 dB,
    # margin 3 dB. Feeder 4 km, 2 connectors, 3 splices: 1.6 + 1.5 + 0.9 = 4.0 dB;
    # drop 250 m, 2 connectors: 0.1 + 1.5 = 1.6 dB; total 4.0 + 17.2 + 1.6 = 22.8 dB.
    doc = network(
        [{"id": "F", "from": "P", "to": "S", "length_m": 4000.0, "connectors": 2, "splices": 3},
         {"id": "D", "from": "S", "to": "N", "length_m": 250.0, "connectors": 2}],
        splitters=[{"id": "S", "ratio": 32}],
    )
    ont = network_budget(doc).ont("N")
    assert ont.downstream.loss_db == pytest.approx(22.8, rel=1e-12)
    assert ont.upstream.loss_db == pytest.approx(22.8, rel=1e-12)
    # N1 downstream: OLT Tx min +2 dBm → 2 − 22.8 − 3 = −23.8 dBm; ONU sensitivity −28 → 4.2 dB
    assert ont.downstream.rx_min_dbm == pytest.approx(-23.8, rel=1e-12)
    assert ont.downstream.headroom_db == pytest.approx(4.2, rel=1e-12)
    # N1 upstream: ONU Tx min +4 dBm → 4 − 22.8 − 3 = −21.8; OLT sensitivity −26 → 4.2 dB
    assert ont.upstream.headroom_db == pytest.approx(4.2, rel=1e-12)
    # best case for overload: OLT Tx max +5 → 5 − 22.8 = −17.8 dBm ≤ −9
    assert ont.downstream.rx_max_dbm == pytest.approx(-17.8, rel=1e-12)
    assert (ont.downstream.wavelength_nm, ont.upstream.wavelength_nm) == (1577, 1270)
    assert ont.ok and ont.class_ok and ont.problems == []


def test_gpon_uses_gpon_wavelengths_and_figures() -> None:
    doc = network(
        [{"id": "F", "from": "P", "to": "N", "length_m": 10000.0}],
        ports=[{"id": "P", "technology": "gpon", "optics_class": "B+"}],
        defaults={"attenuation_db_per_km": {"1490": 0.25, "1310": 0.35}},
    )
    ont = network_budget(doc).ont("N")
    # 10 km × 0.25 = 2.5 dB at 1490 nm; 10 km × 0.35 = 3.5 dB at 1310 nm
    assert (ont.downstream.wavelength_nm, ont.upstream.wavelength_nm) == (1490, 1310)
    assert ont.downstream.loss_db == pytest.approx(2.5)
    assert ont.upstream.loss_db == pytest.approx(3.5)
    # B+ (G.984.2): OLT Tx min +1.5 → 1.5 − 2.5 − 3 = −4.0 dBm
    assert ont.downstream.rx_min_dbm == pytest.approx(-4.0)
    # a loss of 2.5 dB is under the B+ minimum 13 dB and overloads the ONU (5 − 2.5 > −8)
    assert not ont.class_ok and not ont.downstream.ok


def _edge(passes: Any, start: float, direction: float) -> float:
    """The last loss (stepping one ULP at a time from ``start`` towards ``direction``'s
    opposite) that still ``passes``: the exact edge of a floating-point comparison."""
    x = start
    while not passes(x):
        x = math.nextafter(x, -direction)
    while passes(math.nextafter(x, direction)):
        x = math.nextafter(x, direction)
    return x


def _boundaries(tech: str, name: str) -> list[tuple[str, float, float, str]]:
    """(label, last passing loss, first failing loss, what) for each comparison of the spec,
    evaluated with the spec's own arithmetic on doubles."""
    c = catalog.optics_class(tech, name)
    m = catalog.SAFETY_MARGIN_DB
    checks = {
        "class max": (lambda x: x + m <= c.max_loss_db, c.max_loss_db - m, math.inf, "class"),
        "class min": (lambda x: c.min_loss_db <= x, c.min_loss_db, -math.inf, "class"),
        "down sensitivity": (lambda x: c.olt_tx_min_dbm - x - m >= c.onu_rx_sensitivity_dbm,
                             c.olt_tx_min_dbm - c.onu_rx_sensitivity_dbm - m, math.inf, "down"),
        "up sensitivity": (lambda x: c.onu_tx_min_dbm - x - m >= c.olt_rx_sensitivity_dbm,
                           c.onu_tx_min_dbm - c.olt_rx_sensitivity_dbm - m, math.inf, "up"),
        "down overload": (lambda x: c.olt_tx_max_dbm - x <= c.onu_rx_overload_dbm,
                          c.olt_tx_max_dbm - c.onu_rx_overload_dbm, -math.inf, "down"),
        "up overload": (lambda x: c.onu_tx_max_dbm - x <= c.olt_rx_overload_dbm,
                        c.onu_tx_max_dbm - c.olt_rx_overload_dbm, -math.inf, "up"),
    }
    out = []
    for label, (passes, start, direction, what) in checks.items():
        last = _edge(passes, start, direction)
        out.append((label, last, math.nextafter(last, direction), what))
    return out


CLASSES = [(t, n) for t in ("gpon", "xgs-pon") for n in catalog.classes_for(t)]


@pytest.mark.parametrize(("technology", "optics_class"), CLASSES)
def test_each_class_boundary_one_ulp_either_side(technology: str, optics_class: str) -> None:
    for label, inside, outside, what in _boundaries(technology, optics_class):
        assert abs(inside - outside) < 1e-13  # adjacent doubles
        for loss, expected in ((inside, True), (outside, False)):
            ont = one_link(loss, technology, optics_class)
            verdict = {"class": ont.class_ok, "down": ont.downstream.ok, "up": ont.upstream.ok}
            assert verdict[what] is expected, (label, loss)


def test_just_inside_and_outside_n1() -> None:
    # N1 with 3 dB margin: loss + 3 ≤ 29 → 26 dB is the class's top; both directions
    # close up to 2 − (−28) − 3 = 27 dB down and 4 − (−26) − 3 = 27 dB up.
    inside, outside = one_link(26.0), one_link(26.5)
    assert inside.ok and inside.downstream.headroom_db == pytest.approx(1.0)
    assert outside.downstream.ok and not outside.class_ok and not outside.ok
    assert outside.problems == [
        "downstream 1577 nm: loss 26.5 dB + 3 dB margin exceeds the class N1 maximum 29 dB",
        "upstream 1270 nm: loss 26.5 dB + 3 dB margin exceeds the class N1 maximum 29 dB",
    ]
    overloaded = one_link(13.0)  # 5 − 13 = −8 dBm > −9 dBm ONU overload
    assert not overloaded.downstream.ok
    assert ("downstream 1577 nm: 1.0 dB over ONU overload −9.0 dBm (best case −8.0 dBm); "
            "add attenuation") in overloaded.problems


def test_problem_names_the_largest_contributors() -> None:
    # 9.3 km at 0.40 dB/km = 3.72 dB; 1:32 17.2 dB; 1:8 10.7 dB; total 31.62 + 0.0 dB.
    doc = network(
        [{"id": "FL-0101", "from": "P", "to": "SP-0012", "length_m": 9300.0},
         {"id": "FL-0102", "from": "SP-0012", "to": "SP-0013", "length_m": 100.0},
         {"id": "DR-1", "from": "SP-0013", "to": "N", "length_m": 50.0}],
        splitters=[{"id": "SP-0012", "ratio": 32}, {"id": "SP-0013", "ratio": 8}],
    )
    ont = network_budget(doc).ont("N")
    # 9450 m → 3.78 dB fibre; 3.78 + 17.2 + 10.7 = 31.68 dB
    assert ont.upstream.loss_db == pytest.approx(31.68)
    # upstream: 4 − 31.68 − 3 = −30.68 dBm against −26 dBm: 4.68 dB short
    assert ont.problems[2] == (
        "upstream 1270 nm: 4.7 dB short of OLT sensitivity −26.0 dBm; largest contributors: "
        "SP-0012 1:32 17.2 dB, SP-0013 1:8 10.7 dB"
    )
    assert ont.split == 256 and not ont.split_ok
    assert "split 1:256 exceeds the port's limit 1:64" in ont.problems


def test_tap_splitter_legs() -> None:
    # 70/30 tap (catalogue, worst case): through leg 2.0 dB, tap leg 6.4 dB
    doc = network(
        [{"id": "F", "from": "P", "to": "T", "length_m": 100.0, "extra_loss_db": 10.0},
         {"id": "LA", "from": "T", "to": "NA", "length_m": 100.0, "leg": "through"},
         {"id": "LB", "from": "T", "to": "NB", "length_m": 100.0, "leg": "tap"}],
        splitters=[{"id": "T", "ratio": 2, "through_percent": 70}],
        defaults=FLAT,
    )
    report = network_budget(doc)
    assert report.ont("NA").downstream.loss_db == pytest.approx(12.0)  # 10 + 2.0
    assert report.ont("NB").downstream.loss_db == pytest.approx(16.4)  # 10 + 6.4
    measured = network(
        doc["links"], splitters=[{"id": "T", "ratio": 2, "through_percent": 70,
                                  "insertion_loss_db": 1.7, "tap_loss_db": 5.5}], defaults=FLAT)
    report = network_budget(measured)
    assert report.ont("NA").upstream.loss_db == pytest.approx(11.7)
    assert report.ont("NB").upstream.loss_db == pytest.approx(15.5)


def test_coexistence_loss_is_in_every_path() -> None:
    doc = network([{"id": "F", "from": "P", "to": "N", "length_m": 100.0, "extra_loss_db": 20.0}],
                  ports=[{"id": "P", "technology": "xgs-pon", "optics_class": "N1",
                          "coexistence_loss_db": 1.5}], defaults=FLAT)
    ont = network_budget(doc).ont("N")
    assert ont.downstream.loss_db == pytest.approx(21.5)
    assert ont.upstream.loss_db == pytest.approx(21.5)


def test_measured_values_win_over_the_catalogue() -> None:
    cable = {"id": "C1", "operator": "op", "fibre_count": 48, "outer_diameter_mm": 12.0,
             "attenuation_db_per_km": {"1577": 0.21, "1270": 0.33}}
    other = {**cable, "id": "C2", "attenuation_db_per_km": {"1577": 0.5, "1270": 0.5}}
    doc = network(
        [{"id": "F", "from": "P", "to": "S", "length_m": 10000.0, "cables": ["C1"]},
         {"id": "A", "from": "S", "to": "NA", "length_m": 1000.0,
          "attenuation_db_per_km": {"1577": 0.19}},
         {"id": "B", "from": "S", "to": "NB", "length_m": 1000.0, "cables": ["C1", "C2"]}],
        splitters=[{"id": "S", "ratio": 4, "insertion_loss_db": 6.8}],
        cables=[cable, other],
        ont_overrides={"NA": {"onu_rx_sensitivity_dbm": -29.5}},
    )
    report = network_budget(doc)
    a, b = report.ont("NA"), report.ont("NB")
    # feeder: one cable → its 0.21 / 0.33 dB/km: 2.1 / 3.3 dB; splitter measured 6.8 dB
    # A: own 0.19 dB/km at 1577 (0.19 dB), catalogue 0.40 at 1270 (0.40 dB)
    assert a.downstream.loss_db == pytest.approx(2.1 + 6.8 + 0.19)
    assert a.upstream.loss_db == pytest.approx(3.3 + 6.8 + 0.40)
    # B: two cables → neither cable's value applies: catalogue 0.40 both ways
    assert b.downstream.loss_db == pytest.approx(2.1 + 6.8 + 0.40)
    # the ONT's receiver override: 2 − 9.09 − 3 = −10.09; −10.09 − (−29.5) = 19.41 dB
    assert a.downstream.headroom_db == pytest.approx(19.41)


def test_port_differential_reach_and_loss() -> None:
    doc = network(
        [{"id": "F", "from": "P", "to": "S", "length_m": 1000.0},
         {"id": "A", "from": "S", "to": "NA", "length_m": 500.0},
         {"id": "B", "from": "S", "to": "NB", "length_m": 22000.0}],
        splitters=[{"id": "S", "ratio": 2, "insertion_loss_db": 3.5}],
    )
    report = network_budget(doc)
    port = report.ports[0]
    # distances 1.5 km and 23 km: differential 21.5 km > 20 km; loss 0.6 vs 9.2 dB fibre
    assert port.differential_reach_m == pytest.approx(21500.0)
    assert port.differential_loss_down_db == pytest.approx(21.5 * 0.4)
    assert port.problems == ["differential reach 21.50 km exceeds 20 km"]
    assert not report.ont("NB").reach_ok
    assert "distance 23.00 km exceeds the 20 km reach of xgs-pon" in report.ont("NB").problems
    assert report.ont("NA").reach_ok


def test_hop_losses_accumulate() -> None:
    doc = network(
        [{"id": "F", "from": "P", "to": "S", "length_m": 2000.0},
         {"id": "D", "from": "S", "to": "N", "length_m": 100.0, "connectors": 2}],
        splitters=[{"id": "S", "ratio": 16}],
    )
    forest = pack_forest(doc)
    from ponmodel.topology.budget import compute

    hops = hop_losses(forest, compute(forest), "N")
    assert [h.node for h in hops] == ["P", "S", "N"]
    # 2 km × 0.4 = 0.8 dB at the splitter's input; then 13.9 (1:16) + 0.04 + 1.5 = 15.44
    assert [round(h.cum_loss_down_db, 9) for h in hops] == [0.0, 0.8, 16.24]
    assert hops[2].distance_m == 2100.0


def test_worst_headroom_first() -> None:
    doc = network([{"id": "F", "from": "P", "to": "S", "length_m": 1000.0},
                   *({"id": f"D{i}", "from": "S", "to": f"N{i}", "length_m": 100.0 * i}
                     for i in (3, 1, 2))],
                  splitters=[{"id": "S", "ratio": 8}])
    assert [o.id for o in network_budget(doc).onts] == ["N3", "N2", "N1"]


def test_upgrade_readiness_statuses() -> None:
    # three GPON ports; loss with XGS-PON: each path's extra loss + 1.5 dB coexistence filter
    links = [{"id": f"F{p}", "from": p, "to": f"N{p}", "length_m": 100.0, "extra_loss_db": loss}
             for p, loss in (("P1", 20.0), ("P2", 26.0), ("P3", 33.0))]
    doc = network(links, ports=[{"id": p, "technology": "gpon", "optics_class": "C+"}
                                for p in ("P1", "P2", "P3")], defaults=FLAT)
    result = upgrade_readiness(doc, "N1")
    status = {p["id"]: p["status"] for p in result["ports"]}
    # P1: 21.5 + 3 ≤ 29 → ready. P2: 27.5 + 3 > 29 (N1) but ≤ 33 (E1) → needs E1.
    # P3: 34.5 + 3 > 35 (E2) → needs re-engineering.
    assert status == {"P1": "ready", "P2": "needs E1", "P3": "needs re-engineering"}
    assert result["zones"][0]["ready"] == 1 and result["zones"][0]["needs re-engineering"] == 1
    assert result["zones"][0]["worst_ont"] == "NP3"
