"""Where a new customer fits: splitters with a free output whose budget and port still close.

For a new ONT at structure X needing service S, every splitter with a free output (a free
leg, for a tap splitter) is a candidate. Its new drop, with :data:`DROP_CONNECTORS`
connectors, is routed from the splitter's structure to X (:func:`route_drops`):

- a splitter in X itself gets an in-building drop of :data:`IN_BUILDING_DROP_M`, no duct,
  no trench;
- where the ducts join the two structures, the drop runs along them (shortest by length),
  no trench;
- where no duct joins them (a building fed aerially, or duct networks that do not meet),
  the part that is not in ducts is new trench, between the two structures of the
  splitter's duct network and of X's that are nearest each other in a straight line,
  estimated at :data:`NEW_ROUTE_DETOUR` times that straight line (``new_trench_m``); the
  drop runs in ducts up to the trench and after it. A trench whose straight line exceeds
  :data:`MAX_NEW_ROUTE_M` is not proposed.

A candidate qualifies when, with the new ONT's class-default optics:

- its budget closes in both directions with the safety margin, within the class window
  (the same kernel and formulas as :mod:`ponmodel.topology.budget`);
- its distance and split stay within the port's limits;
- its port stays admissible in both directions with S's guaranteed rate added.

Qualifying candidates are ranked by what it costs to connect them (:data:`RANKED_BY`): new
trench metres first (less first: digging costs far more than pulling fibre through an
existing duct), then drop length (shorter first), then worst-direction headroom (more
first), then splitter id. A splitter in the customer's own building (20 m, no trench) so
never ranks behind a multi-km drop; before issue 16 headroom in whole dB came first, and
on the Hanoi demo the splitter in a factory's own building ranked 13th, behind drops of
3.0-5.2 km. The others are returned with the reason they were refused. The service is
checked first (:func:`ponmodel.service.check_service`).

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.topology.placement import place
>>> doc = read_document("fixtures/tiny.json")
>>> service = {"down": {"fixed_mbps": 0, "assured_mbps": 100, "max_mbps": 1000},
...            "up": {"fixed_mbps": 0, "assured_mbps": 100, "max_mbps": 1000}}
>>> result = place(doc, structure_id=doc["onts"][0]["structure"], service=service)
>>> best = result["candidates"][0]
>>> best["splitter"] == doc["splitters"][0]["id"], best["rank"]
(True, 1)

No duct reaches the building: the drop is a new trench from the cabinet, 1.3 × 123 m:

>>> best["drop_via_ducts"], round(best["new_trench_m"]), best["new_trench"]["from"]
(False, 160, 'CAB-01')
>>> result["ranked_by"]
['new_trench_m', 'drop_length_m', '-worst_headroom_db', 'splitter']
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from ponmodel import catalog
from ponmodel.budget import BudgetResult, run_budget
from ponmodel.document import Document
from ponmodel.service import check_service
from ponmodel.topology.budget import compute, port_limits
from ponmodel.topology.build import Topology, build_topology
from ponmodel.topology.capacity import CapacityReport, network_capacity
from ponmodel.topology.pack import PonForest, link_loss_db, pack_forest, splitter_leg_loss_db

IN_BUILDING_DROP_M = 20.0
"""Length of a drop inside the splitter's own structure, metres (riser + patching)."""
DROP_CONNECTORS = 2
"""Connectors of a new drop: at the splitter output and at the ONT."""
MAX_NEW_ROUTE_M = 1000.0
"""A new trench longer than this in a straight line is not proposed, metres."""
NEW_ROUTE_DETOUR = 1.3
"""A new trench is estimated at this factor times its straight line (streets, not crows)."""
EARTH_RADIUS_M = 6_371_008.8


RANKED_BY = ["new_trench_m", "drop_length_m", "-worst_headroom_db", "splitter"]
"""The candidates' order: each field ascending, ``-`` for descending (issue 16, item 5)."""


