"""The browser viewer's figure data, per zone and per layer, computed server-side.

Everything here returns plain JSON-ready dicts: plotly traces (``x``, ``y``, ``customdata``
= element ids, precomputed ``hovertext``, colours and symbols) and the lookups the page needs
for highlighting. The page (``api/static/viewer.js``) only draws them; the same dicts are
embedded in the self-contained HTML file of ``ponmodel view``.

- **Physical layer**: structures at their coordinates (metres east and north of the zone's
  centre), ducts as lines coloured by fill against their limit and as wide as the number of
  operators sharing them. Innerducts are drawn with their host (same two structures): the
  host takes the worst status of its family and its hover lists them.
- **PON layer**: each port's tree (port → splitters → ONTs) in a layered tidy layout (leaves
  one unit apart in depth-first order, a parent centred over its first and last child), ports
  side by side and grouped by OLT; ONTs coloured by their budget verdict and headroom and
  shaped by kind; feeder and drop lines drawn per technology (GPON dashed).

Colour rules:

- fill: the duct report's verdicts (:mod:`ponmodel.topology.ducts`): red over the limit,
  amber near it (occupied and from 90 % of the limit, ``NEAR_SHARE``), green below;
- ONTs: red when they fail any check (downstream, upstream, class window, reach or split:
  exactly the headline's ``onts_failing_budget``), else amber below 3 dB of worst-direction
  headroom, else green.

A figure is drawn with WebGL (``scattergl``) from :data:`WEBGL_FROM` markers on, with SVG
below (crisper); never both in one figure.

Examples
--------
>>> headroom_colour(-0.4) == RED, headroom_colour(2.9) == AMBER, headroom_colour(3.0) == GREEN
(True, True, True)
>>> fill_status(0.30, 0.40), fill_status(0.36, 0.40), fill_status(0.41, 0.40)
('within', 'near', 'over')
"""

from __future__ import annotations

import html
import json
import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ponmodel.document import KIND_OF_COLLECTION, Document
from ponmodel.topology.budget import BudgetReport, hop_losses, network_budget
from ponmodel.topology.build import Topology
from ponmodel.topology.capacity import CapacityReport, network_capacity
from ponmodel.topology.ducts import NEAR_SHARE, DuctFill, DuctReport, duct_fill
from ponmodel.topology.figures import failed_checks, zone_figures
from ponmodel.topology.pack import pack_forest

GREEN = "#2a9d46"
AMBER = "#f2a100"
RED = "#d7301f"
GREY = "#9aa0a6"
HEADROOM_AMBER_DB = 3.0
"""An ONT is amber below this worst-direction headroom (the catalogue's design margin)."""
WEBGL_FROM = 3000
"""Points in a trace from which it is drawn with WebGL (``scattergl``)."""

FILL_COLOURS = {"within": GREEN, "near": AMBER, "over": RED}
FILL_LABELS = {
    "within": f"below {NEAR_SHARE:.0%} of its fill limit",
    "near": f"occupied, {NEAR_SHARE:.0%}-100 % of its fill limit",
    "over": "over its fill limit",
}
OPERATOR_WIDTHS = (1.5, 2.5, 4.5, 6.5)
"""Duct line width by operators sharing it: 0, 1, 2, 3 or more."""

ONT_SYMBOLS = {
    "enterprise": "square",
    "residential": "circle",
    "iot_gateway": "triangle-up",
    "site_5g": "star",
    "site_4g": "diamond",
    "site_backhaul": "hexagon",
}
ONT_KIND_LABELS = {
    "enterprise": "enterprise",
    "residential": "residential",
    "iot_gateway": "IoT gateway",
    "site_5g": "5G site backhaul",
    "site_4g": "4G site backhaul",
    "site_backhaul": "site backhaul (no site on record)",
}
STRUCTURE_SYMBOLS = {
    "exchange": "square",
    "cabinet": "diamond",
    "manhole": "circle",
    "handhole": "circle-open",
    "pole": "cross-thin-open",
    "building": "square-open",
}
STRUCTURE_COLOURS = {
    "exchange": "#1f3b73",
    "cabinet": "#5b4a8b",
    "manhole": "#4d5965",
    "handhole": "#6f7b86",
    "pole": "#8a6d3b",
    "building": "#374151",
}
TECH_STYLES = {
    "gpon": {"color": "#b5651d", "dash": "dash", "label": "GPON (2.5/1.25 Gbit/s)"},
    "xg-pon": {"color": "#2c6fbb", "dash": "dot", "label": "XG-PON (10/2.5 Gbit/s)"},
    "xgs-pon": {"color": "#1b4f8a", "dash": "solid", "label": "XGS-PON (10/10 Gbit/s)"},
    "25gs-pon": {"color": "#6a3d9a", "dash": "solid", "label": "25GS-PON"},
}
_EPS = 1e-12
"""Tolerance of the share comparisons: 80 % of 0.40 is 0.32, not 0.32000000000000006."""
_METRES_PER_DEG_LAT = 110_574.0
_METRES_PER_DEG_LON_EQUATOR = 111_320.0


# --------------------------------------------------------------------------- the engines


def zone_reports(doc: Document) -> tuple[BudgetReport, CapacityReport, DuctReport]:
    """Budget, capacity and duct fill of one zone's document, the PON forest packed once."""
    forest = pack_forest(doc)
    budget = network_budget(doc, forest=forest)
    capacity = network_capacity(doc, forest=forest, budget=budget)
    return budget, capacity, duct_fill(doc)


# --------------------------------------------------------------------------- formatting


def fmt_db(value: float) -> str:
    """A loss, power or headroom figure as the engine writes it: one decimal, true minus.

    >>> fmt_db(-1.25), fmt_db(3.04)
    ('−1.2', '3.0')
    """
    return f"{value:.1f}".replace("-", "−")


def fmt_rate(mbps: float) -> str:
    """A rate in Mbit/s below 1 Gbit/s, else in Gbit/s.

    >>> fmt_rate(300.0), fmt_rate(2500.0), fmt_rate(10000.0)
    ('300 Mbit/s', '2.5 Gbit/s', '10 Gbit/s')
    """
    if mbps < 1000.0:
        return f"{mbps:,.0f} Mbit/s"
    return f"{mbps / 1000.0:,.2f}".rstrip("0").rstrip(".") + " Gbit/s"


