"""The check of a whole stored network from the database, its results files, and the
end-to-end benchmark: equal to the document path on every fixture, on both databases."""

from __future__ import annotations

import copy
import csv
import gzip
import io
import json
import mmap
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine

from ponmodel import _kernel
from ponmodel.document import load_document
from ponmodel.storage import export_document, import_document, make_engine, migrate
from ponmodel.topology.budget import network_budget
from ponmodel.topology.capacity import network_capacity
from ponmodel.topology.e2e_bench import (
    bench_e2e,
    format_e2e,
    phase_peak_rss_mb,
    reset_peak_rss,
)
from ponmodel.topology.fastcsv import csv_bytes, fixed, integers, text
from ponmodel.topology.pack import pack_forest
from ponmodel.topology.stored import (
    ONT_COLUMNS,
    RESULT_FILES,
    check_database,
    read_stored,
    write_results,
)
from tests.conftest import VALID_FIXTURES, fixture_doc


@pytest.fixture
def each_kernel(kernel: ModuleType, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A test with the compiled kernel and with the twin (the figures must not differ)."""
    for name in ("budget_forward", "budget_check", "allocate"):
        monkeypatch.setattr(_kernel, name, getattr(kernel, name))
    return kernel


def variant() -> dict[str, Any]:
    """Hanoi with every figure the fixtures leave at its default set somewhere: document
    defaults, a cable's attenuation (used where it is a link's only cable, not where the
    link has two), a link's own attenuation, ONU and OLT optics overrides, a port's
    capacity, reach and split overrides and coexistence element, and an ONT eligibility
    left to the spec's default."""
    doc = copy.deepcopy(fixture_doc("hanoi.json"))
    doc["defaults"] = {"attenuation_db_per_km": {"1270": 0.38, "1577": 0.28},
                       "connector_loss_db": 0.5, "splice_loss_db": 0.1, "safety_margin_db": 2.5}
    links = doc["links"]
    shared = next(lk for lk in links if len(lk.get("cables", [])) == 2)
    alone = next(lk for lk in links if len(lk.get("cables", [])) == 1)
    cables = {c["id"]: c for c in doc["cables"]}
    for cable_id in (shared["cables"][0], alone["cables"][0]):
        cables[cable_id]["attenuation_db_per_km"] = {"1270": 0.33, "1310": 0.34, "1490": 0.25,
                                                     "1577": 0.27}
    drop = next(lk for lk in links if lk["to"].startswith("ONT"))
    drop["attenuation_db_per_km"] = {"1270": 0.45, "1310": 0.36, "1490": 0.3, "1577": 0.5}
    onts = doc["onts"]
    onts[0]["onu_tx_dbm"] = {"min": 3.0, "max": 8.0}
    onts[0]["onu_rx_sensitivity_dbm"] = -27.0
    onts[0]["onu_rx_overload_dbm"] = -8.0
    onts[1]["service"]["down"].pop("additional", None)
    onts[1]["service"]["up"].pop("additional", None)
    used = {lk["from"] for lk in links}
    port = next(p for o in doc["olts"] for p in o["ports"] if p["id"] in used)
    port.update(olt_tx_dbm={"min": 3.0, "max": 6.0}, olt_rx_sensitivity_dbm=-27.0,
                capacity_mbps={"down": 5000.0, "up": 4000.0}, max_reach_m=10000.0,
                max_split=16, coexistence_loss_db=1.0)
    return doc


DOCUMENTS = {name: (lambda name=name: fixture_doc(name)) for name in VALID_FIXTURES}
DOCUMENTS["hanoi-variant"] = variant


def stored(engine: Engine, name: str) -> dict[str, Any]:
    """Import a fixture; return the exported document the document path would read."""
    import_document(engine, load_document(DOCUMENTS[name]()), validated=True)
    return export_document(engine)


def assert_same_forest(a: Any, b: Any) -> None:
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, name
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:
            assert x == y, name


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_forest_read_from_the_database_equals_the_packed_export(engine: Engine,
                                                                name: str) -> None:
    doc = stored(engine, name)
    with engine.connect() as conn, conn.begin():
        network = read_stored(conn)
    assert_same_forest(network.forest, pack_forest(doc))


