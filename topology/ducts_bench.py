"""Benchmark of the duct queries on a city-scale generated duct network: figures, no asserts.

:func:`city_ducts` draws a deterministic city: a street grid of manholes about 120 m apart
(Hanoi's centre), one main duct per street (50-110 mm, the city's duct company), a parallel
operator duct on some streets and an operator's innerduct in some main ducts; exchanges every
25 blocks, each with one OLT per operator; cabinets with one feeder cable each, routed block
by block from the nearest exchange (so the streets around exchanges fill up, some over their
limit), carrying a port → 1:8 splitter link with four ONTs behind it; a mobile site on every
twentieth cabinet. Duct lengths are 2-25 % longer than the straight line between manholes.

:func:`bench_ducts` times, as medians: a first route (k = 1) and five alternatives (k = 5)
between a cabinet and a structure 10-30 blocks away (1.2-3.6 km, feeder scale) for a 96-fibre
cable, with a prepared :func:`~ponmodel.topology.routing.routing_index`; the impact of one
duct that carries cables, with a prepared :func:`~ponmodel.topology.impact.impact_index`;
and, once each, the preparations, the fill report and the shared-risk view. Cross-city
queries (a structure in the western quarter to one in the eastern quarter, 15-20 km) are
timed apart: the worst case, not the feeder-planning one.

Examples
--------
>>> from ponmodel.topology.ducts_bench import city_ducts
>>> doc = city_ducts(500, seed=1)
>>> len(doc["ducts"])
500
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from ponmodel import catalog
from ponmodel.document import Document, load_document
from ponmodel.topology.ducts import duct_fill
from ponmodel.topology.impact import impact, impact_index, shared_risk
from ponmodel.topology.routing import plan_route, routing_index

OPERATORS = ("vnpt", "viettel", "fpt")
DUCT_COMPANY = "hanoi-ducts"
BLOCK_M = 120.0
EXCHANGE_EVERY = 25
_LON0, _LAT0 = 105.80, 20.98
_M_PER_DEG_LAT = 111_195.0


def _service() -> dict[str, Any]:
    one = {"fixed_mbps": 0, "assured_mbps": 100, "max_mbps": 1000}
    return {"down": dict(one), "up": dict(one)}


def city_ducts(n_ducts: int, seed: int = 7) -> Document:
    """A valid ``ponmodel/1`` document with exactly ``n_ducts`` ducts (innerducts included).

    Parameters
    ----------
    n_ducts : int
        Number of ducts and innerducts, ≥ 20.
    seed : int
        Seed of the generator: equal arguments give equal documents.

    Returns
    -------
    Document
        Validated by :func:`ponmodel.document.load_document`.

    Examples
    --------
    >>> doc = city_ducts(300, seed=2)
    >>> sum(1 for d in doc["ducts"] if d["within"]) > 0, len(doc["cables"]) > 0
    (True, True)
    """
    if n_ducts < 20:
        msg = f"a city needs at least 20 ducts, got {n_ducts}"
        raise ValueError(msg)
    rng = random.Random(seed)
    p_parallel, p_inner = 0.12, 0.06
    # streets of a side × side grid: 2·side·(side − 1) ≈ n / (1 + p_parallel + p_inner)
    streets_wanted = n_ducts / (1 + p_parallel + p_inner)
    side = max(3, math.ceil((1 + math.sqrt(1 + 2 * streets_wanted)) / 2))
    m_per_deg_lon = _M_PER_DEG_LAT * math.cos(math.radians(_LAT0))
    zones_per_side = 4
    zone_span = math.ceil(side / zones_per_side)

    def sid(x: int, y: int) -> str:
        return f"MH-{x:04d}-{y:04d}"

    xy: dict[str, tuple[float, float]] = {}
    structures = []
    exchanges: list[tuple[int, int]] = []
    for y in range(side):
        for x in range(side):
            px = x * BLOCK_M + rng.uniform(-15, 15)
            py = y * BLOCK_M + rng.uniform(-15, 15)
            xy[sid(x, y)] = (px, py)
            centre = (EXCHANGE_EVERY // 2) % side
            is_exchange = x % EXCHANGE_EVERY == centre and y % EXCHANGE_EVERY == centre
            if is_exchange:
                exchanges.append((x, y))
            structures.append({
                "id": sid(x, y),
                "zone": f"Z-{y // zone_span}-{x // zone_span}",
                "kind": "exchange" if is_exchange else "manhole",
                "lon": round(_LON0 + px / m_per_deg_lon, 7),
                "lat": round(_LAT0 + py / _M_PER_DEG_LAT, 7),
            })
    if not exchanges:
        exchanges.append((0, 0))
        structures[0]["kind"] = "exchange"
    ducts: list[dict[str, Any]] = []
    street: dict[tuple[str, str], dict[str, Any]] = {}
    """(a, b) structure ids, both orders → {"main": duct, "parallel": duct|None, "inner": ...}"""

    def add(duct: dict[str, Any]) -> bool:
        if len(ducts) >= n_ducts:
            return False
        ducts.append(duct)
        return True

    pairs = [((x, y), (x + 1, y)) for y in range(side) for x in range(side - 1)]
    pairs += [((x, y), (x, y + 1)) for y in range(side - 1) for x in range(side)]
    rng.shuffle(pairs)
    for (ax, ay), (bx, by) in pairs:
        a, b = sid(ax, ay), sid(bx, by)
        straight = math.dist(xy[a], xy[b])
        length = round(straight * rng.uniform(1.02, 1.25) + 0.05, 1)
        n = len(ducts)
        main: dict[str, Any] = {"id": f"DU-{n:06d}", "from": a, "to": b, "length_m": length,
                "inner_diameter_mm": rng.choice((50.0, 63.0, 100.0, 100.0, 110.0)),
                "owner": DUCT_COMPANY}
        if not add(main):
            break
        entry: dict[str, Any] = {"main": main, "parallel": None, "inner": None}
        if rng.random() < p_parallel:
            par = {"id": f"DU-{len(ducts):06d}", "from": a, "to": b, "length_m": length,
                   "inner_diameter_mm": rng.choice((63.0, 100.0)), "owner": rng.choice(OPERATORS)}
            if add(par):
                entry["parallel"] = par
        if main["inner_diameter_mm"] >= 63 and rng.random() < p_inner:
            inner_d, outer_d = rng.choice(((32.0, 40.0), (40.0, 50.0)))
            inner = {"id": f"DU-{len(ducts):06d}", "from": a, "to": b, "length_m": length,
                     "inner_diameter_mm": inner_d, "owner": rng.choice(OPERATORS),
                     "within": main["id"], "outer_diameter_mm": outer_d}
            if add(inner):
                entry["inner"] = inner
        street[(a, b)] = street[(b, a)] = entry
    while len(ducts) < n_ducts:  # tiny grids: top up with parallel ducts
        a, b = sid(0, 0), sid(1, 0)
        add({"id": f"DU-{len(ducts):06d}", "from": a, "to": b, "length_m": 130.0,
             "inner_diameter_mm": 100.0, "owner": rng.choice(OPERATORS)})

    cables: list[dict[str, Any]] = []
    olts: dict[tuple[str, str], dict[str, Any]] = {}
    splitters: list[dict[str, Any]] = []
    onts: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    sites: list[dict[str, Any]] = []
    kind_of = {s["id"]: s for s in structures}
    n_cabinets = max(1, n_ducts // 40)
    for c in range(n_cabinets):
        ex = rng.choice(exchanges)
        x = min(side - 1, max(0, ex[0] + rng.randint(-12, 12)))
        y = min(side - 1, max(0, ex[1] + rng.randint(-12, 12)))
        if (x, y) == ex:
            continue
        op = rng.choice(OPERATORS)
        steps = ["x"] * abs(x - ex[0]) + ["y"] * abs(y - ex[1])
        rng.shuffle(steps)
        route: list[str] = []
        cx, cy = ex
        for step in steps:
            nx_, ny_ = (cx + (1 if x > cx else -1), cy) if step == "x" else (
                cx, cy + (1 if y > cy else -1))
            step_entry = street.get((sid(cx, cy), sid(nx_, ny_)))
            if step_entry is None:
                route = []
                break
            entry = step_entry
            if entry["inner"] is not None and entry["inner"]["owner"] == op:
                route.append(entry["inner"]["id"])
            elif entry["parallel"] is not None and entry["parallel"]["owner"] == op:
                route.append(entry["parallel"]["id"])
            else:
                route.append(entry["main"]["id"])
            cx, cy = nx_, ny_
        if not route:
            continue
        cab = sid(x, y)
        if kind_of[cab]["kind"] == "manhole":
            kind_of[cab]["kind"] = "cabinet"
        fibres = rng.choice((24, 48, 96, 96, 144))
        cable_id = f"CB-{c:05d}"
        cables.append({"id": cable_id, "operator": op, "fibre_count": fibres,
                       "outer_diameter_mm": catalog.cable_outer_diameter_mm(fibres),
                       "ducts": route})
        ex_id = sid(*ex)
        olt = olts.get((ex_id, op))
        if olt is None:
            olt = {"id": f"OLT-{op}-{ex_id}", "operator": op, "structure": ex_id,
                   "uplink_gbps": 100, "ports": []}
            olts[(ex_id, op)] = olt
        port_id = f"{olt['id']}/{len(olt['ports']) + 1}"
        olt["ports"].append({"id": port_id, "technology": "xgs-pon", "optics_class": "N1"})
        sp_id = f"SP-{c:05d}"
        splitters.append({"id": sp_id, "structure": cab, "ratio": 8})
        feeder = 50.0 + BLOCK_M * 1.15 * len(route)  # route plus slack in the exchange
        links.append({"id": f"FL-{c:05d}", "from": port_id, "to": sp_id,
                      "length_m": round(feeder, 1), "connectors": 2, "splices": 2,
                      "cables": [cable_id]})
        for j in range(4):
            ont_id = f"ONT-{c:05d}-{j}"
            backhaul = j == 0 and c % 20 == 0
            onts.append({"id": ont_id, "structure": cab,
                         "customer": f"Customer {rng.randint(1, n_cabinets)}",
                         "kind": "site_backhaul" if backhaul else "enterprise",
                         "service": _service()})
            links.append({"id": f"DR-{c:05d}-{j}", "from": sp_id, "to": ont_id,
                          "length_m": 120.0, "connectors": 2, "splices": 1})
            if backhaul:
                sites.append({"id": f"SITE-{c:05d}", "zone": kind_of[cab]["zone"],
                              "operator": op, "generation": "5g", "structure": cab,
                              "backhaul_ont": ont_id})
    zones = sorted({s["zone"] for s in structures})
    return load_document({
        "format": "ponmodel/1",
        "name": f"generated city, {n_ducts} ducts, seed {seed}",
        "operators": [{"id": o, "name": o.upper()} for o in (*OPERATORS, DUCT_COMPANY)],
        "zones": [{"id": z, "name": z, "kind": "industrial_zone"} for z in zones],
        "structures": structures,
        "ducts": ducts,
        "cables": cables,
        "olts": list(olts.values()),
        "splitters": splitters,
        "onts": onts,
        "links": links,
        "sites": sites,
    })


def _median_ms(fn: Callable[[Any], Any], args: list[Any]) -> float:
    times = []
    for a in args:
        started = time.perf_counter()
        fn(a)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def _once_ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000.0, result


def bench_ducts(n_ducts: int = 100_000, *, seed: int = 7, queries: int = 21) -> dict[str, Any]:
    """Median latencies of route and impact queries on :func:`city_ducts` (milliseconds).

    Examples
    --------
    >>> r = bench_ducts(400, queries=3)
    >>> sorted(k for k in r if k.endswith("_median_ms"))
    ['first_route_median_ms', 'k5_routes_median_ms', 'one_duct_impact_median_ms']
    """
    generate_ms, doc = _once_ms(lambda: city_ducts(n_ducts, seed))
    fill_ms, _ = _once_ms(lambda: duct_fill(doc))
    route_index_ms, r_idx = _once_ms(lambda: routing_index(doc))
    impact_index_ms, i_idx = _once_ms(lambda: impact_index(doc))
    rng = random.Random(seed + 1)
    cabinets = [s["id"] for s in doc["structures"] if s["kind"] == "cabinet"]
    side = max(int(s["id"].split("-")[1]) for s in doc["structures"]) + 1
    pairs: list[tuple[str, str]] = []
    while len(pairs) < queries and cabinets:
        a = rng.choice(cabinets)
        ax, ay = (int(t) for t in a.split("-")[1:])
        bx = min(side - 1, max(0, ax + rng.choice((-1, 1)) * rng.randint(5, 15)))
        by = min(side - 1, max(0, ay + rng.choice((-1, 1)) * rng.randint(5, 15)))
        b = f"MH-{bx:04d}-{by:04d}"
        if b != a and b in r_idx.node_index:
            pairs.append((a, b))
    found: list[int] = []

    def route(pair: tuple[str, str], k: int) -> None:
        r = plan_route(r_idx, pair[0], pair[1], fibre_count=96, operator="vnpt", k=k)
        found.append(len(r["routes"]))

    first_ms = _median_ms(lambda p: route(p, 1), pairs)
    k1_found = found[:]
    found.clear()
    k5_ms = _median_ms(lambda p: route(p, 5), pairs)
    k5_found = found[:]
    far: list[tuple[str, str]] = []
    while len(far) < max(3, queries // 4):
        a = f"MH-{rng.randrange(side // 4):04d}-{rng.randrange(side):04d}"
        b = f"MH-{rng.randrange(3 * side // 4, side):04d}-{rng.randrange(side):04d}"
        if a in r_idx.node_index and b in r_idx.node_index:
            far.append((a, b))
    found.clear()
    far_first_ms = _median_ms(lambda p: route(p, 1), far)
    far_k5_ms = _median_ms(lambda p: route(p, 5), far)
    loaded = sorted({d for c in doc["cables"] for d in c["ducts"]})
    ducts = [rng.choice(loaded) for _ in range(max(queries, 51))] if loaded else []
    impact_ms = _median_ms(lambda d: impact(i_idx, [d]), ducts)
    cold_impact_ms, _ = _once_ms(lambda: impact(doc, [ducts[0]])) if ducts else (0.0, None)
    shared_ms, _ = _once_ms(lambda: shared_risk(i_idx))
    return {
        "ducts": len(doc["ducts"]),
        "innerducts": sum(1 for d in doc["ducts"] if d["within"]),
        "structures": len(doc["structures"]),
        "cables": len(doc["cables"]),
        "onts": len(doc["onts"]),
        "queries": len(pairs),
        "routes_found_k1": sum(1 for n in k1_found if n),
        "mean_routes_k5": statistics.mean(k5_found) if k5_found else 0.0,
        "first_route_median_ms": first_ms,
        "k5_routes_median_ms": k5_ms,
        "one_duct_impact_median_ms": impact_ms,
        "cross_city_queries": len(far),
        "cross_city_first_route_ms": far_first_ms,
        "cross_city_k5_routes_ms": far_k5_ms,
        "generate_and_validate_ms": generate_ms,
        "duct_fill_ms": fill_ms,
        "routing_index_ms": route_index_ms,
        "impact_index_ms": impact_index_ms,
        "impact_without_index_ms": cold_impact_ms,
        "shared_risk_ms": shared_ms,
    }


def bench_reservations(url: str, *, n_ducts: int = 4000, clients: int = 8,
                       per_client: int = 50, seed: int = 7) -> dict[str, Any]:
    """Reservation throughput with ``clients`` concurrent planners on the database at ``url``.

    A fresh :func:`city_ducts` network is imported (replacing what ``url`` holds: use a
    scratch database); each client then reserves ``per_client`` 12 mm cables on random
    two-duct routes (so they contend for rows) as fast as it can, each reservation its own
    locked transaction. Returns reservations per second, the conflicts, and the median and
    p99 latency of one reservation (ms).
    """
    import threading

    from ponmodel.errors import ConflictError
    from ponmodel.reservations import reserve
    from ponmodel.storage import drop_all, import_document, make_engine, migrate

    doc = city_ducts(n_ducts, seed)
    engine = make_engine(url)
    drop_all(engine)
    migrate(engine)
    import_document(engine, doc, replace=True, validated=True)
    ends: dict[str, list[str]] = {}
    for d in doc["ducts"]:
        if d["within"] is None:
            ends.setdefault(d["from"], []).append(d["id"])
            ends.setdefault(d["to"], []).append(d["id"])
    pairs = [ids[:2] for ids in ends.values() if len(ids) >= 2]
    latencies: list[float] = []
    conflicts = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client(i: int) -> None:
        rng = random.Random(seed + i)
        barrier.wait()
        for _ in range(per_client):
            route = rng.choice(pairs)
            started = time.perf_counter()
            try:
                reserve(engine, operator="vnpt", ducts=list(route), outer_diameter_mm=12.0)
            except ConflictError:
                with lock:
                    conflicts[0] += 1
            with lock:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    drop_all(engine)
    engine.dispose()
    latencies.sort()
    return {
        "database": engine.dialect.name,
        "clients": clients,
        "reservations": len(latencies),
        "conflicts": conflicts[0],
        "per_second": len(latencies) / seconds,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
    }


if __name__ == "__main__":  # pragma: no cover
    import json
    import sys

    print(json.dumps(bench_ducts(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000), indent=1))
