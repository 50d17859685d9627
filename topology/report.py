"""The zones' yearly readiness report against Hanoi's Plan 310/KH-UBND (24 November 2025).

The plan asks the zones' management board to survey and publish, every year before
30 November, how each high-tech park, industrial zone and industrial cluster stands against
its targets. This module computes that report from the inventory; every figure is counted
from the network, none is typed in.

Per zone:

- **mobile sites** and **5G sites** (``sites`` of the zone): target, at least one 5G site in
  every zone by the end of 2026;
- **XGS-PON coverage**: the share of the zone's enterprise ONTs that are 10G-symmetric
  (:mod:`ponmodel.topology.capacity`; an ONT is in the zone of its structure): target, 100 %
  by 2030;
- **GPON ports** (of OLTs standing in the zone) and their readiness for XGS-PON
  (:func:`ponmodel.topology.upgrade.upgrade_readiness`, class N1 by default): spare ports are
  counted in ``total`` but not per status;
- **duct sharing**: duct-metres of the zone's ducts (a duct belongs to the zone of each of its
  end structures, :mod:`ponmodel.topology.ducts`), the share of them in ducts used by two or
  more operators (a duct's operators include those of cables in its innerducts; innerducts are
  not counted again, their metres are their duct's), and the ducts and innerducts over their
  fill limit;
- **enterprises served**: enterprise ONTs, distinct customers, and the sums of their
  guaranteed and peak rates both ways (spec: "Bandwidth at full load"), with the ports'
  downstream oversubscription.

City-wide totals count every zone once: ONTs and sites in a zone, ducts touching a zone (a
duct between two zones counts once). They are set against the plan's baseline (section II:
about 180 mobile sites in the zones, 22 of them 5G) and its 2026 and 2030 targets, with the
gap to each in words and numbers. ``year`` is the reporting year: it dates the report (due
before 30 November of that year) and says how long each target has left, or since when it is
overdue.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.topology.report import zone_report
>>> report = zone_report(read_document("fixtures/tiny.json"), year=2026)
>>> report["zones"][0]["sites_5g"], report["totals"]["zones_with_5g"]
(1, 1)
>>> report["totals"]["gaps"][0]["text"]
'Every zone has at least one 5G site (1 of 1).'
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from ponmodel.document import Document
from ponmodel.topology.budget import BudgetReport, network_budget
from ponmodel.topology.capacity import CapacityReport, network_capacity
from ponmodel.topology.ducts import DuctReport, duct_fill
from ponmodel.topology.figures import duct_figures, figures_by_zone
from ponmodel.topology.upgrade import STATUSES, upgrade_readiness

PLAN = "Plan 310/KH-UBND of 24 November 2025"
BASELINE_SITES = 180
"""Mobile base stations in the zones when the plan was written (its section II: "about 180")."""
BASELINE_SITES_5G = 22
"""Of which 5G (the plan's section II)."""
TARGET_5G_YEAR = 2026
"""Every park, zone and cluster has at least one 5G site by the end of this year."""
TARGET_XGS_PON_YEAR = 2030
"""XGS-PON, 10 Gbit/s symmetric, by this year: read as every enterprise ONT 10G-symmetric."""
KIND_ORDER = ("high_tech_park", "industrial_zone", "industrial_cluster")
KIND_LABEL = {
    "high_tech_park": "high-tech park",
    "industrial_zone": "industrial zone",
    "industrial_cluster": "industrial cluster",
}
STATUS_KEYS = {
    "ready": "ready",
    "needs E1": "needs_e1",
    "needs E2": "needs_e2",
    "needs re-engineering": "needs_re_engineering",
}
"""Upgrade statuses (:data:`ponmodel.topology.upgrade.STATUSES`) → report keys."""
OVERSUBSCRIPTION_EDGES = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
FILL_SHARE_EDGES = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)

