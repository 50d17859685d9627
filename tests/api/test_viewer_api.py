"""The viewer's page, plotly.js and JSON endpoints, with the Hanoi network's real values."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ponmodel.api.cli import app
from ponmodel.document import load_document
from ponmodel.topology import viewer
from ponmodel.topology.budget import network_budget
from ponmodel.topology.build import subset_for_zone
from ponmodel.topology.capacity import network_capacity
from ponmodel.topology.impact import impact
from tests.conftest import FIXTURES, fixture_doc

ZONE = "thang-long-iz"


def _load(client: TestClient) -> dict[str, Any]:
    doc = fixture_doc("hanoi.json")
    assert client.post("/import", json=doc).status_code == 200
    return load_document(doc)


def _trace(layer: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [t for t in layer["traces"] if t["name"] == name]
    return found


def test_page_and_assets_need_no_external_request(client: TestClient) -> None:
    _load(client)
    for url in ("/viewer", f"/viewer/{ZONE}"):
        page = client.get(url)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "http://" not in page.text and "https://" not in page.text  # no CDN, no fonts
        assert '<script src="/viewer/static/plotly.min.js"></script>' in page.text
    plotly_js = client.get("/viewer/static/plotly.min.js")
    assert plotly_js.status_code == 200 and len(plotly_js.content) > 1_000_000
    assert plotly_js.text == viewer.plotly_js()
    for name in ("viewer.js", "viewer.css"):
        asset = client.get(f"/viewer/static/{name}")
        assert asset.status_code == 200 and "https://" not in asset.text
    assert client.get("/viewer/static/..%2Fmain.py").status_code == 404  # only named assets
    assert client.get("/viewer/static/nothing.js").status_code == 404


def test_zone_layers_hold_the_fixtures_counts(client: TestClient) -> None:
    doc = _load(client)
    picker = client.get("/viewer/data/zones").json()
    assert sorted(z["id"] for z in picker["zones"]) == sorted(z["id"] for z in doc["zones"])
    assert {o["id"] for o in picker["operators"]} == {"vnpt", "viettel", "fpt", "hhtip"}
    zone_doc = subset_for_zone(doc, ZONE)
    zone_of = {s["id"]: s.get("zone") for s in doc["structures"]}
    assert {z["id"]: z["onts"] for z in picker["zones"]}[ZONE] == sum(
        1 for o in doc["onts"] if zone_of[o["structure"]] == ZONE)

    pon = client.get(f"/viewer/data/{ZONE}/pon").json()
    assert len(_trace(pon, "ONTs")["x"]) == len(zone_doc["onts"])
    assert len(_trace(pon, "ports")["x"]) == sum(len(o["ports"]) for o in zone_doc["olts"])
    assert len(_trace(pon, "splitters")["x"]) == len(zone_doc["splitters"])

    physical = client.get(f"/viewer/data/{ZONE}/physical").json()
    assert len(_trace(physical, "ducts")["x"]) == sum(
        1 for d in zone_doc["ducts"] if d.get("within") is None)
    assert sum(len(t["x"]) for t in physical["traces"]
               if t["meta"]["role"] == "structure") == len(zone_doc["structures"])

    filtered = client.get(f"/viewer/data/{ZONE}/pon", params={"operator": "fpt"}).json()
    fpt_olts = {o["id"] for o in zone_doc["olts"] if o["operator"] == "fpt"}
    budget = network_budget(zone_doc)
    assert len(_trace(filtered, "ONTs")["x"]) == sum(1 for o in budget.onts if o.olt in fpt_olts)
    assert client.get("/viewer/data/no-such-zone/pon").status_code == 404


def test_ont_hover_shows_the_engines_headroom(client: TestClient) -> None:
    doc = _load(client)
    zone_doc = subset_for_zone(doc, ZONE)
    budget = network_budget(zone_doc)
    capacity = network_capacity(zone_doc)
    pon = client.get(f"/viewer/data/{ZONE}/pon").json()
    onts = _trace(pon, "ONTs")
    hover = dict(zip(onts["customdata"], onts["hovertext"], strict=True))
    worst, best = budget.onts[0], budget.onts[-1]  # worst headroom first
    for ont in (worst, best):
        text = hover[ont.id]
        assert f"headroom {viewer.fmt_db(ont.downstream.headroom_db)} dB" in text
        assert f"headroom {viewer.fmt_db(ont.upstream.headroom_db)} dB" in text
        rates = capacity.ont(ont.id)
        assert f"guaranteed {viewer.fmt_rate(rates.down.guaranteed_mbps)}" in text
        assert ("10G-symmetric: yes" in text) == rates.ten_g_symmetric
    colour = dict(zip(onts["customdata"], onts["marker"]["color"], strict=True))
    assert colour[worst.id] == viewer.headroom_colour(worst.worst_headroom_db)

    headlines = client.get(f"/viewer/data/{ZONE}/headlines").json()
    zone_of = {s["id"]: s.get("zone") for s in doc["structures"]}
    mine = {o["id"] for o in doc["onts"] if zone_of[o["structure"]] == ZONE}
    assert headlines["onts"] == len(mine)
    assert headlines["onts_within_budget"] == sum(o.ok for o in budget.onts if o.id in mine)
    assert [c["key"] for c in headlines["cards"]] == [
        "onts", "within_budget", "ten_g", "sites_5g", "ducts_over"]


def test_trace_impact_and_search(client: TestClient) -> None:
    doc = _load(client)
    ont = network_budget(subset_for_zone(doc, ZONE)).onts[0]
    body = client.get(f"/viewer/trace/{ont.id}").json()
    assert body["path"][0] == ont.port and body["path"][-1] == ont.id
    last = body["hops"][-1]
    assert last["cum_loss_down_db"] == ont.downstream.loss_db
    assert last["cum_loss_up_db"] == ont.upstream.loss_db
    running = 0.0
    for hop in body["hops"]:
        running += hop["loss_up_db"]
        assert abs(running - hop["cum_loss_up_db"]) < 1e-9
    assert body["ducts"] and body["budget"]["id"] == ont.id
    assert client.get("/viewer/trace/NO-SUCH").status_code == 404

    feeder = next(d["id"] for d in doc["ducts"] if d["from"].startswith("EX-TL"))
    expected = impact(doc, feeder)
    got = client.get("/viewer/impact", params={"element": feeder}).json()
    assert got["onts"] == expected["onts"] and got["onts"]
    assert got["by_operator"] == expected["by_operator"]
    assert got["summary"] == viewer.impact_summary(feeder, expected)
    structure_of = {o["id"]: o["structure"] for o in doc["onts"]}
    assert got["ont_structures"] == sorted({structure_of[o] for o in expected["onts"]})
    assert client.get("/viewer/impact", params={"element": "NOPE"}).status_code == 404

    customer = next(o for o in doc["onts"] if o.get("customer"))
    found = client.get("/viewer/search", params={"q": customer["id"]}).json()["results"]
    assert found[0]["id"] == customer["id"] and found[0]["kind"] == "ont"
    by_name = client.get("/viewer/search", params={
        "q": viewer._fold(customer["customer"]), "limit": 200}).json()["results"]
    assert customer["id"] in [r["id"] for r in by_name]


def test_cli_view_writes_a_self_contained_file(tmp_path: Path) -> None:
    out = tmp_path / "zone.html"
    r = CliRunner().invoke(app, ["view", "--zone", ZONE, "--out", str(out),
                                 "--file", str(FIXTURES / "hanoi.json"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["out"] == str(out)
    html = out.read_text(encoding="utf-8")
    assert "/viewer/static/" not in html
    # the page itself references nothing on the web (scripts are inline; the browser test
    # checks that opening the file makes no request at all)
    markup = re.sub(r"<script>.*?</script>", "", html, flags=re.DOTALL)
    assert not re.search(r'(src|href)="https?:', markup) and "<script src" not in markup
    assert viewer.plotly_js()[:2000] in html  # plotly.js inlined from the installed package
    data = json.loads(html.split("window.PONMODEL_EMBEDDED = ", 1)[1].split(";</script>", 1)[0])
    zone_doc = subset_for_zone(load_document(fixture_doc("hanoi.json")), ZONE)
    assert data["zone"] == ZONE
    assert len(_trace(data["pon"], "ONTs")["x"]) == len(zone_doc["onts"])
    r = CliRunner().invoke(app, ["view", "--zone", "no-such-zone", "--out", str(out),
                                 "--file", str(FIXTURES / "hanoi.json"), "--json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["error"] == "NotFoundError"
