"""What one operator may read: the network with other operators' PON trees taken out.

Operators share ducts, so each sees every duct's occupancy — structures, ducts, every
cable with its operator, diameter, fibre count and route — but not other operators'
customers: their OLTs, ports, splitters, links and ONTs are removed, and their mobile
sites keep their place but lose the ``backhaul_ont`` that would name a customer ONT.
Readers of a scope get a document built by :func:`redact`, so every figure computed from
it (budget, capacity, trace, impact, report, viewer data, export) is scoped by
construction.

Splitters, links and ONTs carry no operator in the document: each belongs to the operator
of the OLT whose port feeds its tree (:func:`tree_owners`).

Examples
--------
>>> doc = {"format": "ponmodel/1", "operators": [{"id": "a"}, {"id": "b"}],
...        "olts": [{"id": "O1", "operator": "a", "ports": [{"id": "P1"}]},
...                 {"id": "O2", "operator": "b", "ports": [{"id": "P2"}]}],
...        "splitters": [{"id": "S1"}], "onts": [{"id": "N1"}, {"id": "N2"}],
...        "links": [{"id": "L1", "from": "P1", "to": "S1"}, {"id": "L2", "from": "S1", "to": "N1"},
...                  {"id": "L3", "from": "P2", "to": "N2"}],
...        "sites": [{"id": "T1", "operator": "b", "backhaul_ont": "N2"}]}
>>> tree_owners(doc)["N2"]
'b'
>>> seen = redact(doc, "a")
>>> [o["id"] for o in seen["onts"]], [s["backhaul_ont"] for s in seen["sites"]]
(['N1'], [None])
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ponmodel.document import Document

TREE_COLLECTIONS = ("splitters", "onts", "links")
"""Collections whose elements belong to the operator of the OLT feeding their tree."""


def tree_owners(doc: Document) -> dict[str, str]:
    """Operator of every port, splitter, ONT and link (by id), from its tree's OLT."""
    owner: dict[str, str] = {}
    for olt in doc.get("olts", []):
        for port in olt.get("ports", []):
            owner[port["id"]] = olt["operator"]
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for link in doc.get("links", []):
        children[link["from"]].append(link)
    stack = list(owner)
    while stack:
        node = stack.pop()
        for link in children.get(node, ()):
            if link["id"] in owner:  # a cycle in an unvalidated document
                continue
            owner[link["id"]] = owner[node]
            owner[link["to"]] = owner[node]
            stack.append(link["to"])
    return owner


def owner_of(doc: Document, element_id: str) -> str | None:
    """The operator an element belongs to, or None for shared plant (zones, structures,
    ducts) and for ids the document does not hold."""
    for key in ("olts", "cables", "sites"):
        for element in doc.get(key, []):
            if element["id"] == element_id:
                return str(element["operator"])
    return tree_owners(doc).get(element_id)


def redact(doc: Document, operator: str) -> Document:
    """The document as ``operator`` may read it (see the module's description)."""
    owner = tree_owners(doc)
    seen: Document = dict(doc)
    seen["olts"] = [o for o in doc.get("olts", []) if o["operator"] == operator]
    for key in TREE_COLLECTIONS:
        seen[key] = [e for e in doc.get(key, []) if owner.get(e["id"]) == operator]
    seen["sites"] = [
        s if s["operator"] == operator else {**s, "backhaul_ont": None}
        for s in doc.get("sites", [])
    ]
    return seen


_LOCATED_THROUGH_STRUCTURE = ("olt", "splitter", "ont")


def document_elements(doc: Document, kind: str, *, filters: dict[str, Any] | None = None,
                      ids: list[str] | None = None, limit: int | None = None, offset: int = 0
                      ) -> tuple[list[dict[str, Any]], int]:
    """Elements of one kind of ``doc``, filtered and paged exactly as
    :func:`ponmodel.storage.read_elements` reads them from a database (ordered by id; ports
    carry their ``olt``; ``zone`` filters located kinds through their structure).

    Examples
    --------
    >>> doc = {"onts": [{"id": "N2", "kind": "residential"}, {"id": "N1", "kind": "enterprise"},
    ...                 {"id": "N3", "kind": "enterprise"}]}
    >>> items, total = document_elements(doc, "ont", filters={"kind": "enterprise"}, limit=1)
    >>> [e["id"] for e in items], total
    (['N1'], 2)
    """
    from ponmodel.document import KIND_OF_COLLECTION

    if kind == "port":
        elements = [{**p, "olt": o["id"]} for o in doc.get("olts", []) for p in o.get("ports", [])]
    else:
        key = next(k for k, v in KIND_OF_COLLECTION.items() if v == kind)
        elements = list(doc.get(key, []))
    wanted = {k: v for k, v in (filters or {}).items() if v is not None}
    zone = wanted.pop("zone", None) if kind in _LOCATED_THROUGH_STRUCTURE else None
    if zone is not None:
        in_zone = {s["id"] for s in doc.get("structures", []) if s["zone"] == zone}
        elements = [e for e in elements if e["structure"] in in_zone]
    if ids is not None:
        chosen = set(ids)
        elements = [e for e in elements if e["id"] in chosen]
    elements = [e for e in elements if all(e.get(k) == v for k, v in wanted.items())]
    elements.sort(key=lambda e: e["id"])
    end = None if limit is None else offset + limit
    return elements[offset:end], len(elements)
