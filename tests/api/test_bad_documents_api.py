"""Fuzzed network documents against the API: always a clear 4xx naming the problem, never a
partial write (row counts and checksum equal before and after), oversized bodies refused."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from ponmodel.api.main import create_app
from ponmodel.settings import Settings
from ponmodel.storage import checksum, import_document, make_engine, migrate, row_counts
from tests.api.conftest import key_headers
from tests.conftest import fixture_doc

_engine: Engine | None = None


def _shared() -> tuple[Engine, TestClient]:
    """One SQLite database holding the tiny network, shared by the hypothesis examples."""
    global _engine
    if _engine is None:
        _engine = make_engine("sqlite://")
        migrate(_engine)
        import_document(_engine, fixture_doc("tiny.json"))
    app = create_app(Settings(database_url="sqlite://", max_body_bytes=2_000_000),
                     engine=_engine)
    return _engine, TestClient(app, headers=key_headers(_engine))


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    node: Any = doc
    for token in path[:-1]:
        node = node[token]
    node[path[-1]] = value


MUTATIONS = st.one_of(
    # wrong types, huge numbers, non-finite numbers
    st.tuples(st.sampled_from([("links", 0, "length_m"), ("onts", 0, "service", "down", "max_mbps"),
                               ("ducts", 0, "inner_diameter_mm"), ("splitters", 0, "ratio"),
                               ("structures", 0, "lat")]),
              st.one_of(st.text(max_size=5), st.booleans(), st.none(), st.just([]),
                        st.just(1e308 * 10), st.just(-1e300), st.just(math.nan),
                        st.integers(min_value=-(10**30), max_value=-91))),  # below every bound
    # references to ids that do not exist (unicode, slashes)
    st.tuples(st.sampled_from([("links", 1, "from"), ("onts", 0, "structure"),
                               ("cables", 0, "operator"), ("olts", 0, "structure")]),
              st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1,
                      max_size=12).map(lambda s: "Ω/" + s)),
    # duplicated ids and cycles
    st.tuples(st.just(("links", 0, "id")), st.sampled_from(["DR-01", "ONT-01", "SP-01"])),
    st.tuples(st.just(("links", 0, "from")), st.just("SP-01")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutation=MUTATIONS)
def test_a_bad_document_is_a_4xx_and_writes_nothing(mutation: tuple[Any, Any]) -> None:
    engine, client = _shared()
    path, value = mutation
    doc = copy.deepcopy(fixture_doc("two_operators_shared_duct.json"))
    tiny_ids = {"DR-01", "ONT-01", "SP-01"}
    if path[0] == "links" and path[-1] == "id" and value in tiny_ids:
        value = doc["onts"][0]["id"]  # a duplicate inside this document
    if path == ("links", 0, "from"):
        value = doc["links"][-1]["to"]  # the feeder leaves a node of its own tree: a cycle
    _set(doc, path, value)
    before = (row_counts(engine), checksum(engine))
    text = json.dumps(doc, allow_nan=True)
    r = client.post("/import", params={"replace": "true"}, content=text,
                    headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, (path, value, r.text)
    body = r.json()
    assert body["errors"] and all(e["pointer"].startswith("/") for e in body["errors"])
    assert (row_counts(engine), checksum(engine)) == before


def test_an_oversized_body_is_refused_before_it_is_read() -> None:
    engine, client = _shared()
    before = checksum(engine)
    big = b'{"format": "ponmodel/1", "name": "' + b"x" * 50_000_000 + b'"}'  # 50 MB
    r = client.post("/import", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "exceeds the limit of 2,000,000 bytes" in r.json()["detail"]
    assert checksum(engine) == before
