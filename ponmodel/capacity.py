"""Bandwidth at full load over packed arrays: a checked wrapper around the kernel.

Semantics (spec, "Bandwidth at full load, per PON port and direction"): with ``C`` the
port's usable capacity, tiers are served in order — fixed, assured (each scaled down
proportionally when their sum exceeds what is left), then non-assured and best-effort, each
shared by weighted max-min fairness (water-filling with ``weight``) among the eligible ONTs
asking ``max − fixed − assured``::

    guaranteed_mbps = fixed + assured          admissible = Σ guaranteed ≤ C
    full_load_mbps  = what the tiers give the ONT
    peak_mbps       = own max (fixed + assured when additional is none), capped by
                      C − Σ other ONTs' fixed; never below zero
    oversubscription = Σ max_mbps / C

ONTs are grouped by port in CSR form: those of port ``p`` are ``port_start[p]`` to
``port_start[p + 1] − 1``.

Examples
--------
>>> import numpy as np
>>> from ponmodel.capacity import allocate
>>> full, peak = allocate(port_start=np.array([0, 2]), capacity_mbps=np.array([1000.0]),
...     fixed_mbps=np.array([100.0, 0.0]), assured_mbps=np.array([200.0, 0.0]),
...     max_mbps=np.array([1000.0, 1000.0]), additional=["non_assured", "best_effort"],
...     weight=np.array([1.0, 1.0]))
>>> full.tolist()  # 300 guaranteed + 700 non-assured to the first; nothing left for the second
[1000.0, 0.0]
>>> peak.tolist()  # the second may burst to 1000 − 100 (the first's fixed stays reserved)
[1000.0, 900.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ponmodel import _kernel
from ponmodel.budget import check_status
from ponmodel.errors import KernelError

ADDITIONAL_CODES: dict[str, int] = {"none": 0, "non_assured": 1, "best_effort": 2}
"""Eligibility for additional bandwidth → the kernel's tier code."""


def additional_codes(values: Sequence[str] | NDArray[Any]) -> NDArray[np.int8]:
    """Tier codes for a sequence of eligibilities (already resolved, never None)."""
    if isinstance(values, np.ndarray) and values.dtype == np.int8:
        return values
    return np.fromiter((ADDITIONAL_CODES[v] for v in values), dtype=np.int8, count=len(values))


def allocate(
    *,
    port_start: Any,
    capacity_mbps: Any,
    fixed_mbps: Any,
    assured_mbps: Any,
    max_mbps: Any,
    additional: Any,
    weight: Any,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Full-load and peak rates of every ONT of every port, in one direction.

    Raises
    ------
    KernelError
        When the arrays disagree or a weight is not positive.
    """
    n = len(fixed_mbps)
    full = np.empty(n, dtype=np.float64)
    peak = np.empty(n, dtype=np.float64)
    f64 = np.float64
    try:
        status = _kernel.allocate(
            np.ascontiguousarray(port_start, dtype=np.int64),
            np.ascontiguousarray(capacity_mbps, dtype=f64),
            np.ascontiguousarray(fixed_mbps, dtype=f64),
            np.ascontiguousarray(assured_mbps, dtype=f64),
            np.ascontiguousarray(max_mbps, dtype=f64),
            additional_codes(additional),
            np.ascontiguousarray(weight, dtype=f64),
            full,
            peak,
        )
    except ValueError as exc:
        msg = f"allocate: {exc}"
        raise KernelError(msg) from None
    check_status(status, "allocate")
    return full, peak
