"""Benchmarks behind ``ponmodel bench …``: they print figures, they assert nothing.

Each phase is timed with :func:`time.perf_counter`; peak memory is the process's maximum
resident set size (``getrusage``), which includes the generated document itself.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """``(fn(), seconds)``."""
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def bench_import(
    onts: int, *, seed: int = 0, postgres_url: str | None = None, progress: bool = False,
    after_import: Callable[[Any], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Generate a network of ``onts`` ONTs, validate it, import it and load it back.

    Measured on a fresh SQLite file and, when ``postgres_url`` (or
    ``PONMODEL_TEST_DATABASE_URL``) names a server, on a fresh schema there.

    Returns
    -------
    dict
        ``onts``, ``rows`` (table rows written), ``generate_s``, ``validate_s``,
        ``databases`` (per database: ``import_s``, ``import_rows_per_s``, ``load_s``,
        ``load_rows_per_s``, and what ``after_import(engine)`` returns, such as the time
        to load one zone's arrays) and ``peak_rss_mb``.
    """
    from ponmodel.document import load_document
    from ponmodel.generate import generate_network
    from ponmodel.storage import (
        document_rows,
        drop_all,
        export_document,
        import_document,
        make_engine,
        migrate,
    )

    def say(text: str) -> None:
        if progress:
            print(text, flush=True)

    raw, generate_s = timed(lambda: generate_network(onts, seed))
    say(f"generated {onts:,} ONTs in {generate_s:.2f} s")
    doc, validate_s = timed(lambda: load_document(raw))
    say(f"validated in {validate_s:.2f} s")
    rows = sum(len(v) for v in document_rows(doc).values())
    results = []
    urls: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        urls.append(("sqlite", f"sqlite:///{tmp}/bench.db"))
        pg = postgres_url or os.environ.get("PONMODEL_TEST_DATABASE_URL")
        if pg:
            urls.append(("postgresql", pg))
        for name, url in urls:
            engine = make_engine(url)
            if name == "postgresql":
                drop_all(engine)
            migrate(engine)
            _, import_s = timed(
                lambda engine=engine: import_document(  # type: ignore[misc]
                    engine, doc, replace=True, validated=True
                )
            )
            say(f"{name}: imported {rows:,} rows in {import_s:.2f} s")
            _, load_s = timed(lambda engine=engine: export_document(engine))  # type: ignore[misc]
            say(f"{name}: loaded back in {load_s:.2f} s")
            results.append(
                {
                    "database": name,
                    "import_s": import_s,
                    "import_rows_per_s": rows / import_s,
                    "load_s": load_s,
                    "load_rows_per_s": rows / load_s,
                    **(after_import(engine) if after_import is not None else {}),
                }
            )
            if name == "postgresql":
                drop_all(engine)
            engine.dispose()
    return {
        "onts": onts,
        "rows": rows,
        "generate_s": generate_s,
        "validate_s": validate_s,
        "databases": results,
        "peak_rss_mb": peak_rss_mb(),
    }
