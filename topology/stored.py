"""The budget and capacity of a whole stored network, read straight from the database.

:func:`check_database` computes what :func:`~ponmodel.topology.budget.network_budget` and
:func:`~ponmodel.topology.capacity.network_capacity` compute on the exported document — the
same figures to the last bit, tested on both databases — without building that document:
a handful of plain ``SELECT`` s read only the columns the kernels need (streamed in chunks:
``fetchmany`` on SQLite; chunked rows, else a server-side cursor, on PostgreSQL), rarely
set overrides as one flag per row, the PON forest is laid out in numpy
(:func:`read_stored`), the kernels run over it, and the results stay columns (one array per
figure, :class:`NetworkCheck`) until someone asks for one ONT as an object.

The layout equals :func:`~ponmodel.topology.pack.pack_forest` of the exported document
node for node: ports in OLT-id then position order, each tree breadth-first with the links
leaving a node in id order. Breadth-first order is computed a level at a time: the nodes of
depth ``d + 1`` sorted by their parent's rank at depth ``d``, then by link id. The figures
come from the shared definitions of :mod:`ponmodel.topology.pack` (``fibre_loss_db``,
``splitter_leg_loss_db``, ``port_figures``) and the checks from
:func:`~ponmodel.topology.budget.budget_columns` and
:func:`~ponmodel.topology.capacity.capacity_columns`.

:func:`write_results` writes what a fibre engineer reads after such a check: one row per
ONT and per port (gzip CSV) and per OLT uplink, and a JSON summary.

Measured (``ponmodel bench e2e``, :mod:`ponmodel.topology.e2e_bench`; 2 cores,
2026-12-02 afternoon, medians of 3): the whole check of 1,000,000 ONTs (1.23 M links,
65,568 ports) from a loaded database takes 11.0 s with a peak of 1.6 GB on SQLite and
7.8 s, 1.5 GB on PostgreSQL (reading the rows is 8.4 and 5.1 s of it). On the document
path the export alone took 26 s and ``pack_forest`` 9.5 s (``ponmodel bench import`` and
``bench budget``, 2026-11-23, on a machine of the same kind about 1.7 times slower),
before any figure is computed.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.storage import import_document, make_engine, migrate
>>> from ponmodel.topology.stored import check_database
>>> engine = make_engine("sqlite://")
>>> migrate(engine)
>>> _ = import_document(engine, read_document("fixtures/tiny.json"), validated=True)
>>> check = check_database(engine)
>>> check.forest.ont_ids
['ONT-01', 'ONT-02', 'ONT-03']
>>> round(check.ont_budget(0).downstream.loss_db, 2), bool(check.budget.ok.all())
(16.91, True)
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine

from ponmodel import catalog, storage
from ponmodel._gc import gc_paused
from ponmodel.budget import BudgetResult
from ponmodel.capacity import ADDITIONAL_CODES
from ponmodel.elements import ATTENUATION_COLUMNS, LinkCableTable, effective_additional
from ponmodel.errors import PonmodelError
from ponmodel.topology.budget import (
    BudgetColumns,
    OntBudget,
    PortBudget,
    budget_columns,
    compute,
    ont_budget,
    ont_problems,
    port_budgets,
    port_limits,
)
from ponmodel.topology.capacity import (
    DIRECTIONS,
    CapacityColumns,
    OntCapacity,
    OntRates,
    capacity_columns,
    not_ten_g_reasons,
)
from ponmodel.topology.pack import (
    KIND_ONT,
    KIND_PORT,
    KIND_SPLITTER,
    Figures,
    PonForest,
    coexistence_loss_db,
    fibre_loss_db,
    port_figures,
    splitter_leg_loss_db,
)
from ponmodel.types import OntKind

STREAM_ROWS = 50_000
"""Rows per ``fetchmany``: large enough to amortise the round trip, small enough that one
chunk of Python tuples stays a few tens of MB."""

WAVELENGTHS_NM = tuple(int(nm) for nm in ATTENUATION_COLUMNS)
"""The wavelengths with an attenuation column, in column order."""

_ATTENUATION_COLUMNS = tuple(ATTENUATION_COLUMNS.values())
_ONU_COLUMNS = ("onu_tx_min_dbm", "onu_tx_max_dbm", "onu_rx_sensitivity_dbm",
                "onu_rx_overload_dbm")
ONT_KINDS = tuple(sorted(get_args(OntKind)))
"""The ONT kinds the database codes itself (``CASE``): a string per row costs more."""


def _any_set(columns: Sequence[str]) -> str:
    return "(" + " OR ".join(f"{c} IS NOT NULL" for c in columns) + ")"


def _case(column: str, codes: dict[str, int]) -> str:
    whens = " ".join(f"WHEN '{name}' THEN {code}" for name, code in codes.items())
    return f"CASE {column} {whens} ELSE -1 END"


# Overrides that are rarely set (measured attenuation, ONU optics) come as one flag per row;
# the few rows that have them are read by a second query: each value fetched costs about
# 80 ns on SQLite, NULL or not, and these are nine columns of a million rows.
_LINKS_SQL = (
    "SELECT id, from_id, to_id, length_m, connectors, splices, extra_loss_db, "
    f"CASE WHEN leg = 'tap' THEN 1 ELSE 0 END, "
    f"CASE WHEN {_any_set(_ATTENUATION_COLUMNS)} THEN 1 ELSE 0 END FROM link ORDER BY id"
)
_LINK_ATTENUATION_SQL = (
    f"SELECT to_id, {', '.join(_ATTENUATION_COLUMNS)} FROM link "
    f"WHERE {_any_set(_ATTENUATION_COLUMNS)}"
)
_SPLITTERS_SQL = (
    "SELECT id, ratio, insertion_loss_db, through_percent, tap_loss_db FROM splitter"
)
_ONTS_SQL = (
    f"SELECT id, structure, {_case('kind', {k: i for i, k in enumerate(ONT_KINDS)})}, "
    f"CASE WHEN {_any_set(_ONU_COLUMNS)} THEN 1 ELSE 0 END, "
    "down_fixed_mbps, down_assured_mbps, down_max_mbps, down_weight, "
    "up_fixed_mbps, up_assured_mbps, up_max_mbps, up_weight, "
    f"{_case('down_additional', ADDITIONAL_CODES)}, {_case('up_additional', ADDITIONAL_CODES)} "
    "FROM ont"
)
_ONU_OVERRIDES_SQL = f"SELECT id, {', '.join(_ONU_COLUMNS)} FROM ont WHERE {_any_set(_ONU_COLUMNS)}"
_OTHER_KINDS_SQL = (
    "SELECT id, kind FROM ont WHERE kind NOT IN ("
    + ", ".join(f"'{k}'" for k in ONT_KINDS) + ")"
)
_ATTENUATED_CABLES_SQL = (
    f"SELECT id, {', '.join(_ATTENUATION_COLUMNS)} FROM cable "
    f"WHERE {_any_set(_ATTENUATION_COLUMNS)}"
)
_STRUCTURE_ZONES_SQL = "SELECT id, zone FROM structure"


# --------------------------------------------------------------------------- reading rows


def _stream(conn: Connection, sql: str) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of one ``SELECT``, ``STREAM_ROWS`` at a time, as plain tuples.

    On PostgreSQL the rows are streamed: with psycopg ≥ 3.2 over libpq ≥ 17 in chunked-rows
    mode (the server sends the whole result without waiting for the client to ask for each
    chunk: measured 1.1 s instead of 1.8 s for 1.2 M links), else through a named
    (server-side) cursor. Either way no copy of the whole result sits in memory.
    """
    raw: Any = conn.connection.dbapi_connection
    if conn.dialect.name == "postgresql":
        import psycopg

        capabilities = getattr(psycopg, "capabilities", None)
        if capabilities is not None and capabilities.has_stream_chunked():
            with raw.cursor(binary=True) as cursor:
                rows = cursor.stream(sql, size=STREAM_ROWS)
                try:
                    while chunk := list(itertools.islice(rows, STREAM_ROWS)):
                        yield chunk
                finally:
                    rows.close()
            return
        cursor = raw.cursor(name="ponmodel_stored", binary=True)
        cursor.itersize = STREAM_ROWS
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql)
        while chunk := cursor.fetchmany(STREAM_ROWS):
            yield chunk
    finally:
        cursor.close()


