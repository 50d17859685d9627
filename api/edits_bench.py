"""``ponmodel bench edits``: latency of single edits through the API, and of the budget read
that follows each, on networks of growing size (it prints figures, it asserts nothing).

For each size and database, a generated network is imported, and the app answers in this
process (an in-process client: the app's middleware, routing, write transaction and
response, without a socket). Each round makes, in order:

1. one customer created through ``POST /changes`` (an ONT and its drop link from a
   splitter with a free leg), then ``GET /budget/onts/{new ONT}``;
2. one link length edit through ``PATCH /links/{drop}`` (If-Match), then the budget of
   its ONT;
3. the customer removed through ``POST /changes`` (the drop link and the ONT), then the
   budget of a neighbour on the same splitter.

Each figure is the median over the rounds, in milliseconds, beside the median count of SQL
statements the step sent to the database (the API key's lookup included): on PostgreSQL each
is a round trip, the larger part of an edit's time. The cached whole network is
never built: every budget read follows a write, and is answered from the ONT's OLT
(:mod:`ponmodel.topology.local`).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

STEPS = ("create", "create_budget", "edit", "edit_budget", "remove", "remove_budget")
"""Figures per size and database, in the order a round measures them."""


def bench_edits(sizes: list[int], *, rounds: int = 25, seed: int = 0,
                postgres_url: str | None = None,
                say: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    """Median latencies (ms) of each step (:data:`STEPS`) per size and database.

    Returns
    -------
    list of dict
        Per size and database: ``onts``, ``database``, ``import_s``, and per step
        ``{step}_ms`` and ``{step}_statements``.
    """
    from ponmodel.generate import generate_network

    out = []
    for onts in sizes:
        say(f"generating {onts:,} ONTs")
        doc = generate_network(onts, seed=seed)
        databases = ["sqlite"] + (["postgresql"] if postgres_url else [])
        for database in databases:
            with _engine(database, postgres_url) as engine:
                say(f"{onts:,} ONTs: importing into {database}")
                started = time.perf_counter()
                from ponmodel.storage import import_document

                import_document(engine, doc)
                import_s = time.perf_counter() - started
                say(f"{onts:,} ONTs on {database}: {rounds} rounds")
                figures = _rounds(engine, doc, rounds)
                out.append({"onts": onts, "database": database, "import_s": import_s,
                            **figures})
        del doc
    return out


@contextmanager
def _engine(database: str, postgres_url: str | None) -> Iterator[Any]:
    from ponmodel.storage import make_engine, migrate, scratch_postgres

    if database == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            engine = make_engine(f"sqlite:///{Path(directory) / 'bench.db'}")
            migrate(engine)
            try:
                yield engine
            finally:
                engine.dispose()
        return
    assert postgres_url is not None
    with scratch_postgres(postgres_url, "ponmodel_bench_edits") as url:
        engine = make_engine(url)
        migrate(engine)
        try:
            yield engine
        finally:
            engine.dispose()


def _rounds(engine: Any, doc: dict[str, Any], rounds: int) -> dict[str, float]:
    """``{step}_ms`` and ``{step}_statements`` of each step: medians over the rounds."""
    import warnings

    from sqlalchemy import event

    with warnings.catch_warnings():  # starlette's note on its httpx client: not ours to fix
        warnings.filterwarnings(  # as pyproject.toml's pytest filter: a UserWarning
            "ignore", "Using `httpx` with `starlette.testclient` is deprecated", UserWarning)
        from fastapi.testclient import TestClient

    from ponmodel.api.main import create_app
    from ponmodel.keys import create_key
    from ponmodel.settings import Settings

    splitter, drop, neighbour, structure = _free_leg(doc)
    _, token = create_key(engine, role="admin", name="bench")
    app = create_app(Settings(database_url="sqlite://"), engine=engine)
    times: dict[str, list[float]] = {step: [] for step in STEPS}
    statements: dict[str, list[int]] = {step: [] for step in STEPS}
    sent = [0]

    def count(*_: Any) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        def timed(step: str, call: Callable[[], Any]) -> None:
            before = sent[0]
            started = time.perf_counter()
            response = call()
            times[step].append((time.perf_counter() - started) * 1000)
            statements[step].append(sent[0] - before)
            if response.status_code >= 300:
                failed = f"{step}: {response.status_code} {response.text[:300]}"
                raise RuntimeError(failed)

        for n in range(rounds + 1):  # the first round warms up and is not counted
            ont_id, link_id = f"BENCH-ONT-{n}", f"BENCH-DR-{n}"
            customer = [
                {"op": "create", "kind": "ont", "element": {
                    "id": ont_id, "structure": structure, "kind": "enterprise",
                    "service": {"down": {"assured_mbps": 100, "max_mbps": 1000},
                                "up": {"assured_mbps": 100, "max_mbps": 1000}}}},
                {"op": "create", "kind": "link", "element": {
                    "id": link_id, "from": splitter, "to": ont_id, "length_m": 120.0,
                    "connectors": 2}}]
            timed("create", lambda c=customer: client.post("/changes", json=c))
            timed("create_budget", lambda o=ont_id: client.get(f"/budget/onts/{o}"))
            timed("edit", lambda n=n: client.patch(f"/links/{drop}", json={
                "length_m": 100.0 + n}, headers={"If-Match": "*"}))
            timed("edit_budget", lambda: client.get(f"/budget/onts/{neighbour}"))
            removal = [{"op": "delete", "kind": "link", "id": link_id},
                       {"op": "delete", "kind": "ont", "id": ont_id}]
            timed("remove", lambda r=removal: client.post("/changes", json=r))
            timed("remove_budget", lambda: client.get(f"/budget/onts/{neighbour}"))
            if n == 0:
                for values in (*times.values(), *statements.values()):
                    values.clear()
    event.remove(engine, "before_cursor_execute", count)
    with suppress(Exception):
        app.state.engine.dispose()
    return {**{f"{step}_ms": statistics.median(v) for step, v in times.items()},
            **{f"{step}_statements": statistics.median_low(v) for step, v in statements.items()}}


def _free_leg(doc: dict[str, Any]) -> tuple[str, str, str, str]:
    """A splitter with a free output, one of its drop links, that link's ONT and the
    ONT's structure."""
    out: dict[str, list[dict[str, Any]]] = {}
    for link in doc["links"]:
        out.setdefault(link["from"], []).append(link)
    onts = {o["id"]: o for o in doc["onts"]}
    for splitter in doc["splitters"]:
        links = out.get(splitter["id"], [])
        drops = [lk for lk in links if lk["to"] in onts]
        if drops and len(links) < splitter["ratio"] and splitter.get("through_percent") is None:
            ont = onts[drops[0]["to"]]
            return splitter["id"], drops[0]["id"], ont["id"], ont["structure"]
    missing = "no splitter with a free output and a drop: cannot bench a creation"
    raise RuntimeError(missing)


def format_table(results: list[dict[str, Any]], figure: str = "ms") -> list[list[str]]:
    """Rows for a table: size, database, then each step's median ``figure`` (``ms`` or
    ``statements``)."""
    shown = "{:.1f}" if figure == "ms" else "{:d}"
    return [[f"{r['onts']:,}", r["database"], *(shown.format(r[f"{s}_{figure}"]) for s in STEPS)]
            for r in results]
