"""apply_changes on fixtures/tiny.json: every rule of the document reached through an edit,
nothing written when refused, versions, dependents and the audit."""

from __future__ import annotations

from typing import Any

import pytest

from ponmodel import audit
from ponmodel.access import Principal
from ponmodel.changes import apply_changes, apply_to_document
from ponmodel.document import read_document
from ponmodel.errors import (
    ConflictError,
    DependentsError,
    DocumentError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
)
from ponmodel.storage import checksum, export_document, import_document, make_engine, migrate

pytestmark = pytest.mark.kernel_free  # runs no kernel: CI runs it once (.ci/run)


@pytest.fixture
def tiny() -> Any:
    engine = make_engine("sqlite://")
    migrate(engine)
    import_document(engine, read_document("fixtures/tiny.json"))
    return engine


def _ont(ident: str) -> dict[str, Any]:
    return {"id": ident, "structure": "BLD-01", "kind": "enterprise",
            "service": {"down": {"max_mbps": 100}, "up": {"max_mbps": 100}}}


def up(kind: str, ident: str, **changes: Any) -> dict[str, Any]:
    return {"op": "update", "kind": kind, "id": ident, "changes": changes}


def new(kind: str, element: dict[str, Any]) -> dict[str, Any]:
    return {"op": "create", "kind": kind, "element": element}


DUCT = {"length_m": 50.0, "inner_diameter_mm": 50.0, "owner": "vnpt"}

