"""Synthetic and demonstration ``ponmodel/1`` network documents.

Three kinds of document come out of this module, all deterministic:

* :func:`generate_network`: a valid document of any size (ten to a million ONTs and more)
  for tests and benchmarks, built from the same rules as a real access network;
* :func:`hanoi_network`: the demonstration network of Hanoi's high-tech parks, industrial
  zones and clusters (``fixtures/hanoi.json``), at their approximate real coordinates;
* :func:`small_fixtures`: the small focused documents of ``fixtures/`` (one situation each,
  and one document per rule of the spec's "What makes a document invalid").

How a network is laid out, per zone: one exchange (a shared telecom house) holds the
operators' OLTs (16 PON ports each). Streets of manholes joined by 100 mm ducts run out of
the exchange; the ducts belong mostly to the zone board (``hhtip``) and carry the trunk
cables of two or three operators, some of them in an operator's innerduct. Cabinets hang
off the manholes and hold the first-level splitters (1:2 to 1:8); buildings hold the
second-level splitters (1:2 to 1:16, total split 1:4 to 1:64) and the ONTs. Links run
port → splitter → splitter → ONT: feeder (trunk and cabinet tail cables), distribution
(one cable per building) and in-building drop (no duct, so no cable).

Every optical and duct figure comes from the built-in catalogue (:mod:`ponmodel.catalog`,
worst-case design values), the same figures the budget check uses. A tree's split is
planned so that the technology's largest class (E1, C+) can hold it after its feeder;
once the tree is built, its port gets the smallest class (now and then the next one up)
whose window (:func:`loss_window`: class minimum and maximum, overload and sensitivity of
both directions, 3 dB margin) holds every ONT, so that the budget closes by construction.
A few percent of the ONTs are then made to fail on purpose, each for a reason an engineer
would recognise: a feeder patched through a distant exchange (too long, too many
connectors), a 1:128 split where 1:64 was planned, a damaged drop (``extra_loss_db``), an
ONT patched straight off a cabinet splitter (below the class minimum, receivers overloaded).
Likewise most ducts stay well under their fill limit (:func:`ponmodel.catalog.max_fill_ratio`)
and a handful of cabinet ducts are too narrow on purpose.

Service profiles are what the operators sell in these zones (see "service profiles" below:
enterprise plans with a committed rate of 100-500 Mbit/s and a 1-10 Gbit/s peak, a few
large factories at 1-2 Gbit/s committed, best-effort worker housing, IoT gateways, 4G and
5G site backhaul). Each port passes an admission check (Σ fixed + assured within its usable
capacity both ways, Σ max within 8 times its downstream capacity), so that about 94 % of
the ports in use are admissible; a few ports are overbooked on purpose (sold past the
check), and GPON ports carrying a 5G site's backhaul may be over upstream whatever is sold
beside it. Every OLT's uplink carries its ports' Σ guaranteed at 80 % load, except one
XGS-PON OLT with a 9 Gbit/s uplink (its ONTs are not 10G-symmetric for that reason alone
in the Hanoi network) and, in Hanoi, one that kept its 10GE uplink and is oversold.

Examples
--------
>>> doc = generate_network(50, seed=1)
>>> len(doc["onts"]), doc["format"]
(50, 'ponmodel/1')
>>> generate_network(50, seed=1) == doc
True
"""

from __future__ import annotations

import gc
import json
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ponmodel import catalog

__all__ = [
    "OPERATORS",
    "fixture_documents",
    "generate_network",
    "hanoi_network",
    "loss_window",
    "small_fixtures",
    "write_fixtures",
]

Doc = dict[str, Any]

# --------------------------------------------------------------------------- design figures
# Every optical and duct figure comes from the built-in catalogue (ponmodel.catalog, worst-case
# design values): the generator designs against exactly what the budget check will use.

_PLAN_GUARD_DB = 0.3
"""Kept free inside the class window, so that rounding and measured splitters never tip a
designed ONT over."""
_CLASSES_BY_TECHNOLOGY: dict[str, tuple[str, ...]] = {
    "xgs-pon": ("N1", "N2", "E1"),  # E2 optics exist but are rare in access networks
    "gpon": ("B+", "C+"),
}
_SPLIT_PLANS: dict[str, tuple[tuple[tuple[int, int], float], ...]] = {
    # (first level, second level) and the share of trees planned with it; a plan the budget
    # cannot hold is replaced by the next smaller one (_SMALLER)
    "xgs-pon": (((8, 8), 0.2), ((4, 16), 0.15), ((4, 8), 0.4), ((2, 16), 0.1), ((4, 4), 0.15)),
    "gpon": (((8, 8), 0.1), ((4, 8), 0.45), ((4, 4), 0.3), ((2, 8), 0.15)),
}
_SMALLER: dict[tuple[int, int], tuple[int, int] | None] = {
    (8, 8): (4, 8), (4, 16): (4, 8), (4, 8): (4, 4), (2, 16): (2, 8), (4, 4): (2, 4),
    (2, 8): (2, 4), (2, 4): (2, 2), (2, 2): None,
}
_DOWNSTREAM_BOUND_M = (1100.0, 300.0)
"""Longest distribution link and drop the builder lays (bounds the loss before it builds)."""


def loss_window(technology: str, optics_class: str) -> tuple[float, float]:
    """The optical path losses (dB) at which an ONT of a port passes every budget check.

    The lower end is the class minimum and the receivers' overload (best-case launch power);
    the upper end is the class maximum less the safety margin and the receivers' sensitivity
    less the margin (worst-case launch power), both directions, all from the catalogue.

    Examples
    --------
    >>> loss_window("xgs-pon", "N1"), loss_window("xgs-pon", "E1")
    ((14.0, 26.0), (18.0, 30.0))
    >>> loss_window("gpon", "B+"), loss_window("gpon", "C+")
    ((13.0, 25.0), (17.0, 29.0))
    """
    oc = catalog.optics_class(technology, optics_class)
    margin = catalog.SAFETY_MARGIN_DB
    low = max(oc.min_loss_db, oc.olt_tx_max_dbm - oc.onu_rx_overload_dbm,
              oc.onu_tx_max_dbm - oc.olt_rx_overload_dbm)
    high = min(oc.max_loss_db - margin,
               oc.olt_tx_min_dbm - margin - oc.onu_rx_sensitivity_dbm,
               oc.onu_tx_min_dbm - margin - oc.olt_rx_sensitivity_dbm)
    return low, high


def _attenuation(technology: str) -> tuple[float, float]:
    """(lowest, highest) catalogue attenuation, dB/km, over the technology's two wavelengths."""
    tech = catalog.technology(technology)
    values = [catalog.fibre_attenuation_db_per_km(w)
              for w in (tech.wavelength_down_nm, tech.wavelength_up_nm)]
    return min(values), max(values)


def _passive_db(connectors: int, splices: int) -> float:
    return connectors * catalog.CONNECTOR_LOSS_DB + splices * catalog.SPLICE_LOSS_DB


MAIN_DUCT_MM = 100.0
"""Main conduit, the most common size (§4.2)."""
ENTRY_DUCT_MM = 50.0
INNERDUCTS: tuple[tuple[float, float], ...] = ((32.0, 40.0), (40.0, 50.0))
"""Innerduct (inner, outer) diameters, mm: 25-40 mm sub-ducts (§4.2)."""
UNDERSIZED_DUCT_MM = (63.0, 50.0, 40.0, 32.0, 25.0)
"""Legacy cabinet ducts too narrow for their cables (the deliberate fill violations); the
widest one that is overfull is taken, so the fill stays physically possible."""


OPERATORS: tuple[dict[str, str], ...] = (
    {"id": "vnpt", "name": "VNPT Hà Nội"},
    {"id": "viettel", "name": "Viettel Hà Nội"},
    {"id": "fpt", "name": "FPT Telecom"},
    {"id": "hhtip", "name": "Ban Quản lý các khu công nghệ cao và khu công nghiệp Hà Nội (HHTIP)"},
)
"""The three access operators and the zone board that owns the shared ducts (no OLTs)."""
_MOBILE_OPERATORS = ("viettel", "vnpt")
"""Operators with mobile sites among ours (FPT Telecom runs no mobile network)."""
_BOARD = "hhtip"

# --------------------------------------------------------------------------- service profiles
# What the operators sell on these ports, per ONT kind and port technology, as
# (fixed, assured, max, additional, weight) per direction, Mbit/s. The figures follow the
# shape of what VNPT, Viettel and FPT Telecom sell to industrial-zone customers (enterprise
# FTTH plans named after their headline rate, with a committed rate of a tenth to a fifth of
# it; leased-line-like plans for large factories; best-effort home plans; mobile backhaul
# with a fixed share for synchronisation and signalling). Illustrative, not a price list:
#
# * enterprise on XGS-PON, symmetric, non-assured above the committed rate: "1G" assured
#   100 max 1,000 (25 %), "2G" 200 / 2,000 (30 %), "5G" 300 / 5,000 (20 %), "10G"
#   500 / 10,000 (23 %) and large factories (R&D centres, data rooms, 2 %) assured 1,000
#   or 2,000 max 10,000;
# * enterprise on GPON (legacy, 1.1 Gbit/s upstream shared by the port): "300" assured
#   50/30 max 300 (50 %), "500" 100/50 max 500 (35 %), "1G" 150/100 max 1,000 (15 %);
# * residential (worker housing): best-effort, max 300, 500 or 1,000 on XGS-PON, 300 or
#   500 down and 300 up on GPON;
# * IoT gateways (meters, cameras, sensors): fixed 10 down, 20 or 50 up on XGS-PON (10 or
#   20 on GPON), best-effort to max 100 down, 200 up (100 on GPON);
# * mobile site backhaul, weight 2: 5G fixed 500 + assured 1,000, 1,500 or 2,000, max
#   10,000 on XGS-PON (on GPON, whose line rates cap it, fixed 200 + assured 500/300, max
#   2,500/1,250); 4G fixed 100 + assured 200, max 1,000 (on GPON 200/100 assured, max
#   1,000/500).
#
# The operators' admission check (connection admission control) then sells a committed
# rate only while the port can carry it: while Σ (fixed + assured) of a port exceeds its
# usable capacity in either direction, or Σ max exceeds 8 times its downstream capacity
# (the contention limit), the enterprise ONT with the largest plan is moved one plan down
# (see _Builder._sell). So XGS-PON ports end up 2-8 times oversubscribed downstream but for
# the smallest trees. A few ports are deliberately overbooked instead (sold past the check:
# enterprise plans moved up, smallest first, until the port is just over), and
# every OLT's uplink is sized to carry the Σ guaranteed of its ports except the
# deliberately small ones (_Options.small_uplink_zone, _Options.oversold_uplink_zone).
_Profile = tuple[float, float, float, str, float]
_NA, _BE = "non_assured", "best_effort"
_Plan = tuple[_Profile, _Profile]  # (down, up)


