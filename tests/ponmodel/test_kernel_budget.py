"""Optical budget kernels: budget_forward and budget_check, on both implementations."""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from ponmodel import _splitcalc_py as reference

F64 = np.float64
I64 = np.int64


def forward(kernel: ModuleType, parent, down, up, length, split) -> tuple[int, list[np.ndarray]]:
    n = len(parent)
    outs = [np.full(n, np.nan) for _ in range(4)]
    status = kernel.budget_forward(
        np.asarray(parent, dtype=I64),
        np.asarray(down, dtype=F64),
        np.asarray(up, dtype=F64),
        np.asarray(length, dtype=F64),
        np.asarray(split, dtype=F64),
        *outs,
    )
    return status, outs


OUT_NAMES = (
    "rx_min_down_dbm",
    "rx_max_down_dbm",
    "headroom_down_db",
    "rx_min_up_dbm",
    "rx_max_up_dbm",
    "headroom_up_db",
    "ok_down",
    "ok_up",
    "class_ok",
)


def check(
    kernel: ModuleType,
    *,
    ont_node,
    ont_port,
    cum_down,
    cum_up,
    port_tx_min,
    port_tx_max,
    port_sens,
    port_over,
    class_min,
    class_max,
    ont_tx_min,
    ont_tx_max,
    ont_sens,
    ont_over,
    margin: float,
) -> tuple[int, dict[str, np.ndarray]]:
    n = len(ont_node)
    outs = {name: np.full(n, np.nan) for name in OUT_NAMES[:6]}
    outs.update({name: np.full(n, 255, dtype=np.uint8) for name in OUT_NAMES[6:]})
    f = lambda a: np.asarray(a, dtype=F64)  # noqa: E731
    status = kernel.budget_check(
        np.asarray(ont_node, dtype=I64),
        np.asarray(ont_port, dtype=I64),
        f(cum_down),
        f(cum_up),
        f(port_tx_min),
        f(port_tx_max),
        f(port_sens),
        f(port_over),
        f(class_min),
        f(class_max),
        f(ont_tx_min),
        f(ont_tx_max),
        f(ont_sens),
        f(ont_over),
        margin,
        *outs.values(),
    )
    return status, outs


def single_ont(kernel: ModuleType, **overrides) -> dict[str, np.ndarray]:
    """One ONT on one port; loss 20 dB both ways, margin 3 dB, every figure exact in binary.

    Downstream: rx_min = 5 - 20 - 3 = -18 dBm, rx_max = 9 - 20 = -11 dBm.
    Upstream:   rx_min = 4 - 20 - 3 = -19 dBm, rx_max = 8 - 20 = -12 dBm.
    """
    args = dict(
        ont_node=[0],
        ont_port=[0],
        cum_down=[20.0],
        cum_up=[20.0],
        port_tx_min=[5.0],
        port_tx_max=[9.0],
        port_sens=[-30.0],
        port_over=[-8.0],
        class_min=[14.0],
        class_max=[29.0],
        ont_tx_min=[4.0],
        ont_tx_max=[8.0],
        ont_sens=[-28.0],
        ont_over=[-9.0],
        margin=3.0,
    )
    args.update(overrides)
    status, outs = check(kernel, **args)
    assert status == kernel.OK
    return outs


# ---------------------------------------------------------------------------------------------
# budget_forward


