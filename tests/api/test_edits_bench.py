"""``ponmodel bench edits`` measures what it says: every step answers, and each sends the
statements the edit paths were cut down to (a regression here is a round trip more per edit
on PostgreSQL, where each costs about 0.4 ms)."""

from __future__ import annotations

import pytest

from ponmodel.api.edits_bench import STEPS, bench_edits, format_table

# Statements per step, the API key's lookup included. On SQLite ponmodel sends each BEGIN
# itself (storage._sqlite_begin), a statement of its own for the key's lookup and for the read,
# where psycopg sends it with the first statement: two more per budget read.
EXPECTED = {
    "sqlite": {"create": 29, "create_budget": 17, "edit": 32, "edit_budget": 17,
               "remove": 33, "remove_budget": 17},
    "postgresql": {"create": 29, "create_budget": 15, "edit": 32, "edit_budget": 15,
                   "remove": 33, "remove_budget": 15},
}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_each_step_sends_the_statements_it_was_cut_to(
        database: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    results = bench_edits([1000], rounds=2, postgres_url=url)
    result = results[-1]
    assert (result["onts"], result["database"]) == (1000, database)
    assert {s: result[f"{s}_statements"] for s in STEPS} == EXPECTED[database]
    assert all(result[f"{s}_ms"] > 0 for s in STEPS)
    row = format_table([result], "statements")[0]
    assert row[:2] == ["1,000", database]
    assert row[2:] == [str(EXPECTED[database][s]) for s in STEPS]
