"""Hostile documents from the fault-and-abuse probe: NUL bytes, ducts to themselves, routes
repeating a duct, over-long ids, deep or huge JSON, and problem amplification. Each test
reproduces a probe and fails without its fix."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ponmodel import document
from ponmodel.document import (
    MAX_JSON_DEPTH,
    check_json_limits,
    load_document,
    parse_json,
    shown,
    validate_document,
    validate_element,
)
from ponmodel.errors import DocumentError, ElementError
from tests.conftest import fixture_doc

NUL_MESSAGE = "holds a NUL (\\u0000), which PostgreSQL cannot store in text"


def tiny() -> dict[str, Any]:
    return copy.deepcopy(fixture_doc("tiny.json"))


def problems(doc: Any) -> list[tuple[str, str | None, str | None, str]]:
    return [(p.pointer, p.element_id, p.field, p.message) for p in validate_document(doc)]


def refused(call: Any) -> DocumentError:
    with pytest.raises(DocumentError) as info:
        call()
    return info.value


# --------------------------------------------------------------------------- 1. NUL bytes


def test_a_nul_in_an_id_is_refused_naming_the_id_safely() -> None:
    doc = tiny()
    doc["operators"][0]["id"] = "vn\x00pt"
    found = problems(doc)
    # the NUL itself, then what follows from the id being another one: 'vnpt' is gone
    assert found[0] == ("/operators/0/id", "'vn\\x00pt'", "id", f"id 'vn\\x00pt' {NUL_MESSAGE}")
    assert [p[0] for p in found[1:]] == ["/ducts/0/owner", "/ducts/1/owner",
                                         "/cables/0/operator", "/olts/0/operator",
                                         "/sites/0/operator"]
    assert all(p[3].endswith("refers to 'vnpt', which does not exist") for p in found[1:])


@pytest.mark.parametrize(("path", "pointer", "element_id", "field"), [
    (("name",), "/name", None, "name"),
    (("zones", 0, "district"), "/zones/0/district", "thang-long-iz", "district"),
    (("structures", 3, "name"), "/structures/3/name", "BLD-01", "name"),
    (("onts", 0, "customer"), "/onts/0/customer", "ONT-01", "customer"),
    (("onts", 0, "kind"), "/onts/0/kind", "ONT-01", "kind"),
    (("olts", 0, "ports", 0, "optics_class"), "/olts/0/ports/0/optics_class", "OLT-01/1/1",
     "optics_class"),
])
def test_a_nul_in_any_string_field_is_a_problem(
    path: tuple[Any, ...], pointer: str, element_id: str | None, field: str
) -> None:
    doc = tiny()
    node: Any = doc
    for token in path[:-1]:
        node = node[token]
    node[path[-1]] = node[path[-1]][:2] + "\x00" + node[path[-1]][2:]
    found = problems(doc)
    assert found[0][:3] == (pointer, element_id, field)
    assert found[0][3].endswith(NUL_MESSAGE) and "\\x00" in found[0][3]
    assert "\x00" not in found[0][3]  # escaped, safe to print


def test_a_nul_in_a_reference_and_in_a_route_is_a_problem() -> None:
    doc = tiny()
    doc["cables"][0]["ducts"][1] = "DU-0\x002"
    doc["onts"][2]["structure"] = "BLD\x00-01"
    assert problems(doc) == [
        ("/cables/0/ducts/1", "CB-01", "ducts", f"ducts 'DU-0\\x002' {NUL_MESSAGE}"),
        ("/onts/2/structure", "ONT-03", "structure", f"structure 'BLD\\x00-01' {NUL_MESSAGE}"),
        ("/cables/0/ducts/1", "CB-01", "ducts", "ducts refers to 'DU-0\\x002', which does not "
         "exist"),
        ("/onts/2/structure", "ONT-03", "structure", "structure refers to 'BLD\\x00-01', which "
         "does not exist"),
    ]


def test_a_nul_in_an_object_key_is_reported_at_its_object() -> None:
    doc = tiny()
    doc["onts"][0]["service"]["down"]["max\x00mbps"] = 1
    doc["defaults"] = {"attenuation_db_per_km": {"1310\x00": 0.3}}
    doc["x\x00"] = 1
    assert problems(doc) == [  # an object's bad keys, then what lies in it
        ("", None, None, f"object key 'x\\x00' {NUL_MESSAGE}"),
        ("/onts/0/service/down", "ONT-01", None, f"object key 'max\\x00mbps' {NUL_MESSAGE}"),
        ("/defaults/attenuation_db_per_km", None, None, f"object key '1310\\x00' {NUL_MESSAGE}"),
    ]


def test_a_lone_surrogate_is_refused_like_a_nul() -> None:
    doc = tiny()
    doc["onts"][1]["customer"] = "caf\ud800"
    assert problems(doc) == [("/onts/1/customer", "ONT-02", "customer",
                              "customer 'caf\\ud800' holds a lone surrogate, which is not "
                              "Unicode text (nor storable)")]


def test_a_nul_in_an_edited_ont_is_refused() -> None:
    ont = tiny()["onts"][0]
    ont["customer"] = "Canon\x00"
    err = refused(lambda: validate_element("onts", ont, {"BLD-01": "structure"}))
    assert [(p.pointer, p.element_id, p.field, p.message) for p in err.problems] == [
        ("/customer", "ONT-01", "customer", f"customer 'Canon\\x00' {NUL_MESSAGE}")]
    ont = tiny()["onts"][0]
    ont["id"] = "ONT\x0001"
    err = refused(lambda: validate_element("onts", ont, {"BLD-01": "structure"}))
    assert [(p.pointer, p.element_id) for p in err.problems] == [("/id", "'ONT\\x0001'")]


def test_only_document_errors_escape_the_validator() -> None:
    hostile: list[Any] = [
        {"format": "ponmodel/1", "onts": [{1: 2}]},  # a key that is no string
        {"format": "ponmodel/1", "onts": [{"id": 2**70, "service": 10**4000}]},
        {"format": "ponmodel/1", "name": ["x"] * 3, "zones": [[[[[]]]]]},
        {"format": "ponmodel/1", "links": [{"id": "L", "cables": [None, 3, "\x00"]}]},
        {"format": 10**5000, "name": 10**5000},  # str() of it raises ValueError
    ]
    for doc in hostile:
        assert refused(lambda doc=doc: load_document(doc)).total >= 1


# --------------------------------------------------------------------------- 2. ducts, routes


def test_a_duct_from_a_structure_to_itself_is_invalid() -> None:
    doc = tiny()
    doc["ducts"][1]["from"] = "CAB-01"  # CAB-01 → CAB-01
    assert problems(doc) == [
        ("/ducts/1/to", "DU-02", "to",
         "duct runs from structure 'CAB-01' to itself; a duct joins two different structures"),
        ("/cables/0/ducts/1", "CB-01", "ducts",
         "consecutive ducts 'DU-01' and 'DU-02' share no structure"),
    ]


def test_a_route_naming_one_duct_10000_times_is_one_problem() -> None:
    doc = tiny()
    doc["cables"][0]["ducts"] = ["DU-01"] * 10_000
    assert problems(doc) == [
        ("/cables/0/ducts/1", "CB-01", "ducts",
         "the route names duct 'DU-01' more than once; a cable passes through a duct once "
         "(a route is a path of distinct ducts)"),
    ]


def test_a_route_repeating_several_ducts_names_them_at_the_first_repetition() -> None:
    doc = tiny()
    doc["cables"][0]["ducts"] = ["DU-01", "DU-02", "DU-02", "DU-01"]
    assert problems(doc) == [
        ("/cables/0/ducts/2", "CB-01", "ducts",
         "the route names ducts 'DU-02', 'DU-01' more than once; a cable passes through a "
         "duct once (a route is a path of distinct ducts)"),
    ]


def test_a_missing_duct_repeated_is_reported_once() -> None:
    doc = tiny()
    doc["cables"][0]["ducts"] = ["DU-09"] * 10_000
    assert [p[:3] for p in problems(doc)] == [("/cables/0/ducts/0", "CB-01", "ducts"),
                                             ("/cables/0/ducts/1", "CB-01", "ducts")]


def test_a_link_listing_a_cable_twice_is_invalid() -> None:
    doc = tiny()
    doc["links"][0]["cables"] = ["CB-01", "CB-01"]
    assert problems(doc) == [
        ("/links/0/cables/1", "FL-01", "cables",
         "cables names cable 'CB-01' more than once; each cable that carries the link is "
         "listed once"),
    ]


# --------------------------------------------------------------------------- 3. long values


def test_a_2_mb_id_is_a_short_problem() -> None:
    doc = tiny()
    doc["onts"][0]["id"] = "x" * 2_000_000
    err = refused(lambda: load_document(doc))
    cut = "'" + "x" * 40 + "'… (2,000,000 characters)"
    assert [(p.pointer, p.element_id, p.field, p.message) for p in err.problems] == [
        ("/onts/0/id", cut, "id", f"must be at most 200 characters, got 2,000,000: {cut}"),
        ("/links/1/to", "DR-01", "to", "to refers to 'ONT-01', which does not exist"),
    ]
    assert len(str(err)) < 400


def test_an_over_long_or_unprintable_unknown_key_is_reported_at_its_object() -> None:
    doc = tiny()
    doc["onts"][0]["k" * 5000] = 1
    doc["onts"][1]["a\nb"] = 1
    doc["defaults"] = {"attenuation_db_per_km": {"9" * 5000: 0.3}}
    found = problems(doc)
    assert found == [
        ("/defaults/attenuation_db_per_km", None, None,
         "key '" + "9" * 80 + "'… (5,000 characters): Input should be '1270', '1310', "
         "'1358', '1490' or '1577'"),
        ("/onts/0", "ONT-01", "'" + "k" * 40 + "'… (5,000 characters)",
         "unknown key '" + "k" * 80 + "'… (5,000 characters)"),
        ("/onts/1", "ONT-02", "'a\\nb'", "unknown key 'a\\nb'"),
    ]


def test_shown_cuts_every_echoed_value() -> None:
    assert shown("DU-01") == "'DU-01'"
    assert shown("x" * 81) == "'" + "x" * 80 + "'… (81 characters)"
    assert shown(["a"] * 10_000) == "an array of 10,000 items"
    assert shown({"a": 1}) == "an object of 1 keys"
    assert shown(1.5) == "1.5"
    assert shown(10**100) == "an integer of 101 digits"
    assert shown(10**5000) == "an integer of about 5,001 digits"


# --------------------------------------------------------------------------- 4. JSON parsing


def _parse_problem(data: bytes | str) -> tuple[str, str]:
    err = refused(lambda: parse_json(data, source="f.json"))
    assert err.total == 1
    return err.problems[0].pointer, err.problems[0].message


def test_a_5000_digit_integer_is_a_document_error() -> None:
    # before: ValueError "Exceeds the limit (4300 digits)" escaped parse_json
    assert _parse_problem(b'{"format": "ponmodel/1",\n "name": ' + b"9" * 5000 + b"}") == (
        "", "f.json holds an integer of 5,000 digits at line 2, column 10, beyond the range "
            "of a JSON number (±1.8e308)")
    assert _parse_problem(b"[NaN, -" + b"1" * 400 + b"]")[1].startswith(
        "f.json holds an integer of 400 digits at line 1, column 7")


def test_integers_beyond_64_bits_read_as_orjson_reads_them() -> None:
    assert parse_json(b"[9223372036854775807, 123456789012345678901]") == [
        9223372036854775807, 1.2345678901234568e20]
    # the same through the fallback parser (NaN makes orjson refuse the text)
    assert parse_json(b"[NaN, 9223372036854775807, 123456789012345678901]")[1:] == [
        9223372036854775807, 1.2345678901234568e20]


def test_nesting_past_the_limit_is_refused_with_its_pointer() -> None:
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert parse_json(ok) is not None
    deep = '{"format": "ponmodel/1", "name": ' + "[" * 900 + "]" * 900 + "}"
    assert _parse_problem(deep) == (
        "/name" + "/0" * 63, "f.json: arrays and objects nest more than 64 deep here")
    # past orjson's own limit of 1,024, the fallback parser's RecursionError
    assert _parse_problem("[" * 5000 + "]" * 5000) == (
        "", "f.json nests arrays or objects too deeply (more than 64 levels)")


def test_long_strings_nul_and_bad_text_are_refused_at_parse() -> None:
    assert _parse_problem(b'{"a": "' + b"x" * 100_001 + b'"}') == (
        "/a", "f.json: a is a string of 100,001 characters, longer than the limit of 100,000: "
              "'" + "x" * 40 + "'… (100,001 characters)")
    assert _parse_problem(b'{"ids": ["ok", "n\\u0000l"]}') == (
        "/ids/1", f"f.json: ids 'n\\x00l' {NUL_MESSAGE}")
    assert _parse_problem(b'{"k\\u0000": 1}') == ("", f"f.json: object key 'k\\x00' {NUL_MESSAGE}")
    assert _parse_problem(b'{"a": "\xff"}') == (
        "", "f.json is not UTF-8 text: byte 7 cannot be decoded (invalid start byte)")


def test_check_json_limits_is_iterative_and_names_every_fault() -> None:
    deep: Any = []
    for _ in range(100_000):  # far past Python's recursion limit
        deep = [deep]
    err = refused(lambda: check_json_limits({"a": deep}, source="request body"))
    assert [(p.pointer, p.message) for p in err.problems] == [
        ("/a" + "/0" * 63, "request body: arrays and objects nest more than 64 deep here")]
    err = refused(lambda: check_json_limits(
        {"v": [1, 2**63, -(2**63)], "s": "\x00", 5: 1}, source="body"))
    assert [(p.pointer, p.field, p.message) for p in err.problems] == [
        ("", None, "body: object key 5 is not a string"),  # at its object, before what is in it
        ("/v/1", "v", "body: 9223372036854775808 is beyond the 64-bit integer range (±9.2e18)"),
        ("/s", "s", f"body: s '\\x00' {NUL_MESSAGE}"),
    ]
    check_json_limits(fixture_doc("hanoi.json"), source="hanoi.json")  # a real network passes


# --------------------------------------------------------------------------- 5. amplification


def empty_onts(n: int) -> dict[str, Any]:
    return {"format": "ponmodel/1", "onts": [{}] * n}


def test_an_error_keeps_the_first_1000_problems_and_counts_them_all() -> None:
    err = refused(lambda: load_document(empty_onts(300)))  # 4 missing fields each
    assert (err.total, len(err.problems), err.more) == (1200, 1000, 200)
    assert err.problems[0] == ElementError("/onts/0/id", "required field 'id' is missing",
                                           None, "id")
    assert err.problems[-1].pointer == "/onts/249/service"
    assert str(err).splitlines()[0] == "invalid network document: 1,200 problem(s)"
    assert str(err).splitlines()[-1] == "  … and 200 more problems (1,200 in all)"
    assert len(validate_document(empty_onts(300))) == 1000


def test_past_the_cap_problems_are_counted_not_formatted(monkeypatch: pytest.MonkeyPatch) -> None:
    made = {"n": 0}
    message = document._message

    def counting(err: Any) -> str:
        made["n"] += 1
        return message(err)

    monkeypatch.setattr(document, "_message", counting)
    err = refused(lambda: load_document(empty_onts(5000)))
    assert err.total == 20_000
    assert made["n"] == 1000  # not 20,000


def test_the_meaning_pass_stops_formatting_at_the_cap_too() -> None:
    doc = tiny()
    ont = doc["onts"][0]
    doc["onts"] = [{**ont, "id": f"N{i}", "structure": "nowhere"} for i in range(800)]
    doc["links"] = doc["links"][:1]
    err = refused(lambda: load_document(doc))
    # every ONT: a structure that does not exist, and no link reaching it; and the site's
    # backhaul ONT-03 is gone
    assert (err.total, len(err.problems)) == (1601, 1000)
    assert err.problems[0].message == "structure refers to 'nowhere', which does not exist"


def test_a_document_error_given_a_long_list_cuts_it() -> None:
    err = DocumentError([ElementError("", "x")] * 1500)
    assert (len(err.problems), err.total) == (1000, 1500)
    assert DocumentError([], 7).total == 7
    assert json.loads(json.dumps([p.as_dict() for p in err.problems]))[0]["message"] == "x"