def fmt_percent(part: float, whole: float) -> str:
    """``part / whole`` as a percentage with one decimal, an em dash when ``whole`` is 0."""
    return "—" if not whole else f"{100.0 * part / whole:.1f} %"


def _esc(text: object) -> str:
    return html.escape(str(text), quote=False)


def _wrap(text: str, width: int = 72) -> str:
    """Break a long hover line at spaces (``<br>``): a label wider than the plot is cut off.

    >>> _wrap("a b c", 3)
    'a b<br>c'
    """
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return "<br>".join(lines)


# --------------------------------------------------------------------------- colour rules


def fill_status(fill_ratio: float, limit_ratio: float, over_limit: bool | None = None) -> str:
    """``within`` (below ``NEAR_SHARE`` of the limit), ``near`` (from it up to the limit) or
    ``over``: the duct report's rule (:mod:`ponmodel.topology.ducts`), so that the colour
    and the report's ``near_limit`` agree.

    ``over_limit``, when given, is the duct report's verdict (it compares with a tolerance).
    """
    over = fill_ratio > limit_ratio if over_limit is None else over_limit
    if over:
        return "over"
    if limit_ratio > 0 and fill_ratio > 0 and fill_ratio >= NEAR_SHARE * limit_ratio - _EPS:
        return "near"
    return "within"


def duct_status(d: DuctFill) -> str:
    """A duct report row's status: its own ``over_limit`` and ``near_limit`` verdicts."""
    return "over" if d.over_limit else "near" if d.near_limit else "within"


def fill_colour(fill_ratio: float, limit_ratio: float) -> str:
    """The colour of a duct's fill against its limit (see :func:`fill_status`)."""
    return FILL_COLOURS[fill_status(fill_ratio, limit_ratio)]


def ont_colour(budget: Any) -> str:
    """An ONT's colour: red when it fails any check (:func:`ponmodel.topology.figures.
    ont_verdict`), else amber below 3 dB of worst-direction headroom, else green; grey
    without a budget. Red ONTs are exactly the headline's ``onts_failing_budget``."""
    if budget is None:
        return GREY
    if not budget.ok:
        return RED
    return headroom_colour(budget.worst_headroom_db)


def headroom_colour(headroom_db: float | None) -> str:
    """Red below 0 dB, amber below 3 dB, green from 3 dB; grey when unknown (no budget)."""
    if headroom_db is None or math.isnan(headroom_db):
        return GREY
    if headroom_db < 0.0:
        return RED
    if headroom_db < HEADROOM_AMBER_DB:
        return AMBER
    return GREEN


def operator_width(operators: int) -> float:
    """Line width of a duct shared by ``operators`` operators."""
    return OPERATOR_WIDTHS[min(max(operators, 0), len(OPERATOR_WIDTHS) - 1)]


def _scatter_type(points: int) -> str:
    return "scattergl" if points >= WEBGL_FROM else "scatter"


