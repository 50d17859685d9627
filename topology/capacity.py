"""Bandwidth at full load for a whole network: per ONT, port, OLT uplink, zone and operator.

Groups the ONTs of the packed forest by port (they are contiguous: the forest is laid out
port by port), runs the allocation kernel for all ports at once in each direction
(:func:`ponmodel.capacity.allocate`) and reads the results back by element id, together
with the 10G-symmetric verdict of every ONT and the reasons when it is not.

An ONT is 10G-symmetric (spec) when its port's technology has a line rate of at least
9.95328 Gbit/s both ways, its budget is ok and class_ok in both directions, and its OLT's
uplink is at least 10 Gbit/s.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.topology.capacity import network_capacity
>>> report = network_capacity(read_document("fixtures/tiny.json"))
>>> report.ports[0].down.capacity_mbps > 8000  # XGS-PON usable downstream, Mbit/s
True
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ponmodel import catalog
from ponmodel.capacity import allocate
from ponmodel.document import Document
from ponmodel.elements import effective_additional
from ponmodel.errors import NotFoundError
from ponmodel.topology.budget import ONT_FIELDS_READ as BUDGET_ONT_FIELDS
from ponmodel.topology.budget import BudgetReport, network_budget, worst_per_port
from ponmodel.topology.pack import PonForest, pack_forest

TEN_G_LINE_RATE_MBPS = 9953.28
"""The 10G rule's line rate, both directions (spec)."""
TEN_G_UPLINK_GBPS = 10.0
DIRECTIONS = ("down", "up")

ONT_FIELDS_READ = BUDGET_ONT_FIELDS | {"service", "kind", "structure"}
"""The ONT fields :func:`network_capacity` reads: its service, kind and structure (zone),
and the optics overrides through the budget (an ONT whose budget fails is not 10G)."""
SERVICE_FIELDS = frozenset({"service"})
"""The ONT fields whose edits :func:`refresh_services` catches up with."""


