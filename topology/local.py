"""One ONT's figures from the database without the whole network: the document of its OLT.

An ONT's budget depends on its path and its port (the port's split and differential reach
are judged over the port's tree); its capacity on its port's allocation and its OLT's
uplink, shared by the OLT's ports. Both are therefore exactly those of the document that
holds the ONT's OLT with every port and every port's whole tree (with the cables, the
structures and zones they sit in, and the network's defaults): computed on that document
by the same functions, they equal the figures of the whole network to the last bit
(``tests/topology/test_local.py`` checks every ONT of the fixtures).

Reading it costs a dozen indexed queries (the walks up to the port and down its tree are
one recursive query each), whatever the network's size: what
``GET /budget/onts/{id}`` and ``GET /capacity/onts/{id}`` answer from right after an edit,
before the cached network catches up.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.storage import import_document, make_engine, migrate
>>> from ponmodel.topology.budget import network_budget
>>> engine = make_engine("sqlite://")
>>> migrate(engine)
>>> _ = import_document(engine, read_document("fixtures/tiny.json"))
>>> with engine.connect() as conn:
...     doc = olt_document(conn, "ONT-01")
>>> [o["id"] for o in doc["onts"]], network_budget(doc).ont("ONT-01").downstream.loss_db
(['ONT-01', 'ONT-02', 'ONT-03'], 16.91)
"""

from __future__ import annotations

from sqlalchemy import Connection, literal, select

from ponmodel.document import FORMAT, Document
from ponmodel.elements import LinkTable, PortTable
from ponmodel.storage import elements_by_ids, network_meta, one_of

_MAX_DEPTH = 64


def port_of(conn: Connection, ont_id: str) -> tuple[str, str] | None:
    """(port, OLT) whose tree holds an ONT (walking up its links in one recursive query),
    or None."""
    links, ports = LinkTable.__table__, PortTable.__table__
    up = select(links.c.from_id.label("node"), literal(1).label("depth")).where(
        links.c.to_id == ont_id).cte("up", recursive=True)
    up = up.union_all(select(links.c.from_id, up.c.depth + 1).join(
        up, links.c.to_id == up.c.node).where(up.c.depth < _MAX_DEPTH))
    found = conn.execute(select(ports.c.id, ports.c.olt_id).join(
        up, ports.c.id == up.c.node).order_by(up.c.depth).limit(1)).first()
    return None if found is None else (str(found[0]), str(found[1]))


def olt_of(conn: Connection, ont_id: str) -> str | None:
    """The OLT whose port feeds an ONT, or None."""
    found = port_of(conn, ont_id)
    return None if found is None else found[1]


def olt_document(conn: Connection, ont_id: str, *, whole_olt: bool = True) -> Document | None:
    """The document of the OLT that feeds ``ont_id`` (see the module's description), or
    None when no port reaches it (or there is no such ONT). With ``whole_olt`` False, the
    OLT holds only the ONT's port and its tree: enough for a budget (not for a capacity,
    which shares the OLT's uplink)."""
    found = port_of(conn, ont_id)
    if found is None:
        return None
    port_id, olt_id = found
    olts = elements_by_ids(conn, "olt", [olt_id])
    if not whole_olt:
        olts[0]["ports"] = [p for p in olts[0]["ports"] if p["id"] == port_id]
    link_ids, nodes = _subtree(conn, [p["id"] for p in olts[0]["ports"]])
    doc_links = elements_by_ids(conn, "link", link_ids)
    splitters = elements_by_ids(conn, "splitter", nodes)
    onts = elements_by_ids(conn, "ont", nodes)
    # cables as a budget reads them (attenuation), without routes into ducts the OLT's
    # document does not hold
    cables = elements_by_ids(conn, "cable", {c for lk in doc_links for c in lk["cables"]},
                             routes=False)
    structures = elements_by_ids(conn, "structure", {
        e["structure"] for e in (*olts, *splitters, *onts)})
    zones = elements_by_ids(conn, "zone", {s["zone"] for s in structures if s.get("zone")})
    operators = elements_by_ids(conn, "operator", {olts[0]["operator"]})
    return {"format": FORMAT, **network_meta(conn), "operators": operators, "zones": zones,
            "structures": structures, "ducts": [], "cables": cables,
            "olts": olts, "splitters": splitters, "onts": onts, "links": doc_links,
            "sites": []}


def _subtree(conn: Connection, ports: list[str]) -> tuple[list[str], list[str]]:
    """The links of these ports' trees and the nodes they reach, in one recursive query
    (an index walk down from the ports, 0.5 ms on PostgreSQL at 100,000 ONTs once the
    planner has statistics: :func:`ponmodel.storage.import_document` gathers them)."""
    links = LinkTable.__table__
    down = select(links.c.id, links.c.to_id, literal(1).label("depth")).where(
        one_of(conn, links.c.from_id, ports)).cte("down", recursive=True)
    down = down.union_all(select(links.c.id, links.c.to_id, down.c.depth + 1).join(
        down, links.c.from_id == down.c.to_id).where(down.c.depth < _MAX_DEPTH))
    rows = conn.execute(select(down.c.id, down.c.to_id)).all()
    return [r[0] for r in rows], [r[1] for r in rows]