def _one_renderer(traces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All traces of a figure drawn by one renderer: WebGL when its points (markers) reach
    :data:`WEBGL_FROM`, else SVG. Mixing both in one plot was measured slower than either."""
    markers = sum(len(t["x"]) for t in traces if t["mode"] != "lines")
    kind = _scatter_type(markers)
    for t in traces:
        t["type"] = kind
    return traces


# --------------------------------------------------------------------------- tidy tree layout


@dataclass
class TreeLayout:
    """Positions of the PON nodes: ``x`` (leaf units) and ``depth`` (0 = port)."""

    x: dict[str, float] = field(default_factory=dict)
    depth: dict[str, int] = field(default_factory=dict)
    parent: dict[str, str] = field(default_factory=dict)
    width: float = 0.0


def tidy_layout(
    roots: Sequence[str],
    children: dict[str, list[str]],
    *,
    gap: float = 2.0,
    group_of: dict[str, str] | None = None,
    group_gap: float = 3.0,
) -> TreeLayout:
    """A layered tidy layout of a forest, trees side by side.

    Leaves take consecutive x positions (one unit apart) in depth-first order; a parent sits
    midway between its first and last child; each root's tree starts ``gap`` units after the
    previous one, ``group_gap`` when the root's group (its OLT) changes. Subtrees never
    overlap: each owns its own range of leaves.

    Examples
    --------
    >>> t = tidy_layout(["P1", "P2"], {"P1": ["S"], "S": ["a", "b", "c"], "P2": ["d"]})
    >>> [t.x[n] for n in ("a", "b", "c", "S", "P1", "d", "P2")]
    [0.0, 1.0, 2.0, 1.0, 1.0, 4.0, 4.0]
    >>> t.depth["c"], t.parent["S"]
    (2, 'P1')
    """
    out = TreeLayout()
    cursor = 0.0
    previous_group: str | None = None
    first = True
    for root in roots:
        group = (group_of or {}).get(root)
        if not first:
            cursor += group_gap if group != previous_group else gap
        first = False
        previous_group = group
        # Iterative post-order walk: a node is placed once all its children are.
        out.depth[root] = 0
        stack: list[tuple[str, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            kids = children.get(node, [])
            if expanded or not kids:
                if kids:
                    out.x[node] = (out.x[kids[0]] + out.x[kids[-1]]) / 2.0
                else:
                    out.x[node] = cursor
                    cursor += 1.0
                continue
            stack.append((node, True))
            for kid in reversed(kids):
                out.parent[kid] = node
                out.depth[kid] = out.depth[node] + 1
                stack.append((kid, False))
        cursor -= 1.0  # the last leaf's slot; the gap is added before the next tree
    out.width = max(cursor, 0.0)
    return out


# --------------------------------------------------------------------------- zones and index


def zone_of_elements(doc: Document) -> dict[str, str | None]:
    """Element id → zone: a structure's own, else that of the structure it sits at or starts.

    A duct takes the zone of its ``from`` structure (else its ``to``), a port its OLT's, a link
    its downstream element's, a cable its first duct's.
    """
    zone_of_structure = {s["id"]: s.get("zone") for s in doc.get("structures", [])}
    out: dict[str, str | None] = dict(zone_of_structure)
    for key in ("olts", "splitters", "onts"):
        for e in doc.get(key, []):
            out[e["id"]] = zone_of_structure.get(e["structure"])
    for olt in doc.get("olts", []):
        for port in olt.get("ports", []):
            out[port["id"]] = out[olt["id"]]
    for d in doc.get("ducts", []):
        out[d["id"]] = zone_of_structure.get(d["from"]) or zone_of_structure.get(d["to"])
    for c in doc.get("cables", []):
        out[c["id"]] = next((out.get(d) for d in c.get("ducts", []) if out.get(d)), None)
    for link in doc.get("links", []):
        out[link["id"]] = out.get(link["to"]) or out.get(link["from"])
    for s in doc.get("sites", []):
        out[s["id"]] = s.get("zone")
    for z in doc.get("zones", []):
        out[z["id"]] = z["id"]
    return out


def zone_list(doc: Document) -> list[dict[str, Any]]:
    """The zone picker's entries: id, name, kind, district and ONT count, by name."""
    zone_of_structure = {s["id"]: s.get("zone") for s in doc.get("structures", [])}
    onts = Counter(zone_of_structure.get(o["structure"]) for o in doc.get("onts", []))
    rows = [
        {"id": z["id"], "name": z.get("name") or z["id"], "kind": z.get("kind"),
         "district": z.get("district"), "onts": onts.get(z["id"], 0)}
        for z in doc.get("zones", [])
    ]
    return sorted(rows, key=lambda r: (_fold(r["name"]), r["id"]))


def zone_picker(doc: Document) -> dict[str, Any]:
    """The zone picker's and the operator filter's entries."""
    used = {o["operator"] for o in doc.get("olts", [])} | {
        c["operator"] for c in doc.get("cables", [])} | {d["owner"] for d in doc.get("ducts", [])}
    operators = [{"id": o["id"], "name": o.get("name") or o["id"]}
                 for o in doc.get("operators", []) if o["id"] in used]
    return {"zones": zone_list(doc), "operators": operators}


def _fold(text: str) -> str:
    """Lower case without accents (Vietnamese names are searched without their marks).

    >>> _fold("Khu công nghệ cao Hòa Lạc"), _fold("Đông La")
    ('khu cong nghe cao hoa lac', 'dong la')
    """
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


@dataclass
class SearchIndex:
    """Every element id, customer and name of a network, folded for search."""

    entries: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    """``(folded id, folded words, entry)``."""


def search_index(doc: Document) -> SearchIndex:
    """Index every element (any kind, ports included) by id, name and customer."""
    zones = zone_of_elements(doc)
    idx = SearchIndex()

    def add(kind: str, element_id: str, label: str = "") -> None:
        entry = {"id": element_id, "kind": kind, "zone": zones.get(element_id), "label": label}
        idx.entries.append((_fold(element_id), _fold(label), entry))

    for key, kind in KIND_OF_COLLECTION.items():
        for e in doc.get(key, []):
            label = e.get("customer") or e.get("name") or ""
            if kind == "site":
                label = f"{e.get('generation', '').upper()} site of {e['operator']}"
            add(kind, e["id"], label)
            if key == "olts":
                for port in e.get("ports", []):
                    add("port", port["id"], f"{port['technology']} {port['optics_class']}")
    return idx


def search(index: SearchIndex, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Elements whose id, name or customer contains ``query`` (case and accents ignored).

    Exact ids first, then ids starting with the query, then the rest; by id within each.
    """
    q = _fold(query.strip())
    if not q:
        return []
    found: list[tuple[int, str, dict[str, Any]]] = []
    for folded_id, words, entry in index.entries:
        if folded_id == q:
            rank = 0
        elif folded_id.startswith(q):
            rank = 1
        elif q in folded_id:
            rank = 2
        elif q in words:
            rank = 3
        else:
            continue
        found.append((rank, entry["id"], entry))
    found.sort(key=lambda r: (r[0], r[1]))
    return [entry for _, _, entry in found[:limit]]


# --------------------------------------------------------------------------- physical layer


def _projection(doc: Document, zone: str | None) -> tuple[float, float, float]:
    """(lon0, lat0, metres per degree of longitude) at the centre of the zone's structures."""
    located = [s for s in doc.get("structures", []) if s.get("lon") is not None]
    own = [s for s in located if s.get("zone") == zone] or located
    if not own:
        return 0.0, 0.0, _METRES_PER_DEG_LON_EQUATOR
    lon0 = sum(s["lon"] for s in own) / len(own)
    lat0 = sum(s["lat"] for s in own) / len(own)
    return lon0, lat0, _METRES_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))


def _duct_hover(d: DuctFill, family: list[DuctFill], cable_operator: dict[str, str],
                status: str) -> str:
    by_op = Counter(cable_operator.get(c, "?") for c in d.cables)
    occupants = ", ".join(
        f"{op} {n} cable{'s' if n > 1 else ''}" for op, n in sorted(by_op.items())
    ) or "no cable"
    lines = [
        f"<b>{_esc(d.id)}</b> · duct {d.inner_diameter_mm:g} mm · {d.length_m:,.0f} m · "
        f"owner {_esc(d.owner)}",
        f"{_esc(d.from_structure)} → {_esc(d.to_structure)}",
        f"fill {100 * d.fill_ratio:.1f} % · limit {100 * d.limit_ratio:.0f} % "
        f"({d.limit_source}) · "
        f"{FILL_LABELS[duct_status(d)]}",
        f"occupants: {_esc(occupants)}"
        + (f"; {len(d.innerducts)} innerduct{'s' if len(d.innerducts) > 1 else ''}"
           if d.innerducts else ""),
    ]
    for inner in family[1:]:
        ops = Counter(cable_operator.get(c, "?") for c in inner.cables)
        who = ", ".join(f"{op} {n}" for op, n in sorted(ops.items())) or "empty"
        lines.append(
            f"  innerduct {_esc(inner.id)} {inner.inner_diameter_mm:g} mm: fill "
            f"{100 * inner.fill_ratio:.1f} % of {100 * inner.limit_ratio:.0f} % ({_esc(who)})"
        )
    if d.operators:
        lines.append(f"shared by {len(d.operators)} operator{'s' if len(d.operators) > 1 else ''}"
                     f": {_esc(', '.join(d.operators))}")
    lines.append(f"room for a new cable up to {d.max_new_cable_mm:.1f} mm")
    if status != duct_status(d):
        lines.append(f"drawn {status}: an innerduct is {FILL_LABELS[status]}")
    return "<br>".join(lines)


