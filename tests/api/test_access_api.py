"""Keys, roles and operator scopes through the API (issue 7, access control).

The network is the two-operator fixture (VNPT and Viettel share duct DU-01) with
distinctive customer names and a Viettel 5G site backhauled by a Viettel ONT, so a leak of
Viettel's customers shows up as a plain string in a response body.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ponmodel.api.main import create_app
from ponmodel.document import dump_document
from ponmodel.keys import create_key, revoke_key
from ponmodel.settings import Settings
from ponmodel.storage import checksum, import_document
from tests.conftest import fixture_doc

VIETTEL_SECRETS = ("ONT-03", "ONT-04", "SP-02", "OLT-VTL-01", "DR-03", "DR-04", "FL-02",
                   "Viettel Customer Three", "Viettel Customer Four")
"""Ids and customers of Viettel's PON tree: a VNPT key must never read any of them."""


def shared_network() -> dict[str, Any]:
    doc = copy.deepcopy(fixture_doc("two_operators_shared_duct.json"))
    customers = {"ONT-01": "VNPT Customer One", "ONT-02": "VNPT Customer Two",
                 "ONT-03": "Viettel Customer Three", "ONT-04": "Viettel Customer Four"}
    for ont in doc["onts"]:
        ont["customer"] = customers[ont["id"]]
    doc["sites"] = [{"id": "SITE-V1", "zone": "sai-dong-b-iz", "operator": "viettel",
                     "generation": "5g", "structure": "BLD-02", "backhaul_ont": "ONT-03"}]
    return doc


class Keys:
    """One app on the shared network and a client per role."""

    def __init__(self, engine: Engine) -> None:
        import_document(engine, shared_network())
        self.engine = engine
        self.app = create_app(Settings(database_url="sqlite://"), engine=engine)
        self.tokens = {
            "admin": create_key(engine, role="admin", name="board")[1],
            "vnpt": create_key(engine, role="planner", operator="vnpt", name="vnpt plan")[1],
            "viettel": create_key(engine, role="planner", operator="viettel")[1],
            "viewer-vnpt": create_key(engine, role="viewer", operator="vnpt")[1],
            "viewer": create_key(engine, role="viewer", name="board viewer")[1],
        }

    def client(self, who: str | None) -> TestClient:
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        return TestClient(self.app, headers=headers)


@pytest.fixture
def keys(engine: Engine) -> Iterator[Keys]:
    yield Keys(engine)


# --------------------------------------------------------------------------- authentication


def test_no_key_is_401_with_a_bearer_challenge(keys: Keys) -> None:
    r = keys.client(None).get("/onts")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "needs an API key" in r.json()["detail"]


@pytest.mark.parametrize("header", ["Bearer pm_nothing_here", "Bearer x", "Basic abc",
                                    "Bearer "])
def test_bad_keys_are_401(keys: Keys, header: str) -> None:
    r = TestClient(keys.app, headers={"Authorization": header}).get("/onts")
    assert r.status_code == 401, r.text


def test_a_revoked_key_stops_working_at_once(keys: Keys) -> None:
    record, token = create_key(keys.engine, role="viewer", name="temp")
    client = TestClient(keys.app, headers={"Authorization": f"Bearer {token}"})
    assert client.get("/onts").status_code == 200
    revoke_key(keys.engine, record["id"])
    r = client.get("/onts")
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]


def test_a_key_with_a_wrong_secret_is_refused(keys: Keys) -> None:
    prefix, key_id, _ = keys.tokens["admin"].split("_", 2)
    r = TestClient(keys.app, headers={"Authorization": f"Bearer {prefix}_{key_id}_guess"})
    assert r.get("/onts").status_code == 401


def test_only_the_hash_of_the_secret_is_stored(keys: Keys) -> None:
    from sqlalchemy import text

    secret = keys.tokens["admin"].split("_", 2)[2]
    with keys.engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(text("SELECT * FROM api_key"))]
    assert stored and all(secret not in repr(row) for row in stored)