ONT_FIGURES = ("onts", "onts_with_budget", "onts_within_budget", "onts_failing_budget",
               "onts_negative_headroom", "ports", "gpon_ports", "ports_in_use",
               "ports_differential_ok", "ports_all_onts_ok")
"""ONT and port counts of each zone, read from :func:`ponmodel.topology.figures.
figures_by_zone` (:data:`~ponmodel.topology.figures.FIGURES` defines them)."""

CSV_COLUMNS = (
    "id", "name", "kind", "district", "sites", "sites_5g", "enterprise_onts",
    "enterprise_onts_ten_g_symmetric", "enterprise_ten_g_symmetric_share", "enterprises",
    "enterprise_guaranteed_down_mbps", "enterprise_guaranteed_up_mbps",
    "enterprise_peak_down_mbps", "enterprise_peak_up_mbps", "oversubscription_down",
    "gpon_ports", "gpon_ports_in_use", "gpon_ready", "gpon_needs_e1", "gpon_needs_e2",
    "gpon_needs_re_engineering", "duct_metres", "shared_duct_metres", "shared_duct_share",
    "ducts", "innerducts", "ducts_over_limit", "innerducts_over_limit",
    *(k for k in ONT_FIGURES if k != "gpon_ports"), "gaps",
)
"""Columns of :func:`report_csv`, one row per zone then a ``total`` row."""


# --------------------------------------------------------------------------- words


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.1f}\u00a0%"


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{_n(n)} {one if n == 1 else (many or one + 's')}"


def _names(zones: list[dict[str, Any]]) -> str:
    return ", ".join(z["name"] for z in zones)


def _when(deadline: int, year: int) -> str:
    """How the reporting year stands against a target's deadline."""
    if year < deadline:
        return f"due by the end of {deadline}, {_plural(deadline - year, 'year')} from {year}"
    if year == deadline:
        return f"due by the end of {deadline}, this year"
    return f"overdue since the end of {deadline}"


# --------------------------------------------------------------------------- the report


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _histogram(values: list[float], edges: tuple[float, ...], fmt: str) -> dict[str, Any]:
    """Counts per bin ``[edge_k, edge_k+1)`` and an open last bin ``≥ edge_last``."""
    labels = [f"{fmt.format(a)}–{fmt.format(b)}" for a, b in zip(edges, edges[1:], strict=False)]
    labels.append(f"≥ {fmt.format(edges[-1])}")
    counts = [0] * len(labels)
    for v in values:
        k = len(edges) - 1
        for j in range(len(edges) - 1):
            if v < edges[j + 1]:
                k = j
                break
        counts[k] += 1
    return {"bins": labels, "edges": list(edges), "counts": counts}


