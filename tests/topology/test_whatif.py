"""What-if answers what changes (issue 16): before, after and the difference, hand-checked
on the tiny fixture."""

from __future__ import annotations

import copy

import pytest

from ponmodel.document import read_document
from ponmodel.errors import InvalidRequestError
from ponmodel.topology.whatif import what_if
from tests.conftest import FIXTURES


def test_a_reprofiled_ont_moves_its_rates_and_its_port() -> None:
    doc = read_document(FIXTURES / "tiny.json")
    service = copy.deepcopy(next(o for o in doc["onts"] if o["id"] == "ONT-03")["service"])
    service["down"]["fixed_mbps"] = 1500.0  # was 500
    diff = what_if(doc, profile={"ONT-03": service})["difference"]
    assert (diff["onts_added"], diff["onts_removed"], diff["budgets"]) == ([], [], [])
    ont = next(r for r in diff["rates"] if r["ont"] == "ONT-03")
    # guaranteed = fixed + assured: 500 + 2,000 = 2,500 → 1,500 + 2,000 = 3,500 Mbit/s
    assert (ont["before"]["guaranteed_down_mbps"], ont["after"]["guaranteed_down_mbps"]) == (
        2500.0, 3500.0)
    assert ont["change"]["guaranteed_down_mbps"] == 1000.0
    [port] = diff["ports"]
    # the port's guaranteed: 1,000 (ONT-01) + 0 (ONT-02) + 2,500 = 3,500 → 4,500 Mbit/s
    assert (port["before"]["guaranteed_down_mbps"], port["after"]["guaranteed_down_mbps"]) == (
        3500.0, 4500.0)
    assert "guaranteed_up_mbps" not in port["change"]  # upstream untouched
    assert diff["headline"]["onts_with_budget"] == {"before": 3, "after": 3, "change": 0}


def test_nothing_changed_is_an_empty_difference() -> None:
    doc = read_document(FIXTURES / "tiny.json")
    same = {o["id"]: o["service"] for o in doc["onts"][:1]}
    diff = what_if(doc, profile=same)["difference"]
    assert (diff["budgets"], diff["rates"], diff["ports"], diff["verdicts"]) == ([], [], [], [])


def test_a_service_breaking_a_rule_is_refused() -> None:
    doc = read_document(FIXTURES / "tiny.json")
    bad = {"down": {"assured_mbps": 2000, "max_mbps": 1000}, "up": {"max_mbps": 1000}}
    with pytest.raises(InvalidRequestError) as caught:
        what_if(doc, profile={"ONT-01": bad})
    assert caught.value.field == "profile.ONT-01.down.assured_mbps"


def test_a_port_pushed_past_its_capacity_flips_its_verdict() -> None:
    doc = read_document(FIXTURES / "tiny.json")
    service = copy.deepcopy(next(o for o in doc["onts"] if o["id"] == "ONT-01")["service"])
    service["down"]["assured_mbps"] = 7000.0  # was 1,000
    diff = what_if(doc, profile={"ONT-01": service})["difference"]
    [port] = diff["ports"]
    # guaranteed: 3,500 + 6,000 = 9,500 Mbit/s > the XGS-PON port's 8,591 usable downstream
    assert port["change"]["guaranteed_down_mbps"] == 6000.0
    assert (port["before"]["admissible_down"], port["after"]["admissible_down"]) == (True, False)
    assert diff["headline"]["ports_admissible_both_ways"] == {"before": 1, "after": 0,
                                                              "change": -1}
    # the ONTs' budgets do not move: a service is no part of the optical path
    assert diff["budgets"] == []
    # the port's ONT count did not change: no "onts" in its change; removing one does
    removed = what_if(doc, remove=["ONT-02"])["difference"]["ports"][0]
    assert "onts" not in port["change"] and removed["change"]["onts"] == -1
