"""The figures every surface reports, each defined once.

The CLI (tables and ``--json``), the API, the viewer's headlines and layer counts and the
zone report all read a zone's figures from :func:`zone_figures` (and a set of ducts' from
:func:`duct_figures`), so that one quantity has one name and one value everywhere. Where two
different quantities are both useful they have two names:

- ``onts_failing_budget`` (fails any check: downstream, upstream, class window, reach or
  split) and ``onts_negative_headroom`` (worst-direction headroom below 0 dB, a subset);
- ``ducts`` (top-level ducts, the report's "ducts") and ``innerducts`` (innerducts of those
  ducts); each has its own ``*_over_limit`` and ``*_near_limit``;
- ``ports_differential_ok`` (a port's own checks: differential reach and loss) and
  ``ports_all_onts_ok`` (that, and every ONT on the port within budget).

Membership: an ONT belongs to the zone of its structure (its tree may reach further), a duct
or innerduct to the zone of each of its end structures, a port to the zone of its OLT's
structure.

Examples
--------
>>> FIGURES["onts_failing_budget"].unit
'ONTs'
>>> sorted(k for k in FIGURES if k.startswith("ducts"))[:3]
['ducts', 'ducts_near_limit', 'ducts_over_limit']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ponmodel.document import Document
from ponmodel.topology.budget import BudgetReport, OntBudget
from ponmodel.topology.capacity import CapacityReport
from ponmodel.topology.ducts import DuctFill, DuctReport


@dataclass(frozen=True, slots=True)
class Figure:
    """A reported figure: its unit and what it counts."""

    unit: str
    description: str


FIGURES: dict[str, Figure] = {
    "onts": Figure("ONTs", "ONTs whose structure is in the zone"),
    "onts_with_budget": Figure("ONTs", "of those, ONTs reached from a PON port (with a budget)"),
    "onts_within_budget": Figure(
        "ONTs", "ONTs passing every check: both directions with the safety margin, the class "
        "window, reach and split"),
    "onts_failing_budget": Figure(
        "ONTs", "ONTs failing at least one check (onts_with_budget − onts_within_budget)"),
    "onts_negative_headroom": Figure(
        "ONTs", "ONTs whose worst-direction headroom is below 0 dB (a subset of "
        "onts_failing_budget)"),
    "onts_ten_g_symmetric": Figure(
        "ONTs", "ONTs 10G-symmetric: a 10G-symmetric line (XGS-PON) and uplink, whatever the "
        "load (the capacity at full load is shown beside it)"),
    "enterprise_onts": Figure("ONTs", "enterprise ONTs"),
    "enterprise_onts_ten_g_symmetric": Figure("ONTs", "enterprise ONTs 10G-symmetric"),
    "ducts": Figure("ducts", "top-level ducts with an end in the zone (innerducts not counted)"),
    "innerducts": Figure("innerducts", "innerducts of those ducts"),
    "ducts_over_limit": Figure("ducts", "top-level ducts whose fill exceeds their limit"),
    "innerducts_over_limit": Figure("innerducts", "innerducts whose fill exceeds their limit"),
    "ducts_near_limit": Figure(
        "ducts", "top-level ducts occupied, not over, and at or above near_share of their limit"),
    "innerducts_near_limit": Figure("innerducts", "the same, for innerducts"),
    "duct_metres": Figure("m", "length of the top-level ducts"),
    "shared_duct_metres": Figure(
        "m", "length of the top-level ducts used by two or more operators (a duct's operators "
        "include those of cables in its innerducts)"),
    "ports": Figure("ports", "PON ports of the OLTs in the zone"),
    "gpon_ports": Figure("ports", "of those, GPON ports"),
    "ports_in_use": Figure("ports", "ports with at least one ONT"),
    "ports_differential_ok": Figure(
        "ports", "ports in use within their differential reach and loss"),
    "ports_all_onts_ok": Figure(
        "ports", "ports in use within their differential limits whose every ONT is within "
        "budget"),
}
"""Every figure :func:`zone_figures` returns, with its unit and definition."""


def ont_verdict(budget: OntBudget | None) -> str:
    """``ok``, or the first check an ONT fails; ``unconnected`` without a budget.

    The checks in order: ``downstream``, ``upstream`` (headroom with the safety margin),
    ``class`` (received power within the class window), ``reach``, ``split``.
    """
    if budget is None:
        return "unconnected"
    if budget.ok:
        return "ok"
    for name, ok in (("downstream", budget.downstream.ok), ("upstream", budget.upstream.ok),
                     ("class", budget.class_ok), ("reach", budget.reach_ok),
                     ("split", budget.split_ok)):
        if not ok:
            return name
    return "budget"


def failed_checks(budget: OntBudget) -> list[str]:
    """Every check an ONT fails, in the order of :func:`ont_verdict` (empty when it passes):
    what ``check``'s ``onts_failing_check`` counts, each ONT under each check it fails."""
    return [name for name, ok in (("downstream", budget.downstream.ok),
                                  ("upstream", budget.upstream.ok),
                                  ("class", budget.class_ok), ("reach", budget.reach_ok),
                                  ("split", budget.split_ok)) if not ok]