@pytest.mark.usefixtures("each_kernel")
@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_check_equals_the_document_path(engine: Engine, name: str) -> None:
    doc = stored(engine, name)
    check = check_database(engine)
    budget = network_budget(doc)
    capacity = network_capacity(doc)
    onts = {o.id: o for o in budget.onts}
    rates = {o.id: o for o in capacity.onts}
    assert sorted(check.forest.ont_ids) == sorted(onts)
    for k, ont_id in enumerate(check.forest.ont_ids):
        # dataclass equality compares every float exactly: the same bits, not "close"
        assert check.ont_budget(k) == onts[ont_id]
        assert check.ont_capacity(k) == rates[ont_id]
        assert bool(check.capacity.ten_g_symmetric[k]) == rates[ont_id].ten_g_symmetric
        assert check.problems.get(k, []) == onts[ont_id].problems
    assert check.ports == budget.ports
    assert check.capacity.ports == capacity.ports
    assert check.capacity.olts == capacity.olts
    assert check.ont_index(check.forest.ont_ids[-1]) == len(check.forest.ont_ids) - 1


def test_the_variant_exercises_every_override(sqlite_engine: Engine) -> None:
    stored(sqlite_engine, "hanoi-variant")
    check = check_database(sqlite_engine)
    forest, budget = check.forest, check.budget
    assert forest.figures.safety_margin_db == 2.5
    assert forest.figures.attenuation_db_per_km[1577] == 0.28
    assert 1.0 in forest.edge_loss_down_db[forest.parent < 0]  # the coexistence element
    assert (budget.split_limit == 16).any() and (budget.reach_limit_m == 10_000.0).any()
    assert (forest.ont_tx_min_dbm == 3.0).sum() == 1
    assert any(p.down.capacity_mbps == 5000.0 for p in check.capacity.ports)


def test_empty_database(engine: Engine, tmp_path: Path) -> None:
    check = check_database(engine)
    assert check.forest.ont_ids == [] and check.ports == []
    assert check.summary()["onts"] == 0
    paths = write_results(check, tmp_path)
    assert read_csv(paths["onts"]) == [list(ONT_COLUMNS)]