def _sym(fixed: float, assured: float, maximum: float, additional: str = _NA,
         weight: float = 1.0) -> _Plan:
    p = (fixed, assured, maximum, additional, weight)
    return p, p


_ENTERPRISE_PLANS: dict[str, tuple[tuple[float, _Plan], ...]] = {
    # (share, plan), smallest committed rate first: the admission check moves down this list
    "xgs-pon": (
        (0.25, _sym(0, 100, 1000)),
        (0.30, _sym(0, 200, 2000)),
        (0.20, _sym(0, 300, 5000)),
        (0.23, _sym(0, 500, 10000)),
        (0.012, _sym(0, 1000, 10000)),  # large factories
        (0.008, _sym(0, 2000, 10000)),
    ),
    "gpon": (
        (0.50, ((0, 50, 300, _NA, 1.0), (0, 30, 300, _NA, 1.0))),
        (0.35, ((0, 100, 500, _NA, 1.0), (0, 50, 500, _NA, 1.0))),
        (0.15, ((0, 150, 1000, _NA, 1.0), (0, 100, 1000, _NA, 1.0))),
    ),
}
_MAX_OVERSUBSCRIPTION = 8.0
"""The admission check's contention limit: Σ max downstream ≤ 8 × the port's capacity."""
_RESIDENTIAL_MAX: dict[str, tuple[tuple[float, float], ...]] = {
    "xgs-pon": ((300, 300), (500, 500), (1000, 1000), (1000, 1000)),
    "gpon": ((300, 300), (300, 300), (500, 300)),
}
_IOT_UP_FIXED: dict[str, tuple[float, ...]] = {"xgs-pon": (20, 20, 50), "gpon": (10, 10, 20)}
_IOT_MAX: dict[str, tuple[float, float]] = {"xgs-pon": (100, 200), "gpon": (100, 100)}
_SITE_PLANS: dict[tuple[str, str], _Plan] = {
    # (generation, technology); the 5G assured rate on XGS-PON is drawn (1,000-2,000)
    ("5g", "xgs-pon"): _sym(500, 1000, 10000, _NA, 2.0),
    ("5g", "gpon"): ((200, 500, 2500, _NA, 2.0), (200, 300, 1250, _NA, 2.0)),
    ("4g", "xgs-pon"): _sym(100, 200, 1000, _NA, 2.0),
    ("4g", "gpon"): ((100, 200, 1000, _NA, 2.0), (100, 100, 500, _NA, 2.0)),
}
_UPLINK_SIZES_GBPS = (10, 40, 100, 200)
"""Standard OLT uplinks (10GE, 40GE, 100GE, 2×100GE); an OLT gets at least the one that
carries its ports' Σ guaranteed at 80 % load."""
_UPLINK_LOAD = 0.8


def _direction(p: _Profile) -> dict[str, Any]:
    return {"fixed_mbps": p[0], "assured_mbps": p[1], "max_mbps": p[2],
            "additional": p[3], "weight": p[4]}


def _service(profiles: _Plan) -> dict[str, Any]:
    """A fresh service dict (never shared: callers may edit one ONT's profile)."""
    return {"down": _direction(profiles[0]), "up": _direction(profiles[1])}


def _enterprise_plan(tech: str, u: float) -> int:
    """Index of the enterprise plan at quantile ``u`` of the technology's plan shares."""
    plans = _ENTERPRISE_PLANS[tech]
    for i, (share, _) in enumerate(plans):
        if u < share:
            return i
        u -= share
    return len(plans) - 1


def _guaranteed(service: Doc) -> tuple[float, float]:
    """Σ fixed + assured of one ONT, (down, up)."""
    down, up = service["down"], service["up"]
    return (down["fixed_mbps"] + down["assured_mbps"], up["fixed_mbps"] + up["assured_mbps"])


# --------------------------------------------------------------------------- zone plans


@dataclass
class ZonePlan:
    """What to build in one zone.

    Parameters
    ----------
    id, name, kind, district : str
        The zone element's fields.
    lon, lat : float
        Centre of the zone, degrees.
    code : str
        Short code used in every element id of the zone (``TL`` → ``CAB-TL-003``).
    onts : int
        Exact number of ONTs in the zone, site backhaul ONTs included.
    operators : sequence of (operator id, share)
        The operators with OLTs in the zone and their shares of the ONTs.
    sites_4g, sites_5g : int
        Mobile sites; every 5G site and most 4G sites are fibre-fed.
    gpon_share : float
        Probability that an OLT is a legacy GPON one (1.0: a GPON-only zone).
    radius_m : float
        Structures are placed within this distance of the centre.
    tenants : sequence of str
        Named enterprise customers, given to the first factory buildings.
    """

    id: str
    name: str
    kind: str
    district: str | None
    lon: float
    lat: float
    code: str
    onts: int
    operators: Sequence[tuple[str, float]] = (("vnpt", 0.4), ("viettel", 0.4), ("fpt", 0.2))
    sites_4g: int = 0
    sites_5g: int = 0
    gpon_share: float = 0.15
    radius_m: float = 1000.0
    tenants: Sequence[str] = ()
    exchange_offset_m: tuple[float, float] = (300.0, 1200.0)
    street_count: int | None = None


@dataclass
class _Options:
    """Knobs of the builder that differ between the synthetic and the Hanoi networks."""

    p_bad_port: float = 0.05
    bad_every: int = 0  # when > 0: every n-th tree fails on purpose instead of p_bad_port
    p_bad_drop: float = 0.012
    p_undersized_cabinet_duct: float = 0.03
    p_innerduct: float = 0.15
    p_operator_duct: float = 0.15
    p_handhole: float = 0.3
    p_site_on_roof: float = 0.5
    p_4g_fibre: float = 0.85
    kind_mix: tuple[float, float, float] = (0.5, 0.3, 0.2)  # enterprise, residential, iot
    named: bool = True
    p_close: float = 0.01  # an eligible tree gets an ONT patched off its cabinet splitter
    close_limit: int | None = None  # at most this many such ONTs in the document
    bus_zone: str | None = None  # zone of the tap-splitter bus (built once)
    coexistence: bool = False  # one XGS-PON port on a GPON ODN, in a zone with GPON OLTs
    remote_gpon_zone: str | None = None  # zone of the GPON port fed over > 20 km (once)
    p_overbook: float = 0.09  # a port with room for it is sold past the admission check
    overbook_every: int = 0  # when > 0: every n-th such port instead of p_overbook
    small_uplink_zone: str | None = None  # its first XGS-PON OLT has a 9 Gbit/s uplink
    oversold_uplink_zone: str | None = None  # its first XGS-PON OLT keeps a 10GE uplink


@dataclass
class _TreeCtx:
    """The tree being built: its port's operator and technology, its ONTs so far."""

    op: str
    tech: str
    att: tuple[float, float]  # (lowest, highest) attenuation of the two wavelengths, dB/km
    room: int
    first: int
    site_at: dict[int, Doc]
    made: int = 0
    losses: list[tuple[Doc, float, float]] = field(default_factory=list)  # drop, low, high


@dataclass
class _Hop:
    """One hop of a street: parallel main ducts between two nodes, maybe an innerduct."""

    ducts: list[dict[str, Any]]
    load: list[list[float]]  # per parallel duct: [occupants, Σ d²]
    length_m: float
    inner: dict[str, Any] | None = None
    inner_used: bool = False


@dataclass
class _Street:
    nodes: list[tuple[str, float, float]]  # (structure id, x, y); nodes[0] is the exchange
    cum_m: list[float]  # route length from the exchange to each node
    hops: list[_Hop] = field(default_factory=list)
    heading: float = 0.0
    trunks: dict[str, list[Any]] = field(default_factory=dict)  # op → [cable, end node, feeders]


@dataclass
class _Cabinet:
    id: str
    node: int
    street: _Street
    x: float
    y: float
    duct: dict[str, Any]
    load: list[float]  # [occupants, Σ d²] of the cabinet duct
    tail: dict[str, Any]
    tail_m: float
    capacity: int
    used: int = 0
    undersize: bool = False


