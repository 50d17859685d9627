"""The incremental check of a change equals a validation of the whole network with the
change applied: same verdict, same problems (element, field, message).

Hypothesis draws operation lists on generated networks (every kind, every op, valid and
invalid values); each is checked by ``apply_changes(..., dry_run=True)`` (so one stored
network serves every example) and by ``validate_document`` on the exported network with
the operations applied in memory.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ponmodel.changes import apply_changes
from ponmodel.document import KIND_OF_COLLECTION, validate_document
from ponmodel.edits import merge_patch
from ponmodel.errors import ConflictError, DependentsError, DocumentError
from ponmodel.generate import generate_network
from ponmodel.storage import export_document, import_document, make_engine, migrate

COLLECTION = {kind: key for key, kind in KIND_OF_COLLECTION.items()}


def _stored(doc: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    engine = make_engine("sqlite://")
    migrate(engine)
    import_document(engine, doc)
    return engine, export_document(engine)


@pytest.fixture(scope="module")
def networks() -> list[tuple[Any, dict[str, Any]]]:
    return [_stored(generate_network(40, seed)) for seed in (1, 2)]


def applied(doc: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """The document with the operations applied, collections ordered by id (as stored)."""
    out = copy.deepcopy(doc)
    ports_of = {p["id"]: o for o in out["olts"] for p in o["ports"]}
    for op in ops:
        kind = op["kind"]
        if op["op"] == "create":
            element = copy.deepcopy(op["element"])
            if kind == "port":
                olt = next(o for o in out["olts"] if o["id"] == element.pop("olt"))
                olt["ports"].append(element)
            else:
                out[COLLECTION[kind]].append(element)
            continue
        if kind == "port":
            olt = ports_of[op["id"]]
            index = next(i for i, p in enumerate(olt["ports"]) if p["id"] == op["id"])
            if op["op"] == "delete":
                del olt["ports"][index]
            else:
                olt["ports"][index] = merge_patch(olt["ports"][index], op["changes"])
            continue
        items = out[COLLECTION[kind]]
        index = next(i for i, e in enumerate(items) if e["id"] == op["id"])
        if op["op"] == "delete":
            del items[index]
        else:
            items[index] = merge_patch(items[index], op["changes"])
    for key in KIND_OF_COLLECTION:
        out[key].sort(key=lambda e: e["id"])
    return out


def _key(p: Any) -> tuple[Any, ...]:
    return (p.element_id, p.field, p.message)


@st.composite
def operations(draw: Any, doc: dict[str, Any]) -> list[dict[str, Any]]:
    """A few operations on ``doc``'s elements, each id named once."""
    ids = {k: [e["id"] for e in doc[COLLECTION[k]]] for k in COLLECTION}
    ids["port"] = [p["id"] for o in doc["olts"] for p in o["ports"]]
    nodes = ids["splitter"] + ids["ont"] + ids["port"]
    used: set[str] = set()
    out: list[dict[str, Any]] = []
    for n in range(draw(st.integers(1, 4))):
        choice = draw(st.sampled_from(_TEMPLATES))
        op = choice(draw, doc, ids, nodes, n)
        if op is None or any(o.get("id", o.get("element", {}).get("id")) in used for o in op):
            continue
        used.update(o.get("id", o.get("element", {}).get("id")) for o in op)
        out.extend(op)
    return out


def _pick(draw: Any, items: list[str]) -> str:
    return draw(st.sampled_from(items))


def _link_update(draw: Any, doc: Any, ids: Any, nodes: Any, n: int) -> Any:
    changes = draw(st.fixed_dictionaries({}, optional={
        "length_m": st.sampled_from([-5.0, 0.0, 120.0, 3000.0]),
        "from": st.sampled_from(nodes + ["NOPE"]),
        "to": st.sampled_from(ids["splitter"] + ids["ont"] + ids["port"][:1]),
        "cables": st.lists(st.sampled_from(ids["cable"] + ids["duct"][:1]), max_size=2),
        "leg": st.sampled_from([None, "tap"]),
    }))
    return [{"op": "update", "kind": "link", "id": _pick(draw, ids["link"]), "changes": changes}]