def test_worked_example(kernel: ModuleType) -> None:
    # The published worked example, built as a tree:
    #   port (root: coexistence 0 dB, 0 m, split 1)
    #   -> link A: 2 km * 0.35 = 0.7 + 2 connectors * 0.75 = 1.5 + 1 splice 0.2, into a 1:8
    #      splitter 10.5 dB                                        edge = 12.9 dB
    #   -> link B: 5.5 km * 0.35 = 1.925 + 1 splice 0.2, into a 1:16 splitter 14 dB
    #                                                              edge = 16.125 dB
    #   -> link C: 0.5 km * 0.35 = 0.175 + 1 connector 0.75 + 1 splice 0.2, into the ONT
    #                                                              edge = 1.125 dB
    # 2.8 fibre + 2.25 connectors + 24.5 splitters + 0.6 splices = 30.15 dB over 8 km, 1:128.
    # Upstream at 0.4 dB/km: 30.15 + 8 * 0.05 = 30.55 dB.
    km = [0.0, 2.0, 5.5, 0.5]
    fixed = [0.0, 1.5 + 0.2 + 10.5, 0.2 + 14.0, 0.75 + 0.2]
    down = [k * 0.35 + x for k, x in zip(km, fixed, strict=True)]
    up = [k * 0.40 + x for k, x in zip(km, fixed, strict=True)]
    status, (cum_down, cum_up, cum_len, cum_split) = forward(
        kernel, [-1, 0, 1, 2], down, up, [k * 1000 for k in km], [1, 8, 16, 1]
    )
    assert status == kernel.OK
    assert_allclose(cum_down, [0.0, 12.9, 29.025, 30.15], rtol=1e-12)
    assert_allclose(cum_up[-1], 30.55, rtol=1e-12)
    assert_allclose(cum_len, [0.0, 2000.0, 7500.0, 8000.0], rtol=1e-12)
    assert_array_equal(cum_split, [1.0, 8.0, 128.0, 128.0])

    # OLT +7 dBm, 3 dB margin: the ONT receives 7 - 30.15 - 3 = -26.15 dBm (worst case),
    # 7 - 30.15 = -23.15 dBm at best; against -28 dBm sensitivity, headroom 1.85 dB.
    status, outs = check(
        kernel,
        ont_node=[3],
        ont_port=[0],
        cum_down=cum_down,
        cum_up=cum_up,
        port_tx_min=[7.0],
        port_tx_max=[7.0],
        port_sens=[-29.0],
        port_over=[-7.0],
        class_min=[14.0],
        class_max=[35.0],
        ont_tx_min=[4.0],
        ont_tx_max=[9.0],
        ont_sens=[-28.0],
        ont_over=[-9.0],
        margin=3.0,
    )
    assert status == kernel.OK
    assert_allclose(outs["rx_min_down_dbm"], [-26.15], rtol=1e-12)
    assert_allclose(outs["rx_max_down_dbm"], [-23.15], rtol=1e-12)
    assert_allclose(outs["headroom_down_db"], [1.85], rtol=1e-12)
    # upstream: 4 - 30.55 - 3 = -29.55 dBm < -29 dBm: fails; 9 - 30.55 = -21.55 dBm
    assert_allclose(outs["rx_min_up_dbm"], [-29.55], rtol=1e-12)
    assert_allclose(outs["rx_max_up_dbm"], [-21.55], rtol=1e-12)
    assert_allclose(outs["headroom_up_db"], [-0.55], rtol=1e-12)
    assert outs["ok_down"].tolist() == [1]
    assert outs["ok_up"].tolist() == [0]
    # class window 14..35: 30.55 + 3 = 33.55 <= 35
    assert outs["class_ok"].tolist() == [1]


def test_forest_two_roots(kernel: ModuleType) -> None:
    # Two ports; the second (node 3) has a 1.5 dB coexistence element on its root edge.
    # node: 0 port A, 1 splitter under A, 2 ONT under 1, 3 port B, 4 ONT under B, 5 ONT under 1
    parent = [-1, 0, 1, -1, 3, 1]
    down = [0.0, 10.0, 2.0, 1.5, 3.0, 4.0]
    up = [0.0, 10.0, 2.5, 1.5, 3.5, 4.5]
    length = [0.0, 1000.0, 200.0, 0.0, 3000.0, 50.0]
    split = [1.0, 4.0, 1.0, 1.0, 1.0, 1.0]
    status, (cd, cu, cl, cs) = forward(kernel, parent, down, up, length, split)
    assert status == kernel.OK
    # node 2: 0 + 10 + 2 = 12; node 4: 1.5 + 3 = 4.5; node 5: 0 + 10 + 4 = 14
    assert_allclose(cd, [0.0, 10.0, 12.0, 1.5, 4.5, 14.0], rtol=1e-12)
    assert_allclose(cu, [0.0, 10.0, 12.5, 1.5, 5.0, 14.5], rtol=1e-12)
    assert_allclose(cl, [0.0, 1000.0, 1200.0, 0.0, 3000.0, 1050.0], rtol=1e-12)
    assert_array_equal(cs, [1.0, 4.0, 4.0, 1.0, 1.0, 4.0])


def test_forward_empty(kernel: ModuleType) -> None:
    status, outs = forward(kernel, [], [], [], [], [])
    assert status == kernel.OK
    assert all(len(o) == 0 for o in outs)


