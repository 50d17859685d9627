"""An ONT's budget and capacity from its OLT's document equal the whole network's, to the
last bit, for every ONT of every fixture and of a generated network."""

from __future__ import annotations

from typing import Any

import pytest

from ponmodel.document import read_document
from ponmodel.generate import generate_network
from ponmodel.storage import import_document, make_engine, migrate
from ponmodel.topology.budget import network_budget
from ponmodel.topology.capacity import network_capacity
from ponmodel.topology.local import olt_document, olt_of

NETWORKS = {
    "tiny": lambda: read_document("fixtures/tiny.json"),
    "two_operators": lambda: read_document("fixtures/two_operators_shared_duct.json"),
    "gpon_legacy": lambda: read_document("fixtures/gpon_legacy.json"),
    "hanoi": lambda: read_document("fixtures/hanoi.json"),
    "generated": lambda: generate_network(400, seed=7),
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_ont_as_the_whole_network_computes_it(name: str) -> None:
    doc: Any = NETWORKS[name]()
    engine = make_engine("sqlite://")
    migrate(engine)
    import_document(engine, doc)
    budget, capacity = network_budget(doc), network_capacity(doc)
    olts_seen: dict[str, Any] = {}
    ports_seen: dict[str, Any] = {}
    with engine.connect() as conn:
        for ont in budget.onts:
            olt = olt_of(conn, ont.id)
            assert olt == ont.olt
            if olt not in olts_seen:
                local = olt_document(conn, ont.id)
                olts_seen[olt] = (network_budget(local), network_capacity(local))
            local_budget, local_capacity = olts_seen[olt]
            assert local_budget.ont(ont.id).as_dict() == ont.as_dict()
            if ont.port not in ports_seen:
                ports_seen[ont.port] = network_budget(olt_document(conn, ont.id,
                                                                   whole_olt=False))
            assert ports_seen[ont.port].ont(ont.id).as_dict() == ont.as_dict()
            assert local_capacity.ont(ont.id).as_dict() == capacity.ont(ont.id).as_dict()
        assert olt_document(conn, "NO-SUCH-ONT") is None
    assert olts_seen  # the comparison really ran
