"""Routing a new cable through the ducts: the k shortest routes with room, or why there is none.

Room (per duct, with the fill of :mod:`ponmodel.topology.ducts`, computed once per index):

- a duct has room for a cable of diameter d when laying it *directly* in the duct keeps the duct
  within its limit for one more occupant: ``(Σ d_i² + d²) / D² ≤ limit(n + 1)`` (innerducts
  count as occupants; the duct's ``max_fill_ratio`` replaces the rule when set);
- or when one of its *empty* innerducts takes it: ``d² / ID² ≤ limit(1)`` (its own override
  when set). The route then uses that innerduct and says so: its ``ducts`` list the innerduct's
  id, as the new cable's ``ducts`` route would.
- Which one, when several fit: first an empty innerduct the cable's operator owns (the
  smallest that fits: larger ones are kept for larger cables), then the duct itself, then any
  other empty innerduct (smallest that fits). ``owners`` filters what the cable would occupy:
  the duct when laid directly, the innerduct when laid in one.

Search. The physical layer is the structures' graph with one edge per top-level duct
(innerducts run between the same structures as their duct and are options *of* that edge).
For each query the ducts with room that the constraints allow are kept (one vectorised mask
over all ducts) and parallel ducts collapse to the shortest one kept. Routes are node-simple
paths, ordered by length:

- the first route is an A* search whose heuristic is ``s · straight-line distance`` (local
  equirectangular metres from the structures' lon/lat) with ``s`` the smallest
  ``length_m / straight-line distance`` over all ducts, so it never overestimates and is
  consistent whatever the drawing's accuracy: the result is the exact shortest route;
- the alternatives are Yen's k shortest simple paths (the algorithm of networkx's
  ``shortest_simple_paths``) with two exact speed-ups. (1) A bound ``L_max`` (1.1, 1.5, 3 ×
  the first route's length, then none): one Dijkstra from the target keeps only the
  structures X with ``s·|AX| + dist(X, B) ≤ L_max``, which holds for every structure of every
  path not longer than ``L_max``; a path found with length ≤ ``L_max`` is therefore certainly
  among the k shortest, and when fewer than k such paths are found the bound widens. (2) Each
  spur search first follows the target's shortest-path tree (optimal whenever it avoids the
  root's structures and the spur's banned first hops), else runs A* with the tree's exact
  distances as heuristic (consistent: banning only lengthens paths). networkx's own Yen runs a
  bidirectional Dijkstra from scratch for every spur node (hundreds per query) on a graph it
  would first have to rebuild per query; the test suite checks that both give the same
  lengths.
- ``via`` (must pass through): the route is the concatenation of shortest segments
  A→W1→…→B, each segment avoiding the structures of the previous ones (no structure or duct
  used twice). The alternatives vary one segment at a time among its own k shortest and keep
  the simple ones: with ``via`` they are good alternatives, not guaranteed to be the k
  globally shortest; a segment that finds no way around earlier segments fails the query
  (a different earlier segment might have left room: the greedy order is a limitation).

No route: the structures reachable from the source (from the last reached waypoint with
``via``) through ducts with room are found, and the ducts leaving that region are named:
``blocking`` are those without room for the cable, ``excluded`` those the constraints
removed (``avoid``, ``owners``, avoided structures).

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.topology.routing import plan_route
>>> doc = read_document("fixtures/two_operators_shared_duct.json")
>>> r = plan_route(doc, "EX-01", "CAB-01", cable_diameter_mm=14.0, operator="fpt")
>>> r["routes"][0]["ducts"], r["routes"][0]["length_m"]
(['DU-01', 'DU-02'], 390.0)
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ponmodel import catalog
from ponmodel._gc import gc_paused
from ponmodel.document import Document
from ponmodel.errors import NotFoundError
from ponmodel.fill import LimitRule, limit_ratio
from ponmodel.topology.build import Topology
from ponmodel.topology.ducts import DuctReport, duct_fill

ONT_FIELDS_READ: frozenset[str] = frozenset()
"""The ONT fields :func:`routing_index` reads: none (routes run through ducts)."""

_EARTH_RADIUS_M = 6_371_008.8
_EPS = 1e-12
_BOUND_FACTORS: tuple[float | None, ...] = (1.1, 1.5, 3.0, None)
"""Successive bounds on the alternatives' length, as multiples of the first route's."""


@dataclass(frozen=True, slots=True)
class _Path:
    """A route as node indices and the top-level duct index of each hop."""

    length_m: float
    nodes: tuple[int, ...]
    ducts: tuple[int, ...]


@dataclass
class RoutingIndex:
    """Everything a route query needs, computed once per document (fill, graph, coordinates).

    Build it with :func:`routing_index` and pass it to :func:`plan_route` for repeated queries.
    """

    doc: Document
    fill: DuctReport
    limit_rule: LimitRule | None
    node_ids: list[str]
    node_index: dict[str, int]
    xs: list[float]
    ys: list[float]
    x_arr: NDArray[np.float64]
    y_arr: NDArray[np.float64]
    scale: float
    """Lower bound of duct length per straight-line metre (A* heuristic factor), ≤ 1."""
    duct_ids: list[str]
    """Top-level ducts: the edges of the search."""
    duct_index: dict[str, int]
    u: NDArray[np.int64]
    v: NDArray[np.int64]
    length_m: NDArray[np.float64]
    owner: NDArray[np.int64]
    sum_sq: NDArray[np.float64]
    inner_sq: NDArray[np.float64]
    """D² of each top-level duct."""
    limit_next: NDArray[np.float64]
    """Limit with one more occupant: override, else the rule at n + 1."""
    free_inner_ids: list[str]
    free_inner_host: NDArray[np.int64]
    free_inner_cap_sq: NDArray[np.float64]
    """limit(1) · ID² of each empty innerduct: a cable fits when d² ≤ this."""
    free_inner_owner: NDArray[np.int64]
    free_inner_of: dict[int, list[int]]
    free_inner_pos: dict[str, int]
    innerduct_ids: frozenset[str]
    owner_codes: dict[str, int]
    adj: list[list[tuple[int, int, float]]] = field(repr=False)
    """node → [(neighbour, duct index, length_m)]."""


def routing_index(doc: Document, *, limit_rule: LimitRule | None = None) -> RoutingIndex:
    """Precompute fill, graph and coordinates of ``doc`` for route queries.

    Examples
    --------
    >>> from ponmodel.document import read_document
    >>> idx = routing_index(read_document("fixtures/two_operators_shared_duct.json"))
    >>> idx.duct_ids, round(idx.scale, 3) <= 1.0
    (['DU-01', 'DU-02', 'DU-03'], True)
    """
    with gc_paused():
        return _routing_index(doc, limit_rule)


def _routing_index(doc: Document, limit_rule: LimitRule | None) -> RoutingIndex:
    fill = duct_fill(doc, limit_rule=limit_rule)
    structures = doc.get("structures", [])
    node_ids = [s["id"] for s in structures]
    node_index = {sid: i for i, sid in enumerate(node_ids)}
    lat0 = math.radians(float(np.mean([s["lat"] for s in structures]))) if structures else 0.0
    lon = np.radians(np.array([s["lon"] for s in structures], dtype=float))
    lat = np.radians(np.array([s["lat"] for s in structures], dtype=float))
    x_arr = _EARTH_RADIUS_M * math.cos(lat0) * lon
    y_arr = _EARTH_RADIUS_M * lat
    owner_codes: dict[str, int] = {}

    def code(owner: str) -> int:
        return owner_codes.setdefault(owner, len(owner_codes))

    top = [r for r in fill.ducts if r.within is None]
    duct_ids = [r.id for r in top]
    duct_index = {d: i for i, d in enumerate(duct_ids)}
    u = np.array([node_index[r.from_structure] for r in top], dtype=np.int64)
    v = np.array([node_index[r.to_structure] for r in top], dtype=np.int64)
    length = np.array([r.length_m for r in top], dtype=float)
    by_id = {d["id"]: d for d in doc.get("ducts", [])}
    limit_next = np.array(
        [limit_ratio(len(r.occupants) + 1, by_id[r.id].get("max_fill_ratio"), limit_rule)
         for r in top],
        dtype=float,
    )
    # free innerducts at any depth, attached to their top-level duct
    host_of: dict[str, str] = {}
    for r in fill.ducts:
        host = r.id
        while by_id[host].get("within") is not None:
            host = by_id[host]["within"]
        host_of[r.id] = host
    free = [fid for r in fill.ducts for fid in r.free_innerducts]
    free_host = np.array([duct_index[host_of[f]] for f in free], dtype=np.int64)
    free_cap = np.array(
        [limit_ratio(1, by_id[f].get("max_fill_ratio"), limit_rule)
         * by_id[f]["inner_diameter_mm"] ** 2 for f in free],
        dtype=float,
    )
    free_of: dict[int, list[int]] = {}
    for j, h in enumerate(free_host.tolist()):
        free_of.setdefault(h, []).append(j)
    adj: list[list[tuple[int, int, float]]] = [[] for _ in node_ids]
    for e, (a, b, w) in enumerate(zip(u.tolist(), v.tolist(), length.tolist(), strict=True)):
        adj[a].append((b, e, w))
        if b != a:
            adj[b].append((a, e, w))
    straight = np.hypot(x_arr[u] - x_arr[v], y_arr[u] - y_arr[v]) if len(u) else np.zeros(0)
    ratios = length[straight > 1e-6] / straight[straight > 1e-6]
    scale = float(min(1.0, ratios.min())) if len(ratios) else 0.0
    return RoutingIndex(
        doc=doc,
        fill=fill,
        limit_rule=limit_rule,
        node_ids=node_ids,
        node_index=node_index,
        xs=x_arr.tolist(),
        ys=y_arr.tolist(),
        x_arr=x_arr,
        y_arr=y_arr,
        scale=max(0.0, scale * (1.0 - 1e-9)),
        duct_ids=duct_ids,
        duct_index=duct_index,
        u=u,
        v=v,
        length_m=length,
        owner=np.array([code(r.owner) for r in top], dtype=np.int64),
        sum_sq=np.array([r.sum_sq_mm2 for r in top], dtype=float),
        inner_sq=np.array([r.inner_diameter_mm**2 for r in top], dtype=float),
        limit_next=limit_next,
        free_inner_ids=free,
        free_inner_host=free_host,
        free_inner_cap_sq=free_cap,
        free_inner_owner=np.array([code(by_id[f]["owner"]) for f in free], dtype=np.int64),
        free_inner_of=free_of,
        free_inner_pos={fid: j for j, fid in enumerate(free)},
        innerduct_ids=frozenset(r.id for r in fill.ducts if r.within is not None),
        owner_codes=owner_codes,
        adj=adj,
    )


@dataclass
class _Query:
    """One query's masks and parameters."""

    index: RoutingIndex
    d_sq: float
    operator: str | None
    allowed: list[bool]
    """Per top-level duct: has room and is allowed by the constraints."""
    excluded: NDArray[np.bool_]
    """Per top-level duct: removed by the constraints (whatever its room)."""
    direct_ok: NDArray[np.bool_]
    inner_ok: NDArray[np.bool_]
    avoided_inner: set[int]
    owner_ok: set[int] | None

    def astar(
        self,
        source: int,
        target: int,
        banned_nodes: set[int] | frozenset[int] = frozenset(),
        banned_pairs: set[tuple[int, int]] | frozenset[tuple[int, int]] = frozenset(),
    ) -> _Path | None:
        """Shortest allowed path; parallel ducts collapse to the shortest allowed one."""
        idx = self.index
        adj, allowed, xs, ys, s = idx.adj, self.allowed, idx.xs, idx.ys, idx.scale
        tx, ty = xs[target], ys[target]
        hypot = math.hypot
        best: dict[int, float] = {source: 0.0}
        prev: dict[int, tuple[int, int]] = {}
        closed: set[int] = set()
        heap = [(s * hypot(xs[source] - tx, ys[source] - ty), 0.0, source)]
        pop, push = heapq.heappop, heapq.heappush
        while heap:
            _, g, n = pop(heap)
            if n == target:
                return _unwind(prev, source, n, g)
            if n in closed:
                continue
            closed.add(n)
            for m, e, w in adj[n]:
                if (
                    not allowed[e]
                    or m in closed
                    or m in banned_nodes
                    or (banned_pairs and (n, m) in banned_pairs)
                ):
                    continue
                ng = g + w
                if ng < best.get(m, math.inf):
                    best[m] = ng
                    prev[m] = (n, e)
                    push(heap, (ng + s * hypot(xs[m] - tx, ys[m] - ty), ng, m))
        return None

    def reverse_tree(
        self, source: int, target: int, limit_m: float, banned_nodes: frozenset[int]
    ) -> tuple[dict[int, float], dict[int, tuple[int, int]]]:
        """Distances to ``target`` and next hops, for the structures X that can lie on a path
        of at most ``limit_m``: Dijkstra from the target, keeping X only while
        ``s·|AX| + dist(X, target) ≤ limit_m`` (a lower bound of any A→X→target path)."""
        idx = self.index
        adj, allowed, xs, ys, s = idx.adj, self.allowed, idx.xs, idx.ys, idx.scale
        ax, ay = xs[source], ys[source]
        hypot = math.hypot
        dist: dict[int, float] = {}
        best: dict[int, float] = {target: 0.0}
        nxt: dict[int, tuple[int, int]] = {}
        heap = [(0.0, target)]
        pop, push = heapq.heappop, heapq.heappush
        bound = limit_m * (1 + 1e-9) + 1e-6
        while heap:
            g, n = pop(heap)
            if n in dist:
                continue
            dist[n] = g
            for m, e, w in adj[n]:
                if not allowed[e] or m in dist or m in banned_nodes:
                    continue
                ng = g + w
                if ng < best.get(m, math.inf) and s * hypot(xs[m] - ax, ys[m] - ay) + ng <= bound:
                    best[m] = ng
                    nxt[m] = (n, e)
                    push(heap, (ng, m))
        return dist, nxt

    def yen(
        self,
        source: int,
        target: int,
        k: int,
        banned_nodes: frozenset[int] = frozenset(),
    ) -> list[_Path]:
        """The k shortest node-simple paths (exact: see the module's bound argument)."""
        first = self.astar(source, target, banned_nodes)
        if first is None or k <= 1:
            return [first] if first is not None else []
        found: list[_Path] = []
        for factor in _BOUND_FACTORS:
            limit_m = math.inf if factor is None else first.length_m * factor + 1e-6
            dist, nxt = self.reverse_tree(source, target, limit_m, banned_nodes)
            found = self._yen_in(first, target, k, banned_nodes, dist, nxt)
            if len(found) >= k and found[k - 1].length_m <= limit_m:
                break
        return found[:k]

    def _spur(
        self,
        spur: int,
        target: int,
        banned: frozenset[int],
        pairs: set[tuple[int, int]],
        dist: dict[int, float],
        nxt: dict[int, tuple[int, int]],
    ) -> _Path | None:
        """Shortest spur path to ``target`` avoiding ``banned`` structures and the ``pairs``
        out of ``spur``, within the explored structures: the tree path when it is free, else
        A* with the exact distances of the tree as (consistent) heuristic."""
        if spur not in dist:
            return None
        nodes = [spur]
        ducts: list[int] = []
        n = spur
        free = True
        while n != target:
            m, e = nxt[n]
            if m in banned or (n == spur and (n, m) in pairs):
                free = False
                break
            nodes.append(m)
            ducts.append(e)
            n = m
        if free:
            return _Path(dist[spur], tuple(nodes), tuple(ducts))
        adj, allowed = self.index.adj, self.allowed
        best: dict[int, float] = {spur: 0.0}
        prev: dict[int, tuple[int, int]] = {}
        closed: set[int] = set()
        heap = [(dist[spur], 0.0, spur)]
        pop, push = heapq.heappop, heapq.heappush
        while heap:
            _, g, n = pop(heap)
            if n == target:
                return _unwind(prev, spur, n, g)
            if n in closed:
                continue
            closed.add(n)
            for m, e, w in adj[n]:
                if (
                    not allowed[e]
                    or m in closed
                    or m in banned
                    or m not in dist
                    or (n == spur and (n, m) in pairs)
                ):
                    continue
                ng = g + w
                if ng < best.get(m, math.inf):
                    best[m] = ng
                    prev[m] = (n, e)
                    push(heap, (ng + dist[m], ng, m))
        return None

    def _yen_in(
        self,
        first: _Path,
        target: int,
        k: int,
        banned_nodes: frozenset[int],
        dist: dict[int, float],
        nxt: dict[int, tuple[int, int]],
    ) -> list[_Path]:
        length = self.index.length_m
        accepted = [first]
        seen = {first.nodes}
        candidates: list[tuple[float, int, _Path]] = []
        counter = 0
        while len(accepted) < k:
            last = accepted[-1]
            root_len = 0.0
            for i in range(len(last.nodes) - 1):
                spur = last.nodes[i]
                root = last.nodes[: i + 1]
                pairs: set[tuple[int, int]] = set()
                for p in accepted:
                    if p.nodes[: i + 1] == root and len(p.nodes) > i + 1:
                        pairs.add((spur, p.nodes[i + 1]))
                banned = banned_nodes.union(root[:-1])
                tail = self._spur(spur, target, banned, pairs, dist, nxt)
                if tail is not None:
                    path = _Path(
                        root_len + tail.length_m,
                        root[:-1] + tail.nodes,
                        last.ducts[:i] + tail.ducts,
                    )
                    if path.nodes not in seen:
                        seen.add(path.nodes)
                        counter += 1
                        heapq.heappush(candidates, (path.length_m, counter, path))
                root_len += float(length[last.ducts[i]])
            if not candidates:
                break
            accepted.append(heapq.heappop(candidates)[2])
        return accepted

    def choose(self, e: int) -> tuple[str, bool]:
        """What the cable occupies in top-level duct ``e``: (duct or innerduct id, in inner)."""
        idx = self.index
        options = [
            j for j in idx.free_inner_of.get(e, [])
            if self.d_sq <= idx.free_inner_cap_sq[j] * (1 + _EPS)
            and j not in self.avoided_inner
            and (self.owner_ok is None or int(idx.free_inner_owner[j]) in self.owner_ok)
        ]
        options.sort(key=lambda j: (float(idx.free_inner_cap_sq[j]), idx.free_inner_ids[j]))
        op_code = idx.owner_codes.get(self.operator) if self.operator is not None else None
        own = [j for j in options if int(idx.free_inner_owner[j]) == op_code]
        if own:
            return idx.free_inner_ids[own[0]], True
        if self.direct_ok[e]:
            return idx.duct_ids[e], False
        return idx.free_inner_ids[options[0]], True


