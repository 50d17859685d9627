"""What-if: the budget and capacity figures with ONTs added, removed or re-profiled,
without writing anything.

The changes are applied to a copy of the document, which is validated like any document
(so an added ONT must come with the link that feeds it, and every problem is reported with
its JSON pointer into the change set's resulting document), then analysed.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.topology.whatif import what_if
>>> doc = read_document("fixtures/tiny.json")
>>> ont = doc["onts"][0]["id"]
>>> report = what_if(doc, remove=[ont])
>>> ont in {o.id for o in report["capacity"].onts}
False
"""

from __future__ import annotations

import copy
from typing import Any

from ponmodel.document import Document, load_document
from ponmodel.errors import NotFoundError
from ponmodel.topology.budget import network_budget
from ponmodel.topology.capacity import network_capacity
from ponmodel.topology.pack import pack_forest


def apply_changes(
    doc: Document,
    *,
    add: list[dict[str, Any]] | None = None,
    remove: list[str] | None = None,
    profile: dict[str, dict[str, Any]] | None = None,
) -> Document:
    """A validated copy of ``doc`` with the changes applied.

    Parameters
    ----------
    add : list of dict
        Each ``{"ont": {...}, "link": {...}}``: a new ONT and the link feeding it.
    remove : list of str
        ONT ids to remove, with the link feeding each and the sites' backhaul reference.
    profile : dict
        ONT id → a new ``service`` (``{"down": {...}, "up": {...}}``).

    Raises
    ------
    NotFoundError
        A removed or re-profiled id is not an ONT.
    DocumentError
        The changed network is not valid.
    """
    out = copy.deepcopy(doc)
    onts = {o["id"]: o for o in out["onts"]}
    for ont_id in (remove or []) + list(profile or {}):
        if ont_id not in onts:
            raise NotFoundError(kind="ont", element_id=ont_id)
    gone = set(remove or [])
    out["onts"] = [o for o in out["onts"] if o["id"] not in gone]
    out["links"] = [link for link in out["links"] if link["to"] not in gone]
    out["sites"] = [
        {**s, "backhaul_ont": None} if s.get("backhaul_ont") in gone else s for s in out["sites"]
    ]
    for ont in out["onts"]:
        if ont["id"] in (profile or {}):
            ont["service"] = copy.deepcopy(profile[ont["id"]])  # type: ignore[index]
    for item in add or []:
        out["onts"].append(copy.deepcopy(item["ont"]))
        out["links"].append(copy.deepcopy(item["link"]))
    return load_document(out)


def what_if(doc: Document, **changes: Any) -> dict[str, Any]:
    """Budget and capacity of ``doc`` with ``changes`` (see :func:`apply_changes`)."""
    changed = apply_changes(doc, **changes)
    forest = pack_forest(changed)
    budget = network_budget(changed, forest=forest)
    return {
        "document": changed,
        "budget": budget,
        "capacity": network_capacity(changed, forest=forest, budget=budget),
    }
