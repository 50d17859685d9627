"""Benchmarks of the network-level engines (``ponmodel bench budget``): figures, no asserts.

Each timing is the median of repeated runs (:func:`median_time`). The pure-Python twin and
the plain networkx approach are timed on a prefix of whole PON trees when the network is
large, and scaled by the share of nodes (or ONTs) timed; the output says so.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np

from ponmodel import _kernel, _splitcalc_py
from ponmodel.bench import peak_rss_mb
from ponmodel.budget import run_budget
from ponmodel.document import load_document
from ponmodel.generate import generate_network
from ponmodel.topology.pack import PonForest, pack_forest


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``repeats`` calls, seconds."""
    times = []
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _budget_call(forest: PonForest, nodes: int, impl: Any) -> Callable[[], Any]:
    """A closure running both budget passes over the first ``nodes`` nodes with ``impl``."""
    onts = forest.ont_node < nodes
    ports = int(forest.node_port[nodes - 1]) + 1
    arrays = {
        "parent": forest.parent[:nodes],
        "edge_loss_down_db": forest.edge_loss_down_db[:nodes],
        "edge_loss_up_db": forest.edge_loss_up_db[:nodes],
        "edge_length_m": forest.edge_length_m[:nodes],
        "edge_split": forest.edge_split[:nodes],
        "ont_node": forest.ont_node[onts],
        "ont_port": forest.ont_port[onts],
        "port_tx_min_dbm": forest.port_tx_min_dbm[:ports],
        "port_tx_max_dbm": forest.port_tx_max_dbm[:ports],
        "port_rx_sensitivity_dbm": forest.port_rx_sensitivity_dbm[:ports],
        "port_rx_overload_dbm": forest.port_rx_overload_dbm[:ports],
        "port_class_min_loss_db": forest.port_class_min_loss_db[:ports],
        "port_class_max_loss_db": forest.port_class_max_loss_db[:ports],
        "ont_tx_min_dbm": forest.ont_tx_min_dbm[onts],
        "ont_tx_max_dbm": forest.ont_tx_max_dbm[onts],
        "ont_rx_sensitivity_dbm": forest.ont_rx_sensitivity_dbm[onts],
        "ont_rx_overload_dbm": forest.ont_rx_overload_dbm[onts],
        "safety_margin_db": forest.figures.safety_margin_db,
    }

    def call() -> Any:
        saved = (_kernel.budget_forward, _kernel.budget_check)
        _kernel.budget_forward, _kernel.budget_check = impl.budget_forward, impl.budget_check
        try:
            return run_budget(**arrays)
        finally:
            _kernel.budget_forward, _kernel.budget_check = saved

    return call


def _prefix(forest: PonForest, nodes: int) -> int:
    """The node count of the whole trees that fit in ``nodes`` (at least one tree)."""
    if nodes >= forest.node_count:
        return forest.node_count
    roots = np.flatnonzero(forest.parent < 0)
    cut = roots[roots >= nodes]
    return int(cut[0]) if len(cut) else forest.node_count


def networkx_budget(forest: PonForest, nodes: int) -> list[tuple[str, float, float]]:
    """The budget as a user of networkx would write it: a weighted graph, then Dijkstra
    from each port for each direction, then the checks per ONT in Python."""
    graph = nx.DiGraph()
    for i in range(nodes):
        up = int(forest.parent[i])
        if up >= 0:
            graph.add_edge(forest.node_ids[up], forest.node_ids[i],
                           down=float(forest.edge_loss_down_db[i]),
                           up=float(forest.edge_loss_up_db[i]))
    margin = forest.figures.safety_margin_db
    out = []
    is_ont = {forest.node_ids[int(n)]: k for k, n in enumerate(forest.ont_node) if n < nodes}
    for p, port in enumerate(forest.port_ids):
        if port not in forest.index_of or forest.index_of[port] >= nodes or port not in graph:
            continue
        down = nx.single_source_dijkstra_path_length(graph, port, weight="down")
        up = nx.single_source_dijkstra_path_length(graph, port, weight="up")
        for node, loss in down.items():
            k = is_ont.get(node)
            if k is None:
                continue
            head_down = forest.port_tx_min_dbm[p] - loss - margin - forest.ont_rx_sensitivity_dbm[k]
            head_up = (forest.ont_tx_min_dbm[k] - up[node] - margin
                       - forest.port_rx_sensitivity_dbm[p])
            out.append((node, float(head_down), float(head_up)))
    return out


