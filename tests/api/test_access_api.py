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

    def __init__(self, engine: Engine, app: Any = None) -> None:
        import_document(engine, shared_network())
        self.engine = engine
        self.app = app or create_app(Settings(database_url="sqlite://"), engine=engine)
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


_ONT = {"structure": "BLD-01", "kind": "enterprise",
        "service": {"down": {"max_mbps": 1000}, "up": {"max_mbps": 1000}}}
_PORT = {"id": "OLT-VNPT-01/1/2", "olt": "OLT-VNPT-01", "technology": "xgs-pon",
         "optics_class": "N1"}
_OLT = {"id": "OLT-VNPT-02", "operator": "vnpt", "structure": "EX-01", "uplink_gbps": 20,
        "ports": [{"id": "OLT-VNPT-02/1/1", "technology": "xgs-pon", "optics_class": "N1"}]}
_CABLE = {"id": "CB-NEW", "operator": "vnpt", "fibre_count": 12, "outer_diameter_mm": 8.0,
          "ducts": ["DU-02"]}
_MADE_FIRST = {
    # deletes: what the admin creates first, so that the element has nothing referring to it
    "delete_operator": ("/operators", {"id": "fpt", "name": "FPT Telecom"}),
    "delete_zone": ("/zones", {"id": "new-cluster", "name": "CCN Mới",
                               "kind": "industrial_cluster"}),
    "delete_structure": ("/structures", {"id": "MH-NEW", "zone": "sai-dong-b-iz",
                                         "kind": "manhole", "lon": 105.91, "lat": 21.03}),
    "delete_duct": ("/ducts", {"id": "DU-NEW", "from": "MH-01", "to": "CAB-02",
                               "length_m": 50.0, "inner_diameter_mm": 50.0, "owner": "hhtip"}),
    "delete_cable": ("/cables", _CABLE),
    "delete_olt": ("/olts", _OLT),
    "delete_port": ("/ports", _PORT),
}

WRITES = {
    # name: (method, path, body) — "{rid}" is a reservation of VNPT's made before the call;
    # a PATCH or DELETE carries If-Match with the element's current ETag
    "import": ("POST", "/import?replace=true", "document"),
    "import_geojson": ("POST", "/import/geojson", "geojson"),
    "reserve_vnpt": ("POST", "/reservations", {"operator": "vnpt", "ducts": ["DU-02"],
                                                "fibre_count": 12}),
    "confirm_vnpt": ("POST", "/reservations/{rid}/confirm", None),
    "cancel_vnpt": ("POST", "/reservations/{rid}/cancel", None),
    "edit_vnpt_ont": ("PATCH", "/onts/ONT-01", {"customer": "Renamed"}),  # body version
    "changes_vnpt_customer": ("POST", "/changes", [
        {"op": "create", "kind": "ont", "element": {"id": "ONT-NEW", **_ONT}},
        {"op": "create", "kind": "link", "element": {"id": "DR-NEW", "from": "SP-01",
                                                     "to": "ONT-NEW", "length_m": 80.0}}]),
    "create_operator": ("POST", "/operators", {"id": "fpt", "name": "FPT Telecom"}),
    "create_zone": ("POST", "/zones", _MADE_FIRST["delete_zone"][1]),
    "create_manhole": ("POST", "/structures", _MADE_FIRST["delete_structure"][1]),
    "create_building": ("POST", "/structures", {"id": "BLD-NEW", "zone": "sai-dong-b-iz",
                                                "kind": "building", "lon": 105.91,
                                                "lat": 21.032, "name": "Nhà máy mới"}),
    "create_duct": ("POST", "/ducts", _MADE_FIRST["delete_duct"][1]),
    "create_cable": ("POST", "/cables", _CABLE),
    "create_olt": ("POST", "/olts", _OLT),
    "create_port": ("POST", "/ports", _PORT),
    "create_splitter": ("POST", "/splitters", {"id": "SP-NEW", "structure": "CAB-01",
                                                "ratio": 4}),
    "create_ont": ("POST", "/onts", {"id": "ONT-NEW", **_ONT}),
    "create_link": ("POST", "/links", {"id": "DR-NEW", "from": "SP-01", "to": "ONT-02",
                                       "length_m": 80.0}),
    "create_site": ("POST", "/sites", {"id": "SITE-N1", "zone": "sai-dong-b-iz",
                                       "operator": "vnpt", "generation": "5g",
                                       "structure": "BLD-01", "backhaul_ont": "ONT-01"}),
    "edit_operator": ("PATCH", "/operators/vnpt", {"name": "VNPT Hanoi"}),
    "edit_zone": ("PATCH", "/zones/sai-dong-b-iz", {"district": "Quận Long Biên"}),
    "edit_structure": ("PATCH", "/structures/MH-01", {"lon": 105.9085}),
    "edit_duct": ("PATCH", "/ducts/DU-02", {"length_m": 200.0}),
    "edit_cable": ("PATCH", "/cables/CB-01", {"fibre_count": 96}),
    "edit_olt": ("PATCH", "/olts/OLT-VNPT-01", {"uplink_gbps": 40}),
    "edit_port": ("PATCH", "/ports/OLT-VNPT-01/1/1", {"optics_class": "N2"}),
    "edit_splitter": ("PATCH", "/splitters/SP-01", {"structure": "CAB-02"}),
    "edit_ont": ("PATCH", "/onts/ONT-01", {"customer": "Renamed"}),  # If-Match
    "edit_link": ("PATCH", "/links/DR-01", {"length_m": 90.0}),
    "edit_site": ("PATCH", "/sites/SITE-V1", {"generation": "4g"}),
    "delete_operator": ("DELETE", "/operators/fpt", None),
    "delete_zone": ("DELETE", "/zones/new-cluster", None),
    "delete_structure": ("DELETE", "/structures/MH-NEW", None),
    "delete_duct": ("DELETE", "/ducts/DU-NEW", None),
    "delete_cable": ("DELETE", "/cables/CB-NEW", None),
    "delete_olt": ("DELETE", "/olts/OLT-VNPT-02", None),
    "delete_port": ("DELETE", "/ports/OLT-VNPT-01/1/2", None),
    "delete_splitter": ("DELETE", "/splitters/SP-01", None),  # links leave it: 409
    "delete_ont": ("DELETE", "/onts/ONT-01", None),  # its drop link refers to it: 409
    "delete_link": ("DELETE", "/links/DR-01", None),  # ONT-01 left unreached: 422
    "delete_site": ("DELETE", "/sites/SITE-V1", None),
}

