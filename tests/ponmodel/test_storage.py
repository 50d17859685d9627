"""Storage on SQLite and PostgreSQL: identity round trips, atomic imports, reads."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from ponmodel.document import canonical, load_document
from ponmodel.errors import DocumentError, InventoryNotEmptyError
from ponmodel.storage import (
    TABLE_OF_KIND,
    checksum,
    drop_all,
    export_document,
    import_document,
    is_empty,
    make_engine,
    migrate,
    one_of,
    read_elements,
    read_snapshot,
    revision,
    row_counts,
)
from tests.conftest import VALID_FIXTURES, fixture_doc

pytestmark = pytest.mark.kernel_free  # runs no kernel: CI runs it once (.ci/run)


@pytest.mark.parametrize("name", VALID_FIXTURES)
def test_import_export_import_is_an_identity(engine: Engine, name: str) -> None:
    original = load_document(fixture_doc(name))
    import_document(engine, original, validated=True)
    first = export_document(engine)
    assert canonical(first) == canonical(original)
    import_document(engine, first, replace=True)
    assert canonical(export_document(engine)) == canonical(first)


def test_rows_written_for_tiny(engine: Engine) -> None:
    doc = fixture_doc("tiny.json")
    rows = import_document(engine, doc)
    # every element once in the registry: operators + zones + structures + ducts + cables
    # + olts + ports + splitters + onts + links + sites
    expected_elements = sum(
        len(doc[k])
        for k in (
            "operators",
            "zones",
            "structures",
            "ducts",
            "cables",
            "olts",
            "splitters",
            "onts",
            "links",
            "sites",
        )
    )
    expected_elements += sum(len(o["ports"]) for o in doc["olts"])
    assert rows["element"] == expected_elements
    assert rows["ont"] == 3 and rows["port"] == 1 and rows["network"] == 1
    assert rows["cable_duct"] == sum(len(c["ducts"]) for c in doc["cables"])
    assert row_counts(engine) == rows


def test_bad_document_writes_nothing(engine: Engine) -> None:
    import_document(engine, fixture_doc("tiny.json"))
    before = (row_counts(engine), checksum(engine))
    bad = fixture_doc("two_operators_shared_duct.json")
    bad["links"][0]["length_m"] = -1.0
    with pytest.raises(DocumentError):
        import_document(engine, bad, replace=True)
    assert (row_counts(engine), checksum(engine)) == before


def test_failure_inside_the_transaction_rolls_everything_back(engine: Engine) -> None:
    import_document(engine, fixture_doc("tiny.json"))
    before = (row_counts(engine), checksum(engine))
    # skip validation on purpose: the last table written (site) breaks a foreign key, after
    # the old network was deleted and every other table of the new one was written
    doc = load_document(fixture_doc("two_operators_shared_duct.json"))
    doc["sites"] = [
        {
            "id": "S-X",
            "zone": "no-such-zone",
            "operator": doc["operators"][0]["id"],
            "generation": "5g",
            "structure": None,
            "backhaul_ont": None,
        }
    ]
    with pytest.raises(Exception, match="(?i)foreign key"):
        import_document(engine, doc, replace=True, validated=True)
    assert (row_counts(engine), checksum(engine)) == before


def test_import_into_a_full_database_needs_replace(engine: Engine) -> None:
    assert is_empty(engine)
    import_document(engine, fixture_doc("tiny.json"))
    with engine.connect() as conn:
        assert revision(conn) == 1
    with pytest.raises(InventoryNotEmptyError, match="already holds a network"):
        import_document(engine, fixture_doc("gpon_legacy.json"))
    import_document(engine, fixture_doc("gpon_legacy.json"), replace=True)
    with engine.connect() as conn:
        assert revision(conn) == 2
    exported = {o["id"] for o in export_document(engine)["onts"]}
    assert exported == {o["id"] for o in fixture_doc("gpon_legacy.json")["onts"]}


def test_read_elements_filters_and_pages(engine: Engine) -> None:
    doc = fixture_doc("hanoi.json")
    import_document(engine, doc)
    zone = doc["zones"][0]["id"]
    in_zone = {s["id"] for s in doc["structures"] if s.get("zone") == zone}
    expected = sorted(o["id"] for o in doc["onts"] if o["structure"] in in_zone)
    with engine.connect() as conn:
        page, total = read_elements(conn, "ont", filters={"zone": zone}, limit=7, offset=3)
        assert total == len(expected)
        assert [o["id"] for o in page] == expected[3:10]
        enterprise = sum(1 for o in doc["onts"] if o["kind"] == "enterprise")
        assert read_elements(conn, "ont", filters={"kind": "enterprise"}, limit=1)[1] == enterprise
        olt = doc["olts"][0]
        ports, _ = read_elements(conn, "port", filters={"olt": olt["id"]})
        assert sorted(p["id"] for p in ports) == sorted(p["id"] for p in olt["ports"])
        assert all(p["olt"] == olt["id"] for p in ports)


@pytest.mark.parametrize("wanted", [[], ["DR-01"], ["DR-03", "DR-01", "nothing", "FL-01"],
                                    ["nothing"]])
def test_one_of_selects_exactly_the_listed_ids(engine: Engine, wanted: list[str]) -> None:
    # = ANY(array) on PostgreSQL, IN (…) on SQLite: the same rows, none for an empty list
    doc = fixture_doc("tiny.json")
    import_document(engine, doc)
    links = TABLE_OF_KIND["link"]
    with engine.connect() as conn:
        found = conn.execute(select(links.c.id).where(one_of(conn, links.c.id, wanted))).scalars()
        assert sorted(found) == sorted(set(wanted) & {lk["id"] for lk in doc["links"]})
        assert [e["id"] for e in read_elements(conn, "link", ids=wanted)[0]] == sorted(
            set(wanted) & {lk["id"] for lk in doc["links"]})


def test_import_leaves_the_postgresql_planner_statistics(postgres_engine: Engine) -> None:
    # without them the planner guessed a port's subtree at half the link table (see
    # import_document); ANALYZE of a table this small reads every row, so the estimate
    # is the count
    engine = postgres_engine
    doc = fixture_doc("hanoi.json")
    import_document(engine, doc)
    with engine.connect() as conn:
        estimate = conn.execute(text(
            "SELECT reltuples FROM pg_class WHERE relname = 'link'")).scalar_one()
    assert estimate == len(doc["links"])


def test_a_read_snapshot_cannot_write_on_postgresql(postgres_engine: Engine) -> None:
    # it ends with COMMIT (psycopg keeps its prepared statements), so it must be READ ONLY
    engine = postgres_engine
    import_document(engine, fixture_doc("tiny.json"))
    links = TABLE_OF_KIND["link"]
    with pytest.raises(DBAPIError, match="read-only transaction"), read_snapshot(engine) as conn:
        conn.execute(links.update().values(length_m=1.0))
    with engine.connect() as conn:
        assert 1.0 not in conn.execute(select(links.c.length_m)).scalars().all()


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_an_empty_network_can_be_followed_by_another(engine: Engine) -> None:
    # found by schemathesis: an empty document leaves the network row but no element
    import_document(engine, {"format": "ponmodel/1", "name": "empty"})
    assert is_empty(engine)
    import_document(engine, fixture_doc("tiny.json"))
    with engine.connect() as conn:
        assert revision(conn) == 2
    assert export_document(engine)["name"] == fixture_doc("tiny.json")["name"]


def test_processes_starting_together_migrate_once(engine: Engine) -> None:
    # Four workers (or machines) start on a fresh database at the same moment: one
    # migrates, the others wait for its lock and find the schema at head; none fails.
    from concurrent.futures import ThreadPoolExecutor


    drop_all(engine)
    url = engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(migrate, engines))  # re-raises any worker's error
    with engine.connect() as conn:
        heads = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert heads == ["0003"] and diff == []
    for e in engines:
        e.dispose()