@dataclass(frozen=True, slots=True)
class Load:
    """One direction of a port or uplink: capacity against what is guaranteed and sold."""

    capacity_mbps: float
    guaranteed_mbps: float
    sold_max_mbps: float
    oversubscription: float
    admissible: bool

    @classmethod
    def of(cls, capacity: float, guaranteed: float, sold: float) -> Load:
        over = sold / capacity if capacity > 0 else float("inf") if sold > 0 else 0.0
        return cls(capacity, guaranteed, sold, over, guaranteed <= capacity)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class OntRates:
    """One direction of one ONT."""

    guaranteed_mbps: float
    full_load_mbps: float
    peak_mbps: float
    max_mbps: float

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class OntCapacity:
    """What one ONT gets, both ways, and whether it is 10G-symmetric (with the reasons)."""

    id: str
    port: str
    olt: str
    kind: str
    zone: str | None
    down: OntRates
    up: OntRates
    ten_g_symmetric: bool
    reasons: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "port": self.port, "olt": self.olt, "kind": self.kind,
            "zone": self.zone, "down": self.down.as_dict(), "up": self.up.as_dict(),
            "ten_g_symmetric": self.ten_g_symmetric, "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class PortCapacity:
    """One PON port, both directions, and its worst-served ONT."""

    id: str
    olt: str
    operator: str
    zone: str | None
    technology: str
    onts: int
    down: Load
    up: Load
    worst_served_ont: str | None
    worst_served_share: float | None
    """Full-load rate over max rate of the worst-served ONT (downstream)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "olt": self.olt, "operator": self.operator, "zone": self.zone,
            "technology": self.technology, "onts": self.onts, "down": self.down.as_dict(),
            "up": self.up.as_dict(), "worst_served_ont": self.worst_served_ont,
            "worst_served_share": self.worst_served_share,
        }


@dataclass(frozen=True, slots=True)
class OltCapacity:
    """An OLT's uplink against the sum of its ports' demand."""

    id: str
    operator: str
    zone: str | None
    uplink_gbps: float
    down: Load
    up: Load

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "operator": self.operator, "zone": self.zone,
            "uplink_gbps": self.uplink_gbps, "down": self.down.as_dict(), "up": self.up.as_dict(),
        }


@dataclass
class CapacityReport:
    """Every ONT, port and OLT uplink of a network."""

    onts: list[OntCapacity] = field(default_factory=list)
    ports: list[PortCapacity] = field(default_factory=list)
    olts: list[OltCapacity] = field(default_factory=list)

    def ont(self, ont_id: str) -> OntCapacity:
        """One ONT's rates; NotFoundError when it is not in the report."""
        for ont in self.onts:
            if ont.id == ont_id:
                return ont
        raise NotFoundError(kind="ONT", element_id=ont_id)

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: ``{"ports": [...], "onts": [...], "olts": [...]}``."""
        return {
            "ports": [p.as_dict() for p in self.ports],
            "onts": [o.as_dict() for o in self.onts],
            "olts": [o.as_dict() for o in self.olts],
        }

    def summary(self, by: str) -> list[dict[str, Any]]:
        """Totals per ``zone``, ``operator``, ``olt`` or ``port``: capacity (every port's
        line, spare ports included; ``capacity_in_use_mbps`` the ports with an ONT),
        guaranteed, sold, oversubscription (sold ÷ the capacity in use), admissible (every
        port), the worst-served ONT and the share of enterprise ONTs that are
        10G-symmetric."""
        if by not in ("zone", "operator", "olt", "port"):
            msg = f"summary by {by!r}: expected zone, operator, olt or port"
            raise ValueError(msg)
        key_of_port = {
            "zone": lambda p: p.zone, "operator": lambda p: p.operator,
            "olt": lambda p: p.olt, "port": lambda p: p.id,
        }[by]
        port_by_id = {p.id: p for p in self.ports}
        groups: dict[Any, list[PortCapacity]] = defaultdict(list)
        for port in self.ports:
            groups[key_of_port(port)].append(port)
        onts: dict[Any, list[OntCapacity]] = defaultdict(list)
        for ont in self.onts:
            key = ont.zone if by == "zone" else key_of_port(port_by_id[ont.port])
            onts[key].append(ont)
        out = []
        for key in sorted(set(groups) | set(onts), key=lambda k: (k is None, str(k))):
            ports = groups.get(key, [])
            members = onts.get(key, [])
            enterprise = [o for o in members if o.kind == "enterprise"]
            worst = min(
                (o for o in members if o.down.max_mbps > 0),
                key=lambda o: (o.down.full_load_mbps / o.down.max_mbps, o.id), default=None,
            )
            row: dict[str, Any] = {by: key, "ports": len(ports), "onts": len(members)}
            for d in DIRECTIONS:
                loads = [getattr(p, d) for p in ports if p.onts]
                in_use = sum(x.capacity_mbps for x in loads)
                sold = sum(x.sold_max_mbps for x in loads)
                row[d] = {
                    # every port's line, a spare one included (issue 16: a spare port is
                    # not "0 Mbit/s" in one surface and its line rate in another)
                    "capacity_mbps": sum(getattr(p, d).capacity_mbps for p in ports),
                    "capacity_in_use_mbps": in_use,
                    "guaranteed_mbps": sum(x.guaranteed_mbps for x in loads),
                    "sold_max_mbps": sold,
                    "oversubscription": sold / in_use if in_use else 0.0,
                    "admissible": all(x.admissible for x in loads),
                }
            row["worst_served_ont"] = worst.id if worst else None
            row["enterprise_onts"] = len(enterprise)
            row["enterprise_ten_g_symmetric_share"] = (
                sum(o.ten_g_symmetric for o in enterprise) / len(enterprise) if enterprise else None
            )
            out.append(row)
        return out


def port_capacity_mbps(port: dict[str, Any]) -> tuple[float, float]:
    """Usable capacity of a port (down, up): its override, else its technology's model."""
    override = port.get("capacity_mbps")
    if override:
        return float(override["down"]), float(override["up"])
    tech = catalog.technology(port["technology"])
    return tech.capacity_down_mbps, tech.capacity_up_mbps