def zone_report(
    doc: Document,
    *,
    year: int = 2026,
    optics_class: str = "N1",
    generated: date | None = None,
    capacity: CapacityReport | None = None,
    fill: DuctReport | None = None,
    budget: BudgetReport | None = None,
) -> dict[str, Any]:
    """The readiness report of every zone and the city-wide totals against Plan 310.

    Parameters
    ----------
    doc : Document
        A validated ``ponmodel/1`` document.
    year : int
        The reporting year (the plan asks for the report before 30 November).
    optics_class : str
        The XGS-PON optics class the GPON ports' readiness is judged with.
    generated : date, optional
        The report's date (default: today).
    capacity, fill, budget : optional
        Reports already computed for ``doc``.

    Returns
    -------
    dict
        ``{"title", "plan", "year", "due", "generated", "zones": [...], "totals": {...},
        "distributions": {...}}``; each zone has ``id``, ``name``, ``kind``, ``district``,
        ``sites``, ``sites_5g``, ``enterprise_onts``, ``enterprise_ten_g_symmetric_share``,
        ``gpon_ports`` (``total``, ``in_use`` and a count per readiness status),
        ``shared_duct_share``, ``ducts_over_limit`` and the rest described in the module
        docstring, and ``gaps``: ``[{"target", "missing", "of", "text"}]``.
    """
    generated = generated or date.today()
    zones_in = sorted(
        doc.get("zones", []),
        key=lambda z: (KIND_ORDER.index(z["kind"]) if z["kind"] in KIND_ORDER else 9),
    )
    zone_ids = {z["id"] for z in zones_in}
    budget = budget or network_budget(doc)
    if capacity is None:
        capacity = network_capacity(doc, budget=budget) if doc.get("onts") else CapacityReport()
    fill = fill or duct_fill(doc)
    shared = figures_by_zone(doc, budget, capacity, fill, zones=zone_ids)
    upgrade = upgrade_readiness(doc, optics_class)

    sites: dict[str, Counter[str]] = defaultdict(Counter)
    for site in doc.get("sites", []):
        sites[site["zone"]][site["generation"]] += 1
    customer = {o["id"]: o.get("customer") or o["id"] for o in doc.get("onts", [])}
    enterprise: dict[str, list[Any]] = defaultdict(list)
    for ont in capacity.onts:
        if ont.kind == "enterprise" and ont.zone in zone_ids:
            enterprise[ont.zone].append(ont)
    over_by_zone = {row["zone"]: row["down"]["oversubscription"]
                    for row in capacity.summary("zone") if row["ports"]}
    ports_by_zone: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for port in upgrade["ports"]:
        ports_by_zone[port["zone"]].append(port)
    ducts_by_zone: dict[str, list[Any]] = defaultdict(list)
    for row in fill.ducts:
        for zone in row.zones:
            ducts_by_zone[zone].append(row)

    zones = []
    for z in zones_in:
        zones.append(_zone_row(z, sites[z["id"]], enterprise[z["id"]], customer,
                               ports_by_zone[z["id"]], ducts_by_zone[z["id"]],
                               over_by_zone.get(z["id"])))
    for row in zones:
        row.update({k: shared[row["id"]][k] for k in ONT_FIGURES})
        row["gaps"] = _zone_gaps(row, year)

    in_zones = [r for r in fill.ducts if set(r.zones) & zone_ids]
    all_enterprise = [o for z in zones_in for o in enterprise[z["id"]]]
    ports_in_zones = [p for z in zones_in for p in ports_by_zone[z["id"]]]
    totals = _totals(zones, all_enterprise, customer, ports_in_zones, in_zones, year)
    totals.update({k: sum(z[k] for z in zones) for k in ONT_FIGURES})
    used_ports = [p for p in capacity.ports if p.onts and p.zone in zone_ids]
    distributions = {
        "oversubscription_down": _histogram(
            [p.down.oversubscription for p in used_ports], OVERSUBSCRIPTION_EDGES, "{:g}"),
        "duct_fill_of_limit": {
            **_histogram([r.fill_ratio / r.limit_ratio for r in in_zones if r.occupants],
                         FILL_SHARE_EDGES, "{:.0%}"),
            "unused": sum(1 for r in in_zones if not r.occupants),
        },
    }
    return {
        "title": f"Readiness of Hanoi's parks, zones and clusters, {year}",
        "network": doc.get("name"),
        "plan": PLAN,
        "year": year,
        "due": f"{year}-11-30",
        "generated": generated.isoformat(),
        "optics_class": optics_class,
        "zones": zones,
        "totals": totals,
        "distributions": distributions,
    }


def _gpon_counts(ports: list[dict[str, Any]]) -> dict[str, int]:
    used = [p for p in ports if p["onts"]]
    counts = Counter(p["status"] for p in used)
    return {"total": len(ports), "in_use": len(used),
            **{STATUS_KEYS[s]: counts.get(s, 0) for s in STATUSES}}


def _duct_figures(rows: list[Any]) -> dict[str, Any]:
    figures = duct_figures(rows)
    return {**figures,
            "shared_duct_share": _share(figures["shared_duct_metres"], figures["duct_metres"])}