def _columns(conn: Connection, sql: str, kinds: str) -> list[Any]:
    """One column per character of ``kinds``: ``f`` float64 array (NULL → NaN), ``i`` int64
    array, ``s`` a list of Python values (ids, names; NULL → None).

    The rows go straight from the cursor into one structured array (``numpy.fromiter``, in
    C), whose fields are then copied out as columns: transposing each chunk of tuples in
    Python instead (``zip(*rows)``, then an array per column) doubled the time of reading the
    1.23 M links of a million-ONT network (3.0 s against 1.6 s on SQLite, the two ways timed
    by hand on 2026-12-02; ``ponmodel bench e2e`` reports the whole read as ``read_s``).
    """
    fields = [(f"c{i}", {"f": "f8", "i": "i8", "s": "O"}[kind]) for i, kind in enumerate(kinds)]
    rows = np.fromiter(itertools.chain.from_iterable(_stream(conn, sql)), dtype=np.dtype(fields))
    out: list[Any] = []
    for (name, _), kind in zip(fields, kinds, strict=True):
        out.append(rows[name].tolist() if kind == "s" else np.ascontiguousarray(rows[name]))
    return out


def _codes(values: Sequence[Any]) -> tuple[NDArray[np.int32], list[Any]]:
    """Small integer codes for repeated values (ONT kinds, zones) and the values they name
    (sorted, None last)."""
    names = sorted(set(values), key=lambda v: (v is None, v or ""))
    index = {v: i for i, v in enumerate(names)}
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values))
    return codes, names


# --------------------------------------------------------------------------- the network


@dataclass
class StoredNetwork:
    """What the kernels need from a stored network: the packed forest and, per ONT in the
    forest's order, its service in both directions, kind and zone."""

    forest: PonForest
    olts: list[dict[str, Any]]
    """Every OLT element with its ports, in id order (as the export writes them)."""
    limits: dict[str, tuple[float, int]]
    """Port id → (reach limit m, split limit): :func:`~ponmodel.topology.budget.port_limits`."""
    services: dict[str, dict[str, NDArray[Any]]]
    """Direction → ``fixed_mbps``, ``assured_mbps``, ``max_mbps``, ``weight`` (float
    arrays) and ``additional`` (tier codes, :data:`ponmodel.capacity.ADDITIONAL_CODES`)."""
    ont_kind: NDArray[np.int32]
    kind_names: list[str]
    ont_zone: NDArray[np.int32]
    zone_names: list[str | None]
    zone_of_structure: dict[str, str | None]
    """Zones of the OLTs' structures (what the port and uplink results name)."""
    node_ratio: NDArray[np.float64]
    """Per node: its splitter's ratio (NaN for ports and ONTs)."""
    node_through_percent: NDArray[np.float64]
    """Per node: its tap splitter's through percent (NaN otherwise)."""
    read_s: float = 0.0
    """Seconds spent reading the database (the queries and the rows into arrays)."""