def _service_arrays(ids: Sequence[str], onts: Mapping[str, dict[str, Any]], direction: str
                    ) -> dict[str, NDArray[Any]]:
    """The services of the ONTs ``ids`` in one direction, as :func:`capacity_columns` takes
    them."""
    n = len(ids)
    fixed = np.empty(n)
    assured = np.empty(n)
    maximum = np.empty(n)
    weight = np.empty(n)
    additional: list[str] = []
    for k, ont_id in enumerate(ids):
        svc = onts[ont_id]["service"][direction]
        fixed[k] = svc.get("fixed_mbps", 0.0)
        assured[k] = svc.get("assured_mbps", 0.0)
        maximum[k] = svc["max_mbps"]
        weight[k] = svc.get("weight", 1.0)
        additional.append(effective_additional(svc))
    return {"fixed_mbps": fixed, "assured_mbps": assured, "max_mbps": maximum,
            "weight": weight, "additional": np.array(additional)}


@dataclass
class CapacityColumns:
    """What :func:`network_capacity` computes, without one object per ONT: per ONT (in the
    forest's ONT order) and direction the rates, per ONT the 10G-symmetric verdict, and the
    port and OLT uplink results."""

    rates: dict[str, tuple[NDArray[np.float64], ...]]
    """Direction (``down``, ``up``) → ``(guaranteed, full_load, peak, max)``, Mbit/s."""
    ten_g_symmetric: NDArray[np.bool_]
    ports: list[PortCapacity]
    olts: list[OltCapacity]


def capacity_columns(
    forest: PonForest, *, services: dict[str, dict[str, NDArray[Any]]],
    budget_closes: NDArray[np.bool_], ports: dict[str, dict[str, Any]],
    olts: dict[str, dict[str, Any]], zone_of_structure: dict[str, str | None],
) -> CapacityColumns:
    """Allocate every port in both directions and judge every port, uplink and ONT.

    Parameters
    ----------
    forest : PonForest
        The packed network.
    services : dict
        Direction → the ONTs' ``fixed_mbps``, ``assured_mbps``, ``max_mbps``, ``weight``
        and ``additional`` (resolved eligibility names or tier codes), in forest ONT order.
    budget_closes : array of bool
        Per ONT: its budget is ok both ways and within its class.
    ports, olts : dict
        Port id → port element, OLT id → OLT element (every OLT, in report order).
    zone_of_structure : dict
        Structure id → zone id, for the OLTs' structures at least.
    """
    n_ports = len(forest.port_ids)
    port_start = np.searchsorted(forest.ont_port, np.arange(n_ports + 1), side="left")
    capacity = np.array([port_capacity_mbps(ports[p]) for p in forest.port_ids]).reshape(-1, 2)
    rates: dict[str, tuple[NDArray[Any], ...]] = {}
    for d, direction in enumerate(DIRECTIONS):
        svc = services[direction]
        full, peak = allocate(port_start=port_start, capacity_mbps=capacity[:, d], **svc)
        guaranteed = svc["fixed_mbps"] + svc["assured_mbps"]
        rates[direction] = (guaranteed, full, peak, svc["max_mbps"])
    ten_g_of: dict[tuple[str, str], bool] = {}  # (technology, OLT) → the port side passes
    for technology, olt_id in zip(forest.port_technology, forest.port_olt, strict=True):
        if (technology, olt_id) not in ten_g_of:
            ten_g_of[technology, olt_id] = not _not_ten_g(technology, True, olts[olt_id])
    port_ten_g = np.array([ten_g_of[key] for key in zip(forest.port_technology, forest.port_olt,
                                                        strict=True)], dtype=bool)
    ten_g = budget_closes & port_ten_g[forest.ont_port]
    _, full_down, _, max_down = rates["down"]
    worst = _worst_served(full_down, max_down, forest.ont_port, n_ports, forest.ont_ids)
    port_list = []
    add = np.add.reduce  # what ndarray.sum calls, without its Python wrapper
    bounds = port_start.tolist()
    capacities = capacity.tolist()
    sums = [(rates[d][0], rates[d][3]) for d in DIRECTIONS]  # guaranteed, max
    for p, port_id in enumerate(forest.port_ids):
        lo, hi = bounds[p], bounds[p + 1]
        olt = olts[forest.port_olt[p]]
        loads = [Load.of(capacities[p][d], float(add(guaranteed[lo:hi])),
                         float(add(maximum[lo:hi])))
                 for d, (guaranteed, maximum) in enumerate(sums)]
        k = int(worst[p])
        port_list.append(PortCapacity(
            id=port_id, olt=olt["id"], operator=olt["operator"],
            zone=zone_of_structure.get(olt["structure"]), technology=forest.port_technology[p],
            onts=hi - lo, down=loads[0], up=loads[1],
            worst_served_ont=forest.ont_ids[k] if k >= 0 else None,
            worst_served_share=float(full_down[k]) / float(max_down[k]) if k >= 0 else None,
        ))
    by_olt: dict[str, list[PortCapacity]] = defaultdict(list)
    for port in port_list:
        by_olt[port.olt].append(port)
    olt_list = []
    for olt_id, olt in olts.items():
        olt_loads = _uplink_loads(float(olt["uplink_gbps"]) * 1000.0, by_olt.get(olt_id, []))
        olt_list.append(OltCapacity(
            id=olt_id, operator=olt["operator"], zone=zone_of_structure.get(olt["structure"]),
            uplink_gbps=float(olt["uplink_gbps"]), down=olt_loads[0], up=olt_loads[1],
        ))
    return CapacityColumns(rates=rates, ten_g_symmetric=ten_g, ports=port_list, olts=olt_list)