RULES = {
    # the spec's "What makes a document invalid", each through an edit: (change, message)
    "missing reference": ([up("ont", "ONT-01", structure="NOPE")],
                          "structure refers to 'NOPE', which does not exist"),
    "wrong kind": ([up("ont", "ONT-01", structure="DU-01")],
                   "structure refers to 'DU-01', which is a duct, not a structure"),
    "fed twice": ([new("link", {"id": "DR-X", "from": "SP-01", "to": "ONT-02",
                                "length_m": 10.0})],
                  "ont 'ONT-02' is fed by more than one link ('DR-02', 'DR-X')"),
    "cycle": ([up("link", "FL-01", **{"from": "SP-01"})],
              "splitter 'SP-01' lies on a cycle of links"),
    "unreached": ([{"op": "delete", "kind": "link", "id": "FL-01"}],
                  "splitter 'SP-01' is not reached from any PON port"),
    "link out of an ONT": ([up("link", "DR-02", **{"from": "ONT-01"})],
                           "a link cannot leave an ONT ('ONT-01')"),
    "port with two links": ([new("ont", _ont("ONT-X")),
                             new("link", {"id": "DR-X", "from": "OLT-01/1/1", "to": "ONT-X",
                                          "length_m": 10.0})],
                            "PON port 'OLT-01/1/1' has 2 outgoing links"),
    "splitter over its ratio": ([up("splitter", "SP-01", ratio=2)],
                                "splitter 1:2 has 3 outgoing links"),
    "zero length": ([up("link", "DR-01", length_m=0)], "must be more than 0 m, not 0 m"),
    "negative diameter": ([up("duct", "DU-01", inner_diameter_mm=-3.0)],
                          "must be more than 0 mm, not -3.0 mm"),
    "non-finite": ([up("link", "DR-01", length_m=float("inf"))], "finite"),
    "max below guaranteed": ([up("ont", "ONT-01", service={"down": {"max_mbps": 500}})],
                             "max_mbps (500) is below fixed_mbps + assured_mbps (0 + 1000)"),
    "class of another technology": ([up("port", "OLT-01/1/1", optics_class="B+")],
                                    "optics class 'B+' does not belong to xgs-pon"),
    "route not adjacent": ([new("duct", {"id": "DU-X", "from": "CAB-01", "to": "BLD-01",
                                         **DUCT}),
                            up("cable", "CB-01", ducts=["DU-01", "DU-X"])],
                           "consecutive ducts 'DU-01' and 'DU-X' share no structure"),
    "innerduct wider": ([new("duct", {"id": "DU-X", "from": "EX-01", "to": "MH-01", **DUCT,
                                      "within": "DU-01", "outer_diameter_mm": 150.0})],
                        "innerduct outer diameter 150 mm is wider than the inner diameter"),
    "duct to itself": ([new("duct", {"id": "DU-X", "from": "MH-01", "to": "MH-01", **DUCT})],
                       "duct runs from structure 'MH-01' to itself"),
    "route repeats a duct": ([up("cable", "CB-01", ducts=["DU-01", "DU-02", "DU-01"])],
                             "the route names duct 'DU-01' more than once"),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_every_rule_is_reached_through_an_edit(tiny: Any, rule: str) -> None:
    change, message = RULES[rule]
    before = checksum(tiny)
    with pytest.raises(DocumentError) as caught:
        apply_changes(tiny, change)
    assert any(message in p.message for p in caught.value.problems), caught.value.problems
    assert checksum(tiny) == before


def test_versions_and_audit(tiny: Any) -> None:
    result = apply_changes(tiny, [up("link", "DR-01", length_m=175.0)])
    assert result["elements"] == [{"op": "update", "kind": "link", "id": "DR-01",
                                   "version": 2}]
    with pytest.raises(StaleVersionError):
        apply_changes(tiny, [{**up("link", "DR-01", length_m=1.0), "version": 1}])
    entry = audit.list_entries(tiny, element_id="DR-01")[0]
    assert (entry["action"], entry["before"]["length_m"], entry["after"]["length_m"]) == (
        "edit", 150.0, 175.0)
    assert entry["revision"] == result["revision"]


def test_refusals(tiny: Any) -> None:
    before = checksum(tiny)
    with pytest.raises(ConflictError):
        apply_changes(tiny, [new("ont", _ont("ONT-01"))])  # taken id
    with pytest.raises(NotFoundError):
        apply_changes(tiny, [up("link", "NO-SUCH", length_m=1.0)])
    with pytest.raises(NotFoundError):
        apply_changes(tiny, [up("ont", "DR-01", customer="x")])  # a link, not an ONT
    with pytest.raises(DependentsError, match="duct 'DU-01' cannot be removed: cable 'CB-01'"):
        apply_changes(tiny, [{"op": "delete", "kind": "duct", "id": "DU-01"}])
    viewer = Principal("k", "kiosk", "viewer", None)
    with pytest.raises(PermissionDeniedError):
        apply_changes(tiny, [up("link", "DR-01", length_m=1.0)], actor=viewer)
    planner = Principal("p", "vnpt plan", "planner", "vnpt")
    with pytest.raises(PermissionDeniedError):  # ducts are shared plant
        apply_changes(tiny, [up("duct", "DU-01", length_m=215.0)], actor=planner)
    with pytest.raises(DocumentError, match="cannot be changed"):
        apply_changes(tiny, [up("link", "DR-01", id="DR-9")])
    assert checksum(tiny) == before


def test_an_olt_goes_with_its_ports_and_a_customer_leaves_in_one_change(tiny: Any) -> None:
    olt = {"id": "OLT-02", "operator": "vnpt", "structure": "EX-01", "uplink_gbps": 10,
           "ports": [{"id": "OLT-02/1/1", "technology": "gpon", "optics_class": "B+"}]}
    apply_changes(tiny, [new("olt", olt)])
    assert [p["id"] for o in export_document(tiny)["olts"] if o["id"] == "OLT-02"
            for p in o["ports"]] == ["OLT-02/1/1"]
    result = apply_changes(tiny, [{"op": "delete", "kind": "olt", "id": "OLT-02"}])
    assert [(e["kind"], e["id"]) for e in result["elements"]] == [("olt", "OLT-02"),
                                                                  ("port", "OLT-02/1/1")]
    doc = export_document(tiny)
    change = [{"op": "delete", "kind": "link", "id": "DR-02"},
              {"op": "delete", "kind": "ont", "id": "ONT-02"}]
    apply_changes(tiny, change)
    assert export_document(tiny) == apply_to_document(doc, change)


def test_an_update_that_changes_nothing_writes_nothing(tiny: Any) -> None:
    from ponmodel.storage import revision

    before = checksum(tiny)
    with tiny.connect() as conn:
        at = revision(conn)
    result = apply_changes(tiny, [up("link", "DR-01", length_m=150.0)])  # as stored
    assert result["elements"][0]["version"] == 1
    assert result["revision"] == at
    assert checksum(tiny) == before
    with pytest.raises(DocumentError, match="at least one operation"):
        apply_changes(tiny, [])


def test_null_clears_one_entry_of_a_map(tiny: Any) -> None:
    apply_changes(tiny, [up("link", "DR-01", attenuation_db_per_km={"1577": 0.3, "1270": 0.3})])
    apply_changes(tiny, [up("link", "DR-01", attenuation_db_per_km={"1577": None})])
    link = next(lk for lk in export_document(tiny)["links"] if lk["id"] == "DR-01")
    assert link["attenuation_db_per_km"] == {"1270": 0.3}
