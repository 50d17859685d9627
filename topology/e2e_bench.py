"""The end-to-end scale benchmark (``ponmodel bench e2e``, issue 7 "Scale, end to end").

:func:`bench_e2e` generates a network, validates it, imports it into SQLite and PostgreSQL,
checks the budget and capacity of everything from each loaded database
(:func:`ponmodel.topology.stored.check_database`) and writes the results
(:func:`ponmodel.topology.stored.write_results`), timing each phase and measuring its peak
memory. The goal of the issue: the whole check of 1,000,000 ONTs from a loaded database in
under 20 s with a peak under 3 GB.

How it measures:

- wall time of each phase with :func:`time.perf_counter`;
- peak resident memory of each phase: on Linux the high-water mark is reset before the
  phase (``5`` into ``/proc/self/clear_refs``) and read after it (``VmHWM`` in
  ``/proc/self/status``); elsewhere the process's peak so far (``ru_maxrss``), flagged with
  ``peak_reset: False``;
- each check (and its results) runs in a fresh Python process that starts with nothing but
  the database URL, as a server or a nightly job would: the generated document and the
  imports of the earlier phases would otherwise stay in the benchmark's own memory and in its
  peak. ``seconds`` is timed inside that process from opening the database to the last
  result; ``process_s`` adds the interpreter's start and imports;
- the databases are taken one after the other: import, check, results on SQLite, then
  import, ``VACUUM (ANALYZE)`` (its own phase: what autovacuum does after a bulk load),
  check, results on PostgreSQL, so that no database's background work after its load
  competes with another's check for the two cores;
- the two databases must agree: their results files are compared byte for byte.

PostgreSQL runs in a scratch database created for the run and dropped after it (the server
of ``postgres_url``; the database named there is only used to connect).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ponmodel.bench import peak_rss_mb

GOAL_CHECK_S = 20.0
"""The issue's goal for the check of 1,000,000 ONTs from a loaded database, seconds."""
GOAL_PEAK_RSS_MB = 3000.0
"""The issue's goal for the peak memory of that check, MB (10⁶ bytes: 3 GB)."""
GOAL_ONTS = 1_000_000


# --------------------------------------------------------------------------- peak memory


def reset_peak_rss() -> bool:
    """Reset this process's peak resident set size to its current size (Linux ≥ 4.0).

    Returns False where that is not possible; :func:`phase_peak_rss_mb` then reports the
    peak of the whole process so far.
    """
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def phase_peak_rss_mb() -> float:
    """Peak resident set size since the last :func:`reset_peak_rss`, MB (10⁶ bytes):
    ``VmHWM`` of ``/proc/self/status``, else ``ru_maxrss``."""
    with contextlib.suppress(OSError):  # no /proc: the whole process's peak below
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6  # KiB → MB
    return peak_rss_mb() * 1024 * 1024 / 1e6  # MiB → MB


