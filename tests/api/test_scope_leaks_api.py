"""What an outside fault-and-abuse probe found leaking across operators' scopes, each
reproduced as the probe asked it (on SQLite and PostgreSQL).

1. ``PATCH /onts/{another operator's ONT}`` answered 403 "belongs to 'viettel'", or 409
   "is at version 1" for a stale version, where a missing id answers 404: both told the
   ONT exists. Now the scope is checked first: outside it, exactly a missing id.
2. "Any key lists every operator's reservations": now a scoped key reads, confirms and
   cancels its own operator's only; another's answers exactly like a missing id.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ponmodel.storage import checksum
from tests.api.test_access_api import Keys

MISSING = "NO-SUCH-ID"


@pytest.fixture
def keys(engine: Engine) -> Iterator[Keys]:
    yield Keys(engine)


def _key_id(keys: Keys, who: str) -> str:
    return keys.tokens[who].split("_", 2)[1]  # pm_<id>_<secret>


def _not_found(kind: str, ident: str) -> dict[str, Any]:
    return {"type": "/problems/not-found", "title": "Not found", "status": 404,
            "detail": f"no {kind} with id {ident!r}", "errors": []}


def _forbidden(detail: str) -> dict[str, Any]:
    return {"type": "/problems/forbidden", "title": "Forbidden", "status": 403,
            "detail": detail, "errors": []}


def _version(keys: Keys, ont_id: str) -> int:
    return int(keys.client("admin").get(f"/onts/{ont_id}").headers["etag"].strip('"'))


def _audit_size(keys: Keys) -> int:
    return len(keys.client("admin").get("/audit", params={"limit": 1000}).json())


def _answers_like_a_missing_id(client: TestClient, method: str, template: str, secret: str,
                               kind: str, body: Any = None) -> None:
    """``template`` with ``secret`` answers exactly what it answers with an id that does
    not exist, byte for byte once the id is substituted."""
    missing = client.request(method, template.format(MISSING), json=body)
    r = client.request(method, template.format(secret), json=body)
    assert (missing.status_code, missing.json()) == (404, _not_found(kind, MISSING))
    assert r.status_code == 404, r.text
    assert r.text.replace(secret, MISSING) == missing.text
    assert r.headers.get("content-type") == missing.headers.get("content-type")


# --------------------------------------------------------------------------- 1. ONT edits


@pytest.mark.parametrize("who", ["vnpt", "viewer-vnpt"])
@pytest.mark.parametrize("version", ["current", "stale", "future"])
def test_patching_another_operators_ont_is_a_missing_id_whatever_the_version(
        keys: Keys, who: str, version: str) -> None:
    admin = keys.client("admin")
    r = admin.patch("/onts/ONT-03", json={"version": 1, "customer": "edited by the board"})
    assert r.status_code == 200, r.text  # ONT-03 (Viettel's) is now at version 2
    sent = {"current": 2, "stale": 1, "future": 99}[version]
    before, entries = checksum(keys.engine), _audit_size(keys)
    _answers_like_a_missing_id(keys.client(who), "PATCH", "/onts/{}", "ONT-03", "ont",
                               {"version": sent, "customer": "probe"})
    assert checksum(keys.engine) == before and _audit_size(keys) == entries
    assert admin.get("/onts/ONT-03").json()["customer"] == "edited by the board"
    assert _version(keys, "ONT-03") == 2


def test_within_its_scope_the_role_is_checked_before_the_version(keys: Keys) -> None:
    assert keys.client("admin").patch(
        "/onts/ONT-01", json={"version": 1, "customer": "v2"}).status_code == 200
    viewer_denied = _forbidden(
        f"key {_key_id(keys, 'viewer-vnpt')!r} (viewer key of vnpt) is a viewer: it cannot write")
    before = checksum(keys.engine)
    for sent in (2, 1):  # current, then stale: a viewer is refused for its role either way
        r = keys.client("viewer-vnpt").patch("/onts/ONT-01", json={"version": sent,
                                                                   "customer": "x"})
        assert (r.status_code, r.json()) == (403, viewer_denied)
    # a board viewer reads every operator: Viettel's ONT exists for it, and it may not write
    r = keys.client("viewer").patch("/onts/ONT-03", json={"version": 1, "customer": "x"})
    assert (r.status_code, r.json()) == (403, _forbidden(
        f"key {_key_id(keys, 'viewer')!r} (board viewer) is a viewer: it cannot write"))
    assert checksum(keys.engine) == before
    r = keys.client("vnpt").patch("/onts/ONT-01", json={"version": 1, "customer": "x"})
    assert (r.status_code, r.json()) == (409, {
        "type": "/problems/conflict", "title": "Conflict", "status": 409,
        "detail": "'ONT-01' is at version 2, the edit was based on version 1: read it again "
                  "and reapply the change", "errors": []})
    assert checksum(keys.engine) == before
    r = keys.client("vnpt").patch("/onts/ONT-01", json={"version": 2, "customer": "v3"})
    assert r.status_code == 200 and r.json()["version"] == 3, r.text
    r = keys.client("viettel").patch("/onts/ONT-03", json={"version": 1, "customer": "v2"})
    assert r.status_code == 200, r.text  # and Viettel's planner edits its own


def test_the_admin_edits_any_operators_ont_and_gets_409_when_stale(keys: Keys) -> None:
    admin = keys.client("admin")
    assert admin.patch("/onts/ONT-03", json={"version": 1, "customer": "a"}).status_code == 200
    r = admin.patch("/onts/ONT-03", json={"version": 1, "customer": "b"})
    assert r.status_code == 409
    assert r.json()["detail"].startswith("'ONT-03' is at version 2")
    assert admin.patch("/onts/NO-SUCH-ID", json={"version": 1}).json() == \
        _not_found("ont", "NO-SUCH-ID")


# --------------------------------------------------------------------------- 2. reservations


def _reserve(keys: Keys, who: str, operator: str, ducts: list[str], ident: str,
             cable: str) -> dict[str, Any]:
    r = keys.client(who).post("/reservations", json={
        "operator": operator, "ducts": ducts, "outer_diameter_mm": 12.0, "id": ident,
        "cable_id": cable})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
def held(keys: Keys) -> dict[str, dict[str, Any]]:
    """One active reservation of each operator through the shared duct DU-01, and a
    cancelled one of Viettel's."""
    made = {
        "vnpt": _reserve(keys, "vnpt", "vnpt", ["DU-01", "DU-02"], "R-VNPT-PLAN", "CB-VNPT-PLAN"),
        "viettel": _reserve(keys, "viettel", "viettel", ["DU-01", "DU-03"],
                            "R-VIETTEL-SECRET", "CB-VIETTEL-SECRET"),
        "viettel-old": _reserve(keys, "viettel", "viettel", ["DU-03"], "R-VIETTEL-OLD",
                                "CB-VIETTEL-OLD"),
    }
    r = keys.client("viettel").post("/reservations/R-VIETTEL-OLD/cancel")
    assert r.status_code == 200, r.text
    made["viettel-old"] = r.json()
    return made