def duct_figures(rows: Iterable[DuctFill]) -> dict[str, Any]:
    """Counts and metres of a set of ducts and innerducts (a zone's, or the city's).

    Returns the ``ducts``, ``innerducts``, ``*_over_limit``, ``*_near_limit``,
    ``duct_metres`` and ``shared_duct_metres`` of :data:`FIGURES`, and
    ``over_limit_ids`` / ``near_limit_ids`` (ducts and innerducts, sorted).
    """
    rows = list(rows)
    top = [r for r in rows if r.within is None]
    inner = [r for r in rows if r.within is not None]
    # lengths are given to 0.1 m: round the sums so that float noise does not show
    metres = round(sum((r.length_m for r in top), 0.0), 3)
    shared = round(sum((r.length_m for r in top if len(r.operators) >= 2), 0.0), 3)
    return {
        "ducts": len(top),
        "innerducts": len(inner),
        "ducts_over_limit": sum(r.over_limit for r in top),
        "innerducts_over_limit": sum(r.over_limit for r in inner),
        "ducts_near_limit": sum(r.near_limit for r in top),
        "innerducts_near_limit": sum(r.near_limit for r in inner),
        "duct_metres": metres,
        "shared_duct_metres": shared,
        "over_limit_ids": sorted(r.id for r in rows if r.over_limit),
        "near_limit_ids": sorted(r.id for r in rows if r.near_limit),
    }


def ont_figures(budgets: Iterable[OntBudget | None]) -> dict[str, int]:
    """``onts``, ``onts_with_budget``, ``onts_within_budget``, ``onts_failing_budget`` and
    ``onts_negative_headroom`` of a set of ONTs (``None``: an ONT without a budget)."""
    onts = with_budget = ok = negative = 0
    for b in budgets:
        onts += 1
        if b is None:
            continue
        with_budget += 1
        ok += b.ok
        negative += b.worst_headroom_db < 0.0
    return {"onts": onts, "onts_with_budget": with_budget, "onts_within_budget": ok,
            "onts_failing_budget": with_budget - ok, "onts_negative_headroom": negative}


def zone_figures(
    doc: Document, budget: BudgetReport, capacity: CapacityReport, fill: DuctReport, *,
    zone: str, operator: str | None = None,
) -> dict[str, Any]:
    """Every figure of :data:`FIGURES` for one zone, optionally one operator's part of it.

    Parameters
    ----------
    doc : Document
        The network (or a subset holding the zone's trees and ducts).
    budget, capacity, fill : reports
        Of the same document.
    zone : str
        The zone id.
    operator : str, optional
        Only ONTs and ports of this operator's OLTs, and the ducts it owns or has a cable in.
    """
    return figures_by_zone(doc, budget, capacity, fill, zones=[zone], operator=operator)[zone]


def figures_by_zone(
    doc: Document, budget: BudgetReport, capacity: CapacityReport, fill: DuctReport, *,
    zones: Iterable[str] | None = None, operator: str | None = None,
) -> dict[str, dict[str, Any]]:
    """:func:`zone_figures` of several zones (default: every zone of ``doc``) in one pass."""
    wanted = [z["id"] for z in doc.get("zones", [])] if zones is None else list(zones)
    keep = set(wanted)
    zone_of_structure = {s["id"]: s.get("zone") for s in doc.get("structures", [])}
    olts = [o for o in doc.get("olts", []) if operator is None or o["operator"] == operator]
    olt_ids = {o["id"] for o in olts}
    budget_by_id = {o.id: o for o in budget.onts}
    onts: dict[str, list[str]] = {z: [] for z in wanted}
    for o in doc.get("onts", []):
        z = zone_of_structure.get(o["structure"])
        if z not in keep:
            continue
        if operator is not None and (o["id"] not in budget_by_id
                                     or budget_by_id[o["id"]].olt not in olt_ids):
            continue
        onts[z].append(o["id"])
    zone_of_ont = {i: z for z, ids in onts.items() for i in ids}
    ten_g: dict[str, list[int]] = {z: [0, 0, 0] for z in wanted}
    for c in capacity.onts:
        z = zone_of_ont.get(c.id)
        if z is None:
            continue
        counts = ten_g[z]
        counts[0] += c.ten_g_symmetric
        if c.kind == "enterprise":
            counts[1] += 1
            counts[2] += c.ten_g_symmetric
    ducts: dict[str, list[DuctFill]] = {z: [] for z in wanted}
    for d in fill.ducts:
        if operator is not None and operator != d.owner and operator not in d.operators:
            continue
        for z in d.zones:
            if z in keep:
                ducts[z].append(d)
    port_zone: dict[str, str] = {}
    ports: dict[str, list[str]] = {z: [] for z in wanted}
    for o in olts:
        z = zone_of_structure.get(o["structure"])
        if z in keep:
            for p in o.get("ports", []):
                port_zone[p["id"]] = z
                ports[z].append(p["technology"])
    used: dict[str, list[int]] = {z: [0, 0, 0] for z in wanted}
    for p in budget.ports:
        z = port_zone.get(p.id)
        if z is None or not p.onts:
            continue
        counts = used[z]
        counts[0] += 1
        counts[1] += p.ok
        counts[2] += p.ok and p.onts_within_budget == p.onts
    out = {}
    for z in wanted:
        figures: dict[str, Any] = ont_figures(budget_by_id.get(i) for i in onts[z])
        t = ten_g[z]
        figures.update(onts_ten_g_symmetric=t[0], enterprise_onts=t[1],
                       enterprise_onts_ten_g_symmetric=t[2])
        figures.update(duct_figures(ducts[z]))
        u = used[z]
        figures.update(ports=len(ports[z]), gpon_ports=ports[z].count("gpon"),
                       ports_in_use=u[0], ports_differential_ok=u[1], ports_all_onts_ok=u[2])
        out[z] = figures
    return out
