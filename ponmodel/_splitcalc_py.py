"""Pure-Python twin of ``ponmodel._splitcalc``: same names, signatures and status codes.

It is the reference: each loop does the same floating-point operations in the same order as
the compiled kernel, so the two agree to rounding (and, in practice, bit for bit). It serves
when the extension is not built or ``PONMODEL_NO_EXTENSIONS=1``. Buffers are read through
``memoryview`` and checked for dtype, dimension and writability like Cython's typed
memoryviews do, so a call that one rejects the other rejects too.
"""

from __future__ import annotations

import array
import sys
from typing import Any, cast

OK = 0
ERR_PARENT_ORDER = 1  # parent[i] >= i: nodes not in topological order
ERR_SHAPE = 2  # port_start does not end at the number of ONTs
ERR_BAD_INDEX = 3  # an index (parent, node, port, CSR offset, tier code) out of range
ERR_BAD_WEIGHT = 4  # an ONT in a shared tier with weight <= 0 or not finite

# The additional-bandwidth tiers (ponmodel/1 `additional`).
ADDITIONAL_NONE = 0
ADDITIONAL_NON_ASSURED = 1
ADDITIONAL_BEST_EFFORT = 2

# struct format characters accepted per C type (native byte order, as Cython checks them).
_FORMATS = {
    "int64": ("l", "q"),
    "int8": ("b",),
    "uint8": ("B",),
    "float64": ("d",),
}
_SIZES = {"int64": 8, "int8": 1, "uint8": 1, "float64": 8}


def _view(obj: Any, kind: str, name: str, *, writable: bool = False) -> memoryview:
    """A 1-D memoryview of ``obj`` with the element type ``kind``, or ValueError."""
    mv = memoryview(obj)
    fmt = mv.format.lstrip("@=")
    if fmt not in _FORMATS[kind] or mv.itemsize != _SIZES[kind]:
        msg = f"{name}: buffer dtype mismatch, expected {kind} but got format {mv.format!r}"
        raise ValueError(msg)
    if mv.ndim != 1:
        msg = f"{name}: buffer has wrong number of dimensions (expected 1, got {mv.ndim})"
        raise ValueError(msg)
    if writable and mv.readonly:
        msg = f"{name}: buffer source array is read-only"
        raise ValueError(msg)
    return mv


def _floats(mv: memoryview) -> list[float]:
    """The buffer's elements as Python floats (typeshed types tolist() as list[int])."""
    return cast("list[float]", mv.tolist())


def _check_lengths(what: str, expected: int, arrays: dict[str, int]) -> None:
    for name, n in arrays.items():
        if n != expected:
            msg = f"{what}: {name} has length {n}, expected {expected}"
            raise ValueError(msg)


def _nonneg(v: float) -> float:
    # Negative (and NaN) amounts count as zero (as in the kernel, -0.0 stays -0.0).
    return v if v >= 0.0 else 0.0


# ---------------------------------------------------------------------------------------------
# Optical budget