def _worst_served(full_down: NDArray[np.float64], max_down: NDArray[np.float64],
                  ont_port: NDArray[np.int64], n_ports: int, ids: list[str]
                  ) -> NDArray[np.int64]:
    """Per port, its ONT with the smallest share of its sold maximum at full load
    (downstream; ONTs sold nothing are left out), −1 for none: :func:`worst_per_port`."""
    served = max_down > 0
    share = np.divide(full_down, max_down, out=np.full(len(max_down), np.inf), where=served)
    return worst_per_port(share, ont_port, n_ports, ids, valid=served)


def _uplink_loads(uplink_mbps: float, members: list[PortCapacity]) -> list[Load]:
    """An OLT uplink's load per direction: the guaranteed and sold sums of its ports."""
    return [Load.of(uplink_mbps, sum(getattr(p, d).guaranteed_mbps for p in members),
                    sum(getattr(p, d).sold_max_mbps for p in members))
            for d in DIRECTIONS]


def not_ten_g_reasons(forest: PonForest, k: int, budget_closes: bool,
                      olts: dict[str, dict[str, Any]]) -> list[str]:
    """Why the ``k``-th ONT of the forest is not 10G-symmetric (empty when it is)."""
    p = int(forest.ont_port[k])
    return _not_ten_g(forest.port_technology[p], budget_closes, olts[forest.port_olt[p]])


