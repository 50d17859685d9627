"""Duct fill: per duct and innerduct, per operator (cost split by use) and per zone.

Definitions, as a fibre engineer applies them (NEC chapter 9 table 1 via the catalogue):

- **Occupants** of a duct are the cables routed *directly* in it and the innerducts laid in it
  (``within`` = the duct). A cable whose route names a duct that holds innerducts occupies the
  duct itself, loose beside the innerducts: the document cannot say which innerduct it is in.
  A cable whose route names the innerduct's id occupies that innerduct (and not its host; the
  innerduct's own outer diameter already counts in the host).
- **Fill ratio** = Σ occupant outer diameter² / inner diameter² (cross-sections; π/4 cancels).
  An innerduct counts with its ``outer_diameter_mm``.
- **Limit** = the duct's ``max_fill_ratio`` when set, else the catalogue's rule by number of
  occupants, innerducts included (:func:`ponmodel.catalog.max_fill_ratio`: 53 % for one, 31 %
  for two, 40 % for three or more). The rule is data in the catalogue
  (``FILL_RATIO_BY_OCCUPANT_COUNT``) and may be replaced per call (``limit_rule``).
- **Headroom** ``max_new_cable_mm`` = the largest diameter d laid *directly* in the duct that keeps
  it within the limit for one more occupant: ``(Σ d_i² + d²) / D² ≤ limit(n + 1)``, i.e.
  ``d = √(limit(n + 1)·D² − Σ d_i²)``, 0 when negative. The override, when set, replaces
  ``limit(n + 1)``. **Free innerducts** are innerducts with no occupant; the largest cable one
  takes is ``√limit(1) · ID`` (``max_new_cable_in_innerduct_mm``, the best free one).
- **Near the limit**: not over it and ``fill_ratio ≥ near_share · limit_ratio`` (default 0.9).
  **Unused**: no occupant.

Per operator, for a shared-infrastructure owner splitting costs by use:

- ``duct_metres`` = Σ over its cables of the lengths of the ducts (or innerducts) they occupy;
- ``area_mm2_m`` = its occupied cross-section (mm²) times length (m), summed over the
  *top-level* ducts (the civil infrastructure; innerducts are inside them), i.e. the volume it
  uses. A cable laid directly in a duct counts π/4·d² to its operator. An innerduct's
  cross-section (π/4·OD²) is split among the operators of the cables inside it in proportion of
  their own cross-sections (recursively for nested innerducts), and goes to the innerduct's
  owner when it is empty (reserved space is use);
- ``area_share`` = its ``area_mm2_m`` / the sum over all operators: **length-weighted**, so the
  shares sum to 1 over the whole network and a 2 km duct weighs ten times a 200 m one.

Per zone: a duct belongs to the zone of each of its end structures (one or two zones).

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.topology.ducts import duct_fill
>>> report = duct_fill(read_document("fixtures/two_operators_shared_duct.json"))
>>> du01 = report.duct("DU-01")
>>> du01.occupants, round(du01.fill_ratio, 5), du01.limit_ratio
(['CB-01', 'CB-02'], 0.03548, 0.31)
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ponmodel._gc import gc_paused
from ponmodel.document import Document
from ponmodel.errors import NotFoundError
from ponmodel.fill import (
    EPS,
    LimitRule,
    limit_ratio,
    max_new_cable_mm,
)

NEAR_SHARE = 0.9
"""Default share of its limit from which a duct is reported "near" it."""

ONT_FIELDS_READ: frozenset[str] = frozenset()
"""The ONT fields :func:`duct_fill` reads: none (cables occupy ducts, ONTs do not)."""

_QUARTER_PI = math.pi / 4.0

@dataclass(frozen=True, slots=True)
class DuctFill:
    """Fill of one duct or innerduct."""

    id: str
    within: str | None
    owner: str
    from_structure: str
    to_structure: str
    length_m: float
    inner_diameter_mm: float
    outer_diameter_mm: float | None
    zones: list[str]
    cables: list[str]
    """Cables laid directly in it (not those inside its innerducts)."""
    innerducts: list[str]
    occupants: list[str]
    """Cables then innerducts directly inside: what the limit rule counts."""
    sum_sq_mm2: float
    """Σ occupant outer diameter², mm²."""
    occupied_area_mm2: float
    fill_ratio: float
    limit_ratio: float
    limit_source: str
    """``override`` (the duct's ``max_fill_ratio``) or ``rule`` (the catalogue's)."""
    over_limit: bool
    near_limit: bool
    operators: list[str]
    """Operators with a cable in it or in any of its innerducts."""
    area_by_operator_mm2: dict[str, float]
    """Its occupied cross-section split by use (innerducts split by what they hold)."""
    max_new_cable_mm: float
    free_innerducts: list[str]
    max_new_cable_in_innerduct_mm: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class OperatorUse:
    """What one operator uses of the ducts: cables per duct, duct-metres, share of area."""

    id: str
    cables: int
    ducts: dict[str, list[str]]
    """Duct (or innerduct) id → the operator's cables directly in it."""
    duct_metres: float
    area_mm2_m: float
    area_share: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class ZoneFill:
    """Ducts of a zone over their limit, near it, and unused.

    ``ducts`` counts top-level ducts and ``innerducts`` the innerducts, as every surface
    does (:mod:`ponmodel.topology.figures`); the id lists hold both.
    """

    id: str
    ducts: int
    innerducts: int
    over_limit: list[str]
    near_limit: list[str]
    unused: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass
