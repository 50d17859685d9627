"""Benchmark helpers for the split-calculator kernels: a synthetic PON forest and timers.

Functions only; the CLI is built on top. ``random_forest`` packs a realistic forest the way
the packing step does (each tree breadth-first from its port, so ``parent[i] < i``); the
timers return the median wall time of ``repeats`` runs, outputs allocated outside the timing.
"""

from __future__ import annotations

import statistics
import time
from types import ModuleType
from typing import Any

import numpy as np

from ponmodel import _kernel

# Splitter insertion loss by ratio, dB: the connectorised maxima of a GR-1209-style PLC
# splitter datasheet (1:2 3.7, 1:4 7.3, 1:8 10.5, 1:16 13.8, 1:32 17.2).
SPLITTER_LOSS_DB = {2: 3.7, 4: 7.3, 8: 10.5, 16: 13.8, 32: 17.2}
ATTENUATION_DOWN_DB_PER_KM = 0.30  # 1577 nm (XGS-PON downstream), G.652.D cable, typical
ATTENUATION_UP_DB_PER_KM = 0.35  # 1270 nm (XGS-PON upstream)
CONNECTOR_LOSS_DB = 0.5
SPLICE_LOSS_DB = 0.1
COEXISTENCE_LOSS_DB = 1.0  # GPON / XGS-PON coexistence filter at the port
ONTS_PER_PORT = 64