def physical_layer(
    topo: Topology, ducts: DuctReport, *, zone: str | None = None, operator: str | None = None
) -> dict[str, Any]:
    """Structures at their coordinates and ducts coloured by fill, as plotly traces.

    Parameters
    ----------
    topo : Topology
        The zone's topology (:func:`ponmodel.topology.build.subset_for_zone`).
    ducts : DuctReport
        :func:`ponmodel.topology.ducts.duct_fill` of the same document.
    zone : str, optional
        The zone (centres the projection on its structures).
    operator : str, optional
        Only the ducts this operator owns or has a cable in.

    Returns
    -------
    dict
        ``traces`` (duct lines per colour and width, ``ducts`` midpoints carrying hover and
        click, one ``structures: <kind>`` trace per kind), ``ducts`` (id → end coordinates
        for highlighting), ``structures`` (id → coordinates), ``counts`` and ``layout``.
    """
    doc = topo.doc
    lon0, lat0, m_per_lon = _projection(doc, zone)

    def xy(s: dict[str, Any]) -> tuple[float, float]:
        return (round((s["lon"] - lon0) * m_per_lon, 1),
                round((s["lat"] - lat0) * _METRES_PER_DEG_LAT, 1))

    located = {s["id"]: s for s in doc.get("structures", []) if s.get("lon") is not None}
    pos = {sid: xy(s) for sid, s in located.items()}
    cable_operator = {c["id"]: c["operator"] for c in doc.get("cables", [])}
    rows = {d.id: d for d in ducts.ducts}
    inner_of: dict[str, list[str]] = defaultdict(list)
    for d in ducts.ducts:
        if d.within is not None:
            inner_of[d.within].append(d.id)

    def family(duct_id: str) -> list[DuctFill]:
        out = [rows[duct_id]]
        i = 0
        while i < len(out):
            out.extend(rows[k] for k in inner_of.get(out[i].id, ()))
            i += 1
        return out

    rank = {"within": 0, "near": 1, "over": 2}
    groups: dict[tuple[str, int], tuple[list[float | None], list[float | None]]] = {}
    mid_x: list[float] = []
    mid_y: list[float] = []
    mid_ids: list[str] = []
    mid_text: list[str] = []
    mid_colour: list[str] = []
    ends: dict[str, list[float]] = {}
    status_count: Counter[str] = Counter()
    for d in ducts.ducts:
        if d.within is not None or d.from_structure not in pos or d.to_structure not in pos:
            continue
        fam = family(d.id)
        if operator is not None and operator != d.owner and operator not in d.operators:
            continue
        status = max((duct_status(f) for f in fam), key=rank.__getitem__)
        status_count[status] += 1
        width_class = min(len(d.operators), len(OPERATOR_WIDTHS) - 1)
        (x0, y0), (x1, y1) = pos[d.from_structure], pos[d.to_structure]
        gx, gy = groups.setdefault((status, width_class), ([], []))
        gx.extend((x0, x1, None))
        gy.extend((y0, y1, None))
        mid_x.append(round((x0 + x1) / 2, 1))
        mid_y.append(round((y0 + y1) / 2, 1))
        mid_ids.append(d.id)
        mid_text.append(_duct_hover(d, fam, cable_operator, status))
        mid_colour.append(FILL_COLOURS[status])
        ends[d.id] = [x0, y0, x1, y1]

    traces: list[dict[str, Any]] = []
    for (status, width_class), (gx, gy) in sorted(
        groups.items(), key=lambda kv: (rank[kv[0][0]], kv[0][1])
    ):
        traces.append({
            "type": "scatter", "mode": "lines",
            "name": f"ducts {status} · {width_class} operator(s)",
            "x": gx, "y": gy, "hoverinfo": "skip", "showlegend": False,
            # an over-limit duct is drawn at least 4 px wide: it is what the eye must find
            "line": {"color": FILL_COLOURS[status],
                     "width": max(operator_width(width_class), 4.0 if status == "over" else 0)},
            "meta": {"role": "duct-lines", "status": status},
        })
    traces.append({
        "type": "scatter", "mode": "markers", "name": "ducts",
        "x": mid_x, "y": mid_y, "customdata": mid_ids, "hovertext": mid_text,
        "hoverinfo": "text", "showlegend": False,
        "marker": {"color": mid_colour, "size": [10 if c == RED else 6 for c in mid_colour],
                   "symbol": "circle",
                   "line": {"color": "#ffffff", "width": 1}},
        "meta": {"role": "duct"},
    })

    equipment: dict[str, Counter[str]] = defaultdict(Counter)
    for key, label in (("olts", "OLT"), ("splitters", "splitter"), ("onts", "ONT")):
        for e in doc.get(key, []):
            equipment[e["structure"]][label] += 1
    for site in doc.get("sites", []):
        if site.get("structure"):
            equipment[site["structure"]][f"{site.get('generation', '').upper()} site"] += 1
    ducts_at: Counter[str] = Counter()
    for d in doc.get("ducts", []):
        if d.get("within") is None:
            ducts_at[d["from"]] += 1
            ducts_at[d["to"]] += 1
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in located.values():
        by_kind[s.get("kind", "structure")].append(s)
    structure_count = 0
    for kind in sorted(by_kind, key=lambda k: (k not in STRUCTURE_SYMBOLS, k)):
        members = by_kind[kind]
        structure_count += len(members)
        xs, ys, ids, text = [], [], [], []
        for s in members:
            x, y = pos[s["id"]]
            xs.append(x)
            ys.append(y)
            ids.append(s["id"])
            held = equipment.get(s["id"], Counter())
            what = ", ".join(
                f"{n} {label}{'s' if n > 1 else ''}" for label, n in sorted(held.items())
            ) or "no equipment"
            outside = "" if s.get("zone") == zone else f" · zone {_esc(s.get('zone') or '—')}"
            name = f" · {_esc(s['name'])}" if s.get("name") else ""
            text.append(
                f"<b>{_esc(s['id'])}</b> · {_esc(kind)}{name}{outside}<br>"
                f"{ducts_at.get(s['id'], 0)} duct(s) · {_esc(what)}<br>"
                f"{s['lat']:.5f}° N, {s['lon']:.5f}° E<br>click: what fails with it"
            )
        traces.append({
            "type": "scatter", "mode": "markers", "name": f"structures: {kind}",
            "x": xs, "y": ys, "customdata": ids, "hovertext": text, "hoverinfo": "text",
            "showlegend": True,
            "marker": {"symbol": STRUCTURE_SYMBOLS.get(kind, "circle"),
                       "color": STRUCTURE_COLOURS.get(kind, "#555555"),
                       "size": 11 if kind == "exchange" else 9 if kind == "cabinet" else 6},
            "meta": {"role": "structure", "kind": kind},
        })
    return {
        "layer": "physical",
        "zone": zone,
        "operator": operator,
        "traces": _one_renderer(traces),
        "ducts": ends,
        "structures": {sid: list(p) for sid, p in pos.items()},
        "counts": {"structures": structure_count, "ducts": len(mid_ids),
                   **{f"ducts_{k}": status_count.get(k, 0) for k in FILL_COLOURS}},
        "layout": {
            "xaxis": {"title": {"text": "metres east of the zone centre"}, "zeroline": False},
            "yaxis": {"title": {"text": "metres north"}, "zeroline": False,
                      "scaleanchor": "x", "scaleratio": 1},
        },
        "origin": {"lon": lon0, "lat": lat0},
        "legend": [
            *({"label": f"duct {FILL_LABELS[k]}", "colour": c, "line": 4} for k, c in
              FILL_COLOURS.items()),
            *({"label": f"shared by {n}{'+' if n == len(OPERATOR_WIDTHS) - 1 else ''} "
                        f"operator{'s' if n != 1 else ''}", "colour": "#4b5563",
               "line": operator_width(n)} for n in range(1, len(OPERATOR_WIDTHS))),
            *({"label": k, "colour": STRUCTURE_COLOURS[k], "symbol": STRUCTURE_SYMBOLS[k]}
              for k in STRUCTURE_SYMBOLS),
        ],
    }