def _service_figures(onts: list[Any], customer: dict[str, str]) -> dict[str, Any]:
    ten_g = sum(1 for o in onts if o.ten_g_symmetric)
    return {
        "enterprise_onts": len(onts),
        "enterprise_onts_ten_g_symmetric": ten_g,
        "enterprise_ten_g_symmetric_share": _share(ten_g, len(onts)),
        # a customer name is one enterprise within a zone (a name may recur in other zones)
        "enterprises": len({(o.zone, customer[o.id]) for o in onts}),
        "enterprise_guaranteed_down_mbps": sum(o.down.guaranteed_mbps for o in onts),
        "enterprise_guaranteed_up_mbps": sum(o.up.guaranteed_mbps for o in onts),
        "enterprise_peak_down_mbps": round(sum(o.down.peak_mbps for o in onts), 3),
        "enterprise_peak_up_mbps": round(sum(o.up.peak_mbps for o in onts), 3),
    }


def _zone_row(zone: dict[str, Any], sites: Counter[str], onts: list[Any],
              customer: dict[str, str], ports: list[dict[str, Any]], ducts: list[Any],
              oversubscription: float | None) -> dict[str, Any]:
    return {
        "id": zone["id"],
        "name": zone["name"],
        "kind": zone["kind"],
        "district": zone.get("district"),
        "sites": sum(sites.values()),
        "sites_4g": sites.get("4g", 0),
        "sites_5g": sites.get("5g", 0),
        **_service_figures(onts, customer),
        "oversubscription_down": oversubscription,
        "gpon_port_readiness": _gpon_counts(ports),
        **_duct_figures(ducts),
    }


def _over_words(figures: dict[str, Any]) -> str:
    """"3 ducts and 1 innerduct", "1 duct": what is over its limit."""
    parts = [_plural(figures[key], word) for key, word in
             (("ducts_over_limit", "duct"), ("innerducts_over_limit", "innerduct"))
             if figures[key]]
    return " and ".join(parts)


def _gpon_words(g: dict[str, int]) -> str:
    parts = [f"{_n(g[k])} {s if g[k] == 1 else s.replace('needs', 'need')}"
             for s, k in STATUS_KEYS.items() if g[k]]
    return f"{_plural(g['in_use'], 'GPON port')} in use to move to XGS-PON: {', '.join(parts)}"


def _zone_gaps(row: dict[str, Any], year: int) -> list[dict[str, Any]]:
    gaps = []
    if row["sites_5g"] == 0:
        gaps.append({
            "target": "5g-in-every-zone", "missing": 1, "of": 1,
            "text": f"no 5G site among its {_plural(row['sites'], 'mobile site')} "
                    f"(target: at least one, {_when(TARGET_5G_YEAR, year)})",
        })
    missing = row["enterprise_onts"] - row["enterprise_onts_ten_g_symmetric"]
    if missing:
        text = (f"{_n(missing)} of {_plural(row['enterprise_onts'], 'enterprise ONT')} "
                f"{'is' if missing == 1 else 'are'} not 10G-symmetric "
                f"(target: all, {_when(TARGET_XGS_PON_YEAR, year)})")
        if row["gpon_port_readiness"]["in_use"]:
            text += f"; {_gpon_words(row['gpon_port_readiness'])}"
        gaps.append({"target": "xgs-pon-10g-symmetric", "missing": missing,
                     "of": row["enterprise_onts"], "text": text})
    if row["over_limit_ids"]:
        gaps.append({
            "target": "duct-fill-limit", "missing": len(row["over_limit_ids"]),
            "of": row["ducts"] + row["innerducts"],
            "text": f"{_over_words(row)} over the fill limit: "
                    f"{', '.join(row['over_limit_ids'])}",
        })
    return gaps