def budget_forward(
    parent: Any,
    edge_loss_down_db: Any,
    edge_loss_up_db: Any,
    edge_length_m: Any,
    edge_split: Any,
    cum_loss_down_db: Any,
    cum_loss_up_db: Any,
    cum_length_m: Any,
    cum_split: Any,
) -> int:
    """Cumulative loss, length and split ratio of every node of a forest in topological order.

    ``cum[i] = cum[parent[i]] + edge[i]`` (``*`` for the split); a root (``parent == -1``)
    takes its own edge values. Returns ``OK``, ``ERR_PARENT_ORDER`` (``parent[i] >= i``) or
    ``ERR_BAD_INDEX`` (``parent[i] < -1``), stopping at the first bad node.
    """
    par = _view(parent, "int64", "parent")
    eld = _view(edge_loss_down_db, "float64", "edge_loss_down_db")
    elu = _view(edge_loss_up_db, "float64", "edge_loss_up_db")
    elm = _view(edge_length_m, "float64", "edge_length_m")
    esp = _view(edge_split, "float64", "edge_split")
    outs = [
        _view(cum_loss_down_db, "float64", "cum_loss_down_db", writable=True),
        _view(cum_loss_up_db, "float64", "cum_loss_up_db", writable=True),
        _view(cum_length_m, "float64", "cum_length_m", writable=True),
        _view(cum_split, "float64", "cum_split", writable=True),
    ]
    n = len(par)
    _check_lengths(
        "budget_forward",
        n,
        {
            "edge_loss_down_db": len(eld),
            "edge_loss_up_db": len(elu),
            "edge_length_m": len(elm),
            "edge_split": len(esp),
            "cum_loss_down_db": len(outs[0]),
            "cum_loss_up_db": len(outs[1]),
            "cum_length_m": len(outs[2]),
            "cum_split": len(outs[3]),
        },
    )
    parents = par.tolist()
    e_down, e_up, e_len, e_split = _floats(eld), _floats(elu), _floats(elm), _floats(esp)
    c_down, c_up, c_len, c_split = (_floats(mv) for mv in outs)
    status = OK
    for i in range(n):
        q = parents[i]
        if q < 0:
            if q != -1:
                status = ERR_BAD_INDEX
                break
            c_down[i] = e_down[i]
            c_up[i] = e_up[i]
            c_len[i] = e_len[i]
            c_split[i] = e_split[i]
        else:
            if q >= i:
                status = ERR_PARENT_ORDER
                break
            c_down[i] = c_down[q] + e_down[i]
            c_up[i] = c_up[q] + e_up[i]
            c_len[i] = c_len[q] + e_len[i]
            c_split[i] = c_split[q] * e_split[i]
    for mv, values in zip(outs, (c_down, c_up, c_len, c_split), strict=True):
        _write(mv, values)
    return status


def _write(mv: memoryview, values: list[Any]) -> None:
    """Copy ``values`` into the buffer behind ``mv`` in one C-level assignment."""
    mv[:] = memoryview(array.array(mv.format.lstrip("@="), values))


