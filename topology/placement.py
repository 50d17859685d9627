"""Where a new customer fits: splitters with a free output whose budget and port still close.

For a new ONT at structure X needing service S, every splitter with a free output (a free
leg, for a tap splitter) is a candidate. The new drop runs from the splitter's structure to
X along the ducts (shortest by length; a splitter in X itself gets an in-building drop of
:data:`IN_BUILDING_DROP_M`), with :data:`DROP_CONNECTORS` connectors. Where no duct joins
them (a building fed aerially or by a new trench), the drop is estimated at
:data:`NEW_ROUTE_DETOUR` times the straight line, up to :data:`MAX_NEW_ROUTE_M`, and says so
(``drop_via_ducts`` false). A candidate qualifies when, with the new ONT's class-default
optics:

- its budget closes in both directions with the safety margin, within the class window
  (the same kernel and formulas as :mod:`ponmodel.topology.budget`);
- its distance and split stay within the port's limits;
- its port stays admissible in both directions with S's guaranteed rate added.

Qualifying candidates are ranked by worst-direction headroom in whole dB (more first; a
fraction of a dB does not outweigh a shorter drop), then by drop length (shorter first); the
others are returned with the reason they were refused.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.topology.placement import place
>>> doc = read_document("fixtures/tiny.json")
>>> service = {"down": {"fixed_mbps": 0, "assured_mbps": 100, "max_mbps": 1000},
...            "up": {"fixed_mbps": 0, "assured_mbps": 100, "max_mbps": 1000}}
>>> result = place(doc, structure_id=doc["onts"][0]["structure"], service=service)
>>> result["candidates"][0]["splitter"] == doc["splitters"][0]["id"]
True
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import networkx as nx
import numpy as np

from ponmodel import catalog
from ponmodel.budget import BudgetResult, run_budget
from ponmodel.document import Document
from ponmodel.topology.budget import compute, port_limits
from ponmodel.topology.build import Topology, build_topology
from ponmodel.topology.capacity import CapacityReport, network_capacity
from ponmodel.topology.pack import PonForest, link_loss_db, pack_forest, splitter_leg_loss_db

IN_BUILDING_DROP_M = 20.0
"""Length of a drop inside the splitter's own structure, metres (riser + patching)."""
DROP_CONNECTORS = 2
"""Connectors of a new drop: at the splitter output and at the ONT."""
MAX_NEW_ROUTE_M = 1000.0
"""Without a duct route, a splitter farther than this (straight line) is not proposed."""
NEW_ROUTE_DETOUR = 1.3
"""Without a duct route, the drop is estimated at this factor times the straight line."""
EARTH_RADIUS_M = 6_371_008.8


def _straight_m(coordinates: dict[str, tuple[float, float]], a: str, b: str) -> float:
    """Great-circle distance between two structures, metres (haversine, mean Earth radius)."""
    lon1, lat1 = map(math.radians, coordinates[a])
    lon2, lat2 = map(math.radians, coordinates[b])
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def drop_routes(topo: Topology, structure_id: str) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Shortest duct distance (m) and duct route from every structure to ``structure_id``."""
    graph = nx.Graph()
    for a, b, key, data in topo.physical.edges(keys=True, data=True):
        if data.get("within") is not None:
            continue  # an innerduct runs along its duct: same span, same length
        length = float(data["length_m"])
        if not graph.has_edge(a, b) or graph[a][b]["length_m"] > length:
            graph.add_edge(a, b, length_m=length, duct=key)
    source = ("structure", structure_id)
    if source not in graph:
        return {structure_id: 0.0}, {structure_id: []}
    lengths, paths = nx.single_source_dijkstra(graph, source, weight="length_m")
    routes = {
        node[1]: [graph[u][v]["duct"] for u, v in zip(path, path[1:], strict=False)][::-1]
        for node, path in paths.items()
    }
    return {node[1]: float(d) for node, d in lengths.items()}, routes


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
        ``structure``, ``candidates`` (qualifying, ranked) and ``refused`` (with ``reason``).

    Raises
    ------
    NotFoundError
        ``structure_id`` is not a structure.
    """
    topo = topology or build_topology(doc)
    topo.element(structure_id, "structure")
    forest = forest or pack_forest(doc)
    result = result or compute(forest)
    capacity = capacity or network_capacity(doc, forest=forest)
    distances, routes = drop_routes(topo, structure_id)
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
    rows: list[dict[str, Any]] = []
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
        if splitter["structure"] in distances:
            drop_m = distances[splitter["structure"]] or IN_BUILDING_DROP_M
            via_ducts = True
        else:
            straight = _straight_m(coordinates, splitter["structure"], structure_id)
            if straight > MAX_NEW_ROUTE_M:
                refused.append({**base, "reason": "no duct route to the customer's structure, "
                                f"and {straight:,.0f} m away in a straight line"})
                continue
            drop_m = max(straight * NEW_ROUTE_DETOUR, IN_BUILDING_DROP_M)
            via_ducts = False
        rows.append({**base, "leg": leg, "node": node, "p": p, "drop_length_m": drop_m,
                     "drop_via_ducts": via_ducts,
                     "drop_ducts": routes.get(splitter["structure"], [])})
    checked = _check(forest, result, rows, splitters)
    candidates = []
    for row, figures in zip(rows, checked, strict=True):
        out = {k: v for k, v in row.items() if k not in ("node", "p")}
        out.update(figures)
        reach_limit, split_limit = limits[row["port"]]
        load = port_load[row["port"]]
        after = {d: getattr(load, d).guaranteed_mbps + guaranteed[d] for d in ("down", "up")}
        out["port_guaranteed_after_mbps"] = after
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
    candidates.sort(
        key=lambda c: (-math.floor(c["worst_headroom_db"]), c["drop_length_m"], c["splitter"])
    )
    refused.sort(key=lambda c: c["splitter"])
    return {"structure": structure_id, "service": service, "candidates": candidates,
            "refused": refused}


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