# --------------------------------------------------------------------------- PON layer


def _ont_kinds(doc: Document) -> dict[str, str]:
    """ONT id → legend kind: a site backhaul ONT becomes ``site_5g`` / ``site_4g``."""
    generation = {s["backhaul_ont"]: s.get("generation") for s in doc.get("sites", [])
                  if s.get("backhaul_ont")}
    out = {}
    for o in doc.get("onts", []):
        kind = o["kind"]
        if kind == "site_backhaul" and generation.get(o["id"]) in ("5g", "4g"):
            kind = f"site_{generation[o['id']]}"
        out[o["id"]] = kind
    return out


def ont_hover(ont: dict[str, Any], kind: str, budget: Any, capacity: Any,
              port: dict[str, Any] | None, olt: dict[str, Any] | None) -> str:
    """The key figures of an ONT: both directions' loss and headroom, rates, 10G verdict."""
    who = f" · {_esc(ont['customer'])}" if ont.get("customer") else ""
    lines = [f"<b>{_esc(ont['id'])}</b> · {_esc(ONT_KIND_LABELS.get(kind, kind))}{who}"]
    if budget is None or port is None or olt is None:
        lines.append("not connected to a PON port")
        return "<br>".join(lines)
    lines.append(
        f"{_esc(port['id'])} · {_esc(port['technology'].upper())} {_esc(port['optics_class'])} · "
        f"{_esc(olt['operator'])} · {budget.distance_m / 1000:.2f} km · split 1:{budget.split}"
    )
    for name, arrow, d in (("down", "↓", budget.downstream), ("up", "↑", budget.upstream)):
        lines.append(
            f"{arrow} {name} {d.wavelength_nm} nm: loss {fmt_db(d.loss_db)} dB · "
            f"headroom {fmt_db(d.headroom_db)} dB {'✓' if d.ok else '✗'}"
        )
    verdict = ("within budget (every check)" if budget.ok else
               f"FAILS ({_esc(', '.join(failed_checks(budget)))}): "
               + _esc("; ".join(budget.problems)))
    lines.append(_wrap(verdict))
    if capacity is not None:
        lines.append(
            f"guaranteed {fmt_rate(capacity.down.guaranteed_mbps)} ↓ / "
            f"{fmt_rate(capacity.up.guaranteed_mbps)} ↑ · full load "
            f"{fmt_rate(capacity.down.full_load_mbps)} ↓ / {fmt_rate(capacity.up.full_load_mbps)} ↑"
        )
        lines.append(
            # a property of the line and the uplink, not of the load: said where it is shown
            "10G-symmetric: yes (a property of the XGS-PON line and the uplink, "
            "whatever the load)"
            if capacity.ten_g_symmetric
            else _wrap("10G-symmetric: no (" + _esc("; ".join(capacity.reasons)) + ")")
        )
    lines.append("click: trace to the OLT")
    return "<br>".join(lines)