def budget_check(
    ont_node: Any,
    ont_port: Any,
    cum_loss_down_db: Any,
    cum_loss_up_db: Any,
    port_tx_min_dbm: Any,
    port_tx_max_dbm: Any,
    port_rx_sensitivity_dbm: Any,
    port_rx_overload_dbm: Any,
    port_class_min_loss_db: Any,
    port_class_max_loss_db: Any,
    ont_tx_min_dbm: Any,
    ont_tx_max_dbm: Any,
    ont_rx_sensitivity_dbm: Any,
    ont_rx_overload_dbm: Any,
    safety_margin_db: float,
    rx_min_down_dbm: Any,
    rx_max_down_dbm: Any,
    headroom_down_db: Any,
    rx_min_up_dbm: Any,
    rx_max_up_dbm: Any,
    headroom_up_db: Any,
    ok_down: Any,
    ok_up: Any,
    class_ok: Any,
) -> int:
    """Received power, headroom and pass/fail of every ONT in both directions.

    Downstream the port (OLT) transmits and the ONT receives; upstream the reverse.
    ``rx_min = tx_min - loss - safety_margin_db``, ``rx_max = tx_max - loss``,
    ``headroom = rx_min - sensitivity``, ``ok = rx_min >= sensitivity and rx_max <= overload``,
    ``class_ok = class_min <= loss and loss + safety_margin_db <= class_max`` in both
    directions. Returns ``OK`` or ``ERR_BAD_INDEX`` (a node or port index out of range).
    """
    nodes = _view(ont_node, "int64", "ont_node")
    ports = _view(ont_port, "int64", "ont_port")
    f64 = {
        name: _view(arr, "float64", name)
        for name, arr in (
            ("cum_loss_down_db", cum_loss_down_db),
            ("cum_loss_up_db", cum_loss_up_db),
            ("port_tx_min_dbm", port_tx_min_dbm),
            ("port_tx_max_dbm", port_tx_max_dbm),
            ("port_rx_sensitivity_dbm", port_rx_sensitivity_dbm),
            ("port_rx_overload_dbm", port_rx_overload_dbm),
            ("port_class_min_loss_db", port_class_min_loss_db),
            ("port_class_max_loss_db", port_class_max_loss_db),
            ("ont_tx_min_dbm", ont_tx_min_dbm),
            ("ont_tx_max_dbm", ont_tx_max_dbm),
            ("ont_rx_sensitivity_dbm", ont_rx_sensitivity_dbm),
            ("ont_rx_overload_dbm", ont_rx_overload_dbm),
        )
    }
    margin = float(safety_margin_db)
    out_names = (
        "rx_min_down_dbm",
        "rx_max_down_dbm",
        "headroom_down_db",
        "rx_min_up_dbm",
        "rx_max_up_dbm",
        "headroom_up_db",
    )
    out_f = [
        _view(arr, "float64", name, writable=True)
        for name, arr in zip(
            out_names,
            (
                rx_min_down_dbm,
                rx_max_down_dbm,
                headroom_down_db,
                rx_min_up_dbm,
                rx_max_up_dbm,
                headroom_up_db,
            ),
            strict=True,
        )
    ]
    out_b = [
        _view(arr, "uint8", name, writable=True)
        for name, arr in (("ok_down", ok_down), ("ok_up", ok_up), ("class_ok", class_ok))
    ]
    n_onts = len(nodes)
    lengths = {"ont_port": len(ports)}
    for name in ("ont_tx_min_dbm", "ont_tx_max_dbm", "ont_rx_sensitivity_dbm"):
        lengths[name] = len(f64[name])
    lengths["ont_rx_overload_dbm"] = len(f64["ont_rx_overload_dbm"])
    lengths.update({name: len(mv) for name, mv in zip(out_names, out_f, strict=True)})
    lengths.update(
        {name: len(mv) for name, mv in zip(("ok_down", "ok_up", "class_ok"), out_b, strict=True)}
    )
    _check_lengths("budget_check", n_onts, lengths)
    _check_lengths(
        "budget_check", len(f64["cum_loss_down_db"]), {"cum_loss_up_db": len(f64["cum_loss_up_db"])}
    )
    n_ports = len(f64["port_tx_min_dbm"])
    _check_lengths(
        "budget_check",
        n_ports,
        {
            name: len(f64[name])
            for name in (
                "port_tx_max_dbm",
                "port_rx_sensitivity_dbm",
                "port_rx_overload_dbm",
                "port_class_min_loss_db",
                "port_class_max_loss_db",
            )
        },
    )
    n_nodes = len(f64["cum_loss_down_db"])

    node_l, port_l = nodes.tolist(), ports.tolist()
    cld, clu = _floats(f64["cum_loss_down_db"]), _floats(f64["cum_loss_up_db"])
    p_tx_min, p_tx_max = _floats(f64["port_tx_min_dbm"]), _floats(f64["port_tx_max_dbm"])
    p_sens, p_over = _floats(f64["port_rx_sensitivity_dbm"]), _floats(f64["port_rx_overload_dbm"])
    p_cmin, p_cmax = _floats(f64["port_class_min_loss_db"]), _floats(f64["port_class_max_loss_db"])
    o_tx_min, o_tx_max = _floats(f64["ont_tx_min_dbm"]), _floats(f64["ont_tx_max_dbm"])
    o_sens, o_over = _floats(f64["ont_rx_sensitivity_dbm"]), _floats(f64["ont_rx_overload_dbm"])
    res_f = [_floats(mv) for mv in out_f]
    res_b = [mv.tolist() for mv in out_b]
    rmin_d, rmax_d, head_d, rmin_u, rmax_u, head_u = res_f
    okd, oku, cok = res_b

    status = OK
    for k in range(n_onts):
        node = node_l[k]
        port = port_l[k]
        if node < 0 or node >= n_nodes or port < 0 or port >= n_ports:
            status = ERR_BAD_INDEX
            break
        loss_down = cld[node]
        loss_up = clu[node]

        # downstream: OLT transmitter -> ONT receiver
        rx_min = p_tx_min[port] - loss_down - margin
        rx_max = p_tx_max[port] - loss_down
        rmin_d[k] = rx_min
        rmax_d[k] = rx_max
        head_d[k] = rx_min - o_sens[k]
        okd[k] = 1 if (rx_min >= o_sens[k] and rx_max <= o_over[k]) else 0

        # upstream: ONT transmitter -> OLT receiver
        rx_min = o_tx_min[k] - loss_up - margin
        rx_max = o_tx_max[k] - loss_up
        rmin_u[k] = rx_min
        rmax_u[k] = rx_max
        head_u[k] = rx_min - p_sens[port]
        oku[k] = 1 if (rx_min >= p_sens[port] and rx_max <= p_over[port]) else 0

        class_min = p_cmin[port]
        class_max = p_cmax[port]
        cok[k] = (
            1
            if (
                class_min <= loss_down
                and loss_down + margin <= class_max
                and class_min <= loss_up
                and loss_up + margin <= class_max
            )
            else 0
        )
    for mv, values in zip(out_f, res_f, strict=True):
        _write(mv, values)
    for mv, flags in zip(out_b, res_b, strict=True):
        _write(mv, flags)
    return status


