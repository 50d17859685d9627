"""Catch a built topology up with element changes, without reading or building the network
again.

The API keeps the whole network's :class:`~ponmodel.topology.build.Topology` in memory. A
write through the editing endpoints changes a few elements and records each in the audit
log (its kind, id and stored form after the change); :func:`replayed` applies those records
to the cached topology and answers a new one, equal to what :func:`build_topology` makes of
the network exported after the change:

- the document's collections stay in id order (as an export orders them), a created port
  last among its OLT's ports, an OLT's own fields edited without touching its ports;
- the element index, the port → OLT index, the duct graph (``physical``: structures,
  ducts with the cables routed through each) and the PON forest (``pon``) get the created,
  edited and removed nodes and edges.

The old topology is never modified: readers in other threads may be iterating over it.
The new one shares every untouched element, list and adjacency dict with it: the outer
dicts are copied (a C-speed copy of references) and an inner adjacency dict is copied
before it is changed, so a replay costs in proportion to the elements it touches plus one
reference copy per node, not a rebuild. The graphs' iteration order may differ from a
fresh build's (a created node comes last): what the graphs answer (neighbours, edges,
data) is the same, and the readers that depend on an order sort (``reach``, ``through``,
placement's duct graph).

:func:`touched_ids` says which elements a change concerns (each changed element and every
element it refers to, before and after): a topology of one zone that holds none of them is
the zone's topology after the change too.

Examples
--------
>>> from ponmodel.topology.build import build_topology
>>> doc = {"format": "ponmodel/1", "olts": [{"id": "O", "operator": "v", "structure": "E",
...        "uplink_gbps": 10, "ports": [{"id": "O/1", "technology": "gpon",
...        "optics_class": "B+"}]}], "onts": [], "links": []}
>>> before = build_topology(doc)
>>> changes = [
...     {"kind": "ont", "element_id": "N", "before": None, "after": {"id": "N",
...      "structure": "B", "kind": "residential"}},
...     {"kind": "link", "element_id": "L", "before": None, "after": {"id": "L",
...      "from": "O/1", "to": "N", "length_m": 900.0}}]
>>> after = replayed(before, net_changes(changes))
>>> list(after.pon.edges(keys=True)), list(before.pon.edges(keys=True))
([(('port', 'O/1'), ('ont', 'N'), 'L')], [])
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from ponmodel.document import Document
from ponmodel.errors import ReplayError
from ponmodel.region import COLLECTION_OF_KIND
from ponmodel.topology.build import Node, Topology

REFERENCE_FIELDS = ("from", "to", "structure", "zone", "within", "operator", "owner", "olt",
                    "backhaul_ont")
"""Fields of an element that name one other element."""

LIST_REFERENCE_FIELDS = ("ducts", "cables")
"""Fields of an element that name a list of other elements."""


@dataclass(frozen=True, slots=True)
class NetChange:
    """What a run of changes did to one element: its kind, and its stored form before the
    first and after the last (None: it did not exist)."""

    kind: str
    element_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def net_changes(changes: Iterable[dict[str, Any]]) -> list[NetChange]:
    """One :class:`NetChange` per element of audit entries (``kind``, ``element_id``,
    ``before``, ``after``; oldest first), in the order each element first changed. An
    element created and removed again within the run is left out.

    Raises
    ------
    ReplayError
        An id changes kind within the run (removed, then created as another kind).
    """
    first: dict[str, NetChange] = {}
    for c in changes:
        element_id, kind = c["element_id"], c["kind"]
        seen = first.get(element_id)
        if seen is None:
            first[element_id] = NetChange(kind, element_id, c["before"], c["after"])
        elif seen.kind != kind:
            msg = f"{element_id!r} changes kind from {seen.kind} to {kind}"
            raise ReplayError(msg)
        else:
            first[element_id] = NetChange(kind, element_id, seen.before, c["after"])
    return [n for n in first.values() if n.before is not None or n.after is not None]


def touched_ids(net: Iterable[NetChange]) -> set[str]:
    """Every changed element's id and the ids its stored forms refer to, before and after."""
    out: set[str] = set()
    for n in net:
        out.add(n.element_id)
        for element in (n.before, n.after):
            if element is None:
                continue
            for name in REFERENCE_FIELDS:
                value = element.get(name)
                if isinstance(value, str):
                    out.add(value)
            for name in LIST_REFERENCE_FIELDS:
                value = element.get(name)
                if isinstance(value, list):
                    out.update(v for v in value if isinstance(v, str))
    return out


