"""The optical budget of a network, as fibre engineers read it.

Packs the PON forest (:mod:`ponmodel.topology.pack`), runs the kernel
(:func:`ponmodel.budget.run_budget`) and reads the results back by element id: per ONT and
direction the wavelength, loss, received power range, headroom and verdict; per ONT the
distance, split, class check, reach and split limits and the problems in words; per port
the differential reach and differential loss against their limits.

Where the spec is silent (documented in the README):

- ``ok`` of an ONT means everything passes: the budget closes both ways, the loss sits in
  the class window with the margin, and the ONT is within the reach and split limits;
- splitter loss is placed on the links that leave the splitter (each leg its own loss for a
  tap splitter), so the cumulative loss at a splitter is the loss up to its input.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.topology.budget import network_budget
>>> report = network_budget(read_document("fixtures/tiny.json"))
>>> sorted(o.id for o in report.onts) == ["ONT-01", "ONT-02", "ONT-03"]
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ponmodel import catalog
from ponmodel.budget import BudgetResult, run_budget
from ponmodel.document import Document
from ponmodel.errors import NotFoundError
from ponmodel.topology.pack import KIND_SPLITTER, PonForest, pack_forest
from ponmodel.topology.pack import ONT_FIELDS_READ as PACK_ONT_FIELDS

DIRECTIONS = ("downstream", "upstream")

ONT_FIELDS_READ = PACK_ONT_FIELDS
"""The ONT fields :func:`network_budget` reads: the optics overrides, through the forest."""


def _dbm(value: float) -> str:
    """A power or loss figure as engineers write it: one decimal, a true minus sign."""
    return f"{value:.1f}".replace("-", "−")


@dataclass(frozen=True, slots=True)
class DirectionBudget:
    """One direction of one ONT's budget."""

    wavelength_nm: int
    loss_db: float
    rx_min_dbm: float
    rx_max_dbm: float
    headroom_db: float
    ok: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "wavelength_nm": self.wavelength_nm,
            "loss_db": self.loss_db,
            "rx_min_dbm": self.rx_min_dbm,
            "rx_max_dbm": self.rx_max_dbm,
            "headroom_db": self.headroom_db,
            "ok": self.ok,
        }


@dataclass(frozen=True, slots=True)
class OntBudget:
    """The budget of one ONT: both directions, limits, verdict and problems."""

    id: str
    port: str
    olt: str
    distance_m: float
    split: int
    downstream: DirectionBudget
    upstream: DirectionBudget
    class_ok: bool
    reach_ok: bool
    split_ok: bool
    ok: bool
    problems: list[str]

    @property
    def worst_headroom_db(self) -> float:
        """The smaller headroom of the two directions."""
        return min(self.downstream.headroom_db, self.upstream.headroom_db)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "port": self.port,
            "olt": self.olt,
            "distance_m": self.distance_m,
            "split": self.split,
            "downstream": self.downstream.as_dict(),
            "upstream": self.upstream.as_dict(),
            "class_ok": self.class_ok,
            "reach_ok": self.reach_ok,
            "split_ok": self.split_ok,
            "ok": self.ok,
            "problems": list(self.problems),
        }


@dataclass(frozen=True, slots=True)
class PortBudget:
    """Per PON port: its ONTs' spread of distance and loss against the limits."""

    id: str
    olt: str
    technology: str
    optics_class: str
    onts: int
    onts_within_budget: int
    max_distance_m: float
    max_reach_m: float
    differential_reach_m: float
    max_differential_reach_m: float
    differential_loss_down_db: float
    differential_loss_up_db: float
    max_differential_loss_db: float
    worst_ont: str | None
    worst_headroom_db: float | None
    ok: bool
    problems: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass
class BudgetReport:
    """The budget of every ONT and port of a network (worst headroom first)."""

    onts: list[OntBudget] = field(default_factory=list)
    ports: list[PortBudget] = field(default_factory=list)
    safety_margin_db: float = catalog.SAFETY_MARGIN_DB

    def ont(self, ont_id: str) -> OntBudget:
        """One ONT's budget; NotFoundError when it is not in the report."""
        for ont in self.onts:
            if ont.id == ont_id:
                return ont
        raise NotFoundError(kind="ONT with a budget", element_id=ont_id)

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: ``{"onts": [...], "ports": [...]}``."""
        return {
            "onts": [o.as_dict() for o in self.onts],
            "ports": [p.as_dict() for p in self.ports],
        }


def compute(forest: PonForest) -> BudgetResult:
    """Run the kernel over a packed forest."""
    return run_budget(
        parent=forest.parent,
        edge_loss_down_db=forest.edge_loss_down_db,
        edge_loss_up_db=forest.edge_loss_up_db,
        edge_length_m=forest.edge_length_m,
        edge_split=forest.edge_split,
        ont_node=forest.ont_node,
        ont_port=forest.ont_port,
        port_tx_min_dbm=forest.port_tx_min_dbm,
        port_tx_max_dbm=forest.port_tx_max_dbm,
        port_rx_sensitivity_dbm=forest.port_rx_sensitivity_dbm,
        port_rx_overload_dbm=forest.port_rx_overload_dbm,
        port_class_min_loss_db=forest.port_class_min_loss_db,
        port_class_max_loss_db=forest.port_class_max_loss_db,
        ont_tx_min_dbm=forest.ont_tx_min_dbm,
        ont_tx_max_dbm=forest.ont_tx_max_dbm,
        ont_rx_sensitivity_dbm=forest.ont_rx_sensitivity_dbm,
        ont_rx_overload_dbm=forest.ont_rx_overload_dbm,
        safety_margin_db=forest.figures.safety_margin_db,
    )


def port_limits(doc: Document) -> dict[str, tuple[float, int]]:
    """Port id → (reach limit m, split limit): the port's override, else the technology's."""
    out: dict[str, tuple[float, int]] = {}
    for olt in doc.get("olts", []):
        for port in olt.get("ports", []):
            tech = catalog.technology(port["technology"])
            reach = port.get("max_reach_m")
            split = port.get("max_split")
            out[port["id"]] = (
                tech.max_reach_m if reach is None else float(reach),
                tech.max_split if split is None else int(split),
            )
    return out


def contributors(forest: PonForest, node: int, direction: str, doc_index: dict[str, Any],
                 top: int = 2) -> list[str]:
    """The largest loss contributions on a node's path, in words (``SP-12 1:32 17.2 dB``)."""
    losses = forest.edge_loss_down_db if direction == "downstream" else forest.edge_loss_up_db
    parts: list[tuple[float, str]] = []
    i = node
    while i >= 0:
        splitter_db = float(forest.edge_splitter_loss_db[i])
        link_db = float(losses[i]) - splitter_db
        up = int(forest.parent[i])
        if up < 0:
            if link_db > 0:
                label = f"coexistence filter at {forest.node_ids[i]} {link_db:.1f} dB"
                parts.append((link_db, label))
            break
        link_id = forest.node_link[i]
        km = forest.edge_length_m[i] / 1000.0
        parts.append((link_db, f"{link_id} {km:.1f} km {link_db:.1f} dB"))
        if forest.node_kind[up] == KIND_SPLITTER:
            splitter = doc_index.get(forest.node_ids[up], {})
            through = splitter.get("through_percent")
            label = (
                f"{through}/{100 - through} tap" if through is not None
                else f"1:{splitter.get('ratio', int(forest.edge_split[i]))}"
            )
            parts.append((splitter_db, f"{forest.node_ids[up]} {label} {splitter_db:.1f} dB"))
        i = up
    parts.sort(key=lambda p: -p[0])
    return [text for _, text in parts[:top]]


@dataclass(frozen=True, slots=True)
class BudgetColumns:
    """The per-ONT verdicts of :func:`network_budget` as arrays, in the forest's ONT order.

    ``loss_*_db``, ``distance_m`` and ``split`` are read off the kernel's cumulative
    figures at each ONT's node; ``reach_limit_m`` and ``split_limit`` are its port's limits
    (override, else technology); the rest are the checks described in the module docstring.
    """

    loss_down_db: NDArray[np.float64]
    loss_up_db: NDArray[np.float64]
    distance_m: NDArray[np.float64]
    split: NDArray[np.int64]
    reach_limit_m: NDArray[np.float64]
    split_limit: NDArray[np.int64]
    reach_ok: NDArray[np.bool_]
    split_ok: NDArray[np.bool_]
    ok: NDArray[np.bool_]
    worst_headroom_db: NDArray[np.float64]


