"""The network document: every rule of the spec's "What makes a document invalid"."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ponmodel.document import (
    canonical,
    json_schema,
    load_document,
    parse_json,
    read_document,
    validate_document,
)
from ponmodel.errors import DocumentError, ElementError
from tests.conftest import FIXTURES, INVALID_FIXTURES, VALID_FIXTURES, fixture_doc

pytestmark = pytest.mark.kernel_free  # runs no kernel: CI runs it once (.ci/run)

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "ponmodel" / "schema" / "ponmodel-1.schema.json"

# (fixture, pointer, element id, words the message must contain): one rule each.
EXPECTED_PROBLEMS = {
    "invalid_missing_reference.json": ("/onts/1/structure", "ONT-02", "does not exist"),
    "invalid_wrong_kind_reference.json": (
        "/sites/0/backhaul_ont",
        "SITE-01",
        "a splitter, not a ont",
    ),
    "invalid_ont_fed_twice.json": ("/links/4/to", "DR-04", "fed by more than one link"),
    "invalid_cycle.json": ("/splitters/1", "SP-02", "cycle"),
    "invalid_unreached_splitter.json": ("/splitters/1", "SP-02", "not reached from any PON port"),
    "invalid_link_out_of_ont.json": ("/links/4/from", "DR-04", "cannot leave an ONT"),
    "invalid_port_two_links.json": ("/olts/0/ports/0", "OLT-01/1/1", "2 outgoing links"),
    "invalid_splitter_over_ratio.json": ("/splitters/0/ratio", "SP-01", "1:2 has 3 outgoing links"),
    # the rule with the unit the field's name carries, then the value given
    "invalid_zero_length.json": ("/links/2/length_m", "DR-02", "must be more than 0 m, not 0.0 m"),
    "invalid_negative_diameter.json": ("/cables/0/outer_diameter_mm", "CB-01",
                                       "must be more than 0 mm, not -12.0 mm"),
    "invalid_max_below_guaranteed.json": (
        "/onts/2/service/up/max_mbps",
        "ONT-03",
        "max_mbps (2000) is below fixed_mbps + assured_mbps",
    ),
    "invalid_class_not_of_technology.json": (
        "/olts/0/ports/0/optics_class",
        "OLT-01/1/1",
        "'B+' does not belong to xgs-pon",
    ),
    "invalid_route_not_adjacent.json": ("/cables/0/ducts/1", "CB-01", "share no structure"),
    "invalid_innerduct_wider.json": ("/ducts/2/outer_diameter_mm", "DU-03", "wider than"),
}


def test_every_invalid_fixture_has_an_expectation() -> None:
    assert sorted(EXPECTED_PROBLEMS) == INVALID_FIXTURES


@pytest.mark.parametrize("name", VALID_FIXTURES)
def test_valid_fixtures_have_no_problem(name: str) -> None:
    assert validate_document(fixture_doc(name)) == []


@pytest.mark.parametrize("name", INVALID_FIXTURES)
def test_each_rule_reports_element_and_pointer(name: str) -> None:
    pointer, element_id, words = EXPECTED_PROBLEMS[name]
    problems = validate_document(fixture_doc(name))
    assert len(problems) == 1, problems
    assert problems[0].pointer == pointer
    assert problems[0].element_id == element_id
    assert words in problems[0].message


def test_every_problem_is_reported_at_once() -> None:
    doc = fixture_doc("tiny.json")
    doc["links"][1]["length_m"] = 0  # zero length
    doc["onts"][0]["service"]["up"]["max_mbps"] = 10  # below 0 + 1000
    doc["structures"][0]["lat"] = math.nan  # non-finite
    doc["ducts"].append(copy.deepcopy(doc["ducts"][0]))  # duplicated id
    doc["links"].append({"id": "DR-09", "from": "ONT-01", "to": "SP-01", "length_m": 5.0})
    doc["zones"][0]["colour"] = "red"  # unknown key
    problems = {(p.pointer, p.element_id) for p in validate_document(doc)}
    assert problems == {
        ("/links/1/length_m", "DR-01"),
        ("/onts/0/service/up/max_mbps", "ONT-01"),
        ("/structures/0/lat", "EX-01"),
        ("/ducts/2/id", "DU-01"),
        ("/links/4/from", "DR-09"),
        ("/links/4/to", "DR-09"),  # SP-01 would be fed twice
        ("/zones/0/colour", "thang-long-iz"),
    }


def test_a_bad_field_does_not_hide_a_reference_problem() -> None:
    doc = fixture_doc("tiny.json")
    doc["links"][1]["length_m"] = -3.0
    doc["links"][1]["cables"] = ["CB-404"]
    messages = {p.pointer: p.message for p in validate_document(doc)}
    assert messages["/links/1/length_m"] == "must be more than 0 m, not -3.0 m"
    assert "'CB-404', which does not exist" in messages["/links/1/cables/0"]
    # the link still joins ONT-01 to the tree: no cascade of "not reached"
    assert not any("not reached" in m for m in messages.values())


@pytest.mark.parametrize(
    ("mutate", "pointer", "words"),
    [
        (lambda d: d.update(format="ponmodel/2"), "/format", "format must be 'ponmodel/1'"),
        (lambda d: d.update(extra=1), "/extra", "unknown key 'extra'"),
        (lambda d: d.update(onts={}), "/onts", "onts must be a list"),
        (lambda d: d["onts"][0].update(kind="factory"), "/onts/0/kind", "enterprise"),
        (lambda d: d["olts"][0].update(uplink_gbps="fast"), "/olts/0/uplink_gbps", "number"),
        (lambda d: d["structures"][0].update(lon=math.inf), "/structures/0/lon", "finite"),
        (lambda d: d["splitters"][0].update(ratio=0), "/splitters/0/ratio",
         "must be more than 0, not 0"),
        (
            lambda d: d["cables"][0].update(fibre_count=-24),
            "/cables/0/fibre_count",
            "must be more than 0, not -24",
        ),
        (lambda d: d["onts"][1].update(id=""), "/onts/1/id", "at least 1 character"),
        (
            lambda d: d["onts"][0].update(onu_tx_dbm={"min": 5, "max": 1}),
            "/onts/0/onu_tx_dbm",
            "min (5 dBm) is above max (1 dBm)",
        ),
        (
            lambda d: d["ducts"].append({**d["ducts"][0], "id": "ID-1", "within": "DU-01"}),
            "/ducts/2/outer_diameter_mm",
            "required for an innerduct",
        ),
    ],
)
def test_field_rules(mutate: Any, pointer: str, words: str) -> None:
    doc = fixture_doc("tiny.json")
    mutate(doc)
    problems = validate_document(doc)
    assert any(p.pointer == pointer and words in p.message for p in problems), problems


def test_load_document_raises_with_all_problems_and_fills_defaults() -> None:
    doc = load_document(fixture_doc("tiny.json"))
    link = doc["links"][1]
    assert (link["splices"], link["extra_loss_db"], link["cables"]) == (0, 0.0, [])
    assert doc["olts"][0]["ports"][0]["coexistence_loss_db"] == 0.0
    bad = fixture_doc("tiny.json")
    bad["links"][0]["length_m"] = 0
    bad["links"][1]["length_m"] = 0
    with pytest.raises(DocumentError) as info:
        load_document(bad)
    assert [p.pointer for p in info.value.problems] == ["/links/0/length_m", "/links/1/length_m"]


def test_not_json_names_line_and_column() -> None:
    with pytest.raises(DocumentError) as info:
        parse_json(b'{"format": "ponmodel/1",\n "onts": [}')
    assert "line 2, column" in str(info.value)


def test_nan_in_json_text_is_reported_not_crashed() -> None:
    doc = fixture_doc("tiny.json")
    doc["links"][0]["length_m"] = "__nan__"
    text = json.dumps(doc).replace('"__nan__"', "NaN")
    problems = validate_document(parse_json(text))
    assert [p.pointer for p in problems] == ["/links/0/length_m"]


def test_read_document_reads_a_file() -> None:
    doc = read_document(FIXTURES / "tiny.json")
    assert [o["id"] for o in doc["onts"]] == ["ONT-01", "ONT-02", "ONT-03"]


def test_shipped_schema_is_the_generated_one() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema()


@pytest.mark.parametrize("name", VALID_FIXTURES)
def test_fixtures_match_the_json_schema(name: str) -> None:
    jsonschema.Draft202012Validator(json_schema()).validate(fixture_doc(name))


def test_schema_rejects_an_unknown_key() -> None:
    doc = fixture_doc("tiny.json")
    doc["onts"][0]["colour"] = "red"
    assert not jsonschema.Draft202012Validator(json_schema()).is_valid(doc)


def test_canonical_ignores_element_order() -> None:
    doc = load_document(fixture_doc("tiny.json"))
    shuffled = copy.deepcopy(doc)
    shuffled["onts"].reverse()
    assert canonical(shuffled) == canonical(doc)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
_paths = st.sampled_from(
    [
        ("links", 0),
        ("onts", 1),
        ("olts", 0),
        ("ducts", 1),
        ("cables", 0),
        ("sites", 0),
        ("structures", 2),
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(where=_paths, key=st.text(min_size=1, max_size=12), value=_json)
def test_any_mutation_gives_problems_never_a_crash(
    where: tuple[str, int], key: str, value: Any
) -> None:
    doc = fixture_doc("tiny.json")
    doc[where[0]][where[1]][key] = value
    problems = validate_document(doc)
    assert all(isinstance(p, ElementError) and p.pointer.startswith("/") for p in problems)
    # a key the model does not know, or a wrong value for one it knows, is always reported
    original = fixture_doc("tiny.json")[where[0]][where[1]].get(key, object())
    if value != original:
        assert problems or _acceptable(where[0], key, value)


def _acceptable(collection: str, key: str, value: Any) -> bool:
    """A mutation that still makes a valid element (e.g. a new optional name)."""
    doc = fixture_doc("tiny.json")
    doc[collection][0 if collection != "onts" else 1][key] = value
    return validate_document(doc) == []


def test_field_reference_page_is_up_to_date() -> None:
    from ponmodel.document import field_reference_markdown

    page = (Path(__file__).resolve().parents[2] / "docs" / "network-document.md").read_text()
    assert page.rstrip("\n") == field_reference_markdown().rstrip("\n")
    assert "| `length_m` | number | yes |  | > 0 | Length, metres. |" in page


@pytest.mark.parametrize(
    ("data", "words"),
    [(b"\xb6\x00{", "not UTF-8 text"), (b"[" * 100_000, "too deeply|not valid JSON"),
     (b"", "not valid JSON")],
)
def test_bytes_that_are_not_json_are_a_document_error(data: bytes, words: str) -> None:
    # found by schemathesis: a body that is not UTF-8 made the API answer 500
    with pytest.raises(DocumentError, match=words):
        parse_json(data)


def test_an_unterminated_string_is_reported_in_plain_words() -> None:
    from ponmodel.document import parse_json

    with pytest.raises(DocumentError) as caught:
        parse_json(b'{"format": "ponmodel/1", "name": "abc', source="f.json")
    # the standard library's "Unterminated string starting at" gets no second "at"
    assert [p.message for p in caught.value.problems] == [
        "f.json is not valid JSON: Unterminated string starting at line 1, column 34"]