def _unwind(prev: dict[int, tuple[int, int]], start: int, end: int, length: float) -> _Path:
    """The path a search found, read back from ``end`` to ``start`` through ``prev``."""
    nodes = [end]
    ducts = []
    n = end
    while n != start:
        n, e = prev[n]
        nodes.append(n)
        ducts.append(e)
    return _Path(length, tuple(reversed(nodes)), tuple(reversed(ducts)))


def _as_index(topo_or_doc: Topology | Document | RoutingIndex) -> RoutingIndex:
    if isinstance(topo_or_doc, RoutingIndex):
        return topo_or_doc
    if isinstance(topo_or_doc, Topology):
        return routing_index(topo_or_doc.doc)
    return routing_index(topo_or_doc)


def plan_route(
    topo_or_doc: Topology | Document | RoutingIndex,
    source: str,
    target: str,
    *,
    cable_diameter_mm: float | None = None,
    fibre_count: int | None = None,
    operator: str | None = None,
    k: int = 1,
    avoid: Iterable[str] = (),
    owners: Iterable[str] | None = None,
    via: Sequence[str] = (),
) -> dict[str, Any]:
    """The k shortest duct routes with room for a new cable, or the ducts that block it.

    Parameters
    ----------
    topo_or_doc : Topology, Document or RoutingIndex
        The network; pass a :func:`routing_index` for repeated queries (it holds the fill).
    source, target : str
        Structure ids at the cable's ends.
    cable_diameter_mm : float, optional
        Outer diameter of the new cable, mm; wins over ``fibre_count``.
    fibre_count : int, optional
        Else the diameter is the catalogue's for this fibre count.
    operator : str, optional
        The cable's operator: its own empty innerducts are used first.
    k : int
        Number of alternatives, ≥ 1.
    avoid : iterable of str
        Structure, duct or innerduct ids the route must not use.
    owners : iterable of str, optional
        Only ducts (or innerducts, when the cable goes into one) of these owners.
    via : sequence of str
        Structures the route must pass through, in order.

    Returns
    -------
    dict
        ``routes``: each with ``ducts`` (the new cable's route: innerduct ids where it goes into
        one), ``length_m``, ``structures``, ``hops`` (per duct: ``duct``, ``occupies``,
        ``innerduct``, ``length_m``, ``fill_before``, ``fill_after``, ``limit_after``),
        ``fill_before`` and ``fill_after`` (occupied duct id → ratio); ``blocking`` and
        ``excluded`` (duct ids) and ``reason`` when no route exists; ``reason`` also when
        fewer than ``k`` routes exist, naming the ducts without room on the next ways.

    Raises
    ------
    NotFoundError
        A source, target or via structure, or an id to avoid, that does not exist.
    ValueError
        No diameter and no fibre count; k < 1; an end or waypoint that is also avoided or
        repeated.

    Examples
    --------
    >>> from ponmodel.document import read_document
    >>> doc = read_document("fixtures/two_operators_shared_duct.json")
    >>> r = plan_route(doc, "CAB-01", "CAB-02", fibre_count=96, k=2)
    >>> [(x["ducts"], x["length_m"]) for x in r["routes"]]  # 150 + 130 m; no second way
    [(['DU-02', 'DU-03'], 280.0)]
    >>> r = plan_route(doc, "EX-01", "CAB-02", cable_diameter_mm=80.0)
    >>> r["routes"], r["blocking"]
    ([], ['DU-01'])
    """
    idx = _as_index(topo_or_doc)
    if cable_diameter_mm is None:
        if fibre_count is None:
            msg = "give the new cable's outer diameter (cable_diameter_mm) or its fibre_count"
            raise ValueError(msg)
        cable_diameter_mm = catalog.cable_outer_diameter_mm(fibre_count)
    if not cable_diameter_mm > 0:
        msg = f"cable diameter must be > 0 mm, got {cable_diameter_mm!r}"
        raise ValueError(msg)
    if k < 1:
        msg = f"k must be >= 1, got {k!r}"
        raise ValueError(msg)
    ends = [source, *via, target]
    for sid in ends:
        if sid not in idx.node_index:
            raise NotFoundError(kind="structure", element_id=sid)
    if len(set(ends)) != len(ends):
        msg = f"source, via and target must be distinct structures, got {ends}"
        raise ValueError(msg)
    avoid = set(avoid)
    for a in sorted(avoid):
        if a not in idx.node_index and a not in idx.duct_index and a not in idx.innerduct_ids:
            raise NotFoundError(kind="structure or duct to avoid", element_id=a)
    clash = avoid.intersection(ends)
    if clash:
        msg = f"cannot avoid the route's own ends or waypoints: {sorted(clash)}"
        raise ValueError(msg)
    query = _make_query(idx, cable_diameter_mm, operator, avoid, owners)
    points = [idx.node_index[s] for s in ends]
    out: dict[str, Any] = {
        "source": source,
        "target": target,
        "via": list(via),
        "operator": operator,
        "cable_diameter_mm": cable_diameter_mm,
        "k": k,
        "routes": [],
        "blocking": [],
        "excluded": [],
        "reason": None,
    }
    paths, failed = _routes(query, points, k)
    if failed is not None:
        leg_from, leg_to = failed
        used = frozenset(_used_before(paths, leg_from))
        blocking, excluded = _boundary(query, points[leg_from], used)
        out["blocking"], out["excluded"] = blocking, excluded
        leg = f" (leg {ends[leg_from]} → {ends[leg_to]})" if via else ""
        if blocking:
            out["reason"] = (
                f"no route from {source} to {target}{leg} for a {cable_diameter_mm:g} mm cable: "
                f"every way out is through ducts without room: {', '.join(blocking)}"
            )
        else:
            out["reason"] = (
                f"no route from {source} to {target}{leg}: no duct path connects them "
                "under the given constraints"
                + (f" (excluded: {', '.join(excluded)})" if excluded else "")
            )
        return out
    out["routes"] = [_describe(query, p) for p in paths]
    if len(paths) < k:
        out["reason"] = _fewer_reason(query, points, paths, k, ends, cable_diameter_mm)
    return out