@pytest.mark.parametrize(
    ("parent", "code"),
    [
        ([-1, 1], "ERR_PARENT_ORDER"),  # parent[1] == 1
        ([-1, 0, 5], "ERR_PARENT_ORDER"),  # parent[2] > 2
        ([0], "ERR_PARENT_ORDER"),  # parent[0] == 0
        ([-1, 0, -2], "ERR_BAD_INDEX"),  # only -1 marks a root
    ],
)
def test_forward_bad_parent(kernel: ModuleType, parent: list[int], code: str) -> None:
    n = len(parent)
    status, _ = forward(kernel, parent, [1.0] * n, [1.0] * n, [1.0] * n, [1.0] * n)
    assert status == getattr(kernel, code)


def test_forward_length_mismatch_raises(kernel: ModuleType) -> None:
    outs = [np.zeros(3) for _ in range(4)]
    with pytest.raises(ValueError, match="edge_length_m"):
        kernel.budget_forward(
            np.array([-1, 0, 1], dtype=I64),
            np.zeros(3),
            np.zeros(3),
            np.zeros(2),
            np.ones(3),
            *outs,
        )
    with pytest.raises(ValueError, match="cum_split"):
        kernel.budget_forward(
            np.array([-1, 0, 1], dtype=I64),
            np.zeros(3),
            np.zeros(3),
            np.zeros(3),
            np.ones(3),
            *outs[:3],
            np.zeros(4),
        )


def test_forward_dtype_and_writability(kernel: ModuleType) -> None:
    outs = [np.zeros(2) for _ in range(4)]
    with pytest.raises(ValueError):
        kernel.budget_forward(np.array([-1, 0], dtype=np.int32), *[np.zeros(2)] * 4, *outs)
    with pytest.raises(ValueError):
        kernel.budget_forward(np.array([-1, 0], dtype=I64), *[np.zeros(2, np.float32)] * 4, *outs)
    with pytest.raises(ValueError):
        kernel.budget_forward(np.array([[-1, 0]], dtype=I64), *[np.zeros(2)] * 4, *outs)
    frozen = np.zeros(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError):
        kernel.budget_forward(np.array([-1, 0], dtype=I64), *[np.zeros(2)] * 4, *outs[:3], frozen)
    # read-only inputs are fine (const memoryviews)
    parent = np.array([-1, 0], dtype=I64)
    parent.flags.writeable = False
    assert kernel.budget_forward(parent, *[np.ones(2)] * 4, *outs) == kernel.OK


def test_forward_strided(kernel: ModuleType) -> None:
    # Non-contiguous views work: every other element of a longer array.
    parent = np.array([-1, 99, 0, 99, 1, 99], dtype=I64)[::2]
    edge = np.array([1.0, -1, 2.0, -1, 3.0, -1])[::2]
    out = np.zeros(6)[::2]
    outs = [out, np.zeros(3), np.zeros(3), np.zeros(3)]
    assert kernel.budget_forward(parent, edge, edge, edge, edge, *outs) == kernel.OK
    assert_array_equal(out, [1.0, 3.0, 6.0])
    assert_array_equal(outs[3], [1.0, 2.0, 6.0])


# ---------------------------------------------------------------------------------------------
# budget_check boundaries (exact binary values; one ULP either side)


def test_sensitivity_boundary_down(kernel: ModuleType) -> None:
    # rx_min_down = 5 - 20 - 3 = -18 exactly
    at = single_ont(kernel, ont_sens=[-18.0])
    assert at["rx_min_down_dbm"].tolist() == [-18.0]
    assert at["headroom_down_db"].tolist() == [0.0]
    assert at["ok_down"].tolist() == [1]
    below = single_ont(kernel, ont_sens=[math.nextafter(-18.0, math.inf)])
    assert below["ok_down"].tolist() == [0]
    assert below["headroom_down_db"][0] < 0.0


def test_overload_boundary_down(kernel: ModuleType) -> None:
    # rx_max_down = 9 - 20 = -11 exactly
    at = single_ont(kernel, ont_over=[-11.0])
    assert at["rx_max_down_dbm"].tolist() == [-11.0]
    assert at["ok_down"].tolist() == [1]
    over = single_ont(kernel, ont_over=[math.nextafter(-11.0, -math.inf)])
    assert over["ok_down"].tolist() == [0]


