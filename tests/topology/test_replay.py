"""Replaying stored changes into a built topology equals building the exported network
again: the document (in its order), the element index, both graphs; the old topology is left
as it was; a zone's part that the change does not touch is the same before and after.

Hypothesis draws operation lists of every kind and op (the strategy of the incremental
check's test) on generated networks, applied in one to three changes in a row.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ponmodel.audit import element_changes
from ponmodel.changes import apply_changes
from ponmodel.errors import ConflictError, DependentsError, DocumentError, NotFoundError
from ponmodel.generate import generate_network
from ponmodel.scope import redact
from ponmodel.storage import (
    export_document,
    import_document,
    make_engine,
    migrate,
    read_snapshot,
    revision,
)
from ponmodel.topology.build import Topology, build_topology, subset_for_zone
from ponmodel.topology.replay import (
    NetChange,
    ReplayError,
    net_changes,
    replayed,
    touched_ids,
)
from tests.ponmodel.test_changes_check import operations


def _engine(onts: int, seed: int, zones: int | None = None) -> Any:
    engine = make_engine("sqlite://")
    migrate(engine)
    import_document(engine, generate_network(onts, seed, zones=zones))
    return engine


@st.composite
def more_operations(draw: Any, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Creates and edits the incremental check's strategy does not make: structures,
    cables, OLTs with ports and a feeder, sites, zones, operators."""
    n = draw(st.integers(0, 9))
    structure = draw(st.sampled_from(doc["structures"]))
    zone = draw(st.sampled_from(doc["zones"]))["id"]
    duct = draw(st.sampled_from(doc["ducts"]))
    splitter = draw(st.sampled_from(doc["splitters"]))
    operator = draw(st.sampled_from(doc["operators"]))["id"]
    olt = draw(st.sampled_from(doc["olts"]))
    choices = {
        "structure": [{"op": "create", "kind": "structure", "element": {
            "id": f"NEW-BLD-{n}", "zone": zone, "kind": "building", "lon": 105.6,
            "lat": 20.8, "name": "Nhà máy mới"}}],
        "moved": [{"op": "update", "kind": "structure", "id": structure["id"],
                   "changes": {"lon": structure["lon"] + 0.001, "zone": zone}}],
        "cable": [{"op": "create", "kind": "cable", "element": {
            "id": f"NEW-CB-{n}", "operator": operator, "fibre_count": 24,
            "outer_diameter_mm": 10.0, "ducts": [duct["id"]]}}],
        "olt": [{"op": "create", "kind": "olt", "element": {
            "id": f"NEW-OLT-{n}", "operator": operator, "structure": structure["id"],
            "uplink_gbps": 10, "ports": [{"id": f"NEW-OLT-{n}/1", "technology": "xgs-pon",
                                          "optics_class": "N1"}]}},
                {"op": "update", "kind": "link", "id": draw(st.sampled_from(
                    [lk["id"] for lk in doc["links"] if lk["to"] == splitter["id"]]
                    or [doc["links"][0]["id"]])), "changes": {"from": f"NEW-OLT-{n}/1"}}],
        "olt_moved": [{"op": "update", "kind": "olt", "id": olt["id"],
                       "changes": {"structure": structure["id"], "operator": operator}}],
        "port": [{"op": "create", "kind": "port", "element": {
            "id": f"{olt['id']}/NEW-{n}", "olt": olt["id"], "technology": "gpon",
            "optics_class": "B+"}}],
        "site": [{"op": "create", "kind": "site", "element": {
            "id": f"NEW-SITE-{n}", "zone": zone, "operator": operator, "generation": "5g",
            "structure": structure["id"]}}],
        "zone": [{"op": "update", "kind": "zone", "id": zone, "changes": {"name": "Khu mới"}}],
        "operator": [{"op": "update", "kind": "operator", "id": operator,
                      "changes": {"name": "Nhà mạng"}}],
    }
    return choices[draw(st.sampled_from(sorted(choices)))]


def _adjacency(table: dict[Any, Any]) -> dict[Any, Any]:
    return {n: {m: {k: dict(d) for k, d in keys.items()} for m, keys in nbrs.items()}
            for n, nbrs in table.items()}


def graph_state(graph: Any) -> tuple[Any, ...]:
    """Everything a graph answers, as plain dicts (in no order)."""
    pred = _adjacency(graph._pred) if graph.is_directed() else None
    return dict(graph._node), _adjacency(graph._adj), pred


def same_topology(a: Topology, b: Topology) -> None:
    assert a.doc == b.doc
    for key in a.doc:  # the same order too: lists compare in order, ids make it visible
        if isinstance(a.doc[key], list):
            assert [e["id"] for e in a.doc[key]] == [e["id"] for e in b.doc[key]], key
    assert a.elements == b.elements
    assert a.olt_of_port == b.olt_of_port
    assert graph_state(a.physical) == graph_state(b.physical)
    assert graph_state(a.pon) == graph_state(b.pon)