def _fewer_reason(query: _Query, points: list[int], paths: list[_Path], k: int,
                  ends: list[str], diameter: float) -> str:
    """Why fewer than ``k`` routes came back: the other loopless paths between the ends go
    through ducts without room (named), or there are no others at all."""
    idx = query.index
    roomless = replace(query, allowed=(~query.excluded).tolist())
    found = {p.nodes for p in paths}
    others, _ = _routes(roomless, points, k + len(paths))
    blocked = [p for p in others if p.nodes not in found]
    full = sorted({idx.duct_ids[d] for p in blocked for d in p.ducts if not query.allowed[d]})
    only = f"only {len(paths)} of the {k} routes asked for"
    if full:
        return (f"{only}: the next ways from {ends[0]} to {ends[-1]} pass through ducts "
                f"without room for a {diameter:g} mm cable: {', '.join(full)}")
    return (f"{only}: no other loopless duct path joins {ends[0]} and {ends[-1]} under the "
            "given constraints")


def _make_query(
    idx: RoutingIndex,
    diameter: float,
    operator: str | None,
    avoid: set[str],
    owners: Iterable[str] | None,
) -> _Query:
    d_sq = diameter * diameter
    n = len(idx.duct_ids)
    owner_ok = None if owners is None else {idx.owner_codes[o] for o in owners
                                            if o in idx.owner_codes}
    direct_ok = (idx.sum_sq + d_sq) <= idx.limit_next * idx.inner_sq + _EPS * idx.inner_sq
    excluded = np.zeros(n, dtype=bool)
    avoided_inner: set[int] = set()
    inner_pos = idx.free_inner_pos
    avoided_nodes = [idx.node_index[a] for a in avoid if a in idx.node_index]
    for a in avoid:
        if a in idx.duct_index:
            excluded[idx.duct_index[a]] = True
        elif a in inner_pos:
            avoided_inner.add(inner_pos[a])
    if avoided_nodes:
        bad = np.zeros(len(idx.node_ids), dtype=bool)
        bad[avoided_nodes] = True
        excluded |= bad[idx.u] | bad[idx.v]
    inner_fit = idx.free_inner_cap_sq * (1 + _EPS) >= d_sq
    if avoided_inner:
        inner_fit[list(avoided_inner)] = False
    if owner_ok is not None:
        codes = np.array(sorted(owner_ok), dtype=np.int64)
        direct_ok = direct_ok & np.isin(idx.owner, codes)
        inner_fit = inner_fit & np.isin(idx.free_inner_owner, codes)
        # a duct neither laid in directly nor holding a usable innerduct is excluded by owner
    inner_ok = np.zeros(n, dtype=bool)
    if len(idx.free_inner_host):
        inner_ok[idx.free_inner_host[inner_fit]] = True
    if owner_ok is not None:
        codes = np.array(sorted(owner_ok), dtype=np.int64)
        has_owned_inner = np.zeros(n, dtype=bool)
        owned = np.isin(idx.free_inner_owner, codes)
        if len(idx.free_inner_host):
            has_owned_inner[idx.free_inner_host[owned]] = True
        excluded |= ~np.isin(idx.owner, codes) & ~has_owned_inner
    allowed = ((direct_ok | inner_ok) & ~excluded).tolist()
    return _Query(idx, d_sq, operator, allowed, excluded, direct_ok, inner_ok, avoided_inner,
                  owner_ok)


