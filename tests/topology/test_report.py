"""The zones' readiness report: every headline figure recomputed from the fixture's JSON.

The recomputations below read ``fixtures/hanoi.json`` with plain Python (dicts, loops, the
spec's definitions) and share no code with :mod:`ponmodel.topology.report`. Two verdicts
come from modules tested on their own: whether an ONT's optical budget closes
(``network_budget``, tests/topology/test_budget.py) and each GPON port's upgrade status
(``upgrade_readiness``); the report's own counting, grouping and arithmetic is checked
here against independent code.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import pytest

from ponmodel import catalog
from ponmodel.document import load_document
from ponmodel.topology.budget import network_budget
from ponmodel.topology.report import report_csv, report_html, zone_report
from ponmodel.topology.upgrade import upgrade_readiness
from tests.conftest import fixture_doc

# Plan 310/KH-UBND, section II (typed here on purpose: the test's own reading of the plan)
PLAN_BASELINE = {"sites": 180, "sites_5g": 22}
# NEC chapter 9 table 1: 53 % for one occupant, 31 % for two, 40 % for three or more
NEC = {1: 0.53, 2: 0.31}

TEN_G = "enterprise_onts_ten_g_symmetric"
TEN_G_SHARE = "enterprise_ten_g_symmetric_share"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return fixture_doc("hanoi.json")


@pytest.fixture(scope="module")
def report(raw: dict[str, Any]) -> dict[str, Any]:
    return zone_report(load_document(raw), year=2026, generated=date(2026, 11, 20))


@pytest.fixture(scope="module")
def expected(raw: dict[str, Any]) -> dict[str, Any]:
    """Every headline figure, per zone and in total, from the JSON with plain Python."""
    zone_of = {s["id"]: s.get("zone") for s in raw["structures"]}
    zones = [z["id"] for z in raw["zones"]]
    out: dict[str, dict[str, Any]] = {z: defaultdict(float) for z in zones}
    for z in zones:
        out[z]["sites"] = sum(1 for s in raw["sites"] if s["zone"] == z)
        out[z]["sites_5g"] = sum(1 for s in raw["sites"] if s["zone"] == z
                                 and s["generation"] == "5g")
    # --- ONTs: walk each ONT up its links to its PON port
    ports = {p["id"]: (olt, p) for olt in raw["olts"] for p in olt["ports"]}
    parent = {link["to"]: link["from"] for link in raw["links"]}

    def port_of(node: str) -> str:
        while node not in ports:
            node = parent[node]
        return node

    onts = {o["id"]: o for o in raw["onts"]}
    onts_on_port: dict[str, list[str]] = defaultdict(list)
    for ont_id in onts:
        onts_on_port[port_of(ont_id)].append(ont_id)
    budget = {o.id: o for o in network_budget(load_document(raw)).onts}

    def svc(ont_id: str, d: str, key: str) -> float:
        return float(onts[ont_id]["service"][d].get(key) or 0.0)

    def peak(ont_id: str, d: str) -> float:
        # spec: own max (fixed + assured when additional is none), capped by C minus the
        # other ONTs' fixed bandwidth on the port, never below zero
        port_id = port_of(ont_id)
        port = ports[port_id][1]
        cap = (port.get("capacity_mbps") or {}).get(d) or getattr(
            catalog.technology(port["technology"]), f"capacity_{d}_mbps")
        others_fixed = sum(svc(o, d, "fixed_mbps") for o in onts_on_port[port_id] if o != ont_id)
        own = (svc(ont_id, d, "fixed_mbps") + svc(ont_id, d, "assured_mbps")
               if onts[ont_id]["service"][d].get("additional") == "none"
               else svc(ont_id, d, "max_mbps"))
        return max(0.0, min(own, cap - others_fixed))

    for ont_id, ont in onts.items():
        z = zone_of[ont["structure"]]
        if ont["kind"] != "enterprise" or z not in out:
            continue
        olt, port = ports[port_of(ont_id)]
        b = budget[ont_id]
        ten_g = (port["technology"] in ("xgs-pon", "25gs-pon") and olt["uplink_gbps"] >= 10
                 and b.downstream.ok and b.upstream.ok and b.class_ok)
        row = out[z]
        row["enterprise_onts"] += 1
        row["enterprise_onts_ten_g_symmetric"] += ten_g
        row.setdefault("customers", set()).add(ont.get("customer") or ont_id)
        for d in ("down", "up"):
            row[f"enterprise_guaranteed_{d}_mbps"] += svc(ont_id, d, "fixed_mbps") + svc(ont_id, d,
                                                                            "assured_mbps")
            row[f"enterprise_peak_{d}_mbps"] += peak(ont_id, d)
    # --- GPON ports of OLTs standing in the zone, and those with an ONT
    for olt in raw["olts"]:
        z = zone_of[olt["structure"]]
        for p in olt["ports"]:
            if p["technology"] == "gpon" and z in out:
                out[z]["gpon_total"] += 1
                out[z]["gpon_in_use"] += bool(onts_on_port.get(p["id"]))
    # --- ducts: occupants, operators (through innerducts), fill against the NEC rule
    cables_in: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in raw["cables"]:
        for d in set(c["ducts"]):
            cables_in[d].append(c)
    inner: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in raw["ducts"]:
        if d.get("within"):
            inner[d["within"]].append(d)

    def operators(duct_id: str) -> set[str]:
        ops = {c["operator"] for c in cables_in[duct_id]}
        for i in inner[duct_id]:
            ops |= operators(i["id"])
        return ops

    over_total, metres_total, shared_total = set(), 0.0, 0.0
    for d in raw["ducts"]:
        diameters = [c["outer_diameter_mm"] for c in cables_in[d["id"]]]
        diameters += [i.get("outer_diameter_mm") or i["inner_diameter_mm"] for i in inner[d["id"]]]
        ratio = sum(x * x for x in diameters) / d["inner_diameter_mm"] ** 2
        limit = d.get("max_fill_ratio") or NEC.get(len(diameters), 0.40)
        ends = {zone_of[d["from"]], zone_of[d["to"]]} & set(out)
        shared = len(operators(d["id"])) >= 2
        # a duct and an innerduct are counted apart (issue 16: one name, one quantity)
        over_key = "innerducts_over_limit" if d.get("within") else "ducts_over_limit"
        for z in ends:
            if ratio > limit + 1e-12:
                out[z][over_key] += 1
            if not d.get("within"):
                out[z]["duct_metres"] += d["length_m"]
                out[z]["shared_duct_metres"] += d["length_m"] if shared else 0.0
        if ends:
            if ratio > limit + 1e-12:
                over_total.add((over_key, d["id"]))
            if not d.get("within"):
                metres_total += d["length_m"]
                shared_total += d["length_m"] if shared else 0.0
    totals = {
        "zones": len(zones),
        "sites": sum(out[z]["sites"] for z in zones),
        "sites_5g": sum(out[z]["sites_5g"] for z in zones),
        "zones_without_5g": [z for z in zones if out[z]["sites_5g"] == 0],
        "enterprise_onts": int(sum(out[z]["enterprise_onts"] for z in zones)),
        TEN_G: int(sum(out[z][TEN_G] for z in zones)),
        "ducts_over_limit": sum(k == "ducts_over_limit" for k, _ in over_total),
        "innerducts_over_limit": sum(k == "innerducts_over_limit" for k, _ in over_total),
        "duct_metres": metres_total,
        "shared_duct_metres": shared_total,
    }
    return {"zones": out, "totals": totals}


def test_zone_rows_in_kind_order_with_the_issue_keys(report: dict[str, Any],
                                                      raw: dict[str, Any]) -> None:
    assert {z["id"] for z in report["zones"]} == {z["id"] for z in raw["zones"]}
    kinds = [z["kind"] for z in report["zones"]]
    order = ["high_tech_park", "industrial_zone", "industrial_cluster"]
    assert kinds == sorted(kinds, key=order.index)
    needed = {"id", "kind", "sites", "sites_5g", "enterprise_onts", f"{TEN_G_SHARE}",
              "gpon_port_readiness", "shared_duct_share", "ducts_over_limit", "name", "district",
              "gaps"}
    for row in report["zones"]:
        assert needed <= set(row)
    json.dumps(report, allow_nan=False)  # JSON-ready, no NaN or infinity


def test_every_zone_figure_recomputed(report: dict[str, Any], expected: dict[str, Any]) -> None:
    for row in report["zones"]:
        e = expected["zones"][row["id"]]
        assert row["sites"] == e["sites"], row["id"]
        assert row["sites_5g"] == e["sites_5g"], row["id"]
        assert row["enterprise_onts"] == e["enterprise_onts"], row["id"]
        assert row[TEN_G] == e[TEN_G], row["id"]
        share = e[TEN_G] / e["enterprise_onts"] if e["enterprise_onts"] else None
        assert row["enterprise_ten_g_symmetric_share"] == pytest.approx(share), row["id"]
        assert row["enterprises"] == len(e.get("customers", ())), row["id"]
        for key in ("enterprise_guaranteed_down_mbps", "enterprise_guaranteed_up_mbps",
                    "enterprise_peak_down_mbps",
                    "enterprise_peak_up_mbps"):
            assert row[key] == pytest.approx(e[key], rel=1e-9, abs=1e-3), (row["id"], key)
        assert row["gpon_port_readiness"]["total"] == e["gpon_total"], row["id"]
        assert row["gpon_port_readiness"]["in_use"] == e["gpon_in_use"], row["id"]
        assert row["ducts_over_limit"] == e["ducts_over_limit"], row["id"]
        assert row["innerducts_over_limit"] == e["innerducts_over_limit"], row["id"]
        assert row["duct_metres"] == pytest.approx(e["duct_metres"]), row["id"]
        assert row["shared_duct_metres"] == pytest.approx(e["shared_duct_metres"]), row["id"]
        share = e["shared_duct_metres"] / e["duct_metres"] if e["duct_metres"] else None
        assert row["shared_duct_share"] == pytest.approx(share), row["id"]


def test_gpon_readiness_counts_are_the_upgrade_verdicts(report: dict[str, Any],
                                                        raw: dict[str, Any]) -> None:
    upgrade = {z["id"]: z for z in upgrade_readiness(load_document(raw), "N1")["zones"]}
    for row in report["zones"]:
        g, u = row["gpon_port_readiness"], upgrade[row["id"]]
        assert (g["ready"], g["needs_e1"], g["needs_e2"], g["needs_re_engineering"]) == (
            u["ready"], u["needs E1"], u["needs E2"], u["needs re-engineering"])
        assert g["ready"] + g["needs_e1"] + g["needs_e2"] + g["needs_re_engineering"] == \
            g["in_use"]


def test_totals_recomputed_against_the_plan(report: dict[str, Any],
                                            expected: dict[str, Any]) -> None:
    t, e = report["totals"], expected["totals"]
    assert t["zones"] == e["zones"] == 17
    assert (t["sites"], t["sites_5g"]) == (e["sites"], e["sites_5g"])
    assert t["zones_without_5g"] == e["zones_without_5g"]
    assert t["zones_with_5g"] == e["zones"] - len(e["zones_without_5g"])
    assert t["enterprise_onts"] == e["enterprise_onts"]
    assert t["enterprise_onts_ten_g_symmetric"] == e["enterprise_onts_ten_g_symmetric"]
    assert t["enterprise_ten_g_symmetric_share"] == pytest.approx(
        e["enterprise_onts_ten_g_symmetric"] / e["enterprise_onts"])
    assert t["ducts_over_limit"] == e["ducts_over_limit"]
    assert t["shared_duct_share"] == pytest.approx(e["shared_duct_metres"] / e["duct_metres"])
    assert t["baseline"]["sites"] == PLAN_BASELINE["sites"]
    assert t["baseline"]["sites_5g"] == PLAN_BASELINE["sites_5g"]
    assert t["change_from_baseline"] == {"sites": e["sites"] - PLAN_BASELINE["sites"],
                                         "sites_5g": e["sites_5g"] - PLAN_BASELINE["sites_5g"]}
    fiveg, xgs = t["targets"]
    assert (fiveg["deadline"], fiveg["target"], fiveg["gap"]) == (
        2026, e["zones"], len(e["zones_without_5g"]))
    assert (xgs["deadline"], xgs["target"], xgs["gap"]) == (
        2030, e["enterprise_onts"], e["enterprise_onts"] - e["enterprise_onts_ten_g_symmetric"])
    assert not fiveg["met"] and not xgs["met"]


def test_the_gap_sentences(report: dict[str, Any], expected: dict[str, Any],
                           raw: dict[str, Any]) -> None:
    e = expected["totals"]
    name = {z["id"]: z["name"] for z in raw["zones"]}
    gaps = {g["target"]: g for g in report["totals"]["gaps"]}
    missing = len(e["zones_without_5g"])
    text = gaps["5g-in-every-zone"]["text"]
    assert text.startswith(f"{missing} of {e['zones']} zones have no 5G site")
    assert "due by the end of 2026, this year" in text
    assert text.endswith(", ".join(name[z] for z in e["zones_without_5g"]) + ".")
    not_ten_g = e["enterprise_onts"] - e["enterprise_onts_ten_g_symmetric"]
    text = gaps["xgs-pon-10g-symmetric"]["text"]
    assert text.startswith(f"{not_ten_g:,} of {e['enterprise_onts']:,} enterprise ONTs "
                           f"({100 * not_ten_g / e['enterprise_onts']:.1f}\u00a0%) are not yet "
                           "10G-symmetric")
    assert "due by the end of 2030, 4 years from 2026" in text
    assert gaps["duct-fill-limit"]["missing"] == e["ducts_over_limit"]
    for row in report["zones"]:
        targets = [g["target"] for g in row["gaps"]]
        assert ("5g-in-every-zone" in targets) == (row["sites_5g"] == 0), row["id"]
        if row["sites_5g"] == 0:
            assert row["gaps"][0]["text"].startswith(
                f"no 5G site among its {row['sites']} mobile sites")


@pytest.mark.parametrize(("year", "words"), [
    (2025, "due by the end of 2026, 1 year from 2025"),
    (2027, "overdue since the end of 2026"),
])
def test_the_year_says_how_long_a_target_has(raw: dict[str, Any], year: int, words: str) -> None:
    r = zone_report(load_document(raw), year=year)
    assert words in r["totals"]["gaps"][0]["text"]
    assert r["due"] == f"{year}-11-30" and str(year) in r["title"]


def test_a_network_meeting_the_5g_target_says_so() -> None:
    r = zone_report(load_document(fixture_doc("tiny.json")))
    assert r["totals"]["gaps"][0]["text"] == "Every zone has at least one 5G site (1 of 1)."
    assert r["totals"]["targets"][0]["met"]


def test_csv_columns_and_rows(report: dict[str, Any], expected: dict[str, Any]) -> None:
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert list(rows[0]) == [
        "id", "name", "kind", "district", "sites", "sites_5g", "enterprise_onts",
        "enterprise_onts_ten_g_symmetric", "enterprise_ten_g_symmetric_share", "enterprises",
        "enterprise_guaranteed_down_mbps", "enterprise_guaranteed_up_mbps",
        "enterprise_peak_down_mbps", "enterprise_peak_up_mbps",
        "oversubscription_down",
        "gpon_ports", "gpon_ports_in_use", "gpon_ready", "gpon_needs_e1", "gpon_needs_e2",
        "gpon_needs_re_engineering", "duct_metres", "shared_duct_metres", "shared_duct_share",
        "ducts", "innerducts", "ducts_over_limit", "innerducts_over_limit", "onts",
        "onts_with_budget", "onts_within_budget", "onts_failing_budget", "onts_negative_headroom",
        "ports", "ports_in_use", "ports_differential_ok", "ports_all_onts_ok", "gaps",
    ]
    assert len(rows) == len(report["zones"]) + 1 and rows[-1]["id"] == "total"
    for row in rows[:-1]:
        e = expected["zones"][row["id"]]
        assert int(row["sites"]) == e["sites"] and int(row["sites_5g"]) == e["sites_5g"]
        assert int(row["gpon_ports"]) == e["gpon_total"]
    assert int(rows[-1]["sites"]) == expected["totals"]["sites"]
    assert int(rows[-1]["ducts_over_limit"]) == expected["totals"]["ducts_over_limit"]


def test_html_is_self_contained_and_readable(report: dict[str, Any]) -> None:
    page = report_html(report)
    # nothing loaded from the network: no http(s) source on a script, link, img or iframe
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*['\"]?(https?:)?//",
                         page, re.I)
    assert "<script src" not in page.replace('"', "").replace("'", "")
    assert "Plotly.newPlot" in page and "plotly.js" in page  # the library, inlined
    assert len(page) > 1_000_000
    for chart in ("coverage", "sites", "oversubscription", "duct-fill"):
        assert f'id="chart-{chart}"' in page
    assert "<title>Readiness of Hanoi" in page and "generated 2026-11-20" in page
    assert "6 of 17 zones have no 5G site" in page
    counts = Counter(re.findall(r"<tr\b", page))
    assert counts["<tr"] == len(report["zones"]) + 2  # header, zones, total