def _ids(doc: dict[str, Any]) -> set[str]:
    return {e["id"] for key, items in doc.items() if isinstance(items, list) for e in items} | {
        p["id"] for o in doc.get("olts", []) for p in o.get("ports", [])}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(data=st.data(), seed=st.integers(1, 3), rounds=st.integers(1, 3))
def test_replayed_topology_equals_a_build_of_the_exported_network(
        data: Any, seed: int, rounds: int) -> None:
    engine = _engine(60, seed, zones=3)
    doc = export_document(engine)
    before = build_topology(doc)
    kept = copy.deepcopy(doc)
    with read_snapshot(engine) as conn:
        start = revision(conn)
    for _ in range(rounds):
        now = export_document(engine)
        ops = data.draw(st.one_of(operations(now), more_operations(now)))
        try:
            apply_changes(engine, ops)
            event("applied")
        except (DocumentError, DependentsError, ConflictError, NotFoundError):
            continue  # refused: nothing written
    with read_snapshot(engine) as conn:
        changes = element_changes(conn, start, revision(conn))
    after = replayed(before, net_changes(changes))
    fresh = build_topology(export_document(engine))
    same_topology(after, fresh)
    assert before.doc == kept  # the old topology is untouched
    same_topology(before, build_topology(kept))
    touched = touched_ids(net_changes(changes))
    for zone in (z["id"] for z in doc["zones"]):
        part = subset_for_zone(before.doc, zone)
        if touched & _ids(part):
            continue
        event("a zone's part is kept")
        assert subset_for_zone(after.doc, zone) == part, zone
        for operator in (o["id"] for o in doc["operators"]):
            assert (subset_for_zone(redact(after.doc, operator), zone)
                    == subset_for_zone(redact(before.doc, operator), zone)), (zone, operator)


def test_a_new_customer_is_one_node_and_one_edge_more() -> None:
    engine = _engine(40, 1)
    doc = export_document(engine)
    before = build_topology(doc)
    splitter = next(s for s in doc["splitters"]
                    if sum(lk["from"] == s["id"] for lk in doc["links"]) < s["ratio"])
    with read_snapshot(engine) as conn:
        start = revision(conn)
    apply_changes(engine, [
        {"op": "create", "kind": "ont", "element": {
            "id": "N-NEW", "structure": splitter["structure"], "kind": "enterprise",
            "service": {"down": {"max_mbps": 100.0}, "up": {"max_mbps": 100.0}}}},
        {"op": "create", "kind": "link", "element": {
            "id": "L-NEW", "from": splitter["id"], "to": "N-NEW", "length_m": 50.0}}])
    with read_snapshot(engine) as conn:
        after = replayed(before, net_changes(element_changes(conn, start, revision(conn))))
    assert after.pon.number_of_nodes() == before.pon.number_of_nodes() + 1
    assert after.pon.number_of_edges() == before.pon.number_of_edges() + 1
    assert after.parent_link(("ont", "N-NEW"))[:2] == (("splitter", splitter["id"]), "L-NEW")
    assert "N-NEW" not in before.elements
    assert after.pon.has_edge(("splitter", splitter["id"]), ("ont", "N-NEW"), "L-NEW")
    assert not before.pon.has_edge(("splitter", splitter["id"]), ("ont", "N-NEW"), "L-NEW")
    same_topology(after, build_topology(export_document(engine)))


def test_a_change_that_does_not_fit_is_refused() -> None:
    topo = build_topology({"format": "ponmodel/1", "onts": [
        {"id": "N", "structure": "B", "kind": "residential"}]})
    ont = {"id": "N", "structure": "B", "kind": "residential"}
    with pytest.raises(ReplayError, match="created but the topology holds it"):
        replayed(topo, [NetChange("ont", "N", None, ont)])
    with pytest.raises(ReplayError, match="does not hold it"):
        replayed(topo, [NetChange("splitter", "N", {"id": "N"}, None)])
    with pytest.raises(ReplayError, match="changes kind"):
        net_changes([
            {"kind": "ont", "element_id": "N", "before": ont, "after": None},
            {"kind": "splitter", "element_id": "N", "before": None, "after": {"id": "N"}}])


def test_created_then_removed_leaves_nothing() -> None:
    ont = {"id": "N", "structure": "B", "kind": "residential"}
    assert net_changes([
        {"kind": "ont", "element_id": "N", "before": None, "after": ont},
        {"kind": "ont", "element_id": "N", "before": ont, "after": None}]) == []