def test_sensitivity_and_overload_boundary_up(kernel: ModuleType) -> None:
    # rx_min_up = 4 - 20 - 3 = -19, rx_max_up = 8 - 20 = -12, against the port receiver
    at = single_ont(kernel, port_sens=[-19.0], port_over=[-12.0])
    assert at["rx_min_up_dbm"].tolist() == [-19.0]
    assert at["rx_max_up_dbm"].tolist() == [-12.0]
    assert at["ok_up"].tolist() == [1]
    assert at["ok_down"].tolist() == [1]  # downstream untouched by the port receiver
    below = single_ont(kernel, port_sens=[math.nextafter(-19.0, math.inf)], port_over=[-12.0])
    assert below["ok_up"].tolist() == [0]
    over = single_ont(kernel, port_sens=[-19.0], port_over=[math.nextafter(-12.0, -math.inf)])
    assert over["ok_up"].tolist() == [0]


def test_class_window_boundaries(kernel: ModuleType) -> None:
    # loss 20 both ways, margin 3: needs class_min <= 20 and 20 + 3 = 23 <= class_max
    assert single_ont(kernel, class_min=[20.0], class_max=[23.0])["class_ok"].tolist() == [1]
    up = math.nextafter(20.0, math.inf)
    assert single_ont(kernel, class_min=[up], class_max=[23.0])["class_ok"].tolist() == [0]
    down = math.nextafter(23.0, -math.inf)
    assert single_ont(kernel, class_min=[20.0], class_max=[down])["class_ok"].tolist() == [0]


def test_class_window_both_directions(kernel: ModuleType) -> None:
    # Downstream 20 dB fits 14..29 (20 + 3 = 23); upstream 26.5 + 3 = 29.5 > 29: fails.
    assert single_ont(kernel, cum_up=[26.5])["class_ok"].tolist() == [0]
    # Upstream 13.5 < 14: below the class minimum, fails too.
    assert single_ont(kernel, cum_up=[13.5])["class_ok"].tolist() == [0]
    assert single_ont(kernel, cum_up=[26.0])["class_ok"].tolist() == [1]  # 26 + 3 = 29


def test_check_empty(kernel: ModuleType) -> None:
    status, outs = check(
        kernel,
        ont_node=[],
        ont_port=[],
        cum_down=[],
        cum_up=[],
        port_tx_min=[],
        port_tx_max=[],
        port_sens=[],
        port_over=[],
        class_min=[],
        class_max=[],
        ont_tx_min=[],
        ont_tx_max=[],
        ont_sens=[],
        ont_over=[],
        margin=3.0,
    )
    assert status == kernel.OK


@pytest.mark.parametrize(("node", "port"), [(1, 0), (-1, 0), (0, 1), (0, -1)])
def test_check_bad_index(kernel: ModuleType, node: int, port: int) -> None:
    args = dict(
        ont_node=[node],
        ont_port=[port],
        cum_down=[20.0],
        cum_up=[20.0],
        port_tx_min=[5.0],
        port_tx_max=[9.0],
        port_sens=[-30.0],
        port_over=[-8.0],
        class_min=[14.0],
        class_max=[29.0],
        ont_tx_min=[4.0],
        ont_tx_max=[8.0],
        ont_sens=[-28.0],
        ont_over=[-9.0],
        margin=3.0,
    )
    status, _ = check(kernel, **args)
    assert status == kernel.ERR_BAD_INDEX


def test_check_length_mismatch_raises(kernel: ModuleType) -> None:
    base = dict(
        ont_node=[0],
        ont_port=[0],
        cum_down=[20.0],
        cum_up=[20.0],
        port_tx_min=[5.0],
        port_tx_max=[9.0],
        port_sens=[-30.0],
        port_over=[-8.0],
        class_min=[14.0],
        class_max=[29.0],
        ont_tx_min=[4.0],
        ont_tx_max=[8.0],
        ont_sens=[-28.0],
        ont_over=[-9.0],
        margin=3.0,
    )
    for key, value in [
        ("ont_port", [0, 0]),
        ("ont_sens", [-28.0, -28.0]),
        ("cum_up", [20.0, 20.0]),
        ("class_max", [29.0, 29.0]),
    ]:
        with pytest.raises(ValueError, match="has length"):
            check(kernel, **{**base, key: value})


# ---------------------------------------------------------------------------------------------
# Property tests: random forests, compared with the reference twin and a numpy oracle