# ---------------------------------------------------------------------------------------------
# Bandwidth at full load


def _water_fill(
    entries: list[tuple[float, int, float, float]],
    remaining: float,
    total_demand: float,
    full: list[float],
) -> float:
    # Weighted max-min fair share of `remaining` among the (key, idx, demand, weight) entries
    # of one tier of one port (`total_demand` summed in ONT order); adds each share to `full`
    # and returns what is left (>= 0).
    m = len(entries)
    if m == 0:
        return remaining
    if remaining <= 0.0:
        return 0.0  # nothing left: every ONT of the tier gets 0
    if total_demand <= remaining:
        # Everything fits: water-filling gives each ONT its demand; no need to sort.
        for _, i, d, _ in entries:
            full[i] += d
        remaining = remaining - total_demand
        return remaining if remaining > 0.0 else 0.0
    # The kernel sorts the same entries (built in ascending ONT index) stably by key alone,
    # which is this order.
    entries.sort(key=lambda e: (e[0], e[1]))
    # Suffix sums of the weights, so the remaining weight never drifts below its true value.
    wrest_of = [0.0] * m
    wrest = 0.0
    for j in range(m - 1, -1, -1):
        wrest = wrest + entries[j][3]
        wrest_of[j] = wrest
    for j in range(m):
        _, i, d, w = entries[j]
        level = remaining / wrest_of[j]
        if d <= w * level:
            full[i] += d
            remaining = remaining - d
            if remaining < 0.0:
                remaining = 0.0
        else:
            # Saturated: this ONT and every later one get weight * level; nothing is left.
            for _, i2, _, w2 in entries[j:]:
                full[i2] += w2 * level
            return 0.0
    return remaining


def _allocate_check(port_start: list[int], additional: list[int], weight: list[float]) -> int:
    n_ports = len(port_start) - 1
    n_onts = len(additional)
    if port_start[0] != 0:
        return ERR_BAD_INDEX
    for p in range(n_ports):
        if port_start[p + 1] < port_start[p]:
            return ERR_BAD_INDEX
    if port_start[n_ports] != n_onts:
        return ERR_SHAPE
    for i in range(n_onts):
        t = additional[i]
        if t < 0 or t > 2:
            return ERR_BAD_INDEX
        w = weight[i]
        if t != 0 and not (w > 0.0 and w <= sys.float_info.max):
            return ERR_BAD_WEIGHT
    return OK


