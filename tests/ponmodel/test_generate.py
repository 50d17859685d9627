"""Tests of ponmodel.generate: determinism, sizes, ids, the committed fixtures."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ponmodel.generate import (
    CLASS_MAX_LOSS_DB,
    fixture_documents,
    generate_network,
    hanoi_network,
    small_fixtures,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _ids(doc: dict[str, Any]) -> list[str]:
    out = []
    for items in doc.values():
        if not isinstance(items, list):
            continue
        for element in items:
            out.append(element["id"])
            out.extend(port["id"] for port in element.get("ports", []))
    return out


def _dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=False).encode()


@pytest.fixture(scope="module")
def hanoi() -> dict[str, Any]:
    return hanoi_network()


@pytest.fixture(scope="module")
def validate() -> Any:
    document = pytest.importorskip("ponmodel.document")
    return document.validate_document


# --------------------------------------------------------------------------- generator


def test_same_seed_same_bytes() -> None:
    assert _dumps(generate_network(500, seed=3)) == _dumps(generate_network(500, seed=3))


def test_different_seed_different_document() -> None:
    assert _dumps(generate_network(500, seed=3)) != _dumps(generate_network(500, seed=4))


@pytest.mark.parametrize("onts", [1, 10, 137, 5000])
def test_exact_ont_count(onts: int) -> None:
    doc = generate_network(onts, seed=onts)
    assert len(doc["onts"]) == onts
    kinds = Counter(ont["kind"] for ont in doc["onts"])
    assert set(kinds) <= {"enterprise", "residential", "site_backhaul", "iot_gateway"}


@pytest.mark.parametrize("onts", [10, 3000])
def test_ids_unique(onts: int) -> None:
    ids = _ids(generate_network(onts, seed=1))
    assert len(ids) == len(set(ids))


def test_zones_cycle_through_kinds() -> None:
    doc = generate_network(600, seed=2, zones=6)
    assert [z["kind"] for z in doc["zones"]] == [
        "high_tech_park", "industrial_zone", "industrial_cluster"] * 2


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="onts must be >= 1"):
        generate_network(0)
    with pytest.raises(ValueError, match="zones must be between"):
        generate_network(5, zones=6)


def test_design_rules() -> None:
    doc = generate_network(20_000, seed=5)
    ports = [p for olt in doc["olts"] for p in olt["ports"]]
    tech = Counter(p["technology"] for p in ports)
    assert tech["xgs-pon"] > tech["gpon"] > 0
    for p in ports:
        allowed = {"gpon": {"B+", "C+"}}.get(p["technology"], {"N1", "N2", "E1", "E2"})
        assert p["optics_class"] in allowed
        assert p["optics_class"] in CLASS_MAX_LOSS_DB
    assert all(len(olt["ports"]) == 16 for olt in doc["olts"])
    for ont in doc["onts"]:
        for svc in ont["service"].values():
            assert svc["max_mbps"] >= svc["fixed_mbps"] + svc["assured_mbps"]
    ducts = {d["id"]: d for d in doc["ducts"]}
    for cable in doc["cables"]:
        for a, b in zip(cable["ducts"], cable["ducts"][1:], strict=False):
            assert {ducts[a]["from"], ducts[a]["to"]} & {ducts[b]["from"], ducts[b]["to"]}
    for duct in ducts.values():
        if "within" in duct:
            assert duct["outer_diameter_mm"] < ducts[duct["within"]]["inner_diameter_mm"]
    feeders = [lk["length_m"] for lk in doc["links"] if lk["id"].startswith("FL-")]
    assert 1000 <= sorted(feeders)[len(feeders) // 2] <= 8000


@pytest.mark.slow
def test_a_million_onts() -> None:
    doc = generate_network(1_000_000, seed=0)
    assert len(doc["onts"]) == 1_000_000


# --------------------------------------------------------------------------- Hanoi


def test_hanoi_fixture_is_up_to_date(hanoi: dict[str, Any]) -> None:
    committed = json.loads((FIXTURES / "hanoi.json").read_text(encoding="utf-8"))
    assert committed == hanoi


def test_hanoi_named_zones(hanoi: dict[str, Any]) -> None:
    zones = {z["id"]: z for z in hanoi["zones"]}
    for ident, kind in [
        ("hoa-lac-htp", "high_tech_park"), ("hanoi-biotech-htp", "high_tech_park"),
        ("thang-long-iz", "industrial_zone"), ("noi-bai-iz", "industrial_zone"),
        ("quang-minh-iz", "industrial_zone"), ("nam-thang-long-iz", "industrial_zone"),
        ("thach-that-quoc-oai-iz", "industrial_zone"), ("phu-nghia-iz", "industrial_zone"),
        ("sai-dong-b-iz", "industrial_zone"),
    ]:
        assert zones[ident]["kind"] == kind
    assert zones["hoa-lac-htp"]["name"] == "Khu công nghệ cao Hòa Lạc"
    assert sum(z["kind"] == "industrial_cluster" for z in zones.values()) >= 5
    assert "nguyen-khe-ic" in zones


def test_hanoi_structures_near_their_zone(hanoi: dict[str, Any]) -> None:
    # Thăng Long IZ is at 21.1234 N, 105.7815 E (IIP); 0.02° is about 2 km
    tl = [s for s in hanoi["structures"] if s["zone"] == "thang-long-iz"]
    assert tl
    assert all(abs(s["lat"] - 21.1234) < 0.02 and abs(s["lon"] - 105.7815) < 0.02 for s in tl)


def test_hanoi_operators(hanoi: dict[str, Any]) -> None:
    assert [op["id"] for op in hanoi["operators"]] == ["vnpt", "viettel", "fpt", "hhtip"]
    assert {olt["operator"] for olt in hanoi["olts"]} == {"vnpt", "viettel", "fpt"}
    owners = Counter(d["owner"] for d in hanoi["ducts"])
    assert owners.most_common(1)[0][0] == "hhtip"


def test_hanoi_shared_ducts(hanoi: dict[str, Any]) -> None:
    operators_in: dict[str, set[str]] = {}
    for cable in hanoi["cables"]:
        for duct in cable["ducts"]:
            operators_in.setdefault(duct, set()).add(cable["operator"])
    assert sum(len(ops) >= 2 for ops in operators_in.values()) >= 20


def test_hanoi_sites(hanoi: dict[str, Any]) -> None:
    sites = hanoi["sites"]
    assert len(sites) == 180
    assert sum(s["generation"] == "5g" for s in sites) == 22
    with_5g = {s["zone"] for s in sites if s["generation"] == "5g"}
    assert len(with_5g) < len(hanoi["zones"])  # the 2026 target's gap
    onts = {o["id"]: o for o in hanoi["onts"]}
    for site in sites:
        if "backhaul_ont" in site:
            assert onts[site["backhaul_ont"]]["kind"] == "site_backhaul"


def test_hanoi_tenants_and_technologies(hanoi: dict[str, Any]) -> None:
    customers = {o.get("customer") for o in hanoi["onts"]}
    for name in ("Canon Vietnam (lô A1)", "Meiko Electronics Vietnam (lô CN9)",
                 "Trường Đại học FPT", "Sumi-Hanel"):
        assert name in customers
    tech_by_zone: dict[str, set[str]] = {}
    zone_of = {s["id"]: s["zone"] for s in hanoi["structures"]}
    for olt in hanoi["olts"]:
        techs = tech_by_zone.setdefault(zone_of[olt["structure"]], set())
        techs.update(p["technology"] for p in olt["ports"])
    assert tech_by_zone["sai-dong-b-iz"] == {"gpon"}
    assert "xgs-pon" in tech_by_zone["hoa-lac-htp"]


def test_hanoi_ids_unique(hanoi: dict[str, Any]) -> None:
    ids = _ids(hanoi)
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------- fixtures


@pytest.mark.parametrize("stem", sorted(small_fixtures()))
def test_small_fixture_is_up_to_date(stem: str) -> None:
    committed = json.loads((FIXTURES / f"{stem}.json").read_text(encoding="utf-8"))
    assert committed == small_fixtures()[stem]


def test_readme_lists_every_fixture() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    for stem in fixture_documents():
        assert f"`{stem}.json`" in readme


# --------------------------------------------------------------------------- validity


@pytest.mark.parametrize("stem", ["tiny", "two_operators_shared_duct", "gpon_legacy", "hanoi"])
def test_valid_fixtures(stem: str, validate: Any) -> None:
    doc = json.loads((FIXTURES / f"{stem}.json").read_text(encoding="utf-8"))
    assert [str(p) for p in validate(doc)] == []


@pytest.mark.parametrize("onts,seed", [(1, 0), (10, 1), (2500, 2), (9000, 3)])
def test_generated_documents_are_valid(onts: int, seed: int, validate: Any) -> None:
    assert [str(p) for p in validate(generate_network(onts, seed))] == []


@pytest.mark.parametrize("stem", sorted(s for s in small_fixtures() if s.startswith("invalid_")))
def test_invalid_fixture_has_one_problem(stem: str, validate: Any) -> None:
    doc = json.loads((FIXTURES / f"{stem}.json").read_text(encoding="utf-8"))
    problems = validate(doc)
    assert len(problems) == 1, [str(p) for p in problems]
