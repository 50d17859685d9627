"""Tests of the built-in catalogue: real values, consistency rules and error cases."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest

from ponmodel import catalog
from ponmodel.errors import CatalogError

XGS_CLASSES = ("N1", "N2", "E1", "E2")
STATUS_TAGS = ("STD", "VENDOR", "TYP", "DERIVED", "UNVERIFIED")


# ------------------------------------------------------------------------------------------
# optics classes
# ------------------------------------------------------------------------------------------
def test_names() -> None:
    assert catalog.TECHNOLOGY_NAMES == ("gpon", "xg-pon", "xgs-pon", "25gs-pon")
    assert catalog.OPTICS_CLASS_NAMES == ("B+", "C+", "N1", "N2", "E1", "E2")
    assert tuple(catalog.TECHNOLOGIES) == catalog.TECHNOLOGY_NAMES
    assert tuple(catalog.OPTICS_CLASSES) == catalog.TECHNOLOGY_NAMES


@pytest.mark.parametrize(
    ("tech", "names"),
    [
        ("gpon", ("B+", "C+")),
        ("xg-pon", XGS_CLASSES),
        ("xgs-pon", XGS_CLASSES),
        ("25gs-pon", XGS_CLASSES),
    ],
)
def test_classes_for(tech: str, names: tuple[str, ...]) -> None:
    assert catalog.classes_for(tech) == names
    for name in names:
        oc = catalog.optics_class(tech, name)
        assert (oc.name, oc.technology) == (name, tech)


@pytest.mark.parametrize("tech", ["xg-pon", "xgs-pon", "25gs-pon"])
@pytest.mark.parametrize(
    ("name", "window"), [("N1", (14, 29)), ("N2", (16, 31)), ("E1", (18, 33)), ("E2", (20, 35))]
)
def test_xgs_class_windows(tech: str, name: str, window: tuple[int, int]) -> None:
    oc = catalog.optics_class(tech, name)
    assert (oc.min_loss_db, oc.max_loss_db) == window


def test_xgs_transceiver_rows_match_veex_table() -> None:
    # facts §1.2: OLT Tx min/max, ONU Rx sens/overload, ONU Tx min/max, OLT Rx sens/overload
    expected = {
        "N1": (2.0, 5.0, -28.0, -9.0, 4.0, 9.0, -26.0, -5.0),
        "N2": (4.0, 7.0, -28.0, -9.0, 4.0, 9.0, -28.0, -7.0),
        "E1": (6.0, 9.0, -28.0, -9.0, 4.0, 9.0, -30.0, -9.0),
        "E2": (8.0, 11.0, -28.0, -9.0, 4.0, 9.0, -32.0, -11.0),
    }
    for name, row in expected.items():
        oc = catalog.optics_class("xgs-pon", name)
        got = (
            oc.olt_tx_min_dbm, oc.olt_tx_max_dbm, oc.onu_rx_sensitivity_dbm,
            oc.onu_rx_overload_dbm, oc.onu_tx_min_dbm, oc.onu_tx_max_dbm,
            oc.olt_rx_sensitivity_dbm, oc.olt_rx_overload_dbm,
        )
        assert got == row


@pytest.mark.parametrize("name", XGS_CLASSES)
def test_xgs_consistency_rule(name: str) -> None:
    # Rx_sens = Tx_min - max_loss - 1 dB path penalty; Rx_overload = Tx_max - min_loss,
    # e.g. N1 downstream: 2 - 29 - 1 = -28 dBm; overload 5 - 14 = -9 dBm.
    oc = catalog.optics_class("xgs-pon", name)
    assert oc.onu_rx_sensitivity_dbm == oc.olt_tx_min_dbm - oc.max_loss_db - 1.0
    assert oc.olt_rx_sensitivity_dbm == oc.onu_tx_min_dbm - oc.max_loss_db - 1.0
    assert oc.onu_rx_overload_dbm == oc.olt_tx_max_dbm - oc.min_loss_db
    assert oc.olt_rx_overload_dbm == oc.onu_tx_max_dbm - oc.min_loss_db


def test_gpon_classes() -> None:
    b = catalog.optics_class("gpon", "B+")
    assert (b.min_loss_db, b.max_loss_db) == (13.0, 28.0)
    assert (b.olt_tx_min_dbm, b.olt_tx_max_dbm) == (1.5, 5.0)
    assert (b.onu_rx_sensitivity_dbm, b.onu_rx_overload_dbm) == (-27.0, -8.0)
    assert (b.onu_tx_min_dbm, b.onu_tx_max_dbm) == (0.5, 5.0)
    assert (b.olt_rx_sensitivity_dbm, b.olt_rx_overload_dbm) == (-28.0, -8.0)
    # B+ holds the rule with a 0.5 dB path penalty: 1.5 - 28 - 0.5 = -27; 0.5 - 28 - 0.5 = -28
    assert b.onu_rx_sensitivity_dbm == b.olt_tx_min_dbm - b.max_loss_db - 0.5
    assert b.olt_rx_sensitivity_dbm == b.onu_tx_min_dbm - b.max_loss_db - 0.5
    assert b.onu_rx_overload_dbm == b.olt_tx_max_dbm - b.min_loss_db

    c = catalog.optics_class("gpon", "C+")
    assert (c.min_loss_db, c.max_loss_db) == (17.0, 32.0)
    # ONU sensitivity is -30 dBm (VeEX), not the -32 dBm some tools print (that is the OLT's)
    assert c.onu_rx_sensitivity_dbm == -30.0
    assert c.olt_rx_sensitivity_dbm == -32.0
    # 3 - 32 - 1 = -30 downstream; 0.5 - 32 - 0.5 = -32 upstream; 5 - 17 = -12 overload
    assert c.onu_rx_sensitivity_dbm == c.olt_tx_min_dbm - c.max_loss_db - 1.0
    assert c.olt_rx_sensitivity_dbm == c.onu_tx_min_dbm - c.max_loss_db - 0.5
    assert c.olt_rx_overload_dbm == c.onu_tx_max_dbm - c.min_loss_db


def test_every_class_is_ordered_and_sourced() -> None:
    for tech, classes in catalog.OPTICS_CLASSES.items():
        for oc in classes.values():
            assert oc.min_loss_db < oc.max_loss_db
            assert oc.olt_tx_min_dbm < oc.olt_tx_max_dbm
            assert oc.onu_tx_min_dbm < oc.onu_tx_max_dbm
            assert oc.onu_rx_sensitivity_dbm < oc.onu_rx_overload_dbm
            assert oc.olt_rx_sensitivity_dbm < oc.olt_rx_overload_dbm
            assert oc.name in catalog.OPTICS_CLASS_NAMES
            assert oc.technology == tech
            assert any(tag in oc.source for tag in STATUS_TAGS)


@pytest.mark.parametrize(
    ("tech", "name"),
    [("gpon", "N1"), ("xgs-pon", "B+"), ("xg-pon", "C+"), ("xgs-pon", "n1"), ("gpon", "C++")],
)
def test_optics_class_not_in_technology(tech: str, name: str) -> None:
    with pytest.raises(CatalogError, match=f"optics class '{re.escape(name)}'.*'{tech}'"):
        catalog.optics_class(tech, name)


def test_unknown_technology() -> None:
    for call in (
        lambda: catalog.optics_class("epon", "N1"),
        lambda: catalog.classes_for("epon"),
        lambda: catalog.technology("epon"),
    ):
        with pytest.raises(CatalogError, match="unknown technology 'epon'"):
            call()


def test_catalog_error_is_a_key_error_and_lookup_error() -> None:
    assert issubclass(CatalogError, KeyError)
    assert issubclass(CatalogError, LookupError)
    err = CatalogError("a readable message")
    assert str(err) == "a readable message"  # not quoted like a plain KeyError


def test_records_are_frozen() -> None:
    oc = catalog.optics_class("xgs-pon", "N1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        oc.max_loss_db = 40.0  # type: ignore[misc]
    t = catalog.technology("xgs-pon")
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.max_split = 256  # type: ignore[misc]


# ------------------------------------------------------------------------------------------
# technologies
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tech", "down_nm", "up_nm", "down_mbps", "up_mbps"),
    [
        ("gpon", 1490, 1310, 2488.32, 1244.16),
        ("xg-pon", 1577, 1270, 9953.28, 2488.32),
        ("xgs-pon", 1577, 1270, 9953.28, 9953.28),
        ("25gs-pon", 1358, 1270, 24883.2, 9953.28),
    ],
)
def test_technology_wavelengths_and_rates(
    tech: str, down_nm: int, up_nm: int, down_mbps: float, up_mbps: float
) -> None:
    t = catalog.technology(tech)
    assert t.name == tech
    assert (t.wavelength_down_nm, t.wavelength_up_nm) == (down_nm, up_nm)
    assert (t.line_rate_down_mbps, t.line_rate_up_mbps) == (down_mbps, up_mbps)
    # every wavelength has an attenuation figure
    catalog.fibre_attenuation_db_per_km(t.wavelength_down_nm)
    catalog.fibre_attenuation_db_per_km(t.wavelength_up_nm)


def test_ten_g_symmetric_rule() -> None:
    ten_g = {
        name
        for name, t in catalog.TECHNOLOGIES.items()
        if min(t.line_rate_down_mbps, t.line_rate_up_mbps) >= 9953.28
    }
    assert ten_g == {"xgs-pon", "25gs-pon"}


def test_xgs_downstream_capacity_reproduces_docstring_arithmetic() -> None:
    frame_b = 9953.28 * 125 / 8  # 155 520 B per 125 us
    assert frame_b == 155_520
    fs_frame_b = (frame_b - 24) / 248 * 216  # PSBd, RS(248,216): 627 codewords
    assert fs_frame_b == 627 * 216 == 135_432
    payload_b = fs_frame_b - 4 - 4 - 8 * 32 - 48  # HLend, BIP, BWmap, PLOAMd
    assert payload_b == 135_120
    assert payload_b * 8 / 125 == pytest.approx(8647.68, rel=1e-12)
    ethernet_mbps = payload_b * 1518 / (1520 + 8) * 8 / 125
    assert ethernet_mbps == pytest.approx(8591.085235602, rel=1e-10)
    t = catalog.technology("xgs-pon")
    assert t.capacity_down_mbps == pytest.approx(ethernet_mbps, rel=1e-12)
    assert catalog.technology("xg-pon").capacity_down_mbps == t.capacity_down_mbps


def test_xgs_upstream_capacity_reproduces_docstring_arithmetic() -> None:
    after_phy_b = 155_520 - 32 * 128  # 32 bursts, 128 B PHY overhead (ns-3 32 B at 2.5G x 4)
    assert after_phy_b == 151_424
    coded_b = after_phy_b * 216 / 248
    payload_b = coded_b - 32 * (4 + 4 + 4) - 48  # header, DBRu, trailer; one PLOAMu
    assert payload_b == pytest.approx(131_453.4193548, rel=1e-10)
    assert payload_b * 8 / 125 == pytest.approx(8413.0188387, rel=1e-9)
    ethernet_mbps = payload_b * 1518 / 1528 * 8 / 125
    t = catalog.technology("xgs-pon")
    assert t.capacity_up_mbps == pytest.approx(ethernet_mbps, rel=1e-12)
    assert round(t.capacity_up_mbps, 2) == 8357.96
    assert catalog.technology("25gs-pon").capacity_up_mbps == t.capacity_up_mbps


@pytest.mark.parametrize(
    ("tech", "down_mbps", "up_mbps"),
    [
        # numbers printed in the Technology docstring
        ("gpon", 2306.29, 1120.62),
        ("xg-pon", 8591.09, 2224.18),
        ("xgs-pon", 8591.09, 8357.96),
        ("25gs-pon", 21009.61, 8357.96),
    ],
)
def test_capacities_match_docstring(tech: str, down_mbps: float, up_mbps: float) -> None:
    t = catalog.technology(tech)
    assert round(t.capacity_down_mbps, 2) == down_mbps
    assert round(t.capacity_up_mbps, 2) == up_mbps
    assert t.capacity_down_mbps < t.line_rate_down_mbps
    assert t.capacity_up_mbps < t.line_rate_up_mbps


def test_gpon_capacity_arithmetic() -> None:
    down = (38_880 * 239 / 255 - (30 + 8 * 32)) * 1518 / 1523 * 8 / 125
    up = ((19_440 - 32 * 16) * 239 / 255 - 32 * 5 - 13) * 1518 / 1523 * 8 / 125
    t = catalog.technology("gpon")
    assert t.capacity_down_mbps == pytest.approx(down, rel=1e-12)
    assert t.capacity_up_mbps == pytest.approx(up, rel=1e-12)


def test_technology_limits() -> None:
    for t in catalog.TECHNOLOGIES.values():
        assert t.max_reach_m == 20_000.0
        assert t.max_differential_reach_m == 20_000.0
        assert t.max_split == 64
        assert t.max_differential_loss_db == 15.0
        assert "DERIVED" in t.source


# ------------------------------------------------------------------------------------------
# passive losses
# ------------------------------------------------------------------------------------------
def test_fibre_attenuation() -> None:
    assert set(catalog.FIBRE_ATTENUATION_DB_PER_KM) == {1270, 1310, 1358, 1490, 1577}
    for wavelength_nm in (1270, 1310, 1358, 1490, 1577):
        assert catalog.fibre_attenuation_db_per_km(wavelength_nm) == 0.40
    with pytest.raises(CatalogError, match="1550 nm"):
        catalog.fibre_attenuation_db_per_km(1550)


def test_balanced_splitter_table() -> None:
    expected = {2: 4.3, 4: 7.4, 8: 10.7, 16: 13.9, 32: 17.2, 64: 21.5, 128: 25.5,
                3: 6.2, 6: 9.8, 12: 12.5, 24: 16.5}
    assert catalog.BALANCED_SPLITTER_LOSS_DB == expected
    for ratio, loss_db in expected.items():
        assert catalog.balanced_splitter_loss_db(ratio) == loss_db
        assert loss_db > 10 * math.log10(ratio)  # never better than ideal
    ratios = sorted(expected)
    assert all(expected[a] < expected[b] for a, b in zip(ratios, ratios[1:], strict=False))


def test_balanced_splitter_untabulated() -> None:
    assert catalog.balanced_splitter_loss_db(5) == 9.8  # next tabulated: 1:6
    assert catalog.balanced_splitter_loss_db(48) == 21.5  # next tabulated: 1:64
    assert catalog.balanced_splitter_loss_db(100) == 25.5
    # above 1:128: ideal + the 1:128 excess (25.5 - 21.07 = 4.43 dB)
    loss_256 = catalog.balanced_splitter_loss_db(256)
    assert loss_256 == pytest.approx(10 * math.log10(256) + 25.5 - 10 * math.log10(128))
    assert loss_256 == pytest.approx(28.51, abs=0.005)


@pytest.mark.parametrize("ratio", [1, 0, -4])
def test_balanced_splitter_bad_ratio(ratio: int) -> None:
    with pytest.raises(CatalogError, match="ratio must be >= 2"):
        catalog.balanced_splitter_loss_db(ratio)


def test_tap_splitter_table() -> None:
    assert catalog.TAP_SPLITTER_LOSS_DB == {
        99: (0.15, 21.5), 95: (0.40, 14.8), 90: (0.65, 11.5), 80: (1.40, 8.4),
        70: (2.00, 6.4), 60: (2.60, 4.7), 50: (3.80, 3.8),
    }
    for percent, legs in catalog.TAP_SPLITTER_LOSS_DB.items():
        assert catalog.tap_splitter_loss_db(percent) == legs
        through_db, tap_db = legs
        assert through_db > -10 * math.log10(percent / 100)
        assert tap_db > -10 * math.log10(1 - percent / 100)


def test_tap_splitter_mirror_and_interpolation() -> None:
    assert catalog.tap_splitter_loss_db(30) == (6.4, 2.0)
    assert catalog.tap_splitter_loss_db(10) == (11.5, 0.65)
    # 85/15: ideal 0.706 / 8.239 dB plus the mean of the 80 and 90 rows' excesses
    through_excess = ((1.40 + 10 * math.log10(0.80)) + (0.65 + 10 * math.log10(0.90))) / 2
    tap_excess = ((8.4 + 10 * math.log10(0.20)) + (11.5 + 10 * math.log10(0.10))) / 2
    through_db, tap_db = catalog.tap_splitter_loss_db(85)
    assert through_db == pytest.approx(-10 * math.log10(0.85) + through_excess, rel=1e-12)
    assert tap_db == pytest.approx(-10 * math.log10(0.15) + tap_excess, rel=1e-12)
    assert (round(through_db, 2), round(tap_db, 2)) == (1.02, 9.69)
    # between its neighbours
    assert 0.65 < through_db < 1.40 and 8.4 < tap_db < 11.5


@pytest.mark.parametrize("percent", [0, 100, -5, 150])
def test_tap_splitter_bad_percent(percent: int) -> None:
    with pytest.raises(CatalogError, match="1..99"):
        catalog.tap_splitter_loss_db(percent)


def test_scalar_planning_values() -> None:
    assert catalog.CONNECTOR_LOSS_DB == 0.75
    assert catalog.SPLICE_LOSS_DB == 0.30
    assert catalog.SAFETY_MARGIN_DB == 3.0
    assert catalog.DEFAULT_COEXISTENCE_LOSS_DB == 1.5


def test_worked_budget_with_catalogue_figures() -> None:
    # XGS-PON N1, 2.4 km feeder + 1.6 km drop at 1270 nm, 1:32 + 1:4, 4 connectors, 6 splices:
    # 4.0 km * 0.40 = 1.6 fibre + 17.2 + 7.4 splitters + 4 * 0.75 = 3.0 + 6 * 0.3 = 1.8
    loss_db = (
        4.0 * catalog.fibre_attenuation_db_per_km(1270)
        + catalog.balanced_splitter_loss_db(32)
        + catalog.balanced_splitter_loss_db(4)
        + 4 * catalog.CONNECTOR_LOSS_DB
        + 6 * catalog.SPLICE_LOSS_DB
    )
    assert loss_db == pytest.approx(31.0)
    n1 = catalog.optics_class("xgs-pon", "N1")
    e1 = catalog.optics_class("xgs-pon", "E1")
    # 31.0 + 3.0 margin = 34.0 dB: beyond N1 (29) and E1 (33), within E2 (35)
    assert loss_db + catalog.SAFETY_MARGIN_DB > n1.max_loss_db
    assert loss_db + catalog.SAFETY_MARGIN_DB > e1.max_loss_db
    assert loss_db + catalog.SAFETY_MARGIN_DB <= catalog.optics_class("xgs-pon", "E2").max_loss_db


# ------------------------------------------------------------------------------------------
# ducts and cables
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("count", "ratio"), [(0, 0.53), (1, 0.53), (2, 0.31), (3, 0.40), (4, 0.40), (50, 0.40)]
)
def test_max_fill_ratio(count: int, ratio: float) -> None:
    assert catalog.max_fill_ratio(count) == ratio


def test_fill_rule_is_data() -> None:
    assert catalog.FILL_RATIO_BY_OCCUPANT_COUNT == {0: 0.53, 1: 0.53, 2: 0.31, 3: 0.40}
    with pytest.raises(CatalogError, match="occupant count"):
        catalog.max_fill_ratio(-1)


def test_cable_outer_diameter() -> None:
    assert catalog.CABLE_OUTER_DIAMETER_MM_BY_FIBRE_COUNT == {
        12: 12.0, 24: 12.0, 48: 12.6, 96: 14.0, 144: 17.5, 288: 21.0,
    }
    assert catalog.cable_outer_diameter_mm(1) == 12.0
    assert catalog.cable_outer_diameter_mm(48) == 12.6
    assert catalog.cable_outer_diameter_mm(49) == 14.0
    assert catalog.cable_outer_diameter_mm(288) == 21.0
    with pytest.raises(CatalogError, match="stops at 288"):
        catalog.cable_outer_diameter_mm(289)
    with pytest.raises(CatalogError, match="fibre count must be >= 1"):
        catalog.cable_outer_diameter_mm(0)