def bench_budget(onts: int, *, seed: int = 0, repeats: int = 5,
                 sample_nodes: int = 120_000, networkx_nodes: int = 25_000) -> dict[str, Any]:
    """Time the budget of a generated network: kernel, twin, networkx, array building.

    Returns
    -------
    dict
        ``onts``, ``ports``, ``nodes``, ``kernel_s``, ``twin_s``, ``networkx_s``, ``arrays_s``,
        ``peak_rss_mb``, ``kernel``, the ratios ``twin_over_kernel`` and
        ``networkx_over_kernel``, and ``sampled`` (nodes timed for the twin and networkx).
    """
    doc = load_document(generate_network(onts, seed))
    forest = pack_forest(doc)
    arrays_s = median_time(lambda: pack_forest(doc), max(1, min(repeats, 3)))
    nodes = forest.node_count
    kernel_s = median_time(_budget_call(forest, nodes, _kernel), repeats)
    twin_nodes = _prefix(forest, sample_nodes)
    twin_s = median_time(_budget_call(forest, twin_nodes, _splitcalc_py), max(1, repeats // 2))
    twin_s *= nodes / twin_nodes
    nx_nodes = _prefix(forest, networkx_nodes)
    networkx_s = median_time(lambda: networkx_budget(forest, nx_nodes), 1) * nodes / nx_nodes
    return {
        "onts": len(forest.ont_ids),
        "ports": len(forest.port_ids),
        "nodes": nodes,
        "kernel": _kernel.implementation_name,
        "kernel_s": kernel_s,
        "twin_s": twin_s,
        "networkx_s": networkx_s,
        "arrays_s": arrays_s,
        "peak_rss_mb": peak_rss_mb(),
        "twin_over_kernel": twin_s / kernel_s,
        "networkx_over_kernel": networkx_s / kernel_s,
        "sampled": {"twin_nodes": twin_nodes, "networkx_nodes": nx_nodes},
    }


def _allocation_arrays(forest: PonForest, doc: Any) -> dict[str, Any]:
    from ponmodel.topology.capacity import _service_arrays, port_capacity_mbps

    ports = {p["id"]: p for o in doc.get("olts", []) for p in o.get("ports", [])}
    onts = {o["id"]: o for o in doc.get("onts", [])}
    svc = _service_arrays(forest.ont_ids, onts, "down")
    from ponmodel.capacity import additional_codes

    svc["additional"] = additional_codes(svc["additional"])
    capacity = np.array([port_capacity_mbps(ports[p])[0] for p in forest.port_ids])
    port_start = np.searchsorted(forest.ont_port, np.arange(len(forest.port_ids) + 1))
    return {"port_start": port_start, "capacity_mbps": capacity, **svc}


def _allocate_call(arrays: dict[str, Any], impl: Any, ports: int) -> Callable[[], Any]:
    """A closure allocating the first ``ports`` ports (one direction) with ``impl``."""
    end = int(arrays["port_start"][ports])
    part = {
        "port_start": np.ascontiguousarray(arrays["port_start"][: ports + 1], dtype=np.int64),
        "capacity_mbps": np.ascontiguousarray(arrays["capacity_mbps"][:ports]),
        **{k: np.ascontiguousarray(arrays[k][:end])
           for k in ("fixed_mbps", "assured_mbps", "max_mbps", "additional", "weight")},
    }
    full = np.empty(end)
    peak = np.empty(end)

    def call() -> Any:
        return impl.allocate(part["port_start"], part["capacity_mbps"], part["fixed_mbps"],
                             part["assured_mbps"], part["max_mbps"], part["additional"],
                             part["weight"], full, peak)

    return call


def bench_capacity(onts: int, *, seed: int = 0, repeats: int = 5,
                   sample_onts: int = 100_000) -> dict[str, Any]:
    """Time the bandwidth allocation of a generated network: the kernel, its twin (on a
    prefix of whole ports, scaled), and end to end from an SQLite database to the results.

    Returns
    -------
    dict
        ``onts``, ``ports``, ``kernel_s``, ``twin_s``, ``end_to_end_s``, ``peak_rss_mb``,
        ``kernel``, ``twin_over_kernel``, ``sampled_onts``, and ``end_to_end`` (the phases).
    """
    import tempfile

    from ponmodel.storage import export_document, import_document, make_engine, migrate
    from ponmodel.topology.capacity import network_capacity

    doc = load_document(generate_network(onts, seed))
    forest = pack_forest(doc)
    arrays = _allocation_arrays(forest, doc)
    n_ports = len(forest.port_ids)
    kernel_s = median_time(_allocate_call(arrays, _kernel, n_ports), repeats)
    sample_ports = int(np.searchsorted(arrays["port_start"], min(sample_onts, onts), "right")) - 1
    sample_ports = max(1, min(sample_ports, n_ports))
    sampled = int(arrays["port_start"][sample_ports])
    twin_s = median_time(_allocate_call(arrays, _splitcalc_py, sample_ports), max(1, repeats // 2))
    twin_s *= len(forest.ont_ids) / max(1, sampled)
    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        import_document(engine, doc, validated=True)
        started = time.perf_counter()
        loaded = export_document(engine)
        phases["load_s"] = time.perf_counter() - started
        mark = time.perf_counter()
        report = network_capacity(loaded)
        phases["budget_and_capacity_s"] = time.perf_counter() - mark
        engine.dispose()
    end_to_end_s = sum(phases.values())
    return {
        "onts": len(forest.ont_ids),
        "ports": n_ports,
        "kernel": _kernel.implementation_name,
        "kernel_s": kernel_s,
        "twin_s": twin_s,
        "end_to_end_s": end_to_end_s,
        "end_to_end": phases,
        "admissible_ports": sum(p.down.admissible for p in report.ports if p.onts),
        "peak_rss_mb": peak_rss_mb(),
        "twin_over_kernel": twin_s / kernel_s,
        "sampled_onts": sampled,
    }


def bench_placement(repeats: int = 21) -> dict[str, Any]:
    """Median latency of a placement query on the Hanoi fixtures, with the layers cached as
    the API caches them (topology, packed forest, budget, capacity)."""
    from pathlib import Path

    from ponmodel.document import read_document
    from ponmodel.topology.budget import compute
    from ponmodel.topology.build import build_topology
    from ponmodel.topology.capacity import network_capacity
    from ponmodel.topology.placement import place

    doc = read_document(Path(__file__).resolve().parent.parent / "fixtures" / "hanoi.json")
    topo = build_topology(doc)
    forest = pack_forest(doc)
    result = compute(forest)
    capacity = network_capacity(doc, forest=forest)
    structures = [s["id"] for s in doc["structures"] if s["kind"] == "building"]
    service = {d: {"fixed_mbps": 0.0, "assured_mbps": 500.0, "max_mbps": 5000.0}
               for d in ("down", "up")}
    times = []
    found = 0
    for i in range(repeats):
        at = structures[(i * 37) % len(structures)]
        started = time.perf_counter()
        answer = place(doc, structure_id=at, service=service, topology=topo, forest=forest,
                       result=result, capacity=capacity)
        times.append(time.perf_counter() - started)
        found += bool(answer["candidates"])
    return {"queries": repeats, "median_s": statistics.median(times), "max_s": max(times),
            "with_candidates": found}


def zone_arrays(engine: Any) -> dict[str, Any]:
    """Time to load the largest zone from the database (targeted queries) and pack its PON
    forest into the kernel's arrays: median of 3."""
    from ponmodel.storage import read_elements
    from ponmodel.topology.build import load_zone

    with engine.connect() as conn:
        counts: dict[str, int] = {}
        for z in read_elements(conn, "zone")[0]:
            counts[z["id"]] = read_elements(conn, "ont", filters={"zone": z["id"]}, limit=1)[1]
        zone = max(counts, key=lambda z: (counts[z], z))
        box: list[Any] = []

        def load() -> None:
            box[:] = [pack_forest(load_zone(conn, zone))]

        seconds = median_time(load, 3)
    forest = box[0]
    return {"zone": zone, "zone_onts": len(forest.ont_ids), "zone_nodes": forest.node_count,
            "zone_arrays_s": seconds}