def read_csv(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


@pytest.mark.usefixtures("each_kernel")
def test_results_of_tiny_are_the_hand_computed_figures(sqlite_engine: Engine,
                                                       tmp_path: Path) -> None:
    stored(sqlite_engine, "tiny.json")
    paths = write_results(check_database(sqlite_engine), tmp_path / "results")
    assert {p.name for p in paths.values()} == set(RESULT_FILES.values())
    header, *rows = read_csv(paths["onts"])
    assert header == list(ONT_COLUMNS)
    onts = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert [row[0] for row in rows] == ["ONT-01", "ONT-02", "ONT-03"]  # DR-01, DR-02, DR-03
    one = onts["ONT-01"]
    # FL-01: 3 km × 0.40 + 3 × 0.75 + 4 × 0.30 = 1.2 + 2.25 + 1.2 = 4.65 dB (both ways);
    # SP-01 1:8 10.7 dB; DR-01: 0.15 km × 0.40 + 2 × 0.75 = 1.56 dB → 16.91 dB
    assert one["loss_down_db"] == one["loss_up_db"] == "16.91"
    assert (one["olt"], one["port"], one["zone"], one["kind"]) == (
        "OLT-01", "OLT-01/1/1", "thang-long-iz", "enterprise")
    assert (one["distance_m"], one["split"]) == ("3150.0", "8")
    # downstream: OLT N1 tx 2..5 dBm; 2 − 16.91 − 3 = −17.91; 5 − 16.91 = −11.91;
    # headroom −17.91 − (−28) = 10.09 dB
    assert (one["rx_min_down_dbm"], one["rx_max_down_dbm"], one["headroom_down_db"]) == (
        "-17.91", "-11.91", "10.09")
    # upstream: ONU tx 4..9 dBm; 4 − 16.91 − 3 = −15.91; 9 − 16.91 = −7.91 (OLT overload
    # −5); headroom −15.91 − (−26) = 10.09 dB
    assert (one["rx_min_up_dbm"], one["rx_max_up_dbm"], one["headroom_up_db"]) == (
        "-15.91", "-7.91", "10.09")
    flags = ("ok_down", "ok_up", "class_ok", "reach_ok", "split_ok", "budget_ok",
             "ten_g_symmetric")
    assert all(ont[f] == "1" for ont in onts.values() for f in flags)
    # 0.16 km → 0.064 dB, 0.17 km → 0.068 dB: 16.914 and 16.918 dB
    assert onts["ONT-02"]["loss_down_db"] == "16.91" and onts["ONT-03"]["loss_down_db"] == "16.92"
    # downstream, XGS-PON usable 8591.09 Mbit/s: guaranteed 1000 + 0 + (500 + 2000) = 3500;
    # the 5091.09 left is shared by the two non-assured ONTs (asking 9000 and 7500):
    # 2545.54 each; nothing is left for the best-effort one
    assert [onts[o]["guaranteed_down_mbps"] for o in ("ONT-01", "ONT-02", "ONT-03")] == [
        "1000.0", "0.0", "2500.0"]
    assert [onts[o]["full_load_down_mbps"] for o in ("ONT-01", "ONT-02", "ONT-03")] == [
        "3545.5", "0.0", "5045.5"]
    # upstream, 8357.96 usable: (8357.96 − 3500) / 2 = 2428.98 each
    assert [onts[o]["full_load_up_mbps"] for o in ("ONT-01", "ONT-03")] == ["3429.0", "4929.0"]
    # peak: own max, capped by the capacity less the others' fixed (ONT-03's 500)
    assert [onts[o]["peak_down_mbps"] for o in ("ONT-01", "ONT-02", "ONT-03")] == [
        "8091.1", "1000.0", "8591.1"]
    header, port = read_csv(paths["ports"])
    port_row = dict(zip(header, port, strict=True))
    assert port_row["onts"] == port_row["onts_within_budget"] == "3"
    assert (port_row["max_distance_m"], port_row["differential_reach_m"]) == ("3170.0", "20.0")
    assert port_row["differential_loss_down_db"] == "0.01"  # 16.918 − 16.910
    assert (port_row["worst_ont"], port_row["worst_headroom_db"]) == ("ONT-03", "10.08")
    # sold 10000 + 1000 + 10000 = 21000 over 8591.09: 2.444
    assert (port_row["sold_max_mbps_down"], port_row["oversubscription_down"]) == (
        "21000.0", "2.444")
    assert port_row["admissible_down"] == port_row["admissible_up"] == "1"
    assert (port_row["worst_served_ont"], port_row["worst_served_share"]) == ("ONT-02", "0.0000")
    header, olt = read_csv(paths["olts"])
    olt_row = dict(zip(header, olt, strict=True))
    assert (olt_row["capacity_mbps_down"], olt_row["guaranteed_mbps_down"],
            olt_row["oversubscription_down"]) == ("100000.0", "3500.0", "0.210")
    assert read_csv(paths["problems"]) == [["ont", "port", "problem"]]
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    assert summary["onts"] == summary["onts_within_budget"] == 3
    assert summary["files"]["onts"] == "onts.csv.gz"


@pytest.mark.usefixtures("each_kernel")
def test_problems_file_lists_each_problem_of_each_failing_ont(sqlite_engine: Engine,
                                                              tmp_path: Path) -> None:
    doc = stored(sqlite_engine, "hanoi.json")
    paths = write_results(check_database(sqlite_engine), tmp_path)
    header, *rows = read_csv(paths["problems"])
    expected = [(o.id, o.port, p) for o in network_budget(doc).onts for p in o.problems]
    assert sorted(map(tuple, rows)) == sorted(expected)
    assert len({r[0] for r in rows}) == 104  # fixtures/README.md: 2,606 of 2,710 pass
    _, *onts = read_csv(paths["onts"])
    assert sum(r[ONT_COLUMNS.index("budget_ok")] == "0" for r in onts) == 104


def test_equal_checks_write_identical_files(engine: Engine, tmp_path: Path) -> None:
    stored(engine, "two_operators_shared_duct.json")
    first = write_results(check_database(engine), tmp_path / "a")
    second = write_results(check_database(engine), tmp_path / "b")
    for name in RESULT_FILES:
        assert first[name].read_bytes() == second[name].read_bytes(), name


# --------------------------------------------------------------------------- fast CSV


def test_fixed_point_matches_printf_except_exact_ties() -> None:
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.normal(0, 40, 20_000), rng.uniform(-1e5, 1e5, 5_000),
                             [0.0, -0.0, -0.004, 0.004, 1e-12, -99_999.994]])
    for decimals in (0, 1, 2, 3):
        lines = csv_bytes([fixed(values, decimals)]).decode().splitlines()
        expected = [f"{v:.{decimals}f}" for v in values]
        expected = [e[1:] if float(e) == 0 and e.startswith("-") else e for e in expected]
        assert lines == expected


