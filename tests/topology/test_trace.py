"""Trace, reach and pass-through on a small hand-made network, and zone subsets."""

from __future__ import annotations

from typing import Any

import pytest

from ponmodel.document import load_document, validate_document
from ponmodel.errors import NotFoundError
from ponmodel.topology.build import build_topology, subset_for_zone
from ponmodel.topology.trace import reach, through, trace
from tests.conftest import fixture_doc


def _network() -> dict[str, Any]:
    """Port P1 → SP-A (1:4) → SP-B (1:8) → N1, N2; SP-A → N3; port P2 → N4 (no splitter)."""
    structures = [
        {"id": s, "zone": "z", "kind": k, "lon": 105.78, "lat": 21.12}
        for s, k in (("EX", "exchange"), ("MH", "manhole"), ("CAB", "cabinet"), ("BLD", "building"))
    ]
    svc = {"down": {"max_mbps": 1000}, "up": {"max_mbps": 1000}}
    return load_document(
        {
            "format": "ponmodel/1",
            "operators": [{"id": "vnpt", "name": "VNPT"}, {"id": "fpt", "name": "FPT"}],
            "zones": [{"id": "z", "name": "Z", "kind": "industrial_zone"}],
            "structures": structures,
            "ducts": [
                {
                    "id": "D1",
                    "from": "EX",
                    "to": "MH",
                    "length_m": 300,
                    "inner_diameter_mm": 100,
                    "owner": "vnpt",
                },
                {
                    "id": "D2",
                    "from": "MH",
                    "to": "CAB",
                    "length_m": 200,
                    "inner_diameter_mm": 100,
                    "owner": "vnpt",
                },
            ],
            "cables": [
                {
                    "id": "C-V",
                    "operator": "vnpt",
                    "fibre_count": 48,
                    "outer_diameter_mm": 12,
                    "ducts": ["D1", "D2"],
                },
                {
                    "id": "C-F",
                    "operator": "fpt",
                    "fibre_count": 24,
                    "outer_diameter_mm": 10,
                    "ducts": ["D1"],
                },
            ],
            "olts": [
                {
                    "id": "OLT",
                    "operator": "vnpt",
                    "structure": "EX",
                    "uplink_gbps": 40,
                    "ports": [
                        {"id": "OLT/1", "technology": "xgs-pon", "optics_class": "N1"},
                        {"id": "OLT/2", "technology": "gpon", "optics_class": "B+"},
                    ],
                }
            ],
            "splitters": [
                {"id": "SP-A", "structure": "CAB", "ratio": 4},
                {"id": "SP-B", "structure": "BLD", "ratio": 8},
            ],
            "onts": [
                {"id": n, "structure": "BLD", "kind": "enterprise", "service": svc}
                for n in ("N1", "N2", "N3", "N4")
            ],
            "links": [
                {"id": "L-A", "from": "OLT/1", "to": "SP-A", "length_m": 2500, "cables": ["C-V"]},
                {"id": "L-B", "from": "SP-A", "to": "SP-B", "length_m": 400, "connectors": 2},
                {"id": "L-1", "from": "SP-B", "to": "N1", "length_m": 60},
                {"id": "L-2", "from": "SP-B", "to": "N2", "length_m": 75},
                {"id": "L-3", "from": "SP-A", "to": "N3", "length_m": 120},
                {"id": "L-4", "from": "OLT/2", "to": "N4", "length_m": 900, "cables": ["C-F"]},
            ],
        }
    )


def test_trace_walks_the_one_path_hop_by_hop() -> None:
    t = trace(build_topology(_network()), "N2")
    assert (t.port, t.olt) == ("OLT/1", "OLT")
    assert [h.link for h in t.hops] == ["L-A", "L-B", "L-2"]
    # 2500 + 400 + 75 = 2975 m; split 4 × 8 = 32
    assert [h.distance_m for h in t.hops] == [2500.0, 2900.0, 2975.0]
    assert (t.distance_m, t.split) == (2975.0, 32)
    assert t.hops[1].connectors == 2
    assert t.hops[0].cables == ["C-V"]


