"""Checks of a service profile given as a question (placement, what-if), before it is used.

A stored ONT's service is checked with its document (:mod:`ponmodel.document`); a service a
caller asks about is checked here, and the first broken rule is raised as an
:class:`~ponmodel.errors.InvalidRequestError` naming the field, the value, the unit and the
rule (issue 16, item 5).

Examples
--------
>>> from ponmodel.errors import InvalidRequestError
>>> from ponmodel.service import check_service
>>> try:
...     check_service({"down": {"assured_mbps": 2000, "max_mbps": 1000},
...                    "up": {"assured_mbps": 100, "max_mbps": 1000}})
... except InvalidRequestError as exc:
...     print(exc.field)
...     print(exc)
service.down.assured_mbps
service.down: assured_mbps 2000 Mbit/s exceeds max_mbps 1000 Mbit/s (assured ≤ max)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ponmodel.errors import InvalidRequestError

DIRECTIONS = ("down", "up")
RATE_FIELDS = ("fixed_mbps", "assured_mbps", "max_mbps")
DIRECTION_FIELDS = (*RATE_FIELDS, "additional", "weight")
ADDITIONAL = ("non_assured", "best_effort", "none")
MAX_WEIGHT = 1e6
"""The largest weight of max-min fair sharing (as :data:`ponmodel.types.Weight`)."""


def _mbps(value: float) -> str:
    """A rate as the message shows it: ``2000``, ``0.5``, ``1000000`` (no exponent)."""
    return f"{value:.15g}"


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_service(service: Any, *, field: str = "service") -> None:
    """Raise on the first rule a service profile breaks; return None when it has none.

    Parameters
    ----------
    service : mapping
        ``{"down": {...}, "up": {...}}``, each with ``max_mbps`` and optionally
        ``fixed_mbps``, ``assured_mbps`` (default 0), ``additional``, ``weight``.
    field : str
        Where the service sits in the request, the prefix of the field named in an error
        (``"service"`` for a placement, ``"profile.ONT-1"`` for a what-if).

    Raises
    ------
    InvalidRequestError
        With ``field`` set to the dotted path of the value at fault, e.g.
        ``service.down.assured_mbps``. The rules: both directions and nothing else; in
        each, ``max_mbps`` given, every rate a finite number ≥ 0 Mbit/s, fixed ≤ max,
        assured ≤ max, fixed + assured ≤ max, ``additional`` one of non_assured,
        best_effort, none, ``weight`` a finite number > 0 and ≤ 10⁶.
    """
    if not isinstance(service, Mapping):
        msg = f"{field}: expected {{'down': {{...}}, 'up': {{...}}}}, got {type(service).__name__}"
        raise InvalidRequestError(msg, field=field)
    for key in service:
        if key not in DIRECTIONS:
            msg = f"{field}: unknown direction {str(key)[:40]!r} (a service has down and up)"
            raise InvalidRequestError(msg, field=f"{field}.{str(key)[:40]}")
    for d in DIRECTIONS:
        _check_direction(service.get(d), f"{field}.{d}")


def _check_direction(direction: Any, where: str) -> None:
    if direction is None:
        msg = f"{where}: missing (a service has down and up)"
        raise InvalidRequestError(msg, field=where)
    if not isinstance(direction, Mapping):
        msg = f"{where}: expected a mapping of rates, got {type(direction).__name__}"
        raise InvalidRequestError(msg, field=where)
    for key in direction:
        if key not in DIRECTION_FIELDS:
            msg = (f"{where}: unknown field {str(key)[:40]!r} "
                   f"(fields: {', '.join(DIRECTION_FIELDS)})")
            raise InvalidRequestError(msg, field=f"{where}.{str(key)[:40]}")
    if "max_mbps" not in direction:
        msg = f"{where}: max_mbps is missing (every direction has a maximum rate)"
        raise InvalidRequestError(msg, field=f"{where}.max_mbps")
    rates: dict[str, float] = {}
    for name in RATE_FIELDS:
        value = direction.get(name, 0.0)
        if not _number(value):
            msg = f"{where}: {name} {str(value)[:40]!r} is not a number (a rate in Mbit/s)"
            raise InvalidRequestError(msg, field=f"{where}.{name}")
        if not math.isfinite(value):
            msg = f"{where}: {name} {value} Mbit/s is not finite (rate is a finite number)"
            raise InvalidRequestError(msg, field=f"{where}.{name}")
        if value < 0:
            msg = f"{where}: {name} {_mbps(value)} Mbit/s is negative (rate ≥ 0)"
            raise InvalidRequestError(msg, field=f"{where}.{name}")
        rates[name] = float(value)
    fixed, assured, maximum = (rates[n] for n in RATE_FIELDS)
    for name, value in (("fixed_mbps", fixed), ("assured_mbps", assured)):
        if value > maximum:
            rule = name.removesuffix("_mbps")
            msg = (f"{where}: {name} {_mbps(value)} Mbit/s exceeds max_mbps {_mbps(maximum)} "
                   f"Mbit/s ({rule} ≤ max)")
            raise InvalidRequestError(msg, field=f"{where}.{name}")
    if fixed + assured > maximum:
        # neither alone exceeds the maximum: the maximum is what is too small
        msg = (f"{where}: fixed_mbps {_mbps(fixed)} + assured_mbps {_mbps(assured)} = "
               f"{_mbps(fixed + assured)} Mbit/s exceeds max_mbps {_mbps(maximum)} Mbit/s "
               "(fixed + assured ≤ max)")
        raise InvalidRequestError(msg, field=f"{where}.max_mbps")
    additional = direction.get("additional")
    if additional is not None and additional not in ADDITIONAL:
        msg = (f"{where}: additional {str(additional)[:40]!r} is not one of "
               f"{', '.join(ADDITIONAL)}")
        raise InvalidRequestError(msg, field=f"{where}.additional")
    weight = direction.get("weight")
    if weight is not None and not (_number(weight) and math.isfinite(weight)
                                   and 0 < weight <= MAX_WEIGHT):
        msg = f"{where}: weight {str(weight)[:40]} is not a number in (0, 10⁶] (weight > 0)"
        raise InvalidRequestError(msg, field=f"{where}.weight")
