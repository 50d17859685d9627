"""Built-in catalogue: every figure the network document leaves to "the built-in catalogue".

One data module, standard library only. Each figure carries its source (a short citation naming
the document and page, as in ``shared/reference/xgs-pon-facts.md``) and a status tag:

* ``STD``            normative value of a standard;
* ``STD (via X)``    a standard value seen only as reproduced by a third party X;
* ``VENDOR``         one product's datasheet maximum/minimum;
* ``TYP``            typical / planning value (not a limit);
* ``DERIVED``        computed here from other sourced numbers (formula shown);
* ``UNVERIFIED``     commonly quoted value with no retrievable source.

Selection rule: **worst-case design values**. Where sources give a range or disagree, the
catalogue takes the standard maximum for losses, the connectorised vendor maximum for
passive components, the class table's own limits for transceivers (minimum launch power,
sensitivity; never a better vendor module), the larger diameter for cables, and the lower
usable capacity where the capacity model has a choice. Each conflict is resolved in a comment
next to the figure, and the whole table, with the choices, is repeated in ``docs/catalog.md``.
A network document overrides any of these through its ``defaults`` block, its ports,
splitters, ONTs, links and cables.

Examples
--------
>>> from ponmodel import catalog
>>> oc = catalog.optics_class("xgs-pon", "N1")
>>> (oc.min_loss_db, oc.max_loss_db, oc.onu_rx_sensitivity_dbm)
(14.0, 29.0, -28.0)
>>> catalog.balanced_splitter_loss_db(32)
17.2
>>> catalog.fibre_attenuation_db_per_km(1270)
0.4
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ponmodel.errors import CatalogError

__all__ = [
    "BALANCED_SPLITTER_LOSS_DB",
    "CABLE_OUTER_DIAMETER_MM_BY_FIBRE_COUNT",
    "CONNECTOR_LOSS_DB",
    "DEFAULT_COEXISTENCE_LOSS_DB",
    "FIBRE_ATTENUATION_DB_PER_KM",
    "FILL_RATIO_BY_OCCUPANT_COUNT",
    "OPTICS_CLASSES",
    "OPTICS_CLASS_NAMES",
    "SAFETY_MARGIN_DB",
    "SPLICE_LOSS_DB",
    "TAP_SPLITTER_LOSS_DB",
    "TECHNOLOGIES",
    "TECHNOLOGY_NAMES",
    "CatalogError",
    "OpticsClass",
    "Technology",
    "balanced_splitter_loss_db",
    "cable_outer_diameter_mm",
    "classes_for",
    "fibre_attenuation_db_per_km",
    "max_fill_ratio",
    "optics_class",
    "tap_splitter_loss_db",
    "technology",
]


TECHNOLOGY_NAMES: tuple[str, ...] = ("gpon", "xg-pon", "xgs-pon", "25gs-pon")
OPTICS_CLASS_NAMES: tuple[str, ...] = ("B+", "C+", "N1", "N2", "E1", "E2")

# --------------------------------------------------------------------------------------------
# Citations used more than once (facts file §6 source index).
# --------------------------------------------------------------------------------------------
_VEEX_FX80 = (
    "VeEX FX80/FX81 PON OPM user manual p.20, 'ITU-T G.9807.1 Standard Pass/Fail Thresholds "
    "(10G symmetric)'"
)
_VEEX_FX120 = "VeEX FX120 online help 'PON ODN Classes' (follows G.9807.1 (10/2020) Amd 2)"
_FGW_P32 = "XGS-PON Fiber Gateway XSR150DX user manual p.32"
_CLASS_WINDOW = (
    "class window: hardwareregistry.com XGS-PON page (N1/N2 29-31 dB) and a public planner "
    "table (xgs_n1 min 14 max 29); minima corroborated by Tx_max - min_loss = overload in "
    "every VeEX row; G.9807.1 Table B.9.1 not retrieved"
)
_LINFRE_XGS = "blog.linfre.de/?p=46 'XGS-PON framing and overhead' (cites G.9807.1 Fig. C.10.2/3)"
_NS3 = "ns-3 XG-PON module ajerikko/xgpon4ns3-v3 (model/xgpon-phy.h, xgpon-xgtc-*.cc)"


# ============================================================================================
# Optics classes
# ============================================================================================
@dataclass(frozen=True, slots=True)
class OpticsClass:
    """Optical path loss class of a PON and the transceiver limits that go with it.

    Powers are mean launched / received powers in dBm at the technology's wavelengths; loss
    is the optical path loss (fibre, splitters, connectors, splices; not a CEx/WDM1r unless it
    sits in the ODN). The transceiver figures already include the standard's optical path
    penalty (1 dB for XGS-PON, 0.5-1 dB for G-PON): ``rx_sensitivity = tx_min - max_loss -
    path_penalty`` and ``rx_overload <= tx_max - min_loss`` hold for every sourced row.

    Parameters
    ----------
    name : str
        Class name, one of `OPTICS_CLASS_NAMES`.
    technology : str
        Technology name, one of `TECHNOLOGY_NAMES`.
    min_loss_db, max_loss_db : float
        Class window: minimum and maximum optical path loss, dB.
    olt_tx_min_dbm, olt_tx_max_dbm : float
        Downstream (OLT) transmitter mean launched power range, dBm.
    onu_rx_sensitivity_dbm, onu_rx_overload_dbm : float
        Downstream (ONU) receiver sensitivity and overload, dBm.
    onu_tx_min_dbm, onu_tx_max_dbm : float
        Upstream (ONU) transmitter mean launched power range, dBm.
    olt_rx_sensitivity_dbm, olt_rx_overload_dbm : float
        Upstream (OLT) receiver sensitivity and overload, dBm.
    source : str
        Citation and status tag of every figure above.

    Examples
    --------
    >>> oc = optics_class("xgs-pon", "E1")
    >>> oc.olt_tx_min_dbm - oc.max_loss_db - 1.0 == oc.onu_rx_sensitivity_dbm
    True
    """

    name: str
    technology: str
    min_loss_db: float
    max_loss_db: float
    olt_tx_min_dbm: float
    olt_tx_max_dbm: float
    onu_rx_sensitivity_dbm: float
    onu_rx_overload_dbm: float
    onu_tx_min_dbm: float
    onu_tx_max_dbm: float
    olt_rx_sensitivity_dbm: float
    olt_rx_overload_dbm: float
    source: str


def _xgs_class(technology: str, name: str, note: str) -> OpticsClass:
    """Build the G.9807.1 class row `name` for `technology` (see `_XGS_ROWS`)."""
    row = _XGS_ROWS[name]
    return OpticsClass(name, technology, *row[0], source=f"{row[1]}{note}")


# G.9807.1 (XGS-PON) classes at 1577 nm down / 1270 nm up. Columns: min_loss, max_loss,
# OLT Tx min/max, ONU Rx sens/overload, ONU Tx min/max, OLT Rx sens/overload.
# Conflict (facts §5.1): jjsats.co.th prints ONU sensitivity -29/-30 dBm and public planners
# print -29 dBm or OLT Tx max 7/9 dBm for N1/N2; the catalogue uses VeEX/FGW (the standard's
# pass/fail thresholds, which also satisfy the consistency rule), i.e. the worse values.
_Row = tuple[float, float, float, float, float, float, float, float, float, float]
_XGS_ROWS: dict[str, tuple[_Row, str]] = {
    "N1": (
        (14.0, 29.0, 2.0, 5.0, -28.0, -9.0, 4.0, 9.0, -26.0, -5.0),
        f"STD (via VeEX): {_VEEX_FX80}; ONU side also {_FGW_P32}; {_CLASS_WINDOW}",
    ),
    "N2": (
        (16.0, 31.0, 4.0, 7.0, -28.0, -9.0, 4.0, 9.0, -28.0, -7.0),
        f"STD (via VeEX): {_VEEX_FX80}; ONU side also {_FGW_P32}; {_CLASS_WINDOW}",
    ),
    "E1": (
        (18.0, 33.0, 6.0, 9.0, -28.0, -9.0, 4.0, 9.0, -30.0, -9.0),
        f"STD (via VeEX): {_VEEX_FX80}; ONU side also {_FGW_P32}; {_CLASS_WINDOW}",
    ),
    # E2: downstream from FX120 only; the upstream row is DERIVED from the consistency rule
    # (ONU Tx as N1-E1; OLT Rx sens = 4 - 35 - 1 = -32, overload = 9 - 20 = -11 dBm).
    "E2": (
        (20.0, 35.0, 8.0, 11.0, -28.0, -9.0, 4.0, 9.0, -32.0, -11.0),
        f"STD (via VeEX) downstream: {_VEEX_FX120}; upstream DERIVED (ONU Tx as N1-E1, "
        f"OLT Rx = Tx_min - 35 - 1 dB and Tx_max - 20 dB); {_CLASS_WINDOW}",
    ),
}

_GPON_CLASSES: dict[str, OpticsClass] = {
    # G.984.2 Amd 1 B+. Consistency with a 0.5 dB path penalty: DS 1.5 - 28 - 0.5 = -27,
    # US 0.5 - 28 - 0.5 = -28; overload 5 - 13 = -8 both ways.
    "B+": OpticsClass(
        "B+", "gpon", 13.0, 28.0, 1.5, 5.0, -27.0, -8.0, 0.5, 5.0, -28.0, -8.0,
        source=(
            "STD (via 2 sources): TechTarget answer quoting G.984.2 Amd 1 (Feb 2006) for all "
            "powers; VeEX FX120 'PON ODN Classes' B+ (OLT +1.5..+5, ONT -27..-8); max 28 dB: "
            "FS community 'Class B+ vs Class C+', jjsats.co.th; min 13 dB UNVERIFIED"
        ),
    ),
    # G.984.2 Amd 2 C+. DS: 3 - 32 - 1 = -30; US: 0.5 - 32 - 0.5 = -32; US overload
    # 5 - 17 = -12. Conflict (facts §5.2): planning tools print ONU sensitivity -32 dBm for C+;
    # -32 is the OLT sensitivity, the ONU's is -30 (VeEX). The catalogue uses -30 (worse).
    # Not mixed with VeEX FX80's 'B+/C+ at 9.95328 Gb/s' rows (combo/MPM optics, facts §1.2).
    "C+": OpticsClass(
        "C+", "gpon", 17.0, 32.0, 3.0, 7.0, -30.0, -8.0, 0.5, 5.0, -32.0, -12.0,
        source=(
            "window 17-32 dB: VENDOR Sino-Telecom C+ OLT module ('17~32 dB ... with FEC'); "
            "OLT Tx / ONU Rx: STD (via vendor) VeEX FX120 'Ext C+' (+3..+7, -30..-8) and "
            "Huawei H901CGHF GPON Tx 3-7 dBm; OLT Rx -32/-12: VENDOR Huawei H901CGHF "
            "(xponshop.com), Huawei GPBD C+; ONU Tx +0.5..+5: UNVERIFIED (G.984.2 Amd 2, "
            "not retrieved)"
        ),
    ),
}

_XG_NOTE = (
    "; used for xg-pon as a stand-in: UNVERIFIED (G.987.2 power tables not retrieved; "
    "class windows N1 14-29, N2 16-31, E1 18-33, E2 20-35 dB per facts §1.5)"
)
_25GS_NOTE = (
    "; used for 25gs-pon as a documented assumption: UNVERIFIED (25GS-PON MSA power classes "
    "not retrieved; only 'N1-type 29 dB' is, facts §1.6); upstream at 1270 nm as XGS-PON"
)

#: Optics classes per technology: ``OPTICS_CLASSES[technology][class_name]``.
OPTICS_CLASSES: dict[str, dict[str, OpticsClass]] = {
    "gpon": _GPON_CLASSES,
    "xg-pon": {n: _xgs_class("xg-pon", n, _XG_NOTE) for n in _XGS_ROWS},
    "xgs-pon": {n: _xgs_class("xgs-pon", n, "") for n in _XGS_ROWS},
    "25gs-pon": {n: _xgs_class("25gs-pon", n, _25GS_NOTE) for n in _XGS_ROWS},
}


def _unknown_technology(name: str) -> CatalogError:
    msg = f"unknown technology {name!r}; expected one of {', '.join(TECHNOLOGY_NAMES)}"
    return CatalogError(msg)


def classes_for(technology: str) -> tuple[str, ...]:
    """Names of the optics classes that belong to a technology.

    gpon has B+ and C+ (G.984.2); xg-pon and xgs-pon have N1, N2, E1, E2 (G.987.2,
    G.9807.1). For 25gs-pon the catalogue assumes N1..E2 with the XGS-PON figures (the MSA's
    classes were not retrieved).

    Parameters
    ----------
    technology : str
        One of `TECHNOLOGY_NAMES`.

    Returns
    -------
    tuple of str
        Class names, in `OPTICS_CLASS_NAMES` order.

    Raises
    ------
    CatalogError
        If the technology is unknown.

    Examples
    --------
    >>> classes_for("gpon")
    ('B+', 'C+')
    >>> classes_for("xgs-pon")
    ('N1', 'N2', 'E1', 'E2')
    """
    try:
        return tuple(OPTICS_CLASSES[technology])
    except KeyError:
        raise _unknown_technology(technology) from None


def optics_class(technology: str, name: str) -> OpticsClass:
    """The optics class `name` of `technology`.

    Parameters
    ----------
    technology : str
        One of `TECHNOLOGY_NAMES`.
    name : str
        One of ``classes_for(technology)``.

    Returns
    -------
    OpticsClass

    Raises
    ------
    CatalogError
        If the technology is unknown or the class does not belong to it.

    Examples
    --------
    >>> oc = optics_class("gpon", "B+")
    >>> (oc.min_loss_db, oc.max_loss_db, oc.olt_tx_min_dbm, oc.onu_rx_sensitivity_dbm)
    (13.0, 28.0, 1.5, -27.0)
    >>> optics_class("gpon", "N1")
    Traceback (most recent call last):
    ...
    ponmodel.errors.CatalogError: optics class 'N1' does not belong to technology 'gpon'; expected one of B+, C+
    """  # noqa: E501
    allowed = classes_for(technology)
    if name not in allowed:
        msg = (
            f"optics class {name!r} does not belong to technology {technology!r}; "
            f"expected one of {', '.join(allowed)}"
        )
        raise CatalogError(msg)
    return OPTICS_CLASSES[technology][name]


# ============================================================================================
# Technologies and the usable-capacity model
# ============================================================================================
_FRAME_US = 125  # every ITU PON here uses a 125 us frame: bytes per frame = Mbit/s * 125 / 8
_ETHERNET_FRAME_BYTES = 1518  # assumption: full-size untagged Ethernet frames, one per XGEM/GEM
_ALLOCATIONS_PER_FRAME = 32  # assumption: 32 allocations (= 32 upstream bursts) per frame
_PLOAM_PER_FRAME = 1  # assumption: one PLOAM message per frame in each direction


def _usable_capacity_mbps(
    line_rate_mbps: float,
    *,
    phy_overhead_bytes: float,
    fec_data_bytes: int,
    fec_codeword_bytes: int,
    framing_overhead_bytes: float,
    encap_header_bytes: int,
    encap_word_bytes: int,
) -> float:
    """Ethernet-frame throughput of one direction of a PON port (see `Technology`)."""
    frame_bytes = line_rate_mbps * _FRAME_US / 8
    coded = (frame_bytes - phy_overhead_bytes) * fec_data_bytes / fec_codeword_bytes
    payload = coded - framing_overhead_bytes
    padded = math.ceil(_ETHERNET_FRAME_BYTES / encap_word_bytes) * encap_word_bytes
    efficiency = _ETHERNET_FRAME_BYTES / (padded + encap_header_bytes)
    return payload * efficiency * 8 / _FRAME_US


_N = _ALLOCATIONS_PER_FRAME

# XG(S)-PON downstream (G.987.3 / G.9807.1 framing): PSBd 24 B; RS(248,216); FS header HLend
# 4 B + BIP trailer 4 B + BWmap 8 B per allocation + PLOAMd 48 B each; XGEM header 8 B, payload
# padded to 4 B words. Sources: linfre blog p=46; ns-3 XGPON1_DS_PSB_SIZE, XGPON1_FEC_* sizes,
# XGPON_XGTC_BW_ALLOCATION_LENGTH, XGPON_XGTC_PLOAM_LENGTH, XGPON_XGEM_HEADER_LENGTH.
_XGTC_DS = dict(
    phy_overhead_bytes=24, fec_data_bytes=216, fec_codeword_bytes=248,
    framing_overhead_bytes=4 + 4 + 8 * _N + 48 * _PLOAM_PER_FRAME,
    encap_header_bytes=8, encap_word_bytes=4,
)
# XG(S)-PON upstream burst: XGTC header 4 B + DBRu 4 B (one allocation per burst) + trailer
# 4 B; PLOAMu 48 B once per frame. PHY burst overhead (guard + preamble + delimiter): ns-3's
# XG-PON default is 8 + 20 + 4 = 32 B at 2.48832 Gb/s (TYP, model default); burst-mode
# receivers need a time, not a bit count, so the same 102.9 ns is taken at other rates
# (DERIVED): 128 B at 9.95328 Gb/s, 16 B at 1.24416 Gb/s. The G.9807.1 Annex B overhead table
# was not retrieved (facts §1.3): this is the least-sourced input of the model.
_XGTC_US_FRAMING = 12 * _N + 48 * _PLOAM_PER_FRAME
_PHY_BURST_BYTES_2G5 = 8 + 20 + 4


@dataclass(frozen=True, slots=True)
class Technology:
    """A PON technology: wavelengths, line rates, usable capacity and reach limits.

    Usable capacity (``capacity_down_mbps``, ``capacity_up_mbps``) is the Ethernet-frame
    throughput at full load, the ``C`` of the spec's "Bandwidth at full load". It is DERIVED,
    per 125 us frame, as::

        bytes/frame = line_rate_mbps * 125 / 8
        coded       = (bytes/frame - PHY overhead) * k / n            (FEC RS or LDPC (n, k))
        payload     = coded - framing overhead (headers, BWmap/DBRu, PLOAM)
        C           = payload * 1518 / (1518 padded to the encapsulation word + header)
                      * 8 / 125                                                   [Mbit/s]

    Assumptions (worst-case where the standard leaves a choice): FEC on in both directions
    (mandatory for XGS-PON downstream; optional elsewhere, and on is the lower capacity);
    32 allocations per frame, each its own upstream burst (every ONU of a 1:32 PON, or half of a
    1:64 PON, granted in every frame); one PLOAM per frame each way; 1518-byte Ethernet frames,
    one per XGEM/GEM frame (fragmentation ignored); Ethernet preamble and inter-frame gap not
    counted (a speed test would count +20 B per frame, about +1.3 %).

    XGS-PON downstream (9953.28 Mbit/s)::

        155 520 B - 24 B PSBd                      = 155 496 B
        * 216/248  (RS(248,216), 627 codewords)    = 135 432 B FS frame
        - 4 HLend - 4 BIP - 8*32 BWmap - 48 PLOAMd = 135 120 B               -> 8 647.68 Mbit/s
        * 1518/1528 (XGEM header 8 B, 1518 padded to 1520 B) = 134 235.7 B   -> 8 591.09 Mbit/s

    XGS-PON upstream (9953.28 Mbit/s)::

        155 520 B - 32 bursts * 128 B PHY overhead = 151 424 B
        * 216/248  (RS(248,216) per burst)         = 131 885.42 B
        - 32 * (4 header + 4 DBRu + 4 trailer) - 48 PLOAMu = 131 453.42 B    -> 8 413.02 Mbit/s
        * 1518/1528                                = 130 593.1 B             -> 8 357.96 Mbit/s

    (The facts file's "~8.6 down / ~8.5 up" planning figures; with 64 bursts per frame the
    upstream drops to 8 106.7 Mbit/s, with 64-byte PHY overhead it rises to 8 471.4.)

    Others, same method:

    * xg-pon down = xgs-pon down, 8 591.09; up (2488.32): (38 880 - 32*32) * 232/248
      (RS(248,232)) - 32*12 - 48 = 34 981.68 B, * 1518/1528 -> 2 224.18 Mbit/s (ns-3 uses
      2 150-2 240 for its DBA).
    * gpon down (2488.32): 38 880 * 239/255 (RS(255,239)) - (30 PCBd + 8*32 BWmap) =
      36 154.47 B, * 1518/1523 (GEM header 5 B, no padding) -> 2 306.29 Mbit/s (planners'
      92 % rule gives 2 289). Up (1244.16): (19 440 - 32*16) * 239/255 - 32*(3 PLOu + 2 DBRu)
      - 13 PLOAMu = 17 567.36 B, * 1518/1523 -> 1 120.62 Mbit/s.
    * 25gs-pon down (24883.2): (388 800 - 24) * 14 592/17 152 (LDPC) - (8 + 8*32 + 48) =
      330 437.73 B, * 1518/1528 -> 21 009.61 Mbit/s (published "about 21 Gb/s"). Up: the
      9953.28 Mbit/s XGS-PON upstream, 8 357.96 Mbit/s.

    Parameters
    ----------
    name : str
        One of `TECHNOLOGY_NAMES`.
    wavelength_down_nm, wavelength_up_nm : int
        Nominal wavelengths used for fibre attenuation, nm.
    line_rate_down_mbps, line_rate_up_mbps : float
        Nominal line rates, Mbit/s.
    capacity_down_mbps, capacity_up_mbps : float
        Usable capacity model (above), Mbit/s.
    max_reach_m : float
        Maximum physical reach OLT to ONU, m.
    max_differential_reach_m : float
        Maximum fibre distance between the nearest and the farthest ONU of a port, m.
    max_split : int
        Maximum split ratio (ONUs per port) designed for.
    max_differential_loss_db : float
        Maximum optical path loss difference between ONUs of a port, dB.
    source : str
        Citations and status tags.

    Examples
    --------
    >>> t = technology("xgs-pon")
    >>> (t.wavelength_down_nm, t.wavelength_up_nm, t.line_rate_up_mbps)
    (1577, 1270, 9953.28)
    >>> round(t.capacity_down_mbps, 2), round(t.capacity_up_mbps, 2)
    (8591.09, 8357.96)
    """

    name: str
    wavelength_down_nm: int
    wavelength_up_nm: int
    line_rate_down_mbps: float
    line_rate_up_mbps: float
    capacity_down_mbps: float
    capacity_up_mbps: float
    max_reach_m: float
    max_differential_reach_m: float
    max_split: int
    max_differential_loss_db: float
    source: str


_XGS_US_CAPACITY_MBPS = _usable_capacity_mbps(
    9953.28, phy_overhead_bytes=_N * 4 * _PHY_BURST_BYTES_2G5,
    fec_data_bytes=216, fec_codeword_bytes=248, framing_overhead_bytes=_XGTC_US_FRAMING,
    encap_header_bytes=8, encap_word_bytes=4,
)
_XGTC_DS_CAPACITY_MBPS = _usable_capacity_mbps(9953.28, **_XGTC_DS)

# Common limits. Reach 20 km: G.984.x physical reach and DD20 category (G.987.2 §6.2) /
# hardwareregistry "20 km (standard) / 60 km (logical)"; the 40 km (DD40, Huawei boards) and
# 60 km logical figures are options, not the design default (facts §5.6). Split 1:64: the
# standards' design split (G.984.x "up to 1:64", G.987.1 ">= 1:64", FGW manual "typically
# 1:64"); logical limits are 1:128 (GPON) and 1:256 (XG/XGS) and can be set per port.
# Differential loss 15 dB: UNVERIFIED (G.987.2/G.9807.1 value, not retrieved).
_LIMITS = (
    "reach 20 km & differential 20 km: STD (via summary) G.984.7 summary (der-lab), G.987.2 "
    "TOC §6.2 DD20, hardwareregistry.com; split 1:64: STD/TYP G.984.x, G.987.1 TOC, FGW "
    "XSR150DX manual p.19 ('typically 1:64'); differential loss 15 dB: UNVERIFIED"
)

#: Technologies by name.
TECHNOLOGIES: dict[str, Technology] = {
    "gpon": Technology(
        "gpon", 1490, 1310, 2488.32, 1244.16,
        capacity_down_mbps=_usable_capacity_mbps(
            2488.32, phy_overhead_bytes=0, fec_data_bytes=239, fec_codeword_bytes=255,
            framing_overhead_bytes=30 + 8 * _N, encap_header_bytes=5, encap_word_bytes=1,
        ),
        capacity_up_mbps=_usable_capacity_mbps(
            1244.16, phy_overhead_bytes=_N * _PHY_BURST_BYTES_2G5 / 2,
            fec_data_bytes=239, fec_codeword_bytes=255,
            framing_overhead_bytes=_N * (3 + 2) + 13, encap_header_bytes=5, encap_word_bytes=1,
        ),
        max_reach_m=20_000.0, max_differential_reach_m=20_000.0, max_split=64,
        max_differential_loss_db=15.0,
        source=(
            "rates STD: linfre G-PON post (blog.linfre.de/2022/02/g-pon-framing-and-overhead), "
            "G.984.2 summary; wavelengths STD (via vendor): Huawei forum 'Principles of the GPON "
            "feature', VeEX FX120; DS frame 38 880 B, PCBd 38 B with one BWmap entry: linfre; "
            "RS(255,239): fiberoptictel.com; GEM header 5 B: STD (G.984.3, not re-verified); "
            "PLOu 3 B, DBRu 2 B, PLOAMu 13 B: UNVERIFIED (G.984.3 as remembered); capacity "
            f"DERIVED (Technology docstring); {_LIMITS}"
        ),
    ),
    "xg-pon": Technology(
        "xg-pon", 1577, 1270, 9953.28, 2488.32,
        capacity_down_mbps=_XGTC_DS_CAPACITY_MBPS,
        capacity_up_mbps=_usable_capacity_mbps(
            2488.32, phy_overhead_bytes=_N * _PHY_BURST_BYTES_2G5,
            fec_data_bytes=232, fec_codeword_bytes=248,
            framing_overhead_bytes=_XGTC_US_FRAMING, encap_header_bytes=8, encap_word_bytes=4,
        ),
        max_reach_m=20_000.0, max_differential_reach_m=20_000.0, max_split=64,
        max_differential_loss_db=15.0,
        source=(
            "rates STD: G.987.2 summary (itu.int), ns-3 XGPON1_*_LINE_RATE; wavelengths STD "
            "(via blog): fiberoptictel.com, telecomtrainer.com; FEC DS RS(248,216), US "
            f"RS(248,232): {_NS3}, cdalamagkas/XGPON_Simulator PHY_Payload.m; US PHY overhead "
            "32 B: ns-3 default (TYP); capacity DERIVED (Technology docstring); "
            f"{_LIMITS}"
        ),
    ),
    "xgs-pon": Technology(
        "xgs-pon", 1577, 1270, 9953.28, 9953.28,
        capacity_down_mbps=_XGTC_DS_CAPACITY_MBPS,
        capacity_up_mbps=_XGS_US_CAPACITY_MBPS,
        max_reach_m=20_000.0, max_differential_reach_m=20_000.0, max_split=64,
        max_differential_loss_db=15.0,
        source=(
            f"rates STD: G.9807.1 via {_VEEX_FX80}, FGW XSR150DX manual p.37; wavelengths "
            f"STD (via vendor): FGW XSR150DX manual p.19/p.32; framing: {_LINFRE_XGS}, "
            f"{_NS3}; US RS(248,216) per burst: linfre 25GS post (verify G.9807.1 C.10); "
            "US PHY overhead 128 B DERIVED (ns-3 32 B at 2.5G scaled by time); capacity "
            f"DERIVED (Technology docstring); {_LIMITS}"
        ),
    ),
    # 25GS-PON: upstream 9953.28 Mbit/s (the MSA's 25/10 variant) rather than the symmetric
    # 24883.2 option: worst case for capacity, and still meets the spec's 10G-symmetric rule
    # (>= 9953.28 both ways). Reach/split/differential as XGS-PON: UNVERIFIED assumption.
    "25gs-pon": Technology(
        "25gs-pon", 1358, 1270, 24883.2, 9953.28,
        capacity_down_mbps=_usable_capacity_mbps(
            24883.2, phy_overhead_bytes=24, fec_data_bytes=14592, fec_codeword_bytes=17152,
            framing_overhead_bytes=4 + 4 + 8 * _N + 48 * _PLOAM_PER_FRAME,
            encap_header_bytes=8, encap_word_bytes=4,
        ),
        capacity_up_mbps=_XGS_US_CAPACITY_MBPS,
        max_reach_m=20_000.0, max_differential_reach_m=20_000.0, max_split=64,
        max_differential_loss_db=15.0,
        source=(
            "rates STD (MSA): linfre 25GS post (blog.linfre.de/?p=56; 388 800 B/frame, "
            "LDPC(17152,14592)), 25GS MSA summary (scribd: US 24.8832 or 9.95328 Gb/s); DS "
            "1358 nm: rfessentials.com glossary, network-document spec; US 1270 nm: spec, "
            "UNVERIFIED in the MSA; PSBd 24 B and XGTC-like framing assumed as XGS-PON "
            "(UNVERIFIED); payload ~21 Gb/s TYP: FiberConnect MENA article; capacity DERIVED "
            "(Technology docstring); limits as XGS-PON: UNVERIFIED assumption"
        ),
    ),
}


def technology(name: str) -> Technology:
    """The technology `name`.

    Parameters
    ----------
    name : str
        One of `TECHNOLOGY_NAMES`.

    Returns
    -------
    Technology

    Raises
    ------
    CatalogError
        If the name is unknown.

    Examples
    --------
    >>> technology("gpon").wavelength_down_nm
    1490
    >>> technology("25gs-pon").line_rate_down_mbps
    24883.2
    """
    try:
        return TECHNOLOGIES[name]
    except KeyError:
        raise _unknown_technology(name) from None


# ============================================================================================
# Fibre
# ============================================================================================
#: Cabled single-mode fibre attenuation, dB/km, worst-case design (G.652.D maximum).
#: Conflict: typical/planning values are lower (0.34-0.35 at 1310 nm: HNK G.652.D datasheet,
#: jjsats, Huawei forum; 0.25 at 1490 nm: jjsats; 0.22-0.25 at 1577 nm: DERIVED from HNK /
#: Machineu 1550 and 1625 nm maxima). The catalogue takes the G.652.D cabled maximum
#: 0.40 dB/km over 1310-1625 nm at every PON wavelength (STD as remembered, G.652 (11/2016)
#: Table 2 not retrieved: UNVERIFIED), matching jjsats.co.th "for system design, a loss value
#: of 0.4 dB/km should be allowed" (TYP). 1270 nm lies below the 1310-1625 nm window; 0.40 is
#: the facts file's design value there (typical DERIVED by Rayleigh lambda^-4 scaling of
#: 0.34 dB/km at 1310 nm: 0.38), UNVERIFIED/DERIVED. 1358 nm is inside the window (low water
#: peak fibre, <= 0.40 at 1383 nm after H2 ageing).
FIBRE_ATTENUATION_DB_PER_KM: dict[int, float] = {
    1270: 0.40,
    1310: 0.40,
    1358: 0.40,
    1490: 0.40,
    1577: 0.40,
}


def fibre_attenuation_db_per_km(wavelength_nm: int) -> float:
    """Worst-case design attenuation of cabled G.652.D fibre at a PON wavelength.

    Parameters
    ----------
    wavelength_nm : int
        One of the tabulated wavelengths (1270, 1310, 1358, 1490, 1577 nm).

    Returns
    -------
    float
        Attenuation, dB/km.

    Raises
    ------
    CatalogError
        If the wavelength is not tabulated.

    Examples
    --------
    >>> fibre_attenuation_db_per_km(1577)
    0.4
    """
    try:
        return FIBRE_ATTENUATION_DB_PER_KM[wavelength_nm]
    except KeyError:
        tabulated = ", ".join(str(w) for w in FIBRE_ATTENUATION_DB_PER_KM)
        msg = f"no fibre attenuation for {wavelength_nm!r} nm; tabulated: {tabulated} nm"
        raise CatalogError(msg) from None


# ============================================================================================
# Splitters
# ============================================================================================
#: Balanced PLC splitter insertion loss (port to port, including excess loss and
#: non-uniformity), dB, by split ratio: VENDOR connectorised maximum, Shoreline SH-PLC
#: datasheets (claim GR-1209/GR-1221; GitHub attachments andretavaresrj/imagens
#: 10831871/splitter1x8apcshoreline.pdf and 14473708), valid 1260-1650 nm. Conflict: typical
#: tables are 0.5-3 dB lower (1:32 17.0, 1:64 20.5, 1:128 22.5-24.5 dB: Spanish planning
#: sheet, jjsats.co.th); the catalogue takes the connectorised maximum (worst case). Bare
#: fibre splitters are 0.2 dB better (Shoreline splitter-box datasheet). GR-1209 not retrieved.
BALANCED_SPLITTER_LOSS_DB: dict[int, float] = {
    2: 4.3,
    3: 6.2,
    4: 7.4,
    6: 9.8,
    8: 10.7,
    12: 12.5,
    16: 13.9,
    24: 16.5,
    32: 17.2,
    64: 21.5,
    128: 25.5,
}


def balanced_splitter_loss_db(ratio: int) -> float:
    """Worst-case insertion loss of a balanced 1:`ratio` splitter.

    Tabulated ratios return the connectorised vendor maximum. An untabulated ratio inside the
    table returns the value of the next larger tabulated ratio (a 1:N splitter is no lossier
    than a 1:M one with M > N, so this is an upper bound). Above 1:128 the loss is the ideal
    ``10*log10(ratio)`` plus the excess of the 1:128 row (25.5 - 21.07 = 4.43 dB), DERIVED.

    Parameters
    ----------
    ratio : int
        Number of output ports, >= 2.

    Returns
    -------
    float
        Insertion loss, dB.

    Raises
    ------
    CatalogError
        If `ratio` is below 2.

    Examples
    --------
    >>> balanced_splitter_loss_db(32)
    17.2
    >>> balanced_splitter_loss_db(5)  # next tabulated ratio, 1:6
    9.8
    >>> round(balanced_splitter_loss_db(256), 2)
    28.51
    """
    if ratio < 2:
        msg = f"splitter ratio must be >= 2, got {ratio!r}"
        raise CatalogError(msg)
    for tabulated in sorted(BALANCED_SPLITTER_LOSS_DB):
        if tabulated >= ratio:
            return BALANCED_SPLITTER_LOSS_DB[tabulated]
    largest = max(BALANCED_SPLITTER_LOSS_DB)
    excess_db = BALANCED_SPLITTER_LOSS_DB[largest] - 10 * math.log10(largest)
    return 10 * math.log10(ratio) + excess_db


#: Unbalanced (tap) splitter loss, dB, keyed by through-leg percent: (through_leg_db,
#: tap_leg_db), VENDOR maximum: JDSU/Lumentum FFC fused coupler datasheet, grade P
#: (pdf.datasheet.directory/90782886; values at 980 nm, bare fibre, excluding connectors).
#: Conflicts, worst value taken: 70/30 2flex FBT 1260-1650 nm "< 1.9 / 6.0 dB" vs JDSU
#: 2.0 / 6.4 -> JDSU; 50/50 JDSU 2.6-3.4 vs Wirenet FBT "generally <= 3.8 dB" -> 3.8.
#: Caveat: JDSU figures are at 980 nm and bare fibre; no tap datasheet at 1270-1577 nm with
#: maxima for every ratio was retrieved.
TAP_SPLITTER_LOSS_DB: dict[int, tuple[float, float]] = {
    99: (0.15, 21.5),
    95: (0.40, 14.8),
    90: (0.65, 11.5),
    80: (1.40, 8.4),
    70: (2.00, 6.4),
    60: (2.60, 4.7),
    50: (3.80, 3.8),
}


def _ideal_loss_db(percent: float) -> float:
    return -10 * math.log10(percent / 100)


def tap_splitter_loss_db(through_percent: int) -> tuple[float, float]:
    """Worst-case (through leg, tap leg) loss of a tap splitter.

    Tabulated percents return the vendor maximum. Otherwise each leg is the ideal loss
    ``-10*log10(p/100)`` plus an excess interpolated linearly (in percent) between the excesses
    (vendor max minus ideal) of the two neighbouring tabulated rows, DERIVED. A through
    percent below 50 is the mirror image of ``100 - through_percent`` (legs swapped).

    Parameters
    ----------
    through_percent : int
        Share of the power on the through leg, 1..99 %.

    Returns
    -------
    tuple of float
        ``(through_leg_db, tap_leg_db)``.

    Raises
    ------
    CatalogError
        If `through_percent` is outside 1..99.

    Examples
    --------
    >>> tap_splitter_loss_db(90)
    (0.65, 11.5)
    >>> tap_splitter_loss_db(30)
    (6.4, 2.0)
    >>> [round(x, 2) for x in tap_splitter_loss_db(85)]
    [1.02, 9.69]
    """
    if not 1 <= through_percent <= 99:
        msg = f"tap splitter through percent must be in 1..99, got {through_percent!r}"
        raise CatalogError(msg)
    if through_percent < 50:
        tap_db, through_db = tap_splitter_loss_db(100 - through_percent)
        return through_db, tap_db
    if through_percent in TAP_SPLITTER_LOSS_DB:
        return TAP_SPLITTER_LOSS_DB[through_percent]
    keys = sorted(TAP_SPLITTER_LOSS_DB)
    upper = next(k for k in keys if k > through_percent)
    lower = max(k for k in keys if k < through_percent)
    weight = (through_percent - lower) / (upper - lower)

    def excess(key: int, leg: int) -> float:
        share = key if leg == 0 else 100 - key
        return TAP_SPLITTER_LOSS_DB[key][leg] - _ideal_loss_db(share)

    legs = []
    for leg, share in ((0, through_percent), (1, 100 - through_percent)):
        extra = excess(lower, leg) + weight * (excess(upper, leg) - excess(lower, leg))
        legs.append(_ideal_loss_db(share) + extra)
    return legs[0], legs[1]


# ============================================================================================
# Connectors, splices, margins, coexistence
# ============================================================================================
#: Mated connector pair, dB. STD (TIA-568 via Fluke Networks KB "New Loss Budget Values for
#: Reference Grade Connectors in ANSI/TIA-568.3-E": standard-grade 0.75 dB max). Conflict:
#: 0.5 dB design (bonelinks.com, Chinese practice), 0.2-0.3 dB typical (FOA calculator);
#: worst case 0.75 chosen.
CONNECTOR_LOSS_DB: float = 0.75

#: Fusion splice, dB. 0.30 dB "standard max" (anonymous Spanish planning sheet; matches the
#: commonly cited TIA-568 per-splice limit: UNVERIFIED). Conflict: 0.1 dB design (Caltech spec
#: 271323, Huawei forum), 0.15 dB typical (FOA calculator); worst case 0.30 chosen.
SPLICE_LOSS_DB: float = 0.30

#: Safety margin, dB. TYP: >= 3 dB outdoor (Spanish planning sheet), 3 dB for > 10 km (Huawei
#: Enterprise forum ODN thread 813931), 1-3 dB (ip-noc.com), 2-3 dB (laxmidhar blog); the
#: upper end, 3.0, is chosen.
SAFETY_MARGIN_DB: float = 3.0

#: External CEx / WDM1r insertion loss per pass, dB, for the GPON -> XGS-PON upgrade check.
#: Planning range 1.0-1.5 dB (UNVERIFIED, no datasheet retrieved, facts §1.7); upper end
#: chosen, consistent with yingdapc.com (VENDOR claim: combo/MPM optics are "typically more
#: than 1.5 dB lower" loss than an external WDM1r).
DEFAULT_COEXISTENCE_LOSS_DB: float = 1.5


# ============================================================================================
# Ducts and cables
# ============================================================================================
#: Maximum conduit fill (cable cross-section / conduit inner cross-section) by number of
#: cables: NEC (NFPA 70) Chapter 9 Table 1, STD (via copies: gitea.zanemeyers.com
#: nfpa-70_ch09.md; McGraw-Hill NEC Handbook 2014 ch.9): 1 cable 53 %, 2 cables 31 %, more than
#: 2 cables 40 %. 0 cables uses the one-cable value (the rule for the first cable). Counts above
#: the largest key use the largest key's value. Replace this table to change the rule
#: (e.g. TIA-569 40 %, AS/NZS 3084 24 % for new installations).
FILL_RATIO_BY_OCCUPANT_COUNT: dict[int, float] = {0: 0.53, 1: 0.53, 2: 0.31, 3: 0.40}


def max_fill_ratio(occupant_count: int) -> float:
    """Maximum fill ratio of a duct holding `occupant_count` cables (NEC Ch. 9 Table 1).

    Parameters
    ----------
    occupant_count : int
        Number of cables in the duct, >= 0; 0 is treated as 1.

    Returns
    -------
    float
        Maximum ratio of the summed cable cross-sections to the duct's inner cross-section.

    Raises
    ------
    CatalogError
        If `occupant_count` is negative.

    Examples
    --------
    >>> [max_fill_ratio(n) for n in (0, 1, 2, 3, 12)]
    [0.53, 0.53, 0.31, 0.4, 0.4]
    """
    if occupant_count < 0:
        msg = f"occupant count must be >= 0, got {occupant_count!r}"
        raise CatalogError(msg)
    key = min(occupant_count, max(FILL_RATIO_BY_OCCUPANT_COUNT))
    return FILL_RATIO_BY_OCCUPANT_COUNT[key]


#: Outer diameter of outdoor loose-tube (multi-tube, non-metallic) cables, mm, by fibre count.
#: VENDOR nominal: Addison "Multi Loose Tube Non-Metallic Cable" (addison-cables.com): 2-36 F
#: 12.0, 38-72 F 12.6, 76-96 F 14.0, 134-144 F 17.5, 266-312 F 21.0 mm. Conflict: the buyawg
#: dielectric loose-tube cable for HDPE duct (wire.buyawg.com) is thinner (<= 60 F 10.1,
#: 73-96 F 12.5, 121-144 F 15.7, 241-288 F 18.0 mm) and the VSOL GYTS 12-48 F 9.6 mm; the larger
#: (Addison) diameters are chosen, worst case for duct fill. A real cable's datasheet OD, given
#: in the network document, always wins.
CABLE_OUTER_DIAMETER_MM_BY_FIBRE_COUNT: dict[int, float] = {
    12: 12.0,
    24: 12.0,
    48: 12.6,
    96: 14.0,
    144: 17.5,
    288: 21.0,
}


def cable_outer_diameter_mm(fibre_count: int) -> float:
    """Typical (worst-case) outer diameter of an outdoor loose-tube cable.

    Returns the diameter of the smallest tabulated fibre count >= `fibre_count`.

    Parameters
    ----------
    fibre_count : int
        Number of fibres, 1..288.

    Returns
    -------
    float
        Outer diameter, mm.

    Raises
    ------
    CatalogError
        If `fibre_count` is below 1 or above the largest tabulated count.

    Examples
    --------
    >>> cable_outer_diameter_mm(96)
    14.0
    >>> cable_outer_diameter_mm(100)
    17.5
    """
    if fibre_count < 1:
        msg = f"fibre count must be >= 1, got {fibre_count!r}"
        raise CatalogError(msg)
    for tabulated in sorted(CABLE_OUTER_DIAMETER_MM_BY_FIBRE_COUNT):
        if tabulated >= fibre_count:
            return CABLE_OUTER_DIAMETER_MM_BY_FIBRE_COUNT[tabulated]
    largest = max(CABLE_OUTER_DIAMETER_MM_BY_FIBRE_COUNT)
    msg = f"no cable diameter for {fibre_count} fibres; the table stops at {largest} fibres"
    raise CatalogError(msg)