@dataclass(frozen=True, slots=True)
class Drop:
    """How a new drop from a splitter's structure reaches the customer's structure.

    Attributes
    ----------
    length_m : float
        Length of the drop: ducts + new trench (at least :data:`IN_BUILDING_DROP_M`).
    new_trench_m : float
        Metres of new trench (0 when the ducts join the two structures).
    ducts : list of str
        Ducts the drop runs in, from the splitter's side to the customer's.
    trench : tuple of (str, str) or None
        The structures the new trench joins (the splitter's side first), None without one.
    trench_straight_m : float
        The straight line the trench is estimated from, metres (0 without one).
    """

    length_m: float
    new_trench_m: float
    ducts: list[str]
    trench: tuple[str, str] | None = None
    trench_straight_m: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The drop's fields of a candidate."""
        trench = None if self.trench is None else {
            "from": self.trench[0], "to": self.trench[1], "straight_m": self.trench_straight_m}
        return {"drop_length_m": self.length_m, "new_trench_m": self.new_trench_m,
                "drop_via_ducts": self.trench is None, "drop_ducts": self.ducts,
                "new_trench": trench}


def _nearest_pair(a: NDArray[np.float64], b: NDArray[np.float64]) -> tuple[int, int, float]:
    """The nearest pair of structures ``a[i]``, ``b[j]`` (rows of [lon, lat], degrees) and
    their great-circle distance, metres (haversine, mean Earth radius; ties: first i, j)."""
    lon1, lat1 = np.radians(a[:, 0])[:, None], np.radians(a[:, 1])[:, None]
    lon2, lat2 = np.radians(b[:, 0])[None, :], np.radians(b[:, 1])[None, :]
    h = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    i, j = np.unravel_index(int(np.argmin(h)), h.shape)  # the distance grows with h
    return int(i), int(j), float(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(min(h[i, j], 1.0))))


def duct_graph(topo: Topology) -> nx.Graph:
    """Structures joined by their shortest top-level duct (``length_m``, ``duct``; ties: the
    smaller duct id). Built in duct id order, so its paths do not depend on the order in
    which the physical graph holds its edges (a replayed topology holds them in another,
    :mod:`ponmodel.topology.replay`)."""
    graph = nx.Graph()
    edges = sorted(topo.physical.edges(keys=True, data=True), key=lambda e: e[2])
    for a, b, key, data in edges:
        if data.get("within") is not None:
            continue  # an innerduct runs along its duct: same span, same length
        length = float(data["length_m"])
        if not graph.has_edge(a, b) or graph[a][b]["length_m"] > length:
            graph.add_edge(a, b, length_m=length, duct=key)
    return graph


def _ducts(graph: nx.Graph, path: list[Any]) -> list[str]:
    return [graph[u][v]["duct"] for u, v in zip(path, path[1:], strict=False)]