def budget_columns(forest: PonForest, result: BudgetResult,
                   limits: dict[str, tuple[float, int]]) -> BudgetColumns:
    """Every ONT's figures and verdicts at once (no per-ONT object): see
    :class:`BudgetColumns`. ``limits`` is :func:`port_limits` of the network."""
    ont_node, ont_port = forest.ont_node, forest.ont_port
    per_port = [limits[p] for p in forest.port_ids]
    reach_of_port = np.array([r for r, _ in per_port], dtype=np.float64)
    split_of_port = np.array([s for _, s in per_port], dtype=np.int64)
    distance = result.cum_length_m[ont_node]
    split = np.rint(result.cum_split[ont_node]).astype(np.int64)
    reach_limit = reach_of_port[ont_port]
    split_limit = split_of_port[ont_port]
    reach_ok = distance <= reach_limit
    split_ok = split <= split_limit
    return BudgetColumns(
        loss_down_db=result.cum_loss_down_db[ont_node],
        loss_up_db=result.cum_loss_up_db[ont_node],
        distance_m=distance,
        split=split,
        reach_limit_m=reach_limit,
        split_limit=split_limit,
        reach_ok=reach_ok,
        split_ok=split_ok,
        ok=result.ok_down & result.ok_up & result.class_ok & reach_ok & split_ok,
        worst_headroom_db=np.minimum(result.headroom_down_db, result.headroom_up_db),
    )


def ont_problems(forest: PonForest, result: BudgetResult, columns: BudgetColumns, k: int,
                 splitters: Any) -> list[str]:
    """The problems of the ``k``-th ONT of the forest in words (empty when it is ``ok``).

    ``splitters`` maps a splitter id to its element (``ratio``, ``through_percent``): a
    dict of the document's splitters, or any object with the dict's ``get``.
    """
    if columns.ok[k]:
        return []
    p = int(forest.ont_port[k])
    technology = catalog.technology(forest.port_technology[p])
    return _problems(
        forest, k, _directions(result, columns, k, technology), bool(result.class_ok[k]),
        float(columns.reach_limit_m[k]), int(columns.split_limit[k]),
        float(columns.distance_m[k]), int(columns.split[k]), forest.figures.safety_margin_db,
        splitters,
    )


def ont_budget(forest: PonForest, result: BudgetResult, columns: BudgetColumns, k: int,
               problems: list[str]) -> OntBudget:
    """The ``k``-th ONT of the forest as :func:`network_budget` reports it."""
    p = int(forest.ont_port[k])
    down, up = _directions(result, columns, k, catalog.technology(forest.port_technology[p]))
    return OntBudget(
        id=forest.ont_ids[k], port=forest.port_ids[p], olt=forest.port_olt[p],
        distance_m=float(columns.distance_m[k]), split=int(columns.split[k]),
        downstream=down, upstream=up, class_ok=bool(result.class_ok[k]),
        reach_ok=bool(columns.reach_ok[k]), split_ok=bool(columns.split_ok[k]),
        ok=bool(columns.ok[k]), problems=list(problems),
    )


def _directions(result: BudgetResult, columns: BudgetColumns, k: int,
                technology: catalog.Technology) -> tuple[DirectionBudget, DirectionBudget]:
    return (
        DirectionBudget(technology.wavelength_down_nm, float(columns.loss_down_db[k]),
                        float(result.rx_min_down_dbm[k]), float(result.rx_max_down_dbm[k]),
                        float(result.headroom_down_db[k]), bool(result.ok_down[k])),
        DirectionBudget(technology.wavelength_up_nm, float(columns.loss_up_db[k]),
                        float(result.rx_min_up_dbm[k]), float(result.rx_max_up_dbm[k]),
                        float(result.headroom_up_db[k]), bool(result.ok_up[k])),
    )


def network_budget(doc: Document, *, forest: PonForest | None = None) -> BudgetReport:
    """The budget of every ONT and PON port of a validated document."""
    forest = forest or pack_forest(doc)
    result = compute(forest)
    margin = forest.figures.safety_margin_db
    limits = port_limits(doc)
    splitters = {s["id"]: s for s in doc.get("splitters", [])}
    cols = budget_columns(forest, result, limits)
    # plain Python lists: indexing numpy scalars one by one costs more than the loop itself
    loss_down = cols.loss_down_db.tolist()
    loss_up = cols.loss_up_db.tolist()
    distance = cols.distance_m.tolist()
    split = cols.split.tolist()
    columns = [a.tolist() for a in (
        result.rx_min_down_dbm, result.rx_max_down_dbm, result.headroom_down_db,
        result.rx_min_up_dbm, result.rx_max_up_dbm, result.headroom_up_db)]
    ok_down, ok_up, class_oks, reach_oks, split_oks, oks = (a.tolist() for a in (
        result.ok_down, result.ok_up, result.class_ok, cols.reach_ok, cols.split_ok, cols.ok))
    ont_port = forest.ont_port.tolist()
    per_port = []
    for p, port_id in enumerate(forest.port_ids):
        technology = catalog.technology(forest.port_technology[p])
        per_port.append((port_id, forest.port_olt[p], technology.wavelength_down_nm,
                         technology.wavelength_up_nm))
    report = BudgetReport(safety_margin_db=margin)
    append = report.onts.append
    for k, ont_id in enumerate(forest.ont_ids):
        port_id, olt_id, down_nm, up_nm = per_port[ont_port[k]]
        down = DirectionBudget(down_nm, loss_down[k], columns[0][k], columns[1][k],
                               columns[2][k], ok_down[k])
        up = DirectionBudget(up_nm, loss_up[k], columns[3][k], columns[4][k], columns[5][k],
                             ok_up[k])
        ok = oks[k]
        append(OntBudget(
            id=ont_id, port=port_id, olt=olt_id, distance_m=distance[k], split=split[k],
            downstream=down, upstream=up, class_ok=class_oks[k], reach_ok=reach_oks[k],
            split_ok=split_oks[k], ok=ok,
            problems=[] if ok else ont_problems(forest, result, cols, k, splitters),
        ))
    report.ports = port_budgets(forest, cols, limits)
    report.onts.sort(key=lambda o: (o.worst_headroom_db, o.id))
    return report