@pytest.mark.parametrize("who", ["vnpt", "viewer-vnpt"])
def test_a_scoped_key_lists_only_its_operators_reservations(
        keys: Keys, held: dict[str, dict[str, Any]], who: str) -> None:
    client = keys.client(who)
    assert client.get("/reservations").json() == [held["vnpt"]]
    for params in ({"operator": "viettel"}, {"status": "cancelled"},
                   {"operator": "viettel", "status": "reserved"}):
        r = client.get("/reservations", params=params)
        assert (r.status_code, r.json()) == (200, []), params
    assert client.get("/reservations", params={"status": "reserved"}).json() == [held["vnpt"]]
    assert client.get("/reservations/R-VNPT-PLAN").json() == held["vnpt"]
    for secret in ("R-VIETTEL-SECRET", "R-VIETTEL-OLD"):
        _answers_like_a_missing_id(client, "GET", "/reservations/{}", secret, "reservation")


@pytest.mark.parametrize("who", ["admin", "viewer"])
def test_the_admin_and_a_board_viewer_list_every_reservation(
        keys: Keys, held: dict[str, dict[str, Any]], who: str) -> None:
    client = keys.client(who)
    assert client.get("/reservations").json() == [held["vnpt"], held["viettel"],
                                                  held["viettel-old"]]
    assert client.get("/reservations", params={"operator": "viettel"}).json() == \
        [held["viettel"], held["viettel-old"]]
    assert client.get("/reservations/R-VIETTEL-SECRET").json() == held["viettel"]