def route_drops(topo: Topology, structure_id: str, targets: Iterable[str],
                coordinates: Mapping[str, tuple[float, float]]) -> dict[str, Drop]:
    """The new drop from each of ``targets`` (splitters' structures) to ``structure_id``.

    In the same structure: :data:`IN_BUILDING_DROP_M`, no trench. Joined by ducts: the
    shortest duct route. Otherwise: ducts from the target to the structure of its duct
    network nearest (straight line) to one of ``structure_id``'s duct network, a new trench
    of :data:`NEW_ROUTE_DETOUR` × that straight line between them, and ducts from there on.
    A target whose trench would exceed :data:`MAX_NEW_ROUTE_M` in a straight line is
    returned with an infinite length and no ducts; the caller refuses it.

    Parameters
    ----------
    topo : Topology
        The network's graphs.
    structure_id : str
        The customer's structure.
    targets : iterable of str
        Structures to route from.
    coordinates : mapping
        Structure id → (lon, lat), degrees.
    """
    graph = duct_graph(topo)
    source = ("structure", structure_id)
    if source in graph:
        to_customer, paths = nx.single_source_dijkstra(graph, source, weight="length_m")
    else:
        to_customer, paths = {source: 0.0}, {source: [source]}
    near = sorted(to_customer, key=lambda node: node[1])  # the customer's duct network
    near_xy = np.array([coordinates[node[1]] for node in near], dtype=np.float64)
    networks: list[list[Any]] = []
    component: dict[Any, int] = {}
    via_trench: dict[Any, tuple[Any, Any, float, dict[Any, float], dict[Any, list[Any]]]] = {}
    out: dict[str, Drop] = {}
    for target in sorted(set(targets)):
        node = ("structure", target)
        if target == structure_id:
            out[target] = Drop(IN_BUILDING_DROP_M, 0.0, [])
            continue
        if node in to_customer:
            out[target] = Drop(float(to_customer[node]), 0.0, _ducts(graph, paths[node][::-1]))
            continue
        if not networks:
            networks = [sorted(nodes, key=lambda n: n[1])
                        for nodes in nx.connected_components(graph)]
            component = {n: i for i, nodes in enumerate(networks) for n in nodes}
        key: Any = component.get(node, node)  # a structure without ducts: its own network
        if key not in via_trench:
            far = networks[component[node]] if node in component else [node]
            far_xy = np.array([coordinates[n[1]] for n in far], dtype=np.float64)
            # the nearest pair; ties (structures at one place) go to the first ids
            i, j, straight_m = _nearest_pair(far_xy, near_xy)
            start = far[i]
            if start in graph and straight_m <= MAX_NEW_ROUTE_M:
                from_start, start_paths = nx.single_source_dijkstra(graph, start,
                                                                   weight="length_m")
            else:  # no ducts on the splitter's side, or too far to be proposed
                from_start, start_paths = {start: 0.0}, {start: [start]}
            via_trench[key] = (start, near[j], straight_m, from_start, start_paths)
        start, end, straight_m, from_start, start_paths = via_trench[key]
        trench_m = straight_m * NEW_ROUTE_DETOUR
        if straight_m > MAX_NEW_ROUTE_M:
            out[target] = Drop(math.inf, trench_m, [], (start[1], end[1]), straight_m)
            continue
        length = float(from_start[node]) + trench_m + float(to_customer[end])
        ducts = _ducts(graph, start_paths[node][::-1]) + _ducts(graph, paths[end][::-1])
        out[target] = Drop(max(length, IN_BUILDING_DROP_M), trench_m, ducts,
                           (start[1], end[1]), straight_m)
    return out