def _splitter_update(draw: Any, doc: Any, ids: Any, nodes: Any, n: int) -> Any:
    changes = draw(st.fixed_dictionaries({}, optional={
        "ratio": st.sampled_from([0, 1, 2, 4, 32]),
        "through_percent": st.sampled_from([None, 70.0]),
        "structure": st.sampled_from(ids["structure"][:3] + ids["zone"][:1]),
    }))
    return [{"op": "update", "kind": "splitter", "id": _pick(draw, ids["splitter"]),
             "changes": changes}]


def _duct_update(draw: Any, doc: Any, ids: Any, nodes: Any, n: int) -> Any:
    changes = draw(st.fixed_dictionaries({}, optional={
        "inner_diameter_mm": st.sampled_from([-1.0, 10.0, 100.0]),
        "outer_diameter_mm": st.sampled_from([None, 20.0, 200.0]),
        "within": st.sampled_from([None] + ids["duct"][:4]),
        "to": st.sampled_from(ids["structure"][:4]),
    }))
    return [{"op": "update", "kind": "duct", "id": _pick(draw, ids["duct"]), "changes": changes}]


def _cable_update(draw: Any, doc: Any, ids: Any, nodes: Any, n: int) -> Any:
    route = draw(st.lists(st.sampled_from(ids["duct"]), min_size=1, max_size=3))
    return [{"op": "update", "kind": "cable", "id": _pick(draw, ids["cable"]),
             "changes": {"ducts": route}}]


def _port_update(draw: Any, doc: Any, ids: Any, nodes: Any, n: int) -> Any:
    changes = draw(st.fixed_dictionaries({}, optional={
        "optics_class": st.sampled_from(["N1", "B+", "C+", "E2"]),
        "technology": st.sampled_from(["gpon", "xgs-pon"]),
    }))
    return [{"op": "update", "kind": "port", "id": _pick(draw, ids["port"]), "changes": changes}]


def _ont_update(draw: Any, doc: Any, ids: Any, nodes: Any, n: int) -> Any:
    changes = draw(st.fixed_dictionaries({}, optional={
        "structure": st.sampled_from(ids["structure"][:3] + ids["duct"][:1]),
        "service": st.fixed_dictionaries({"down": st.fixed_dictionaries(
            {"max_mbps": st.sampled_from([0.5, 100.0, 5000.0])})}),
    }))
    return [{"op": "update", "kind": "ont", "id": _pick(draw, ids["ont"]), "changes": changes}]


def _customer(draw: Any, doc: Any, ids: Any, nodes: Any, n: int) -> Any:
    """A new ONT and its drop link (from a splitter, a port or an ONT), or only one."""
    ont_id, link_id = f"NEW-ONT-{n}", f"NEW-DR-{n}"
    ont = {"id": ont_id, "structure": _pick(draw, ids["structure"]), "kind": "enterprise",
           "service": {"down": {"max_mbps": 500.0}, "up": {"max_mbps": 500.0}}}
    link = {"id": link_id, "from": draw(st.sampled_from(nodes)), "to": ont_id,
            "length_m": draw(st.sampled_from([0.0, 150.0]))}
    which = draw(st.sampled_from(["both", "both", "ont", "link"]))
    return [{"op": "create", "kind": "ont", "element": ont}] * (which != "link") + \
        [{"op": "create", "kind": "link", "element": link}] * (which != "ont")


