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
from ponmodel.service import check_service
from ponmodel.topology.budget import BudgetReport, OntBudget, network_budget
from ponmodel.topology.capacity import (
    CapacityReport,
    OntCapacity,
    PortCapacity,
    network_capacity,
)
from ponmodel.topology.figures import ont_figures
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
    InvalidRequestError
        A service breaks a rule (:func:`ponmodel.service.check_service`).
    DocumentError
        The changed network is not valid.
    """
    for ont_id, service in (profile or {}).items():
        check_service(service, field=f"profile.{ont_id}")
    for n, item in enumerate(add or []):
        if isinstance(item.get("ont"), dict) and "service" in item["ont"]:
            check_service(item["ont"]["service"], field=f"add.{n}.ont.service")
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


def what_if(doc: Document, *, before: tuple[BudgetReport, CapacityReport] | None = None,
            **changes: Any) -> dict[str, Any]:
    """Budget and capacity of ``doc`` with ``changes`` (see :func:`apply_changes`), and
    what differs from ``doc`` as it is (:func:`difference`).

    Parameters
    ----------
    doc : Document
        The network as it is.
    before : (BudgetReport, CapacityReport), optional
        Its reports, when already computed (the API's cache).
    **changes
        ``add``, ``remove``, ``profile``.

    Returns
    -------
    dict
        ``document``, ``budget`` and ``capacity`` of the changed network, and
        ``difference``.
    """
    changed = apply_changes(doc, **changes)
    forest = pack_forest(changed)
    budget = network_budget(changed, forest=forest)
    capacity = network_capacity(changed, forest=forest, budget=budget)
    if before is None:
        old_budget = network_budget(doc)
        before = (old_budget, network_capacity(doc, budget=old_budget))
    return {
        "document": changed,
        "budget": budget,
        "capacity": capacity,
        "difference": difference(*before, budget, capacity),
    }


def _budget_row(o: OntBudget) -> dict[str, Any]:
    return {"loss_down_db": o.downstream.loss_db, "loss_up_db": o.upstream.loss_db,
            "headroom_down_db": o.downstream.headroom_db,
            "headroom_up_db": o.upstream.headroom_db, "ok": o.ok, "problems": list(o.problems)}


def _capacity_row(o: OntCapacity) -> dict[str, Any]:
    return {"guaranteed_down_mbps": o.down.guaranteed_mbps,
            "guaranteed_up_mbps": o.up.guaranteed_mbps,
            "full_load_down_mbps": o.down.full_load_mbps,
            "full_load_up_mbps": o.up.full_load_mbps,
            "ten_g_symmetric": o.ten_g_symmetric}


def _port_row(p: PortCapacity) -> dict[str, Any]:
    row: dict[str, Any] = {"onts": p.onts}
    for d in ("down", "up"):
        load = getattr(p, d)
        row.update({f"guaranteed_{d}_mbps": load.guaranteed_mbps,
                    f"sold_max_{d}_mbps": load.sold_max_mbps,
                    f"oversubscription_{d}": load.oversubscription,
                    f"admissible_{d}": load.admissible})
    return row


def _moves(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any] | None:
    """``{"before", "after", "change"}`` of one element, or None when nothing moved.
    ``change`` holds the numeric fields' differences (after − before)."""
    if old == new:
        return None
    change = {} if old is None or new is None else {
        k: round(new[k] - old[k], 9) for k in new
        if isinstance(new[k], int | float) and not isinstance(new[k], bool)
        and new[k] != old[k]}
    return {"before": old, "after": new, "change": change}


def difference(old_budget: BudgetReport, old_capacity: CapacityReport,
               new_budget: BudgetReport, new_capacity: CapacityReport) -> dict[str, Any]:
    """What a what-if changes: ONTs added and removed, every ONT whose budget or rates
    move (before, after, the change and whether its verdict flips), every port whose load
    moves, and the headline counts before and after.

    Examples
    --------
    >>> from ponmodel.document import read_document
    >>> doc = read_document("fixtures/tiny.json")
    >>> gone = doc["onts"][1]["id"]
    >>> d = what_if(doc, remove=[gone])["difference"]
    >>> d["onts_removed"] == [gone], d["headline"]["onts_with_budget"]
    (True, {'before': 3, 'after': 2, 'change': -1})
    """
    ob, nb = {o.id: o for o in old_budget.onts}, {o.id: o for o in new_budget.onts}
    oc, nc = {o.id: o for o in old_capacity.onts}, {o.id: o for o in new_capacity.onts}
    budgets, rates, verdicts = [], [], []
    for ont_id in sorted(set(ob) & set(nb)):
        moved = _moves(_budget_row(ob[ont_id]), _budget_row(nb[ont_id]))
        if moved is not None:
            budgets.append({"ont": ont_id, **moved})
        if ob[ont_id].ok != nb[ont_id].ok:
            verdicts.append({"ont": ont_id, "check": "budget", "before": ob[ont_id].ok,
                             "after": nb[ont_id].ok})
    for ont_id in sorted(set(oc) & set(nc)):
        moved = _moves(_capacity_row(oc[ont_id]), _capacity_row(nc[ont_id]))
        if moved is not None:
            rates.append({"ont": ont_id, **moved})
        if oc[ont_id].ten_g_symmetric != nc[ont_id].ten_g_symmetric:
            verdicts.append({"ont": ont_id, "check": "ten_g_symmetric",
                             "before": oc[ont_id].ten_g_symmetric,
                             "after": nc[ont_id].ten_g_symmetric})
    op = {p.id: p for p in old_capacity.ports}
    np_ = {p.id: p for p in new_capacity.ports}
    ports = []
    for port_id in sorted(set(op) | set(np_)):
        moved = _moves(_port_row(op[port_id]) if port_id in op else None,
                       _port_row(np_[port_id]) if port_id in np_ else None)
        if moved is not None:
            ports.append({"port": port_id, **moved})

    def headline(budget: BudgetReport, capacity: CapacityReport) -> dict[str, int]:
        # the figures' own definitions (ponmodel.topology.figures), over the whole network
        onts = ont_figures(budget.onts)
        return {"onts_with_budget": onts["onts_with_budget"],
                "onts_within_budget": onts["onts_within_budget"],
                "onts_failing_budget": onts["onts_failing_budget"],
                "onts_ten_g_symmetric": sum(o.ten_g_symmetric for o in capacity.onts),
                "ports_admissible_both_ways": sum(p.down.admissible and p.up.admissible
                                                  for p in capacity.ports if p.onts)}

    before, after = headline(old_budget, old_capacity), headline(new_budget, new_capacity)
    return {
        "onts_added": sorted(set(nc) - set(oc)),
        "onts_removed": sorted(set(oc) - set(nc)),
        "verdicts": verdicts,
        "budgets": budgets,
        "rates": rates,
        "ports": ports,
        "headline": {k: {"before": before[k], "after": after[k], "change": after[k] - before[k]}
                     for k in before},
    }