class DuctReport:
    """Fill of every duct, use per operator, and the zones' lists."""

    ducts: list[DuctFill] = field(default_factory=list)
    operators: list[OperatorUse] = field(default_factory=list)
    zones: list[ZoneFill] = field(default_factory=list)
    near_share: float = NEAR_SHARE
    _by_id: dict[str, DuctFill] = field(default_factory=dict, repr=False)

    def duct(self, duct_id: str) -> DuctFill:
        """One duct's fill; NotFoundError when absent."""
        if not self._by_id:
            self._by_id = {d.id: d for d in self.ducts}
        found = self._by_id.get(duct_id)
        if found is None:
            raise NotFoundError(kind="duct", element_id=duct_id)
        return found

    def operator(self, operator_id: str) -> OperatorUse:
        """One operator's use; NotFoundError when it uses no duct."""
        for use in self.operators:
            if use.id == operator_id:
                return use
        raise NotFoundError(kind="operator using ducts", element_id=operator_id)

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: ``{"ducts": [...], "operators": [...], "zones": [...]}``."""
        return {
            "near_share": self.near_share,
            "ducts": [d.as_dict() for d in self.ducts],
            "operators": [o.as_dict() for o in self.operators],
            "zones": [z.as_dict() for z in self.zones],
        }


def duct_fill(
    doc: Document, *, near_share: float = NEAR_SHARE, limit_rule: LimitRule | None = None
) -> DuctReport:
    """Fill of every duct and innerduct of ``doc``, use per operator, and per zone.

    Parameters
    ----------
    doc : Document
        A validated ``ponmodel/1`` document.
    near_share : float
        A duct is "near" its limit from ``near_share · limit_ratio`` on (default 0.9).
    limit_rule : callable, optional
        Occupant count → maximum fill ratio; the catalogue's NEC rule by default.

    Returns
    -------
    DuctReport
        Ducts in document order, operators and zones sorted by id.

    Examples
    --------
    >>> from ponmodel.document import read_document
    >>> r = duct_fill(read_document("fixtures/two_operators_shared_duct.json"))
    >>> [(o.id, o.duct_metres) for o in r.operators]  # CB-02: 240 + 130; CB-01: 240 + 150
    [('viettel', 370.0), ('vnpt', 390.0)]
    >>> round(sum(o.area_share for o in r.operators), 12)
    1.0
    """
    with gc_paused():  # bulk: many small objects, no cycles
        return _duct_fill(doc, near_share, limit_rule)


def _duct_fill(doc: Document, near_share: float, limit_rule: LimitRule | None) -> DuctReport:
    ducts = doc.get("ducts", [])
    by_id = {d["id"]: d for d in ducts}
    zone_of = {s["id"]: s.get("zone") for s in doc.get("structures", [])}
    cables = {c["id"]: c for c in doc.get("cables", [])}
    cables_in: dict[str, list[str]] = defaultdict(list)
    for cable in doc.get("cables", []):
        for duct_id in dict.fromkeys(cable.get("ducts", [])):
            cables_in[duct_id].append(cable["id"])
    inner_of: dict[str, list[str]] = defaultdict(list)
    for d in ducts:
        if d.get("within") is not None:
            inner_of[d["within"]].append(d["id"])

    # Area by operator of what sits in a duct, innerducts split by what they hold (memoised:
    # an innerduct's split is asked by its host).
    split_memo: dict[str, dict[str, float]] = {}

    def contents_by_operator(duct_id: str) -> dict[str, float]:
        """Σ d² of the duct's direct occupants, by operator of use."""
        if duct_id in split_memo:
            return split_memo[duct_id]
        out: dict[str, float] = defaultdict(float)
        for cable_id in cables_in.get(duct_id, []):
            cable = cables[cable_id]
            out[cable["operator"]] += cable["outer_diameter_mm"] ** 2
        for inner_id in inner_of.get(duct_id, []):
            inner = by_id[inner_id]
            square = (inner.get("outer_diameter_mm") or inner["inner_diameter_mm"]) ** 2
            held = contents_by_operator(inner_id)
            total = sum(held.values())
            if total > 0:
                for op, sq in held.items():
                    out[op] += square * sq / total
            else:
                out[inner["owner"]] += square
        split_memo[duct_id] = dict(out)
        return split_memo[duct_id]

    operators_memo: dict[str, set[str]] = {}

    def operators_in(duct_id: str) -> set[str]:
        if duct_id not in operators_memo:
            ops = {cables[c]["operator"] for c in cables_in.get(duct_id, [])}
            for inner_id in inner_of.get(duct_id, []):
                ops |= operators_in(inner_id)
            operators_memo[duct_id] = ops
        return operators_memo[duct_id]

    rows: list[DuctFill] = []
    for d in ducts:
        duct_id = d["id"]
        direct = cables_in.get(duct_id, [])
        inner = inner_of.get(duct_id, [])
        diameters = [cables[c]["outer_diameter_mm"] for c in direct]
        diameters += [by_id[i].get("outer_diameter_mm") or by_id[i]["inner_diameter_mm"]
                      for i in inner]
        n = len(diameters)
        inner_d = d["inner_diameter_mm"]
        sum_sq = sum(x * x for x in diameters)
        ratio = sum_sq / (inner_d * inner_d)
        override = d.get("max_fill_ratio")
        limit = limit_ratio(n, override, limit_rule)
        over = ratio > limit + EPS
        free = [i for i in inner if not cables_in.get(i) and not inner_of.get(i)]
        in_free = max(
            (
                math.sqrt(limit_ratio(1, by_id[i].get("max_fill_ratio"), limit_rule))
                * by_id[i]["inner_diameter_mm"]
                for i in free
            ),
            default=0.0,
        )
        split = contents_by_operator(duct_id)
        rows.append(
            DuctFill(
                id=duct_id,
                within=d.get("within"),
                owner=d["owner"],
                from_structure=d["from"],
                to_structure=d["to"],
                length_m=d["length_m"],
                inner_diameter_mm=inner_d,
                outer_diameter_mm=d.get("outer_diameter_mm"),
                zones=sorted({z for z in (zone_of.get(d["from"]), zone_of.get(d["to"])) if z}),
                cables=list(direct),
                innerducts=list(inner),
                occupants=[*direct, *inner],
                sum_sq_mm2=sum_sq,
                occupied_area_mm2=_QUARTER_PI * sum_sq,
                fill_ratio=ratio,
                limit_ratio=limit,
                limit_source="rule" if override is None else "override",
                over_limit=over,
                near_limit=not over and ratio >= near_share * limit - EPS and n > 0,
                operators=sorted(operators_in(duct_id)),
                area_by_operator_mm2={op: _QUARTER_PI * sq for op, sq in sorted(split.items())},
                max_new_cable_mm=max_new_cable_mm(
                    diameters, inner_d, override=override, limit_rule=limit_rule
                ),
                free_innerducts=free,
                max_new_cable_in_innerduct_mm=in_free,
            )
        )
    report = DuctReport(
        ducts=rows,
        operators=_operator_use(doc, rows, by_id, cables),
        zones=_zone_fill(doc, rows),
        near_share=near_share,
    )
    return report


