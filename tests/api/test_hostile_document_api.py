"""Hostile documents against the API and the CLI (the fault-and-abuse probe): a clear 422
naming the problem and nothing written, on SQLite and PostgreSQL; at most 1,000 problems in
a response or on a terminal; exit 2 and one line from the CLI, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from ponmodel.api.cli import app
from ponmodel.storage import checksum, import_document, row_counts
from tests.api.conftest import admin_client
from tests.conftest import fixture_doc

NUL_MESSAGE = "holds a NUL (\\u0000), which PostgreSQL cannot store in text"
runner = CliRunner()


def _post(client: TestClient, body: bytes | str) -> Any:
    return client.post("/import", content=body, headers={"content-type": "application/json"})


def empty_onts(n: int) -> bytes:
    return b'{"format": "ponmodel/1", "onts": [' + b",".join([b"{}"] * n) + b"]}"


# --------------------------------------------------------------------------- the API


def test_a_document_of_empty_onts_answers_1000_problems_and_the_count(client: TestClient) -> None:
    # the probe: 500,000 {} ONTs made a 229 MB 422 in 19 s; 300 of them have 1,200 problems
    r = _post(client, empty_onts(300))
    assert r.status_code == 422
    body = r.json()
    assert body["detail"] == "1,200 problem(s), the first 1,000 shown; nothing was written"
    assert body["total_errors"] == 1200
    assert len(body["errors"]) == 1000
    assert body["errors"][0] == {"element_id": None, "pointer": "/onts/0/id", "field": "id",
                                 "message": "required field 'id' is missing"}


def test_a_small_invalid_document_says_its_count(client: TestClient) -> None:
    r = _post(client, json.dumps({"format": "ponmodel/2"}))
    assert r.status_code == 422
    assert r.json()["detail"] == "1 problem(s); nothing was written"
    assert r.json()["total_errors"] == 1
    other = client.get("/onts/NOPE")
    assert other.status_code == 404 and "total_errors" not in other.json()


def test_a_nul_in_an_imported_id_is_a_422_and_nothing_is_written(
    client: TestClient, engine: Engine
) -> None:
    doc = fixture_doc("tiny.json")
    doc["onts"][0]["id"] = "ONT\x0001"  # SQLite stored it; PostgreSQL could not
    before = row_counts(engine)
    r = _post(client, json.dumps(doc))
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert errors[0] == {"element_id": "'ONT\\x0001'", "pointer": "/onts/0/id", "field": "id",
                         "message": f"request body: id 'ONT\\x0001' {NUL_MESSAGE}"}
    assert r.json()["total_errors"] == 1  # refused as it was read, before validation
    assert row_counts(engine) == before


@pytest.mark.parametrize(("body", "pointer", "message"), [
    (b'{"format": "ponmodel/1", "name": ' + b"9" * 5000 + b"}", "",
     "request body holds an integer of 5,000 digits at line 1, column 34, beyond the range "
     "of a JSON number (±1.8e308)"),
    (b'{"format": "ponmodel/1", "name": ' + b"[" * 900 + b"]" * 900 + b"}",
     "/name" + "/0" * 63, "request body: arrays and objects nest more than 64 deep here"),
    (b'{"format": "ponmodel/1", "name": "\xff"}', "",
     "request body is not UTF-8 text: byte 34 cannot be decoded (invalid start byte)"),
], ids=["integer-5000-digits", "nested-900-deep", "not-utf8"])
def test_hostile_json_is_a_422_naming_it(
    client: TestClient, body: bytes, pointer: str, message: str
) -> None:
    r = _post(client, body)  # before: a 500 for the integer
    assert r.status_code == 422, r.text
    assert [(e["pointer"], e["message"]) for e in r.json()["errors"]] == [(pointer, message)]


def test_a_nul_in_an_edit_is_a_422_and_the_ont_is_unchanged(engine: Engine) -> None:
    import_document(engine, fixture_doc("tiny.json"))
    with admin_client(engine) as c:
        before = checksum(engine)
        r = c.patch("/onts/ONT-01", json={"version": 1, "customer": "Canon\x00"})
        assert r.status_code == 422, r.text  # before: 200 on SQLite, the NUL stored
        # refused by the gate as the body is read (api/limits.py), before any route sees it
        assert r.json()["errors"] == [{"element_id": None, "pointer": "/customer",
                                       "field": "customer",
                                       "message": f"request body: customer 'Canon\\x00' "
                                                  f"{NUL_MESSAGE}"}]
        assert checksum(engine) == before


# --------------------------------------------------------------------------- the CLI


HOSTILE_FILES = {
    "integer": (b'{"format": "ponmodel/1", "name": ' + b"9" * 5000 + b"}",
                "{path} holds an integer of 5,000 digits at line 1, column 34, beyond the "
                "range of a JSON number (±1.8e308)"),
    "nul": (json.dumps({"format": "ponmodel/1", "operators": [{"id": "a\x00b", "name": "A"}]}
                       ).encode(),
            "invalid network document: /operators/0/id: 'a\\x00b': {path}: id 'a\\x00b' "
            + NUL_MESSAGE),
    "deep": (b'{"format": "ponmodel/1", "name": ' + b"[" * 900 + b"]" * 900 + b"}",
             "invalid network document: /name" + "/0" * 63 + ": {path}: arrays and objects "
             "nest more than 64 deep here"),
    "utf8": (b'{"format": "ponmodel/1", "name": "\xff"}',
             "{path} is not UTF-8 text: byte 34 cannot be decoded (invalid start byte)"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
@pytest.mark.parametrize("command", ["validate", "import"])
def test_the_cli_refuses_hostile_files_in_one_line(
    tmp_path: Path, case: str, command: str
) -> None:
    data, expected = HOSTILE_FILES[case]
    path = tmp_path / f"{case}.json"
    path.write_bytes(data)
    args = [command, str(path)]
    if command == "import":
        args += ["--database", f"sqlite:///{tmp_path / 'cli.db'}"]
    r = runner.invoke(app, args)
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert r.stderr.splitlines() == ["error: " + expected.format(path=path)]


def test_validate_prints_1000_problems_and_how_many_more(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_bytes(empty_onts(300))
    r = runner.invoke(app, ["validate", str(path)])
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert lines[0] == "error: invalid network document: 1,200 problem(s)"
    assert lines[1] == "  /onts/0/id: required field 'id' is missing"
    assert len(lines) == 1 + 1000 + 1
    assert lines[-1] == "  … and 200 more problems (1,200 in all)"
    r = runner.invoke(app, ["validate", str(path), "--json"])
    body = json.loads(r.stdout)
    assert (body["total"], len(body["problems"])) == (1200, 1000)
    assert body["message"] == "invalid network document: 1,200 problem(s)"


def test_an_id_that_looks_like_markup_is_printed_as_it_is(tmp_path: Path) -> None:
    doc = fixture_doc("tiny.json")
    doc["onts"][0]["structure"] = "[/]"  # before: rich's MarkupError, a traceback
    path = tmp_path / "markup.json"
    path.write_text(json.dumps(doc))
    r = runner.invoke(app, ["validate", str(path)])
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        "error: invalid network document: /onts/0/structure: ONT-01: structure refers to "
        "'[/]', which does not exist"]