def random_forest(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    parent = np.empty(n, dtype=I64)
    for i in range(n):
        parent[i] = -1 if i == 0 or rng.random() < 0.05 else rng.integers(0, i)
    return {
        "parent": parent,
        "down": rng.uniform(0.0, 15.0, n),
        "up": rng.uniform(0.0, 15.0, n),
        "length": rng.uniform(0.0, 5000.0, n),
        "split": rng.choice([1.0, 2.0, 4.0, 8.0, 16.0, 32.0], n),
    }


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), seed=st.integers(0, 2**32 - 1))
def test_forward_matches_reference_and_paths(kernel: ModuleType, n: int, seed: int) -> None:
    t = random_forest(n, seed)
    args = (t["parent"], t["down"], t["up"], t["length"], t["split"])
    status, got = forward(kernel, *args)
    ref_status, want = forward(reference, *args)
    assert status == ref_status == kernel.OK
    for g, w in zip(got, want, strict=True):
        assert_allclose(g, w, rtol=1e-12)
    # Independent oracle: walk each node's path up to its root, then add from the root down.
    parent = t["parent"].tolist()
    for i in range(n):
        path = [i]
        while parent[path[-1]] != -1:
            path.append(parent[path[-1]])
        path.reverse()
        loss = length = 0.0
        split = 1.0
        for j in path:
            loss += t["down"][j]
            length += t["length"][j]
            split *= t["split"][j]
        assert_allclose(got[0][i], loss, rtol=1e-12)
        assert_allclose(got[2][i], length, rtol=1e-12)
        assert_allclose(got[3][i], split, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 300),
    n_onts=st.integers(0, 300),
    n_ports=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
    margin=st.sampled_from([0.0, 1.0, 3.0, 2.5]),
)
def test_check_matches_reference_and_oracle(
    kernel: ModuleType, n: int, n_onts: int, n_ports: int, seed: int, margin: float
) -> None:
    rng = np.random.default_rng(seed)
    t = random_forest(n, seed)
    _, (cum_down, cum_up, _, _) = forward(
        reference, t["parent"], t["down"], t["up"], t["length"], t["split"]
    )
    args = dict(
        ont_node=rng.integers(0, n, n_onts),
        ont_port=rng.integers(0, n_ports, n_onts),
        cum_down=cum_down,
        cum_up=cum_up,
        port_tx_min=rng.uniform(0.0, 6.0, n_ports),
        port_tx_max=rng.uniform(6.0, 10.0, n_ports),
        port_sens=rng.uniform(-33.0, -26.0, n_ports),
        port_over=rng.uniform(-12.0, -6.0, n_ports),
        class_min=rng.uniform(5.0, 20.0, n_ports),
        class_max=rng.uniform(25.0, 40.0, n_ports),
        ont_tx_min=rng.uniform(0.0, 5.0, n_onts),
        ont_tx_max=rng.uniform(5.0, 9.0, n_onts),
        ont_sens=rng.uniform(-32.0, -25.0, n_onts),
        ont_over=rng.uniform(-12.0, -6.0, n_onts),
        margin=margin,
    )
    status, got = check(kernel, **args)
    ref_status, want = check(reference, **args)
    assert status == ref_status == kernel.OK
    for name in OUT_NAMES[:6]:
        assert_allclose(got[name], want[name], rtol=1e-12)
    for name in OUT_NAMES[6:]:
        assert_array_equal(got[name], want[name])

    # numpy oracle, same operation order, so exactly equal
    node, port = args["ont_node"], args["ont_port"]
    ld, lu = cum_down[node], cum_up[node]
    rx_min_d = args["port_tx_min"][port] - ld - margin
    rx_max_d = args["port_tx_max"][port] - ld
    rx_min_u = args["ont_tx_min"] - lu - margin
    rx_max_u = args["ont_tx_max"] - lu
    assert_array_equal(got["rx_min_down_dbm"], rx_min_d)
    assert_array_equal(got["rx_max_up_dbm"], rx_max_u)
    assert_array_equal(got["headroom_up_db"], rx_min_u - args["port_sens"][port])
    ok_d = (rx_min_d >= args["ont_sens"]) & (rx_max_d <= args["ont_over"])
    ok_u = (rx_min_u >= args["port_sens"][port]) & (rx_max_u <= args["port_over"][port])
    cmin, cmax = args["class_min"][port], args["class_max"][port]
    cls = (cmin <= ld) & (ld + margin <= cmax) & (cmin <= lu) & (lu + margin <= cmax)
    assert_array_equal(got["ok_down"], ok_d.astype(np.uint8))
    assert_array_equal(got["ok_up"], ok_u.astype(np.uint8))
    assert_array_equal(got["class_ok"], cls.astype(np.uint8))