def _used_before(paths: list[_Path], leg: int) -> set[int]:
    """Structures of the legs before ``leg`` (the failed one), but not its start."""
    return {n for p in paths[:leg] for n in p.nodes[:-1]}


def _routes(query: _Query, points: list[int], k: int) -> tuple[list[_Path], tuple[int, int] | None]:
    """The routes, or the legs found so far and the (from, to) positions of the failed leg."""
    if len(points) == 2:
        paths = query.yen(points[0], points[1], k)
        return (paths, None) if paths else ([], (0, 1))
    legs: list[list[_Path]] = []
    used: set[int] = set()
    for i in range(len(points) - 1):
        banned = frozenset(used - {points[i]}) | frozenset(points[i + 2 :])
        alternatives = query.yen(points[i], points[i + 1], k, banned)
        if not alternatives:
            return [leg[0] for leg in legs], (i, i + 1)
        legs.append(alternatives)
        used.update(alternatives[0].nodes)
    best = [leg[0] for leg in legs]
    combos: dict[tuple[int, ...], _Path] = {}
    for i, leg in enumerate(legs):
        for alt in leg:
            chosen = [*best[:i], alt, *best[i + 1 :]]
            path = _join(chosen)
            if path is not None:
                combos.setdefault(path.nodes, path)
    ordered = sorted(combos.values(), key=lambda p: (p.length_m, p.nodes))
    return ordered[:k], None