def test_trace_without_splitter() -> None:
    t = trace(build_topology(_network()), "N4")
    assert (t.port, t.distance_m, t.split, len(t.hops)) == ("OLT/2", 900.0, 1, 1)


def test_trace_of_a_non_ont_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="no ont with id 'SP-A'"):
        trace(build_topology(_network()), "SP-A")


@pytest.mark.parametrize(
    ("element", "onts"),
    [
        ("OLT", ["N1", "N2", "N3", "N4"]),
        ("OLT/1", ["N1", "N2", "N3"]),
        ("SP-A", ["N1", "N2", "N3"]),
        ("SP-B", ["N1", "N2"]),
        ("OLT/2", ["N4"]),
        ("N3", ["N3"]),
    ],
)
def test_reach(element: str, onts: list[str]) -> None:
    assert reach(build_topology(_network()), element) == onts


def test_reach_of_a_structure_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        reach(build_topology(_network()), "CAB")


def test_through_a_shared_manhole() -> None:
    result = through(build_topology(_network()), "MH")
    assert result["ducts"] == ["D1", "D2"]
    assert result["cables"] == ["C-F", "C-V"]  # both operators' cables pass the manhole
    assert result["links"] == ["L-4", "L-A"]  # the links those cables carry
    assert result["onts"] == [] and result["splitters"] == []


def test_through_lists_equipment_located_there() -> None:
    result = through(build_topology(_network()), "BLD")
    assert result["splitters"] == ["SP-B"]
    assert result["onts"] == ["N1", "N2", "N3", "N4"]


def test_graph_keys() -> None:
    topo = build_topology(_network())
    assert topo.physical.number_of_edges() == 2
    assert set(topo.physical[("structure", "EX")][("structure", "MH")]) == {"D1"}
    assert topo.physical.edges[("structure", "EX"), ("structure", "MH"), "D1"]["cables"] == [
        "C-V",
        "C-F",
    ]
    assert topo.pon.number_of_nodes() == 2 + 2 + 4  # ports + splitters + ONTs
    assert ("port", "OLT/1") in topo.pon and topo.pon.out_degree(("splitter", "SP-A")) == 2


def test_zone_subset_of_hanoi_is_valid_and_complete() -> None:
    doc = load_document(fixture_doc("hanoi.json"))
    for zone in doc["zones"]:
        sub = subset_for_zone(doc, zone["id"])
        assert validate_document(sub) == [], zone["id"]
        in_zone = {s["id"] for s in doc["structures"] if s.get("zone") == zone["id"]}
        expected_onts = {o["id"] for o in doc["onts"] if o["structure"] in in_zone}
        assert expected_onts <= {o["id"] for o in sub["onts"]}
        assert {s["id"] for s in sub["sites"]} == {
            s["id"] for s in doc["sites"] if s["zone"] == zone["id"]
        }


def test_zone_subset_unknown_zone() -> None:
    with pytest.raises(NotFoundError, match="no zone with id 'atlantis'"):
        subset_for_zone(_network(), "atlantis")


def test_load_zone_reads_the_same_as_the_subset_of_everything(engine) -> None:  # type: ignore[no-untyped-def]
    from ponmodel.document import canonical
    from ponmodel.storage import export_document, import_document
    from ponmodel.topology.build import load_zone

    doc = load_document(fixture_doc("hanoi.json"))
    import_document(engine, doc, validated=True)
    everything = export_document(engine)
    with engine.connect() as conn:
        for zone in doc["zones"]:
            assert canonical(load_zone(conn, zone["id"])) == canonical(
                subset_for_zone(everything, zone["id"])), zone["id"]
        with pytest.raises(NotFoundError):
            load_zone(conn, "atlantis")