class _Builder:
    """Builds one document; every list is a list of plain dicts, appended once."""

    def __init__(self, rng: random.Random, options: _Options,
                 services: random.Random | None = None) -> None:
        self.rng = rng
        # the service profiles draw from their own stream (all but the enterprise plan,
        # one draw of ``rng`` per enterprise ONT), so that the layout does not depend on them
        self.srng = services or random.Random(0)
        self.opt = options
        self.plan_of: dict[str, int] = {}  # enterprise ONT → index in _ENTERPRISE_PLANS
        self.port_guaranteed: dict[str, tuple[float, float]] = {}
        self.overbook_candidates = 0
        self.overbooked: list[str] = []
        self.fixed_uplinks: dict[str, str] = {}  # OLT id → why its uplink is not sized
        self.zones: list[Doc] = []
        self.structures: list[Doc] = []
        self.ducts: list[Doc] = []
        self.cables: list[Doc] = []
        self.olts: list[Doc] = []
        self.splitters: list[Doc] = []
        self.onts: list[Doc] = []
        self.links: list[Doc] = []
        self.sites: list[Doc] = []
        self.undersized: list[tuple[dict[str, Any], list[float]]] = []
        self.trees = 0
        self.closes = 0
        self.zone_has_gpon = False
        self.specials_done: set[str] = set()

    # ---------------------------------------------------------------- helpers
    def _counter(self, key: str) -> int:
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        return n

    def _id(self, prefix: str, width: int = 4) -> str:
        return f"{prefix}-{self.code}-{self._counter(prefix):0{width}d}"

    def _structure(self, prefix: str, kind: str, x: float, y: float,
                   name: str | None = None) -> str:
        ident = self._id(prefix, 3 if prefix in ("CAB", "MH", "HH", "PL") else 4)
        lon = round(self.lon0 + x / self.m_per_lon, 6)
        lat = round(self.lat0 + y / 111_320.0, 6)
        element: Doc = {"id": ident, "zone": self.zone_id, "kind": kind, "lon": lon, "lat": lat}
        if name is not None:
            element["name"] = name
        self.structures.append(element)
        return ident

    def _duct(self, a: str, b: str, length_m: float, diameter: float, owner: str) -> Doc:
        duct = {"id": self._id("DU"), "from": a, "to": b, "length_m": round(length_m, 1),
                "inner_diameter_mm": diameter, "owner": owner}
        self.ducts.append(duct)
        return duct

    def _owner(self) -> str:
        if self.rng.random() < self.opt.p_operator_duct:
            return self.rng.choice(self.zone_ops)
        return _BOARD

    def _cable(self, op: str, fibres: int, route: list[str]) -> Doc:
        cable = {"id": self._id("CB"), "operator": op, "fibre_count": fibres,
                 "outer_diameter_mm": catalog.cable_outer_diameter_mm(fibres), "ducts": route}
        self.cables.append(cable)
        return cable

    def _near(self, x: float, y: float, lo: float, hi: float) -> tuple[float, float, float]:
        """A point lo..hi metres from (x, y), kept within the zone radius."""
        d = self.rng.uniform(lo, hi)
        a = self.rng.uniform(0.0, 2.0 * math.pi)
        nx, ny = x + d * math.cos(a), y + d * math.sin(a)
        r = math.hypot(nx, ny)
        if r > self.radius:
            nx, ny = nx * self.radius / r, ny * self.radius / r
        return nx, ny, d

    @staticmethod
    def _place(hop_ducts: list[Doc], load: list[list[float]], d: float) -> int:
        """Index of the first parallel duct with room for one more cable of diameter d."""
        for i, duct in enumerate(hop_ducts):
            n, s = load[i]
            limit = catalog.max_fill_ratio(int(n) + 1) - 0.02
            if (s + d * d) / duct["inner_diameter_mm"] ** 2 <= limit:
                load[i][0] += 1
                load[i][1] += d * d
                return i
        return -1

    # ---------------------------------------------------------------- streets
    def _extend_street(self, street: _Street) -> None:
        """Add one manhole at the end of a street, joined by a 100 mm duct."""
        _, x, y = street.nodes[-1]
        first = len(street.nodes) == 1
        if first:
            step = self.rng.uniform(*self.trunk_m)
        else:
            step = self.rng.uniform(0.12, 0.35) * self.radius
        street.heading += self.rng.uniform(-0.5, 0.5)
        nx = x + step * math.cos(street.heading)
        ny = y + step * math.sin(street.heading)
        if math.hypot(nx, ny) > self.radius:  # turn back into the zone
            street.heading += math.pi * self.rng.uniform(0.6, 0.9)
            nx = x + step * math.cos(street.heading)
            ny = y + step * math.sin(street.heading)
            r = math.hypot(nx, ny)
            if r > self.radius:
                nx, ny = nx * self.radius / r, ny * self.radius / r
        mh = self._structure("MH", "manhole", nx, ny)
        # ducts follow the roads: 15-40 % longer than the straight line
        length = max(math.hypot(nx - x, ny - y), 30.0) * self.rng.uniform(1.15, 1.4)
        duct = self._duct(street.nodes[-1][0], mh, length, MAIN_DUCT_MM, self._owner())
        hop = _Hop([duct], [[0.0, 0.0]], duct["length_m"])
        if self.rng.random() < self.opt.p_innerduct:
            inner_d, outer_d = self.rng.choice(INNERDUCTS)
            inner = self._duct(duct["from"], mh, length, inner_d, self.rng.choice(self.zone_ops))
            inner["within"] = duct["id"]
            inner["outer_diameter_mm"] = outer_d
            hop.inner = inner
            hop.load[0] = [1.0, outer_d * outer_d]
        street.hops.append(hop)
        street.nodes.append((mh, nx, ny))
        street.cum_m.append(street.cum_m[-1] + duct["length_m"])

    def _trunk(self, street: _Street, op: str, node: int) -> Doc:
        """The operator's trunk cable on this street, extended to ``node``."""
        entry = street.trunks.get(op)
        if entry is None or entry[2] >= entry[0]["fibre_count"] * 2 // 3:
            fibres = self.rng.choice((48, 96, 96, 144, 288))
            entry = [self._cable(op, fibres, []), 0, 0]
            street.trunks[op] = entry
        cable: Doc = entry[0]
        end: int = entry[1]
        d = cable["outer_diameter_mm"]
        for h in range(end, node):
            hop = street.hops[h]
            if hop.inner is not None and not hop.inner_used and hop.inner["owner"] == op:
                hop.inner_used = True
                cable["ducts"].append(hop.inner["id"])
                continue
            i = self._place(hop.ducts, hop.load, d)
            if i < 0:  # the duct bank is full: lay one more parallel duct
                a, b = hop.ducts[0]["from"], hop.ducts[0]["to"]
                hop.ducts.append(self._duct(a, b, hop.length_m, MAIN_DUCT_MM, self._owner()))
                hop.load.append([1.0, d * d])
                i = len(hop.ducts) - 1
            cable["ducts"].append(hop.ducts[i]["id"])
        entry[1] = max(end, node)
        entry[2] += 1
        return cable

    # ---------------------------------------------------------------- cabinets
    def _new_cabinet(self, op: str, street: _Street | None = None) -> _Cabinet:
        if street is None:
            street = self.streets[self.next_street % len(self.streets)]
            self.next_street += 1
        for _ in range(self.rng.choice((1, 1, 2))):  # one or two manholes further out
            self._extend_street(street)
        node = len(street.nodes) - 1
        mh, x, y = street.nodes[node]
        cx, cy, d = self._near(x, y, 8.0, 40.0)
        cab = self._structure("CAB", "cabinet", cx, cy)
        duct = self._duct(mh, cab, d * 1.2 + 5.0, MAIN_DUCT_MM, self._owner())
        tail_fibres = self.rng.choice((12, 24))
        tail = self._cable(op, tail_fibres, [duct["id"]])
        od = catalog.cable_outer_diameter_mm(tail_fibres)
        cabinet = _Cabinet(cab, node, street, cx, cy, duct, [1.0, od * od], tail,
                           duct["length_m"], capacity=self.rng.choice((1, 2, 2, 3, 4)))
        if self.rng.random() < self.opt.p_undersized_cabinet_duct:
            cabinet.undersize = True
            self.undersized.append((duct, cabinet.load))
        return cabinet

    def _building(self, cabinet: _Cabinet, op: str, name: str | None) -> tuple[str, Doc, float]:
        """A building near the cabinet's manhole, its entry ducts and distribution cable."""
        mh, x, y = cabinet.street.nodes[cabinet.node]
        route = [cabinet.duct["id"]]
        length = cabinet.duct["length_m"]
        if self.rng.random() < self.opt.p_handhole:
            hx, hy, d = self._near(x, y, 40.0, 350.0)
            hh = self._structure("HH", "handhole", hx, hy)
            d1 = self._duct(mh, hh, d * 1.25 + 5.0, ENTRY_DUCT_MM, self._owner())
            bx, by, d = self._near(hx, hy, 15.0, 120.0)
            bld = self._structure("BLD", "building", bx, by, name)
            d2 = self._duct(hh, bld, d * 1.2 + 5.0, ENTRY_DUCT_MM, op)
            route += [d1["id"], d2["id"]]
            length += d1["length_m"] + d2["length_m"]
        else:
            bx, by, d = self._near(x, y, 30.0, 450.0)
            bld = self._structure("BLD", "building", bx, by, name)
            d1 = self._duct(mh, bld, d * 1.25 + 5.0, ENTRY_DUCT_MM, self._owner())
            route.append(d1["id"])
            length += d1["length_m"]
        fibres = 12 if self.rng.random() < 0.8 else 24
        d = catalog.cable_outer_diameter_mm(fibres)
        # the cabinet duct is shared by the tail and every distribution cable of the cabinet
        if not cabinet.undersize:
            i = self._place([cabinet.duct], [cabinet.load], d)
            if i < 0:
                extra = self._duct(mh, cabinet.id, cabinet.duct["length_m"], MAIN_DUCT_MM,
                                   cabinet.duct["owner"])
                cabinet.duct, cabinet.load = extra, [1.0, d * d]
                route[0] = extra["id"]
        else:
            cabinet.load[0] += 1
            cabinet.load[1] += d * d
        cable = self._cable(op, fibres, route)
        return bld, cable, length

    # ---------------------------------------------------------------- zone
    def build_zone(self, plan: ZonePlan) -> None:
        rng = self.rng
        self.code = plan.code
        self._counts: dict[str, int] = {}
        self.zone_id = plan.id
        self.lon0, self.lat0 = plan.lon, plan.lat
        self.m_per_lon = 111_320.0 * math.cos(math.radians(plan.lat))
        self.radius = plan.radius_m
        self.trunk_m = plan.exchange_offset_m
        self.zone_ops = [op for op, _ in plan.operators]
        zone: Doc = {"id": plan.id, "name": plan.name, "kind": plan.kind}
        if plan.district is not None:
            zone["district"] = plan.district
        self.zones.append(zone)
        self.tenants = list(plan.tenants)
        self.factory_no = 0
        self.zone_has_gpon = False

        ex_x, ex_y, _ = self._near(0.0, 0.0, 0.0, 0.25 * plan.radius_m)
        self.exchange = self._structure("EX", "exchange", ex_x, ex_y,
                                        f"Trạm viễn thông {plan.code}")
        n_streets = plan.street_count or max(2, min(12, math.ceil(plan.onts / 200)))
        self.streets = []
        base = rng.uniform(0, 2 * math.pi)
        for s in range(n_streets):
            street = _Street([(self.exchange, ex_x, ex_y)], [0.0])
            street.heading = base + 2 * math.pi * s / n_streets
            self.streets.append(street)
        self.next_street = 0

        # ONT quota per operator, largest remainder; sites go to the mobile operators
        quotas = _apportion(plan.onts, [share for _, share in plan.operators])
        sites = self._plan_sites(plan)
        fibre_sites: dict[str, list[Doc]] = {op: [] for op in self.zone_ops}
        for site in sites:
            if site.get("backhaul_ont") == "?":
                fibre_sites[site["operator"]].append(site)
        for (op, _), quota in zip(plan.operators, quotas, strict=True):
            if len(fibre_sites[op]) > quota:  # too few ONTs for the sites: drop fibre feeds
                for site in fibre_sites[op][quota:]:
                    del site["backhaul_ont"]
                fibre_sites[op] = fibre_sites[op][:quota]
            if quota:
                self._build_operator(plan, op, quota, fibre_sites[op])
        for site in sites:
            if site.get("backhaul_ont") == "?":  # pragma: no cover - every fed site is placed
                del site["backhaul_ont"]
        self.sites.extend(sites)

    def _plan_sites(self, plan: ZonePlan) -> list[Doc]:
        rng = self.rng
        mobile = [op for op in self.zone_ops if op in _MOBILE_OPERATORS] or list(_MOBILE_OPERATORS)
        gens = ["5g"] * plan.sites_5g + ["4g"] * plan.sites_4g
        rng.shuffle(gens)
        sites = []
        for n, gen in enumerate(gens, 1):
            op = mobile[0] if len(mobile) == 1 or rng.random() < 0.55 else mobile[1]
            site: Doc = {"id": f"SITE-{plan.code}-{n:03d}", "zone": plan.id, "operator": op,
                         "generation": gen}
            if op in self.zone_ops and (gen == "5g" or rng.random() < self.opt.p_4g_fibre):
                site["backhaul_ont"] = "?"  # placed when its operator's trees are built
            else:  # radio-linked site on its own pole
                x, y, _ = self._near(0.0, 0.0, 0.0, plan.radius_m)
                site["structure"] = self._structure("PL", "pole", x, y)
            sites.append(site)
        return sites

    def _build_operator(self, plan: ZonePlan, op: str, quota: int, sites: list[Doc]) -> None:
        rng = self.rng
        # positions (ONT ordinal within this operator) that are site backhaul ONTs
        positions = sorted(rng.sample(range(quota), len(sites))) if sites else []
        site_at = dict(zip(positions, sites, strict=True))
        made = 0
        olt: Doc | None = None
        port_no = 16
        cabinet: _Cabinet | None = None
        n_olt = 0
        while made < quota:
            if port_no == 16:
                n_olt += 1
                gpon = rng.random() < plan.gpon_share
                tech = "gpon" if gpon else "xgs-pon"
                olt_id = f"OLT-{plan.code}-{op.upper()}-{n_olt:02d}"
                uplink = (10 if rng.random() < 0.5 else 40) if gpon else (
                    100 if rng.random() < 0.85 else 40)
                # raised in finish() to carry the ports' Σ guaranteed, except two on purpose
                for why, zone, gbps in (("small", self.opt.small_uplink_zone, 9),
                                        ("oversold", self.opt.oversold_uplink_zone, 10)):
                    if (zone == plan.id and not gpon and why not in self.specials_done):
                        self.specials_done.add(why)
                        self.fixed_uplinks[olt_id] = why
                        uplink = gbps
                olt = {"id": olt_id, "operator": op, "structure": self.exchange,
                       "uplink_gbps": uplink,
                       "ports": [{"id": f"{olt_id}/1/{p}", "technology": tech,
                                  "optics_class": _CLASSES_BY_TECHNOLOGY[tech][0]}
                                 for p in range(1, 17)]}
                self.olts.append(olt)
                self.zone_has_gpon = self.zone_has_gpon or gpon
                port_no = 0
            assert olt is not None
            port = olt["ports"][port_no]
            port_no += 1
            if cabinet is None or cabinet.used >= cabinet.capacity:
                cabinet = self._new_cabinet(op)
            cabinet.used += 1
            made += self._tree(plan, op, port, cabinet, quota - made, made, site_at)

    # ---------------------------------------------------------------- one PON tree
    def _special(self, plan: ZonePlan, tech: str) -> str:
        """The demonstration network's one-off trees, each built once in its zone."""
        opt = self.opt
        coexistence = plan.id if opt.coexistence and self.zone_has_gpon else None
        for kind, zone, wanted in (("bus", opt.bus_zone, "xgs-pon"),
                                   ("coexistence", coexistence, "xgs-pon"),
                                   ("remote", opt.remote_gpon_zone, "gpon")):
            if zone == plan.id and tech == wanted and kind not in self.specials_done:
                self.specials_done.add(kind)
                return kind
        return ""

    def _split_plan(self, tech: str, fixed_db: float, feeder_m: float) -> tuple[int, int]:
        """A two-level split the technology's largest class can hold after this feeder."""
        r = self.rng.random()
        plans = _SPLIT_PLANS[tech]
        plan = plans[-1][0]
        for candidate, share in plans:
            if r < share:
                plan = candidate
                break
            r -= share
        _, att = _attenuation(tech)
        high = loss_window(tech, _CLASSES_BY_TECHNOLOGY[tech][-1])[1] - _PLAN_GUARD_DB
        dist_m, drop_m = _DOWNSTREAM_BOUND_M
        rest = (fixed_db + (feeder_m + dist_m + drop_m) / 1000 * att
                + _passive_db(2, 2) + _passive_db(2, 1))
        while True:
            a, b = plan
            smaller = _SMALLER[plan]
            loss = rest + (catalog.balanced_splitter_loss_db(a)
                           + catalog.balanced_splitter_loss_db(b))
            if loss <= high or smaller is None:
                return plan
            plan = smaller

    def _choose_class(self, tech: str, worst: float, best: float) -> str | None:
        """The smallest class whose window holds every ONT (now and then the next one up)."""
        fits = []
        for c in _CLASSES_BY_TECHNOLOGY[tech]:
            low, high = loss_window(tech, c)
            if best >= low + 0.1 and worst + _PLAN_GUARD_DB <= high:
                fits.append(c)
        if not fits:
            return None
        # operators buy a better class than needed now and then
        return fits[0] if len(fits) == 1 or self.rng.random() < 0.75 else fits[1]

    def _fan(self, ctx: _TreeCtx, cabinet: _Cabinet, parent: str, leg: str | None,
             in_db: tuple[float, float], b: int, k: int) -> None:
        """A building near ``cabinet``: its 1:b splitter fed from ``parent``, and k ONTs.

        ``in_db`` is the (low, high) loss at the parent's output; the ONTs' losses are
        appended to ``ctx.losses`` with their drops.
        """
        rng = self.rng
        opt = self.opt
        tech = ctx.tech
        tenant = self._tenant()
        bld, cable, route_len = self._building(cabinet, ctx.op, tenant)
        sp2 = self._id("SP")
        sp2_el: Doc = {"id": sp2, "structure": bld, "ratio": b}
        sp2_db = catalog.balanced_splitter_loss_db(b)
        if rng.random() < 0.2:  # a measured value on the acceptance sheet
            sp2_db = round(sp2_db - rng.uniform(0.3, 0.8), 1)
            sp2_el["insertion_loss_db"] = sp2_db
        self.splitters.append(sp2_el)
        dist_m = route_len * rng.uniform(1.02, 1.06) + rng.uniform(10.0, 30.0)
        dist: Doc = {"id": self._id("DL"), "from": parent, "to": sp2,
                     "length_m": round(dist_m, 1), "connectors": 2, "splices": 2,
                     "extra_loss_db": 0.0, "cables": [cable["id"]]}
        if leg is not None:
            dist["leg"] = leg
        self.links.append(dist)
        fixed = _passive_db(2, 2) + sp2_db
        mid = (in_db[0] + fixed + dist_m / 1000 * ctx.att[0],
               in_db[1] + fixed + dist_m / 1000 * ctx.att[1])
        bx = self.structures[-1]
        for _ in range(min(k, ctx.room - ctx.made)):
            ordinal = ctx.first + ctx.made
            ctx.made += 1
            site = ctx.site_at.get(ordinal)
            if site is not None:
                kind = "site_backhaul"
            else:
                r = rng.random()
                mix = opt.kind_mix
                kind = ("enterprise" if r < mix[0] else
                        "residential" if r < mix[0] + mix[1] else "iot_gateway")
            drop_m = rng.uniform(20.0, _DOWNSTREAM_BOUND_M[1])
            splices = 1 if rng.random() < 0.3 else 0
            ont_id = self._id("ONT")
            structure = bld
            if site is not None:
                site["backhaul_ont"] = ont_id
                if rng.random() < opt.p_site_on_roof:
                    site["structure"] = bld
                else:
                    px, py, _ = self._near(_x(bx, self), _y(bx, self), 20.0, 150.0)
                    structure = self._structure("PL", "pole", px, py)
                    site["structure"] = structure
                customer = (f"{site['operator'].upper()} {site['generation'].upper()} "
                            f"{site['id']}")
                service = self._site_service(site["generation"], tech)
            elif kind == "enterprise":
                customer = tenant or f"Doanh nghiệp {bld}"
                plan = _enterprise_plan(tech, rng.random())
                self.plan_of[ont_id] = plan
                service = _service(_ENTERPRISE_PLANS[tech][plan][1])
            elif kind == "residential":
                customer = f"Nhà ở công nhân {bld} – phòng {rng.randint(101, 520)}"
                down, up = self.srng.choice(_RESIDENTIAL_MAX[tech])
                service = _service(((0, 0, down, _BE, 1.0), (0, 0, up, _BE, 1.0)))
            else:
                customer = f"IoT {tenant or bld} – cổng {ctx.made}"
                service = self._iot_service(tech)
            self.onts.append({"id": ont_id, "structure": structure, "customer": customer,
                              "kind": kind, "service": service})
            drop = {"id": self._id("DR"), "from": sp2, "to": ont_id,
                    "length_m": round(drop_m, 1), "connectors": 2, "splices": splices,
                    "extra_loss_db": 0.0, "cables": []}
            self.links.append(drop)
            passive = _passive_db(2, splices)
            ctx.losses.append((drop, mid[0] + passive + drop_m / 1000 * ctx.att[0],
                               mid[1] + passive + drop_m / 1000 * ctx.att[1]))

    def _tree(self, plan: ZonePlan, op: str, port: Doc, cabinet: _Cabinet, room: int,
              first: int, site_at: dict[int, Doc]) -> int:
        """Build the tree of one port and sell its services; returns the ONTs made."""
        start = len(self.onts)
        made = self._build_tree(plan, op, port, cabinet, room, first, site_at)
        self._sell(port, self.onts[start:])
        return made

    # ---------------------------------------------------------------- services
    def _site_service(self, generation: str, tech: str) -> Doc:
        down, up = _SITE_PLANS[(generation, tech)]
        if (generation, tech) == ("5g", "xgs-pon"):
            assured = self.srng.choice((1000, 1500, 2000))
            down = up = (down[0], assured, down[2], down[3], down[4])
        return _service((down, up))

    def _iot_service(self, tech: str) -> Doc:
        up_fixed = self.srng.choice(_IOT_UP_FIXED[tech])
        down_max, up_max = _IOT_MAX[tech]
        return _service(((10, 0, down_max, _BE, 0.5), (up_fixed, 0, up_max, _BE, 0.5)))

    def _sell(self, port: Doc, onts: list[Doc]) -> None:
        """The admission check on one port's committed rates, or a deliberate overbooking.

        While Σ guaranteed exceeds the port's usable capacity in either direction, or Σ max
        downstream the contention limit, the enterprise ONT with the largest plan moves one
        plan down. A port that is within capacity and whose enterprise ONTs could be sold
        past it is a candidate for overbooking (not the coexistence port); every
        ``overbook_every``-th candidate (else one in ``1 / p_overbook``) is overbooked
        instead: its enterprise ONTs move one plan up, smallest first, until it is just over.
        """
        tech = port["technology"]
        model = catalog.technology(tech)
        cap_down, cap_up = model.capacity_down_mbps, model.capacity_up_mbps
        plans = _ENTERPRISE_PLANS[tech]
        # per plan: (guaranteed down, guaranteed up, max down)
        figures = [(d[0] + d[1], u[0] + u[1], d[2]) for _, (d, u) in plans]
        top = len(plans) - 1
        enterprise = [o for o in onts if o["id"] in self.plan_of]
        level = [self.plan_of[o["id"]] for o in enterprise]
        down = up = sold = 0.0  # Σ guaranteed and Σ max downstream of the other ONTs
        for ont in onts:
            if ont["id"] not in self.plan_of:
                g = _guaranteed(ont["service"])
                down += g[0]
                up += g[1]
                sold += ont["service"]["down"]["max_mbps"]
        for i in level:
            down += figures[i][0]
            up += figures[i][1]
            sold += figures[i][2]

        def move(k: int, step: int) -> None:
            nonlocal down, up, sold
            old, new = figures[level[k]], figures[level[k] + step]
            down += new[0] - old[0]
            up += new[1] - old[1]
            sold += new[2] - old[2]
            level[k] += step

        def over() -> bool:
            return down > cap_down or up > cap_up

        n = len(level)
        most_down = down + sum(figures[top][0] - figures[i][0] for i in level)
        most_up = up + sum(figures[top][1] - figures[i][1] for i in level)
        overbook = False
        if ((most_down > cap_down or most_up > cap_up) and not over()
                and "coexistence_loss_db" not in port):
            self.overbook_candidates += 1
            opt = self.opt
            if opt.overbook_every:
                overbook = self.overbook_candidates % opt.overbook_every == 0
            else:
                overbook = self.srng.random() < opt.p_overbook
        if overbook:
            self.overbooked.append(port["id"])
            while not over():
                move(min((k for k in range(n) if level[k] < top), key=level.__getitem__), +1)
        else:
            while over() or sold > _MAX_OVERSUBSCRIPTION * cap_down:
                movable = [k for k in range(n) if level[k] > 0]
                if not movable:  # the sites and the smallest plans alone exceed the port:
                    break  # a 5G site's backhaul on a busy GPON port (upstream), left over
                move(max(movable, key=level.__getitem__), -1)
        for ont, i in zip(enterprise, level, strict=True):
            if i != self.plan_of[ont["id"]]:
                self.plan_of[ont["id"]] = i
                ont["service"] = _service(plans[i][1])
        self.port_guaranteed[port["id"]] = (down, up)

    def _build_tree(self, plan: ZonePlan, op: str, port: Doc, cabinet: _Cabinet, room: int,
                    first: int, site_at: dict[int, Doc]) -> int:
        """Build the tree of one port; returns the number of ONTs made (≤ room)."""
        rng = self.rng
        opt = self.opt
        tech = port["technology"]
        self.trees += 1
        if opt.bad_every:
            bad = self.trees % opt.bad_every == opt.bad_every // 2
        else:
            bad = rng.random() < opt.p_bad_port
        bad_kind = ("long" if rng.random() < 0.5 else "split") if bad else ""
        special = "" if bad else self._special(plan, tech)
        ctx = _TreeCtx(op, tech, _attenuation(tech), room, first, site_at)
        street = cabinet.street
        trunk = self._trunk(street, op, cabinet.node)
        route_m = street.cum_m[cabinet.node] + cabinet.tail_m
        feeder_m = route_m * rng.uniform(1.03, 1.08) + rng.uniform(20.0, 80.0)
        if special == "remote":  # fed over a ring detour through a distant exchange
            feeder_m = rng.uniform(20_600.0, 21_200.0)
        elif special == "coexistence":  # overlaid on a GPON ODN through a CEx
            port["coexistence_loss_db"] = catalog.DEFAULT_COEXISTENCE_LOSS_DB
        elif special == "bus":
            return self._bus_tree(ctx, port, cabinet, trunk, feeder_m)
        fixed = _passive_db(2, 2 + int(feeder_m // 2000) + 1)  # pigtails, joints, tail joint
        fixed += port.get("coexistence_loss_db", 0.0)
        a, b = (8, 16) if bad_kind == "split" else self._split_plan(tech, fixed, feeder_m)
        sp1 = self._id("SP")
        self.splitters.append({"id": sp1, "structure": cabinet.id, "ratio": a})
        feeder = self._feeder(port, sp1, feeder_m, [trunk["id"], cabinet.tail["id"]])
        sp1_db = catalog.balanced_splitter_loss_db(a)
        at_sp1 = (fixed + feeder_m / 1000 * ctx.att[0], fixed + feeder_m / 1000 * ctx.att[1])
        out_sp1 = (at_sp1[0] + sp1_db, at_sp1[1] + sp1_db)
        # a failing tree is a small one: a few buildings wired beyond the design
        outputs = min(a, rng.randint(1, 3)) if bad else rng.randint(max(1, a // 2), a)
        if special == "remote":  # a small remote cluster, fully subscribed
            outputs = a
        used = 0
        for _ in range(outputs):
            if ctx.made >= room:
                break
            k = rng.randint(min(2, b), max(2, b // 2)) if bad else rng.randint(max(1, b // 2), b)
            if special == "remote":
                k = b
            self._fan(ctx, cabinet, sp1, None, out_sp1, b, k)
            used += 1
        worst = max(hi for _, _, hi in ctx.losses)
        best = min(lo for _, lo, _ in ctx.losses)
        chosen = self._choose_class(tech, worst, best)
        classes = _CLASSES_BY_TECHNOLOGY[tech]
        cls = chosen or classes[-1]
        if bad_kind == "split":  # planned for 1:64 on the largest class, spliced as 1:128
            cls = classes[-1]
        elif bad_kind == "long":
            # patched through a distant exchange: two more ODFs, four splices, some km
            low, high = loss_window(tech, cls)
            needed = high - best + rng.uniform(0.5, 2.0)
            patch = _passive_db(4, 4)
            km = max(needed - patch, 0.0) / ctx.att[0] + rng.uniform(0.5, 2.0)
            feeder["length_m"] = round(feeder_m + km * 1000, 1)
            feeder["connectors"] += 4
            feeder["splices"] += 4
        port["optics_class"] = cls
        low, high = loss_window(tech, cls)
        if not bad:
            for drop, lo, _ in ctx.losses:  # a crushed drop or a dirty connector, on purpose
                if rng.random() < opt.p_bad_drop:
                    # an ONT already past the window still gets some damage: never negative
                    damage = round(high - lo + rng.uniform(0.5, 3.0), 1)
                    drop["extra_loss_db"] = max(damage, 0.5)
            if used < a and ctx.made < room and first + ctx.made not in site_at:
                self._close_ont(ctx, cabinet, sp1, out_sp1, low)
        return ctx.made

    def _feeder(self, port: Doc, to: str, length_m: float, cables: list[str]) -> Doc:
        feeder = {"id": self._id("FL"), "from": port["id"], "to": to,
                  "length_m": round(length_m, 1), "connectors": 2,
                  "splices": 2 + int(length_m // 2000) + 1,
                  "extra_loss_db": 0.0, "cables": cables}
        self.links.append(feeder)
        return feeder

    def _close_ont(self, ctx: _TreeCtx, cabinet: _Cabinet, sp1: str,
                   out_sp1: tuple[float, float], class_low: float) -> None:
        """Maybe an ONT patched straight off the cabinet splitter: too close for the class."""
        rng = self.rng
        drop_m = rng.uniform(8.0, 40.0)
        loss = out_sp1[1] + _passive_db(2, 0) + drop_m / 1000 * ctx.att[1]
        if loss > class_low - 0.5:
            return
        limit = self.opt.close_limit
        if limit is not None and self.closes >= limit:
            return
        if rng.random() >= self.opt.p_close:
            return
        self.closes += 1
        ont_id = self._id("ONT")
        ctx.made += 1
        self.onts.append({"id": ont_id, "structure": cabinet.id,
                          "customer": f"Camera giao thông cạnh tủ {cabinet.id}",
                          "kind": "iot_gateway",
                          "service": self._iot_service(ctx.tech)})
        self.links.append({"id": self._id("DR"), "from": sp1, "to": ont_id,
                           "length_m": round(drop_m, 1), "connectors": 2, "splices": 0,
                           "extra_loss_db": 0.0, "cables": []})

    def _bus_tree(self, ctx: _TreeCtx, port: Doc, cabinet: _Cabinet, trunk: Doc,
                  feeder_m: float) -> int:
        """Two tap splitters in a daisy chain along one street (a bus), all within budget.

        port → TAP 90/10 in the cabinet; its tap leg feeds a 1:8 in a building nearby, its
        through leg runs on down the street to a TAP 70/30 in a second cabinet, whose tap
        leg feeds a 1:8 and whose through leg a 1:16.
        """
        rng = self.rng
        street = cabinet.street
        tap1 = self._id("SP")
        self.splitters.append({"id": tap1, "structure": cabinet.id, "ratio": 2,
                               "through_percent": 90})
        feeder = self._feeder(port, tap1, feeder_m, [trunk["id"], cabinet.tail["id"]])
        at_tap1 = _passive_db(feeder["connectors"], feeder["splices"])
        at1 = (at_tap1 + feeder_m / 1000 * ctx.att[0], at_tap1 + feeder_m / 1000 * ctx.att[1])
        through1, tap1_db = catalog.tap_splitter_loss_db(90)
        self._fan(ctx, cabinet, tap1, "tap", (at1[0] + tap1_db, at1[1] + tap1_db), 8,
                  rng.randint(5, 8))
        down = self._new_cabinet(ctx.op, street)
        down.used = down.capacity  # the bus's own cabinet
        trunk = self._trunk(street, ctx.op, down.node)
        tap2 = self._id("SP")
        self.splitters.append({"id": tap2, "structure": down.id, "ratio": 2,
                               "through_percent": 70})
        hop_m = (street.cum_m[down.node] - street.cum_m[cabinet.node] + cabinet.tail_m
                 + down.tail_m) * rng.uniform(1.03, 1.06) + rng.uniform(20.0, 40.0)
        self.links.append({"id": self._id("DL"), "from": tap1, "to": tap2,
                           "length_m": round(hop_m, 1), "connectors": 2, "splices": 2,
                           "extra_loss_db": 0.0, "leg": "through",
                           "cables": [cabinet.tail["id"], trunk["id"], down.tail["id"]]})
        fixed = through1 + _passive_db(2, 2)
        at2 = (at1[0] + fixed + hop_m / 1000 * ctx.att[0],
               at1[1] + fixed + hop_m / 1000 * ctx.att[1])
        through2, tap2_db = catalog.tap_splitter_loss_db(70)
        self._fan(ctx, down, tap2, "tap", (at2[0] + tap2_db, at2[1] + tap2_db), 8,
                  rng.randint(5, 8))
        self._fan(ctx, down, tap2, "through", (at2[0] + through2, at2[1] + through2), 16,
                  rng.randint(10, 16))
        worst = max(hi for _, _, hi in ctx.losses)
        best = min(lo for _, lo, _ in ctx.losses)
        cls = self._choose_class(ctx.tech, worst, best)
        assert cls is not None, "the bus is designed within the budget"
        port["optics_class"] = cls
        return ctx.made

    def _tenant(self) -> str | None:
        if self.tenants:
            return self.tenants.pop(0)
        if not self.opt.named:
            return None
        self.factory_no += 1
        return f"Nhà máy lô {'ABCDEFGHK'[self.factory_no % 9]}{self.factory_no}"

    # ---------------------------------------------------------------- finish
    def finish(self) -> None:
        """Narrow a handful of flagged cabinet ducts so that they are overfull on purpose,
        and size every OLT's uplink for its ports' Σ guaranteed (but the deliberate ones)."""
        for olt in self.olts:
            if olt["id"] in self.fixed_uplinks:
                continue
            demand = [self.port_guaranteed.get(p["id"], (0.0, 0.0)) for p in olt["ports"]]
            need = max(sum(g[0] for g in demand), sum(g[1] for g in demand))
            need_gbps = need / 1000.0 / _UPLINK_LOAD
            size = next((s for s in _UPLINK_SIZES_GBPS if s >= need_gbps),
                        100 * math.ceil(need_gbps / 100))
            olt["uplink_gbps"] = max(olt["uplink_gbps"], size)
        for duct, (n, s) in self.undersized:
            for diameter in UNDERSIZED_DUCT_MM:
                if s / diameter**2 > catalog.max_fill_ratio(int(n)):
                    duct["inner_diameter_mm"] = diameter
                    break

    def document(self, name: str) -> Doc:
        return {
            "format": "ponmodel/1",
            "name": name,
            "operators": [dict(op) for op in OPERATORS],
            "zones": self.zones,
            "structures": self.structures,
            "ducts": self.ducts,
            "cables": self.cables,
            "olts": self.olts,
            "splitters": self.splitters,
            "onts": self.onts,
            "links": self.links,
            "sites": self.sites,
        }


def _x(structure: Doc, b: _Builder) -> float:
    return float((structure["lon"] - b.lon0) * b.m_per_lon)


def _y(structure: Doc, b: _Builder) -> float:
    return float((structure["lat"] - b.lat0) * 111_320.0)


def _apportion(total: int, shares: Sequence[float]) -> list[int]:
    """Split ``total`` by ``shares`` with the largest-remainder method.

    Examples
    --------
    >>> _apportion(10, [0.4, 0.4, 0.2])
    [4, 4, 2]
    >>> sum(_apportion(7, [1, 1, 1]))
    7
    """
    weights = np.asarray(shares, dtype=float)
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    for i in order[: total - int(counts.sum())]:
        counts[i] += 1
    return [int(c) for c in counts]


# --------------------------------------------------------------------------- synthetic

_KINDS = ("high_tech_park", "industrial_zone", "industrial_cluster")
_SUFFIX = {"high_tech_park": "htp", "industrial_zone": "iz", "industrial_cluster": "ic"}
_KIND_VI = {"high_tech_park": "Khu công nghệ cao", "industrial_zone": "Khu công nghiệp",
            "industrial_cluster": "Cụm công nghiệp"}


def generate_network(onts: int, seed: int = 0, *, zones: int | None = None) -> Doc:
    """A valid synthetic ``ponmodel/1`` document with exactly ``onts`` ONTs.

    Parameters
    ----------
    onts : int
        Number of ONTs, at least 1 (site backhaul ONTs included).
    seed : int, default 0
        Seed of the generator; the same seed gives the same document, byte for byte.
    zones : int, optional
        Number of zones; by default one per 4,000 ONTs. Zone kinds cycle through
        high-tech park, industrial zone, industrial cluster.

    Returns
    -------
    dict
        The document: plain lists of plain dicts, ready for ``json.dumps``.

    Notes
    -----
    About 96 % of the ONTs pass every budget check with the catalogue's worst-case figures
    (3 dB margin); the others fail on purpose (see the module's docstring). About one ONT
    in twenty is a mobile site's backhaul (one site in eight is 5G). About 94 % of the
    ports in use are admissible both ways (one port in eleven that could be overbooked is,
    on purpose); the first XGS-PON OLT of the first zone has a 9 Gbit/s uplink, every other
    uplink carries its ports' Σ guaranteed. A million ONTs take about 13 seconds.

    Examples
    --------
    >>> doc = generate_network(200, seed=7, zones=2)
    >>> len(doc["onts"]), len(doc["zones"])
    (200, 2)
    >>> sorted({p["technology"] for o in doc["olts"] for p in o["ports"]})
    ['gpon', 'xgs-pon']
    """
    if onts < 1:
        msg = f"onts must be >= 1, got {onts}"
        raise ValueError(msg)
    n_zones = zones if zones is not None else max(1, math.ceil(onts / 4000))
    if not 1 <= n_zones <= onts:
        msg = f"zones must be between 1 and onts ({onts}), got {n_zones}"
        raise ValueError(msg)
    # millions of small dicts and no cycles: the cyclic GC would only rescan them (~2x time)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(onts, seed, n_zones)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(onts: int, seed: int, n_zones: int) -> Doc:
    rng = random.Random(seed)
    builder = _Builder(rng, _Options(named=onts <= 100_000, small_uplink_zone="z001-htp"),
                       random.Random(f"services-{seed}"))
    per_zone = _apportion(onts, [1.0] * n_zones)
    side = math.ceil(math.sqrt(n_zones))
    width = max(3, len(str(n_zones)))
    for z, count in enumerate(per_zone):
        kind = _KINDS[z % 3]
        code = f"Z{z + 1:0{width}d}"
        sites = round(count / 20)
        sites_5g = round(sites / 8)
        plan = ZonePlan(
            id=f"{code.lower()}-{_SUFFIX[kind]}",
            name=f"{_KIND_VI[kind]} {code}",
            kind=kind,
            district=None,
            # a grid of zones around Hanoi, 4 km apart
            lon=round(105.60 + 0.04 * (z % side) + rng.uniform(-0.01, 0.01), 6),
            lat=round(20.80 + 0.036 * (z // side) + rng.uniform(-0.01, 0.01), 6),
            code=code,
            onts=count,
            sites_4g=sites - sites_5g,
            sites_5g=sites_5g,
            radius_m=1500.0,
            exchange_offset_m=(800.0, 3500.0),
        )
        builder.build_zone(plan)
    builder.finish()
    return builder.document(f"Synthetic network: {onts} ONTs, seed {seed}")


# --------------------------------------------------------------------------- Hanoi

_ALL3 = (("viettel", 0.4), ("vnpt", 0.35), ("fpt", 0.25))

HANOI_ZONES: tuple[ZonePlan, ...] = (
    # high-tech parks (hanoi-zones.md table A, rows 1-2)
    ZonePlan("hoa-lac-htp", "Khu công nghệ cao Hòa Lạc", "high_tech_park", "Thạch Thất",
             105.5306, 21.0087, "HL", 520, _ALL3, 25, 5, 0.1, 1800.0,
             ("Trường Đại học FPT", "Hanwha Aero Engines", "VinSmart (Vingroup)",
              "Viettel – Trung tâm R&D Hòa Lạc", "VNPT – Trung tâm dữ liệu Hòa Lạc")),
    ZonePlan("hanoi-biotech-htp", "Khu công nghệ cao sinh học Hà Nội", "high_tech_park",
             "Bắc Từ Liêm", 105.7540, 21.0680, "SH", 30, (("viettel", 0.5), ("vnpt", 0.5)),
             3, 0, 0.0, 800.0, ("Pacific Land – văn phòng dự án",)),
    # industrial zones (table A)
    ZonePlan("thang-long-iz", "Khu công nghiệp Thăng Long", "industrial_zone", "Đông Anh",
             105.7815, 21.1234, "TL", 380, _ALL3, 18, 4, 0.25, 1000.0,
             ("Canon Vietnam (lô A1)", "Panasonic Vietnam (lô J1–J2)", "Daiwa (lô K8)")),
    ZonePlan("noi-bai-iz", "Khu công nghiệp Nội Bài", "industrial_zone", "Sóc Sơn",
             105.8129, 21.2327, "NB", 150, _ALL3, 11, 1, 1.0, 800.0,
             ("Công ty Phát triển Nội Bài",)),
    ZonePlan("quang-minh-iz", "Khu công nghiệp Quang Minh", "industrial_zone", "Mê Linh",
             105.7660, 21.1928, "QM", 260, _ALL3, 14, 2, 0.3, 1000.0),
    ZonePlan("nam-thang-long-iz", "Khu công nghiệp Nam Thăng Long", "industrial_zone",
             "Bắc Từ Liêm", 105.7618, 21.0826, "NTL", 90, _ALL3, 7, 1, 0.2, 600.0,
             ("Nhà máy in Viettel (lô B2-3-2)",)),
    ZonePlan("thach-that-quoc-oai-iz", "Khu công nghiệp Thạch Thất – Quốc Oai",
             "industrial_zone", "Thạch Thất", 105.6323, 21.0070, "TQ", 170, _ALL3, 10, 2, 0.2,
             900.0, ("Meiko Electronics Vietnam (lô CN9)",)),
    ZonePlan("phu-nghia-iz", "Khu công nghiệp Phú Nghĩa", "industrial_zone", "Chương Mỹ",
             105.6703, 20.9292, "PN", 230, _ALL3, 12, 2, 0.3, 900.0,
             ("C.P. Vietnam – nhà máy chế biến thịt", "Dược phẩm Phúc Thái")),
    ZonePlan("sai-dong-b-iz", "Khu công nghiệp Sài Đồng B", "industrial_zone", "Long Biên",
             105.9084, 21.0314, "SDB", 140, _ALL3, 10, 0, 1.0, 700.0,
             ("Sumi-Hanel", "Hanel")),
    ZonePlan("nam-ha-noi-iz", "Khu công nghiệp hỗ trợ Nam Hà Nội", "industrial_zone",
             "Phú Xuyên", 105.9148, 20.7088, "NHN", 110, _ALL3, 7, 1, 0.1, 900.0,
             ("Onaga", "TOMECO", "MBI")),
    # industrial clusters (table B)
    ZonePlan("nguyen-khe-ic", "Cụm công nghiệp Nguyên Khê", "industrial_cluster", "Đông Anh",
             105.8543, 21.1752, "NK", 120, _ALL3, 8, 1, 0.3, 600.0),
    ZonePlan("tu-liem-ic", "Cụm công nghiệp Từ Liêm", "industrial_cluster", "Bắc Từ Liêm",
             105.7407, 21.0457, "TLI", 200, _ALL3, 8, 2, 0.3, 600.0),
    ZonePlan("mai-dinh-ic", "Cụm công nghiệp Mai Đình", "industrial_cluster", "Sóc Sơn",
             105.8433, 21.2200, "MD", 60, _ALL3, 5, 0, 0.0, 600.0),
    ZonePlan("lien-phuong-ic", "Cụm công nghiệp Liên Phương", "industrial_cluster",
             "Thường Tín", 105.8825, 20.8734, "LP", 60, _ALL3, 5, 0, 1.0, 400.0),
    ZonePlan("ngoc-liep-ic", "Cụm công nghiệp Ngọc Liệp", "industrial_cluster", "Quốc Oai",
             105.6063, 21.0031, "NL", 70, (("viettel", 0.5), ("vnpt", 0.5)), 6, 0, 1.0, 500.0),
    ZonePlan("dong-la-ic", "Cụm công nghiệp Đông La", "industrial_cluster", "Hoài Đức",
             105.7347, 20.9615, "DL", 50, (("viettel", 0.5), ("vnpt", 0.5)), 4, 0, 0.3, 400.0),
    ZonePlan("quat-dong-2-ic", "Cụm công nghiệp Quất Động 2", "industrial_cluster",
             "Thường Tín", 105.8650, 20.8435, "QD", 70, _ALL3, 5, 1, 0.3, 500.0),
)
"""The demonstration zones (``../shared/reference/hanoi-zones.md``): ONTs, sites, GPON share.

Sites follow Plan 310/KH-UBND's baseline: 180 mobile sites in the zones, 22 of them 5G;
six zones have no 5G site yet. Nội Bài, Sài Đồng B, Liên Phương and Ngọc Liệp are
GPON-only (the oldest plant), so upgrade readiness has something to report.
"""

HANOI_SEED = 310
"""Seed of the demonstration network (after Plan 310/KH-UBND)."""


def hanoi_network() -> Doc:
    """The demonstration network of Hanoi's parks, zones and clusters (``fixtures/hanoi.json``).

    Returns
    -------
    dict
        A valid ``ponmodel/1`` document: 17 zones, the operators ``vnpt``, ``viettel``,
        ``fpt`` and the zone board ``hhtip``, about 2,700 ONTs and 180 mobile sites (22 5G).

    Notes
    -----
    About 96 % of the ONTs pass their budget; the others fail on purpose: every 18th tree
    is a deliberate failure (an over-long patched feeder or a 1:128 split), about one drop in
    a hundred is damaged, two ONTs are patched straight off a cabinet splitter (too close),
    and Liên Phương's first GPON port is fed over a 21 km ring detour (beyond the 20 km
    reach; its budget closes). Thăng Long has a bus of two tap splitters (90/10 then 70/30)
    along one street, and the first XGS-PON port in a zone that has GPON OLTs runs over a
    GPON ODN through a coexistence element (``coexistence_loss_db``); both within budget.

    Capacity: every ninth port that could be overbooked is (sold past the admission check),
    and two GPON ports carrying a 5G site's backhaul are over upstream: 153 of the 163
    ports in use (93.9 %) are admissible both ways. Nam Thăng Long's first XGS-PON OLT has
    a 9 Gbit/s uplink (its ONTs are not 10G-symmetric for that reason alone) and Quang
    Minh's first one kept a 10GE uplink that its ports' Σ guaranteed has outgrown; every
    other uplink carries its ports' Σ guaranteed.

    Examples
    --------
    >>> doc = hanoi_network()
    >>> [z["id"] for z in doc["zones"]][:3]
    ['hoa-lac-htp', 'hanoi-biotech-htp', 'thang-long-iz']
    >>> sum(s["generation"] == "5g" for s in doc["sites"]), len(doc["sites"])
    (22, 180)
    """
    options = _Options(bad_every=18, p_bad_drop=0.012, p_undersized_cabinet_duct=0.12,
                       p_close=0.3, close_limit=2, bus_zone="thang-long-iz",
                       coexistence=True, remote_gpon_zone="lien-phuong-ic",
                       overbook_every=9, small_uplink_zone="nam-thang-long-iz",
                       oversold_uplink_zone="quang-minh-iz")
    builder = _Builder(random.Random(HANOI_SEED), options,
                       random.Random(f"services-{HANOI_SEED}"))
    for plan in HANOI_ZONES:
        builder.build_zone(plan)
    builder.finish()
    return builder.document(
        "Hanoi high-tech parks, industrial zones and clusters (demonstration network)")


# --------------------------------------------------------------------------- small fixtures


def _svc(fixed: float, assured: float, maximum: float, additional: str) -> Doc:
    d = {"fixed_mbps": fixed, "assured_mbps": assured, "max_mbps": maximum,
         "additional": additional, "weight": 1.0}
    return {"down": dict(d), "up": dict(d)}


def _tiny() -> Doc:
    """One zone, one OLT with one XGS-PON port, one 1:8 splitter, three ONTs, one site."""
    return {
        "format": "ponmodel/1",
        "name": "tiny",
        "operators": [{"id": "vnpt", "name": "VNPT Hà Nội"}],
        "zones": [{"id": "thang-long-iz", "name": "Khu công nghiệp Thăng Long",
                   "kind": "industrial_zone", "district": "Đông Anh"}],
        "structures": [
            {"id": "EX-01", "zone": "thang-long-iz", "kind": "exchange",
             "lon": 105.7790, "lat": 21.1220},
            {"id": "MH-01", "zone": "thang-long-iz", "kind": "manhole",
             "lon": 105.7805, "lat": 21.1230},
            {"id": "CAB-01", "zone": "thang-long-iz", "kind": "cabinet",
             "lon": 105.7815, "lat": 21.1234},
            {"id": "BLD-01", "zone": "thang-long-iz", "kind": "building",
             "lon": 105.7825, "lat": 21.1240, "name": "Canon Vietnam (lô A1)"},
        ],
        "ducts": [
            {"id": "DU-01", "from": "EX-01", "to": "MH-01", "length_m": 210.0,
             "inner_diameter_mm": 100.0, "owner": "vnpt"},
            {"id": "DU-02", "from": "MH-01", "to": "CAB-01", "length_m": 120.0,
             "inner_diameter_mm": 100.0, "owner": "vnpt"},
        ],
        "cables": [{"id": "CB-01", "operator": "vnpt", "fibre_count": 24,
                    "outer_diameter_mm": catalog.cable_outer_diameter_mm(24),
                    "ducts": ["DU-01", "DU-02"]}],
        "olts": [{"id": "OLT-01", "operator": "vnpt", "structure": "EX-01", "uplink_gbps": 100,
                  "ports": [{"id": "OLT-01/1/1", "technology": "xgs-pon",
                             "optics_class": "N1"}]}],
        "splitters": [{"id": "SP-01", "structure": "CAB-01", "ratio": 8}],
        "onts": [
            {"id": "ONT-01", "structure": "BLD-01", "customer": "Canon Vietnam (lô A1)",
             "kind": "enterprise", "service": _svc(0, 1000, 10000, "non_assured")},
            {"id": "ONT-02", "structure": "BLD-01", "customer": "Nhà ở công nhân – phòng 101",
             "kind": "residential", "service": _svc(0, 0, 1000, "best_effort")},
            {"id": "ONT-03", "structure": "BLD-01", "customer": "Viettel 5G SITE-01",
             "kind": "site_backhaul", "service": _svc(500, 2000, 10000, "non_assured")},
        ],
        "links": [
            # inside the N1 window (14-26 dB) with the catalogue's figures: 1.2 fibre
            # + 2.25 connectors + 1.2 splices + 10.7 splitter + 1.56 drop = 16.9 dB
            {"id": "FL-01", "from": "OLT-01/1/1", "to": "SP-01", "length_m": 3000.0,
             "connectors": 3, "splices": 4, "cables": ["CB-01"]},
            {"id": "DR-01", "from": "SP-01", "to": "ONT-01", "length_m": 150.0,
             "connectors": 2, "splices": 0},
            {"id": "DR-02", "from": "SP-01", "to": "ONT-02", "length_m": 160.0,
             "connectors": 2, "splices": 0},
            {"id": "DR-03", "from": "SP-01", "to": "ONT-03", "length_m": 170.0,
             "connectors": 2, "splices": 0},
        ],
        "sites": [{"id": "SITE-01", "zone": "thang-long-iz", "operator": "vnpt",
                   "generation": "5g", "structure": "BLD-01", "backhaul_ont": "ONT-03"}],
    }


def _two_operators() -> Doc:
    """Two operators' cables share one zone-board duct, each feeding its own tree."""
    z = "sai-dong-b-iz"
    doc: Doc = {
        "format": "ponmodel/1",
        "name": "two operators in one shared duct",
        "operators": [{"id": "vnpt", "name": "VNPT Hà Nội"},
                      {"id": "viettel", "name": "Viettel Hà Nội"},
                      {"id": "hhtip", "name": OPERATORS[3]["name"]}],
        "zones": [{"id": z, "name": "Khu công nghiệp Sài Đồng B", "kind": "industrial_zone",
                   "district": "Long Biên"}],
        "structures": [
            {"id": "EX-01", "zone": z, "kind": "exchange", "lon": 105.9070, "lat": 21.0300},
            {"id": "MH-01", "zone": z, "kind": "manhole", "lon": 105.9084, "lat": 21.0314},
            {"id": "CAB-01", "zone": z, "kind": "cabinet", "lon": 105.9095, "lat": 21.0320},
            {"id": "CAB-02", "zone": z, "kind": "cabinet", "lon": 105.9090, "lat": 21.0305},
            {"id": "BLD-01", "zone": z, "kind": "building", "lon": 105.9105, "lat": 21.0325,
             "name": "Sumi-Hanel"},
            {"id": "BLD-02", "zone": z, "kind": "building", "lon": 105.9098, "lat": 21.0298,
             "name": "Hanel"},
        ],
        "ducts": [
            {"id": "DU-01", "from": "EX-01", "to": "MH-01", "length_m": 240.0,
             "inner_diameter_mm": 100.0, "owner": "hhtip"},
            {"id": "DU-02", "from": "MH-01", "to": "CAB-01", "length_m": 150.0,
             "inner_diameter_mm": 100.0, "owner": "vnpt"},
            {"id": "DU-03", "from": "MH-01", "to": "CAB-02", "length_m": 130.0,
             "inner_diameter_mm": 100.0, "owner": "viettel"},
        ],
        "cables": [
            {"id": "CB-01", "operator": "vnpt", "fibre_count": 48,
             "outer_diameter_mm": catalog.cable_outer_diameter_mm(48),
             "ducts": ["DU-01", "DU-02"]},
            {"id": "CB-02", "operator": "viettel", "fibre_count": 96,
             "outer_diameter_mm": catalog.cable_outer_diameter_mm(96),
             "ducts": ["DU-01", "DU-03"]},
        ],
        "olts": [
            {"id": "OLT-VNPT-01", "operator": "vnpt", "structure": "EX-01", "uplink_gbps": 100,
             "ports": [{"id": "OLT-VNPT-01/1/1", "technology": "xgs-pon",
                        "optics_class": "N1"}]},
            {"id": "OLT-VTL-01", "operator": "viettel", "structure": "EX-01",
             "uplink_gbps": 100,
             "ports": [{"id": "OLT-VTL-01/1/1", "technology": "xgs-pon",
                        "optics_class": "N2"}]},
        ],
        "splitters": [{"id": "SP-01", "structure": "CAB-01", "ratio": 16},
                      {"id": "SP-02", "structure": "CAB-02", "ratio": 32}],
        "onts": [], "links": [], "sites": [],
    }
    doc["links"] += [
        # 1:16 and 1:32 splits: 18.7 dB on N1 (14-26) and 22.0 dB on N2 (16-28)
        {"id": "FL-01", "from": "OLT-VNPT-01/1/1", "to": "SP-01", "length_m": 1450.0,
         "connectors": 2, "splices": 3, "cables": ["CB-01"]},
        {"id": "FL-02", "from": "OLT-VTL-01/1/1", "to": "SP-02", "length_m": 1430.0,
         "connectors": 2, "splices": 3, "cables": ["CB-02"]},
    ]
    for n, (sp, bld, who) in enumerate((("SP-01", "BLD-01", "Sumi-Hanel"),
                                        ("SP-01", "BLD-01", "Sumi-Hanel"),
                                        ("SP-02", "BLD-02", "Hanel"),
                                        ("SP-02", "BLD-02", "Hanel")), 1):
        doc["onts"].append({"id": f"ONT-0{n}", "structure": bld, "customer": who,
                            "kind": "enterprise", "service": _svc(0, 1000, 10000, "non_assured")})
        doc["links"].append({"id": f"DR-0{n}", "from": sp, "to": f"ONT-0{n}",
                             "length_m": 100.0 + 20 * n, "connectors": 2, "splices": 1})
    return doc


def _gpon_legacy() -> Doc:
    """A GPON B+ port: 1:4 in a cabinet, two 1:8 in buildings, four ONTs."""
    z = "lien-phuong-ic"
    doc: Doc = {
        "format": "ponmodel/1",
        "name": "GPON legacy tree",
        "operators": [{"id": "viettel", "name": "Viettel Hà Nội"}],
        "zones": [{"id": z, "name": "Cụm công nghiệp Liên Phương", "kind": "industrial_cluster",
                   "district": "Thường Tín"}],
        "structures": [
            {"id": "EX-01", "zone": z, "kind": "exchange", "lon": 105.8810, "lat": 20.8720},
            {"id": "CAB-01", "zone": z, "kind": "cabinet", "lon": 105.8825, "lat": 20.8734},
            {"id": "BLD-01", "zone": z, "kind": "building", "lon": 105.8835, "lat": 20.8740},
            {"id": "BLD-02", "zone": z, "kind": "building", "lon": 105.8818, "lat": 20.8745},
        ],
        "ducts": [{"id": "DU-01", "from": "EX-01", "to": "CAB-01", "length_m": 260.0,
                   "inner_diameter_mm": 100.0, "owner": "viettel"}],
        "cables": [{"id": "CB-01", "operator": "viettel", "fibre_count": 12,
                    "outer_diameter_mm": catalog.cable_outer_diameter_mm(12),
                    "ducts": ["DU-01"]}],
        "olts": [{"id": "OLT-01", "operator": "viettel", "structure": "EX-01", "uplink_gbps": 10,
                  "ports": [{"id": "OLT-01/1/1", "technology": "gpon", "optics_class": "B+"}]}],
        "splitters": [{"id": "SP-01", "structure": "CAB-01", "ratio": 4},
                      {"id": "SP-02", "structure": "BLD-01", "ratio": 8},
                      {"id": "SP-03", "structure": "BLD-02", "ratio": 8}],
        "onts": [],
        "links": [
            # 1:32 on B+ (window 13-25 dB): 24.6-24.7 dB, just inside, as GPON plant often is
            {"id": "FL-01", "from": "OLT-01/1/1", "to": "SP-01", "length_m": 1800.0,
             "connectors": 2, "splices": 3, "cables": ["CB-01"]},
            {"id": "DL-01", "from": "SP-01", "to": "SP-02", "length_m": 200.0,
             "connectors": 2, "splices": 1},
            {"id": "DL-02", "from": "SP-01", "to": "SP-03", "length_m": 240.0,
             "connectors": 2, "splices": 1},
        ],
        "sites": [],
    }
    for n, (sp, bld) in enumerate((("SP-02", "BLD-01"), ("SP-02", "BLD-01"),
                                   ("SP-03", "BLD-02"), ("SP-03", "BLD-02")), 1):
        doc["onts"].append({"id": f"ONT-0{n}", "structure": bld, "customer": f"Xưởng {n}",
                            "kind": "enterprise", "service": _svc(0, 300, 1000, "non_assured")})
        doc["links"].append({"id": f"DR-0{n}", "from": sp, "to": f"ONT-0{n}",
                             "length_m": 60.0 + 15 * n, "connectors": 2})
    return doc


def _invalid(mutate: Callable[[Doc], None]) -> Doc:
    doc = _tiny()
    mutate(doc)
    doc["name"] = "tiny, with one problem"
    return doc


def _by_id(items: list[Doc], ident: str) -> Doc:
    return next(e for e in items if e["id"] == ident)


def _invalid_cases() -> dict[str, Doc]:
    """One document per rule of the spec's "What makes a document invalid", one problem each."""
    def missing_reference(d: Doc) -> None:
        _by_id(d["onts"], "ONT-02")["structure"] = "BLD-99"

    def wrong_kind_reference(d: Doc) -> None:
        d["sites"][0]["backhaul_ont"] = "SP-01"  # a splitter, not an ONT

    def ont_fed_twice(d: Doc) -> None:
        d["links"].append({"id": "DR-04", "from": "SP-01", "to": "ONT-01", "length_m": 90.0,
                           "connectors": 2})

    def cycle(d: Doc) -> None:
        # the smallest cycle: a patch cord from a splitter's output back into its input
        # (a longer cycle is reported once per element on it)
        d["splitters"].append({"id": "SP-02", "structure": "CAB-01", "ratio": 2})
        d["links"].append({"id": "DL-01", "from": "SP-02", "to": "SP-02", "length_m": 5.0})

    def unreached_splitter(d: Doc) -> None:
        d["splitters"].append({"id": "SP-02", "structure": "CAB-01", "ratio": 8})

    def link_out_of_ont(d: Doc) -> None:
        d["links"].append({"id": "DR-04", "from": "ONT-01", "to": "ONT-04", "length_m": 10.0})
        d["onts"].append({"id": "ONT-04", "structure": "BLD-01", "kind": "iot_gateway",
                          "service": _svc(0, 0, 100, "best_effort")})

    def port_two_links(d: Doc) -> None:
        d["splitters"].append({"id": "SP-02", "structure": "CAB-01", "ratio": 8})
        d["links"].append({"id": "FL-02", "from": "OLT-01/1/1", "to": "SP-02",
                           "length_m": 400.0, "connectors": 2, "cables": ["CB-01"]})

    def splitter_over_ratio(d: Doc) -> None:
        d["splitters"][0]["ratio"] = 2  # three drops leave it

    def zero_length(d: Doc) -> None:
        _by_id(d["links"], "DR-02")["length_m"] = 0.0

    def negative_diameter(d: Doc) -> None:
        # NaN cannot be written in JSON; a negative diameter is the same rule's other half
        d["cables"][0]["outer_diameter_mm"] = -d["cables"][0]["outer_diameter_mm"]

    def max_below_guaranteed(d: Doc) -> None:
        _by_id(d["onts"], "ONT-03")["service"]["up"]["max_mbps"] = 2000.0  # < 500 + 2000

    def class_not_of_technology(d: Doc) -> None:
        d["olts"][0]["ports"][0]["optics_class"] = "B+"  # a GPON class on an XGS-PON port

    def route_not_adjacent(d: Doc) -> None:
        d["ducts"].append({"id": "DU-03", "from": "CAB-01", "to": "BLD-01", "length_m": 90.0,
                           "inner_diameter_mm": 50.0, "owner": "vnpt"})
        d["cables"][0]["ducts"] = ["DU-01", "DU-03"]  # EX-01–MH-01, then CAB-01–BLD-01

    def innerduct_wider(d: Doc) -> None:
        d["ducts"].append({"id": "DU-03", "from": "EX-01", "to": "MH-01", "length_m": 210.0,
                           "inner_diameter_mm": 100.0, "owner": "vnpt", "within": "DU-01",
                           "outer_diameter_mm": 110.0})

    cases: dict[str, Callable[[Doc], None]] = {fn.__name__: fn for fn in (
        missing_reference,
        wrong_kind_reference,
        ont_fed_twice,
        cycle,
        unreached_splitter,
        link_out_of_ont,
        port_two_links,
        splitter_over_ratio,
        zero_length,
        negative_diameter,
        max_below_guaranteed,
        class_not_of_technology,
        route_not_adjacent,
        innerduct_wider,
    )}
    return {f"invalid_{name}": _invalid(fn) for name, fn in cases.items()}


def small_fixtures() -> dict[str, Doc]:
    """The small focused documents of ``fixtures/``, by file stem.

    Examples
    --------
    >>> names = small_fixtures()
    >>> names["tiny"]["splitters"][0]["ratio"], len(names["tiny"]["onts"])
    (8, 3)
    >>> sum(name.startswith("invalid_") for name in names)
    14
    """
    return {
        "tiny": _tiny(),
        "two_operators_shared_duct": _two_operators(),
        "gpon_legacy": _gpon_legacy(),
        **_invalid_cases(),
    }


def fixture_documents() -> dict[str, Doc]:
    """Every generated file of ``fixtures/``, by stem: the small ones and ``hanoi``."""
    return {**small_fixtures(), "hanoi": hanoi_network()}


def dumps(doc: Doc) -> str:
    """The fixtures' JSON text: indent 1, UTF-8 characters kept, a final newline.

    Examples
    --------
    >>> dumps({"name": "Hòa Lạc"})
    '{\\n "name": "Hòa Lạc"\\n}\\n'
    """
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def write_fixtures(directory: str | Path) -> list[Path]:
    """Write every generated fixture into ``directory``; returns the paths written."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, doc in fixture_documents().items():
        path = out / f"{stem}.json"
        path.write_text(dumps(doc), encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":  # python -m ponmodel.generate [fixtures-dir]
    for written in write_fixtures(sys.argv[1] if len(sys.argv) > 1 else "fixtures"):
        print(written)