def _totals(zones: list[dict[str, Any]], onts: list[Any], customer: dict[str, str],
            ports: list[dict[str, Any]], ducts: list[Any], year: int) -> dict[str, Any]:
    n = len(zones)
    without_5g = [z for z in zones if z["sites_5g"] == 0]
    sites = sum(z["sites"] for z in zones)
    sites_5g = sum(z["sites_5g"] for z in zones)
    service = _service_figures(onts, customer)
    gpon = _gpon_counts(ports)
    duct = _duct_figures(ducts)
    not_ten_g = service["enterprise_onts"] - service["enterprise_onts_ten_g_symmetric"]
    ten_g = "enterprise_onts_ten_g_symmetric"
    zones_none_ten_g = [z for z in zones if z["enterprise_onts"] and not z[ten_g]]
    zones_below = [z for z in zones if z["enterprise_onts"] > z[ten_g]]

    if without_5g:
        text_5g = (f"{_n(len(without_5g))} of {_plural(n, 'zone')} "
                   f"{'has' if len(without_5g) == 1 else 'have'} no 5G site (target: at least "
                   f"one in every zone, {_when(TARGET_5G_YEAR, year)}): {_names(without_5g)}.")
    else:
        text_5g = f"Every zone has at least one 5G site ({_n(n)} of {_n(n)})."
    if not_ten_g:
        text_10g = (f"{_n(not_ten_g)} of {_plural(service['enterprise_onts'], 'enterprise ONT')}"
                    f" ({_pct(_share(not_ten_g, service['enterprise_onts']))}) "
                    f"{'is' if not_ten_g == 1 else 'are'} not yet 10G-symmetric (target: all, "
                    f"{_when(TARGET_XGS_PON_YEAR, year)}), in "
                    f"{_plural(len(zones_below), 'zone')}")
        if zones_none_ten_g:
            text_10g += f"; no enterprise ONT is 10G-symmetric in {_names(zones_none_ten_g)}"
        if gpon["in_use"]:
            text_10g += f"; {_gpon_words(gpon)}"
        text_10g += "."
    else:
        text_10g = (f"Every enterprise ONT is 10G-symmetric "
                    f"({_n(service['enterprise_onts'])} of {_n(service['enterprise_onts'])}).")
    targets = [
        {
            "id": "5g-in-every-zone",
            "description": "at least one 5G site in every high-tech park, industrial zone "
                           "and industrial cluster",
            "deadline": TARGET_5G_YEAR,
            "when": _when(TARGET_5G_YEAR, year),
            "target": n,
            "current": n - len(without_5g),
            "gap": len(without_5g),
            "met": not without_5g,
            "unit": "zones",
        },
        {
            "id": "xgs-pon-10g-symmetric",
            "description": "XGS-PON at 10 Gbit/s symmetric: every enterprise ONT 10G-symmetric",
            "deadline": TARGET_XGS_PON_YEAR,
            "when": _when(TARGET_XGS_PON_YEAR, year),
            "target": service["enterprise_onts"],
            "current": service["enterprise_onts_ten_g_symmetric"],
            "gap": not_ten_g,
            "met": not not_ten_g,
            "unit": "enterprise ONTs",
        },
    ]
    gaps = [
        {"target": "5g-in-every-zone", "missing": len(without_5g), "of": n,
         "zones": [z["id"] for z in without_5g], "text": text_5g},
        {"target": "xgs-pon-10g-symmetric", "missing": not_ten_g,
         "of": service["enterprise_onts"], "zones": [z["id"] for z in zones_below],
         "text": text_10g},
    ]
    if duct["over_limit_ids"]:
        over_zones = [z for z in zones if z["over_limit_ids"]]
        over = len(duct["over_limit_ids"])
        gaps.append({
            "target": "duct-fill-limit", "missing": over,
            "of": duct["ducts"] + duct["innerducts"],
            "zones": [z["id"] for z in over_zones],
            "text": f"{_over_words(duct)} {'is' if over == 1 else 'are'} over the fill limit, "
                    f"in {_names(over_zones)}.",
        })
    return {
        "zones": n,
        "zones_by_kind": dict(Counter(z["kind"] for z in zones)),
        "sites": sites,
        "sites_4g": sum(z["sites_4g"] for z in zones),
        "sites_5g": sites_5g,
        "zones_with_5g": n - len(without_5g),
        "zones_without_5g": [z["id"] for z in without_5g],
        **service,
        "gpon_port_readiness": gpon,
        **duct,
        "baseline": {
            "source": f"{PLAN}, section II",
            "sites": BASELINE_SITES,
            "sites_5g": BASELINE_SITES_5G,
            "text": f"The plan's baseline: about {BASELINE_SITES} mobile sites in the zones, "
                    f"{BASELINE_SITES_5G} of them 5G; the inventory holds {_n(sites)}, "
                    f"{_n(sites_5g)} of them 5G ({sites - BASELINE_SITES:+d} sites, "
                    f"{sites_5g - BASELINE_SITES_5G:+d} 5G).",
        },
        "change_from_baseline": {
            "sites": sites - BASELINE_SITES,
            "sites_5g": sites_5g - BASELINE_SITES_5G,
        },
        "targets": targets,
        "gaps": gaps,
    }


