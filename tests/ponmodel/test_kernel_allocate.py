"""Bandwidth allocation kernel (full load and peak per ONT), on both implementations."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from ponmodel import _splitcalc_py as reference

NONE, NON_ASSURED, BEST_EFFORT = 0, 1, 2


def run(
    kernel: ModuleType,
    port_start,
    capacity,
    fixed,
    assured,
    maximum,
    additional,
    weight=None,
) -> tuple[int, np.ndarray, np.ndarray]:
    n = len(fixed)
    full = np.full(n, -1.0)
    peak = np.full(n, -1.0)
    status = kernel.allocate(
        np.asarray(port_start, dtype=np.int64),
        np.asarray(capacity, dtype=np.float64),
        np.asarray(fixed, dtype=np.float64),
        np.asarray(assured, dtype=np.float64),
        np.asarray(maximum, dtype=np.float64),
        np.asarray(additional, dtype=np.int8),
        np.asarray([1.0] * n if weight is None else weight, dtype=np.float64),
        full,
        peak,
    )
    return status, full, peak


def ok(kernel: ModuleType, *args, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    status, full, peak = run(kernel, *args, **kwargs)
    assert status == kernel.OK
    return full, peak


# ---------------------------------------------------------------------------------------------
# Hand-computed cases, one per tier


def test_fixed_scaled_when_overbooked(kernel: ModuleType) -> None:
    # C = 1000, fixed 600 + 600 + 300 = 1500 > 1000: each scaled by 1000 / 1500
    # -> 400, 400, 200; nothing left for assured or the shared tiers.
    full, peak = ok(
        kernel,
        [0, 3],
        [1000.0],
        [600.0, 600.0, 300.0],
        [100.0, 100.0, 100.0],
        [2000.0, 2000.0, 2000.0],
        [NON_ASSURED, BEST_EFFORT, NON_ASSURED],
    )
    assert_allclose(full, [400.0, 400.0, 200.0], rtol=1e-12)
    # Peak: min(2000, C - others' fixed): 1000 - 900 = 100, 100, 1000 - 1200 < 0 -> 0.
    # Below the full-load share: with fixed overbooked, others' reservations exceed C.
    assert_allclose(peak, [100.0, 100.0, 0.0], rtol=1e-12)


def test_assured_scaled_in_what_is_left(kernel: ModuleType) -> None:
    # C = 1000, fixed 200 + 200 = 400 -> 600 left; assured 400 + 800 = 1200 > 600:
    # scaled by 600 / 1200 = 0.5 -> 200, 400. Full: 400, 600.
    full, peak = ok(
        kernel,
        [0, 2],
        [1000.0],
        [200.0, 200.0],
        [400.0, 800.0],
        [2000.0, 2000.0],
        [NON_ASSURED, NONE],
    )
    assert_allclose(full, [400.0, 600.0], rtol=1e-12)
    # ONT 0: min(2000, 1000 - 200) = 800; ONT 1 (none): min(200 + 800, 800) = 800
    assert_allclose(peak, [800.0, 800.0], rtol=1e-12)


def test_assured_fits(kernel: ModuleType) -> None:
    # C = 1000, fixed 100 + 100, assured 300 + 200 = 500 <= 800 left; then 300 left shared by
    # the one non-assured ONT asking 1000 - 100 - 300 = 600: it gets 300.
    full, _ = ok(kernel, [0, 2], [1000.0], [100.0, 100.0], [300.0, 200.0], [1000.0, 300.0], [1, 0])
    assert_allclose(full, [700.0, 300.0], rtol=1e-12)


def test_weighted_non_assured(kernel: ModuleType) -> None:
    # C = 1000, no fixed or assured; demands 100, 600, 600 with weights 1, 1, 2.
    # Order by demand/weight: ONT0 (100), ONT2 (300), ONT1 (600).
    #   level = 1000 / 4 = 250: ONT0 asks 100 <= 250 -> 100; 900 left, weight 3
    #   level = 900 / 3 = 300: ONT2 asks 600 <= 2 * 300 -> 600 (exactly at the level); 300 left
    #   level = 300 / 1 = 300: ONT1 asks 600 > 300 -> 300
    full, _ = ok(
        kernel,
        [0, 3],
        [1000.0],
        [0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0],
        [100.0, 600.0, 600.0],
        [NON_ASSURED] * 3,
        weight=[1.0, 1.0, 2.0],
    )
    assert_allclose(full, [100.0, 300.0, 600.0], rtol=1e-12)


def test_weighted_saturation_shares_by_weight(kernel: ModuleType) -> None:
    # C = 900, three ONTs asking 1000 each with weights 1, 2, 3: level 900 / 6 = 150
    # -> 150, 300, 450.
    full, _ = ok(
        kernel, [0, 3], [900.0], [0.0] * 3, [0.0] * 3, [1000.0] * 3, [1, 1, 1], [1.0, 2.0, 3.0]
    )
    assert_allclose(full, [150.0, 300.0, 450.0], rtol=1e-12)


def test_best_effort_after_non_assured(kernel: ModuleType) -> None:
    # C = 1000; fixed 100 + 100 -> 800 left.
    # Non-assured: ONT0 asks 500 - 100 = 400 -> 400 (level 800); 400 left.
    # Best-effort: ONT1 asks 1000 - 100 = 900, ONT2 asks 300; level 400 / 2 = 200:
    #   ONT2 (key 300) first: 300 > 200 -> saturated, both get 200.
    # Full: 100 + 400 = 500, 100 + 200 = 300, 200; sum 1000.
    full, peak = ok(
        kernel,
        [0, 3],
        [1000.0],
        [100.0, 100.0, 0.0],
        [0.0, 0.0, 0.0],
        [500.0, 1000.0, 300.0],
        [NON_ASSURED, BEST_EFFORT, BEST_EFFORT],
    )
    assert_allclose(full, [500.0, 300.0, 200.0], rtol=1e-12)
    # Peak: min(500, 1000 - 100) = 500; min(1000, 1000 - 100) = 900; min(300, 1000 - 200) = 300
    assert_allclose(peak, [500.0, 900.0, 300.0], rtol=1e-12)


def test_best_effort_gets_nothing_when_non_assured_saturates(kernel: ModuleType) -> None:
    # C = 1000; non-assured ONT0 asks 2000 -> takes all 1000; best-effort ONT1 gets 0.
    full, _ = ok(kernel, [0, 2], [1000.0], [0.0, 0.0], [0.0, 0.0], [2000.0, 2000.0], [1, 2])
    assert_allclose(full, [1000.0, 0.0], rtol=1e-12, atol=0.0)


def test_additional_none_gets_only_its_guarantee(kernel: ModuleType) -> None:
    # ONT0 (none): fixed 100 + assured 50 = 150, never more though 1000 is free;
    # ONT1 (non-assured, max 500) takes its 500; 350 stays unused.
    full, peak = ok(
        kernel, [0, 2], [1000.0], [100.0, 0.0], [50.0, 0.0], [1000.0, 500.0], [NONE, NON_ASSURED]
    )
    assert_allclose(full, [150.0, 500.0], rtol=1e-12)
    # Peak of ONT0 is its own cap fixed + assured = 150; ONT1: min(500, 1000 - 100) = 500
    assert_allclose(peak, [150.0, 500.0], rtol=1e-12)


def test_peak_capped_by_others_fixed(kernel: ModuleType) -> None:
    # C = 1000. ONT0: fixed 300, max 1000; ONT1: fixed 500, max 600.
    # Peak ONT0 = min(1000, 1000 - 500) = 500; ONT1 = min(600, 1000 - 300) = 600.
    full, peak = ok(kernel, [0, 2], [1000.0], [300.0, 500.0], [0.0, 0.0], [1000.0, 600.0], [1, 1])
    assert_allclose(peak, [500.0, 600.0], rtol=1e-12)
    # Full load: 200 left after fixed; demands 700 and 100 -> ONT1 100, ONT0 100
    assert_allclose(full, [400.0, 600.0], rtol=1e-12)


def test_non_positive_demand_gets_nothing_extra(kernel: ModuleType) -> None:
    # max below fixed + assured: demand 100 - 200 < 0 -> 0 in the shared tier; gets 200.
    # Negative figures count as zero: fixed -50 -> 0, demand 80 - 0 - 0 = 80.
    full, _ = ok(
        kernel, [0, 2], [1000.0], [150.0, -50.0], [50.0, 0.0], [100.0, 80.0], [1, 2], [1.0, 1.0]
    )
    assert_allclose(full, [200.0, 80.0], rtol=1e-12)


def test_several_ports_are_independent(kernel: ModuleType) -> None:
    # Port 0 has two ONTs, port 1 is empty, port 2 has one; C = 100, 50, 10.
    full, peak = ok(
        kernel,
        [0, 2, 2, 3],
        [100.0, 50.0, 10.0],
        [10.0, 10.0, 5.0],
        [0.0] * 3,
        [200.0] * 3,
        [1] * 3,
    )
    # port 0: 80 left, each asks 190 -> 40 each; port 2: 5 left, asks 195 -> 5
    assert_allclose(full, [50.0, 50.0, 10.0], rtol=1e-12)
    assert_allclose(peak, [90.0, 90.0, 10.0], rtol=1e-12)


def test_empty(kernel: ModuleType) -> None:
    status, full, peak = run(kernel, [0], [], [], [], [], [])
    assert status == kernel.OK
    status, full, peak = run(kernel, [0, 0, 0], [100.0, 0.0], [], [], [], [])
    assert status == kernel.OK


def test_zero_capacity(kernel: ModuleType) -> None:
    full, peak = ok(kernel, [0, 2], [0.0], [10.0, 0.0], [5.0, 5.0], [100.0, 100.0], [1, 2])
    assert_array_equal(full, [0.0, 0.0])
    assert_array_equal(peak, [0.0, 0.0])


# ---------------------------------------------------------------------------------------------
# Errors: status codes, and nothing written


@pytest.mark.parametrize(
    ("port_start", "additional", "weight", "code"),
    [
        ([0, 2], [1, 0], [0.0, 1.0], "ERR_BAD_WEIGHT"),
        ([0, 2], [0, 2], [1.0, -1.0], "ERR_BAD_WEIGHT"),
        ([0, 2], [0, 2], [1.0, float("nan")], "ERR_BAD_WEIGHT"),
        ([0, 2], [0, 2], [1.0, float("inf")], "ERR_BAD_WEIGHT"),
        ([0, 2], [3, 0], [1.0, 1.0], "ERR_BAD_INDEX"),
        ([0, 2], [-1, 0], [1.0, 1.0], "ERR_BAD_INDEX"),
        ([1, 2], [0, 0], [1.0, 1.0], "ERR_BAD_INDEX"),
        ([0, 3], [0, 0], [1.0, 1.0], "ERR_SHAPE"),
        ([0, 1], [0, 0], [1.0, 1.0], "ERR_SHAPE"),
    ],
)
def test_allocate_errors(
    kernel: ModuleType, port_start: list[int], additional: list[int], weight: list[float], code: str
) -> None:
    status, full, peak = run(
        kernel, port_start, [100.0], [1.0, 1.0], [1.0, 1.0], [50.0, 50.0], additional, weight
    )
    assert status == getattr(kernel, code)
    assert_array_equal(full, [-1.0, -1.0])
    assert_array_equal(peak, [-1.0, -1.0])


def test_first_bad_ont_decides(kernel: ModuleType) -> None:
    # Port 0 holds a bad weight (ONT 1), port 1 a bad tier code (ONT 2): ONT order decides.
    status, _, _ = run(
        kernel, [0, 2, 3], [10.0, 10.0], [0.0] * 3, [0.0] * 3, [5.0] * 3, [0, 1, 7], [1.0, 0.0, 1.0]
    )
    assert status == kernel.ERR_BAD_WEIGHT
    # ... but the CSR offsets are checked before any ONT
    status, _, _ = run(kernel, [0, 2, 4], [10.0, 10.0], [0.0] * 3, [0.0] * 3, [5.0] * 3, [7, 0, 0])
    assert status == kernel.ERR_SHAPE


def test_decreasing_port_start(kernel: ModuleType) -> None:
    status, full, _ = run(
        kernel, [0, 2, 1, 2], [1.0, 1.0, 1.0], [0.0] * 2, [0.0] * 2, [1.0] * 2, [0, 0]
    )
    assert status == kernel.ERR_BAD_INDEX
    assert_array_equal(full, [-1.0, -1.0])


def test_zero_weight_is_fine_outside_shared_tiers(kernel: ModuleType) -> None:
    full, _ = ok(kernel, [0, 1], [100.0], [10.0], [5.0], [50.0], [NONE], weight=[0.0])
    assert_allclose(full, [15.0], rtol=1e-12)


def test_allocate_length_mismatch_raises(kernel: ModuleType) -> None:
    with pytest.raises(ValueError, match="port_start"):
        run(kernel, [0, 1], [10.0, 10.0], [1.0], [1.0], [5.0], [1])
    with pytest.raises(ValueError, match="weight"):
        run(kernel, [0, 2], [10.0], [1.0, 1.0], [1.0, 1.0], [5.0, 5.0], [1, 1], weight=[1.0])
    with pytest.raises(ValueError, match="additional"):
        run(kernel, [0, 2], [10.0], [1.0, 1.0], [1.0, 1.0], [5.0, 5.0], [1])


def test_allocate_dtype_mismatch_raises(kernel: ModuleType) -> None:
    n = 2
    args = [
        np.array([0, n], dtype=np.int64),
        np.array([10.0]),
        np.zeros(n),
        np.zeros(n),
        np.ones(n),
        np.ones(n, dtype=np.int8),
        np.ones(n),
        np.zeros(n),
        np.zeros(n),
    ]
    assert kernel.allocate(*args) == kernel.OK
    bad = list(args)
    bad[5] = np.ones(n, dtype=np.int64)  # additional must be int8
    with pytest.raises(ValueError):
        kernel.allocate(*bad)
    bad = list(args)
    bad[0] = np.array([0, n], dtype=np.int32)
    with pytest.raises(ValueError):
        kernel.allocate(*bad)


# ---------------------------------------------------------------------------------------------
# Property tests


def random_ports(n_ports: int, seed: int) -> dict[str, np.ndarray]:
    """Random ports of 0..40 ONTs; some overbooked in fixed or assured, some idle."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(0, 41, n_ports)
    port_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(port_start[-1])
    scale = rng.choice([10.0, 100.0, 500.0], n_ports)[np.repeat(np.arange(n_ports), sizes)]
    fixed = np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0.0, 1.0, n) * scale)
    assured = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0.0, 1.0, n) * scale)
    extra = np.where(rng.random(n) < 0.1, 0.0, rng.uniform(0.0, 10.0, n) * scale)
    # Integer-valued weights sometimes, so that demand/weight ties (and exact levels) occur.
    weight = np.where(rng.random(n) < 0.5, rng.integers(1, 4, n), rng.uniform(0.1, 10.0, n))
    return {
        "port_start": port_start,
        "capacity": rng.choice([0.0, 1000.0, 2488.32, 9953.28, 20000.0], n_ports),
        "fixed": fixed,
        "assured": assured,
        "maximum": fixed + assured + extra,
        "additional": rng.integers(0, 3, n).astype(np.int8),
        "weight": weight.astype(np.float64),
    }