def _problems(
    forest: PonForest, k: int, directions: tuple[DirectionBudget, DirectionBudget],
    class_ok: bool, reach_limit: float, split_limit: int, distance: float, split: int,
    margin: float, splitters: dict[str, Any],
) -> list[str]:
    p = int(forest.ont_port[k])
    node = int(forest.ont_node[k])
    optics = catalog.optics_class(forest.port_technology[p], forest.port_class[p])
    sens = (float(forest.ont_rx_sensitivity_dbm[k]), float(forest.port_rx_sensitivity_dbm[p]))
    over = (float(forest.ont_rx_overload_dbm[k]), float(forest.port_rx_overload_dbm[p]))
    receiver = ("ONU", "OLT")
    out: list[str] = []
    for d, (name, budget) in enumerate(zip(DIRECTIONS, directions, strict=True)):
        head = f"{name} {budget.wavelength_nm} nm"
        if budget.rx_min_dbm < sens[d]:
            worst = ", ".join(contributors(forest, node, name, splitters))
            out.append(
                f"{head}: {sens[d] - budget.rx_min_dbm:.1f} dB short of {receiver[d]} sensitivity "
                f"{_dbm(sens[d])} dBm; largest contributors: {worst}"
            )
        if budget.rx_max_dbm > over[d]:
            out.append(
                f"{head}: {budget.rx_max_dbm - over[d]:.1f} dB over {receiver[d]} overload "
                f"{_dbm(over[d])} dBm (best case {_dbm(budget.rx_max_dbm)} dBm); add attenuation"
            )
        if not class_ok:
            if budget.loss_db + margin > optics.max_loss_db:
                out.append(
                    f"{head}: loss {budget.loss_db:.1f} dB + {margin:g} dB margin exceeds the "
                    f"class {optics.name} maximum {optics.max_loss_db:g} dB"
                )
            if budget.loss_db < optics.min_loss_db:
                out.append(
                    f"{head}: loss {budget.loss_db:.1f} dB is below the class {optics.name} "
                    f"minimum {optics.min_loss_db:g} dB"
                )
    if distance > reach_limit:
        out.append(
            f"distance {distance / 1000:.2f} km exceeds the {reach_limit / 1000:g} km reach of "
            f"{forest.port_technology[p]}"
        )
    if split > split_limit:
        out.append(f"split 1:{split} exceeds the port's limit 1:{split_limit}")
    return out


def worst_per_port(values: NDArray[np.float64], ont_port: NDArray[np.int64], n_ports: int,
                   ids: list[str], *, valid: NDArray[np.bool_] | None = None
                   ) -> NDArray[np.int64]:
    """Per port, the index of its ONT with the smallest value (ties: the smallest id), or
    −1 for a port with no (valid) ONT. ONTs are grouped by port (``ont_port`` sorted).

    Examples
    --------
    >>> import numpy as np
    >>> worst_per_port(np.array([2.0, 1.0, 1.0, 5.0]), np.array([0, 0, 0, 2]), 3,
    ...                ["c", "b", "a", "d"]).tolist()
    [2, -1, 3]
    """
    if valid is not None:
        values = np.where(valid, values, np.inf)
    start = np.searchsorted(ont_port, np.arange(n_ports + 1))
    nonempty = start[1:] > start[:-1]
    low = np.full(n_ports, np.inf)
    if nonempty.any():
        low[nonempty] = np.minimum.reduceat(values, start[:-1][nonempty])
    out = np.full(n_ports, -1, dtype=np.int64)
    ties = np.flatnonzero((values == low[ont_port]) & (values < np.inf))
    for k, p in zip(ties.tolist(), ont_port[ties].tolist(), strict=True):
        if out[p] < 0 or ids[k] < ids[out[p]]:
            out[p] = k
    return out