# --------------------------------------------------------------------------- CSV


def _csv_row(row: dict[str, Any]) -> dict[str, Any]:
    g = row["gpon_port_readiness"]
    out = {k: row.get(k) for k in CSV_COLUMNS}
    out.update({
        "gpon_ports": g["total"], "gpon_ports_in_use": g["in_use"], "gpon_ready": g["ready"],
        "gpon_needs_e1": g["needs_e1"], "gpon_needs_e2": g["needs_e2"],
        "gpon_needs_re_engineering": g["needs_re_engineering"],
        "gaps": "; ".join(gap["text"] for gap in row.get("gaps", [])),
    })
    for key in ("enterprise_ten_g_symmetric_share", "shared_duct_share", "oversubscription_down"):
        value = out[key]
        if value is not None:
            out[key] = round(float(value), 6)
    return out


def report_csv(report: dict[str, Any]) -> str:
    """One row per zone (columns :data:`CSV_COLUMNS`), then the city-wide ``total`` row."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in report["zones"]:
        writer.writerow(_csv_row(row))
    totals = {**report["totals"], "id": "total", "name": "All zones", "kind": "",
              "district": "", "oversubscription_down": None, "gaps": report["totals"]["gaps"]}
    writer.writerow(_csv_row(totals))
    return buf.getvalue()


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;
max-width:1440px;padding:0 1rem;color:#1d2733;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem}
.meta{color:#5a6877;margin-top:0}.summary li{margin:.3rem 0}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border-bottom:1px solid #dde3ea;padding:.35rem .45rem;text-align:right;vertical-align:top}
th{background:#f3f6f9;position:sticky;top:0}td.l,th.l{text-align:left}
td.gaps{min-width:14rem}td.nw{white-space:nowrap}td.zone{min-width:9rem}.wide{overflow-x:auto}
tr.total td{font-weight:600;border-top:2px solid #1d2733}
.bad{color:#b3261e;font-weight:600}.ok{color:#1b6e3a}.small{color:#5a6877;font-size:.78rem}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
"""