def network_capacity(doc: Document, *, forest: PonForest | None = None,
                     budget: BudgetReport | None = None) -> CapacityReport:
    """Bandwidth at full load of every ONT, port and OLT uplink of a validated document."""
    forest = forest or pack_forest(doc)
    budget = budget or network_budget(doc, forest=forest)
    onts = {o["id"]: o for o in doc.get("onts", [])}
    zone_of_structure = {s["id"]: s.get("zone") for s in doc.get("structures", [])}
    olts = {o["id"]: o for o in doc.get("olts", [])}
    ports = {p["id"]: p for o in doc.get("olts", []) for p in o.get("ports", [])}
    closes_of = {o.id: o.downstream.ok and o.upstream.ok and o.class_ok for o in budget.onts}
    closes = np.array([closes_of[o] for o in forest.ont_ids], dtype=bool)
    services = {d: _service_arrays(forest.ont_ids, onts, d) for d in DIRECTIONS}
    cols = capacity_columns(forest, services=services, budget_closes=closes, ports=ports,
                            olts=olts, zone_of_structure=zone_of_structure)
    report = CapacityReport(ports=cols.ports, olts=cols.olts)
    columns = {d: [a.tolist() for a in cols.rates[d]] for d in DIRECTIONS}
    down_cols, up_cols = columns["down"], columns["up"]
    ont_port = forest.ont_port.tolist()
    closes_list = closes.tolist()
    reasons_of: dict[tuple[int, bool], list[str]] = {}
    for k, ont_id in enumerate(forest.ont_ids):
        p = ont_port[k]
        key = (p, closes_list[k])
        if key not in reasons_of:
            reasons_of[key] = not_ten_g_reasons(forest, k, key[1], olts)
        reasons = reasons_of[key]
        ont = onts[ont_id]
        report.onts.append(OntCapacity(
            id=ont_id, port=forest.port_ids[p], olt=forest.port_olt[p], kind=ont["kind"],
            zone=zone_of_structure.get(ont["structure"]),
            down=OntRates(down_cols[0][k], down_cols[1][k], down_cols[2][k], down_cols[3][k]),
            up=OntRates(up_cols[0][k], up_cols[1][k], up_cols[2][k], up_cols[3][k]),
            ten_g_symmetric=not reasons, reasons=list(reasons),
        ))
    return report


def refresh_services(report: CapacityReport, forest: PonForest,
                     onts: Mapping[str, dict[str, Any]], edited: Iterable[str]
                     ) -> CapacityReport:
    """The report after the services of the ``edited`` ONTs changed: only the ports they
    hang off and those ports' OLT uplinks are computed again.

    A port's allocation reads the services of its own ONTs alone and an uplink sums its own
    ports, so every other figure stands; the ones computed again are computed as
    :func:`network_capacity` computes them, to the last bit (tested with random edits).
    Nothing but services may have changed: the forest, the budget and every ONT's kind and
    zone are those of ``report``, which is left as it was.

    Parameters
    ----------
    report : CapacityReport
        :func:`network_capacity` of the network before the edits, on ``forest``.
    forest : PonForest
        The packed network of the report (services are not part of it).
    onts : mapping
        ONT id → ONT element after the edits (at least every ONT of the edited ONTs' ports).
    edited : iterable of str
        The ONTs whose service changed; ids not in the forest are ignored.

    Examples
    --------
    >>> import copy
    >>> from ponmodel.document import read_document
    >>> from ponmodel.topology.pack import pack_forest
    >>> doc = read_document("fixtures/tiny.json")
    >>> forest = pack_forest(doc)
    >>> before = network_capacity(doc, forest=forest)
    >>> onts = {o["id"]: copy.deepcopy(o) for o in doc["onts"]}
    >>> onts["ONT-01"]["service"]["down"]["max_mbps"] = 2500.0
    >>> after = refresh_services(before, forest, onts, ["ONT-01"])
    >>> after.ont("ONT-01").down.max_mbps, before.ont("ONT-01").down.max_mbps
    (2500.0, 10000.0)
    >>> after.ports[0].down.sold_max_mbps - before.ports[0].down.sold_max_mbps
    -7500.0
    """
    ports: set[int] = set()
    for ont_id in edited:
        try:
            ports.add(int(forest.ont_port[forest.ont_index(ont_id)]))
        except KeyError:
            continue  # no ONT of this forest
    if not ports:
        return report
    msg = "refresh_services: the report was not computed on this forest"
    if len(report.onts) != len(forest.ont_ids):
        raise ValueError(msg)
    new_onts, new_ports = list(report.onts), list(report.ports)
    for p in sorted(ports):
        lo = int(np.searchsorted(forest.ont_port, p, side="left"))
        hi = int(np.searchsorted(forest.ont_port, p, side="right"))
        if any(report.onts[k].id != forest.ont_ids[k] for k in range(lo, hi)):
            raise ValueError(msg)
        new_ports[p] = _refresh_port(report.ports[p], forest.ont_ids[lo:hi], onts, lo,
                                     new_onts)
    changed_olts = {new_ports[p].olt for p in ports}
    new_olts = [_refresh_uplink(olt, new_ports) if olt.id in changed_olts else olt
                for olt in report.olts]
    return CapacityReport(onts=new_onts, ports=new_ports, olts=new_olts)