def port_budgets(forest: PonForest, columns: BudgetColumns,
                 limits: dict[str, tuple[float, int]]) -> list[PortBudget]:
    """Per port: spread of distance and loss over its ONTs (contiguous in forest order)."""
    n_ports = len(forest.port_ids)
    ont_port = forest.ont_port
    start = np.searchsorted(ont_port, np.arange(n_ports + 1))
    count = np.diff(start)
    nonempty = count > 0
    first = start[:-1][nonempty]

    def per_port(ufunc: np.ufunc, values: NDArray[Any]) -> list[Any]:
        out = np.zeros(n_ports, dtype=values.dtype)
        if len(first):
            out[nonempty] = ufunc.reduceat(values, first)
        return out.tolist()

    distance, down, up = columns.distance_m, columns.loss_down_db, columns.loss_up_db
    max_distance = per_port(np.maximum, distance)
    diff_reach = (np.array(max_distance) - np.array(per_port(np.minimum, distance))).tolist()
    diff_down = (np.array(per_port(np.maximum, down)) - np.array(per_port(np.minimum, down)))
    diff_up = (np.array(per_port(np.maximum, up)) - np.array(per_port(np.minimum, up)))
    onts_within_budget = per_port(np.add, columns.ok.astype(np.int64))
    worst = worst_per_port(columns.worst_headroom_db, ont_port, n_ports, forest.ont_ids).tolist()
    diffs = (diff_down.tolist(), diff_up.tolist())
    ports = []
    for p, port_id in enumerate(forest.port_ids):
        technology = catalog.technology(forest.port_technology[p])
        reach_limit, _ = limits[port_id]
        problems: list[str] = []
        if diff_reach[p] > technology.max_differential_reach_m:
            problems.append(
                f"differential reach {diff_reach[p] / 1000:.2f} km exceeds "
                f"{technology.max_differential_reach_m / 1000:g} km"
            )
        for name, diff in (("downstream", diffs[0][p]), ("upstream", diffs[1][p])):
            if diff > technology.max_differential_loss_db:
                problems.append(
                    f"{name} differential loss {diff:.1f} dB exceeds "
                    f"{technology.max_differential_loss_db:g} dB"
                )
        k = worst[p]
        ports.append(PortBudget(
            id=port_id, olt=forest.port_olt[p], technology=forest.port_technology[p],
            optics_class=forest.port_class[p], onts=int(count[p]),
            onts_within_budget=onts_within_budget[p],
            max_distance_m=max_distance[p], max_reach_m=reach_limit,
            differential_reach_m=diff_reach[p],
            max_differential_reach_m=technology.max_differential_reach_m,
            differential_loss_down_db=diffs[0][p], differential_loss_up_db=diffs[1][p],
            max_differential_loss_db=technology.max_differential_loss_db,
            worst_ont=forest.ont_ids[k] if k >= 0 else None,
            worst_headroom_db=float(columns.worst_headroom_db[k]) if k >= 0 else None,
            ok=not problems, problems=problems,
        ))
    return ports


@dataclass(frozen=True, slots=True)
class HopLoss:
    """Cumulative figures at the downstream end of one hop of an ONT's path."""

    link: str | None
    node: str
    kind: str
    length_m: float
    distance_m: float
    loss_down_db: float
    loss_up_db: float
    cum_loss_down_db: float
    cum_loss_up_db: float

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def hop_losses(forest: PonForest, result: BudgetResult, ont_id: str) -> list[HopLoss]:
    """The ONT's path from its port, with the loss of each hop and the running total."""
    if ont_id not in forest.index_of:
        raise NotFoundError(kind="ONT in a PON tree", element_id=ont_id)
    chain = []
    i = forest.index_of[ont_id]
    while i >= 0:
        chain.append(i)
        i = int(forest.parent[i])
    kinds = ("port", "splitter", "ont")
    return [
        HopLoss(
            link=forest.node_link[i], node=forest.node_ids[i], kind=kinds[forest.node_kind[i]],
            length_m=float(forest.edge_length_m[i]), distance_m=float(result.cum_length_m[i]),
            loss_down_db=float(forest.edge_loss_down_db[i]),
            loss_up_db=float(forest.edge_loss_up_db[i]),
            cum_loss_down_db=float(result.cum_loss_down_db[i]),
            cum_loss_up_db=float(result.cum_loss_up_db[i]),
        )
        for i in reversed(chain)
    ]
