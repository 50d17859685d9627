# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled kernels for optical budgets and bandwidth allocation on packed PON forests.

Private module: ``ponmodel._kernel`` picks this one or its pure-Python twin
``ponmodel._splitcalc_py`` (same names, signatures and status codes; keep them in step).
The ``def`` entry points type every buffer argument and raise ``ValueError`` when array
lengths disagree, before any ``nogil`` code runs; the ``cdef ... noexcept nogil`` loops
return a status code, which the entry points pass back unchanged. Outputs are unspecified
when the status is not ``OK``. Semantics: spec/network-document.md, "Optical budget" and
"Bandwidth at full load".
"""

from libc.stdint cimport int8_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from libc.float cimport DBL_MAX

cdef enum:
    C_OK = 0
    C_ERR_PARENT_ORDER = 1
    C_ERR_SHAPE = 2
    C_ERR_BAD_INDEX = 3
    C_ERR_BAD_WEIGHT = 4

OK = C_OK
ERR_PARENT_ORDER = C_ERR_PARENT_ORDER  # parent[i] >= i: nodes not in topological order
ERR_SHAPE = C_ERR_SHAPE  # port_start does not end at the number of ONTs
ERR_BAD_INDEX = C_ERR_BAD_INDEX  # an index (parent, node, port, CSR offset, tier code) out of range
ERR_BAD_WEIGHT = C_ERR_BAD_WEIGHT  # an ONT in a shared tier with weight <= 0 or not finite

# The additional-bandwidth tiers (ponmodel/1 `additional`).
ADDITIONAL_NONE = 0
ADDITIONAL_NON_ASSURED = 1
ADDITIONAL_BEST_EFFORT = 2


cdef struct Pair:
    double key  # demand / weight, the water-filling order
    int64_t idx  # ONT index; ties keep ascending idx (stable sort), as the twin orders them


cdef struct Scratch:
    # Allocated once for the widest port (`width` entries each) and reused for every port.
    Pair* pairs1  # tier 1 (non-assured), in ascending ONT index
    Pair* pairs2  # tier 2 (best-effort), in ascending ONT index
    Pair* buf  # merge-sort buffer
    double* demand  # max - fixed - assured, by position in the port (ONT index - start)
    double* weight  # by position in the port
    double* wrest  # sum of the weights from a sorted position to the end of the run
    Py_ssize_t width


def _check_lengths(str what, Py_ssize_t expected, dict arrays):
    for name, n in arrays.items():
        if n != expected:
            msg = f"{what}: {name} has length {n}, expected {expected}"
            raise ValueError(msg)


# ---------------------------------------------------------------------------------------------
# Optical budget


cdef int _budget_forward(
    const int64_t[:] parent,
    const double[:] edge_loss_down_db,
    const double[:] edge_loss_up_db,
    const double[:] edge_length_m,
    const double[:] edge_split,
    double[:] cum_loss_down_db,
    double[:] cum_loss_up_db,
    double[:] cum_length_m,
    double[:] cum_split,
) noexcept nogil:
    cdef Py_ssize_t i
    cdef Py_ssize_t n = parent.shape[0]
    cdef int64_t q
    for i in range(n):
        q = parent[i]
        if q < 0:
            if q != -1:
                return C_ERR_BAD_INDEX
            cum_loss_down_db[i] = edge_loss_down_db[i]
            cum_loss_up_db[i] = edge_loss_up_db[i]
            cum_length_m[i] = edge_length_m[i]
            cum_split[i] = edge_split[i]
        else:
            if q >= i:
                return C_ERR_PARENT_ORDER
            cum_loss_down_db[i] = cum_loss_down_db[q] + edge_loss_down_db[i]
            cum_loss_up_db[i] = cum_loss_up_db[q] + edge_loss_up_db[i]
            cum_length_m[i] = cum_length_m[q] + edge_length_m[i]
            cum_split[i] = cum_split[q] * edge_split[i]
    return C_OK


def budget_forward(
    const int64_t[:] parent,
    const double[:] edge_loss_down_db,
    const double[:] edge_loss_up_db,
    const double[:] edge_length_m,
    const double[:] edge_split,
    double[:] cum_loss_down_db,
    double[:] cum_loss_up_db,
    double[:] cum_length_m,
    double[:] cum_split,
):
    """Cumulative loss, length and split ratio of every node of a forest in topological order.

    ``cum[i] = cum[parent[i]] + edge[i]`` (``*`` for the split); a root (``parent == -1``)
    takes its own edge values. Returns ``OK``, ``ERR_PARENT_ORDER`` (``parent[i] >= i``) or
    ``ERR_BAD_INDEX`` (``parent[i] < -1``), stopping at the first bad node.
    """
    cdef Py_ssize_t n = parent.shape[0]
    _check_lengths("budget_forward", n, {
        "edge_loss_down_db": edge_loss_down_db.shape[0],
        "edge_loss_up_db": edge_loss_up_db.shape[0],
        "edge_length_m": edge_length_m.shape[0],
        "edge_split": edge_split.shape[0],
        "cum_loss_down_db": cum_loss_down_db.shape[0],
        "cum_loss_up_db": cum_loss_up_db.shape[0],
        "cum_length_m": cum_length_m.shape[0],
        "cum_split": cum_split.shape[0],
    })
    cdef int status
    with nogil:
        status = _budget_forward(
            parent, edge_loss_down_db, edge_loss_up_db, edge_length_m, edge_split,
            cum_loss_down_db, cum_loss_up_db, cum_length_m, cum_split,
        )
    return status


cdef int _budget_check(
    const int64_t[:] ont_node,
    const int64_t[:] ont_port,
    const double[:] cum_loss_down_db,
    const double[:] cum_loss_up_db,
    const double[:] port_tx_min_dbm,
    const double[:] port_tx_max_dbm,
    const double[:] port_rx_sensitivity_dbm,
    const double[:] port_rx_overload_dbm,
    const double[:] port_class_min_loss_db,
    const double[:] port_class_max_loss_db,
    const double[:] ont_tx_min_dbm,
    const double[:] ont_tx_max_dbm,
    const double[:] ont_rx_sensitivity_dbm,
    const double[:] ont_rx_overload_dbm,
    double safety_margin_db,
    double[:] rx_min_down_dbm,
    double[:] rx_max_down_dbm,
    double[:] headroom_down_db,
    double[:] rx_min_up_dbm,
    double[:] rx_max_up_dbm,
    double[:] headroom_up_db,
    uint8_t[:] ok_down,
    uint8_t[:] ok_up,
    uint8_t[:] class_ok,
) noexcept nogil:
    cdef Py_ssize_t k
    cdef Py_ssize_t n_onts = ont_node.shape[0]
    cdef Py_ssize_t n_nodes = cum_loss_down_db.shape[0]
    cdef Py_ssize_t n_ports = port_tx_min_dbm.shape[0]
    cdef int64_t node, port
    cdef double loss_down, loss_up, rx_min, rx_max, class_min, class_max
    for k in range(n_onts):
        node = ont_node[k]
        port = ont_port[k]
        if node < 0 or node >= n_nodes or port < 0 or port >= n_ports:
            return C_ERR_BAD_INDEX
        loss_down = cum_loss_down_db[node]
        loss_up = cum_loss_up_db[node]

        # downstream: OLT transmitter -> ONT receiver
        rx_min = port_tx_min_dbm[port] - loss_down - safety_margin_db
        rx_max = port_tx_max_dbm[port] - loss_down
        rx_min_down_dbm[k] = rx_min
        rx_max_down_dbm[k] = rx_max
        headroom_down_db[k] = rx_min - ont_rx_sensitivity_dbm[k]
        ok_down[k] = rx_min >= ont_rx_sensitivity_dbm[k] and rx_max <= ont_rx_overload_dbm[k]

        # upstream: ONT transmitter -> OLT receiver
        rx_min = ont_tx_min_dbm[k] - loss_up - safety_margin_db
        rx_max = ont_tx_max_dbm[k] - loss_up
        rx_min_up_dbm[k] = rx_min
        rx_max_up_dbm[k] = rx_max
        headroom_up_db[k] = rx_min - port_rx_sensitivity_dbm[port]
        ok_up[k] = rx_min >= port_rx_sensitivity_dbm[port] and rx_max <= port_rx_overload_dbm[port]

        class_min = port_class_min_loss_db[port]
        class_max = port_class_max_loss_db[port]
        class_ok[k] = (
            class_min <= loss_down and loss_down + safety_margin_db <= class_max
            and class_min <= loss_up and loss_up + safety_margin_db <= class_max
        )
    return C_OK


def budget_check(
    const int64_t[:] ont_node,
    const int64_t[:] ont_port,
    const double[:] cum_loss_down_db,
    const double[:] cum_loss_up_db,
    const double[:] port_tx_min_dbm,
    const double[:] port_tx_max_dbm,
    const double[:] port_rx_sensitivity_dbm,
    const double[:] port_rx_overload_dbm,
    const double[:] port_class_min_loss_db,
    const double[:] port_class_max_loss_db,
    const double[:] ont_tx_min_dbm,
    const double[:] ont_tx_max_dbm,
    const double[:] ont_rx_sensitivity_dbm,
    const double[:] ont_rx_overload_dbm,
    double safety_margin_db,
    double[:] rx_min_down_dbm,
    double[:] rx_max_down_dbm,
    double[:] headroom_down_db,
    double[:] rx_min_up_dbm,
    double[:] rx_max_up_dbm,
    double[:] headroom_up_db,
    uint8_t[:] ok_down,
    uint8_t[:] ok_up,
    uint8_t[:] class_ok,
):
    """Received power, headroom and pass/fail of every ONT in both directions.

    Downstream the port (OLT) transmits and the ONT receives; upstream the reverse.
    ``rx_min = tx_min - loss - safety_margin_db``, ``rx_max = tx_max - loss``,
    ``headroom = rx_min - sensitivity``, ``ok = rx_min >= sensitivity and rx_max <= overload``,
    ``class_ok = class_min <= loss and loss + safety_margin_db <= class_max`` in both
    directions. Returns ``OK`` or ``ERR_BAD_INDEX`` (a node or port index out of range).
    """
    cdef Py_ssize_t n_onts = ont_node.shape[0]
    cdef Py_ssize_t n_ports = port_tx_min_dbm.shape[0]
    _check_lengths("budget_check", n_onts, {
        "ont_port": ont_port.shape[0],
        "ont_tx_min_dbm": ont_tx_min_dbm.shape[0],
        "ont_tx_max_dbm": ont_tx_max_dbm.shape[0],
        "ont_rx_sensitivity_dbm": ont_rx_sensitivity_dbm.shape[0],
        "ont_rx_overload_dbm": ont_rx_overload_dbm.shape[0],
        "rx_min_down_dbm": rx_min_down_dbm.shape[0],
        "rx_max_down_dbm": rx_max_down_dbm.shape[0],
        "headroom_down_db": headroom_down_db.shape[0],
        "rx_min_up_dbm": rx_min_up_dbm.shape[0],
        "rx_max_up_dbm": rx_max_up_dbm.shape[0],
        "headroom_up_db": headroom_up_db.shape[0],
        "ok_down": ok_down.shape[0],
        "ok_up": ok_up.shape[0],
        "class_ok": class_ok.shape[0],
    })
    _check_lengths("budget_check", cum_loss_down_db.shape[0], {
        "cum_loss_up_db": cum_loss_up_db.shape[0],
    })
    _check_lengths("budget_check", n_ports, {
        "port_tx_max_dbm": port_tx_max_dbm.shape[0],
        "port_rx_sensitivity_dbm": port_rx_sensitivity_dbm.shape[0],
        "port_rx_overload_dbm": port_rx_overload_dbm.shape[0],
        "port_class_min_loss_db": port_class_min_loss_db.shape[0],
        "port_class_max_loss_db": port_class_max_loss_db.shape[0],
    })
    cdef int status
    with nogil:
        status = _budget_check(
            ont_node, ont_port, cum_loss_down_db, cum_loss_up_db,
            port_tx_min_dbm, port_tx_max_dbm, port_rx_sensitivity_dbm, port_rx_overload_dbm,
            port_class_min_loss_db, port_class_max_loss_db,
            ont_tx_min_dbm, ont_tx_max_dbm, ont_rx_sensitivity_dbm, ont_rx_overload_dbm,
            safety_margin_db,
            rx_min_down_dbm, rx_max_down_dbm, headroom_down_db,
            rx_min_up_dbm, rx_max_up_dbm, headroom_up_db,
            ok_down, ok_up, class_ok,
        )
    return status


# ---------------------------------------------------------------------------------------------
# Bandwidth at full load


cdef void _insertion_sort(Pair* e, Py_ssize_t m) noexcept nogil:
    # Stable, by key alone.
    cdef Py_ssize_t i, j
    cdef Pair tmp
    for i in range(1, m):
        tmp = e[i]
        j = i - 1
        while j >= 0 and tmp.key < e[j].key:
            e[j + 1] = e[j]
            j -= 1
        e[j + 1] = tmp


cdef void _sort_pairs(Pair* e, Py_ssize_t m, Pair* buf) noexcept nogil:
    # Stable sort by key, in place; `buf` holds m pairs. The pairs come in ascending ONT
    # index, so ties end in ascending index: the (key, idx) order the twin sorts by. Comparing
    # keys only matters: equal keys are common (discrete demands, integer weights) and a
    # tie-break branch mispredicts on them. Insertion sort for short runs (a typical port);
    # bottom-up merge sort of 16-long insertion-sorted runs above: O(m log m) worst case.
    cdef Py_ssize_t run = 16, lo, mid, hi, i, j, k
    cdef Pair* src = e
    cdef Pair* dst = buf
    cdef Pair* tmp
    if m <= 32:
        _insertion_sort(e, m)
        return
    lo = 0
    while lo < m:
        _insertion_sort(e + lo, run if lo + run <= m else m - lo)
        lo += run
    while run < m:
        lo = 0
        while lo < m:
            mid = lo + run if lo + run < m else m
            hi = lo + 2 * run if lo + 2 * run < m else m
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if src[j].key < src[i].key:  # left wins ties: stable
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
            lo = hi
        tmp = src
        src = dst
        dst = tmp
        run *= 2
    if src != e:
        memcpy(e, src, m * sizeof(Pair))


cdef inline double _nonneg(double v) noexcept nogil:
    # Negative (and NaN) amounts count as zero. `>=` rather than `>`: the same value for every
    # input but -0.0, and a branch that valid (non-negative) data always takes.
    return v if v >= 0.0 else 0.0


cdef double _water_fill(
    Pair* pairs,
    Py_ssize_t m,
    Py_ssize_t start,
    double remaining,
    double total_demand,
    Scratch* sc,
    double[:] full_load_mbps,
) noexcept nogil:
    # Weighted max-min fair share of `remaining` among the m ONTs of one tier of one port
    # (`pairs`; demand and weight by position in the port; `total_demand` summed in ONT
    # order); adds each share to full_load_mbps and returns what is left (>= 0).
    cdef Py_ssize_t j, pos
    cdef double d, w, level, wrest
    if m == 0:
        return remaining
    if remaining <= 0.0:
        return 0.0  # nothing left: every ONT of the tier gets 0
    if total_demand <= remaining:
        # Everything fits: water-filling gives each ONT its demand; no need to sort.
        for j in range(m):
            full_load_mbps[pairs[j].idx] += sc.demand[pairs[j].idx - start]
        remaining = remaining - total_demand
        return remaining if remaining > 0.0 else 0.0
    _sort_pairs(pairs, m, sc.buf)
    # Suffix sums of the weights, so the remaining weight never drifts below its true value.
    wrest = 0.0
    j = m - 1
    while j >= 0:
        wrest = wrest + sc.weight[pairs[j].idx - start]
        sc.wrest[j] = wrest
        j -= 1
    for j in range(m):
        pos = pairs[j].idx - start
        d = sc.demand[pos]
        w = sc.weight[pos]
        level = remaining / sc.wrest[j]
        if d <= w * level:
            full_load_mbps[pairs[j].idx] += d
            remaining = remaining - d
            if remaining < 0.0:
                remaining = 0.0
        else:
            # Saturated: this ONT and every later one get weight * level; nothing is left.
            while j < m:
                full_load_mbps[pairs[j].idx] += sc.weight[pairs[j].idx - start] * level
                j += 1
            return 0.0
    return remaining


cdef int _allocate_check(
    const int64_t[:] port_start,
    const int8_t[:] additional,
    const double[:] weight,
    Py_ssize_t* widest,
) noexcept nogil:
    cdef Py_ssize_t p, i
    cdef Py_ssize_t n_ports = port_start.shape[0] - 1
    cdef Py_ssize_t n_onts = additional.shape[0]
    cdef int64_t a, b
    cdef int8_t t
    cdef int bad
    cdef double w
    widest[0] = 0
    if port_start[0] != 0:
        return C_ERR_BAD_INDEX
    for p in range(n_ports):
        a = port_start[p]
        b = port_start[p + 1]
        if b < a:
            return C_ERR_BAD_INDEX
        if b - a > widest[0]:
            widest[0] = b - a
    if port_start[n_ports] != n_onts:
        return C_ERR_SHAPE
    # Tier codes and weights: first a branch-free pass (the tier is data-dependent and would
    # mispredict), then, only if something is wrong, find the first bad ONT.
    bad = 0
    for i in range(n_onts):
        t = additional[i]
        w = weight[i]
        bad = bad | (t < 0) | (t > 2) | ((t != 0) & ((w > 0.0) & (w <= DBL_MAX) ^ 1))
    if not bad:
        return C_OK
    for i in range(n_onts):
        t = additional[i]
        if t < 0 or t > 2:
            return C_ERR_BAD_INDEX
        w = weight[i]
        if t != 0 and not (w > 0.0 and w <= DBL_MAX):
            return C_ERR_BAD_WEIGHT
    return C_OK


cdef int _allocate(
    const int64_t[:] port_start,
    const double[:] capacity_mbps,
    const double[:] fixed_mbps,
    const double[:] assured_mbps,
    const double[:] max_mbps,
    const int8_t[:] additional,
    const double[:] weight,
    double[:] full_load_mbps,
    double[:] peak_mbps,
    Scratch* sc,
) noexcept nogil:
    cdef Py_ssize_t p, i, start, end, m1, m2
    cdef Py_ssize_t n_ports = capacity_mbps.shape[0]
    cdef double cap, total_fixed, total_assured, after_fixed, remaining, f, a, d, w, own, v
    cdef double demand1, demand2
    cdef int8_t t
    cdef bint in1, in2
    cdef Pair* e
    for p in range(n_ports):
        start = port_start[p]
        end = port_start[p + 1]
        cap = _nonneg(capacity_mbps[p])

        total_fixed = 0.0
        total_assured = 0.0
        for i in range(start, end):
            total_fixed = total_fixed + _nonneg(fixed_mbps[i])
            total_assured = total_assured + _nonneg(assured_mbps[i])
        # 1. fixed, scaled by C / sum when overbooked; 2. assured, the same in what is left
        after_fixed = 0.0 if total_fixed > cap else cap - total_fixed
        remaining = 0.0 if total_assured > after_fixed else after_fixed - total_assured
        if remaining < 0.0:
            remaining = 0.0
        m1 = 0
        m2 = 0
        demand1 = 0.0
        demand2 = 0.0
        for i in range(start, end):
            f = _nonneg(fixed_mbps[i])
            a = _nonneg(assured_mbps[i])
            if total_fixed > cap:
                full_load_mbps[i] = f * cap / total_fixed
            else:
                full_load_mbps[i] = f
            if total_assured > after_fixed:
                full_load_mbps[i] += a * after_fixed / total_assured
            else:
                full_load_mbps[i] += a

            # Peak: alone on the port, the others' fixed bandwidth stays reserved.
            t = additional[i]
            own = f + a if t == 0 else max_mbps[i]
            v = cap - (total_fixed - f)
            if own < v:
                v = own
            if v < 0.0:
                v = 0.0
            peak_mbps[i] = v

            # Shared tiers: an ONT takes part when it asks for something (d > 0); one with
            # nothing to ask for gets 0. Written without branches on the (random) tier: the
            # next free slot of a tier is written every time and kept only when taken.
            d = max_mbps[i] - f - a
            w = weight[i]
            in1 = t == 1 and d > 0.0
            in2 = t == 2 and d > 0.0
            e = &sc.pairs1[m1] if t == 1 else &sc.pairs2[m2]
            e.key = d / w
            e.idx = i
            sc.demand[i - start] = d
            sc.weight[i - start] = w
            m1 += in1
            m2 += in2
            demand1 = demand1 + (d if in1 else 0.0)
            demand2 = demand2 + (d if in2 else 0.0)

        # 3. non-assured, 4. best-effort: weighted water-filling of max - fixed - assured
        remaining = _water_fill(sc.pairs1, m1, start, remaining, demand1, sc, full_load_mbps)
        _water_fill(sc.pairs2, m2, start, remaining, demand2, sc, full_load_mbps)
    return C_OK


def allocate(
    const int64_t[:] port_start,
    const double[:] capacity_mbps,
    const double[:] fixed_mbps,
    const double[:] assured_mbps,
    const double[:] max_mbps,
    const int8_t[:] additional,
    const double[:] weight,
    double[:] full_load_mbps,
    double[:] peak_mbps,
):
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
    cdef Py_ssize_t n_ports = capacity_mbps.shape[0]
    cdef Py_ssize_t n_onts = fixed_mbps.shape[0]
    _check_lengths("allocate", n_ports + 1, {"port_start": port_start.shape[0]})
    _check_lengths("allocate", n_onts, {
        "assured_mbps": assured_mbps.shape[0],
        "max_mbps": max_mbps.shape[0],
        "additional": additional.shape[0],
        "weight": weight.shape[0],
        "full_load_mbps": full_load_mbps.shape[0],
        "peak_mbps": peak_mbps.shape[0],
    })
    cdef int status
    cdef Py_ssize_t widest = 0
    cdef Scratch sc
    with nogil:
        status = _allocate_check(port_start, additional, weight, &widest)
    if status != C_OK:
        return status
    sc.width = widest if widest > 0 else 1
    sc.pairs1 = <Pair*> malloc(sc.width * sizeof(Pair))
    sc.pairs2 = <Pair*> malloc(sc.width * sizeof(Pair))
    sc.buf = <Pair*> malloc(sc.width * sizeof(Pair))
    sc.demand = <double*> malloc(sc.width * sizeof(double))
    sc.weight = <double*> malloc(sc.width * sizeof(double))
    sc.wrest = <double*> malloc(sc.width * sizeof(double))
    try:
        if (
            sc.pairs1 == NULL or sc.pairs2 == NULL or sc.buf == NULL
            or sc.demand == NULL or sc.weight == NULL or sc.wrest == NULL
        ):
            raise MemoryError()
        with nogil:
            status = _allocate(
                port_start, capacity_mbps, fixed_mbps, assured_mbps, max_mbps, additional,
                weight, full_load_mbps, peak_mbps, &sc,
            )
    finally:
        free(sc.pairs1)
        free(sc.pairs2)
        free(sc.buf)
        free(sc.demand)
        free(sc.weight)
        free(sc.wrest)
    return status
