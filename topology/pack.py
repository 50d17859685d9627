"""Pack the PON forest of a network into flat arrays for the kernels.

This is the only place that knows array indices. Every PON port is a tree root; nodes are
laid out breadth-first from each port, so ``parent[i] < i`` and one forward pass
(:func:`ponmodel.budget.run_budget`) accumulates loss, length and split for every node.
Each node carries the edge that feeds it:

- a port: its coexistence loss (CEx / WDM filter), length 0, split 1;
- any other node: the loss of its link at each direction's wavelength (fibre, connectors,
  splices, extra loss) plus the insertion loss of the splitter it leaves (the leg's loss
  for a tap splitter), the link's length, and the ratio of that splitter as split factor.

The wavelengths follow each port's technology (spec: gpon 1490/1310 nm, xg-pon and
xgs-pon 1577/1270 nm, 25gs-pon 1358/1270 nm). Figures come from, in order of precedence:
the element's measured value, the cable's (when a link has exactly one), the document's
defaults, the built-in catalogue.

Examples
--------
>>> from ponmodel.topology.pack import pack_forest
>>> doc = {"format": "ponmodel/1", "defaults": None, "cables": [], "splitters": [],
...        "olts": [{"id": "O", "operator": "v", "structure": "E", "uplink_gbps": 10,
...                  "ports": [{"id": "O/1", "technology": "xgs-pon", "optics_class": "N1",
...                             "coexistence_loss_db": 0.0}]}],
...        "onts": [{"id": "N", "structure": "B", "kind": "enterprise"}],
...        "links": [{"id": "L", "from": "O/1", "to": "N", "length_m": 1000.0,
...                   "connectors": 2, "splices": 0, "extra_loss_db": 0.0, "cables": []}]}
>>> forest = pack_forest(doc)
>>> forest.node_ids, forest.parent.tolist()
(['O/1', 'N'], [-1, 0])
>>> round(float(forest.edge_loss_up_db[1]), 6)  # 1 km × 0.40 dB/km + 2 × 0.75 dB
1.9
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ponmodel import catalog
from ponmodel.document import Document

KIND_PORT, KIND_SPLITTER, KIND_ONT = 0, 1, 2
KIND_NAMES = ("port", "splitter", "ont")

ONT_FIELDS_READ = frozenset({"onu_tx_dbm", "onu_rx_sensitivity_dbm", "onu_rx_overload_dbm"})
"""The ONT fields :func:`pack_forest` reads (besides ids): an edit of any other field leaves
the forest as it was (the API's cache keeps what depends on these alone across such edits)."""


@dataclass(frozen=True, slots=True)
class Figures:
    """The loss figures in force for one network: document defaults over the catalogue."""

    attenuation_db_per_km: dict[int, float]
    connector_loss_db: float
    splice_loss_db: float
    safety_margin_db: float

    @classmethod
    def of(cls, doc: Document) -> Figures:
        """The figures of ``doc`` (its ``defaults``, else the catalogue's)."""
        defaults = doc.get("defaults") or {}
        attenuation = dict(catalog.FIBRE_ATTENUATION_DB_PER_KM)
        for nm, value in (defaults.get("attenuation_db_per_km") or {}).items():
            attenuation[int(nm)] = value

        def pick(key: str, fallback: float) -> float:
            value = defaults.get(key)
            return fallback if value is None else float(value)

        return cls(
            attenuation_db_per_km=attenuation,
            connector_loss_db=pick("connector_loss_db", catalog.CONNECTOR_LOSS_DB),
            splice_loss_db=pick("splice_loss_db", catalog.SPLICE_LOSS_DB),
            safety_margin_db=pick("safety_margin_db", catalog.SAFETY_MARGIN_DB),
        )


@dataclass
class PonForest:
    """The PON forest as one array per field, plus the id ↔ index lookups."""

    figures: Figures
    node_ids: list[str]
    node_kind: NDArray[np.int8]
    parent: NDArray[np.int64]
    node_port: NDArray[np.int64]
    """Index (into the port arrays) of the port each node hangs off."""
    node_link: list[str | None]
    """Id of the link feeding each node (None for a port)."""
    edge_loss_down_db: NDArray[np.float64]
    edge_loss_up_db: NDArray[np.float64]
    edge_length_m: NDArray[np.float64]
    edge_split: NDArray[np.float64]
    edge_splitter_loss_db: NDArray[np.float64]
    """The part of each edge's loss that is the insertion loss of the splitter it leaves."""
    port_ids: list[str]
    port_olt: list[str]
    port_technology: list[str]
    port_class: list[str]
    port_tx_min_dbm: NDArray[np.float64]
    port_tx_max_dbm: NDArray[np.float64]
    port_rx_sensitivity_dbm: NDArray[np.float64]
    port_rx_overload_dbm: NDArray[np.float64]
    port_class_min_loss_db: NDArray[np.float64]
    port_class_max_loss_db: NDArray[np.float64]
    ont_ids: list[str]
    ont_node: NDArray[np.int64]
    ont_port: NDArray[np.int64]
    ont_tx_min_dbm: NDArray[np.float64]
    ont_tx_max_dbm: NDArray[np.float64]
    ont_rx_sensitivity_dbm: NDArray[np.float64]
    ont_rx_overload_dbm: NDArray[np.float64]
    index_of: dict[str, int] = field(default_factory=dict)
    """Node id → node index."""

    @property
    def node_count(self) -> int:
        """Number of nodes (ports, splitters, ONTs)."""
        return len(self.node_ids)

    def ont_index(self, ont_id: str) -> int:
        """Index of an ONT in the ONT arrays (``ont_ids``, ``ont_node``, ...); KeyError when
        ``ont_id`` is no ONT of the forest."""
        node = self.index_of[ont_id]
        k = int(np.searchsorted(self.ont_node, node))
        if k >= len(self.ont_node) or int(self.ont_node[k]) != node:
            raise KeyError(ont_id)
        return k


def link_loss_db(
    link: dict[str, Any], wavelength_nm: int, figures: Figures,
    cables: dict[str, dict[str, Any]],
) -> float:
    """The loss of one link at one wavelength, dB (spec: "Optical budget").

    ``attenuation`` is the link's own value, else its cable's when it has exactly one, else
    the document's default, else the catalogue's.

    Examples
    --------
    >>> f = Figures({1270: 0.4, 1577: 0.3}, 0.75, 0.3, 3.0)
    >>> link = {"length_m": 2000.0, "connectors": 2, "splices": 1, "extra_loss_db": 0.5,
    ...         "cables": [], "attenuation_db_per_km": None}
    >>> round(link_loss_db(link, 1270, f, {}), 9)  # 0.8 + 1.5 + 0.3 + 0.5
    3.1
    """
    key = str(wavelength_nm)
    own = link.get("attenuation_db_per_km") or {}
    attenuation = own.get(key)
    if attenuation is None and len(link.get("cables") or ()) == 1:
        cable = cables.get(link["cables"][0])
        if cable is not None:
            attenuation = (cable.get("attenuation_db_per_km") or {}).get(key)
    if attenuation is None:
        attenuation = figures.attenuation_db_per_km[wavelength_nm]
    return fibre_loss_db(link["length_m"], attenuation, link.get("connectors", 0),
                         link.get("splices", 0), link.get("extra_loss_db", 0.0), figures)


def fibre_loss_db(length_m: Any, attenuation_db_per_km: Any, connectors: Any, splices: Any,
                  extra_loss_db: Any, figures: Figures) -> Any:
    """The spec's loss of a link from its parts, dB: numbers or numpy arrays alike.

    The one place of the formula: :func:`link_loss_db` applies it to one link,
    :mod:`ponmodel.topology.stored` to every link of a database at once (same operations in
    the same order, so both give the same bits).

    Examples
    --------
    >>> f = Figures({1270: 0.4}, 0.75, 0.3, 3.0)
    >>> round(fibre_loss_db(2000.0, 0.4, 2, 1, 0.5, f), 9)  # 0.8 + 1.5 + 0.3 + 0.5
    3.1
    """
    return (
        length_m / 1000.0 * attenuation_db_per_km
        + connectors * figures.connector_loss_db
        + splices * figures.splice_loss_db
        + extra_loss_db
    )


def splitter_leg_loss_db(splitter: dict[str, Any], leg: str | None) -> float:
    """Insertion loss of a splitter towards one output, dB (measured, else catalogue).

    Examples
    --------
    >>> splitter_leg_loss_db({"ratio": 32, "insertion_loss_db": None}, None)
    17.2
    >>> splitter_leg_loss_db({"ratio": 2, "through_percent": 70, "insertion_loss_db": None,
    ...                       "tap_loss_db": None}, "tap")
    6.4
    """
    through = splitter.get("through_percent")
    if through is not None:
        through_db, tap_db = catalog.tap_splitter_loss_db(int(through))
        if leg == "tap":
            measured = splitter.get("tap_loss_db")
            return tap_db if measured is None else float(measured)
        measured = splitter.get("insertion_loss_db")
        return through_db if measured is None else float(measured)
    measured = splitter.get("insertion_loss_db")
    if measured is not None:
        return float(measured)
    ratio = int(splitter["ratio"])
    return 0.0 if ratio < 2 else catalog.balanced_splitter_loss_db(ratio)


def _pick(override: float | None, fallback: float) -> float:
    return fallback if override is None else float(override)


def port_figures(port: dict[str, Any]) -> tuple[float, float, float, float, float, float]:
    """A port's OLT transmitter range, receiver sensitivity and overload (its overrides, else
    its class's) and its class window: ``(tx_min, tx_max, rx_sens, rx_over, min_loss,
    max_loss)``, dBm and dB.

    Examples
    --------
    >>> port_figures({"technology": "xgs-pon", "optics_class": "N1", "olt_tx_dbm": None})
    (2.0, 5.0, -26.0, -5.0, 14.0, 29.0)
    """
    optics = catalog.optics_class(port["technology"], port["optics_class"])
    tx = port.get("olt_tx_dbm") or {}
    return (
        _pick(tx.get("min"), optics.olt_tx_min_dbm),
        _pick(tx.get("max"), optics.olt_tx_max_dbm),
        _pick(port.get("olt_rx_sensitivity_dbm"), optics.olt_rx_sensitivity_dbm),
        _pick(port.get("olt_rx_overload_dbm"), optics.olt_rx_overload_dbm),
        optics.min_loss_db,
        optics.max_loss_db,
    )


def coexistence_loss_db(port: dict[str, Any]) -> float:
    """The loss a port's own node carries: its coexistence element (CEx / WDM), else 0 dB."""
    return float(port.get("coexistence_loss_db") or 0.0)


def pack_forest(doc: Document) -> PonForest:
    """Pack every PON tree of a validated document (breadth-first from each port)."""
    figures = Figures.of(doc)
    cables = {c["id"]: c for c in doc.get("cables", [])}
    splitters = {s["id"]: s for s in doc.get("splitters", [])}
    onts = {o["id"]: o for o in doc.get("onts", [])}
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for link in doc.get("links", []):
        children[link["from"]].append(link)

    node_ids: list[str] = []
    node_kind: list[int] = []
    parent: list[int] = []
    node_port: list[int] = []
    node_link: list[str | None] = []
    loss_down: list[float] = []
    loss_up: list[float] = []
    length: list[float] = []
    split: list[float] = []
    splitter_loss: list[float] = []
    port_ids: list[str] = []
    port_olt: list[str] = []
    port_tech: list[str] = []
    port_class: list[str] = []
    port_cols: list[tuple[float, float, float, float, float, float]] = []
    ont_ids: list[str] = []
    ont_node: list[int] = []
    ont_port: list[int] = []
    ont_cols: list[tuple[float, float, float, float]] = []

    for olt in doc.get("olts", []):
        for port in olt.get("ports", []):
            p = len(port_ids)
            tech = catalog.technology(port["technology"])
            optics = catalog.optics_class(port["technology"], port["optics_class"])
            port_ids.append(port["id"])
            port_olt.append(olt["id"])
            port_tech.append(port["technology"])
            port_class.append(port["optics_class"])
            port_cols.append(port_figures(port))
            down_nm, up_nm = tech.wavelength_down_nm, tech.wavelength_up_nm
            coexistence = coexistence_loss_db(port)
            root = len(node_ids)
            node_ids.append(port["id"])
            node_kind.append(KIND_PORT)
            parent.append(-1)
            node_port.append(p)
            node_link.append(None)
            loss_down.append(coexistence)
            loss_up.append(coexistence)
            length.append(0.0)
            split.append(1.0)
            splitter_loss.append(0.0)
            queue = [(root, port["id"], None)]
            head = 0
            while head < len(queue):
                index, node_id, splitter = queue[head]
                head += 1
                for link in children.get(node_id, ()):
                    child = link["to"]
                    extra = (
                        0.0 if splitter is None else splitter_leg_loss_db(splitter, link.get("leg"))
                    )
                    ratio = 1.0 if splitter is None else float(splitter["ratio"])
                    i = len(node_ids)
                    node_ids.append(child)
                    parent.append(index)
                    node_port.append(p)
                    node_link.append(link["id"])
                    loss_down.append(link_loss_db(link, down_nm, figures, cables) + extra)
                    loss_up.append(link_loss_db(link, up_nm, figures, cables) + extra)
                    length.append(float(link["length_m"]))
                    split.append(ratio)
                    splitter_loss.append(extra)
                    if child in splitters:
                        node_kind.append(KIND_SPLITTER)
                        queue.append((i, child, splitters[child]))
                    else:
                        node_kind.append(KIND_ONT)
                        ont = onts[child]
                        ont_ids.append(child)
                        ont_node.append(i)
                        ont_port.append(p)
                        onu_tx = ont.get("onu_tx_dbm") or {}
                        ont_cols.append((
                            _pick(onu_tx.get("min"), optics.onu_tx_min_dbm),
                            _pick(onu_tx.get("max"), optics.onu_tx_max_dbm),
                            _pick(
                                ont.get("onu_rx_sensitivity_dbm"), optics.onu_rx_sensitivity_dbm
                            ),
                            _pick(ont.get("onu_rx_overload_dbm"), optics.onu_rx_overload_dbm),
                        ))

    f64 = np.float64
    ports = np.array(port_cols, dtype=f64).reshape(-1, 6)
    ont_arr = np.array(ont_cols, dtype=f64).reshape(-1, 4)
    return PonForest(
        figures=figures,
        node_ids=node_ids,
        node_kind=np.array(node_kind, dtype=np.int8),
        parent=np.array(parent, dtype=np.int64),
        node_port=np.array(node_port, dtype=np.int64),
        node_link=node_link,
        edge_loss_down_db=np.array(loss_down, dtype=f64),
        edge_loss_up_db=np.array(loss_up, dtype=f64),
        edge_length_m=np.array(length, dtype=f64),
        edge_split=np.array(split, dtype=f64),
        edge_splitter_loss_db=np.array(splitter_loss, dtype=f64),
        port_ids=port_ids,
        port_olt=port_olt,
        port_technology=port_tech,
        port_class=port_class,
        port_tx_min_dbm=np.ascontiguousarray(ports[:, 0]),
        port_tx_max_dbm=np.ascontiguousarray(ports[:, 1]),
        port_rx_sensitivity_dbm=np.ascontiguousarray(ports[:, 2]),
        port_rx_overload_dbm=np.ascontiguousarray(ports[:, 3]),
        port_class_min_loss_db=np.ascontiguousarray(ports[:, 4]),
        port_class_max_loss_db=np.ascontiguousarray(ports[:, 5]),
        ont_ids=ont_ids,
        ont_node=np.array(ont_node, dtype=np.int64),
        ont_port=np.array(ont_port, dtype=np.int64),
        ont_tx_min_dbm=np.ascontiguousarray(ont_arr[:, 0]),
        ont_tx_max_dbm=np.ascontiguousarray(ont_arr[:, 1]),
        ont_rx_sensitivity_dbm=np.ascontiguousarray(ont_arr[:, 2]),
        ont_rx_overload_dbm=np.ascontiguousarray(ont_arr[:, 3]),
        index_of={node: i for i, node in enumerate(node_ids)},
    )