def test_integers_text_and_quoting() -> None:
    ints = np.array([0, -7, 12345678901, 42])
    assert csv_bytes([integers(ints)]).decode().splitlines() == ["0", "-7", "12345678901", "42"]
    names = ["plain", 'say "hi"', "a,b", "line\nbreak", None, "lô A1"]
    data = csv_bytes([text(names), integers(np.arange(6))])
    assert list(csv.reader(io.StringIO(data.decode()))) == [
        [n or "", str(i)] for i, n in enumerate(names)]
    with pytest.raises(ValueError, match="finite"):
        fixed(np.array([1.0, np.inf]), 2)


# --------------------------------------------------------------------------- benchmark


def test_peak_memory_is_reset_per_phase() -> None:
    if not reset_peak_rss():
        pytest.skip("no /proc/self/clear_refs here")
    # An anonymous mapping of its own, touched page by page and unmapped by close(): a
    # numpy array would come from the allocator, which after a long test session may hand
    # out memory that is already resident and keep it resident after the array is freed.
    block = mmap.mmap(-1, 50_000_000)
    page = b"\x01" * 1_000_000
    for _ in range(50):
        block.write(page)  # 50 MB, resident
    high = phase_peak_rss_mb()
    block.close()
    assert reset_peak_rss()
    assert phase_peak_rss_mb() < high - 40  # the 50 MB block no longer counts


def check_bench(result: dict[str, Any], databases: list[str], tmp_path: Path) -> None:
    expected = [("generate", None), ("validate", None)]
    for d in databases:
        expected += [("import", d)] + [("vacuum", d)] * (d == "postgresql")
        expected += [("check", d), ("write_results", d)]
    assert [(p["phase"], p["database"]) for p in result["phases"]] == expected
    for p in result["phases"]:
        assert p["seconds"] > 0 and p["peak_rss_mb"] > 10
    for p in result["phases"]:
        if p["phase"] == "check":
            assert p["process_s"] > p["seconds"] >= p["read_s"]
    assert result["summary"]["onts"] == result["rows"]["ont"] == 400
    assert result["goal"]["met"] is None  # judged at 1,000,000 ONTs only
    assert not (tmp_path / "e2e.db").exists()
    for d in databases:
        files = {p.name for p in Path(result["results"][d]).iterdir()}
        assert files == set(RESULT_FILES.values())
    text_out = format_e2e(result)
    assert "check" in text_out and "400 ONTs" in text_out


def test_bench_e2e_on_sqlite(tmp_path: Path) -> None:
    result = bench_e2e(400, seed=3, workdir=tmp_path)
    check_bench(result, ["sqlite"], tmp_path)
    assert result["databases_agree"] is None


@pytest.mark.postgres
def test_bench_e2e_on_both_databases_agrees(tmp_path: Path, postgres_url: str) -> None:
    from sqlalchemy import text as sql

    def databases() -> set[str]:
        engine = make_engine(postgres_url)
        with engine.connect() as conn:
            names = set(conn.execute(sql("SELECT datname FROM pg_database")).scalars())
        engine.dispose()
        return names

    before = databases()
    result = bench_e2e(400, seed=3, postgres_url=postgres_url, workdir=tmp_path)
    check_bench(result, ["sqlite", "postgresql"], tmp_path)
    assert result["databases_agree"] is True
    assert databases() <= before  # the scratch database is gone


@pytest.mark.usefixtures("each_kernel")
def test_check_of_a_generated_network_equals_the_document_path(tmp_path: Path) -> None:
    from ponmodel.generate import generate_network

    doc = load_document(generate_network(3000, 5))
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    migrate(engine)
    import_document(engine, doc, validated=True)
    exported = export_document(engine)
    check = check_database(engine)
    assert_same_forest(check.forest, pack_forest(exported))
    onts = {o.id: o for o in network_budget(exported).onts}
    assert all(check.ont_budget(k) == onts[i] for k, i in enumerate(check.forest.ont_ids))
    engine.dispose()
    assert os.path.exists(tmp_path / "g.db")