@pytest.mark.parametrize("who", ["vnpt", "viewer-vnpt"])
@pytest.mark.parametrize("action", ["confirm", "cancel"])
@pytest.mark.parametrize("secret", ["R-VIETTEL-SECRET", "R-VIETTEL-OLD"])
def test_confirming_or_cancelling_another_operators_reservation_is_a_missing_id(
        keys: Keys, held: dict[str, dict[str, Any]], who: str, action: str,
        secret: str) -> None:
    # R-VIETTEL-OLD is cancelled: to its own operator that is a 409, but the scope comes first
    before, entries = checksum(keys.engine), _audit_size(keys)
    _answers_like_a_missing_id(keys.client(who), "POST", "/reservations/{}/" + action, secret,
                               "reservation")
    assert checksum(keys.engine) == before and _audit_size(keys) == entries
    assert keys.client("admin").get(f"/reservations/{secret}").json() == \
        held["viettel" if secret == "R-VIETTEL-SECRET" else "viettel-old"]


def test_within_its_scope_a_reservation_write_checks_the_role_then_the_state(
        keys: Keys, held: dict[str, dict[str, Any]]) -> None:
    before = checksum(keys.engine)
    r = keys.client("viewer-vnpt").post("/reservations/R-VNPT-PLAN/cancel")
    assert (r.status_code, r.json()) == (403, _forbidden(
        f"key {_key_id(keys, 'viewer-vnpt')!r} (viewer key of vnpt) is a viewer: it cannot write"))
    r = keys.client("viewer").post("/reservations/R-VIETTEL-SECRET/confirm")
    assert (r.status_code, r.json()) == (403, _forbidden(
        f"key {_key_id(keys, 'viewer')!r} (board viewer) is a viewer: it cannot write"))
    assert checksum(keys.engine) == before
    r = keys.client("viettel").post("/reservations/R-VIETTEL-OLD/confirm")
    assert (r.status_code, r.json()) == (409, {
        "type": "/problems/conflict", "title": "Conflict", "status": 409,
        "detail": "reservation 'R-VIETTEL-OLD' is cancelled; only an active one can be confirmed",
        "errors": []})
    r = keys.client("vnpt").post("/reservations/R-VNPT-PLAN/confirm")
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    r = keys.client("admin").post("/reservations/R-VIETTEL-SECRET/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text


def test_a_taken_cable_id_does_not_name_another_operators_reservation(
        keys: Keys, held: dict[str, dict[str, Any]]) -> None:
    # ids are one namespace, so the conflict itself stays; the reservation is not named
    r = keys.client("vnpt").post("/reservations", json={
        "operator": "vnpt", "ducts": ["DU-02"], "outer_diameter_mm": 12.0,
        "cable_id": "CB-VIETTEL-SECRET"})
    assert (r.status_code, r.json()) == (409, {
        "type": "/problems/conflict", "title": "Conflict", "status": 409,
        "detail": "cable id 'CB-VIETTEL-SECRET' is already held by a reservation",
        "errors": []})
    r = keys.client("viettel").post("/reservations", json={
        "operator": "viettel", "ducts": ["DU-03"], "outer_diameter_mm": 12.0,
        "cable_id": "CB-VIETTEL-SECRET"})
    assert r.json()["detail"] == \
        "cable id 'CB-VIETTEL-SECRET' is already held by reservation 'R-VIETTEL-SECRET'"


# --------------------------------------------------------------------------- duct fill


def test_the_admin_sees_every_reservation_in_the_duct_fill(
        keys: Keys, held: dict[str, dict[str, Any]]) -> None:
    duct = keys.client("admin").get("/fill/ducts/DU-01").json()
    assert duct["occupants"] == ["CB-01", "CB-02", "reservation:R-VNPT-PLAN",
                                 "reservation:R-VIETTEL-SECRET"]
    assert duct["operators"] == ["viettel", "vnpt"]


@pytest.mark.parametrize("who", ["vnpt", "viewer-vnpt"])
def test_a_scoped_keys_duct_fill_shows_another_operators_reservation_as_room_only(
        keys: Keys, held: dict[str, dict[str, Any]], who: str) -> None:
    client = keys.client(who)
    duct = client.get("/fill/ducts/DU-01").json()
    # the room is there: 12.6 + 14.0 mm cables, then 12 mm held by each reservation
    assert duct["occupants"] == ["CB-01", "CB-02", "reservation:R-VNPT-PLAN", "reserved:DU-01:1"]
    assert abs(duct["sum_sq_mm2"] - (12.6**2 + 14.0**2 + 2 * 12.0**2)) < 1e-9
    assert duct["operators"] == ["(reserved)", "viettel", "vnpt"]  # viettel: its cable CB-02
    for path in ("/fill", "/fill/ducts/DU-01", "/fill/ducts/DU-03"):
        text = client.get(path).text
        for secret in ("R-VIETTEL-SECRET", "CB-VIETTEL-SECRET", "R-VIETTEL-OLD"):
            assert secret not in text, (path, secret)