def pon_layer(
    topo: Topology, budget: BudgetReport, capacity: CapacityReport, *,
    zone: str | None = None, operator: str | None = None,
) -> dict[str, Any]:
    """The PON trees of a zone (port → splitters → ONTs) as plotly traces.

    Parameters
    ----------
    topo : Topology
        The zone's topology (whole trees: :func:`ponmodel.topology.build.subset_for_zone`).
    budget, capacity : BudgetReport, CapacityReport
        :func:`~ponmodel.topology.budget.network_budget` and
        :func:`~ponmodel.topology.capacity.network_capacity` of the same document.
    zone : str, optional
        The zone shown (ONTs outside it are marked so in their hover).
    operator : str, optional
        Only the trees of this operator's OLTs.

    Returns
    -------
    dict
        ``traces``: edges per technology (``links: <technology>``), ``ports``, ``splitters``,
        ``ONTs`` (colour = worst headroom, symbol = kind; ONTs not reached from a port sit
        in a row of their own, grey); ``nodes`` (id → [x, y]), ``counts``, ``layout``
        (depth labels, OLT annotations).
    """
    doc = topo.doc
    olts = [o for o in doc.get("olts", []) if operator is None or o["operator"] == operator]
    olts.sort(key=lambda o: o["id"])
    port_of: dict[str, dict[str, Any]] = {}
    olt_of: dict[str, dict[str, Any]] = {}
    roots: list[str] = []
    for olt in olts:
        for port in olt.get("ports", []):
            roots.append(port["id"])
            port_of[port["id"]] = port
            olt_of[port["id"]] = olt
    children: dict[str, list[str]] = defaultdict(list)
    for link in doc.get("links", []):
        children[link["from"]].append(link["to"])
    layout = tidy_layout(roots, children, gap=1.5, group_of={p: olt_of[p]["id"] for p in roots},
                         group_gap=4.0)
    root_of: dict[str, str] = {}
    for node in layout.x:
        up = node
        while up in layout.parent:
            up = layout.parent[up]
        root_of[node] = up

    ont_budget = {o.id: o for o in budget.onts}
    ont_capacity = {o.id: o for o in capacity.onts}
    kinds = _ont_kinds(doc)
    zone_of_structure = {s["id"]: s.get("zone") for s in doc.get("structures", [])}
    splitters = {s["id"]: s for s in doc.get("splitters", [])}
    onts = [o for o in doc.get("onts", [])
            if o["id"] in layout.x or (operator is None and o["id"] not in root_of)]
    # ONTs no port reaches: a row of their own, after the trees
    stray_x = layout.width + 4.0
    max_depth = max(layout.depth.values(), default=0)

    def y_of(node: str) -> float:
        return -float(layout.depth[node])

    nodes: dict[str, list[float]] = {}
    # edges, per technology, drawn as elbows: parent down to mid-level, across, down to child
    edges: dict[str, tuple[list[float | None], list[float | None]]] = {}
    for parent, kids in children.items():
        placed = [k for k in kids if k in layout.x]
        if parent not in layout.x or not placed:
            continue
        tech = port_of[root_of[parent]]["technology"]
        ex, ey = edges.setdefault(tech, ([], []))
        px, py = layout.x[parent], y_of(parent)
        mid = py - 0.5
        xs = [layout.x[k] for k in placed]
        ex.extend((px, px, None, min(xs), max(xs), None))
        ey.extend((py, mid, None, mid, mid, None))
        for k in placed:
            ex.extend((layout.x[k], layout.x[k], None))
            ey.extend((mid, y_of(k), None))
    traces: list[dict[str, Any]] = []
    for tech in sorted(edges, key=lambda t: t != "gpon"):
        ex, ey = edges[tech]
        style = TECH_STYLES.get(tech, {"color": "#555555", "dash": "solid", "label": tech})
        traces.append({
            "type": "scatter", "mode": "lines", "name": f"links: {tech}",
            "x": ex, "y": ey, "hoverinfo": "skip", "showlegend": False,
            "line": {"color": style["color"], "width": 1.2 if tech != "gpon" else 1.4,
                     "dash": style["dash"]},
            "meta": {"role": "links", "technology": tech},
        })

    # ports
    px_, py_, pids, ptext, pcolour = [], [], [], [], []
    onts_below: Counter[str] = Counter()
    for o in onts:
        if o["id"] in root_of:
            onts_below[root_of[o["id"]]] += 1
    for pid in roots:
        port, olt = port_of[pid], olt_of[pid]
        x, y = layout.x[pid], 0.0
        nodes[pid] = [x, y]
        px_.append(x)
        py_.append(y)
        pids.append(pid)
        style = TECH_STYLES.get(port["technology"], {"color": "#555555"})
        pcolour.append(style["color"])
        coex = port.get("coexistence_loss_db")
        ptext.append(
            f"<b>{_esc(pid)}</b> · PON port · {_esc(port['technology'].upper())} class "
            f"{_esc(port['optics_class'])}<br>OLT {_esc(olt['id'])} ({_esc(olt['operator'])}) "
            f"at {_esc(olt['structure'])} · uplink {olt['uplink_gbps']:g} Gbit/s<br>"
            f"{onts_below.get(pid, 0)} ONT(s)"
            + (f" · coexistence element {coex:g} dB" if coex else "")
            + "<br>click: what fails with it"
        )
    traces.append({
        "type": "scatter", "mode": "markers", "name": "ports",
        "x": px_, "y": py_, "customdata": pids, "hovertext": ptext, "hoverinfo": "text",
        "showlegend": False,
        "marker": {"symbol": "square", "size": 10, "color": pcolour,
                   "line": {"color": "#111111", "width": 1}},
        "meta": {"role": "port"},
    })

    # splitters
    sx, sy, sids, stext = [], [], [], []
    below: Counter[str] = Counter()
    for o in onts:
        above = layout.parent.get(o["id"])
        while above is not None:
            below[above] += 1
            above = layout.parent.get(above)
    for sid, s in splitters.items():
        if sid not in layout.x:
            continue
        x, y = layout.x[sid], y_of(sid)
        nodes[sid] = [x, y]
        sx.append(x)
        sy.append(y)
        sids.append(sid)
        ratio = (f"{s['through_percent']}/{100 - s['through_percent']} tap"
                 if s.get("through_percent") is not None else f"1:{s['ratio']}")
        stext.append(
            f"<b>{_esc(sid)}</b> · splitter {ratio} at {_esc(s['structure'])}<br>"
            f"{len(children.get(sid, []))} of {s['ratio']} outputs used · "
            f"{below.get(sid, 0)} ONT(s) below<br>click: what fails with it"
        )
    traces.append({
        "type": "scatter", "mode": "markers", "name": "splitters",
        "x": sx, "y": sy, "customdata": sids, "hovertext": stext, "hoverinfo": "text",
        "showlegend": False,
        "marker": {"symbol": "diamond", "size": 8, "color": "#4b5563"},
        "meta": {"role": "splitter"},
    })

    # ONTs
    ox, oy, oids, otext, ocolour, osymbol = [], [], [], [], [], []
    stray = 0
    tally: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    for o in onts:
        oid = o["id"]
        if oid in layout.x:
            x, y = layout.x[oid], y_of(oid)
        else:
            x, y = stray_x + stray, -float(max_depth or 1)
            stray += 1
        nodes[oid] = [x, y]
        b = ont_budget.get(oid)
        root = root_of.get(oid)
        kind = kinds[oid]
        text = ont_hover(o, kind, b, ont_capacity.get(oid),
                         port_of.get(root) if root else None, olt_of.get(root) if root else None)
        where = zone_of_structure.get(o["structure"])
        if zone is not None and where != zone:
            text += f"<br>(in zone {_esc(where or '—')})"
        colour = ont_colour(b)
        tally[colour] += 1
        verdicts.update(failed_checks(b) if b is not None else ())
        ox.append(x)
        oy.append(y)
        oids.append(oid)
        otext.append(text)
        ocolour.append(colour)
        osymbol.append(ONT_SYMBOLS.get(kind, "circle"))
    traces.append({
        "type": "scatter", "mode": "markers", "name": "ONTs",
        "x": ox, "y": oy, "customdata": oids, "hovertext": otext, "hoverinfo": "text",
        "showlegend": False,
        "marker": {"symbol": osymbol, "color": ocolour, "size": 8,
                   "line": {"color": "#1f2937", "width": 0.5}},
        "meta": {"role": "ont"},
    })

    annotations = []
    for olt in olts:
        ports = [p["id"] for p in olt.get("ports", []) if p["id"] in layout.x]
        if not ports:
            continue
        xs = [layout.x[p] for p in ports]
        annotations.append({
            "x": (min(xs) + max(xs)) / 2, "y": 0.6, "xref": "x", "yref": "y",
            "text": f"<b>{_esc(olt['id'])}</b> ({_esc(olt['operator'])})", "showarrow": False,
            "font": {"size": 11, "color": "#1f2937"},
        })
    depth_labels = ["PON ports"] + [f"level {d}" for d in range(1, max_depth + 1)]
    return {
        "layer": "pon",
        "zone": zone,
        "operator": operator,
        "traces": _one_renderer(traces),
        "nodes": nodes,
        "counts": {"ports": len(pids), "splitters": len(sids), "onts": len(oids),
                   "onts_not_connected": stray,
                   "onts_green": tally[GREEN], "onts_amber": tally[AMBER],
                   "onts_red": tally[RED],
                   "onts_failing_check": dict(sorted(verdicts.items()))},
        "layout": {
            "xaxis": {"showticklabels": False, "showgrid": False, "zeroline": False},
            "yaxis": {"tickvals": [-d for d in range(max_depth + 1)], "ticktext": depth_labels,
                      "showgrid": True, "zeroline": False,
                      "range": [-max_depth - 0.6, 1.0]},
            "annotations": annotations[:60],
        },
        "legend": [
            {"label": "within budget, headroom ≥ 3 dB (worst direction)", "colour": GREEN,
             "symbol": "circle"},
            {"label": "within budget, headroom 0-3 dB", "colour": AMBER, "symbol": "circle"},
            {"label": "fails a check (ONTs per check; one may fail several): " + (", ".join(
                f"{name} {n}" for name, n in sorted(verdicts.items())) or "none"),
             "colour": RED, "symbol": "circle"},
            *({"label": label, "colour": "#4b5563", "symbol": ONT_SYMBOLS[k]}
              for k, label in ONT_KIND_LABELS.items() if k != "site_backhaul"),
            *({"label": f"{TECH_STYLES[t]['label']} port and fibre",
               "colour": TECH_STYLES[t]["color"], "line": 2, "dash": TECH_STYLES[t]["dash"]}
              for t in sorted(set(edges) | {"gpon", "xgs-pon"}, key=lambda t: t != "gpon")
              if t in TECH_STYLES),
        ],
    }