def place(
    doc: Document,
    *,
    structure_id: str,
    service: dict[str, dict[str, float]],
    operator: str | None = None,
    topology: Topology | None = None,
    forest: PonForest | None = None,
    result: BudgetResult | None = None,
    capacity: CapacityReport | None = None,
) -> dict[str, Any]:
    """Every splitter a new customer at ``structure_id`` could hang off, best first.

    Parameters
    ----------
    doc : Document
        A validated network.
    structure_id : str
        Where the new ONT goes.
    service : dict
        ``{"down": {...}, "up": {...}}``, each with ``fixed_mbps``, ``assured_mbps``,
        ``max_mbps`` (as an ONT's service).
    operator : str, optional
        Only this operator's splitters (through the OLT of their tree).
    topology, forest, result, capacity : optional
        Precomputed layers of ``doc`` (the API passes its cached ones).

    Returns
    -------
    dict
        ``structure``, ``service``, ``ranked_by`` (:data:`RANKED_BY`), ``candidates``
        (qualifying, best first) and ``refused`` (with ``reason``, by splitter id). Each
        candidate has its ``rank`` (1 first), the drop (``drop_length_m``,
        ``new_trench_m``, ``drop_via_ducts``, ``drop_ducts`` from the splitter's side,
        ``new_trench``: ``from``, ``to``, ``straight_m`` or None), the budget both ways
        (``downstream``, ``upstream``, ``worst_headroom_db``, ``class_ok``), ``distance_m``,
        ``split``, and the port's ONTs and guaranteed load before and after it
        (``port_onts_before``/``_after``, ``port_guaranteed_before_mbps``/``_after_mbps``/
        ``_change_mbps``) against ``port_capacity_mbps``.

    Raises
    ------
    InvalidRequestError
        ``service`` breaks a rule (:func:`ponmodel.service.check_service`), e.g. assured
        above max; ``field`` names it (``service.down.assured_mbps``).
    NotFoundError
        ``structure_id`` is not a structure.
    """
    check_service(service)
    topo = topology or build_topology(doc)
    topo.element(structure_id, "structure")
    forest = forest or pack_forest(doc)
    result = result or compute(forest)
    capacity = capacity or network_capacity(doc, forest=forest)
    structure_of = {s["id"]: s["structure"] for s in doc.get("splitters", [])}
    coordinates = {s["id"]: (s["lon"], s["lat"]) for s in doc.get("structures", [])}
    used_legs: dict[str, list[str | None]] = defaultdict(list)
    for link in doc.get("links", []):
        if link["from"] in structure_of:
            used_legs[link["from"]].append(link.get("leg"))
    olt_operator = {o["id"]: o["operator"] for o in doc.get("olts", [])}
    limits = port_limits(doc)
    port_load = {p.id: p for p in capacity.ports}
    guaranteed = {d: service[d].get("fixed_mbps", 0.0) + service[d].get("assured_mbps", 0.0)
                  for d in ("down", "up")}
    splitters = {s["id"]: s for s in doc.get("splitters", [])}
    free: list[dict[str, Any]] = []
    refused: list[dict[str, Any]] = []
    for splitter_id, splitter in splitters.items():
        node = forest.index_of.get(splitter_id)
        if node is None:
            continue
        p = int(forest.node_port[node])
        port_id = forest.port_ids[p]
        olt_id = forest.port_olt[p]
        if operator is not None and olt_operator[olt_id] != operator:
            continue
        base = {"splitter": splitter_id, "structure": splitter["structure"], "port": port_id,
                "olt": olt_id, "operator": olt_operator[olt_id]}
        leg = _free_leg(splitter, used_legs[splitter_id])
        if leg is False:
            refused.append({**base, "reason": f"no free output (1:{splitter['ratio']} all used)"})
            continue
        free.append({**base, "leg": leg, "node": node, "p": p})
    drops = route_drops(topo, structure_id, (row["structure"] for row in free), coordinates)
    rows: list[dict[str, Any]] = []
    for row in free:
        drop = drops[row["structure"]]
        if drop.trench is not None and drop.trench_straight_m > MAX_NEW_ROUTE_M:
            base = {k: v for k, v in row.items() if k not in ("leg", "node", "p")}
            start, end = drop.trench
            refused.append({**base, "reason": "no duct route to the customer's structure, and "
                            f"a new trench would be {drop.trench_straight_m:,.0f} m in a "
                            f"straight line (from {start} to {end}; at most "
                            f"{MAX_NEW_ROUTE_M:,.0f} m is proposed)"})
            continue
        rows.append({**row, **drop.as_dict()})
    checked = _check(forest, result, rows, splitters)
    candidates = []
    for row, figures in zip(rows, checked, strict=True):
        out = {k: v for k, v in row.items() if k not in ("node", "p")}
        out.update(figures)
        reach_limit, split_limit = limits[row["port"]]
        load = port_load[row["port"]]
        after = {d: getattr(load, d).guaranteed_mbps + guaranteed[d] for d in ("down", "up")}
        # the port before and after the new customer, and the difference (issue 16)
        out["port_onts_before"] = load.onts
        out["port_onts_after"] = load.onts + 1
        out["port_guaranteed_before_mbps"] = {d: getattr(load, d).guaranteed_mbps
                                              for d in ("down", "up")}
        out["port_guaranteed_after_mbps"] = after
        out["port_guaranteed_change_mbps"] = dict(guaranteed)
        out["port_capacity_mbps"] = {"down": load.down.capacity_mbps, "up": load.up.capacity_mbps}
        reasons = []
        if not (figures["downstream"]["ok"] and figures["upstream"]["ok"] and figures["class_ok"]):
            reasons.append("the budget does not close with the margin in both directions")
        if figures["distance_m"] > reach_limit:
            reasons.append(f"distance {figures['distance_m'] / 1000:.2f} km exceeds the reach")
        if figures["split"] > split_limit:
            reasons.append(f"split 1:{figures['split']} exceeds 1:{split_limit}")
        for d in ("down", "up"):
            if after[d] > getattr(load, d).capacity_mbps:
                reasons.append(f"port {d}stream would not stay admissible "
                               f"({after[d]:,.0f} > {getattr(load, d).capacity_mbps:,.0f} Mbit/s)")
        if reasons:
            refused.append({**out, "reason": "; ".join(reasons)})
        else:
            candidates.append(out)
    candidates.sort(key=rank_key)
    for rank, candidate in enumerate(candidates, start=1):
        candidate["rank"] = rank
    refused.sort(key=lambda c: c["splitter"])
    return {"structure": structure_id, "service": service, "ranked_by": list(RANKED_BY),
            "candidates": candidates, "refused": refused}


