"""Every API problem has a type of our own, unknown query parameters are refused, and the
viewer's page of an unknown zone is a 404 listing the zones (issue 16, item 6)."""

from __future__ import annotations

import ast
import inspect
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine

from ponmodel.api import deps
from ponmodel.api.main import create_app
from ponmodel.api.problems import HTTP_KINDS, OTHER_HTTP_KIND, Problem, problem, storage_problem
from ponmodel.errors import PonmodelError, StorageError
from ponmodel.settings import Settings
from ponmodel.storage import import_document
from tests.api.conftest import admin_client, key_headers, served
from tests.conftest import fixture_doc

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "api"
ZONE = "thang-long-iz"


@pytest.fixture
def tiny(engine: Engine) -> Engine:
    import_document(engine, fixture_doc("tiny.json"))
    return engine


@pytest.fixture
def hanoi(engine: Engine) -> Iterator[TestClient]:
    with admin_client(engine) as client:
        assert client.post("/import", json=fixture_doc("hanoi.json")).status_code == 200
        yield client


def _problem(r: Response, status: int, kind: str) -> dict[str, Any]:
    """The problem body of ``r``, checked: its status, media type and type."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json", r.headers
    body: dict[str, Any] = r.json()
    assert body["type"] != "about:blank" and body["type"].startswith("/problems/"), body
    assert (body["status"], body["type"]) == (status, kind), body
    return body


# --------------------------------------------------------------------------- every status


def test_every_status_answers_a_problem_of_our_own(tiny: Engine,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from ponmodel.api.routes import topology

    with admin_client(tiny) as admin, \
            TestClient(create_app(Settings(database_url="sqlite://"), engine=tiny)) as keyless:
        viewer = TestClient(admin.app, headers=key_headers(tiny, "viewer"))
        # 400: If-Match that is no entity tag
        body = _problem(admin.patch("/onts/ONT-01", json={"customer": "Canon"},
                                    headers={"If-Match": "three"}), 400, "/problems/bad-request")
        assert body["detail"] == ("If-Match must be one entity tag such as \"3\" (the element's "
                                  "ETag) or *, got 'three'")
        # 401: no key, then a key that does not exist
        _problem(keyless.get("/zones"), 401, "/problems/unauthorized")
        _problem(keyless.get("/zones", headers={"Authorization": "Bearer pm_nope"}), 401,
                 "/problems/unauthorized")
        # 403: the audit log is for admins
        _problem(viewer.get("/audit"), 403, "/problems/forbidden")
        # 404: an unknown path, an unknown id
        body = _problem(admin.get("/no-such-route"), 404, "/problems/no-such-path")
        assert body["detail"] == "no route serves this path (GET /openapi.json lists the routes)"
        body = _problem(admin.get("/onts/ONT-99"), 404, "/problems/not-found")
        assert body["detail"] == "no ont with id 'ONT-99'"
        # 405: the path exists, the method does not
        r = admin.delete("/health")
        assert r.headers["allow"] == "GET"
        assert _problem(r, 405, "/problems/method-not-allowed")["detail"] == "allowed: GET"
        # 409: links still refer to the splitter
        body = _problem(admin.delete("/splitters/SP-01", headers={"If-Match": '"1"'}), 409,
                        "/problems/conflict")
        assert body["detail"].startswith("splitter 'SP-01' cannot be removed: link 'DR-01'")
        # 412: ONT-01 is at version 1, not 7
        _problem(admin.delete("/onts/ONT-01", headers={"If-Match": '"7"'}), 412,
                 "/problems/precondition-failed")
        # 422: each class of invalid input has its own type
        _problem(admin.get("/onts", params={"limit": 0}), 422, "/problems/invalid-request")
        _problem(admin.get("/shared-risk", params={"zone": ZONE}), 422,
                 "/problems/unknown-parameter")
        _problem(admin.get("/shared-risk?share=0.2&share=0.3"), 422,
                 "/problems/repeated-parameter")
        _problem(admin.post("/changes", params={"kind": "ont"}, json=[]), 422,
                 "/problems/invalid-request")
        body = _problem(admin.post("/import", json={"format": "ponmodel/1", "name": "x",
                                                    "zones": [{"id": 7}]}),
                        422, "/problems/invalid-document")
        assert body["total_errors"] >= 1
        # 428: a write without If-Match
        _problem(admin.patch("/onts/ONT-01", json={"customer": "Canon"}), 428,
                 "/problems/precondition-required")
        # 400 from the library, 500 from a bug: the trace raises each in turn
        for error, status, kind in ((PonmodelError("refused as such"), 400,
                                     "/problems/bad-request"),
                                    (RuntimeError("a bug"), 500, "/problems/internal")):
            def broken(*_: Any, exc: Exception = error) -> Any:
                raise exc

            monkeypatch.setattr(topology.tracing, "trace", broken)
            _problem(admin.get("/trace/ONT-01"), status, kind)
    with TestClient(create_app(Settings(database_url="sqlite://", max_request_body_bytes=4096),
                               engine=tiny), headers=key_headers(tiny)) as small:
        # 413: 5,000 bytes declared against a cap of 4,096
        body = _problem(small.post("/what-if", content=b" " * 5000,
                                   headers={"content-type": "application/json"}),
                        413, "/problems/body-too-large")
        assert body["detail"].startswith("request body of 5,000 bytes exceeds the limit of 4,096")


def test_a_body_that_does_not_arrive_is_a_408_of_our_own(tiny: Engine) -> None:
    admin = key_headers(tiny)
    body = b'{"operator": "vnpt", "ducts": ["DU-01"], "fibre_count": 12}'
    app = create_app(Settings(database_url="sqlite://", body_timeout_s=0.5), engine=tiny)
    with served(app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"POST /reservations HTTP/1.1\r\nHost: x\r\n"
                         + f"Authorization: {admin['Authorization']}\r\n".encode()
                         + f"Content-Length: {len(body)}\r\n".encode()
                         + b"Content-Type: application/json\r\n\r\n"
                         + body[:1])  # one byte of the body, then nothing
            sock.settimeout(5)
            answer = b""
            while chunk := sock.recv(65536):  # the server closes after its answer
                answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert b"content-type: application/problem+json" in head.lower()
    problem_body = json.loads(payload)
    assert (problem_body["status"], problem_body["type"]) == (408, "/problems/body-timeout")
    assert problem_body["detail"].startswith("the request body did not arrive within 0.5 s")


@pytest.mark.parametrize(("reason", "status", "kind"), [
    ("full", 507, "/problems/storage-full"),
    ("read_only", 503, "/problems/read-only"),
    ("unavailable", 503, "/problems/database-unavailable"),
])
def test_storage_problems_have_their_types(reason: str, status: int, kind: str) -> None:
    r = storage_problem(StorageError("the database said no", reason=reason))  # type: ignore[arg-type]
    assert (r.status_code, json.loads(r.body)["type"]) == (status, kind)


def test_a_problem_must_name_its_type() -> None:
    assert inspect.signature(problem).parameters["kind"].default is inspect.Parameter.empty
    assert Problem.model_fields["type"].is_required()
    with pytest.raises(TypeError, match="kind"):
        problem(400, "Bad request", "no type")  # type: ignore[call-arg]


def _api_sources() -> Iterator[tuple[Path, ast.AST]]:
    for path in sorted(API.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def test_every_problem_call_in_the_api_names_a_type_of_ours() -> None:
    calls = 0
    for path, tree in _api_sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value == "about:blank":
                pytest.fail(f"{path.name}:{node.lineno}: about:blank")
            if not isinstance(node, ast.Call):
                continue
            keyword = {"problem": "kind", "ProblemError": "kind", "Problem": "type"}.get(
                _call_name(node) or "")
            if keyword is None:
                continue
            calls += 1
            [given] = [k.value for k in node.keywords if k.arg == keyword] or [None]
            assert given is not None, f"{path.name}:{node.lineno}: no {keyword}="
            if isinstance(given, ast.Constant):
                assert str(given.value).startswith("/problems/"), f"{path.name}:{node.lineno}"
    assert calls >= 20  # noqa: PLR2004 (the handlers, the gate, the limits, the query check)


def _types_in_the_code() -> set[str]:
    found = {OTHER_HTTP_KIND, *HTTP_KINDS.values()}
    for _, tree in _api_sources():
        found |= {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                  and isinstance(node.value, str) and re.fullmatch(r"/problems/[a-z-]+",
                                                                   node.value)}
    return found


def test_the_readme_lists_every_problem_type() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(/problems/[a-z-]+)` \| (\d{3}|other) \| (.+) \|$", readme, re.M)
    documented = {kind: status for kind, status, _ in rows}
    assert len(rows) == len(documented)  # each type once
    assert set(documented) == _types_in_the_code()
    for status, kind in HTTP_KINDS.items():
        assert documented[kind] == str(status)


# --------------------------------------------------------------------------- query parameters


def test_an_unknown_query_parameter_is_422_naming_it(hanoi: TestClient) -> None:
    # /shared-risk takes no zone: it once answered every zone's ducts in silence
    assert hanoi.get("/shared-risk").status_code == 200
    body = _problem(hanoi.get("/shared-risk", params={"zone": ZONE}), 422,
                    "/problems/unknown-parameter")
    assert body["title"] == "Unknown query parameter"
    assert body["detail"] == ("unknown query parameter 'zone' for GET /shared-risk; "
                              "it accepts 'share'")
    assert body["errors"] == [{"element_id": None, "pointer": "/query/zone", "field": "zone",
                               "message": "unknown query parameter 'zone'; it accepts 'share'"}]
    # several at once, each located; a route without parameters says so
    body = _problem(hanoi.get("/budget", params={"zones": ZONE, "failing": "true", "page": 2}),
                    422, "/problems/unknown-parameter")
    assert body["detail"] == ("unknown query parameters 'zones', 'page' for GET /budget; "
                              "it accepts 'failing', 'limit', 'offset', 'zone'")
    assert [e["pointer"] for e in body["errors"]] == ["/query/zones", "/query/page"]
    body = _problem(hanoi.get("/through/EX-01", params={"zone": ZONE}), 422,
                    "/problems/unknown-parameter")
    assert body["detail"].endswith("; it takes no query parameter")


def test_aliases_query_models_and_lists_are_what_the_route_declares(hanoi: TestClient) -> None:
    # an alias is the name a client sends: ?class=, never ?optics_class=
    assert hanoi.get("/upgrade", params={"class": "N2", "zone": ZONE}).status_code == 200
    body = _problem(hanoi.get("/upgrade", params={"optics_class": "N2"}), 422,
                    "/problems/unknown-parameter")
    assert body["detail"].endswith("it accepts 'class', 'zone'")
    # a query model (the element lists) stands for its fields, aliases included
    port = fixture_doc("hanoi.json")["olts"][0]["ports"][0]["id"]
    assert hanoi.get("/links", params={"from": port, "limit": 5}).status_code == 200
    body = _problem(hanoi.get("/onts", params={"colour": "red"}), 422,
                    "/problems/unknown-parameter")
    assert body["detail"].endswith("it accepts 'kind', 'limit', 'offset', 'structure', 'zone'")
    # a list parameter may repeat; the same name single-valued on another route may not
    doc = fixture_doc("hanoi.json")
    ducts = [d["id"] for d in doc["ducts"][:2]]
    assert hanoi.get("/impact", params=[("element", d) for d in ducts]).status_code == 200
    body = _problem(hanoi.get("/viewer/impact", params=[("element", d) for d in ducts]), 422,
                    "/problems/repeated-parameter")
    assert body["errors"][0]["pointer"] == "/query/element"
    assert body["detail"] == "query parameter 'element' is given 2 times; it takes one value"
    # a write is checked too, before its body is read
    r = hanoi.post("/changes", params={"dry": "true"}, json=[])
    assert _problem(r, 422, "/problems/unknown-parameter")["detail"].endswith(
        "it accepts 'dry_run', 'kind'")


def test_every_route_is_checked_against_what_openapi_says_it_takes() -> None:
    app = create_app(Settings(database_url="sqlite://"))
    declared = app.state.query_parameters
    schema = app.openapi()
    routes = [c for c in iter_route_contexts(app.routes) if isinstance(c.original_route, APIRoute)]
    assert len(routes) == len(declared) > 90  # noqa: PLR2004 (computed once, for every route)
    described = 0
    for context in routes:
        accepted = declared[id(context.original_route)].accepted
        if not context.include_in_schema:
            continue
        for method in context.methods:
            operation = schema["paths"][context.path_format][method.lower()]
            in_query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            assert in_query == accepted, (method, context.path_format)
            described += 1
    assert described > 80  # noqa: PLR2004


def test_the_accepted_parameters_are_read_once_not_per_request(
        tiny: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with admin_client(tiny) as client:
        def never(*_: Any) -> Any:
            msg = "computed per request"
            raise AssertionError(msg)

        monkeypatch.setattr(deps, "query_parameters_of", never)
        assert client.get("/fill", params={"near": 0.5}).status_code == 200
        _problem(client.get("/fill", params={"far": 0.5}), 422, "/problems/unknown-parameter")


# --------------------------------------------------------------------------- the viewer


def test_an_unknown_zone_in_the_viewers_url_is_a_404_page_listing_the_zones(
        hanoi: TestClient) -> None:
    zones = fixture_doc("hanoi.json")["zones"]
    r = hanoi.get("/viewer/nope")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>Unknown zone</h1>" in r.text
    assert "No zone has the id <code>nope</code>." in r.text
    links = re.findall(r'<a href="(/viewer/[^"]+)">', r.text)
    assert links == [f"/viewer/{quote(z['id'], safe='')}"
                     for z in sorted(zones, key=lambda z: (z["name"], z["id"]))]
    for z in zones:
        assert f'<a href="/viewer/{quote(z["id"], safe="")}">' in r.text
    # each link opens its zone's page; the markup of an id is escaped, not run
    for link in links:
        page = hanoi.get(link)
        assert page.status_code == 200 and "plotly.min.js" in page.text
    hostile = hanoi.get("/viewer/<img src=x onerror=alert(1)>")
    assert hostile.status_code == 404 and "<img" not in hostile.text
    assert "<code>&lt;img src=x onerror=alert(1)&gt;</code>" in hostile.text


def test_the_loopback_viewer_gets_the_404_page_and_a_keyless_browser_the_page(
        hanoi: TestClient) -> None:
    app = hanoi.app
    loopback = TestClient(app, client=("127.0.0.1", 50000))
    r = loopback.get("/viewer/nope")
    assert r.status_code == 404 and f'href="/viewer/{ZONE}"' in r.text
    assert loopback.get(f"/viewer/{ZONE}").status_code == 200
    # a browser elsewhere sends its key from the page's script only: no data in the answer
    elsewhere = TestClient(app, client=("203.0.113.7", 50000))
    r = elsewhere.get("/viewer/nope")
    assert r.status_code == 200 and ZONE not in r.text


def test_invalid_values_are_described_with_value_unit_and_rule(tiny: Engine) -> None:
    with admin_client(tiny) as client:
        r = client.post("/routes", json={"from": "EX-01", "to": "BLD-01", "fibre_count": 0,
                                         "cable_diameter_mm": -4.5})
        body = _problem(r, 422, "/problems/invalid-request")
        messages = {e["field"]: e["message"] for e in body["errors"]}
        # pydantic's "Input should be greater than 0", in our words with the unit
        assert messages["fibre_count"] == "fibre_count = 0: must be more than 0"
        assert messages["cable_diameter_mm"] == \
            "cable_diameter_mm = -4.5 mm: must be more than 0 mm"
