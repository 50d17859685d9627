"""GPON-to-XGS-PON upgrade readiness: would this ODN close if it carried XGS-PON?

For every GPON port the same fibres and splitters are checked at the XGS-PON wavelengths
(1577 nm down, 1270 nm up) with a chosen optics class, new optics at both ends (the GPON
ports' and ONTs' transceiver overrides are dropped) and a coexistence element (CEx /
WDM1r) added at the OLT: the port's own ``coexistence_loss_db`` if it already has one,
else the catalogue's planning value. Each port is then:

- ``ready``: every ONT closes (``ok``) with the chosen class;
- ``needs E1`` / ``needs E2``: not with the chosen class, but with that extended class;
- ``needs re-engineering``: not even with class E2 (shorten, re-split, or add reach).

The plan's 2030 target is XGS-PON in every zone; this answers, per zone and per port,
what each operator has to do.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.topology.upgrade import upgrade_readiness
>>> result = upgrade_readiness(read_document("fixtures/gpon_legacy.json"), "N1")
>>> sorted(result) == ["class", "coexistence_loss_db", "ports", "zones"]
True
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from ponmodel import catalog
from ponmodel.document import Document
from ponmodel.topology.budget import BudgetReport, network_budget

TARGET_TECHNOLOGY = "xgs-pon"
ESCALATION = ("E1", "E2")
STATUSES = ("ready", "needs E1", "needs E2", "needs re-engineering")


def as_xgs_pon(doc: Document, optics_class: str, coexistence_loss_db: float) -> Document:
    """A copy of ``doc`` whose GPON ports carry XGS-PON with ``optics_class``."""
    out = copy.copy(doc)
    olts = []
    converted: set[str] = set()
    for olt in doc.get("olts", []):
        ports = []
        for port in olt.get("ports", []):
            if port["technology"] == "gpon":
                converted.add(port["id"])
                port = {
                    **port,
                    "technology": TARGET_TECHNOLOGY,
                    "optics_class": optics_class,
                    "olt_tx_dbm": None,
                    "olt_rx_sensitivity_dbm": None,
                    "olt_rx_overload_dbm": None,
                    "capacity_mbps": None,
                    "coexistence_loss_db": float(port.get("coexistence_loss_db") or 0.0)
                    or coexistence_loss_db,
                }
            ports.append(port)
        olts.append({**olt, "ports": ports})
    out["olts"] = olts
    onts_on_gpon = _onts_below(doc, converted)
    out["onts"] = [
        {**o, "onu_tx_dbm": None, "onu_rx_sensitivity_dbm": None, "onu_rx_overload_dbm": None}
        if o["id"] in onts_on_gpon else o
        for o in doc.get("onts", [])
    ]
    return out


def _onts_below(doc: Document, ports: set[str]) -> set[str]:
    children: dict[str, list[str]] = {}
    for link in doc.get("links", []):
        children.setdefault(link["from"], []).append(link["to"])
    found: set[str] = set()
    stack = list(ports)
    while stack:
        node = stack.pop()
        for child in children.get(node, []):
            found.add(child)
            stack.append(child)
    return found


def upgrade_readiness(
    doc: Document, optics_class: str = "N1", *, coexistence_loss_db: float | None = None
) -> dict[str, Any]:
    """Readiness of every GPON port (and per zone) for XGS-PON with ``optics_class``.

    Parameters
    ----------
    doc : Document
        A validated network.
    optics_class : str
        The XGS-PON class the operator plans to deploy (N1, N2, E1, E2).
    coexistence_loss_db : float, optional
        Loss of the coexistence element added at the OLT (default: the catalogue's
        planning value, :data:`ponmodel.catalog.DEFAULT_COEXISTENCE_LOSS_DB`).

    Returns
    -------
    dict
        ``class``, ``coexistence_loss_db``, ``ports`` (per GPON port: ``id``, ``olt``,
        ``zone``, ``onts``, ``onts_closing``, ``status``, ``worst_ont``,
        ``worst_headroom_db`` with the chosen class) and ``zones`` (per zone: GPON ports,
        those in use, the ports in use per status, and the worst port). A spare port (no
        ONT) is trivially ready and is not counted per status.
    """
    catalog.optics_class(TARGET_TECHNOLOGY, optics_class)  # CatalogError for a wrong class
    cex = coexistence_loss_db
    if cex is None:
        cex = catalog.DEFAULT_COEXISTENCE_LOSS_DB
    gpon_ports = [
        (olt, port) for olt in doc.get("olts", []) for port in olt.get("ports", [])
        if port["technology"] == "gpon"
    ]
    reports: dict[str, BudgetReport] = {}
    for name in (optics_class, *ESCALATION):
        if name not in reports:
            reports[name] = network_budget(as_xgs_pon(doc, name, cex))
    zone_of_structure = {s["id"]: s.get("zone") for s in doc.get("structures", [])}
    by_port: dict[str, dict[str, list[Any]]] = {name: {} for name in reports}
    for name, report in reports.items():
        for ont in report.onts:
            by_port[name].setdefault(ont.port, []).append(ont)
    ports = []
    for olt, port in gpon_ports:
        chosen = by_port[optics_class].get(port["id"], [])
        closing = sum(1 for o in chosen if o.ok)
        if closing == len(chosen):
            status = "ready"
        else:
            status = "needs re-engineering"
            for name in ESCALATION:
                if name == optics_class:
                    continue
                onts = by_port[name].get(port["id"], [])
                if all(o.ok for o in onts):
                    status = f"needs {name}"
                    break
        worst = min(chosen, key=lambda o: (o.worst_headroom_db, o.id)) if chosen else None
        ports.append({
            "id": port["id"],
            "olt": olt["id"],
            "operator": olt["operator"],
            "zone": zone_of_structure.get(olt["structure"]),
            "onts": len(chosen),
            "onts_closing": closing,
            "status": status,
            "worst_ont": worst.id if worst else None,
            "worst_headroom_db": worst.worst_headroom_db if worst else None,
            "worst_problems": list(worst.problems) if worst else [],
        })
    zones = []
    for zone in doc.get("zones", []):
        mine = [p for p in ports if p["zone"] == zone["id"]]
        used = [p for p in mine if p["onts"]]
        counts = Counter(p["status"] for p in used)
        worst_port = min(used, key=lambda p: p["worst_headroom_db"]) if used else None
        zones.append({
            "id": zone["id"],
            "name": zone["name"],
            "gpon_ports": len(mine),
            "gpon_ports_in_use": len(used),
            **{status: counts.get(status, 0) for status in STATUSES},
            "worst_port": worst_port["id"] if worst_port else None,
            "worst_ont": worst_port["worst_ont"] if worst_port else None,
            "worst_headroom_db": worst_port["worst_headroom_db"] if worst_port else None,
        })
    return {"class": optics_class, "coexistence_loss_db": cex, "ports": ports, "zones": zones}