# --------------------------------------------------------------------------- headlines


def zone_headlines(
    doc: Document, budget: BudgetReport, capacity: CapacityReport, ducts: DuctReport, *,
    zone: str, operator: str | None = None,
) -> dict[str, Any]:
    """The zone's headline figures and the cards the side panel shows.

    The figures are :func:`ponmodel.topology.figures.zone_figures` (one definition with the
    CLI, the API and the report), plus the zone's name, its sites and the duct ids over
    their limit.
    """
    zones = {z["id"]: z for z in doc.get("zones", [])}
    budget_by_id = {o.id: o for o in budget.onts}
    sites = [s for s in doc.get("sites", []) if s.get("zone") == zone
             and (operator is None or s["operator"] == operator)]
    sites_5g = [s for s in sites if s.get("generation") == "5g"]
    sites_5g_ok = sum(
        1 for s in sites_5g
        if s.get("backhaul_ont") in budget_by_id and budget_by_id[s["backhaul_ont"]].ok
    )
    shared = zone_figures(doc, budget, capacity, ducts, zone=zone, operator=operator)
    figures = {
        "zone": zone,
        "name": zones.get(zone, {}).get("name", zone),
        "operator": operator,
        **{k: v for k, v in shared.items() if not k.endswith("_ids")},
        "sites_5g": len(sites_5g),
        "sites_5g_backhaul_ok": sites_5g_ok,
        "sites_4g": sum(1 for s in sites if s.get("generation") == "4g"),
        "over_limit": shared["over_limit_ids"],
    }
    ok, total = figures["onts_within_budget"], figures["onts_with_budget"]
    ten_g, n_onts = figures["onts_ten_g_symmetric"], figures["onts"]
    ten_g_ent, n_ent = figures["enterprise_onts_ten_g_symmetric"], figures["enterprise_onts"]
    over = figures["ducts_over_limit"] + figures["innerducts_over_limit"]
    near = figures["ducts_near_limit"] + figures["innerducts_near_limit"]
    def state(share: float | None, good: float, fair: float) -> str:
        if share is None:
            return "none"
        return "good" if share >= good else "fair" if share >= fair else "bad"

    ok_share = ok / total if total else None
    ten_share = ten_g / total if total else None
    failing = figures["onts_failing_budget"]
    cards = [
        {"key": "onts", "label": "ONTs", "value": f"{n_onts:,}",
         "detail": f"{figures['ports']} PON ports, {figures['gpon_ports']} GPON",
         "state": "none"},
        {"key": "within_budget", "label": "within optical budget",
         "value": fmt_percent(ok, total),
         "detail": f"{ok:,} of {total:,} ONTs pass every check; {failing:,} fail "
                   f"({figures['onts_negative_headroom']:,} with headroom < 0 dB)",
         "state": state(ok_share, 0.95, 0.85)},
        {"key": "ten_g", "label": "10G-symmetric", "value": fmt_percent(ten_g, total),
         "detail": f"{ten_g:,} ONTs (line and uplink); enterprise "
                   f"{fmt_percent(ten_g_ent, n_ent)}",
         "state": state(ten_share, 0.6, 0.3)},
        {"key": "sites_5g", "label": "5G sites", "value": f"{len(sites_5g)}",
         "detail": f"{sites_5g_ok} backhauled within budget · {figures['sites_4g']} 4G sites",
         "state": "good" if sites_5g else "bad"},
        {"key": "ducts_over", "label": "ducts over fill limit",
         "value": f"{figures['ducts_over_limit']:,}",
         "detail": f"of {figures['ducts']:,} ducts; innerducts "
                   f"{figures['innerducts_over_limit']:,} of {figures['innerducts']:,}; "
                   f"{near:,} near ({NEAR_SHARE:.0%}-100 %)",
         "state": "good" if not over else "bad"},
    ]
    return {**figures, "cards": cards}