_VNPT_PLANT = {"reserve_vnpt", "confirm_vnpt", "cancel_vnpt", "edit_vnpt_ont",
               "changes_vnpt_customer", "create_cable", "create_olt", "create_port",
               "create_site", "edit_cable", "edit_olt", "edit_port", "edit_splitter",
               "edit_ont", "edit_link", "delete_cable", "delete_olt", "delete_port",
               "create_splitter", "create_ont", "create_link", "delete_splitter",
               "delete_ont", "delete_link", "create_building"}
ALLOWED = {
    # who → the writes its role allows (everything else is 403, or 401 without a key)
    "admin": set(WRITES),
    "vnpt": _VNPT_PLANT,
    "viettel": {"create_building", "edit_site", "delete_site",
                "create_splitter", "create_ont"},
    "viewer-vnpt": set(),
    "viewer": set(),
    None: set(),
}
REFUSED_BY_THE_NETWORK = {
    # writes a role may make that the network's rules refuse, whoever makes them
    "create_splitter": 422, "create_ont": 422,  # no port reaches them
    "create_link": 422,  # ONT-02 would be fed twice
    "delete_splitter": 409, "delete_ont": 409,  # links still refer to them
    "delete_link": 422,  # ONT-01 would be reached by no port
}
HIDDEN_FROM_VIETTEL = {
    # VNPT's tree is not there for Viettel: 404 as for a missing id, or, for a create that
    # refers into it, 422 "does not exist" as for a missing reference
    "confirm_vnpt": 404, "cancel_vnpt": 404, "edit_vnpt_ont": 404, "edit_olt": 404,
    "edit_port": 404, "edit_splitter": 404, "edit_ont": 404, "edit_link": 404,
    "delete_olt": 404, "delete_port": 404, "delete_splitter": 404, "delete_ont": 404,
    "delete_link": 404, "create_port": 422, "create_link": 422, "changes_vnpt_customer": 422,
}
AUDITED = {"create_olt": 2, "changes_vnpt_customer": 2, "delete_olt": 2}
"""Writes of more than one element: one audit entry each (an OLT's port is its own)."""
READ_ONLY_POSTS = {"/placement", "/what-if", "/routes"}
"""POST routes that compute and write nothing (their bodies are queries)."""