def _splitter_create(draw: Any, doc: Any, ids: Any, nodes: Any, n: int) -> Any:
    splitter = {"id": f"NEW-SP-{n}", "structure": _pick(draw, ids["structure"]),
                "ratio": draw(st.sampled_from([2, 8]))}
    if draw(st.booleans()):
        splitter["through_percent"] = 80.0
    link = {"id": f"NEW-FL-{n}", "from": draw(st.sampled_from(nodes)), "to": f"NEW-SP-{n}",
            "length_m": 300.0}
    moved = {"op": "update", "kind": "link", "id": _pick(draw, ids["link"]),
             "changes": {"from": f"NEW-SP-{n}"}}
    return [{"op": "create", "kind": "splitter", "element": splitter},
            {"op": "create", "kind": "link", "element": link}] + [moved] * draw(st.booleans())


def _duct_create(draw: Any, doc: Any, ids: Any, nodes: Any, n: int) -> Any:
    host = draw(st.sampled_from(doc["ducts"]))
    duct = {"id": f"NEW-DU-{n}", "from": host["from"], "to": draw(st.sampled_from(
        [host["to"], ids["structure"][0]])), "length_m": 100.0, "inner_diameter_mm": 30.0,
        "owner": _pick(draw, ids["operator"])}
    if draw(st.booleans()):
        duct.update(within=host["id"], outer_diameter_mm=draw(st.sampled_from([32.0, 500.0])))
    return [{"op": "create", "kind": "duct", "element": duct}]


def _delete(draw: Any, doc: Any, ids: Any, nodes: Any, n: int) -> Any:
    kind = draw(st.sampled_from(["link", "ont", "splitter", "duct", "cable", "site",
                                 "structure", "port", "olt"]))
    return [{"op": "delete", "kind": kind, "id": _pick(draw, ids[kind])}]


def _customer_removed(draw: Any, doc: Any, ids: Any, nodes: Any, n: int) -> Any:
    link = draw(st.sampled_from([lk for lk in doc["links"] if lk["to"] in set(ids["ont"])]))
    return [{"op": "delete", "kind": "link", "id": link["id"]},
            {"op": "delete", "kind": "ont", "id": link["to"]}]


_TEMPLATES = [_link_update, _splitter_update, _duct_update, _cable_update, _port_update,
              _ont_update, _customer, _splitter_create, _duct_create, _delete,
              _customer_removed]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(data=st.data(), which=st.integers(0, 1))
def test_incremental_check_equals_full_validation(networks: Any, data: Any, which: int) -> None:
    engine, doc = networks[which]
    ops = data.draw(operations(doc))
    if not ops:
        return
    full = validate_document(applied(doc, ops))
    try:
        apply_changes(engine, ops, dry_run=True)
    except DependentsError as exc:  # the whole validation finds the dangling references
        assert any("does not exist" in p.message for p in full), (exc, full)
        return
    except ConflictError as exc:  # pragma: no cover - the templates make fresh ids
        pytest.fail(str(exc))
    except DocumentError as exc:
        assert Counter(map(_key, exc.problems)) == Counter(map(_key, full))
        assert exc.total == len(full)
        return
    assert full == [], full


def test_a_valid_change_and_its_full_validation_agree_on_a_customer(networks: Any) -> None:
    engine, doc = networks[0]
    splitter = doc["splitters"][0]["id"]
    ops = [{"op": "create", "kind": "ont", "element": {
        "id": "N-NEW", "structure": doc["structures"][0]["id"], "kind": "enterprise",
        "service": {"down": {"max_mbps": 100.0}, "up": {"max_mbps": 100.0}}}},
        {"op": "create", "kind": "link", "element": {"id": "L-NEW", "from": splitter,
                                                     "to": "N-NEW", "length_m": 50.0}}]
    full = validate_document(applied(doc, ops))
    ratio = doc["splitters"][0]["ratio"]
    fed = sum(1 for lk in doc["links"] if lk["from"] == splitter)
    if fed < ratio:
        assert full == []
        result = apply_changes(engine, ops, dry_run=True)
        assert [e["version"] for e in result["elements"]] == [1, 1]
    else:
        with pytest.raises(DocumentError) as caught:
            apply_changes(engine, ops, dry_run=True)
        assert [_key(p) for p in caught.value.problems] == [_key(p) for p in full]