# --------------------------------------------------------------------------- trace and impact


def trace_detail(topo: Topology, forest: Any, result: Any, budget: BudgetReport,
                 ont_id: str) -> dict[str, Any]:
    """An ONT's path to its OLT with the loss of each hop and the running total both ways.

    ``forest`` and ``result`` are :func:`~ponmodel.topology.pack.pack_forest` and
    :func:`~ponmodel.topology.budget.compute` of ``topo.doc``. Also lists the ducts the path's
    cables run in (to highlight it on the map) and the ONT's structure.
    """
    kind, ont = topo.element(ont_id, "ont")
    hops = [h.as_dict() for h in hop_losses(forest, result, ont_id)]
    b = budget.ont(ont_id)
    cables = {c["id"]: c for c in topo.doc.get("cables", [])}
    ducts: list[str] = []
    for hop in hops:
        if hop["link"] is None:
            continue
        _, link = topo.element(hop["link"], "link")
        for cable_id in link.get("cables", []):
            for duct_id in cables.get(cable_id, {}).get("ducts", []):
                if duct_id not in ducts:
                    ducts.append(duct_id)
    structures = [topo.elements[h["node"]][1].get("structure") for h in hops
                  if h["kind"] != "port"]
    olt_structure = topo.element(b.olt, "olt")[1]["structure"]
    return {
        "ont": ont_id,
        "port": b.port,
        "olt": b.olt,
        "customer": ont.get("customer"),
        "distance_m": b.distance_m,
        "split": b.split,
        "path": [h["node"] for h in hops],
        "hops": hops,
        "ducts": ducts,
        "structures": [olt_structure, *[s for s in structures if s]],
        "budget": b.as_dict(),
        "summary": (
            f"{ont_id}: {b.distance_m / 1000:.2f} km from {b.olt}, split 1:{b.split}; "
            f"loss {fmt_db(b.downstream.loss_db)} dB down (headroom "
            f"{fmt_db(b.downstream.headroom_db)} dB), {fmt_db(b.upstream.loss_db)} dB up "
            f"(headroom {fmt_db(b.upstream.headroom_db)} dB)"
            + ("" if b.ok else "; out of budget")
        ),
    }


def impact_summary(element_id: str, result: dict[str, Any]) -> str:
    """One sentence for non-engineers: what goes dark when ``element_id`` fails.

    >>> impact_summary("DU-1", {"onts": ["a", "b"], "by_operator": {"vnpt": 2},
    ...                         "sites": ["S"], "totals": {"customers": 1}})
    'If DU-1 fails, 2 ONTs go dark (vnpt 2), 1 customer, 1 mobile site loses its backhaul.'
    """
    n = len(result["onts"])
    if n == 0 and not result.get("sites"):
        return f"If {element_id} fails, no ONT loses service."
    ops = ", ".join(f"{op} {k}" for op, k in result.get("by_operator", {}).items())
    customers = result.get("totals", {}).get("customers", 0)
    sites = len(result.get("sites", []))
    parts = [f"If {element_id} fails, {n} ONT{'s' if n != 1 else ''} go dark"
             + (f" ({ops})" if ops else "")]
    if customers:
        parts.append(f"{customers} customer{'s' if customers != 1 else ''}")
    if sites:
        parts.append(f"{sites} mobile site{'s' if sites != 1 else ''} "
                     f"{'loses its' if sites == 1 else 'lose their'} backhaul")
    return ", ".join(parts) + "."


# --------------------------------------------------------------------------- standalone HTML


def plotly_js() -> str:
    """plotly.js (minified) from the installed plotly package: no CDN, works offline."""
    import plotly

    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    return path.read_text(encoding="utf-8")


def _script_safe(text: str) -> str:
    """Text safe inside a ``<script>`` element (no early ``</script>``)."""
    return text.replace("</", "<\\/")


def standalone_html(
    zone: str,
    *,
    page: str,
    script: str,
    stylesheet: str,
    physical: dict[str, Any],
    pon: dict[str, Any],
    headlines: dict[str, Any],
    zones: Iterable[dict[str, Any]],
    plotly_source: str | None = None,
) -> str:
    """The viewer page of one zone as one self-contained HTML file (plotly.js inlined).

    ``page``, ``script`` and ``stylesheet`` are the served viewer's HTML, JS and CSS; their
    external references are replaced by the inlined sources and the zone's data is embedded,
    so the file opens offline with no server. Hover, search within the zone and the legends
    work; trace and impact need the server (the page says so).
    """
    data = {"zone": zone, "zones": list(zones), "physical": physical, "pon": pon,
            "headlines": headlines}
    embedded = _script_safe(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    out = page.replace(
        '<link rel="stylesheet" href="/viewer/static/viewer.css">',
        f"<style>\n{stylesheet}\n</style>",
    )
    out = out.replace(
        '<script src="/viewer/static/plotly.min.js"></script>',
        f"<script>{plotly_source if plotly_source is not None else plotly_js()}</script>",
    )
    out = out.replace(
        '<script src="/viewer/static/viewer.js"></script>',
        f"<script>window.PONMODEL_EMBEDDED = {embedded};</script>\n"
        f"<script>\n{_script_safe(script)}\n</script>",
    )
    for ref in ("/viewer/static/viewer.css", "/viewer/static/plotly.min.js",
                "/viewer/static/viewer.js"):
        if f'"{ref}"' in out:
            msg = f"the viewer page's reference to {ref} was not inlined"
            raise ValueError(msg)
    return out