def duct_parts(doc: Document) -> dict[str, Document]:
    """Per duct, the part of ``doc`` its fill depends on: the duct, its innerducts at every
    level, the structures at their ends and the cables in any of them (each cable's route
    cut to those ducts). :func:`one_duct_fill` of a part equals that duct's row of
    :func:`duct_fill` of the whole document, at a fraction of the cost.

    Examples
    --------
    >>> from ponmodel.document import read_document
    >>> parts = duct_parts(read_document("fixtures/two_operators_shared_duct.json"))
    >>> [(c["id"], c["ducts"]) for c in parts["DU-01"]["cables"]]  # routes cut to DU-01
    [('CB-01', ['DU-01']), ('CB-02', ['DU-01'])]
    >>> one_duct_fill(parts["DU-01"], "DU-01") == duct_fill(read_document(
    ...     "fixtures/two_operators_shared_duct.json")).duct("DU-01")
    True
    """
    ducts = doc.get("ducts", [])
    inner_of: dict[str, list[str]] = defaultdict(list)
    for d in ducts:
        if d.get("within") is not None:
            inner_of[d["within"]].append(d["id"])
    by_id = {d["id"]: d for d in ducts}
    structures = {s["id"]: s for s in doc.get("structures", [])}
    cables_in: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cable in doc.get("cables", []):
        for duct_id in dict.fromkeys(cable.get("ducts", [])):
            cables_in[duct_id].append(cable)
    parts: dict[str, Document] = {}
    for duct_id in by_id:
        members, stack = [], [duct_id]
        while stack:  # the duct and every innerduct below it, hosts first
            d = stack.pop(0)
            members.append(d)
            stack.extend(inner_of.get(d, []))
        inside = set(members)
        cables = {c["id"]: c for d in members for c in cables_in.get(d, [])}
        ends = {e for d in members for e in (by_id[d]["from"], by_id[d]["to"])}
        parts[duct_id] = {
            "ducts": [by_id[d] for d in members],
            "structures": [structures[e] for e in sorted(ends) if e in structures],
            "cables": [{**c, "ducts": [d for d in c["ducts"] if d in inside]}
                       for c in cables.values()],
        }
    return parts