def replayed(topo: Topology, net: list[NetChange]) -> Topology:
    """A new topology: ``topo`` with the changes ``net`` applied (``topo`` is unchanged).

    Raises
    ------
    ReplayError
        A change does not fit ``topo``: an edit or removal of an element it does not hold
        (or holds as another kind), a creation of one it already holds.
    """
    for n in net:
        held = topo.elements.get(n.element_id)
        if n.before is None and held is not None:
            msg = f"{n.kind} {n.element_id!r} is created but the topology holds it"
            raise ReplayError(msg)
        if n.before is not None and (held is None or held[0] != n.kind):
            msg = f"{n.kind} {n.element_id!r} changes but the topology does not hold it"
            raise ReplayError(msg)
    new = Topology(doc=dict(topo.doc), physical=_fork(topo.physical), pon=_fork(topo.pon),
                   elements=dict(topo.elements), olt_of_port=dict(topo.olt_of_port))
    old_elements = topo.elements
    _apply_to_document(new, net)
    _apply_to_physical(new, old_elements, net)
    _apply_to_pon(new, old_elements, net)
    return new


# --------------------------------------------------------------------------- the document


def _apply_to_document(topo: Topology, net: list[NetChange]) -> None:
    doc: Document = topo.doc
    copied: set[str] = set()

    def items(key: str) -> list[dict[str, Any]]:
        if key not in copied:
            doc[key] = list(doc.get(key) or [])  # type: ignore[literal-required]
            copied.add(key)
        return doc[key]  # type: ignore[literal-required, no-any-return]

    for n in net:
        if n.kind == "port":
            continue  # after the OLTs: a port may belong to an OLT created here
        olts = n.kind == "olt"
        listed = items(COLLECTION_OF_KIND[n.kind])
        if n.after is None:
            del listed[_position(listed, n.element_id)]
            del topo.elements[n.element_id]
            continue
        element = dict(n.after)
        if olts:
            held = topo.elements.get(n.element_id)
            element["ports"] = list(held[1].get("ports", [])) if held is not None else []
        if n.before is None:
            listed.insert(bisect_left(listed, n.element_id, key=_id), element)
        else:
            listed[_position(listed, n.element_id)] = element
        topo.elements[n.element_id] = (n.kind, element)
        if olts:
            for port in element["ports"]:
                topo.olt_of_port[port["id"]] = n.element_id
    for n in net:
        if n.kind == "port":
            _apply_port(topo, items("olts"), n)


def _apply_port(topo: Topology, olts: list[dict[str, Any]], n: NetChange) -> None:
    olt_id = (n.after or {}).get("olt") or topo.olt_of_port.get(n.element_id)
    if olt_id is None:
        msg = f"port {n.element_id!r} names no OLT"
        raise ReplayError(msg)
    held = topo.elements.get(olt_id)
    if n.after is None and held is None:  # removed with its OLT
        topo.elements.pop(n.element_id, None)
        topo.olt_of_port.pop(n.element_id, None)
        return
    if held is None or held[0] != "olt":
        msg = f"port {n.element_id!r} is on OLT {olt_id!r}, which the topology does not hold"
        raise ReplayError(msg)
    olt = {**held[1], "ports": list(held[1].get("ports", []))}
    olts[_position(olts, olt_id)] = olt
    topo.elements[olt_id] = ("olt", olt)
    for port in olt["ports"]:
        topo.elements[port["id"]] = ("port", port)
    ports = olt["ports"]
    at = next((i for i, p in enumerate(ports) if p["id"] == n.element_id), None)
    if n.after is None:
        if at is None:
            msg = f"port {n.element_id!r} is not among OLT {olt_id!r}'s ports"
            raise ReplayError(msg)
        del ports[at]
        del topo.elements[n.element_id]
        topo.olt_of_port.pop(n.element_id, None)
        return
    port = {k: v for k, v in n.after.items() if k != "olt"}
    if at is None:
        ports.append(port)  # a created port comes last, as its position is stored
    else:
        ports[at] = port
    topo.elements[n.element_id] = ("port", port)
    topo.olt_of_port[n.element_id] = olt_id