def fill(a: dict[str, np.ndarray]) -> tuple:
    return (
        a["port_start"],
        a["capacity"],
        a["fixed"],
        a["assured"],
        a["maximum"],
        a["additional"],
        a["weight"],
    )


@settings(max_examples=80, deadline=None)
@given(n_ports=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_allocate_matches_reference(kernel: ModuleType, n_ports: int, seed: int) -> None:
    a = random_ports(n_ports, seed)
    status, full, peak = run(kernel, *fill(a))
    ref_status, ref_full, ref_peak = run(reference, *fill(a))
    assert status == ref_status == kernel.OK
    assert_allclose(full, ref_full, rtol=1e-9)
    assert_allclose(peak, ref_peak, rtol=1e-9)


@settings(max_examples=80, deadline=None)
@given(n_ports=st.integers(1, 12), seed=st.integers(0, 2**32 - 1))
def test_allocate_invariants(kernel: ModuleType, n_ports: int, seed: int) -> None:
    a = random_ports(n_ports, seed)
    status, full, peak = run(kernel, *fill(a))
    assert status == kernel.OK
    assert_invariants(a, full, peak)


def wide_ports(n_ports: int, seed: int) -> dict[str, np.ndarray]:
    """Ports of 33..600 ONTs mostly in one shared tier, with many equal demand/weight keys."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(33, 601, n_ports)
    port_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(port_start[-1])
    fixed = rng.choice([0.0, 10.0], n)
    assured = rng.choice([0.0, 20.0], n)
    extra = rng.choice([0.0, 100.0, 300.0, 1000.0], n)
    return {
        "port_start": port_start,
        "capacity": rng.choice([5000.0, 20000.0, 1e6], n_ports),
        "fixed": fixed,
        "assured": assured,
        "maximum": fixed + assured + extra,
        "additional": rng.choice(np.array([0, 1, 1, 1, 1, 2], dtype=np.int8), n),
        "weight": rng.integers(1, 4, n).astype(np.float64),
    }


@settings(max_examples=25, deadline=None)
@given(n_ports=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_allocate_wide_ports(kernel: ModuleType, n_ports: int, seed: int) -> None:
    # Tiers of more than 32 ONTs take the kernel's merge-sort path.
    a = wide_ports(n_ports, seed)
    status, full, peak = run(kernel, *fill(a))
    ref_status, ref_full, ref_peak = run(reference, *fill(a))
    assert status == ref_status == kernel.OK
    assert_allclose(full, ref_full, rtol=1e-12)
    assert_allclose(peak, ref_peak, rtol=1e-12)
    assert_invariants(a, full, peak)


def assert_invariants(a: dict[str, np.ndarray], full: np.ndarray, peak: np.ndarray) -> None:
    """What the semantics guarantee per port (max >= fixed + assured in the data)."""
    n_ports = len(a["capacity"])
    ps = a["port_start"]
    for p in range(n_ports):
        s = slice(ps[p], ps[p + 1])
        cap = a["capacity"][p]
        tol = 1e-9 * max(cap, 1.0)
        f, g, mx = a["fixed"][s], a["assured"][s], a["maximum"][s]
        add, w = a["additional"][s], a["weight"][s]
        fl, pk = full[s], peak[s]
        own = np.where(add == NONE, f + g, mx)
        demand = np.where(add == NONE, f + g, mx)  # max >= fixed + assured here

        assert np.all(fl >= 0.0)
        assert fl.sum() <= cap + tol
        assert np.all(fl <= own + tol)
        # work-conserving: the port is full, or everyone has what it asks for
        assert_allclose(fl.sum(), min(cap, demand.sum()), rtol=0, atol=tol * max(1, len(fl)))

        # guarantees: fixed first (scaled only when overbooked), then assured
        sf, sg = f.sum(), g.sum()
        fixed_got = f if sf <= cap else f * (cap / sf)
        left = max(cap - sf, 0.0)
        assured_got = g if sg <= left else g * (left / sg)
        assert np.all(fl >= fixed_got + assured_got - tol)
        if sf + sg <= cap:
            assert np.all(fl >= f + g - tol)

        # weighted max-min fairness inside each shared tier: every ONT left short of its
        # demand got the same share per unit weight, and no satisfied ONT asked for more
        # than that per unit weight
        extra = fl - fixed_got - assured_got
        ask = mx - f - g
        short_tiers = []
        for tier in (NON_ASSURED, BEST_EFFORT):
            m = (add == tier) & (ask > 0)
            if not m.any():
                continue
            short = m & (extra < ask - tol)
            if short.any():
                short_tiers.append(tier)
                levels = extra[short] / w[short]
                level_tol = 2 * tol / w[m].min()
                assert_allclose(levels, levels[0], rtol=1e-9, atol=level_tol)
                sat = m & ~short
                assert np.all(ask[sat] / w[sat] <= levels[0] * (1 + 1e-9) + level_tol)
        if NON_ASSURED in short_tiers:
            assert np.all(extra[add == BEST_EFFORT] <= tol)

        # peak: never negative, never above the ONT's own cap, never above C minus the others'
        # fixed; at least the full-load share whenever fixed is not overbooked (the others then
        # hold at least their fixed, so full load already fits under the peak's cap)
        assert np.all(pk >= 0.0)
        assert np.all(pk <= own)
        assert np.all(pk <= np.maximum(cap - (sf - f), 0.0) + tol)
        if sf <= cap:
            assert np.all(pk >= fl - tol)