def read_stored(conn: Connection) -> StoredNetwork:
    """Read a stored network into the kernels' arrays with a handful of plain ``SELECT`` s.

    Run it inside one transaction (:func:`check_database` does) so that every query sees
    the same snapshot. The forest equals ``pack_forest(export_with(conn))`` field by field.

    Raises
    ------
    PonmodelError
        A link leads to an element that is neither a splitter nor an ONT (the database
        holds an invalid network).
    """
    started = time.perf_counter()
    with gc_paused():
        network = _read(conn, started)
    return network


def _read(conn: Connection, started: float) -> StoredNetwork:
    figures = Figures.of(storage.network_meta(conn))
    olts = storage.read_elements(conn, "olt")[0]
    ports = [(olt, port) for olt in olts for port in olt["ports"]]
    n_ports = len(ports)
    port_ids = [port["id"] for _, port in ports]
    (link_ids, from_ids, to_ids, length_m, connectors, splices, extra_db, tap_leg,
     attenuated) = _columns(conn, _LINKS_SQL, "sssfiifii")
    n_links = len(to_ids)
    # one index space for every node: ports first, then the target of each link (id order)
    node_of = dict(zip(port_ids, range(n_ports), strict=True))
    node_of.update(zip(to_ids, range(n_ports, n_ports + n_links), strict=True))
    attenuation = np.full((n_links, len(WAVELENGTHS_NM)), np.nan)
    if attenuated.any():
        targets, *values = _columns(conn, _LINK_ATTENUATION_SQL, "s" + "f" * len(WAVELENGTHS_NM))
        rows = np.array([node_of[t] for t in targets], dtype=np.int64) - n_ports
        attenuation[rows] = np.stack(values, axis=1)
    n = n_ports + n_links
    parent = np.empty(n, dtype=np.int64)
    parent[:n_ports] = -1
    parent[n_ports:] = np.fromiter(map(node_of.get, from_ids, itertools.repeat(-2, n_links)),
                                   dtype=np.int64, count=n_links)
    del from_ids
    is_splitter = np.zeros(n, dtype=bool)
    ratio = np.full(n, np.nan)
    through = np.full(n, np.nan)
    insertion_db = np.full(n, np.nan)
    tap_db = np.full(n, np.nan)
    s_ids, s_ratio, s_insertion, s_through, s_tap = _columns(conn, _SPLITTERS_SQL, "sffff")
    s_node = np.fromiter(map(node_of.get, s_ids, itertools.repeat(-1, len(s_ids))),
                         dtype=np.int64, count=len(s_ids))
    linked = s_node >= 0  # a splitter no link reaches has no node (invalid, never packed)
    s_node = s_node[linked]
    is_splitter[s_node] = True
    ratio[s_node] = s_ratio[linked]
    insertion_db[s_node] = s_insertion[linked]
    through[s_node] = s_through[linked]
    tap_db[s_node] = s_tap[linked]
    (o_ids, o_structure, o_kind, o_overridden, *o_service, down_codes,
     up_codes) = _columns(conn, _ONTS_SQL, "ssii" + "f" * 8 + "ii")
    o_node = np.fromiter(map(node_of.get, o_ids, itertools.repeat(-1, len(o_ids))),
                         dtype=np.int64, count=len(o_ids))
    row_of_node = np.full(n, -1, dtype=np.int64)  # node → its row of the ONT query
    row_of_node[o_node[o_node >= 0]] = np.flatnonzero(o_node >= 0)
    o_onu = np.full((len(o_ids), len(_ONU_COLUMNS)), np.nan)
    if o_overridden.any():
        ids, *values = _columns(conn, _ONU_OVERRIDES_SQL, "s" + "f" * len(_ONU_COLUMNS))
        nodes = np.array([node_of.get(i, -1) for i in ids], dtype=np.int64)
        known = nodes >= 0
        o_onu[row_of_node[nodes[known]]] = np.stack(values, axis=1)[known]
    kind_names: list[str] = list(ONT_KINDS)
    if (o_kind < 0).any():  # a kind outside the model's (written around the validation)
        row_of_id = {i: r for r, i in enumerate(o_ids)}
        for ont_id, kind in zip(*_columns(conn, _OTHER_KINDS_SQL, "ss"), strict=True):
            if kind not in kind_names:
                kind_names.append(kind)
            o_kind[row_of_id[ont_id]] = kind_names.index(kind)
    del node_of

    # pack_forest descends from ports into splitters only
    descend = np.ones(n, dtype=bool)
    descend[n_ports:] = is_splitter[n_ports:]
    order, port_of = breadth_first(parent, descend, n_ports)
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[order] = np.arange(len(order))
    up = parent[order]
    forest_parent = np.where(up >= 0, new_index[np.maximum(up, 0)], -1)

    node_kind = np.where(is_splitter[order], KIND_SPLITTER, KIND_ONT).astype(np.int8)
    node_kind[order < n_ports] = KIND_PORT
    node_port = port_of[order]
    ont_nodes = np.flatnonzero(node_kind == KIND_ONT)
    ont_rows = row_of_node[order[ont_nodes]]
    if (ont_rows < 0).any():
        bad = to_ids[int(order[ont_nodes[np.argmax(ont_rows < 0)]]) - n_ports]
        msg = f"a link leads to {bad}, which is neither a splitter nor an ONT"
        raise PonmodelError(msg)

    # per port: technology, wavelengths, figures, class defaults of the ONUs behind it
    techs = [catalog.technology(port["technology"]) for _, port in ports]
    optics = [catalog.optics_class(port["technology"], port["optics_class"])
              for _, port in ports]
    wave = {nm: w for w, nm in enumerate(WAVELENGTHS_NM)}
    down_w = np.array([wave[t.wavelength_down_nm] for t in techs], dtype=np.int64)
    up_w = np.array([wave[t.wavelength_up_nm] for t in techs], dtype=np.int64)
    port_cols = np.array([port_figures(port) for _, port in ports],
                         dtype=np.float64).reshape(-1, 6)

    # edges of the link nodes, in forest order
    links = order[order >= n_ports] - n_ports
    link_nodes = np.flatnonzero(order >= n_ports)
    p = node_port[link_nodes]
    own = attenuation[links]
    cable = _cable_attenuation(conn, link_ids, links)
    default = np.array([figures.attenuation_db_per_km[nm] for nm in WAVELENGTHS_NM])
    rows = np.arange(len(links))

    def attenuation_at(w: NDArray[np.int64]) -> NDArray[np.float64]:
        value = own[rows, w]
        fallback = cable[rows, w] if cable is not None else np.full(len(rows), np.nan)
        value = np.where(np.isnan(value), fallback, value)
        return np.where(np.isnan(value), default[w], value)

    up_node = parent[links + n_ports]
    from_splitter = up_node >= n_ports
    from_splitter[from_splitter] = is_splitter[up_node[from_splitter]]
    through_db, tap_leg_db = np.zeros(n), np.zeros(n)
    through_db[s_node], tap_leg_db[s_node] = _leg_losses(
        ratio[s_node], insertion_db[s_node], through[s_node], tap_db[s_node])
    leaving = up_node[from_splitter]
    leg_db = np.where(tap_leg[links][from_splitter] == 1, tap_leg_db[leaving],
                      through_db[leaving])
    splitter_db = np.zeros(len(links))
    splitter_db[from_splitter] = leg_db
    split = np.ones(len(links))
    split[from_splitter] = ratio[up_node[from_splitter]]
    length = length_m[links]
    fixed = (length, connectors[links], splices[links], extra_db[links])
    loss_down = fibre_loss_db(fixed[0], attenuation_at(down_w[p]), *fixed[1:], figures)
    loss_up = fibre_loss_db(fixed[0], attenuation_at(up_w[p]), *fixed[1:], figures)

    node_count = len(order)
    edges = {name: np.zeros(node_count) for name in ("down", "up", "length", "split", "sp")}
    port_nodes = np.flatnonzero(order < n_ports)
    coexistence = np.array([coexistence_loss_db(port) for _, port in ports], dtype=np.float64)
    for name in ("down", "up"):
        edges[name][port_nodes] = coexistence[order[port_nodes]]
    edges["split"][port_nodes] = 1.0
    edges["down"][link_nodes] = loss_down + splitter_db
    edges["up"][link_nodes] = loss_up + splitter_db
    edges["length"][link_nodes] = length
    edges["split"][link_nodes] = split
    edges["sp"][link_nodes] = splitter_db

    all_ids = port_ids + to_ids
    node_ids = [all_ids[i] for i in order.tolist()]
    all_links: list[str | None] = [None] * n_ports
    all_links.extend(link_ids)
    node_link = [all_links[i] for i in order.tolist()]
    del all_ids, all_links

    ont_port = node_port[ont_nodes]
    onu_defaults = np.array([(o.onu_tx_min_dbm, o.onu_tx_max_dbm, o.onu_rx_sensitivity_dbm,
                              o.onu_rx_overload_dbm) for o in optics],
                            dtype=np.float64).reshape(-1, 4)
    onu = []
    for c in range(4):
        override = o_onu[ont_rows, c]
        onu.append(np.where(np.isnan(override), onu_defaults[ont_port, c], override))
    forest = PonForest(
        figures=figures,
        node_ids=node_ids,
        node_kind=node_kind,
        parent=forest_parent,
        node_port=node_port,
        node_link=node_link,
        edge_loss_down_db=edges["down"],
        edge_loss_up_db=edges["up"],
        edge_length_m=edges["length"],
        edge_split=edges["split"],
        edge_splitter_loss_db=edges["sp"],
        port_ids=port_ids,
        port_olt=[olt["id"] for olt, _ in ports],
        port_technology=[port["technology"] for _, port in ports],
        port_class=[port["optics_class"] for _, port in ports],
        port_tx_min_dbm=np.ascontiguousarray(port_cols[:, 0]),
        port_tx_max_dbm=np.ascontiguousarray(port_cols[:, 1]),
        port_rx_sensitivity_dbm=np.ascontiguousarray(port_cols[:, 2]),
        port_rx_overload_dbm=np.ascontiguousarray(port_cols[:, 3]),
        port_class_min_loss_db=np.ascontiguousarray(port_cols[:, 4]),
        port_class_max_loss_db=np.ascontiguousarray(port_cols[:, 5]),
        ont_ids=[node_ids[i] for i in ont_nodes.tolist()],
        ont_node=ont_nodes.astype(np.int64),
        ont_port=ont_port,
        ont_tx_min_dbm=onu[0],
        ont_tx_max_dbm=onu[1],
        ont_rx_sensitivity_dbm=onu[2],
        ont_rx_overload_dbm=onu[3],
        index_of=dict(zip(node_ids, range(node_count), strict=True)),
    )

    services: dict[str, dict[str, NDArray[Any]]] = {}
    for d, direction in enumerate(DIRECTIONS):
        fixed_mbps, assured, maximum, weight = (o_service[4 * d + c][ont_rows]
                                                for c in range(4))
        services[direction] = {
            "fixed_mbps": fixed_mbps, "assured_mbps": assured, "max_mbps": maximum,
            "weight": weight,
            "additional": _additional_codes((down_codes, up_codes)[d][ont_rows].astype(np.int8),
                                            fixed_mbps, assured, maximum),
        }
    structure_zones = dict(zip(*_columns(conn, _STRUCTURE_ZONES_SQL, "ss"), strict=True))
    zone_codes, zone_names = _codes(list(map(structure_zones.get, o_structure)))
    ont_kind, ont_zone = o_kind[ont_rows].astype(np.int32), zone_codes[ont_rows]
    olt_zones = {olt["structure"]: structure_zones.get(olt["structure"]) for olt in olts}
    return StoredNetwork(
        forest=forest,
        olts=olts,
        limits=port_limits({"olts": olts}),
        services=services,
        ont_kind=ont_kind,
        kind_names=kind_names,
        ont_zone=ont_zone,
        zone_names=zone_names,
        zone_of_structure=olt_zones,
        node_ratio=ratio[order],
        node_through_percent=through[order],
        read_s=time.perf_counter() - started,
    )