def rank_key(candidate: Mapping[str, Any]) -> tuple[float, float, float, str]:
    """A candidate's place in the ranking (:data:`RANKED_BY`): new trench metres, drop
    length, minus worst-direction headroom, splitter id; the smallest first."""
    return (candidate["new_trench_m"], candidate["drop_length_m"],
            -candidate["worst_headroom_db"], candidate["splitter"])


def _free_leg(splitter: dict[str, Any], used: list[str | None]) -> str | None | bool:
    """The output a new link would take: a tap leg name, None for a balanced splitter, or
    False when none is free."""
    if splitter.get("through_percent") is not None:
        free = [leg for leg in ("through", "tap") if leg not in used]
        return free[0] if free else False
    return None if len(used) < int(splitter["ratio"]) else False


def _check(forest: PonForest, result: BudgetResult, rows: list[dict[str, Any]],
           splitters: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Budget of a hypothetical ONT under each candidate, through the same kernel."""
    if not rows:
        return []
    n = len(rows)
    loss = np.empty((2, n))
    onu = np.empty((4, n))
    ports = np.empty(n, dtype=np.int64)
    for k, row in enumerate(rows):
        node, p = row["node"], row["p"]
        technology = catalog.technology(forest.port_technology[p])
        optics = catalog.optics_class(forest.port_technology[p], forest.port_class[p])
        drop = {"length_m": row["drop_length_m"], "connectors": DROP_CONNECTORS, "splices": 0,
                "extra_loss_db": 0.0, "cables": [], "attenuation_db_per_km": None}
        leg_db = splitter_leg_loss_db(splitters[row["splitter"]], row["leg"])
        for d, nm in enumerate((technology.wavelength_down_nm, technology.wavelength_up_nm)):
            cum = result.cum_loss_down_db if d == 0 else result.cum_loss_up_db
            loss[d, k] = cum[node] + leg_db + link_loss_db(drop, nm, forest.figures, {})
        onu[:, k] = (optics.onu_tx_min_dbm, optics.onu_tx_max_dbm,
                     optics.onu_rx_sensitivity_dbm, optics.onu_rx_overload_dbm)
        ports[k] = p
    roots = np.full(n, -1, dtype=np.int64)
    zero = np.zeros(n)
    out = run_budget(
        parent=roots, edge_loss_down_db=loss[0], edge_loss_up_db=loss[1], edge_length_m=zero,
        edge_split=np.ones(n), ont_node=np.arange(n), ont_port=ports,
        port_tx_min_dbm=forest.port_tx_min_dbm, port_tx_max_dbm=forest.port_tx_max_dbm,
        port_rx_sensitivity_dbm=forest.port_rx_sensitivity_dbm,
        port_rx_overload_dbm=forest.port_rx_overload_dbm,
        port_class_min_loss_db=forest.port_class_min_loss_db,
        port_class_max_loss_db=forest.port_class_max_loss_db,
        ont_tx_min_dbm=onu[0], ont_tx_max_dbm=onu[1], ont_rx_sensitivity_dbm=onu[2],
        ont_rx_overload_dbm=onu[3], safety_margin_db=forest.figures.safety_margin_db,
    )
    figures = []
    for k, row in enumerate(rows):
        node = row["node"]
        down = {"loss_db": float(loss[0, k]), "rx_min_dbm": float(out.rx_min_down_dbm[k]),
                "rx_max_dbm": float(out.rx_max_down_dbm[k]),
                "headroom_db": float(out.headroom_down_db[k]), "ok": bool(out.ok_down[k])}
        up = {"loss_db": float(loss[1, k]), "rx_min_dbm": float(out.rx_min_up_dbm[k]),
              "rx_max_dbm": float(out.rx_max_up_dbm[k]),
              "headroom_db": float(out.headroom_up_db[k]), "ok": bool(out.ok_up[k])}
        ratio = int(splitters[row["splitter"]]["ratio"])
        figures.append({
            "distance_m": float(result.cum_length_m[node]) + row["drop_length_m"],
            "split": int(round(float(result.cum_split[node]))) * ratio,
            "downstream": down, "upstream": up, "class_ok": bool(out.class_ok[k]),
            "worst_headroom_db": min(down["headroom_db"], up["headroom_db"]),
        })
    return figures
