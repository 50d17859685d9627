"""Which kernel is loaded: the compiled one when built, the twin on request or as fallback."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import ponmodel
from ponmodel import _kernel, _splitcalc_py

NO_EXTENSIONS = os.environ.get("PONMODEL_NO_EXTENSIONS") == "1"
COMPILED_BUILT = importlib.util.find_spec("ponmodel._splitcalc") is not None
STATUS_CODES = {
    "OK": 0,
    "ERR_PARENT_ORDER": 1,
    "ERR_SHAPE": 2,
    "ERR_BAD_INDEX": 3,
    "ERR_BAD_WEIGHT": 4,
}
ENTRY_POINTS = ("budget_forward", "budget_check", "allocate")

PROBE = (
    "import json; from ponmodel import _kernel; "
    "print(json.dumps([_kernel.implementation_name, _kernel.COMPILED, "
    "sorted(_kernel.implementations()), _kernel.allocate.__module__]))"
)


def probe(no_extensions: bool) -> list:
    """Import the selector in a fresh interpreter, with or without PONMODEL_NO_EXTENSIONS=1."""
    env = {k: v for k, v in os.environ.items() if k != "PONMODEL_NO_EXTENSIONS"}
    if no_extensions:
        env["PONMODEL_NO_EXTENSIONS"] = "1"
    root = str(Path(ponmodel.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


@pytest.mark.skipif(
    os.environ.get("CI") != "true" or NO_EXTENSIONS,
    reason="only in CI with extensions enabled",
)
def test_ci_loads_the_compiled_kernel() -> None:
    # In CI the extension is built: silently running on the twin would hide a broken build.
    assert _kernel.COMPILED is True
    assert _kernel.implementation_name == "cython"


def test_no_extensions_selects_the_twin() -> None:
    name, compiled, impls, module = probe(no_extensions=True)
    assert (name, compiled, impls, module) == (
        "python",
        False,
        ["python"],
        "ponmodel._splitcalc_py",
    )


def test_default_selects_the_compiled_kernel_when_built() -> None:
    name, compiled, impls, module = probe(no_extensions=False)
    if COMPILED_BUILT:
        assert (name, compiled, impls) == ("cython", True, ["cython", "python"])
        assert module == "ponmodel._splitcalc"
    else:
        assert (name, compiled, impls) == ("python", False, ["python"])


def test_selector_in_this_process() -> None:
    assert _kernel.COMPILED is (COMPILED_BUILT and not NO_EXTENSIONS)
    assert _kernel.implementation_name == ("cython" if _kernel.COMPILED else "python")
    impls = _kernel.implementations()
    assert impls["python"] is _splitcalc_py
    assert _kernel.budget_forward is impls[_kernel.implementation_name].budget_forward
    for name, code in STATUS_CODES.items():
        assert getattr(_kernel, name) == code


def test_kernel_exposes_the_shared_api(kernel: ModuleType) -> None:
    # Same status codes and the same parameter names as the twin, in the same order.
    for name, code in STATUS_CODES.items():
        assert getattr(kernel, name) == code
    for fn in ENTRY_POINTS:
        got = list(inspect.signature(getattr(kernel, fn)).parameters)
        want = list(inspect.signature(getattr(_splitcalc_py, fn)).parameters)
        assert got == want, fn