def _refresh_port(port: PortCapacity, ids: list[str], onts: Mapping[str, dict[str, Any]],
                  lo: int, report_onts: list[OntCapacity]) -> PortCapacity:
    """One port allocated again (its ONTs are ``report_onts[lo : lo + len(ids)]``, which
    are replaced), as :func:`capacity_columns` allocates every port."""
    loads = []
    rates = {}
    for direction in DIRECTIONS:
        svc = _service_arrays(ids, onts, direction)
        capacity = getattr(port, direction).capacity_mbps
        full, peak = allocate(port_start=np.array([0, len(ids)]),
                              capacity_mbps=np.array([capacity]), **svc)
        guaranteed = svc["fixed_mbps"] + svc["assured_mbps"]
        rates[direction] = [a.tolist() for a in (guaranteed, full, peak, svc["max_mbps"])]
        loads.append(Load.of(capacity, float(np.add.reduce(guaranteed)),
                             float(np.add.reduce(svc["max_mbps"]))))
        if direction == "down":
            max_down = svc["max_mbps"]
            worst = int(_worst_served(full, max_down, np.zeros(len(ids), dtype=np.int64), 1,
                                      ids)[0])
            worst_share = float(full[worst]) / float(max_down[worst]) if worst >= 0 else None
    down, up = rates["down"], rates["up"]
    for j in range(len(ids)):
        report_onts[lo + j] = dataclasses.replace(
            report_onts[lo + j],
            down=OntRates(down[0][j], down[1][j], down[2][j], down[3][j]),
            up=OntRates(up[0][j], up[1][j], up[2][j], up[3][j]),
        )
    return dataclasses.replace(port, down=loads[0], up=loads[1],
                               worst_served_ont=ids[worst] if worst >= 0 else None,
                               worst_served_share=worst_share)


def _refresh_uplink(olt: OltCapacity, ports: list[PortCapacity]) -> OltCapacity:
    """An OLT uplink summed again over its ports, as :func:`capacity_columns` sums it."""
    down, up = _uplink_loads(olt.down.capacity_mbps, [p for p in ports if p.olt == olt.id])
    return dataclasses.replace(olt, down=down, up=up)


def _not_ten_g(technology: str, budget_closes: bool, olt: dict[str, Any]) -> list[str]:
    """Why an ONT is not 10G-symmetric (empty when it is)."""
    reasons = []
    tech = catalog.technology(technology)
    if min(tech.line_rate_down_mbps, tech.line_rate_up_mbps) < TEN_G_LINE_RATE_MBPS:
        reasons.append(
            f"{technology} line rate {tech.line_rate_down_mbps / 1000:.2f}/"
            f"{tech.line_rate_up_mbps / 1000:.2f} Gbit/s is not 9.95 Gbit/s both ways"
        )
    if not budget_closes:
        reasons.append("its optical budget does not close in both directions within its class")
    if float(olt["uplink_gbps"]) < TEN_G_UPLINK_GBPS:
        reasons.append(f"OLT {olt['id']} uplink {olt['uplink_gbps']:g} Gbit/s is below 10 Gbit/s")
    return reasons