def expected_status(who: str | None, write: str) -> int:
    method = WRITES[write][0]
    if who is None:
        return 401
    if who == "viettel" and write in HIDDEN_FROM_VIETTEL:
        return HIDDEN_FROM_VIETTEL[write]
    if write not in ALLOWED[who]:
        return 403
    if write in REFUSED_BY_THE_NETWORK:
        return REFUSED_BY_THE_NETWORK[write]
    return {"POST": 201 if write.startswith("create") or write == "reserve_vnpt" else 200,
            "PATCH": 200, "DELETE": 204}[method]


def test_every_write_route_is_in_the_matrix(keys: Keys) -> None:
    writes = {
        (method.upper(), path)
        for path, operations in keys.app.openapi()["paths"].items()
        for method in operations
        if method in {"post", "put", "patch", "delete"} and path not in READ_ONLY_POSTS
    }
    covered = set()
    for m, p, _ in WRITES.values():
        path = p.split("?")[0].replace("{rid}", "{reservation_id}")
        parts = path.split("/")
        if len(parts) > 2 and parts[1] not in ("import", "reservations"):
            path = f"/{parts[1]}/{{element_id}}"
        covered.add((m, path))
    assert writes == covered


class OneApp:
    """One app for many tests, its database emptied and refilled before each (an app's
    first request costs some 0.5 s, the matrix below makes 350 of them)."""

    def __init__(self, engine: Engine) -> None:
        from ponmodel.storage import drop_all, migrate

        self.engine, self._drop_all, self._migrate = engine, drop_all, migrate
        self.app = create_app(Settings(database_url="sqlite://"), engine=engine)

    def fresh(self) -> Keys:
        from ponmodel.api.deps import TopologyCache

        self.engine.dispose()
        self._drop_all(self.engine)
        self._migrate(self.engine)
        self.app.state.topology_cache = TopologyCache()
        return Keys(self.engine, self.app)


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OneApp]:
    from ponmodel.storage import make_engine

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'test.db'}")
    yield OneApp(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_app(postgres_url: str) -> Iterator[OneApp]:
    from ponmodel.storage import make_engine

    engine = make_engine(postgres_url)
    yield OneApp(engine)
    engine.dispose()


@pytest.mark.parametrize("who", list(ALLOWED), ids=lambda w: str(w))
@pytest.mark.parametrize("write", list(WRITES))
def test_role_by_write(sqlite_app: OneApp, who: str | None, write: str) -> None:
    """Every write × every role on SQLite (the rules are the library's, whatever the
    database); every write that does write also runs on PostgreSQL, below."""
    check_write(sqlite_app.fresh(), who, write)


@pytest.mark.parametrize("who", ["admin", "vnpt"])
@pytest.mark.parametrize("write", list(WRITES))
def test_writes_on_postgresql(postgres_app: OneApp, who: str, write: str) -> None:
    check_write(postgres_app.fresh(), who, write)


def check_write(keys: Keys, who: str | None, write: str) -> None:
    admin = keys.client("admin")
    method, path, body = WRITES[write]
    headers = {}
    if "{rid}" in path:
        rid = admin.post("/reservations", json={"operator": "vnpt", "ducts": ["DU-02"],
                                                 "fibre_count": 12}).json()["id"]
        path = path.replace("{rid}", rid)
    if write in _MADE_FIRST:
        made = admin.post(*_MADE_FIRST[write][:1], json=_MADE_FIRST[write][1])
        assert made.status_code == 201, made.text
    if body == "document":
        body = json.loads(dump_document(shared_network()))
    elif body == "geojson":
        body = {"type": "FeatureCollection", "features": [{
            "type": "Feature", "id": "MH-NEW",
            "geometry": {"type": "Point", "coordinates": [105.9, 21.04]},
            "properties": {"kind": "manhole", "zone": "sai-dong-b-iz"}}]}
    elif write == "edit_vnpt_ont":
        body = {**body, "version": _ont_version(admin, "ONT-01")}
    elif method in ("PATCH", "DELETE"):
        headers["If-Match"] = admin.get(path).headers["etag"]
    entries_before = len(admin.get("/audit", params={"limit": 1000}).json())
    before = checksum(keys.engine)
    r = keys.client(who).request(method, path, json=body, headers=headers)
    wanted = expected_status(who, write)
    assert r.status_code == wanted, r.text
    if wanted < 300:
        entries = admin.get("/audit", params={"limit": 1000}).json()
        assert len(entries) == entries_before + AUDITED.get(write, 1)
        newest = entries[0]
        assert newest["role"] == ("admin" if who == "admin" else "planner")
        assert newest["actor_name"] == ("board" if who == "admin" else "vnpt plan"
                                        if who == "vnpt" else None) or who == "viettel"
    else:
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
