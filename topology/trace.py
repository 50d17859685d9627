"""The first questions fibre engineers ask: trace, reach, and what passes through.

Examples
--------
>>> from ponmodel.topology.build import build_topology
>>> from ponmodel.topology.trace import trace, reach
>>> doc = {"format": "ponmodel/1", "olts": [{"id": "O", "operator": "v", "structure": "E",
...        "uplink_gbps": 10, "ports": [{"id": "O/1", "technology": "xgs-pon",
...        "optics_class": "N1"}]}], "splitters": [{"id": "S", "structure": "C", "ratio": 4}],
...        "onts": [{"id": "N1", "structure": "B", "kind": "enterprise"},
...                 {"id": "N2", "structure": "B", "kind": "enterprise"}],
...        "links": [{"id": "L0", "from": "O/1", "to": "S", "length_m": 2000.0, "cables": []},
...                  {"id": "L1", "from": "S", "to": "N1", "length_m": 150.0, "cables": []},
...                  {"id": "L2", "from": "S", "to": "N2", "length_m": 90.0, "cables": []}]}
>>> t = trace(build_topology(doc), "N1")
>>> [(h.link, h.distance_m) for h in t.hops]
[('L0', 2000.0), ('L1', 2150.0)]
>>> reach(build_topology(doc), "O")
['N1', 'N2']
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from ponmodel.errors import NotFoundError
from ponmodel.topology.build import Node, Topology


@dataclass(frozen=True, slots=True)
class Hop:
    """One link of an ONT's path, in order from the port."""

    link: str
    from_kind: str
    from_id: str
    to_kind: str
    to_id: str
    length_m: float
    distance_m: float
    """Cumulative fibre length from the port to the end of this hop, metres."""
    connectors: int
    splices: int
    cables: list[str]


@dataclass(frozen=True, slots=True)
class Trace:
    """The path of one ONT back to its OLT."""

    ont: str
    port: str
    olt: str
    distance_m: float
    split: int
    """Product of the splitter ratios on the path."""
    hops: list[Hop] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def trace(topo: Topology, ont_id: str) -> Trace:
    """The path from an ONT's PON port to the ONT, hop by hop.

    A tree gives each ONT exactly one path: the walk follows the one incoming link of each
    node upwards, so splitters never make the path ambiguous.

    Raises
    ------
    NotFoundError
        ``ont_id`` is not an ONT, or no port reaches it.
    """
    topo.element(ont_id, "ont")
    node: Node = ("ont", ont_id)
    edges: list[tuple[Node, Node, str, dict[str, Any]]] = []
    while True:
        up = topo.parent_link(node)
        if up is None:
            break
        upstream, key, data = up
        edges.append((upstream, node, key, data))
        node = upstream
    if node[0] != "port":
        raise NotFoundError(kind="ONT reached from a PON port", element_id=ont_id)
    edges.reverse()
    hops: list[Hop] = []
    distance = 0.0
    split = 1
    for upstream, downstream, key, data in edges:
        distance += data["length_m"]
        if upstream[0] == "splitter":
            split *= int(topo.pon.nodes[upstream]["ratio"])
        hops.append(
            Hop(
                link=key,
                from_kind=upstream[0],
                from_id=upstream[1],
                to_kind=downstream[0],
                to_id=downstream[1],
                length_m=data["length_m"],
                distance_m=distance,
                connectors=data.get("connectors", 0),
                splices=data.get("splices", 0),
                cables=list(data.get("cables", [])),
            )
        )
    port = node[1]
    return Trace(
        ont=ont_id,
        port=port,
        olt=topo.olt_of_port[port],
        distance_m=distance,
        split=split,
        hops=hops,
    )


def reach(topo: Topology, element_id: str) -> list[str]:
    """Every ONT an OLT, PON port or splitter reaches (an ONT reaches itself), sorted.

    Raises
    ------
    NotFoundError
        ``element_id`` is none of those.
    """
    kind, element = topo.element(element_id, "olt", "port", "splitter", "ont")
    if kind == "ont":
        return [element_id]
    starts: list[Node] = (
        [("port", p["id"]) for p in element.get("ports", [])]
        if kind == "olt"
        else [(kind, element_id)]
    )
    found: list[str] = []
    queue = deque(starts)
    while queue:
        node = queue.popleft()
        if node[0] == "ont":
            found.append(node[1])
            continue
        queue.extend(topo.pon.successors(node))
    return sorted(found)


def through(topo: Topology, structure_id: str) -> dict[str, list[str]]:
    """What passes through or sits in a structure.

    Returns
    -------
    dict
        ``ducts`` ending there; ``cables`` routed through those ducts; ``links`` carried by
        those cables; equipment located there (``olts``, ``splitters``, ``onts``, ``sites``).

    Raises
    ------
    NotFoundError
        No structure has this id.
    """
    topo.element(structure_id, "structure")
    node = ("structure", structure_id)
    ducts = sorted({key for _, _, key in topo.physical.edges(node, keys=True)})
    cables = sorted(
        {c for _, _, data in topo.physical.edges(node, data=True) for c in data["cables"]}
    )
    cable_set = set(cables)
    links = sorted(
        link["id"] for link in topo.doc.get("links", []) if cable_set.intersection(link["cables"])
    )
    located: dict[str, list[str]] = {}
    for key in ("olts", "splitters", "onts", "sites"):
        located[key] = sorted(
            e["id"] for e in topo.doc.get(key, []) if e.get("structure") == structure_id
        )
    return {"ducts": ducts, "cables": cables, "links": links, **located}