def _figures(report: dict[str, Any]) -> list[tuple[str, Any]]:
    import plotly.graph_objects as go  # plotly is heavy: import it only to draw

    zones = report["zones"]
    share = "enterprise_ten_g_symmetric_share"
    names = [z["name"] for z in zones]
    layout = {"template": "plotly_white", "height": 520,
              "margin": {"l": 10, "r": 30, "t": 60, "b": 10}}
    coverage = go.Figure(go.Bar(
        x=[100 * (z[share] or 0.0) for z in zones], y=names, orientation="h",
        marker_color=["#1b6e3a" if (z[share] or 0) >= 1 else "#d9822b" for z in zones],
        text=[_pct(z[share]) if z["enterprise_onts"] else "no enterprise ONT" for z in zones],
        textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.1f} %<extra></extra>",
    ))
    coverage.add_vline(x=100, line_dash="dash", line_color="#1d2733")
    coverage.update_layout(
        title=f"10G-symmetric share of enterprise ONTs (target {TARGET_XGS_PON_YEAR}: 100 %)",
        xaxis_title="%", xaxis_range=[0, 125], yaxis_autorange="reversed", **layout)
    fiveg = go.Figure([
        go.Bar(name="5G", y=names, x=[z["sites_5g"] for z in zones], orientation="h",
               marker_color=["#b3261e" if z["sites_5g"] == 0 else "#1f5f99" for z in zones],
               text=[z["sites_5g"] if z["sites_5g"] else "no 5G" for z in zones],
               textposition="outside", cliponaxis=False),
        go.Bar(name="4G", y=names, x=[z["sites_4g"] for z in zones], orientation="h",
               marker_color="#9db4cc"),
    ])
    fiveg.update_layout(title=f"Mobile sites per zone (target {TARGET_5G_YEAR}: ≥ 1 5G site each)",
                        barmode="group", xaxis_title="sites", yaxis_autorange="reversed",
                        legend_traceorder="normal", **layout)
    over = report["distributions"]["oversubscription_down"]
    oversub = go.Figure(go.Bar(x=over["bins"], y=over["counts"], marker_color="#1f5f99",
                               text=over["counts"], textposition="outside"))
    oversub.update_layout(title="PON ports in use by downstream oversubscription (Σ max / C)",
                          xaxis_title="oversubscription", yaxis_title="ports", **layout)
    fill = report["distributions"]["duct_fill_of_limit"]
    bins = ["unused", *fill["bins"]]
    counts = [fill["unused"], *fill["counts"]]
    colours = ["#9db4cc", *(["#1b6e3a"] * (len(fill["counts"]) - 1)), "#b3261e"]
    ductfill = go.Figure(go.Bar(x=bins, y=counts, marker_color=colours, text=counts,
                                textposition="outside"))
    ductfill.update_layout(title="Ducts by fill, as a share of their fill limit (red: over)",
                           xaxis_title="fill ÷ limit", yaxis_title="ducts and innerducts",
                           **layout)
    return [("coverage", coverage), ("sites", fiveg), ("oversubscription", oversub),
            ("duct-fill", ductfill)]


def _fmt_share(share: float | None, target: float = 1.0) -> str:
    if share is None:
        return '<span class="small">—</span>'
    cls = "ok" if share >= target else "bad"
    return f'<span class="{cls}">{_pct(share)}</span>'


def _table(report: dict[str, Any]) -> str:
    head = (
        "<tr><th class='l'>Zone</th><th class='l'>Kind</th><th>Sites</th><th>5G</th>"
        "<th>Enterprise ONTs</th><th>10G-sym.</th><th>Enterprises</th>"
        "<th>Guaranteed ↓/↑ Gbit/s</th><th>Peak ↓ Gbit/s (Σ)</th><th>Oversub. ↓</th>"
        "<th>GPON ports (in use: ready/E1/E2/re-eng.)</th><th>Shared duct-m</th>"
        "<th>Ducts over limit</th><th class='l'>Gaps</th></tr>"
    )
    rows = []
    for z in [*report["zones"], {**report["totals"], "id": "", "name": "All zones", "kind": "",
                                 "district": None, "oversubscription_down": None,
                                 "gaps": [], "_total": True}]:
        g = z["gpon_port_readiness"]
        gpon = (f"{g['total']} ({g['in_use']}: {g['ready']} / {g['needs_e1']} / "
                f"{g['needs_e2']} / {g['needs_re_engineering']})" if g["total"] else "0")
        five = z["sites_5g"]
        five_html = f'<span class="bad">{five}</span>' if five == 0 else str(five)
        over = z["oversubscription_down"]
        gaps = "<br>".join(html.escape(gap["text"]) for gap in z["gaps"])
        where = html.escape(" · ".join(x for x in (z["id"], z.get("district")) if x))
        cls = " class='total'" if z.get("_total") else ""
        rows.append(
            f"<tr{cls}>"
            f"<td class='l zone'>{html.escape(z['name'])}<br>"
            f"<span class='small'>{where}</span></td>"
            f"<td class='l'>{html.escape(KIND_LABEL.get(z['kind'], z['kind']))}</td>"
            f"<td>{z['sites']}</td><td>{five_html}</td><td>{_n(z['enterprise_onts'])}</td>"
            f"<td>{_fmt_share(z['enterprise_ten_g_symmetric_share'])}</td><td>{_n(z['enterprises'])}</td>"
            f"<td>{z['enterprise_guaranteed_down_mbps'] / 1000:,.1f} / "
            f"{z['enterprise_guaranteed_up_mbps'] / 1000:,.1f}"
            f"</td><td>{z['enterprise_peak_down_mbps'] / 1000:,.0f}</td>"
            f"<td>{'—' if over is None else f'{over:.1f}×'}</td><td class='nw'>{gpon}</td>"
            f"<td>{_n(z['shared_duct_metres'])} ({_pct(z['shared_duct_share'])})</td>"
            f"<td>{z['ducts_over_limit']} of {_n(z['ducts'])}"
            + (f"<br><span class='small'>innerducts {z['innerducts_over_limit']} of "
               f"{_n(z['innerducts'])}</span>" if z["innerducts"] else "")
            + f"</td><td class='l small gaps'>{gaps}</td></tr>"
        )
    return (f"<div class='wide'><table><thead>{head}</thead><tbody>{''.join(rows)}</tbody>"
            "</table></div>")


