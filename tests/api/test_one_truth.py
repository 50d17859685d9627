"""One truth on every surface (issue 16): every shared figure of every zone, read from the
API's viewer headlines, PON and physical layers, ``/fill``, ``/report`` (JSON and CSV),
``/capacity/summary`` and the CLI's ``report``, ``ducts``, ``capacity`` and ``check``, is
equal, on the Hanoi demonstration network and on a generated one. The figures are also
recounted here from the document and the engines' per-element verdicts, so that equal and
wrong cannot pass."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from ponmodel.api.cli import app
from ponmodel.document import load_document
from ponmodel.generate import generate_network
from ponmodel.topology.budget import network_budget
from ponmodel.topology.capacity import network_capacity
from ponmodel.topology.ducts import duct_fill
from ponmodel.topology.figures import FIGURES
from tests.api.conftest import admin_client
from tests.conftest import fixture_doc

runner = CliRunner()


def _recount(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The figures per zone, counted from the document and the per-element verdicts."""
    budget = {o.id: o for o in network_budget(doc).onts}
    capacity = {o.id: o for o in network_capacity(doc).onts}
    fill = duct_fill(doc)
    zone_of = {s["id"]: s.get("zone") for s in doc["structures"]}
    out: dict[str, Counter[str]] = {z["id"]: Counter() for z in doc["zones"]}
    for o in doc["onts"]:
        z = zone_of[o["structure"]]
        if z is None:
            continue
        c = out[z]
        c["onts"] += 1
        b = budget.get(o["id"])
        if b is not None:
            c["onts_with_budget"] += 1
            c["onts_within_budget"] += b.ok
            c["onts_failing_budget"] += not b.ok
            c["onts_negative_headroom"] += min(b.downstream.headroom_db,
                                               b.upstream.headroom_db) < 0
        cap = capacity.get(o["id"])
        if cap is not None and cap.kind == "enterprise":
            c["enterprise_onts"] += 1
            c["enterprise_onts_ten_g_symmetric"] += cap.ten_g_symmetric
        if cap is not None:
            c["onts_ten_g_symmetric"] += cap.ten_g_symmetric
    metres: dict[str, list[float]] = {z: [0.0, 0.0] for z in out}
    for d in fill.ducts:
        kind = "innerducts" if d.within is not None else "ducts"
        for z in d.zones:
            out[z][kind] += 1
            out[z][f"{kind}_over_limit"] += d.over_limit
            out[z][f"{kind}_near_limit"] += d.near_limit
            if d.within is None:
                metres[z][0] += d.length_m
                metres[z][1] += d.length_m if len(d.operators) >= 2 else 0.0
    # ports: of the OLTs standing in the zone; in use, and within their differential limits
    port_budget = {p.id: p for p in network_budget(doc).ports}
    for olt in doc["olts"]:
        z = zone_of[olt["structure"]]
        for port in olt["ports"]:
            c = out[z]
            c["ports"] += 1
            c["gpon_ports"] += port["technology"] == "gpon"
            b = port_budget.get(port["id"])
            if b is not None and b.onts:
                c["ports_in_use"] += 1
                c["ports_differential_ok"] += b.ok
                c["ports_all_onts_ok"] += b.ok and b.onts_within_budget == b.onts
    result = {z: dict(c) for z, c in out.items()}
    for z, (total, shared) in metres.items():
        result[z]["duct_metres"] = round(total, 3)
        result[z]["shared_duct_metres"] = round(shared, 3)
    return result


SHARED = ("onts", "onts_with_budget", "onts_within_budget", "onts_failing_budget",
          "onts_negative_headroom", "onts_ten_g_symmetric", "enterprise_onts",
          "enterprise_onts_ten_g_symmetric", "ducts", "innerducts", "ducts_over_limit",
          "innerducts_over_limit", "ducts_near_limit", "innerducts_near_limit", "ports",
          "gpon_ports", "ports_in_use", "ports_differential_ok", "ports_all_onts_ok",
          "duct_metres", "shared_duct_metres")


def _networks() -> list[tuple[str, dict[str, Any]]]:
    return [("hanoi", fixture_doc("hanoi.json")),
            ("generated", generate_network(3000, seed=7, zones=3))]


@pytest.fixture(params=_networks(), ids=lambda n: n[0])
def network(request: pytest.FixtureRequest) -> dict[str, Any]:
    return request.param[1]


def test_every_figure_is_declared_once() -> None:
    assert set(SHARED) <= set(FIGURES)
    for key, figure in FIGURES.items():
        assert figure.unit and figure.description, key


