"""Select the compiled split calculator or its pure-Python twin (``PONMODEL_NO_EXTENSIONS=1``)."""

from __future__ import annotations

import os
from types import ModuleType

from ponmodel import _splitcalc_py

_impl: ModuleType
if os.environ.get("PONMODEL_NO_EXTENSIONS") == "1":
    _impl = _splitcalc_py
else:
    try:
        from ponmodel import _splitcalc as _impl
    except ImportError:
        _impl = _splitcalc_py

COMPILED: bool = _impl is not _splitcalc_py
implementation_name: str = "cython" if COMPILED else "python"

budget_forward = _impl.budget_forward
budget_check = _impl.budget_check
allocate = _impl.allocate

OK: int = _impl.OK
ERR_PARENT_ORDER: int = _impl.ERR_PARENT_ORDER
ERR_SHAPE: int = _impl.ERR_SHAPE
ERR_BAD_INDEX: int = _impl.ERR_BAD_INDEX
ERR_BAD_WEIGHT: int = _impl.ERR_BAD_WEIGHT

__all__ = [
    "COMPILED",
    "ERR_BAD_INDEX",
    "ERR_BAD_WEIGHT",
    "ERR_PARENT_ORDER",
    "ERR_SHAPE",
    "OK",
    "allocate",
    "budget_check",
    "budget_forward",
    "implementation_name",
    "implementations",
]


def implementations() -> dict[str, ModuleType]:
    """The kernel modules to test against each other: ``"cython"`` (when loaded) and ``"python"``.

    With ``PONMODEL_NO_EXTENSIONS=1`` only the twin is returned, so that run exercises it alone.
    """
    impls: dict[str, ModuleType] = {}
    if COMPILED:
        impls["cython"] = _impl
    impls["python"] = _splitcalc_py
    return impls
