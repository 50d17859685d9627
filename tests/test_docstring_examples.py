"""Every docstring example in the library runs and gives what it shows."""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"ponmodel.api.cli", "ponmodel.migrations.env", "ponmodel.migrations.__main__"}


def _modules() -> list[str]:
    """Every module of the three layers (their folders are mapped, so each is walked)."""
    names = set()
    for package in ("ponmodel", "ponmodel.topology", "ponmodel.api"):
        path = importlib.import_module(package).__path__
        names.add(package)
        for info in pkgutil.walk_packages(path, f"{package}."):
            names.add(info.name)
    return sorted(n for n in names if n not in SKIP and ".migrations.versions" not in n
                  and not n.endswith("_bench"))


@pytest.mark.parametrize("name", _modules())
def test_examples(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # examples read fixtures/ by relative path
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name}"


def test_the_walk_finds_the_three_layers() -> None:
    names = _modules()
    assert {"ponmodel.document", "ponmodel.topology.budget", "ponmodel.api.main"} <= set(names)
    assert os.sep not in "".join(names)