def breadth_first(parent: NDArray[np.int64], descend: NDArray[np.bool_], n_roots: int
                  ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The order of :func:`~ponmodel.topology.pack.pack_forest`, computed on arrays.

    Nodes ``0 … n_roots − 1`` are the roots (ports) in their order; every other node ``i``
    hangs off ``parent[i]`` (negative: none) and siblings are in index order (link-id
    order). A tree is laid out breadth-first from its root, the trees one after the other;
    nodes below a node that does not ``descend`` (an ONT), or under no root, are left out.
    Each level is sorted at once: the nodes of depth ``d + 1`` by their parent's rank among
    the nodes of depth ``d`` (then by index), so a forest of depth ``D`` costs ``D``
    sorts, not a Python loop over its nodes.

    Returns
    -------
    order : array of int
        The nodes in forest order (``parent[order[j]]`` comes before ``j``).
    root : array of int
        Per node (by its original index), the root its tree hangs off (−1 if none).

    Examples
    --------
    >>> import numpy as np
    >>> # two roots; node 2 (under root 1) and node 3 (under root 0) are splitters,
    >>> # 4 and 5 hang off 3, 6 off 2
    >>> parent = np.array([-1, -1, 1, 0, 3, 3, 2])
    >>> order, root = breadth_first(parent, np.ones(7, dtype=bool), 2)
    >>> order.tolist(), root.tolist()
    ([0, 3, 4, 5, 1, 2, 6], [0, 1, 1, 0, 0, 0, 1])
    """
    n = len(parent)
    depth = np.full(n, -1, dtype=np.int64)
    depth[:n_roots] = 0
    root = np.full(n, -1, dtype=np.int64)
    root[:n_roots] = np.arange(n_roots)
    rank = np.zeros(n, dtype=np.int64)
    rank[:n_roots] = np.arange(n_roots)
    pending = np.arange(n_roots, n)[parent[n_roots:] >= 0]
    pending = pending[descend[parent[pending]]]
    level = 0
    while len(pending):
        up = parent[pending]
        ready = depth[up] == level
        nodes, up = pending[ready], up[ready]
        if not len(nodes):
            break
        level += 1
        depth[nodes] = level
        root[nodes] = root[up]
        by_parent = np.argsort(rank[up], kind="stable")  # ties keep index order
        rank[nodes[by_parent]] = np.arange(len(nodes))
        pending = pending[~ready]
    reached = np.flatnonzero(depth >= 0)
    order = reached[np.lexsort((rank[reached], depth[reached], root[reached]))]
    return order, root


def _cable_attenuation(conn: Connection, link_ids: list[str], links: NDArray[np.int64]
                       ) -> NDArray[np.float64] | None:
    """Per link node: its cable's attenuation when it is carried by exactly one cable and
    that cable has one (NaN elsewhere), or None when no cable carries an attenuation."""
    cables = _columns(conn, _ATTENUATED_CABLES_SQL, "s" + "f" * len(WAVELENGTHS_NM))
    if not cables[0]:
        return None
    by_cable = {c: k for k, c in enumerate(cables[0])}
    values = np.stack(cables[1:], axis=1)
    table = LinkCableTable.__table__
    candidates = {r[0] for r in storage.column_where_in(conn, table, ["link_id"], "cable_id",
                                                        by_cable)}
    carried: dict[str, list[str]] = {}
    for link_id, cable_id in storage.column_where_in(conn, table, ["link_id", "cable_id"],
                                                     "link_id", candidates):
        carried.setdefault(link_id, []).append(cable_id)
    out = np.full((len(links), len(WAVELENGTHS_NM)), np.nan)
    position = {link_ids[j]: i for i, j in enumerate(links.tolist())
                if link_ids[j] in carried}
    for link_id, i in position.items():
        route = carried[link_id]
        if len(route) == 1:
            out[i] = values[by_cable[route[0]]]
    return out


def _leg_losses(ratio: NDArray[np.float64], insertion_db: NDArray[np.float64],
                through: NDArray[np.float64], tap_db: NDArray[np.float64]
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per splitter: its loss towards a through (or only) leg and towards a tap leg, from
    :func:`~ponmodel.topology.pack.splitter_leg_loss_db` called once per distinct figures."""
    figures = np.stack([ratio, insertion_db, through, tap_db], axis=1)
    figures = np.where(np.isnan(figures), -1.0, figures).tolist()  # NULL: below any value
    known: dict[tuple[float, ...], tuple[float, float]] = {}

    def value(x: float) -> float | None:
        return None if x < 0 else x

    for key in set(map(tuple, figures)):
        r, il, t, tl = key
        splitter = {"ratio": int(r), "insertion_loss_db": value(il),
                    "through_percent": None if t < 0 else int(t), "tap_loss_db": value(tl)}
        known[key] = (splitter_leg_loss_db(splitter, None), splitter_leg_loss_db(splitter, "tap"))
    losses = np.array([known[tuple(f)] for f in figures], dtype=np.float64).reshape(-1, 2)
    return losses[:, 0], losses[:, 1]


def _additional_codes(codes: NDArray[np.int8], fixed: NDArray[np.float64],
                      assured: NDArray[np.float64], maximum: NDArray[np.float64]
                      ) -> NDArray[np.int8]:
    """Tier codes of one direction (−1 where the column is NULL: those get the spec's
    default, :func:`~ponmodel.elements.effective_additional`)."""
    for k in np.flatnonzero(codes < 0).tolist():
        codes[k] = ADDITIONAL_CODES[effective_additional({
            "additional": None, "fixed_mbps": float(fixed[k]),
            "assured_mbps": float(assured[k]), "max_mbps": float(maximum[k])})]
    return codes

# --------------------------------------------------------------------------- the check


class _SplitterLookup:
    """Splitter id → ``{"ratio", "through_percent"}`` from the arrays, with a dict's ``get``
    (what :func:`~ponmodel.topology.budget.contributors` reads to name a splitter)."""

    def __init__(self, network: StoredNetwork) -> None:
        self._network = network

    def get(self, node_id: str, default: Any = None) -> Any:
        forest = self._network.forest
        i = forest.index_of.get(node_id)
        if i is None or forest.node_kind[i] != KIND_SPLITTER:
            return default
        through = float(self._network.node_through_percent[i])
        return {"ratio": int(self._network.node_ratio[i]),
                "through_percent": None if np.isnan(through) else int(through)}


@dataclass
class NetworkCheck:
    """Budget and capacity of every ONT, port and OLT uplink of a stored network, as columns.

    Per ONT ``k`` (the forest's ONT order: OLT id, port, breadth-first) the figures are in
    ``result`` (kernel), ``budget`` (distance, split, limits, verdicts) and ``capacity``
    (rates per direction, 10G-symmetric); :meth:`ont_budget` and :meth:`ont_capacity` give
    one ONT as the document path's objects.
    """

    network: StoredNetwork
    result: BudgetResult
    budget: BudgetColumns
    ports: list[PortBudget]
    capacity: CapacityColumns
    problems: dict[int, list[str]]
    """ONT index → its problems in words, for every ONT that is not ``ok``."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds: ``read_s`` (queries and arrays), ``budget_s``, ``capacity_s``, ``total_s``."""

    @property
    def forest(self) -> PonForest:
        """The packed forest."""
        return self.network.forest

    def ont_index(self, ont_id: str) -> int:
        """Index of an ONT in the forest's ONT order; KeyError when it is not in a tree."""
        return self.forest.ont_index(ont_id)

    def ont_budget(self, k: int) -> OntBudget:
        """The ``k``-th ONT's budget, as :func:`~ponmodel.topology.budget.network_budget`
        reports it."""
        return ont_budget(self.forest, self.result, self.budget, k, self.problems.get(k, []))

    def ont_capacity(self, k: int) -> OntCapacity:
        """The ``k``-th ONT's rates and verdict, as
        :func:`~ponmodel.topology.capacity.network_capacity` reports them."""
        forest, net = self.forest, self.network
        p = int(forest.ont_port[k])
        closes = bool(self.result.ok_down[k] and self.result.ok_up[k] and self.result.class_ok[k])
        olts = {o["id"]: o for o in net.olts if o["id"] == forest.port_olt[p]}
        reasons = not_ten_g_reasons(forest, k, closes, olts)
        rates = {d: OntRates(*(float(a[k]) for a in self.capacity.rates[d])) for d in DIRECTIONS}
        return OntCapacity(
            id=forest.ont_ids[k], port=forest.port_ids[p], olt=forest.port_olt[p],
            kind=net.kind_names[int(net.ont_kind[k])], zone=net.zone_names[int(net.ont_zone[k])],
            down=rates["down"], up=rates["up"], ten_g_symmetric=not reasons, reasons=reasons,
        )

    def summary(self) -> dict[str, Any]:
        """Headline counts: ONTs, ports, OLTs, what passes and what fails, per check."""
        result, budget, cap = self.result, self.budget, self.capacity
        enterprise = self.network.ont_kind == (
            self.network.kind_names.index("enterprise")
            if "enterprise" in self.network.kind_names else -1)
        used = [p for p in cap.ports if p.onts]
        return {
            "onts": len(self.forest.ont_ids),
            "ports": len(self.forest.port_ids),
            "ports_in_use": len(used),
            "olts": len(cap.olts),
            "safety_margin_db": self.forest.figures.safety_margin_db,
            "onts_within_budget": int(budget.ok.sum()),
            "onts_failing_budget": int((~budget.ok).sum()),
            # each ONT under every check it fails (one ONT may fail several)
            "onts_failing_check": {
                "downstream": int((~result.ok_down).sum()),
                "upstream": int((~result.ok_up).sum()),
                "class": int((~result.class_ok).sum()),
                "reach": int((~budget.reach_ok).sum()),
                "split": int((~budget.split_ok).sum()),
            },
            "worst_headroom_db": float(budget.worst_headroom_db.min()) if len(budget.ok) else None,
            "ports_differential_ok": sum(p.ok for p in self.ports if p.onts),
            "ports_all_onts_ok": sum(p.ok and p.onts_within_budget == p.onts
                                     for p in self.ports if p.onts),
            "ports_admissible_both_ways": sum(p.down.admissible and p.up.admissible
                                              for p in used),
            "olt_uplinks_admissible_both_ways": sum(o.down.admissible and o.up.admissible
                                                    for o in cap.olts),
            "onts_ten_g_symmetric": int(cap.ten_g_symmetric.sum()),
            "enterprise_onts": int(enterprise.sum()),
            "enterprise_onts_ten_g_symmetric": int((cap.ten_g_symmetric & enterprise).sum()),
        }


def check_stored(conn: Connection) -> NetworkCheck:
    """Budget and capacity of the whole stored network read on ``conn`` (see the module
    docstring); run it inside one transaction, as :func:`check_database` does."""
    started = time.perf_counter()
    network = read_stored(conn)
    forest = network.forest
    mark = time.perf_counter()
    result = compute(forest)
    budget = budget_columns(forest, result, network.limits)
    ports = port_budgets(forest, budget, network.limits)
    splitters = _SplitterLookup(network)
    with gc_paused():
        problems = {k: ont_problems(forest, result, budget, k, splitters)
                    for k in np.flatnonzero(~budget.ok).tolist()}
    budget_s = time.perf_counter() - mark
    mark = time.perf_counter()
    capacity = capacity_columns(
        forest, services=network.services,
        budget_closes=result.ok_down & result.ok_up & result.class_ok,
        ports={p["id"]: p for o in network.olts for p in o["ports"]},
        olts={o["id"]: o for o in network.olts}, zone_of_structure=network.zone_of_structure,
    )
    capacity_s = time.perf_counter() - mark
    return NetworkCheck(
        network=network, result=result, budget=budget, ports=ports, capacity=capacity,
        problems=problems,
        timings={"read_s": network.read_s, "budget_s": budget_s, "capacity_s": capacity_s,
                 "total_s": time.perf_counter() - started},
    )


def check_database(engine: Engine) -> NetworkCheck:
    """:func:`check_stored` in one read transaction (``REPEATABLE READ`` on PostgreSQL, so
    every query sees the same snapshot; SQLite's read transaction gives one by itself)."""
    with storage.read_snapshot(engine) as conn, conn.begin():
        return check_stored(conn)


# --------------------------------------------------------------------------- results

RESULT_FILES = {
    "onts": "onts.csv.gz",
    "problems": "problems.csv.gz",
    "ports": "ports.csv.gz",
    "olts": "olts.csv.gz",
    "summary": "summary.json",
}
"""What :func:`write_results` writes into its directory."""

ONT_COLUMNS = (
    "ont", "olt", "port", "zone", "kind", "distance_m", "split",
    "loss_down_db", "rx_min_down_dbm", "rx_max_down_dbm", "headroom_down_db", "ok_down",
    "loss_up_db", "rx_min_up_dbm", "rx_max_up_dbm", "headroom_up_db", "ok_up",
    "class_ok", "reach_ok", "split_ok", "budget_ok",
    "guaranteed_down_mbps", "full_load_down_mbps", "peak_down_mbps", "max_down_mbps",
    "guaranteed_up_mbps", "full_load_up_mbps", "peak_up_mbps", "max_up_mbps",
    "ten_g_symmetric",
)
"""Columns of ``onts.csv.gz``: see :func:`write_results`."""

_CHUNK_ROWS = 65_536
"""Rows formatted at a time (the byte matrices of one chunk stay in the CPU caches)."""


def write_results(check: NetworkCheck, directory: str | Path) -> dict[str, Path]:
    """Write a check's results for fibre engineers into ``directory`` (created if needed).

    Files (gzip CSV: ``zcat``, spreadsheet import, ``pandas.read_csv`` read them as they
    are; one header row; booleans are ``1`` / ``0``; dB and dBm to 0.01, metres and Mbit/s
    to 0.1):

    - ``onts.csv.gz``: one row per ONT in a PON tree, grouped by OLT and port in
      breadth-first order: where it hangs (OLT, port, zone, kind), its distance and split,
      per direction the loss, worst-case and best-case received power, headroom over the
      receiver's sensitivity and verdict; the class, reach and split checks and
      ``budget_ok`` (all of them); per direction the guaranteed, full-load, peak and sold
      maximum rates; and whether it is 10G-symmetric (:data:`ONT_COLUMNS`);
    - ``problems.csv.gz``: one row per problem of an ONT that fails a check, in words with
      the largest loss contributors (``ont, port, problem``): the work list;
    - ``ports.csv.gz``: one row per PON port: its ONTs and how many pass, the largest
      distance and the reach limit, the differential reach and loss against their limits,
      the worst ONT and its headroom, per direction the usable capacity, the guaranteed and
      sold sums, oversubscription and admissibility, the worst-served ONT and its share,
      and the port's problems;
    - ``olts.csv.gz``: one row per OLT: the uplink against its ports' guaranteed and sold
      sums, both directions;
    - ``summary.json``: :meth:`NetworkCheck.summary`, the safety margin and the file names.

    The files hold no time stamp (the gzip headers' ``mtime`` is 0): equal checks write
    byte-identical files, which is how the benchmark shows that SQLite and PostgreSQL agree.

    Returns
    -------
    dict
        Name (a key of :data:`RESULT_FILES`) → the path written.
    """
    from ponmodel.topology.fastcsv import coded_text, csv_bytes, fixed, integers, text, text_table

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / file for name, file in RESULT_FILES.items()}
    forest, net, result, budget = check.forest, check.network, check.result, check.budget
    rates = check.capacity.rates
    olt_names = sorted(set(forest.port_olt))
    olt_code = {o: i for i, o in enumerate(olt_names)}
    port_olt = np.array([olt_code[o] for o in forest.port_olt], dtype=np.int64)
    olt_table, port_table = text_table(olt_names), text_table(forest.port_ids)
    zone_table, kind_table = text_table(net.zone_names), text_table(net.kind_names)

    def chunks() -> Iterator[bytes]:
        yield (",".join(ONT_COLUMNS) + "\n").encode()
        for lo in range(0, len(forest.ont_ids), _CHUNK_ROWS):
            rows = slice(lo, lo + _CHUNK_ROWS)
            port = forest.ont_port[rows]
            columns = [
                text(forest.ont_ids[rows]), coded_text(port_olt[port], olt_table),
                coded_text(port, port_table), coded_text(net.ont_zone[rows], zone_table),
                coded_text(net.ont_kind[rows], kind_table),
                fixed(budget.distance_m[rows], 1), integers(budget.split[rows]),
            ]
            for d in ("down", "up"):
                columns += [fixed(budget.loss_down_db[rows] if d == "down"
                                  else budget.loss_up_db[rows], 2)]
                columns += [fixed(getattr(result, f"{name}_{d}_{unit}")[rows], 2)
                            for name, unit in (("rx_min", "dbm"), ("rx_max", "dbm"),
                                               ("headroom", "db"))]
                columns.append(integers(getattr(result, f"ok_{d}")[rows]))
            columns += [integers(a[rows]) for a in (result.class_ok, budget.reach_ok,
                                                    budget.split_ok, budget.ok)]
            for d in DIRECTIONS:
                columns += [fixed(a[rows], 1) for a in rates[d]]
            columns.append(integers(check.capacity.ten_g_symmetric[rows]))
            yield csv_bytes(columns)

    _write_gzip(paths["onts"], chunks())
    _write_csv(paths["problems"], ("ont", "port", "problem"), (
        (forest.ont_ids[k], forest.port_ids[int(forest.ont_port[k])], problem)
        for k, problems in sorted(check.problems.items()) for problem in problems))
    cap_ports = check.capacity.ports
    _write_csv(paths["ports"], (
        "port", "olt", "operator", "zone", "technology", "optics_class", "onts",
        "onts_within_budget",
        "max_distance_m", "max_reach_m", "differential_reach_m", "max_differential_reach_m",
        "differential_loss_down_db", "differential_loss_up_db", "max_differential_loss_db",
        "worst_ont", "worst_headroom_db", "differential_ok",
        *(f"{name}_{d}" for d in DIRECTIONS for name in (
            "capacity_mbps", "guaranteed_mbps", "sold_max_mbps", "oversubscription",
            "admissible")),
        "worst_served_ont", "worst_served_share", "problems",
    ), (
        (b.id, b.olt, c.operator, c.zone, b.technology, b.optics_class, b.onts,
         b.onts_within_budget,
         _num(b.max_distance_m, 1), _num(b.max_reach_m, 1), _num(b.differential_reach_m, 1),
         _num(b.max_differential_reach_m, 1), _num(b.differential_loss_down_db, 2),
         _num(b.differential_loss_up_db, 2), _num(b.max_differential_loss_db, 2),
         b.worst_ont, _num(b.worst_headroom_db, 2), int(b.ok),
         *(v for load in (c.down, c.up) for v in _load(load)),
         c.worst_served_ont, _num(c.worst_served_share, 4), "; ".join(b.problems))
        for b, c in zip(check.ports, cap_ports, strict=True)
    ))
    _write_csv(paths["olts"], (
        "olt", "operator", "zone", "uplink_gbps",
        *(f"{name}_{d}" for d in DIRECTIONS for name in (
            "capacity_mbps", "guaranteed_mbps", "sold_max_mbps", "oversubscription",
            "admissible")),
    ), (
        (o.id, o.operator, o.zone, _num(o.uplink_gbps, 3), *_load(o.down), *_load(o.up))
        for o in check.capacity.olts
    ))
    summary = {**check.summary(), "files": {k: p.name for k, p in paths.items()}}
    paths["summary"].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return paths


