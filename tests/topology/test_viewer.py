"""The viewer's figure data: tidy layout, colour rules, layers, headlines, search, HTML."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from functools import cache
from typing import Any

import pytest

from ponmodel.document import load_document
from ponmodel.topology import viewer
from ponmodel.topology.build import Topology, build_topology, subset_for_zone
from ponmodel.topology.ducts import duct_fill
from ponmodel.topology.impact import impact
from tests.conftest import fixture_doc

ZONE = "thang-long-iz"


@cache
def _hanoi() -> dict[str, Any]:
    return load_document(fixture_doc("hanoi.json"))


@cache
def _zone(zone: str = ZONE) -> tuple[Topology, Any, Any, Any]:
    topo = build_topology(subset_for_zone(_hanoi(), zone))
    return (topo, *viewer.zone_reports(topo.doc))


def _trace(layer: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [t for t in layer["traces"] if t["name"] == name]
    return found


# --------------------------------------------------------------------------- colour rules


@pytest.mark.parametrize(
    ("fill", "limit", "status"),
    [
        # the duct report's rule (ducts.NEAR_SHARE = 0.9), so colour and /fill agree
        (0.0, 0.40, "within"),
        (0.3599, 0.40, "within"),  # 89.98 % of the limit
        (0.36, 0.40, "near"),  # exactly 90 % of the limit
        (0.40, 0.40, "near"),  # at the limit still fits
        (0.4001, 0.40, "over"),
        (0.225, 0.25, "near"),  # an override limit (90 % of 25 %)
        (0.20, 0.25, "within"),  # 80 % of 25 %: amber before issue 16, within now
    ],
)
def test_fill_colour_against_the_limit(fill: float, limit: float, status: str) -> None:
    assert viewer.fill_status(fill, limit) == status
    assert viewer.fill_colour(fill, limit) == viewer.FILL_COLOURS[status]


def test_the_duct_reports_verdict_wins_at_the_limit() -> None:
    # the duct report compares with a tolerance: its over_limit flag decides red
    assert viewer.fill_status(0.40 + 1e-13, 0.40, over_limit=False) == "near"
    assert viewer.fill_status(0.1, 0.40, over_limit=True) == "over"


@pytest.mark.parametrize(
    ("headroom", "colour"),
    [(-5.0, viewer.RED), (-0.01, viewer.RED), (0.0, viewer.AMBER), (2.99, viewer.AMBER),
     (3.0, viewer.GREEN), (12.0, viewer.GREEN), (None, viewer.GREY), (float("nan"), viewer.GREY)],
)
def test_headroom_colour(headroom: float | None, colour: str) -> None:
    assert viewer.headroom_colour(headroom) == colour


def test_width_grows_with_the_operators_sharing() -> None:
    widths = [viewer.operator_width(n) for n in range(6)]
    assert widths == sorted(widths) and widths[0] < widths[1] < widths[2] < widths[3]
    assert widths[3] == widths[5]  # 3 or more


def test_formats() -> None:
    assert viewer.fmt_db(-0.04) == "−0.0" and viewer.fmt_db(12.345) == "12.3"
    assert viewer.fmt_rate(950) == "950 Mbit/s" and viewer.fmt_rate(1250) == "1.25 Gbit/s"
    assert viewer.fmt_percent(1, 3) == "33.3 %" and viewer.fmt_percent(0, 0) == "—"


# --------------------------------------------------------------------------- tidy layout


def test_tidy_layout_places_leaves_in_order_and_parents_over_their_children() -> None:
    children = {"P1": ["S1"], "S1": ["S2", "a"], "S2": ["b", "c", "d"], "P2": ["e"], "P3": []}
    t = viewer.tidy_layout(["P1", "P2", "P3"], children, gap=2.0,
                           group_of={"P1": "O1", "P2": "O1", "P3": "O2"}, group_gap=5.0)
    # leaves b, c, d, a one unit apart, depth first
    assert [t.x[n] for n in ("b", "c", "d", "a")] == [0.0, 1.0, 2.0, 3.0]
    assert t.x["S2"] == 1.0  # midway between b (0) and d (2)
    assert t.x["S1"] == 2.0  # midway between S2 (1) and a (3)
    assert t.x["P1"] == 2.0
    assert t.x["e"] == 5.0 and t.x["P2"] == 5.0  # same OLT: gap 2 after a (3)
    assert t.x["P3"] == 10.0  # next OLT: gap 5
    assert t.depth == {"P1": 0, "S1": 1, "S2": 2, "a": 2, "b": 3, "c": 3, "d": 3,
                       "P2": 0, "e": 1, "P3": 0}
    assert t.parent["b"] == "S2" and "P1" not in t.parent


def test_tidy_layout_subtrees_never_overlap() -> None:
    rng = random.Random(7)
    children: dict[str, list[str]] = {}
    roots = [f"P{i}" for i in range(12)]
    counter = 0
    for root in roots:
        frontier = [root]
        for _ in range(rng.randint(0, 25)):
            parent = rng.choice(frontier)
            counter += 1
            child = f"n{counter}"
            children.setdefault(parent, []).append(child)
            frontier.append(child)
    t = viewer.tidy_layout(roots, children)

    def span(node: str) -> tuple[float, float]:
        kids = children.get(node, [])
        if not kids:
            return t.x[node], t.x[node]
        spans = [span(k) for k in kids]
        return min(s[0] for s in spans), max(s[1] for s in spans)

    # siblings' leaf ranges are disjoint and ordered; roots likewise
    for kids in [*children.values(), roots]:
        spans = [span(k) for k in kids]
        for (_, hi), (lo, _) in zip(spans, spans[1:], strict=False):
            assert lo > hi
    # every position is distinct on its level
    levels = Counter((t.depth[n], t.x[n]) for n in t.x)
    assert max(levels.values()) == 1


# --------------------------------------------------------------------------- layers


def test_physical_layer_draws_every_structure_and_top_level_duct() -> None:
    topo, _, _, ducts = _zone()
    layer = viewer.physical_layer(topo, ducts, zone=ZONE)
    located = [s for s in topo.doc["structures"] if s.get("lon") is not None]
    top = [d for d in topo.doc["ducts"] if d.get("within") is None]
    structures = [t for t in layer["traces"] if t["meta"]["role"] == "structure"]
    assert sum(len(t["x"]) for t in structures) == len(located)
    assert Counter(t["meta"]["kind"] for t in structures for _ in t["x"]) == Counter(
        s["kind"] for s in located)
    midpoints = _trace(layer, "ducts")
    assert sorted(midpoints["customdata"]) == sorted(d["id"] for d in top)
    assert layer["counts"] == {**layer["counts"], "structures": len(located), "ducts": len(top)}
    assert set(layer["ducts"]) == {d["id"] for d in top}
    # one renderer per figure
    assert len({t["type"] for t in layer["traces"]}) == 1
    json.dumps(layer)  # JSON-ready


def test_physical_layer_colours_ducts_by_fill_and_widens_shared_ones() -> None:
    topo, _, _, ducts = _zone()
    layer = viewer.physical_layer(topo, ducts, zone=ZONE)
    report = duct_fill(topo.doc)
    midpoints = _trace(layer, "ducts")
    colour = dict(zip(midpoints["customdata"], midpoints["marker"]["color"], strict=True))
    over = [d for d in report.ducts if d.over_limit and d.within is None]
    assert over, "the Hanoi fixture has cabinet ducts over their limit on purpose"
    for d in over:
        assert colour[d.id] == viewer.RED
    inner_hosts = {d.within for d in report.ducts if d.within is not None}
    for d in report.ducts:
        if d.within is None and d.id not in inner_hosts:
            status = viewer.fill_status(d.fill_ratio, d.limit_ratio, d.over_limit)
            assert colour[d.id] == viewer.FILL_COLOURS[status], d.id
    lines = [t for t in layer["traces"] if t["meta"]["role"] == "duct-lines"]
    assert sum(len(t["x"]) for t in lines) == 3 * len(midpoints["customdata"])
    for t in lines:
        shared = int(re.search(r"· (\d) operator", t["name"]).group(1))
        assert t["line"]["width"] >= viewer.operator_width(shared)
    hover = dict(zip(midpoints["customdata"], midpoints["hovertext"], strict=True))
    shared_duct = max((d for d in report.ducts if d.within is None),
                      key=lambda d: (len(d.operators), d.id))
    assert len(shared_duct.operators) >= 2
    assert f"fill {100 * shared_duct.fill_ratio:.1f} %" in hover[shared_duct.id]
    assert f"limit {100 * shared_duct.limit_ratio:.0f} %" in hover[shared_duct.id]
    for op in shared_duct.operators:
        assert op in hover[shared_duct.id]


def test_physical_layer_operator_filter() -> None:
    topo, _, _, ducts = _zone()
    layer = viewer.physical_layer(topo, ducts, zone=ZONE, operator="fpt")
    kept = set(_trace(layer, "ducts")["customdata"])
    expected = {d.id for d in ducts.ducts if d.within is None
                and ("fpt" in d.operators or d.owner == "fpt")}
    assert kept == expected and kept


def test_pon_layer_counts_colours_and_shapes() -> None:
    topo, budget, capacity, _ = _zone()
    layer = viewer.pon_layer(topo, budget, capacity, zone=ZONE)
    onts = _trace(layer, "ONTs")
    assert sorted(onts["customdata"]) == sorted(o["id"] for o in topo.doc["onts"])
    ports = [p["id"] for o in topo.doc["olts"] for p in o["ports"]]
    assert sorted(_trace(layer, "ports")["customdata"]) == sorted(ports)
    assert sorted(_trace(layer, "splitters")["customdata"]) == sorted(
        s["id"] for s in topo.doc["splitters"])
    by_id = {o.id: o for o in budget.onts}
    for oid, colour in zip(onts["customdata"], onts["marker"]["color"], strict=True):
        # red is the verdict (any check failing), not only a negative headroom
        b = by_id[oid]
        assert colour == (viewer.RED if not b.ok else viewer.headroom_colour(b.worst_headroom_db))
    assert viewer.RED in onts["marker"]["color"]  # the fixture fails some on purpose
    failing = [o for o in budget.onts if not o.ok]
    assert layer["counts"]["onts_red"] == len(failing)
    # each failing ONT under every check it fails, as `ponmodel check` counts them
    per_check = Counter(name for o in failing for name, ok in (
        ("downstream", o.downstream.ok), ("upstream", o.upstream.ok), ("class", o.class_ok),
        ("reach", o.reach_ok), ("split", o.split_ok)) if not ok)
    assert layer["counts"]["onts_failing_check"] == dict(sorted(per_check.items()))
    symbol = dict(zip(onts["customdata"], onts["marker"]["symbol"], strict=True))
    kind = {o["id"]: o["kind"] for o in topo.doc["onts"]}
    generation = {s["backhaul_ont"]: s["generation"] for s in topo.doc["sites"]
                  if s.get("backhaul_ont")}
    for oid, sym in symbol.items():
        expected = kind[oid]
        if expected == "site_backhaul" and oid in generation:
            expected = f"site_{generation[oid]}"
        assert sym == viewer.ONT_SYMBOLS[expected]
    assert "star" in symbol.values() and "square" in symbol.values()


def test_pon_layer_is_a_layered_tree_ports_side_by_side() -> None:
    topo, budget, capacity, _ = _zone()
    layer = viewer.pon_layer(topo, budget, capacity, zone=ZONE)
    nodes = layer["nodes"]
    parent = {link["to"]: link["from"] for link in topo.doc["links"]}
    for node, (_, y) in nodes.items():
        if node in parent:  # one level below its parent
            assert y == nodes[parent[node]][1] - 1
        else:
            assert y == 0  # a port
    ports = _trace(layer, "ports")
    xs = ports["x"]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)  # side by side, in OLT order
    olts = sorted(o["id"] for o in topo.doc["olts"])
    assert [a["text"].split("</b>")[0].removeprefix("<b>") for a in
            layer["layout"]["annotations"]] == olts


def test_pon_layer_shows_gpon_apart_from_xgs_pon() -> None:
    doc = _hanoi()
    techs: dict[str, set[str]] = {}
    zone_of = {s["id"]: s.get("zone") for s in doc["structures"]}
    for olt in doc["olts"]:
        for p in olt["ports"]:
            techs.setdefault(zone_of[olt["structure"]], set()).add(p["technology"])
    mixed = next(z for z, t in sorted(techs.items()) if {"gpon", "xgs-pon"} <= t)
    topo, budget, capacity, _ = _zone(mixed)
    layer = viewer.pon_layer(topo, budget, capacity, zone=mixed)
    links = {t["meta"]["technology"]: t for t in layer["traces"] if t["meta"]["role"] == "links"}
    assert {"gpon", "xgs-pon"} <= set(links)
    assert links["gpon"]["line"]["dash"] != links["xgs-pon"]["line"]["dash"]
    assert links["gpon"]["line"]["color"] != links["xgs-pon"]["line"]["color"]
    port_colour = dict(zip(_trace(layer, "ports")["customdata"],
                           _trace(layer, "ports")["marker"]["color"], strict=True))
    gpon_port = next(p["id"] for o in topo.doc["olts"] for p in o["ports"]
                     if p["technology"] == "gpon")
    assert port_colour[gpon_port] == viewer.TECH_STYLES["gpon"]["color"]


def test_ont_hover_has_both_directions_rates_and_the_10g_verdict() -> None:
    topo, budget, capacity, _ = _zone()
    layer = viewer.pon_layer(topo, budget, capacity, zone=ZONE)
    onts = _trace(layer, "ONTs")
    hover = dict(zip(onts["customdata"], onts["hovertext"], strict=True))
    failing = next(o for o in budget.onts if not o.ok)
    cap = capacity.ont(failing.id)
    text = hover[failing.id]
    assert f"headroom {viewer.fmt_db(failing.downstream.headroom_db)} dB" in text
    assert f"headroom {viewer.fmt_db(failing.upstream.headroom_db)} dB" in text
    assert f"loss {viewer.fmt_db(failing.downstream.loss_db)} dB" in text
    assert f"guaranteed {viewer.fmt_rate(cap.down.guaranteed_mbps)}" in text
    assert f"full load {viewer.fmt_rate(cap.down.full_load_mbps)}" in text
    assert "10G-symmetric: no (" in text and "FAILS (" in text
    good = next(o for o in capacity.onts if o.ten_g_symmetric)
    assert "10G-symmetric: yes" in hover[good.id]


def test_pon_layer_operator_filter_keeps_that_operators_trees() -> None:
    topo, budget, capacity, _ = _zone()
    layer = viewer.pon_layer(topo, budget, capacity, zone=ZONE, operator="vnpt")
    olt_op = {o["id"]: o["operator"] for o in topo.doc["olts"]}
    expected = {o.id for o in budget.onts if olt_op[o.olt] == "vnpt"}
    assert set(_trace(layer, "ONTs")["customdata"]) == expected and expected


def test_zone_headlines_match_the_engines() -> None:
    topo, budget, capacity, ducts = _zone()
    h = viewer.zone_headlines(topo.doc, budget, capacity, ducts, zone=ZONE)
    zone_of = {s["id"]: s.get("zone") for s in topo.doc["structures"]}
    mine = {o["id"] for o in topo.doc["onts"] if zone_of[o["structure"]] == ZONE}
    assert h["onts"] == len(mine)
    assert h["onts_within_budget"] == sum(o.ok for o in budget.onts if o.id in mine)
    assert h["onts_ten_g_symmetric"] == sum(o.ten_g_symmetric for o in capacity.onts
                                            if o.id in mine)
    assert h["sites_5g"] == sum(1 for s in _hanoi()["sites"]
                                if s["zone"] == ZONE and s["generation"] == "5g")
    [zone_fill] = [z for z in ducts.zones if z.id == ZONE]
    assert h["over_limit"] == zone_fill.over_limit and h["ducts_over_limit"] >= 1
    cards = {c["key"]: c for c in h["cards"]}
    assert cards["within_budget"]["value"] == viewer.fmt_percent(
        h["onts_within_budget"], h["onts_with_budget"])
    assert cards["ducts_over"]["state"] == "bad"


# --------------------------------------------------------------------------- search, impact


def test_search_finds_ids_and_customers_without_accents() -> None:
    index = viewer.search_index(_hanoi())
    customer = next(o for o in _hanoi()["onts"] if o.get("customer"))
    plain = viewer._fold(customer["customer"])
    hits = viewer.search(index, plain.upper(), limit=10_000)
    assert customer["id"] in [h["id"] for h in hits]
    exact = viewer.search(index, "DU-HL-0001")
    assert exact[0] == {"id": "DU-HL-0001", "kind": "duct", "zone": "hoa-lac-htp",
                        "label": ""}
    port = next(p["id"] for o in _hanoi()["olts"] for p in o["ports"])
    assert viewer.search(index, port)[0]["kind"] == "port"
    assert viewer.search(index, "   ") == []


def test_impact_summary_for_non_engineers() -> None:
    topo, *_ = _zone()
    duct = next(d["id"] for d in topo.doc["ducts"] if d["from"].startswith("EX-"))
    result = impact(_hanoi(), duct)
    text = viewer.impact_summary(duct, result)
    assert text.startswith(f"If {duct} fails, {len(result['onts'])} ONTs go dark")
    assert viewer.impact_summary("X", {"onts": [], "sites": []}) == (
        "If X fails, no ONT loses service.")


# --------------------------------------------------------------------------- standalone HTML


def test_standalone_html_inlines_everything() -> None:
    topo, budget, capacity, ducts = _zone()
    page = ('<link rel="stylesheet" href="/viewer/static/viewer.css">'
            '<script src="/viewer/static/viewer.js"></script>'
            '<script src="/viewer/static/plotly.min.js"></script>')
    physical = viewer.physical_layer(topo, ducts, zone=ZONE)
    physical["traces"][0]["name"] = "</script><b>"  # hostile text stays inside the data
    out = viewer.standalone_html(
        ZONE, page=page, script="var x = '</b>';", stylesheet="body{}",
        physical=physical, pon=viewer.pon_layer(topo, budget, capacity, zone=ZONE),
        headlines=viewer.zone_headlines(topo.doc, budget, capacity, ducts, zone=ZONE),
        zones=viewer.zone_list(_hanoi()), plotly_source="/*plotly*/",
    )
    assert "/viewer/static" not in out
    assert out.count("</script>") == 3  # data, viewer, plotly: nothing closes early
    assert "<style>\nbody{}\n</style>" in out and "/*plotly*/" in out
    data = out.split("window.PONMODEL_EMBEDDED = ", 1)[1].split(";</script>", 1)[0]
    assert json.loads(data)["zone"] == ZONE
    with pytest.raises(ValueError, match="not inlined"):
        viewer.standalone_html(ZONE, page='<script src="/viewer/static/viewer.js" defer>',
                               script="", stylesheet="", physical={}, pon={}, headlines={},
                               zones=[], plotly_source="")


def test_plotly_js_comes_from_the_installed_package() -> None:
    source = viewer.plotly_js()
    assert len(source) > 1_000_000 and "plotly.js" in source[:200]
