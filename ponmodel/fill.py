"""Duct fill by cross-section: the one place the fill rule is applied.

    fill_ratio = Σ occupant outer diameter² / inner diameter²

and a duct holds its occupants when the ratio is within its limit: the duct's own
``max_fill_ratio`` when set, else the catalogue's rule by number of occupants
(:func:`ponmodel.catalog.max_fill_ratio`: 53 % for one, 31 % for two, 40 % for three or
more, after NEC chapter 9 table 1). Occupants are the cables and innerducts directly inside.

Examples
--------
>>> from ponmodel.fill import fill_ratio, fits, max_new_cable_mm
>>> round(fill_ratio(100.0, [40.0, 32.0]), 4)  # (1600 + 1024) / 10000
0.2624
>>> fits(40.0, [12.0] * 4, 12.0)  # 5 × 144 / 1600 = 45 % > 40 %
False
>>> round(max_new_cable_mm(100.0, []), 3)  # one cable: √0.53 × 100
72.801
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ponmodel import catalog


def fill_ratio(inner_diameter_mm: float, occupant_diameters_mm: Sequence[float]) -> float:
    """Occupied share of the duct's cross-section."""
    return sum(d * d for d in occupant_diameters_mm) / (inner_diameter_mm * inner_diameter_mm)


def limit_ratio(occupant_count: int, override: float | None = None) -> float:
    """The fill limit for ``occupant_count`` occupants: the duct's override, else the rule."""
    return float(override) if override is not None else catalog.max_fill_ratio(occupant_count)


def fits(inner_diameter_mm: float, occupant_diameters_mm: Sequence[float],
         new_diameter_mm: float, override: float | None = None) -> bool:
    """True when a cable of ``new_diameter_mm`` can join the occupants within the limit."""
    after = [*occupant_diameters_mm, new_diameter_mm]
    return fill_ratio(inner_diameter_mm, after) <= limit_ratio(len(after), override)


def max_new_cable_mm(inner_diameter_mm: float, occupant_diameters_mm: Sequence[float],
                     override: float | None = None) -> float:
    """The largest cable diameter that still fits (0 when none does): the headroom."""
    limit = limit_ratio(len(occupant_diameters_mm) + 1, override)
    used = sum(d * d for d in occupant_diameters_mm)
    room = limit * inner_diameter_mm * inner_diameter_mm - used
    return math.sqrt(room) if room > 0 else 0.0
