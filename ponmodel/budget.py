"""The optical budget over packed arrays: a checked wrapper around the kernel.

The kernel (:mod:`ponmodel._splitcalc`, or its twin) works on flat arrays and returns status
codes; this wrapper checks and converts the inputs, allocates the outputs, and turns a bad
status into :class:`KernelError`. Building the arrays from a network is
:func:`ponmodel.topology.pack.pack_forest`; reading the results as a fibre engineer would
is :mod:`ponmodel.topology.budget`.

Semantics (spec, "Optical budget, per ONT and direction")::

    rx_min_dbm  = tx_min − loss_db − safety_margin_db       (worst case)
    rx_max_dbm  = tx_max − loss_db                           (best case, for overload)
    headroom_db = rx_min_dbm − rx sensitivity
    ok          = rx_min_dbm ≥ sensitivity and rx_max_dbm ≤ overload
    class_ok    = class min ≤ loss_db and loss_db + safety_margin_db ≤ class max, both ways

Examples
--------
>>> import numpy as np
>>> from ponmodel.budget import run_budget
>>> out = run_budget(
...     parent=np.array([-1, 0]), edge_loss_down_db=np.array([0.0, 20.0]),
...     edge_loss_up_db=np.array([0.0, 21.0]), edge_length_m=np.array([0.0, 5000.0]),
...     edge_split=np.array([1.0, 1.0]), ont_node=np.array([1]), ont_port=np.array([0]),
...     port_tx_min_dbm=np.array([2.0]), port_tx_max_dbm=np.array([5.0]),
...     port_rx_sensitivity_dbm=np.array([-26.0]), port_rx_overload_dbm=np.array([-5.0]),
...     port_class_min_loss_db=np.array([14.0]), port_class_max_loss_db=np.array([29.0]),
...     ont_tx_min_dbm=np.array([4.0]), ont_tx_max_dbm=np.array([9.0]),
...     ont_rx_sensitivity_dbm=np.array([-28.0]), ont_rx_overload_dbm=np.array([-9.0]),
...     safety_margin_db=3.0)
>>> float(out.rx_min_down_dbm[0]), float(out.headroom_down_db[0])  # 2 − 20 − 3; −21 + 28
(-21.0, 7.0)
>>> float(out.headroom_up_db[0])  # 4 − 21 − 3 = −20 dBm; −20 + 26
6.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ponmodel import _kernel
from ponmodel.errors import KernelError

_STATUS = {
    _kernel.ERR_PARENT_ORDER: "nodes are not in topological order (a parent index >= its child)",
    _kernel.ERR_SHAPE: "the port offsets do not end at the number of ONTs",
    _kernel.ERR_BAD_INDEX: "an index, offset or tier code is out of range",
    _kernel.ERR_BAD_WEIGHT: "a weight is not positive and finite",
}


def check_status(status: int, what: str) -> None:
    """Raise :class:`KernelError` for a kernel status other than OK."""
    if status != _kernel.OK:
        msg = f"{what}: {_STATUS.get(status, f'status {status}')}"
        raise KernelError(msg)


@dataclass(frozen=True, slots=True)
class BudgetResult:
    """Per node: cumulative loss both ways, distance, split. Per ONT: the checks."""

    cum_loss_down_db: NDArray[np.float64]
    cum_loss_up_db: NDArray[np.float64]
    cum_length_m: NDArray[np.float64]
    cum_split: NDArray[np.float64]
    rx_min_down_dbm: NDArray[np.float64]
    rx_max_down_dbm: NDArray[np.float64]
    headroom_down_db: NDArray[np.float64]
    rx_min_up_dbm: NDArray[np.float64]
    rx_max_up_dbm: NDArray[np.float64]
    headroom_up_db: NDArray[np.float64]
    ok_down: NDArray[np.bool_]
    ok_up: NDArray[np.bool_]
    class_ok: NDArray[np.bool_]


def _f64(a: Any) -> NDArray[np.float64]:
    return np.ascontiguousarray(a, dtype=np.float64)


def _i64(a: Any) -> NDArray[np.int64]:
    return np.ascontiguousarray(a, dtype=np.int64)


def run_budget(
    *,
    parent: Any,
    edge_loss_down_db: Any,
    edge_loss_up_db: Any,
    edge_length_m: Any,
    edge_split: Any,
    ont_node: Any,
    ont_port: Any,
    port_tx_min_dbm: Any,
    port_tx_max_dbm: Any,
    port_rx_sensitivity_dbm: Any,
    port_rx_overload_dbm: Any,
    port_class_min_loss_db: Any,
    port_class_max_loss_db: Any,
    ont_tx_min_dbm: Any,
    ont_tx_max_dbm: Any,
    ont_rx_sensitivity_dbm: Any,
    ont_rx_overload_dbm: Any,
    safety_margin_db: float,
) -> BudgetResult:
    """Both passes of the budget kernel over one packed forest.

    Parameters
    ----------
    parent : array of int
        Parent node index, ``-1`` for a root (a PON port); ``parent[i] < i``.
    edge_loss_down_db, edge_loss_up_db, edge_length_m, edge_split : arrays of float
        The edge into each node (see :mod:`ponmodel.topology.pack`).
    ont_node, ont_port : arrays of int
        Per ONT: its node index and its port index.
    port_* : arrays of float
        Per port: OLT transmitter range (downstream), OLT receiver (upstream), class window.
    ont_* : arrays of float
        Per ONT: ONU transmitter range (upstream), ONU receiver (downstream).
    safety_margin_db : float
        Subtracted from the worst-case received power.

    Raises
    ------
    KernelError
        When the arrays disagree in shape or order.
    """
    nodes = len(parent)
    onts = len(ont_node)
    cum = [np.empty(nodes, dtype=np.float64) for _ in range(4)]
    try:
        status = _kernel.budget_forward(
            _i64(parent), _f64(edge_loss_down_db), _f64(edge_loss_up_db), _f64(edge_length_m),
            _f64(edge_split), *cum,
        )
    except ValueError as exc:
        msg = f"budget_forward: {exc}"
        raise KernelError(msg) from None
    check_status(status, "budget_forward")
    outs = [np.empty(onts, dtype=np.float64) for _ in range(6)]
    flags = [np.empty(onts, dtype=np.uint8) for _ in range(3)]
    try:
        status = _kernel.budget_check(
            _i64(ont_node), _i64(ont_port), cum[0], cum[1],
            _f64(port_tx_min_dbm), _f64(port_tx_max_dbm), _f64(port_rx_sensitivity_dbm),
            _f64(port_rx_overload_dbm), _f64(port_class_min_loss_db), _f64(port_class_max_loss_db),
            _f64(ont_tx_min_dbm), _f64(ont_tx_max_dbm), _f64(ont_rx_sensitivity_dbm),
            _f64(ont_rx_overload_dbm), float(safety_margin_db), *outs, *flags,
        )
    except ValueError as exc:
        msg = f"budget_check: {exc}"
        raise KernelError(msg) from None
    check_status(status, "budget_check")
    return BudgetResult(
        *cum, *outs, flags[0].astype(bool), flags[1].astype(bool), flags[2].astype(bool)
    )