def _id(element: dict[str, Any]) -> str:
    return str(element["id"])


def _position(items: list[dict[str, Any]], element_id: str) -> int:
    """Where ``element_id`` is in an id-ordered list (a scan when the order is another)."""
    at = bisect_left(items, element_id, key=_id)
    if at < len(items) and items[at]["id"] == element_id:
        return at
    for i, e in enumerate(items):
        if e["id"] == element_id:
            return i
    msg = f"{element_id!r} is not in the document"
    raise ReplayError(msg)


# --------------------------------------------------------------------------- the graphs


def _fork(graph: nx.Graph) -> nx.Graph:
    """A new graph of the same class sharing ``graph``'s inner dicts (see the module's
    description): change it only through :func:`_set_node`, :func:`_drop_node`,
    :func:`_set_edge` and :func:`_drop_edge`."""
    new = graph.__class__()
    new.graph = graph.graph
    new._node = dict(graph._node)
    new._adj = dict(graph._adj)  # a DiGraph's successors too
    if graph.is_directed():
        new._pred = dict(graph._pred)
    return new


def _set_node(graph: nx.Graph, node: Node, attrs: dict[str, Any]) -> None:
    graph._node[node] = attrs
    if node not in graph._adj:
        graph._adj[node] = {}
        if graph.is_directed():
            graph._pred[node] = {}


def _drop_node(graph: nx.Graph, node: Node) -> None:
    if node not in graph._node:
        return
    for neighbour, keys in list(graph._adj[node].items()):
        for key in list(keys):
            _drop_edge(graph, node, neighbour, key)
    if graph.is_directed():
        for neighbour, keys in list(graph._pred[node].items()):
            for key in list(keys):
                _drop_edge(graph, neighbour, node, key)
        del graph._pred[node]
    del graph._adj[node]
    del graph._node[node]


def _set_edge(graph: nx.Graph, u: Node, v: Node, key: str, data: dict[str, Any]) -> None:
    """Add or replace the edge ``u → v`` keyed ``key`` (both ends must be nodes)."""
    forward = graph._adj
    backward = graph._pred if graph.is_directed() else graph._adj
    keys = {**forward[u].get(v, {}), key: data}
    forward[u] = {**forward[u], v: keys}
    backward[v] = {**backward[v], u: keys}  # one keydict for both ends, as networkx keeps


def _drop_edge(graph: nx.Graph, u: Node, v: Node, key: str) -> None:
    forward = graph._adj
    backward = graph._pred if graph.is_directed() else graph._adj
    keys = forward.get(u, {}).get(v)
    if keys is None or key not in keys:
        return
    remaining = {k: d for k, d in keys.items() if k != key}
    for a, b, table in ((u, v, forward), (v, u, backward)):
        inner = dict(table[a])
        if remaining:
            inner[b] = remaining
        else:
            del inner[b]
        table[a] = inner