def _join(legs: list[_Path]) -> _Path | None:
    """Concatenate legs; None when a structure repeats (not simple)."""
    nodes: list[int] = [legs[0].nodes[0]]
    ducts: list[int] = []
    for leg in legs:
        nodes.extend(leg.nodes[1:])
        ducts.extend(leg.ducts)
    if len(set(nodes)) != len(nodes):
        return None
    return _Path(sum(leg.length_m for leg in legs), tuple(nodes), tuple(ducts))


def _boundary(query: _Query, start: int, banned: frozenset[int]) -> tuple[list[str], list[str]]:
    """Ducts leaving the region reachable from ``start``: (without room, excluded)."""
    idx = query.index
    seen = {start}
    stack = [start]
    while stack:
        n = stack.pop()
        for m, e, _ in idx.adj[n]:
            if query.allowed[e] and m not in seen and m not in banned:
                seen.add(m)
                stack.append(m)
    blocking: set[str] = set()
    excluded: set[str] = set()
    for n in seen:
        for m, e, _ in idx.adj[n]:
            if m in seen or m in banned:
                continue
            if query.excluded[e]:
                excluded.add(idx.duct_ids[e])
            elif not query.allowed[e]:
                blocking.add(idx.duct_ids[e])
    return sorted(blocking), sorted(excluded)