def report_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page: title, date, the gaps in words, the table and the charts.

    plotly.js is inlined from the installed plotly package, so the file opens offline and
    loads nothing from the network.
    """
    from plotly.offline import get_plotlyjs

    t = report["totals"]
    title = html.escape(report["title"])
    items = [f"<li>{html.escape(g['text'])}</li>" for g in t["gaps"]]
    items.append(f"<li>{html.escape(t['baseline']['text'])}</li>")
    items.append(
        f"<li>{_n(t['enterprises'])} enterprises on {_n(t['enterprise_onts'])} enterprise ONTs; "
        f"{_n(t['shared_duct_metres'])} of {_n(t['duct_metres'])} duct-metres "
        f"({_pct(t['shared_duct_share'])}) are shared by two or more operators.</li>"
    )
    targets = "".join(
        f"<li><b>{html.escape(x['description'])}</b>: {_n(x['current'])} of {_n(x['target'])} "
        f"{html.escape(x['unit'])}, {'met' if x['met'] else 'gap ' + _n(x['gap'])}; "
        f"{html.escape(x['when'])}.</li>"
        for x in t["targets"]
    )
    config = {"displaylogo": False, "displayModeBar": False, "responsive": True}
    charts = "".join(
        "<div>" + fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{name}",
                              config=config) + "</div>"
        for name, fig in _figures(report)
    )
    network = html.escape(report.get("network") or "")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{title}</title>"
        f"<style>{_CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<h1>{title}</h1>"
        f"<p class='meta'>{html.escape(report['plan'])} · reporting year {report['year']} "
        f"(due before 30 November {report['year']}) · generated {report['generated']}"
        f"{' · ' + network if network else ''}</p>"
        f"<h2>Summary</h2><ul class='summary'>{''.join(items)}</ul>"
        f"<h2>Targets</h2><ul>{targets}</ul>"
        f"<h2>Zones</h2>{_table(report)}"
        f"<p class='small'>10G-symmetric: XGS-PON (or faster) line rate both ways, optical budget "
        f"closing in both directions within its class, OLT uplink ≥ 10 Gbit/s. GPON readiness "
        f"with class {html.escape(report['optics_class'])} optics and a coexistence element. "
        f"Shared duct-metres: ducts used by two or more operators. Every figure is computed "
        f"from the inventory.</p>"
        f"<h2>Charts</h2><div class='charts'>{charts}</div>"
        "</body></html>\n"
    )
