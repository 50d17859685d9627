"""Dependencies point one way: api → topology → core (ponmodel)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"ponmodel": ROOT / "ponmodel", "topology": ROOT / "topology", "api": ROOT / "api"}
FORBIDDEN = {
    "ponmodel": ("ponmodel.topology", "ponmodel.api", "fastapi", "typer", "uvicorn", "rich"),
    "topology": ("ponmodel.api", "fastapi", "typer", "uvicorn"),
    "api": (),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((node.lineno, "<relative>"))
            elif node.module:
                found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("layer", list(LAYERS))
def test_imports_point_one_way(layer: str) -> None:
    bad = []
    for path in sorted(LAYERS[layer].rglob("*.py")):
        for line, module in _imports(path):
            if module == "<relative>" or any(
                module == f or module.startswith(f + ".") for f in FORBIDDEN[layer]
            ):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert bad == []


def test_the_check_would_catch_a_violation(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("from ponmodel.api.main import create_app\nimport ponmodel.topology.build\n")
    assert [m for _, m in _imports(sample)] == ["ponmodel.api.main", "ponmodel.topology.build"]


KERNEL_USERS = ("ponmodel.topology", "ponmodel.budget", "ponmodel.capacity", "ponmodel._kernel",
                "ponmodel._splitcalc", "ponmodel._splitcalc_py", "ponmodel.api.main",
                "ponmodel.api.routes", "ponmodel.api.deps", "ponmodel.api.cli",
                "tests.conftest.each_kernel")
"""What a test marked ``kernel_free`` may not import: the kernels and what runs them."""


def test_kernel_free_tests_import_no_kernel() -> None:
    """CI's second pass (the pure-Python twin) leaves ``kernel_free`` tests out: they must
    not reach a kernel, or the twin would go untested there."""
    marked = [p for p in sorted((ROOT / "tests").rglob("test_*.py"))
              if "pytestmark = pytest.mark.kernel_free" in p.read_text(encoding="utf-8")]
    assert len(marked) >= 4
    bad = [f"{path.relative_to(ROOT)}:{line} imports {module}"
           for path in marked for line, module in _imports(path)
           if any(module == k or module.startswith(k + ".") for k in KERNEL_USERS)]
    assert bad == []


HTTP_AND_BENCH_ERRORS = {"ProblemError", "BodyTooLargeError", "LoadTargetError"}
"""Exceptions of the API layer itself: an HTTP answer, a request body over its limit, and
the load benchmark's bad target. No library code raises them."""


def _exception_classes(path: Path) -> list[tuple[int, str]]:
    """Public classes of ``path`` that derive (by name) from an exception class."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
            if any(b.endswith(("Error", "Exception")) for b in bases):
                found.append((node.lineno, node.name))
    return found


def test_every_error_class_is_in_errors_py() -> None:
    # issue 17, item 4: one module to read for what the library raises (private control-flow
    # exceptions such as changes._DryRun stay where they are used)
    errors_py = LAYERS["ponmodel"] / "errors.py"
    stray = [f"{path.relative_to(ROOT)}:{line}: {name}"
             for layer in LAYERS.values() for path in sorted(layer.rglob("*.py"))
             if path != errors_py
             for line, name in _exception_classes(path) if name not in HTTP_AND_BENCH_ERRORS]
    assert stray == []
    assert {name for _, name in _exception_classes(errors_py)} >= {
        "CatalogError", "KernelError", "ReservationError", "RouteError", "KeyRequestError",
        "ReplayError", "DocumentError", "NotFoundError", "ConflictError", "StorageError"}