def _describe(query: _Query, path: _Path) -> dict[str, Any]:
    """A route as JSON: ducts to list in the cable's route, hops with fill before and after."""
    idx = query.index
    hops = []
    fill_before: dict[str, float] = {}
    fill_after: dict[str, float] = {}
    occupied: list[str] = []
    for i, e in enumerate(path.ducts):
        occupies, inner = query.choose(e)
        row = idx.fill.duct(occupies)
        d_sq = query.d_sq
        before = row.fill_ratio
        after = (row.sum_sq_mm2 + d_sq) / row.inner_diameter_mm**2
        limit_after = limit_ratio(
            len(row.occupants) + 1, _override(idx, occupies), idx.limit_rule
        )
        fill_before[occupies] = before
        fill_after[occupies] = after
        occupied.append(occupies)
        hops.append({
            "duct": idx.duct_ids[e],
            "occupies": occupies,
            "innerduct": inner,
            "from": idx.node_ids[path.nodes[i]],
            "to": idx.node_ids[path.nodes[i + 1]],
            "length_m": float(idx.length_m[e]),
            "owner": row.owner,
            "fill_before": before,
            "fill_after": after,
            "limit_after": limit_after,
        })
    return {
        "ducts": occupied,
        "length_m": path.length_m,
        "structures": [idx.node_ids[n] for n in path.nodes],
        "hops": hops,
        "fill_before": fill_before,
        "fill_after": fill_after,
    }


def _override(idx: RoutingIndex, duct_id: str) -> float | None:
    row = idx.fill.duct(duct_id)
    return row.limit_ratio if row.limit_source == "override" else None