def _measure(fn: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """``fn()`` and its phase figures: ``seconds`` (wall), ``cpu_s`` (this process's CPU
    time: what other work on the machine does not inflate), ``peak_rss_mb``,
    ``peak_reset``."""
    gc.collect()
    reset = reset_peak_rss()
    cpu = time.process_time()
    started = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - started
    return value, {"seconds": seconds, "cpu_s": time.process_time() - cpu,
                   "peak_rss_mb": phase_peak_rss_mb(), "peak_reset": reset}


# --------------------------------------------------------------------------- PostgreSQL


def _vacuum_analyze(engine: Any) -> None:
    """``VACUUM (ANALYZE)`` the whole database: after a bulk load, what autovacuum would do
    on its own a little later (hint bits, visibility map, statistics). Without it the first
    reader of every page pays for setting the hint bits, and autovacuum competes with the
    check for the two cores."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM (ANALYZE)")


# --------------------------------------------------------------------------- the check


def check_phase(url: str, results: str | Path) -> dict[str, Any]:
    """Check the network stored at ``url`` and write its results into ``results``: the two
    phases' figures, the check's inner timings, its summary and the files' SHA-256."""
    from ponmodel import _kernel
    from ponmodel.storage import make_engine
    from ponmodel.topology.stored import check_database, write_results

    engine = make_engine(url)
    try:
        check, check_figures = _measure(lambda: check_database(engine))
    finally:
        engine.dispose()
    paths, write_figures = _measure(lambda: write_results(check, results))
    return {
        "check": {**check_figures, **check.timings},
        "write_results": {**write_figures,
                          "bytes": sum(p.stat().st_size for p in paths.values())},
        "summary": check.summary(),
        "files": {name: _sha256(path) for name, path in paths.items()},
        "kernel": _kernel.implementation_name,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_in_fresh_process(url: str, results: Path) -> dict[str, Any]:
    """:func:`check_phase` in a new interpreter (the URL goes through stdin, not argv)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ponmodel.topology.e2e_bench"],
        input=json.dumps({"url": url, "results": str(results)}), capture_output=True,
        text=True, check=False,
    )
    process_s = time.perf_counter() - started
    if done.returncode != 0:
        msg = f"the check process failed ({done.returncode}):\n{done.stderr[-4000:]}"
        raise RuntimeError(msg)
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out["check"]["process_s"] = process_s
    return out


# --------------------------------------------------------------------------- the benchmark


def bench_e2e(onts: int, *, seed: int = 0, postgres_url: str | None = None,
              workdir: Path, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Generate, validate, import into SQLite and PostgreSQL, check everything from each
    loaded database and write the results; each phase's time and peak memory.

    Parameters
    ----------
    onts : int
        ONTs of the generated network (:func:`ponmodel.generate.generate_network`).
    seed : int
        Seed of the generator.
    postgres_url : str, optional
        A PostgreSQL server (any database on it to connect to): the run creates a scratch
        database there and drops it. None: SQLite only.
    workdir : Path
        Where the SQLite file (deleted at the end) and the results go:
        ``workdir/results-sqlite`` and ``workdir/results-postgresql``.
    progress : callable, optional
        Called with one line of text as each phase ends.

    Returns
    -------
    dict
        ``onts``, ``seed``, ``date`` (UTC), ``cores``, ``load_average`` (1-minute, before
        and after the run: other work on the machine), ``kernel``, ``rows`` (written per
        import), ``phases`` (in order: ``generate``, ``validate``, then per database
        ``import``, ``vacuum`` (PostgreSQL), ``check``, ``write_results``; each with
        ``phase``, ``database`` (None for generate and validate), ``seconds`` (wall),
        ``cpu_s`` (the benchmark's or the check process's CPU time, not the database
        server's), ``peak_rss_mb`` (MB of 10⁶ bytes) and ``peak_reset``; an import adds
        ``rows_per_s``; a check adds ``read_s``, ``budget_s``, ``capacity_s`` and
        ``process_s``; writing the results adds ``bytes``), ``summary``
        (:meth:`~ponmodel.topology.stored.NetworkCheck.summary`), ``results`` (database →
        directory), ``databases_agree`` (the results files are byte-identical; None with
        one database) and ``goal`` (``check_s``, ``peak_rss_mb``, the worst check's figures
        and whether they meet them; judged at 1,000,000 ONTs and above).
    """
    from ponmodel import _kernel
    from ponmodel.document import load_document
    from ponmodel.generate import generate_network
    from ponmodel.storage import import_document, make_engine, migrate, scratch_postgres

    def say(text: str) -> None:
        if progress is not None:
            progress(text)

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    phases: list[dict[str, Any]] = []
    load_before = _load_average()

    def record(phase: str, database: str | None, figures: dict[str, Any]) -> dict[str, Any]:
        entry = {"phase": phase, "database": database, **figures}
        phases.append(entry)
        where = f" ({database})" if database else ""
        say(f"{phase}{where}: {figures['seconds']:.2f} s, peak {figures['peak_rss_mb']:,.0f} MB")
        return entry

    raw, figures = _measure(lambda: generate_network(onts, seed))
    record("generate", None, figures)
    doc, figures = _measure(functools.partial(load_document, raw))
    del raw  # the generated dicts: validation built the network anew
    record("validate", None, figures)

    sqlite_path = workdir / "e2e.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
    targets = [("sqlite", f"sqlite:///{sqlite_path}")]
    rows: dict[str, int] = {}
    results: dict[str, str] = {}
    checks: dict[str, dict[str, Any]] = {}
    with contextlib.ExitStack() as stack:
        if postgres_url:
            scratch = stack.enter_context(scratch_postgres(postgres_url, "ponmodel_e2e"))
            targets.append(("postgresql", scratch))
        for database, url in targets:
            engine = make_engine(url)
            migrate(engine)
            written, figures = _measure(
                functools.partial(import_document, engine, doc, validated=True))
            rows = written
            record("import", database, {**figures,
                                        "rows_per_s": sum(written.values()) / figures["seconds"]})
            if database == "postgresql":
                _, figures = _measure(functools.partial(_vacuum_analyze, engine))
                record("vacuum", database, figures)
            engine.dispose()
            if database == targets[-1][0]:
                del doc  # the last import done: the checks start from the databases alone
                gc.collect()
            out = workdir / f"results-{database}"
            checks[database] = _check_in_fresh_process(url, out)
            results[database] = str(out)
            record("check", database, checks[database]["check"])
            record("write_results", database, checks[database]["write_results"])
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)

    files = [c["files"] for c in checks.values()]
    worst_s = max(c["check"]["seconds"] for c in checks.values())
    worst_mb = max(c["check"]["peak_rss_mb"] for c in checks.values())
    return {
        "onts": onts,
        "seed": seed,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_average": {"before": load_before, "after": _load_average()},
        "kernel": _kernel.implementation_name,
        "rows": rows,
        "phases": phases,
        "summary": checks["sqlite"]["summary"],
        "results": results,
        "databases_agree": all(f == files[0] for f in files) if len(files) > 1 else None,
        "goal": {
            "onts": GOAL_ONTS,
            "check_s": GOAL_CHECK_S,
            "peak_rss_mb": GOAL_PEAK_RSS_MB,
            "worst_check_s": worst_s,
            "worst_check_peak_rss_mb": worst_mb,
            "met": (worst_s < GOAL_CHECK_S and worst_mb < GOAL_PEAK_RSS_MB)
            if onts >= GOAL_ONTS else None,
        },
    }


def _load_average() -> float | None:
    """The machine's 1-minute load average (other work competing for the cores), if known."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def format_e2e(result: dict[str, Any]) -> str:
    """The benchmark's figures as a plain-text table and a verdict line.

    Examples
    --------
    >>> print(format_e2e({"onts": 10, "cores": 2, "kernel": "cython", "date": "2026-01-01",
    ...     "phases": [{"phase": "generate", "database": None, "seconds": 0.5, "cpu_s": 0.49,
    ...                 "peak_rss_mb": 120.0}],
    ...     "databases_agree": None, "goal": {"met": None, "check_s": 20.0,
    ...     "peak_rss_mb": 3000.0, "worst_check_s": 0.1, "worst_check_peak_rss_mb": 99.0}}))
    end to end, 10 ONTs (2 cores, cython kernel, 2026-01-01)
    phase          database     seconds    CPU s   peak MB
    generate       -               0.50     0.49       120
    check from a loaded database: worst 0.10 s, 99 MB (goal at 1,000,000 ONTs: < 20 s, < 3,000 MB)
    """
    lines = [
        f"end to end, {result['onts']:,} ONTs ({result['cores']} cores, {result['kernel']} "
        f"kernel, {result['date']})",
        f"{'phase':<14} {'database':<10} {'seconds':>9} {'CPU s':>8} {'peak MB':>9}",
    ]
    for p in result["phases"]:
        detail = ""
        if p["phase"] == "check":
            detail = (f"  (read {p['read_s']:.2f} s, budget {p['budget_s']:.2f} s, "
                      f"capacity {p['capacity_s']:.2f} s)")
        elif p["phase"] == "import":
            detail = f"  ({p['rows_per_s']:,.0f} rows/s)"
        lines.append(f"{p['phase']:<14} {p['database'] or '-':<10} {p['seconds']:>9.2f} "
                     f"{p['cpu_s']:>8.2f} {p['peak_rss_mb']:>9,.0f}{detail}")
    goal = result["goal"]
    verdict = {True: "goal met", False: "goal NOT met", None: ""}[goal["met"]]
    lines.append(
        f"check from a loaded database: worst {goal['worst_check_s']:.2f} s, "
        f"{goal['worst_check_peak_rss_mb']:,.0f} MB (goal at 1,000,000 ONTs: "
        f"< {goal['check_s']:g} s, < {goal['peak_rss_mb']:,.0f} MB)"
        + (f": {verdict}" if verdict else "")
    )
    load = result.get("load_average") or {}
    if load.get("before") is not None:
        lines.append(f"load average (1 min) before {load['before']:.2f}, after "
                     f"{load['after']:.2f}: other work on the machine's cores")
    if result["databases_agree"] is not None:
        lines.append("SQLite and PostgreSQL results: "
                     + ("byte-identical" if result["databases_agree"] else "DIFFERENT"))
    return "\n".join(lines)


def main() -> int:
    """Entry of the fresh check process: a JSON request on stdin, a JSON answer on stdout."""
    request = json.loads(sys.stdin.read())
    print(json.dumps(check_phase(request["url"], request["results"])))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