def allocate(
    port_start: Any,
    capacity_mbps: Any,
    fixed_mbps: Any,
    assured_mbps: Any,
    max_mbps: Any,
    additional: Any,
    weight: Any,
    full_load_mbps: Any,
    peak_mbps: Any,
) -> int:
    """Full-load and peak bandwidth of every ONT, all ports of one direction in one call.

    ONTs of port ``p`` are ``port_start[p] .. port_start[p + 1] - 1``. Tiers in order: fixed,
    assured (each scaled down when overbooked), non-assured (``additional == 1``) and
    best-effort (``additional == 2``) by weighted water-filling of ``max - fixed - assured``.
    Negative amounts and capacities count as zero. Returns ``OK``, ``ERR_BAD_INDEX``
    (``port_start`` not starting at 0 or decreasing; ``additional`` not 0, 1 or 2),
    ``ERR_SHAPE`` (``port_start`` not ending at the number of ONTs) or ``ERR_BAD_WEIGHT``
    (the first bad ONT in ONT order decides). Nothing is written unless the inputs pass
    those checks.
    """
    ps_v = _view(port_start, "int64", "port_start")
    cap_v = _view(capacity_mbps, "float64", "capacity_mbps")
    fix_v = _view(fixed_mbps, "float64", "fixed_mbps")
    ass_v = _view(assured_mbps, "float64", "assured_mbps")
    max_v = _view(max_mbps, "float64", "max_mbps")
    add_v = _view(additional, "int8", "additional")
    w_v = _view(weight, "float64", "weight")
    full_v = _view(full_load_mbps, "float64", "full_load_mbps", writable=True)
    peak_v = _view(peak_mbps, "float64", "peak_mbps", writable=True)
    n_ports = len(cap_v)
    n_onts = len(fix_v)
    _check_lengths("allocate", n_ports + 1, {"port_start": len(ps_v)})
    _check_lengths(
        "allocate",
        n_onts,
        {
            "assured_mbps": len(ass_v),
            "max_mbps": len(max_v),
            "additional": len(add_v),
            "weight": len(w_v),
            "full_load_mbps": len(full_v),
            "peak_mbps": len(peak_v),
        },
    )
    ps = ps_v.tolist()
    add = add_v.tolist()
    wts = _floats(w_v)
    status = _allocate_check(ps, add, wts)
    if status != OK:
        return status
    caps, fixed, assured, mx = _floats(cap_v), _floats(fix_v), _floats(ass_v), _floats(max_v)
    full = _floats(full_v)
    peak = _floats(peak_v)

    for p in range(n_ports):
        start = ps[p]
        end = ps[p + 1]
        cap = _nonneg(caps[p])

        total_fixed = 0.0
        total_assured = 0.0
        for i in range(start, end):
            total_fixed = total_fixed + _nonneg(fixed[i])
            total_assured = total_assured + _nonneg(assured[i])
        # 1. fixed, scaled by C / sum when overbooked; 2. assured, the same in what is left
        after_fixed = 0.0 if total_fixed > cap else cap - total_fixed
        remaining = 0.0 if total_assured > after_fixed else after_fixed - total_assured
        if remaining < 0.0:
            remaining = 0.0
        tier1: list[tuple[float, int, float, float]] = []
        tier2: list[tuple[float, int, float, float]] = []
        demand1 = 0.0
        demand2 = 0.0
        for i in range(start, end):
            f = _nonneg(fixed[i])
            a = _nonneg(assured[i])
            if total_fixed > cap:
                full[i] = f * cap / total_fixed
            else:
                full[i] = f
            if total_assured > after_fixed:
                full[i] += a * after_fixed / total_assured
            else:
                full[i] += a

            # Peak: alone on the port, the others' fixed bandwidth stays reserved.
            t = add[i]
            own = f + a if t == 0 else mx[i]
            v = cap - (total_fixed - f)
            if own < v:
                v = own
            if v < 0.0:
                v = 0.0
            peak[i] = v

            if t == 0:
                continue
            d = mx[i] - f - a
            if not (d > 0.0):
                continue  # nothing to ask for in its shared tier: gets 0
            if t == 1:
                tier1.append((d / wts[i], i, d, wts[i]))
                demand1 = demand1 + d
            else:
                tier2.append((d / wts[i], i, d, wts[i]))
                demand2 = demand2 + d

        # 3. non-assured, 4. best-effort: weighted water-filling of max - fixed - assured
        remaining = _water_fill(tier1, remaining, demand1, full)
        _water_fill(tier2, remaining, demand2, full)
    _write(full_v, full)
    _write(peak_v, peak)
    return status
