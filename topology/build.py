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
from sqlalchemy import Connection, select

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


def load_zone(conn: Connection, zone_id: str) -> Document:
    """The part of the stored network that concerns one zone, read with targeted queries.

    The same document as ``subset_for_zone(export_document(engine), zone_id)`` (tested on
    every Hanoi zone, on both databases), without reading the whole network: the zone's
    structures, the PON trees reaching into it (walked up and down the link table), the ducts
    touching it and the cables in them or carrying its links are selected by id; then
    :func:`subset_for_zone` applies the exact rule to that superset.

    Raises
    ------
    NotFoundError
        No zone has this id.
    """
    from ponmodel import storage
    from ponmodel.elements import (
        CableDuctTable,
        DuctTable,
        LinkCableTable,
        LinkTable,
        OltTable,
        OntTable,
        PortTable,
        SplitterTable,
        StructureTable,
    )

    link = LinkTable.__table__
    zones = storage.read_elements(conn, "zone")[0]
    if zone_id not in {z["id"] for z in zones}:
        raise NotFoundError(kind="zone", element_id=zone_id)
    structure = StructureTable.__table__
    in_zone = {r[0] for r in conn.execute(
        select(structure.c.id).where(structure.c.zone == zone_id))}
    olts = {r[0] for r in storage.column_where_in(conn, OltTable.__table__, ["id"], "structure",
                                                  in_zone)}
    frontier = {r[0] for t in (SplitterTable.__table__, OntTable.__table__)
                for r in storage.column_where_in(conn, t, ["id"], "structure", in_zone)}
    sites = storage.read_elements(conn, "site", filters={"zone": zone_id})[0]
    frontier |= {s["backhaul_ont"] for s in sites if s.get("backhaul_ont")}
    roots: set[str] = set()
    seen: set[str] = set()
    while frontier:  # up to the ports
        seen |= frontier
        parents = {r[0] for r in storage.column_where_in(conn, link, ["from_id"], "to_id",
                                                         frontier)}
        roots |= parents
        frontier = parents - seen
    port = PortTable.__table__
    olts |= {r[0] for r in storage.column_where_in(conn, port, ["olt_id"], "id", roots)}
    ports = {r[0] for r in storage.column_where_in(conn, port, ["id"], "olt_id", olts)}
    links: set[str] = set()
    nodes: set[str] = set()
    frontier = set(ports)
    while frontier:  # down the trees
        rows = storage.column_where_in(conn, link, ["id", "to_id"], "from_id", frontier)
        links |= {r[0] for r in rows}
        frontier = {r[1] for r in rows} - nodes
        nodes |= frontier
    duct = DuctTable.__table__
    ducts = {r[0] for key in ("from_id", "to_id")
             for r in storage.column_where_in(conn, duct, ["id"], key, in_zone)}
    cables = {r[0] for r in storage.column_where_in(conn, LinkCableTable.__table__, ["cable_id"],
                                                    "link_id", links)}
    cables |= {r[0] for r in storage.column_where_in(conn, CableDuctTable.__table__,
                                                     ["cable_id"], "duct_id", ducts)}
    ducts |= {r[0] for r in storage.column_where_in(conn, CableDuctTable.__table__, ["duct_id"],
                                                    "cable_id", cables)}
    ducts |= {r[0] for r in storage.column_where_in(conn, duct, ["id"], "within", ducts)}
    hosts = {r[0] for r in storage.column_where_in(conn, duct, ["within"], "id", ducts) if r[0]}
    while hosts - ducts:
        ducts |= hosts
        hosts = {r[0] for r in storage.column_where_in(conn, duct, ["within"], "id", hosts)
                 if r[0]}
    doc: Document = {"format": "ponmodel/1", "name": None, "defaults": None}
    network = storage.network_meta(conn)
    doc.update(network)
    doc["zones"] = zones
    doc["operators"] = storage.read_elements(conn, "operator")[0]
    doc["olts"] = storage.elements_by_ids(conn, "olt", olts)
    doc["splitters"] = storage.elements_by_ids(conn, "splitter", nodes)
    doc["onts"] = storage.elements_by_ids(conn, "ont", nodes)
    doc["links"] = storage.elements_by_ids(conn, "link", links)
    doc["cables"] = storage.elements_by_ids(conn, "cable", cables)
    doc["ducts"] = storage.elements_by_ids(conn, "duct", ducts)
    doc["sites"] = sites
    referenced = set(in_zone)
    for key in ("olts", "splitters", "onts"):
        referenced |= {e["structure"] for e in doc[key]}
    referenced |= {s["structure"] for s in sites if s.get("structure")}
    for d in doc["ducts"]:
        referenced |= {d["from"], d["to"]}
    doc["structures"] = storage.elements_by_ids(conn, "structure", referenced)
    return subset_for_zone(doc, zone_id)