def test_open_routes_need_no_key(keys: Keys) -> None:
    anonymous = keys.client(None)
    for path in ("/health", "/schema", "/openapi.json", "/viewer"):
        assert anonymous.get(path).status_code == 200, path


# --------------------------------------------------------------------------- the local viewer


def test_loopback_reads_without_a_key_and_never_writes(engine: Engine) -> None:
    import_document(engine, shared_network())
    app = create_app(Settings(database_url="sqlite://"), engine=engine)
    local = TestClient(app, client=("127.0.0.1", 50000))
    assert local.get("/onts").json()["total"] == 4  # a board viewer: every operator
    assert local.get("/viewer/data/zones").status_code == 200
    r = local.post("/reservations", json={"operator": "vnpt", "ducts": ["DU-02"],
                                          "fibre_count": 12})
    # without a key nothing but GET: 401 at the headers, the body never read
    assert r.status_code == 401
    assert "needs an API key" in r.json()["detail"]
    # through a proxy on the same machine the loopback address proves nothing
    assert local.get("/onts", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 401
    closed = create_app(Settings(database_url="sqlite://", local_viewer=False), engine=engine)
    assert TestClient(closed, client=("127.0.0.1", 50000)).get("/onts").status_code == 401


# --------------------------------------------------------------------------- every write × role


def _ont_version(client: TestClient, ont_id: str) -> int:
    return int(client.get(f"/onts/{ont_id}").headers["etag"].strip('"'))


WRITES = {
    # name: (method, path, body) — "{rid}" is a reservation of VNPT's made before the call
    "import": ("POST", "/import?replace=true", "document"),
    "import_geojson": ("POST", "/import/geojson", "geojson"),
    "reserve_vnpt": ("POST", "/reservations", {"operator": "vnpt", "ducts": ["DU-02"],
                                                "fibre_count": 12}),
    "confirm_vnpt": ("POST", "/reservations/{rid}/confirm", None),
    "cancel_vnpt": ("POST", "/reservations/{rid}/cancel", None),
    "edit_vnpt_ont": ("PATCH", "/onts/ONT-01", {"customer": "Renamed"}),
}
ALLOWED = {
    # who → the writes it may make (everything else is 403, or 401 without a key)
    "admin": set(WRITES),
    "vnpt": {"reserve_vnpt", "confirm_vnpt", "cancel_vnpt", "edit_vnpt_ont"},
    "viettel": set(),
    "viewer-vnpt": set(),
    "viewer": set(),
    None: set(),
}
READ_ONLY_POSTS = {"/placement", "/what-if", "/routes"}
"""POST routes that compute and write nothing (their bodies are queries)."""


def test_every_write_route_is_in_the_matrix(keys: Keys) -> None:
    writes = {
        (method.upper(), path)
        for path, operations in keys.app.openapi()["paths"].items()
        for method in operations
        if method in {"post", "put", "patch", "delete"} and path not in READ_ONLY_POSTS
    }
    covered = {(m, p.split("?")[0].replace("ONT-01", "{element_id}")
                .replace("{rid}", "{reservation_id}")) for m, p, _ in WRITES.values()}
    assert writes == covered


@pytest.mark.parametrize("who", list(ALLOWED), ids=lambda w: str(w))
@pytest.mark.parametrize("write", list(WRITES))
def test_role_by_write(keys: Keys, who: str | None, write: str) -> None:
    admin = keys.client("admin")
    method, path, body = WRITES[write]
    if "{rid}" in path:
        rid = admin.post("/reservations", json={"operator": "vnpt", "ducts": ["DU-02"],
                                                 "fibre_count": 12}).json()["id"]
        path = path.replace("{rid}", rid)
    if body == "document":
        body = json.loads(dump_document(shared_network()))
    elif body == "geojson":
        body = {"type": "FeatureCollection", "features": [{
            "type": "Feature", "id": "MH-NEW",
            "geometry": {"type": "Point", "coordinates": [105.9, 21.04]},
            "properties": {"kind": "manhole", "zone": "sai-dong-b-iz"}}]}
    elif write == "edit_vnpt_ont":
        body = {**body, "version": _ont_version(admin, "ONT-01")}
    entries_before = len(admin.get("/audit", params={"limit": 1000}).json())
    before = checksum(keys.engine)
    r = keys.client(who).request(method, path, json=body)
    if who in ALLOWED and write in ALLOWED[who]:
        assert r.status_code in (200, 201), r.text
        entries = admin.get("/audit", params={"limit": 1000}).json()
        assert len(entries) == entries_before + 1
        newest = entries[0]
        assert newest["role"] == ("admin" if who == "admin" else "planner")
        assert newest["actor_name"] == ("board" if who == "admin" else "vnpt plan")
    else:
        # another operator's ONT or reservation is not there for a planner: 404, not 403
        hidden = who == "viettel" and write in ("confirm_vnpt", "cancel_vnpt", "edit_vnpt_ont")
        assert r.status_code == (401 if who is None else 404 if hidden else 403), r.text
        assert checksum(keys.engine) == before  # nothing written
        assert len(admin.get("/audit", params={"limit": 1000}).json()) == entries_before


def test_a_planner_cannot_touch_another_operators_ont_or_reservation(keys: Keys) -> None:
    admin, vnpt = keys.client("admin"), keys.client("vnpt")
    r = vnpt.patch("/onts/ONT-03", json={"customer": "x",
                                         "version": _ont_version(admin, "ONT-03")})
    assert (r.status_code, r.json()["detail"]) == (404, "no ont with id 'ONT-03'")
    held = keys.client("viettel").post("/reservations", json={
        "operator": "viettel", "ducts": ["DU-03"], "fibre_count": 12}).json()["id"]
    assert vnpt.post(f"/reservations/{held}/cancel").status_code == 404
    # creating one *for* another operator stays 403: operator names are public
    assert vnpt.post("/reservations", json={"operator": "viettel", "ducts": ["DU-03"],
                                            "fibre_count": 12}).status_code == 403


# --------------------------------------------------------------------------- reads


def _reads(keys: Keys) -> list[str]:
    """Every read a planner would try to learn about another operator's customers."""
    reads = ["/onts", "/onts?limit=1000&zone=sai-dong-b-iz", "/splitters", "/links", "/olts",
             "/ports", "/sites", "/cables", "/ducts", "/budget", "/budget?zone=sai-dong-b-iz",
             "/capacity", "/capacity/summary", "/upgrade", "/fill", "/fill/ducts/DU-01",
             "/impact?element=DU-01", "/impact?element=CAB-02", "/shared-risk?element=ONT-01",
             "/report", "/export", "/export?zone=sai-dong-b-iz", "/export/geojson",
             "/viewer/data/zones", "/viewer/data/sai-dong-b-iz/physical",
             "/viewer/data/sai-dong-b-iz/pon", "/viewer/data/sai-dong-b-iz/headlines",
             "/viewer/impact?element=DU-01", "/through/CAB-02", "/reach/SP-01"]
    reads += [f"/viewer/search?q={q}" for q in ("Viettel", "ONT-0", "SP-", "OLT", "Hanel")]
    return reads


BY_ID = ("/trace/{}", "/budget/onts/{}", "/capacity/onts/{}", "/viewer/trace/{}", "/reach/{}",
         "/onts/{}", "/splitters/{}", "/olts/{}", "/ports/{}", "/budget/ports/{}",
         "/impact?element={}", "/shared-risk?element={}", "/links/{}")
"""Reads of one element by id: for another operator's element, exactly the answer an id
that does not exist gets."""


@pytest.mark.parametrize("who", ["vnpt", "viewer-vnpt"])
def test_a_vnpt_key_reads_nothing_of_viettels_customers(keys: Keys, who: str) -> None:
    client = keys.client(who)
    answered = 0
    for path in _reads(keys):
        r = client.get(path)
        assert r.status_code in (200, 404, 422), (path, r.status_code, r.text)
        answered += r.status_code == 200
        for secret in VIETTEL_SECRETS:
            assert secret not in r.text, (path, secret)
    assert answered >= 30  # the sweep really read things
    for template in BY_ID:
        missing = client.get(template.format("NO-SUCH-ID"))
        for secret in ("ONT-03", "SP-02", "OLT-VTL-01", "OLT-VTL-01/1/1", "DR-03"):
            r = client.get(template.format(secret))
            assert r.status_code == missing.status_code, (template, secret, r.text)
            assert r.text.replace(secret, "NO-SUCH-ID") == missing.text, (template, secret)


def test_the_admin_reads_both_operators(keys: Keys) -> None:
    admin = keys.client("admin")
    body = admin.get("/export").text
    assert all(secret in body for secret in VIETTEL_SECRETS)
    assert admin.get("/onts").json()["total"] == 4


def test_a_planner_sees_every_operators_occupancy_of_a_shared_duct(keys: Keys) -> None:
    vnpt = keys.client("vnpt")
    duct = vnpt.get("/fill/ducts/DU-01").json()
    admin_view = keys.client("admin").get("/fill/ducts/DU-01").json()
    assert duct == admin_view  # occupancy is shared knowledge: cross-sections and operators
    cables = vnpt.get("/cables").json()["items"]
    assert sorted((c["id"], c["operator"]) for c in cables) == [("CB-01", "vnpt"),
                                                                 ("CB-02", "viettel")]
    sites = vnpt.get("/sites").json()["items"]
    assert sites == [{**shared_network()["sites"][0], "backhaul_ont": None}]


def test_scoped_lists_page_and_filter_like_the_database(keys: Keys) -> None:
    vnpt, admin = keys.client("vnpt"), keys.client("admin")
    mine = vnpt.get("/onts", params={"limit": 1, "offset": 1}).json()
    assert mine["total"] == 2  # ONT-01, ONT-02
    assert [o["id"] for o in mine["items"]] == ["ONT-02"]
    assert mine["items"][0] == admin.get("/onts/ONT-02").json()
    assert vnpt.get("/ports", params={"olt": "OLT-VNPT-01"}).json()["total"] == 1


def test_the_impact_of_a_shared_duct_names_only_the_readers_customers(keys: Keys) -> None:
    whole = keys.client("admin").get("/impact", params={"element": "DU-01"}).json()
    mine = keys.client("vnpt").get("/impact", params={"element": "DU-01"}).json()
    assert "ONT-03" in json.dumps(whole) and "ONT-01" in json.dumps(whole)
    assert "ONT-01" in json.dumps(mine) and "ONT-03" not in json.dumps(mine)


# --------------------------------------------------------------------------- audit log


def test_the_audit_log_is_for_admins_and_records_before_and_after(keys: Keys) -> None:
    admin, vnpt = keys.client("admin"), keys.client("vnpt")
    version = _ont_version(admin, "ONT-01")
    assert vnpt.patch("/onts/ONT-01", json={"customer": "New name",
                                            "version": version}).status_code == 200
    assert vnpt.get("/audit").status_code == 403
    assert keys.client("viewer").get("/audit").status_code == 403
    entry = admin.get("/audit", params={"element_id": "ONT-01"}).json()[0]
    assert entry["action"] == "edit" and entry["kind"] == "ont"
    assert entry["actor_name"] == "vnpt plan" and entry["operator"] == "vnpt"
    assert entry["before"]["customer"] == "VNPT Customer One"
    assert entry["after"]["customer"] == "New name"
    # the fixture was imported by the library: the command line's local admin, into an empty
    # database (no "before"), 4 ONTs and 6 links written
    (imported,) = admin.get("/audit", params={"action": "import"}).json()
    assert (imported["actor"], imported["before"]) == ("local", None)
    assert (imported["after"]["ont"], imported["after"]["link"]) == (4, 6)