def _apply_to_physical(topo: Topology, old: dict[str, tuple[str, dict[str, Any]]],
                       net: list[NetChange]) -> None:
    graph = topo.physical
    kept_cables: dict[str, list[str]] = {}
    for n in net:
        if n.kind == "duct" and n.before is not None:
            duct = old[n.element_id][1]
            u, v = ("structure", duct["from"]), ("structure", duct["to"])
            kept_cables[n.element_id] = list(
                graph._adj.get(u, {}).get(v, {}).get(n.element_id, {}).get("cables", []))
            _drop_edge(graph, u, v, n.element_id)
    for n in net:
        if n.kind == "structure":
            if n.after is None:
                _drop_node(graph, ("structure", n.element_id))
            else:
                _set_node(graph, ("structure", n.element_id), dict(n.after))
    for n in net:
        if n.kind == "duct" and n.after is not None:
            _set_duct(graph, n.after, kept_cables.get(n.element_id, []))
    for n in net:
        if n.kind != "cable":
            continue
        was = (n.before or {}).get("ducts") or []
        now = (n.after or {}).get("ducts") or []
        for duct_id in dict.fromkeys([*was, *now]):
            held = topo.elements.get(duct_id)
            if held is None or held[0] != "duct":
                continue  # removed by this change too
            duct = held[1]
            u, v = ("structure", duct["from"]), ("structure", duct["to"])
            data = graph._adj[u][v][duct_id]
            cables = [c for c in data["cables"] if c != n.element_id]
            cables.extend([n.element_id] * now.count(duct_id))
            cables.sort()  # in the document's (id) order, as a build lists them
            _set_edge(graph, u, v, duct_id, {**data, "cables": cables})


def _set_duct(graph: nx.Graph, duct: dict[str, Any], cables: list[str]) -> None:
    u, v = ("structure", duct["from"]), ("structure", duct["to"])
    for end in (u, v):
        if end not in graph._node:
            _set_node(graph, end, {})  # as networkx adds an edge's missing end
    data = {"cables": cables, **{k: x for k, x in duct.items() if k not in ("from", "to")}}
    _set_edge(graph, u, v, duct["id"], data)


def _apply_to_pon(topo: Topology, old: dict[str, tuple[str, dict[str, Any]]],
                  net: list[NetChange]) -> None:
    graph = topo.pon
    for n in net:
        if n.kind == "link" and n.before is not None:
            link = old[n.element_id][1]
            _drop_edge(graph, _end(old, link["from"], "port"), _end(old, link["to"], "ont"),
                       n.element_id)
    for n in net:
        if n.kind in ("port", "splitter", "ont") and n.after is None:
            _drop_node(graph, (n.kind, n.element_id))
    for n in net:
        if n.kind == "olt" and n.after is not None:
            for port in topo.elements[n.element_id][1]["ports"]:
                _set_node(graph, ("port", port["id"]),
                          {"olt": n.element_id, "structure": n.after["structure"]})
        elif n.kind == "port" and n.after is not None:
            olt_id = topo.olt_of_port[n.element_id]
            _set_node(graph, ("port", n.element_id),
                      {"olt": olt_id, "structure": topo.elements[olt_id][1]["structure"]})
        elif n.kind == "splitter" and n.after is not None:
            _set_node(graph, ("splitter", n.element_id),
                      {"structure": n.after["structure"], "ratio": n.after["ratio"]})
        elif n.kind == "ont" and n.after is not None:
            _set_node(graph, ("ont", n.element_id),
                      {"structure": n.after["structure"], "kind": n.after["kind"]})
    for n in net:
        if n.kind == "link" and n.after is not None:
            link = n.after
            u = _end(topo.elements, link["from"], "port")
            v = _end(topo.elements, link["to"], "ont")
            for end in (u, v):
                if end not in graph._node:
                    _set_node(graph, end, {})
            _set_edge(graph, u, v, link["id"],
                      {k: x for k, x in link.items() if k not in ("from", "to")})


def _end(elements: dict[str, tuple[str, dict[str, Any]]], element_id: str, default: str
         ) -> Node:
    """A link end's node, of the kind its element has (``default`` when unknown, as a
    build names it)."""
    return (elements.get(element_id, (default, None))[0], element_id)
