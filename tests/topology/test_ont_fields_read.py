"""What each cached computation reads of an ONT (``ONT_FIELDS_READ``): the API keeps a
cached value across ONT edits that change none of those fields, so each declaration is
checked here against its function: changing every other field of every ONT leaves the
result equal, and changing a declared one changes it."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from ponmodel.document import Document
from ponmodel.topology import budget, capacity, ducts, impact, pack, routing, upgrade
from tests.conftest import fixture_doc

FIELDS = ("customer", "kind", "service", "onu_tx_dbm", "onu_rx_sensitivity_dbm",
          "onu_rx_overload_dbm")
"""Every field an ONT edit may change, ``structure`` apart (moving an ONT rebuilds)."""


def changed(doc: Document, name: str) -> Document:
    """``doc`` with ``name`` changed on every ONT, to values that stay valid."""
    out = copy.deepcopy(doc)
    for ont in out["onts"]:
        if name == "customer":
            ont["customer"] = (ont.get("customer") or "") + " (renamed)"
        elif name == "kind":
            ont["kind"] = "residential" if ont["kind"] == "enterprise" else "enterprise"
        elif name == "service":
            ont["service"]["down"]["max_mbps"] = ont["service"]["down"]["max_mbps"] + 1000.0
            ont["service"]["down"]["assured_mbps"] += 1.0
        elif name == "onu_tx_dbm":
            ont["onu_tx_dbm"] = {"min": 0.5, "max": 5.0}
        elif name == "onu_rx_sensitivity_dbm":
            ont["onu_rx_sensitivity_dbm"] = -21.0
        else:
            ont["onu_rx_overload_dbm"] = -12.0
    return out


COMPUTATIONS: dict[str, tuple[frozenset[str], Callable[[Document], Any]]] = {
    "pack_forest": (pack.ONT_FIELDS_READ, lambda d: _fields(pack.pack_forest(d))),
    "network_budget": (budget.ONT_FIELDS_READ, budget.network_budget),
    "upgrade_readiness": (budget.ONT_FIELDS_READ,
                          lambda d: upgrade.upgrade_readiness(d, "N1")),
    "network_capacity": (capacity.ONT_FIELDS_READ, capacity.network_capacity),
    "duct_fill": (ducts.ONT_FIELDS_READ, ducts.duct_fill),
    "routing_index": (routing.ONT_FIELDS_READ,
                      lambda d: routing.plan_route(routing.routing_index(d), *_ends(d),
                                                   fibre_count=12, k=3)),
    "impact_index": (impact.ONT_FIELDS_READ,
                     lambda d: impact.impact(impact.impact_index(d),
                                             [x["id"] for x in d["ducts"][:3]])),
}


def _fields(forest: pack.PonForest) -> dict[str, Any]:
    """The forest's fields as plain values (arrays compare element-wise, not as a whole)."""
    return {f.name: (getattr(forest, f.name).tolist() if hasattr(getattr(forest, f.name),
                                                                  "tolist")
                     else getattr(forest, f.name)) for f in dataclasses.fields(forest)}


def _ends(doc: Document) -> tuple[str, str]:
    ids = [s["id"] for s in doc["structures"]]
    return ids[0], ids[-1]


@pytest.fixture(scope="module")
def hanoi() -> Document:
    from ponmodel.document import load_document

    return load_document(fixture_doc("hanoi.json"))


@pytest.mark.parametrize(("computation", "name"), [
    (c, name) for c in sorted(COMPUTATIONS) for name in FIELDS
    if name not in COMPUTATIONS[c][0]
])
def test_a_field_outside_the_declaration_changes_nothing(hanoi: Document, computation: str,
                                                         name: str) -> None:
    _, compute = COMPUTATIONS[computation]
    assert compute(changed(hanoi, name)) == compute(hanoi)


@pytest.mark.parametrize(("computation", "name"), [
    ("network_budget", "onu_rx_sensitivity_dbm"), ("network_budget", "onu_tx_dbm"),
    ("network_capacity", "service"), ("network_capacity", "kind"),
    ("network_capacity", "onu_rx_sensitivity_dbm"), ("impact_index", "customer"),
])
def test_a_declared_field_does_change_the_result(hanoi: Document, computation: str,
                                                 name: str) -> None:
    reads, compute = COMPUTATIONS[computation]
    assert name in reads
    assert compute(changed(hanoi, name)) != compute(hanoi)  # the declaration is needed