def _num(value: float | None, decimals: int) -> str:
    if value is None:
        return ""
    return f"{value:.{decimals}f}" if math.isfinite(value) else str(value)


def _load(load: Any) -> tuple[str, str, str, str, int]:
    return (_num(load.capacity_mbps, 1), _num(load.guaranteed_mbps, 1),
            _num(load.sold_max_mbps, 1), _num(load.oversubscription, 3), int(load.admissible))


def _write_gzip(path: Path, chunks: Iterator[bytes]) -> None:
    """Compress and write ``chunks`` while the next ones are formatted: zlib releases the
    GIL, so a writer thread overlaps with the formatting on a second core."""
    import queue
    import threading

    pending: queue.Queue[bytes | None] = queue.Queue(maxsize=4)
    failed: list[BaseException] = []

    def writer() -> None:
        try:
            with gzip.GzipFile(path, "wb", compresslevel=1, mtime=0) as f:
                while (data := pending.get()) is not None:
                    f.write(data)
        except BaseException as exc:  # reported in the caller's thread
            failed.append(exc)
            while pending.get() is not None:  # drain, so that the producer never blocks
                continue

    thread = threading.Thread(target=writer, name="ponmodel-results-writer")
    thread.start()
    try:
        for data in chunks:
            pending.put(data)
    finally:
        pending.put(None)
        thread.join()
    if failed:
        raise failed[0]


def _write_csv(path: Path, header: Sequence[str], rows: Iterator[Sequence[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with gzip.GzipFile(path, "wb", compresslevel=6, mtime=0) as f:
        f.write(buffer.getvalue().encode())
