"""Build the networkx graphs of a network: the physical layer and the PON forest.

The graphs are derived from a validated document (a file, or the database through
:func:`ponmodel.storage.export_document`) and never stored. Nodes are keyed
``(kind, id)``; parallel edges are keyed by the element id that makes them (a duct, a link).

- ``physical``: an undirected ``MultiGraph`` of structures, one edge per duct or innerduct,
  with ``cables`` (ids routed through it) and the duct's figures as edge data;
- ``pon``: a ``MultiDiGraph`` from each PON port through splitters to ONTs, one edge per
  link, with the link's figures and ``cables`` as edge data.

Examples
--------
>>> from ponmodel.topology.build import build_topology
>>> doc = {"format": "ponmodel/1", "olts": [{"id": "O", "operator": "v", "structure": "E",
...        "uplink_gbps": 10, "ports": [{"id": "O/1", "technology": "gpon",
...        "optics_class": "B+"}]}], "onts": [{"id": "N", "structure": "B", "kind":
...        "residential"}], "links": [{"id": "L", "from": "O/1", "to": "N", "length_m": 900.0}]}
>>> topo = build_topology(doc)
>>> list(topo.pon.edges(keys=True))
[(('port', 'O/1'), ('ont', 'N'), 'L')]
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from ponmodel.document import COLLECTIONS, KIND_OF_COLLECTION, Document
from ponmodel.errors import NotFoundError

Node = tuple[str, str]
"""A graph node: ``(kind, id)``."""


@dataclass
class Topology:
    """The graphs of one network (or one zone) and an id → element index."""

    doc: Document
    physical: nx.MultiGraph = field(default_factory=nx.MultiGraph)
    pon: nx.MultiDiGraph = field(default_factory=nx.MultiDiGraph)
    elements: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    olt_of_port: dict[str, str] = field(default_factory=dict)

    def element(self, element_id: str, *kinds: str) -> tuple[str, dict[str, Any]]:
        """``(kind, element)`` of an id; NotFoundError when absent or not of ``kinds``."""
        found = self.elements.get(element_id)
        if found is None or (kinds and found[0] not in kinds):
            raise NotFoundError(" or ".join(kinds) or "element", element_id)
        return found

    def node(self, element_id: str) -> Node:
        """The PON node of a port, splitter or ONT id."""
        kind, _ = self.element(element_id, "port", "splitter", "ont")
        return (kind, element_id)

    def parent_link(self, node: Node) -> tuple[Node, str, dict[str, Any]] | None:
        """The one link into ``node``: ``(upstream node, link id, edge data)``, or None."""
        for upstream, _, key, data in self.pon.in_edges(node, keys=True, data=True):
            return upstream, key, data
        return None


def build_topology(doc: Document) -> Topology:
    """Both layers of ``doc`` (a validated document) as networkx graphs."""
    topo = Topology(doc=doc)
    for key, kind in KIND_OF_COLLECTION.items():
        for element in doc.get(key, []):
            topo.elements[element["id"]] = (kind, element)
            if key == "olts":
                for port in element.get("ports", []):
                    topo.elements[port["id"]] = ("port", port)
                    topo.olt_of_port[port["id"]] = element["id"]
    physical = topo.physical
    for s in doc.get("structures", []):
        physical.add_node(("structure", s["id"]), **s)
    routed: dict[str, list[str]] = {}
    for cable in doc.get("cables", []):
        for duct_id in cable.get("ducts", []):
            routed.setdefault(duct_id, []).append(cable["id"])
    for d in doc.get("ducts", []):
        physical.add_edge(
            ("structure", d["from"]),
            ("structure", d["to"]),
            key=d["id"],
            cables=routed.get(d["id"], []),
            **{k: v for k, v in d.items() if k not in ("from", "to")},
        )
    pon = topo.pon
    for olt in doc.get("olts", []):
        for port in olt.get("ports", []):
            pon.add_node(("port", port["id"]), olt=olt["id"], structure=olt["structure"])
    for s in doc.get("splitters", []):
        pon.add_node(("splitter", s["id"]), structure=s["structure"], ratio=s["ratio"])
    for o in doc.get("onts", []):
        pon.add_node(("ont", o["id"]), structure=o["structure"], kind=o["kind"])
    for link in doc.get("links", []):
        source = (topo.elements.get(link["from"], ("port", None))[0], link["from"])
        target = (topo.elements.get(link["to"], ("ont", None))[0], link["to"])
        pon.add_edge(
            source,
            target,
            key=link["id"],
            **{k: v for k, v in link.items() if k not in ("from", "to")},
        )
    return topo


def subset_for_zone(doc: Document, zone_id: str) -> Document:
    """The part of ``doc`` that concerns one zone, as a document of its own.

    It holds the zone's structures and the ducts touching them (with their innerducts and
    host ducts); every PON tree that has its OLT or any splitter or ONT in the zone, whole
    (its OLT with all ports); the cables carrying those links or lying in those ducts; the
    zone's sites; and every structure, operator and zone those elements refer to.

    Raises
    ------
    NotFoundError
        No zone has this id.
    """
    zones = {z["id"]: z for z in doc.get("zones", [])}
    if zone_id not in zones:
        raise NotFoundError(kind="zone", element_id=zone_id)
    in_zone = {s["id"] for s in doc.get("structures", []) if s.get("zone") == zone_id}
    children: dict[str, list[dict[str, Any]]] = {}
    parent_of: dict[str, str] = {}
    for link in doc.get("links", []):
        children.setdefault(link["from"], []).append(link)
        parent_of[link["to"]] = link["from"]
    olt_of_port = {p["id"]: o["id"] for o in doc.get("olts", []) for p in o.get("ports", [])}
    olts = {o["id"] for o in doc.get("olts", []) if o["structure"] in in_zone}
    for key in ("splitters", "onts"):
        for element in doc.get(key, []):
            if element["structure"] in in_zone:
                node = element["id"]
                seen = 0
                while node in parent_of and seen <= len(parent_of):
                    node = parent_of[node]
                    seen += 1
                if node in olt_of_port:
                    olts.add(olt_of_port[node])
    ports = [p["id"] for o in doc.get("olts", []) if o["id"] in olts for p in o.get("ports", [])]
    nodes: set[str] = set()
    links: set[str] = set()
    queue = deque(ports)
    while queue:
        node = queue.popleft()
        for link in children.get(node, []):
            links.add(link["id"])
            nodes.add(link["to"])
            queue.append(link["to"])
    cables = {c for link in doc.get("links", []) if link["id"] in links for c in link["cables"]}
    ducts_by_id = {d["id"]: d for d in doc.get("ducts", [])}
    ducts = {d["id"] for d in ducts_by_id.values() if d["from"] in in_zone or d["to"] in in_zone}
    for c in doc.get("cables", []):
        if c["id"] in cables or ducts.intersection(c.get("ducts", [])):
            cables.add(c["id"])
            ducts.update(c.get("ducts", []))
    for duct_id in list(ducts):
        host = ducts_by_id.get(duct_id, {}).get("within")
        while host is not None and host not in ducts:
            ducts.add(host)
            host = ducts_by_id.get(host, {}).get("within")
    ducts.update(d["id"] for d in ducts_by_id.values() if d.get("within") in ducts)
    sites = [s for s in doc.get("sites", []) if s["zone"] == zone_id]
    out: Document = {k: doc.get(k) for k in ("format", "name", "defaults")}
    out["olts"] = [o for o in doc.get("olts", []) if o["id"] in olts]
    out["splitters"] = [s for s in doc.get("splitters", []) if s["id"] in nodes]
    site_onts = {s["backhaul_ont"] for s in sites if s.get("backhaul_ont")}
    out["onts"] = [o for o in doc.get("onts", []) if o["id"] in nodes or o["id"] in site_onts]
    out["links"] = [link for link in doc.get("links", []) if link["id"] in links]
    out["cables"] = [c for c in doc.get("cables", []) if c["id"] in cables]
    out["ducts"] = [ducts_by_id[d] for d in sorted(ducts) if d in ducts_by_id]
    out["sites"] = sites
    structures = set(in_zone)
    for key in ("olts", "splitters", "onts"):
        structures.update(e["structure"] for e in out[key])
    structures.update(s["structure"] for s in sites if s.get("structure"))
    for d in out["ducts"]:
        structures.update((d["from"], d["to"]))
    out["structures"] = [s for s in doc.get("structures", []) if s["id"] in structures]
    zone_ids = {s["zone"] for s in out["structures"] if s.get("zone")} | {zone_id}
    out["zones"] = [z for z in doc.get("zones", []) if z["id"] in zone_ids]
    operators = {o["operator"] for o in out["olts"]} | {c["operator"] for c in out["cables"]}
    operators |= {d["owner"] for d in out["ducts"]} | {s["operator"] for s in sites}
    out["operators"] = [o for o in doc.get("operators", []) if o["id"] in operators]
    return {
        k: out.get(k, []) if k in COLLECTIONS else out.get(k)
        for k in ("format", "name", "defaults", *COLLECTIONS)
    }