def one_duct_fill(part: Document, duct_id: str, *,
                  held_cables: Sequence[dict[str, Any]] = (),
                  near_share: float = NEAR_SHARE) -> DuctFill:
    """The fill of one duct from its part (:func:`duct_parts`), with ``held_cables``
    (active reservations as cables) that run through any duct of the part counted too."""
    inside = {d["id"] for d in part["ducts"]}
    held = [{**c, "ducts": [d for d in c["ducts"] if d in inside]}
            for c in held_cables if any(d in inside for d in c["ducts"])]
    doc = {**part, "cables": [*part["cables"], *held]} if held else part
    return duct_fill(doc, near_share=near_share).duct(duct_id)


def _operator_use(
    doc: Document,
    rows: list[DuctFill],
    by_id: dict[str, dict[str, Any]],
    cables: dict[str, dict[str, Any]],
) -> list[OperatorUse]:
    """Per operator: cables per duct, duct-metres, length-weighted share of occupied area."""
    per_duct: dict[str, dict[str, list[str]]] = defaultdict(dict)
    metres: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for cable in cables.values():
        op = cable["operator"]
        count[op] += 1
        for duct_id in dict.fromkeys(cable.get("ducts", [])):
            per_duct[op].setdefault(duct_id, []).append(cable["id"])
            metres[op] += by_id[duct_id]["length_m"]
    area: dict[str, float] = defaultdict(float)
    for row in rows:
        if row.within is None:
            for op, mm2 in row.area_by_operator_mm2.items():
                area[op] += mm2 * row.length_m
    total = sum(area.values())
    ids = sorted(set(count) | set(area))
    return [
        OperatorUse(
            id=op,
            cables=count.get(op, 0),
            ducts=per_duct.get(op, {}),
            duct_metres=metres.get(op, 0.0),
            area_mm2_m=area.get(op, 0.0),
            area_share=area.get(op, 0.0) / total if total > 0 else 0.0,
        )
        for op in ids
    ]


def _zone_fill(doc: Document, rows: list[DuctFill]) -> list[ZoneFill]:
    """Per zone: ducts over their limit, near it, unused (sorted ids)."""
    members: dict[str, list[DuctFill]] = defaultdict(list)
    for row in rows:
        for zone in row.zones:
            members[zone].append(row)
    return [
        ZoneFill(
            id=zone,
            ducts=sum(r.within is None for r in members[zone]),
            innerducts=sum(r.within is not None for r in members[zone]),
            over_limit=sorted(r.id for r in members[zone] if r.over_limit),
            near_limit=sorted(r.id for r in members[zone] if r.near_limit),
            unused=sorted(r.id for r in members[zone] if not r.occupants),
        )
        for zone in sorted({z["id"] for z in doc.get("zones", [])} | set(members))
    ]
