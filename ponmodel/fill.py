"""Duct fill by cross-section: the one place the fill rule is applied.

    fill_ratio = Σ occupant outer diameter² / inner diameter²   (π/4 cancels)

and a duct holds its occupants when the ratio is within its limit: the duct's own
``max_fill_ratio`` when set, else the rule by number of occupants (innerducts included):
:func:`ponmodel.catalog.max_fill_ratio` — 53 % for one, 31 % for two, 40 % for three or
more, after NEC chapter 9 table 1 — replaceable per call (``limit_rule``). The duct report
(:mod:`ponmodel.topology.ducts`), routing and reservations all use these functions.

Examples
--------
>>> from ponmodel.fill import fill_ratio, has_room, max_new_cable_mm
>>> round(fill_ratio([40.0, 32.0], 100.0), 4)  # (1600 + 1024) / 10000
0.2624
>>> has_room(4 * 144.0, 4, 40.0, 12.0)  # 5 × 144 / 1600 = 45 % > 40 %
False
>>> round(max_new_cable_mm([], 100.0), 3)  # one cable: √0.53 × 100
72.801
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from ponmodel import catalog

LimitRule = Callable[[int], float]
"""Maximum fill ratio by number of occupants (the catalogue's rule by default)."""

EPS = 1e-12
"""Tolerance on ratio comparisons: a cable that exactly reaches the limit fits."""


def fill_ratio(diameters_mm: Iterable[float], inner_diameter_mm: float) -> float:
    """Cross-section fill of a duct: Σ d_i² / D².

    Parameters
    ----------
    diameters_mm : iterable of float
        Outer diameters of the occupants (cables, innerducts), mm.
    inner_diameter_mm : float
        Inner diameter of the duct, mm.

    Returns
    -------
    float
        The ratio of the occupied cross-section to the duct's inner cross-section.

    Examples
    --------
    >>> fill_ratio([12.6, 14.0], 100.0)  # (158.76 + 196) / 10000
    0.035476
    """
    return sum(d * d for d in diameters_mm) / (inner_diameter_mm * inner_diameter_mm)


def limit_ratio(
    occupant_count: int, override: float | None = None, limit_rule: LimitRule | None = None
) -> float:
    """The fill limit of a duct with ``occupant_count`` occupants: override, else the rule.

    Examples
    --------
    >>> limit_ratio(2), limit_ratio(2, 0.25), limit_ratio(5)
    (0.31, 0.25, 0.4)
    """
    if override is not None:
        return float(override)
    return (limit_rule or catalog.max_fill_ratio)(occupant_count)


def max_new_cable_mm(
    diameters_mm: Iterable[float],
    inner_diameter_mm: float,
    *,
    override: float | None = None,
    limit_rule: LimitRule | None = None,
) -> float:
    """Largest cable diameter that still fits directly in a duct: ``√(limit(n+1)·D² − Σ d_i²)``.

    Examples
    --------
    >>> round(max_new_cable_mm([12.6], 100.0), 4)  # √(0.31 · 10000 − 158.76) = √2941.24
    54.2332
    >>> max_new_cable_mm([30.0, 30.0], 50.0)  # 0.40 · 2500 − 1800 < 0
    0.0
    """
    squares = [d * d for d in diameters_mm]
    limit = limit_ratio(len(squares) + 1, override, limit_rule)
    room = limit * inner_diameter_mm * inner_diameter_mm - sum(squares)
    return math.sqrt(room) if room > 0 else 0.0


def has_room(
    sum_sq_mm2: float,
    occupant_count: int,
    inner_diameter_mm: float,
    cable_diameter_mm: float,
    *,
    override: float | None = None,
    limit_rule: LimitRule | None = None,
) -> bool:
    """Whether a cable of ``cable_diameter_mm`` fits directly in a duct after the addition.

    ``sum_sq_mm2`` is Σ d_i² of the present occupants, ``occupant_count`` their number.

    Examples
    --------
    >>> has_room(158.76, 1, 100.0, 14.0)  # (158.76 + 196) / 10000 = 0.0355 ≤ 0.31
    True
    >>> has_room(0.0, 0, 20.0, 14.6)  # 213.16 / 400 = 0.533 > 0.53
    False
    """
    limit = limit_ratio(occupant_count + 1, override, limit_rule)
    after = (sum_sq_mm2 + cable_diameter_mm**2) / (inner_diameter_mm * inner_diameter_mm)
    return after <= limit + EPS
