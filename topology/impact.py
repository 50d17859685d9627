"""Failure impact: what a cut duct, a flooded manhole or a dead OLT takes down, and shared risk.

What fails with what (one set of elements at once: a planned dig along a street is the set of
its ducts and manholes):

- a **duct** fails with every innerduct in it (at any depth): every cable laid in any of them
  is cut;
- a **structure** (manhole, cabinet, exchange...) fails with every duct and innerduct touching
  it (ducts end at the structures they pass through) and the equipment located there: OLTs
  (all their ports), splitters, ONTs; mobile sites located there are listed apart
  (``sites_at_failed_structures``): they are down whatever their backhaul;
- a **cable** cut cuts every link it carries (``links`` lists the links physically cut);
- a **link**, **splitter**, **ONT**, **PON port** or **OLT** (its ports) may fail by itself.

Then one traversal down the PON forest from every cut link's downstream end and every failed
node marks all that loses service (``links_out_of_service``, ``onts``). A mobile site loses
its backhaul when its ``backhaul_ont`` does. Counts are grouped by operator (the OLT's), zone
(the ONT's structure's zone; ``(no zone)`` outside every zone) and customer (``(no
customer)`` when unnamed).

Shared risk (:func:`shared_risk`): per top-level duct (its loss includes its innerducts), the
ONTs each operator would lose. Ducts where two or more operators would lose ONTs carry
several operators' feeders (``shared_ducts``). For each operator, the single ducts whose loss
would cut more than ``share`` of its ONTs in a zone (``single_points``). It is computed for
all ducts at once from each PON node's downstream ONT count per zone (one post-order pass),
not by one traversal per duct.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.topology.impact import impact
>>> doc = read_document("fixtures/two_operators_shared_duct.json")
>>> r = impact(doc, ["DU-01"])
>>> r["links"], r["onts"], r["by_operator"]
(['FL-01', 'FL-02'], ['ONT-01', 'ONT-02', 'ONT-03', 'ONT-04'], {'viettel': 2, 'vnpt': 2})
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ponmodel._gc import gc_paused
from ponmodel.document import KIND_OF_COLLECTION, Document
from ponmodel.errors import NotFoundError
from ponmodel.topology.build import Topology

NO_ZONE = "(no zone)"
NO_CUSTOMER = "(no customer)"

ONT_FIELDS_READ = frozenset({"customer", "structure"})
"""The ONT fields :func:`impact_index` reads (besides ids): its customer and structure
(zone); an edit of any other field leaves the index as it was."""
ONT_FIELDS_READ_LIVE_CUSTOMERS = frozenset({"structure"})
"""What :func:`impact` reads of the index's ONTs when it is given ``customer_of``: the
customers then come from the caller at query time, and a rename needs no new index."""
FAILING_KINDS = ("duct", "structure", "cable", "link", "splitter", "ont", "port", "olt")


@dataclass
class ImpactIndex:
    """Lookups for impact queries, computed once per document (see :func:`impact_index`)."""

    doc: Document
    kind_of: dict[str, str] = field(default_factory=dict)
    duct_family: dict[str, list[str]] = field(default_factory=dict)
    """Duct id → itself and every innerduct in it, at any depth."""
    top_duct: dict[str, str] = field(default_factory=dict)
    cables_in: dict[str, list[str]] = field(default_factory=dict)
    ducts_at: dict[str, list[str]] = field(default_factory=dict)
    links_of_cable: dict[str, list[str]] = field(default_factory=dict)
    link_ends: dict[str, tuple[str, str]] = field(default_factory=dict)
    children: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    """PON node id → [(link id, downstream node id)]."""
    parent: dict[str, str] = field(default_factory=dict)
    ports_of_olt: dict[str, list[str]] = field(default_factory=dict)
    equipment_at: dict[str, list[str]] = field(default_factory=dict)
    sites_at: dict[str, list[str]] = field(default_factory=dict)
    sites_of_ont: dict[str, list[str]] = field(default_factory=dict)
    site_operator: dict[str, str] = field(default_factory=dict)
    ont_operator: dict[str, str] = field(default_factory=dict)
    ont_zone: dict[str, str] = field(default_factory=dict)
    ont_customer: dict[str, str] = field(default_factory=dict)


def impact_index(topo_or_doc: Topology | Document) -> ImpactIndex:
    """Precompute the lookups of ``doc`` for impact queries.

    Examples
    --------
    >>> from ponmodel.document import read_document
    >>> idx = impact_index(read_document("fixtures/two_operators_shared_duct.json"))
    >>> idx.links_of_cable["CB-01"], idx.ont_operator["ONT-03"]
    (['FL-01'], 'viettel')
    """
    with gc_paused():
        return _impact_index(topo_or_doc)


def _impact_index(topo_or_doc: Topology | Document) -> ImpactIndex:
    doc = topo_or_doc.doc if isinstance(topo_or_doc, Topology) else topo_or_doc
    idx = ImpactIndex(doc=doc)
    for key, kind in KIND_OF_COLLECTION.items():
        for element in doc.get(key, []):
            idx.kind_of[element["id"]] = kind
    for olt in doc.get("olts", []):
        idx.ports_of_olt[olt["id"]] = [p["id"] for p in olt.get("ports", [])]
        for p in olt.get("ports", []):
            idx.kind_of[p["id"]] = "port"
    ducts = {d["id"]: d for d in doc.get("ducts", [])}
    inner_of: dict[str, list[str]] = defaultdict(list)
    for d in ducts.values():
        if d.get("within") is not None:
            inner_of[d["within"]].append(d["id"])
        idx.ducts_at.setdefault(d["from"], []).append(d["id"])
        if d["to"] != d["from"]:
            idx.ducts_at.setdefault(d["to"], []).append(d["id"])
    for duct_id in ducts:
        family = [duct_id]
        i = 0
        while i < len(family):
            family.extend(inner_of.get(family[i], ()))
            i += 1
        idx.duct_family[duct_id] = family
        top = duct_id
        while ducts[top].get("within") is not None:
            top = ducts[top]["within"]
        idx.top_duct[duct_id] = top
    for cable in doc.get("cables", []):
        for duct_id in dict.fromkeys(cable.get("ducts", [])):
            idx.cables_in.setdefault(duct_id, []).append(cable["id"])
    for link in doc.get("links", []):
        idx.link_ends[link["id"]] = (link["from"], link["to"])
        idx.children.setdefault(link["from"], []).append((link["id"], link["to"]))
        idx.parent[link["to"]] = link["from"]
        for cable_id in dict.fromkeys(link.get("cables") or ()):
            idx.links_of_cable.setdefault(cable_id, []).append(link["id"])
    for key in ("olts", "splitters", "onts"):
        for e in doc.get(key, []):
            idx.equipment_at.setdefault(e["structure"], []).append(e["id"])
    for site in doc.get("sites", []):
        idx.site_operator[site["id"]] = site["operator"]
        if site.get("structure"):
            idx.sites_at.setdefault(site["structure"], []).append(site["id"])
        if site.get("backhaul_ont"):
            idx.sites_of_ont.setdefault(site["backhaul_ont"], []).append(site["id"])
    zone_of = {s["id"]: s.get("zone") for s in doc.get("structures", [])}
    onts = {o["id"]: o for o in doc.get("onts", [])}
    for ont_id, ont in onts.items():
        idx.ont_zone[ont_id] = zone_of.get(ont["structure"]) or NO_ZONE
        idx.ont_customer[ont_id] = ont.get("customer") or NO_CUSTOMER
    for olt in doc.get("olts", []):
        stack = list(idx.ports_of_olt[olt["id"]])
        while stack:
            node = stack.pop()
            if node in onts:
                idx.ont_operator[node] = olt["operator"]
            stack.extend(to for _, to in idx.children.get(node, ()))
    return idx


def _as_index(topo_or_doc: Topology | Document | ImpactIndex) -> ImpactIndex:
    if isinstance(topo_or_doc, ImpactIndex):
        return topo_or_doc
    return impact_index(topo_or_doc)


def impact(
    topo_or_doc: Topology | Document | ImpactIndex, element_ids: Iterable[str] | str,
    *, customer_of: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:
    """Everything that loses service when the given elements fail together.

    Parameters
    ----------
    topo_or_doc : Topology, Document or ImpactIndex
        The network; pass an :func:`impact_index` for repeated queries.
    element_ids : str or iterable of str
        Ducts, structures, cables, links, splitters, ONTs, PON ports or OLTs.
    customer_of : callable, optional
        ONT id → its customer now (None when unnamed); default: the customers the index
        was built with. The API passes its live elements, which ONT edits update.

    Returns
    -------
    dict
        ``elements``; the failed ``ducts`` (with innerducts), ``cables`` cut, ``links`` cut,
        ``links_out_of_service`` (cut or downstream of a lost node), ``onts`` losing service,
        ``sites`` losing backhaul, ``sites_at_failed_structures``; ``by_operator``,
        ``by_zone``, ``by_customer`` (ONT counts), ``sites_by_operator``; ``totals``.

    Raises
    ------
    NotFoundError
        An id that does not exist, or of a kind that cannot fail (operator, zone, site).

    Examples
    --------
    >>> from ponmodel.document import read_document
    >>> doc = read_document("fixtures/two_operators_shared_duct.json")
    >>> r = impact(doc, "SP-02")
    >>> r["links"], r["links_out_of_service"], r["by_customer"]
    ([], ['DR-03', 'DR-04'], {'Hanel': 2})
    """
    idx = _as_index(topo_or_doc)
    ids = [element_ids] if isinstance(element_ids, str) else list(dict.fromkeys(element_ids))
    ducts: set[str] = set()
    cables: set[str] = set()
    links: set[str] = set()
    dead: set[str] = set()
    structures: set[str] = set()
    for element_id in ids:
        kind = idx.kind_of.get(element_id)
        if kind not in FAILING_KINDS:
            raise NotFoundError(kind=" or ".join(FAILING_KINDS), element_id=element_id)
        if kind == "duct":
            ducts.update(idx.duct_family[element_id])
        elif kind == "structure":
            structures.add(element_id)
            for duct_id in idx.ducts_at.get(element_id, ()):
                ducts.update(idx.duct_family[duct_id])
            for equipment in idx.equipment_at.get(element_id, ()):
                dead.update(idx.ports_of_olt.get(equipment, [equipment]))
        elif kind == "cable":
            cables.add(element_id)
        elif kind == "link":
            links.add(element_id)
        elif kind == "olt":
            dead.update(idx.ports_of_olt[element_id])
        else:
            dead.add(element_id)
    for duct_id in ducts:
        cables.update(idx.cables_in.get(duct_id, ()))
    for cable_id in cables:
        links.update(idx.links_of_cable.get(cable_id, ()))
    out_of_service = set(links)
    stack = [idx.link_ends[link_id][1] for link_id in links]
    stack.extend(dead)
    lost: set[str] = set()
    while stack:
        node = stack.pop()
        if node in lost:
            continue
        lost.add(node)
        for link_id, to in idx.children.get(node, ()):
            out_of_service.add(link_id)
            stack.append(to)
    onts = sorted(n for n in lost if n in idx.ont_zone)
    sites = sorted({s for o in onts for s in idx.sites_of_ont.get(o, ())})
    sites_here = sorted({s for st in structures for s in idx.sites_at.get(st, ())})
    by_operator = Counter(idx.ont_operator.get(o, "") for o in onts)
    by_zone = Counter(idx.ont_zone[o] for o in onts)
    if customer_of is None:
        by_customer = Counter(idx.ont_customer[o] for o in onts)
    else:
        by_customer = Counter(customer_of(o) or NO_CUSTOMER for o in onts)
    sites_by_operator = Counter(idx.site_operator[s] for s in set(sites) | set(sites_here))
    return {
        "elements": ids,
        "ducts": sorted(ducts),
        "cables": sorted(cables),
        "links": sorted(links),
        "links_out_of_service": sorted(out_of_service),
        "onts": onts,
        "sites": sites,
        "sites_at_failed_structures": sites_here,
        "by_operator": dict(sorted(by_operator.items())),
        "by_zone": dict(sorted(by_zone.items())),
        "by_customer": dict(sorted(by_customer.items())),
        "sites_by_operator": dict(sorted(sites_by_operator.items())),
        "totals": {
            "ducts": len(ducts),
            "cables": len(cables),
            "links": len(links),
            "links_out_of_service": len(out_of_service),
            "onts": len(onts),
            "customers": len(by_customer) - (NO_CUSTOMER in by_customer),
            "sites": len(sites),
            "sites_at_failed_structures": len(sites_here),
        },
    }


def shared_risk(
    topo_or_doc: Topology | Document | ImpactIndex, share: float = 0.2
) -> dict[str, Any]:
    """Ducts several operators depend on, and each operator's single points of failure.

    Parameters
    ----------
    topo_or_doc : Topology, Document or ImpactIndex
        The network.
    share : float
        A duct is a single point of an operator in a zone when its loss alone cuts more than
        this share of the operator's ONTs in that zone (default 0.2).

    Returns
    -------
    dict
        ``shared_ducts``: top-level ducts whose loss cuts ONTs of two or more operators, with
        ``onts_by_operator`` and ``cables_by_operator``, most ONTs first;
        ``single_points``: operator id → rows ``{"duct", "zone", "onts_lost", "onts_in_zone",
        "share"}``, largest share first.

    Examples
    --------
    >>> from ponmodel.document import read_document
    >>> r = shared_risk(read_document("fixtures/two_operators_shared_duct.json"), share=0.5)
    >>> [(d["id"], d["onts_by_operator"]) for d in r["shared_ducts"]]
    [('DU-01', {'viettel': 2, 'vnpt': 2})]
    >>> [(p["duct"], p["share"]) for p in r["single_points"]["vnpt"]]  # 2 of 2 ONTs
    [('DU-01', 1.0), ('DU-02', 1.0)]
    """
    idx = _as_index(topo_or_doc)
    # downstream ONT count per (zone) of every PON node, by one post-order pass
    below: dict[str, Counter[str]] = {}
    for olt_ports in idx.ports_of_olt.values():
        for port in olt_ports:
            order: list[str] = []
            stack = [port]
            while stack:
                node = stack.pop()
                order.append(node)
                stack.extend(to for _, to in idx.children.get(node, ()))
            for node in reversed(order):
                counts: Counter[str] = Counter()
                if node in idx.ont_zone:
                    counts[idx.ont_zone[node]] += 1
                for _, to in idx.children.get(node, ()):
                    counts.update(below[to])
                below[node] = counts
    operator_of_node: dict[str, str] = {}
    for olt in idx.doc.get("olts", []):
        for port in idx.ports_of_olt[olt["id"]]:
            operator_of_node[port] = olt["operator"]
    totals: Counter[tuple[str, str]] = Counter(
        (idx.ont_operator.get(o, ""), z) for o, z in idx.ont_zone.items()
    )
    cable_operator = {c["id"]: c["operator"] for c in idx.doc.get("cables", [])}
    # cables of each top-level duct (its innerducts included)
    cables_of_top: dict[str, set[str]] = defaultdict(set)
    for duct_id, cable_ids in idx.cables_in.items():
        cables_of_top[idx.top_duct[duct_id]].update(cable_ids)
    root_of: dict[str, str] = {}

    def root(node: str) -> str:
        path = []
        while node not in root_of and node in idx.parent:
            path.append(node)
            node = idx.parent[node]
        top = root_of.get(node, node)
        for n in path:
            root_of[n] = top
        return top

    shared: list[dict[str, Any]] = []
    single: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for duct_id in sorted(cables_of_top):
        cut = {idx.link_ends[link][1] for c in cables_of_top[duct_id]
               for link in idx.links_of_cable.get(c, ())}
        lost: Counter[tuple[str, str]] = Counter()
        for node in cut:
            up = idx.parent.get(node)
            nested = False
            while up is not None:
                if up in cut:
                    nested = True
                    break
                up = idx.parent.get(up)
            if nested:
                continue
            op = operator_of_node.get(root(node), "")
            for zone, n in below.get(node, Counter()).items():
                lost[(op, zone)] += n
        by_op: Counter[str] = Counter()
        for (op, _), n in lost.items():
            by_op[op] += n
        if len(by_op) >= 2:
            cables_by_op: dict[str, list[str]] = defaultdict(list)
            for c in sorted(cables_of_top[duct_id]):
                cables_by_op[cable_operator[c]].append(c)
            shared.append({
                "id": duct_id,
                "operators": sorted(by_op),
                "onts": sum(by_op.values()),
                "onts_by_operator": dict(sorted(by_op.items())),
                "cables_by_operator": dict(sorted(cables_by_op.items())),
            })
        for (op, zone), n in lost.items():
            total = totals[(op, zone)]
            if total and n / total > share:
                single[op].append({
                    "duct": duct_id, "zone": zone, "onts_lost": n, "onts_in_zone": total,
                    "share": n / total,
                })
    shared.sort(key=lambda r: (-r["onts"], r["id"]))
    return {
        "share": share,
        "shared_ducts": shared,
        "single_points": {
            op: sorted(rows, key=lambda r: (-r["share"], r["duct"], r["zone"]))
            for op, rows in sorted(single.items())
        },
    }