def random_forest(n_onts: int, seed: int = 0, ports: int | None = None) -> dict[str, Any]:
    """A synthetic forest of ``n_onts`` ONTs, with every array the kernels take.

    About one port per 64 ONTs (or ``ports``); under each port one first-level splitter
    (1:2, 1:4 or 1:8) feeding second-level splitters sized to reach 1:64, the ONTs spread
    over them. Illustrative optics close to the XGS-PON N1 class (14-29 dB).

    Returns a dict keyed by the kernels' parameter names: the node arrays of
    ``budget_forward`` (plus preallocated ``cum_*`` outputs), the ONT and port arrays of
    ``budget_check`` (``safety_margin_db`` as a float) and the one-direction arrays of
    ``allocate`` (ONTs are ordered by port, so ``port_start`` is the CSR over ONT order).
    """
    rng = np.random.default_rng(seed)
    n_ports = max(1, round(n_onts / ONTS_PER_PORT)) if ports is None else int(ports)
    if n_ports < 1:
        msg = f"ports must be >= 1, got {n_ports}"
        raise ValueError(msg)
    counts = np.full(n_ports, n_onts // n_ports, dtype=np.int64)
    counts[: n_onts % n_ports] += 1
    r1 = rng.choice(np.array([2, 4, 8]), n_ports)
    # second-level splitters: ratio 64 / r1, as many as the port's ONTs need (at least one)
    r2 = ONTS_PER_PORT // r1
    n_l2 = np.maximum(1, -(-counts // r2))
    per_port = 2 + n_l2 + counts  # port, L1 splitter, L2 splitters, ONTs
    base = np.concatenate([[0], np.cumsum(per_port)]).astype(np.int64)
    n_nodes = int(base[-1])

    parent = np.empty(n_nodes, dtype=np.int64)
    kind = np.empty(n_nodes, dtype=np.int8)  # 0 port, 1 splitter L1, 2 splitter L2, 3 ONT
    ratio = np.ones(n_nodes, dtype=np.float64)
    ont_node = np.empty(n_onts, dtype=np.int64)
    ont_port = np.repeat(np.arange(n_ports, dtype=np.int64), counts)
    k = 0
    for p in range(n_ports):
        b, c, m = int(base[p]), int(counts[p]), int(n_l2[p])
        parent[b] = -1
        kind[b] = 0
        parent[b + 1] = b
        kind[b + 1] = 1
        ratio[b + 1] = r1[p]
        l2 = b + 2
        parent[l2 : l2 + m] = b + 1
        kind[l2 : l2 + m] = 2
        ratio[l2 : l2 + m] = r2[p]
        onts = l2 + m
        parent[onts : onts + c] = l2 + np.arange(c) % m  # round-robin over the L2 splitters
        kind[onts : onts + c] = 3
        ont_node[k : k + c] = np.arange(onts, onts + c)
        k += c

    # Link into each node: feeder to L1, distribution to L2, drop to the ONT.
    km = np.zeros(n_nodes)
    connectors = np.zeros(n_nodes)
    splices = np.zeros(n_nodes)
    is1, is2, is3 = kind == 1, kind == 2, kind == 3
    km[is1] = rng.uniform(1.0, 15.0, is1.sum())
    km[is2] = rng.uniform(0.2, 2.0, is2.sum())
    km[is3] = rng.uniform(0.02, 0.5, is3.sum())
    connectors[is1], connectors[is2], connectors[is3] = 2, 2, 1
    splices[is1] = rng.integers(1, 6, is1.sum())
    splices[is2] = rng.integers(0, 3, is2.sum())
    loss_by_ratio = np.zeros(max(SPLITTER_LOSS_DB) + 1)
    for r, loss in SPLITTER_LOSS_DB.items():
        loss_by_ratio[r] = loss
    splitter = np.where(is1 | is2, loss_by_ratio[ratio.astype(np.int64)], 0.0)
    common = connectors * CONNECTOR_LOSS_DB + splices * SPLICE_LOSS_DB + splitter
    common[kind == 0] = COEXISTENCE_LOSS_DB
    edge_down = km * ATTENUATION_DOWN_DB_PER_KM + common
    edge_up = km * ATTENUATION_UP_DB_PER_KM + common

    port_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    # Admissible ports (sum of guarantees about a quarter of C = 8500 Mbps for 64 ONTs) whose
    # peaks oversubscribe the rest, so the non-assured tier is water-filled on most ports.
    fixed = np.where(rng.random(n_onts) < 0.1, 50.0, 0.0)
    assured = rng.choice(np.array([0.0, 0.0, 20.0, 50.0, 100.0]), n_onts)
    extra = rng.choice(np.array([0.0, 300.0, 500.0, 1000.0, 2000.0, 8000.0]), n_onts)
    return {
        # budget_forward
        "parent": parent,
        "edge_loss_down_db": edge_down,
        "edge_loss_up_db": edge_up,
        "edge_length_m": km * 1000.0,
        "edge_split": ratio,
        "cum_loss_down_db": np.zeros(n_nodes),
        "cum_loss_up_db": np.zeros(n_nodes),
        "cum_length_m": np.zeros(n_nodes),
        "cum_split": np.zeros(n_nodes),
        # budget_check
        "ont_node": ont_node,
        "ont_port": ont_port,
        "port_tx_min_dbm": np.full(n_ports, 2.0),
        "port_tx_max_dbm": np.full(n_ports, 5.0),
        "port_rx_sensitivity_dbm": np.full(n_ports, -26.0),
        "port_rx_overload_dbm": np.full(n_ports, -5.0),
        "port_class_min_loss_db": np.full(n_ports, 14.0),
        "port_class_max_loss_db": np.full(n_ports, 29.0),
        "ont_tx_min_dbm": np.full(n_onts, 4.0),
        "ont_tx_max_dbm": np.full(n_onts, 9.0),
        "ont_rx_sensitivity_dbm": np.full(n_onts, -28.0),
        "ont_rx_overload_dbm": np.full(n_onts, -9.0),
        "safety_margin_db": 3.0,
        # allocate (one direction)
        "port_start": port_start,
        "capacity_mbps": np.full(n_ports, 8500.0),
        "fixed_mbps": fixed,
        "assured_mbps": assured,
        "max_mbps": fixed + assured + extra,
        "additional": rng.integers(0, 3, n_onts).astype(np.int8),
        "weight": rng.integers(1, 5, n_onts).astype(np.float64),
    }


def _module(impl: ModuleType | str | None) -> ModuleType:
    if impl is None:
        return _kernel.implementations()[_kernel.implementation_name]
    if isinstance(impl, str):
        impls = _kernel.implementations()
        if impl not in impls:
            msg = f"kernel implementation {impl!r} not available, have {sorted(impls)}"
            raise ValueError(msg)
        return impls[impl]
    return impl


def _median_time(fn: Any, repeats: int) -> float:
    if repeats < 1:
        msg = f"repeats must be >= 1, got {repeats}"
        raise ValueError(msg)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _require_ok(what: str, status: int) -> None:
    if status != 0:
        msg = f"{what} returned status {status}"
        raise RuntimeError(msg)


def time_budget(
    arrays: dict[str, Any], impl: ModuleType | str | None = None, repeats: int = 5
) -> float:
    """Median seconds of ``budget_forward`` followed by ``budget_check`` over ``arrays``.

    ``impl`` is a kernel module, ``"cython"`` / ``"python"``, or None for the selected one.
    """
    mod = _module(impl)
    a = arrays
    n = len(a["ont_node"])
    outs = [np.empty(n) for _ in range(6)] + [np.empty(n, dtype=np.uint8) for _ in range(3)]

    def run() -> None:
        _require_ok(
            "budget_forward",
            mod.budget_forward(
                a["parent"],
                a["edge_loss_down_db"],
                a["edge_loss_up_db"],
                a["edge_length_m"],
                a["edge_split"],
                a["cum_loss_down_db"],
                a["cum_loss_up_db"],
                a["cum_length_m"],
                a["cum_split"],
            ),
        )
        _require_ok(
            "budget_check",
            mod.budget_check(
                a["ont_node"],
                a["ont_port"],
                a["cum_loss_down_db"],
                a["cum_loss_up_db"],
                a["port_tx_min_dbm"],
                a["port_tx_max_dbm"],
                a["port_rx_sensitivity_dbm"],
                a["port_rx_overload_dbm"],
                a["port_class_min_loss_db"],
                a["port_class_max_loss_db"],
                a["ont_tx_min_dbm"],
                a["ont_tx_max_dbm"],
                a["ont_rx_sensitivity_dbm"],
                a["ont_rx_overload_dbm"],
                float(a["safety_margin_db"]),
                *outs,
            ),
        )

    return _median_time(run, repeats)


def time_allocate(
    arrays: dict[str, Any], impl: ModuleType | str | None = None, repeats: int = 5
) -> float:
    """Median seconds of one ``allocate`` call (all ports, one direction) over ``arrays``.

    ``impl`` is a kernel module, ``"cython"`` / ``"python"``, or None for the selected one.
    """
    mod = _module(impl)
    a = arrays
    n = len(a["fixed_mbps"])
    full, peak = np.empty(n), np.empty(n)

    def run() -> None:
        _require_ok(
            "allocate",
            mod.allocate(
                a["port_start"],
                a["capacity_mbps"],
                a["fixed_mbps"],
                a["assured_mbps"],
                a["max_mbps"],
                a["additional"],
                a["weight"],
                full,
                peak,
            ),
        )

    return _median_time(run, repeats)