def test_every_surface_shows_the_same_figures(network: dict[str, Any], sqlite_engine: Engine,
                                              tmp_path: Path) -> None:
    doc = load_document(network)
    expected = _recount(doc)
    assert any(e.get("onts_failing_budget") for e in expected.values()), \
        "the network must fail some budgets, or the test shows nothing"
    path = tmp_path / "network.json"
    path.write_text(json.dumps(network))
    with admin_client(sqlite_engine) as client:
        assert client.post("/import", json=network).status_code == 200
        surfaces = _api_surfaces(client, doc)
    surfaces.update(_cli_surfaces(path, doc, f"sqlite:///{tmp_path / 'cli.db'}"))
    compared: Counter[str] = Counter()
    for zone, figures in expected.items():
        for surface, by_zone in surfaces.items():
            shown = by_zone[zone]
            for key in SHARED:
                if key in shown:
                    expected_value = figures.get(key, 0)
                    if isinstance(expected_value, float):
                        assert shown[key] == pytest.approx(expected_value, abs=1e-6), (
                            surface, zone, key)
                    else:
                        assert shown[key] == expected_value, (surface, zone, key)
                    compared[surface] += 1
    # each surface was compared on every zone (the PON layer where it holds the zone's ONTs)
    zones = len(expected)
    assert compared["viewer headlines"] == len(SHARED) * zones
    assert compared["report json"] == compared["cli report"] >= 14 * zones
    assert compared["report csv"] >= 13 * zones
    assert compared["fill"] == compared["cli ducts"] == 2 * zones
    assert compared["capacity summary"] == zones
    assert compared["viewer pon layer"] >= zones // 2
    assert compared["viewer physical layer"] == zones
    # every surface carries the figures it is about
    for surface in ("viewer headlines", "report json", "report csv", "cli report"):
        assert set(SHARED) - {"ducts_near_limit", "innerducts_near_limit",
                              "onts_ten_g_symmetric"} <= set(surfaces[surface][
                                  next(iter(expected))]), surface


def _api_surfaces(client: TestClient, doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {name: {} for name in (
        "viewer headlines", "viewer pon layer", "viewer physical layer", "fill", "report json",
        "report csv", "capacity summary")}
    located = all(s.get("lon") is not None for s in doc["structures"])
    for z in doc["zones"]:
        zone = z["id"]
        h = client.get(f"/viewer/data/{zone}/headlines")
        assert h.status_code == 200, h.text
        out["viewer headlines"][zone] = h.json()
        pon = client.get(f"/viewer/data/{zone}/pon").json()
        counts = pon["counts"]
        # the layer draws the zone's trees: only comparable when they hold the zone's ONTs
        if counts["onts"] == h.json()["onts"]:
            out["viewer pon layer"][zone] = {"onts_failing_budget": counts["onts_red"]}
        else:
            out["viewer pon layer"][zone] = {}
        physical = client.get(f"/viewer/data/{zone}/physical").json()
        out["viewer physical layer"][zone] = {"ducts": physical["counts"]["ducts"]} \
            if located else {}
        fill = client.get("/fill", params={"zone": zone}).json()
        [row] = [r for r in fill["zones"] if r["id"] == zone]
        out["fill"][zone] = {"ducts": row["ducts"], "innerducts": row["innerducts"]}
    report = client.get("/report").json()
    out["report json"] = {r["id"]: r for r in report["zones"]}
    rows = csv.DictReader(io.StringIO(client.get("/report", params={"format": "csv"}).text))
    out["report csv"] = {r["id"]: {k: float(v) if "." in v else int(v)
                                   for k, v in r.items() if k in SHARED}
                         for r in rows if r["id"] != "total"}
    summary = client.get("/capacity/summary", params={"by": "zone"}).json()
    out["capacity summary"] = {z["id"]: {} for z in doc["zones"]}
    for row in summary["rows"] if isinstance(summary, dict) else summary:
        if row.get("zone") in out["capacity summary"]:
            out["capacity summary"][row["zone"]] = {"enterprise_onts": row["enterprise_onts"]}
    return out


def _cli_surfaces(path: Path, doc: dict[str, Any], database: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    r = runner.invoke(app, ["report", str(path), "--format", "json"])
    assert r.exit_code == 0, r.output
    out["cli report"] = {z["id"]: z for z in json.loads(r.stdout)["zones"]}
    r = runner.invoke(app, ["ducts", str(path), "--json"])
    assert r.exit_code == 0, r.output
    out["cli ducts"] = {z["id"]: {"ducts": z["ducts"], "innerducts": z["innerducts"]}
                        for z in json.loads(r.stdout)["zones"]}
    # the whole-network check from the database: its totals are the zones' sums when every
    # ONT stands in a zone
    assert runner.invoke(app, ["import", str(path), "--database", database]).exit_code == 0
    r = runner.invoke(app, ["check", "--database", database, "--json"])
    assert r.exit_code == 0, r.output
    check = json.loads(r.stdout)
    recount = _recount(doc)
    if all(s.get("zone") for s in doc["structures"]):
        total = Counter()
        for figures in recount.values():
            total.update(figures)
        assert check["onts"] == total["onts"]
        assert check["onts_within_budget"] == total["onts_within_budget"]
        assert check["onts_failing_budget"] == total["onts_failing_budget"]
        assert check["onts_ten_g_symmetric"] == total["onts_ten_g_symmetric"]
        assert check["enterprise_onts_ten_g_symmetric"] == total[
            "enterprise_onts_ten_g_symmetric"]
    return out
