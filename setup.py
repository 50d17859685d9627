"""Build the optional compiled kernel ``ponmodel._splitcalc``; metadata lives in pyproject.toml.

No extension is built when ``PONMODEL_NO_EXTENSIONS=1``, when Cython is missing, or when the C
compiler fails (the extension is ``optional``): ``ponmodel._splitcalc_py`` then serves.
"""

from __future__ import annotations

import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

COMPILER_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
}


class OptimisingBuildExt(build_ext):
    """Add the optimisation flags in the spelling of the compiler actually used."""

    def build_extensions(self) -> None:
        if self.compiler.compiler_type == "msvc":
            flags = ["/O2", "/fp:precise"]
        else:
            # No fused multiply-add: the pure-Python twin rounds a * b + c twice, and the
            # two implementations must agree to rounding on every platform (aarch64 has FMA).
            flags = ["-O3", "-ffp-contract=off"]
        for ext in self.extensions:
            ext.extra_compile_args = [*ext.extra_compile_args, *flags]
        super().build_extensions()


def extensions() -> list[Extension]:
    """The extension to build, or none when disabled or Cython is unavailable."""
    if os.environ.get("PONMODEL_NO_EXTENSIONS") == "1":
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        return []
    ext = Extension("ponmodel._splitcalc", sources=["ponmodel/_splitcalc.pyx"])
    modules: list[Extension] = cythonize([ext], compiler_directives=COMPILER_DIRECTIVES)
    for module in modules:
        # A compiler failure skips the extension instead of failing the install. Set after
        # cythonize, which builds new Extension objects and drops `optional`.
        module.optional = True
    return modules


setup(ext_modules=extensions(), cmdclass={"build_ext": OptimisingBuildExt})
