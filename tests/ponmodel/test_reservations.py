"""Reservations: fill checks, confirm/cancel/lapse, and concurrent planners on both databases."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from ponmodel.document import load_document
from ponmodel.errors import ConflictError, NotFoundError
from ponmodel.reservations import (
    ReservationError,
    cancel,
    confirm,
    list_reservations,
    reserve,
)
from ponmodel.storage import export_document, import_document

pytestmark = pytest.mark.kernel_free  # runs no kernel: CI runs it once (.ci/run)


def ducts_network() -> dict[str, Any]:
    """A – B – C: D1 (40 mm, empty), D2 (40 mm, one 12 mm cable), D3 (100 mm with an empty
    32 mm innerduct I3)."""
    return load_document({
        "format": "ponmodel/1",
        "operators": [{"id": "vnpt", "name": "VNPT"}, {"id": "fpt", "name": "FPT"}],
        "zones": [{"id": "z", "name": "Z", "kind": "industrial_zone"}],
        "structures": [{"id": s, "zone": "z", "kind": "manhole", "lon": 105.8, "lat": 21.0}
                       for s in ("A", "B", "C", "E")],
        "ducts": [
            {"id": "D1", "from": "A", "to": "B", "length_m": 100, "inner_diameter_mm": 40,
             "owner": "vnpt"},
            {"id": "D2", "from": "B", "to": "C", "length_m": 80, "inner_diameter_mm": 40,
             "owner": "vnpt"},
            {"id": "D3", "from": "A", "to": "C", "length_m": 150, "inner_diameter_mm": 100,
             "owner": "vnpt"},
            {"id": "I3", "from": "A", "to": "C", "length_m": 150, "inner_diameter_mm": 28,
             "outer_diameter_mm": 32, "owner": "vnpt", "within": "D3"},
            {"id": "D4", "from": "C", "to": "E", "length_m": 60, "inner_diameter_mm": 50,
             "owner": "fpt"},
        ],
        "cables": [{"id": "C2", "operator": "fpt", "fibre_count": 48, "outer_diameter_mm": 12,
                    "ducts": ["D2"]}],
    })


@pytest.fixture
def ducts(engine: Engine) -> Engine:
    import_document(engine, ducts_network())
    return engine


def test_room_by_hand(ducts: Engine) -> None:
    # D1 (40 mm): 12 mm cables: 1 → 144/1600 = 9 % ≤ 53 %; 2 → 18 % ≤ 31 %; 3 → 27 % ≤ 40 %;
    # 4 → 36 % ≤ 40 %; 5 → 45 % > 40 %: four fit.
    for i in range(4):
        reserve(ducts, operator="vnpt", ducts=["D1"], outer_diameter_mm=12.0,
                reservation_id=f"R{i}")
    with pytest.raises(ConflictError, match=r"duct D1 has no room for a 12 mm cable: fill would "
                       r"be 45\.0% against a limit of 40% for 5 occupants"):
        reserve(ducts, operator="vnpt", ducts=["D1"], outer_diameter_mm=12.0)
    # D3 holds the innerduct I3 (32 mm) as an occupant: 1024/10000 = 10 %; a 60 mm cable:
    # (1024 + 3600)/10000 = 46 % > 31 % for two occupants
    with pytest.raises(ConflictError, match="duct D3 has no room for a 60 mm cable"):
        reserve(ducts, operator="vnpt", ducts=["D3"], outer_diameter_mm=60.0)
    # 40 mm: (1024 + 1600)/10000 = 26 % ≤ 31 %
    reserve(ducts, operator="vnpt", ducts=["D3"], outer_diameter_mm=40.0)


def test_route_rules(ducts: Engine) -> None:
    reserve(ducts, operator="vnpt", ducts=["D1", "D2"], outer_diameter_mm=12.0)
    with pytest.raises(ReservationError, match="'D1' and 'D4' share no structure"):
        reserve(ducts, operator="vnpt", ducts=["D1", "D4"], outer_diameter_mm=5.0)
    with pytest.raises(NotFoundError, match="no duct with id 'D9'"):
        reserve(ducts, operator="vnpt", ducts=["D9"], outer_diameter_mm=12.0)
    with pytest.raises(NotFoundError, match="no operator"):
        reserve(ducts, operator="mobifone", ducts=["D1"], outer_diameter_mm=12.0)
    with pytest.raises(ReservationError, match="outer_diameter_mm or its fibre_count"):
        reserve(ducts, operator="vnpt", ducts=["D1"])


def test_confirm_makes_the_cable(ducts: Engine) -> None:
    r = reserve(ducts, operator="vnpt", ducts=["D1", "D2"], fibre_count=96, cable_id="CB-NEW")
    assert r["outer_diameter_mm"] > 0 and r["status"] == "reserved"
    done = confirm(ducts, r["id"])
    assert done["status"] == "confirmed"
    cable = next(c for c in export_document(ducts)["cables"] if c["id"] == "CB-NEW")
    assert cable["ducts"] == ["D1", "D2"] and cable["operator"] == "vnpt"
    with pytest.raises(ConflictError, match="is confirmed"):
        confirm(ducts, r["id"])
    with pytest.raises(ConflictError, match="already used by an element"):
        reserve(ducts, operator="vnpt", ducts=["D1"], outer_diameter_mm=5.0, cable_id="CB-NEW")


def test_cancel_and_lapse_release_the_room(ducts: Engine) -> None:
    now = datetime.now(UTC)
    held = [reserve(ducts, operator="vnpt", ducts=["D1"], outer_diameter_mm=12.0, now=now,
                    ttl_s=60 if i == 0 else 3600) for i in range(4)]
    with pytest.raises(ConflictError):
        reserve(ducts, operator="vnpt", ducts=["D1"], outer_diameter_mm=12.0, now=now)
    cancel(ducts, held[1]["id"])
    reserve(ducts, operator="vnpt", ducts=["D1"], outer_diameter_mm=12.0, now=now)
    later = now + timedelta(seconds=120)  # the first one lapsed
    reserve(ducts, operator="vnpt", ducts=["D1"], outer_diameter_mm=12.0, now=later)
    statuses = [r["status"] for r in list_reservations(ducts, now=later)]
    assert statuses.count("expired") == 1 and statuses.count("cancelled") == 1
    with pytest.raises(ConflictError, match="is expired"):
        confirm(ducts, held[0]["id"], now=later)


@pytest.mark.parametrize("planners", [12])
def test_concurrent_planners_take_exactly_the_room_there_is(ducts: Engine, planners: int) -> None:
    # D1 has room for four 12 mm cables (see test_room_by_hand); twelve planners race for it.
    barrier = threading.Barrier(planners)
    won: list[str] = []
    lost: list[str] = []
    errors: list[BaseException] = []

    def planner(i: int) -> None:
        barrier.wait()
        try:
            reserve(ducts, operator="vnpt", ducts=["D1"], outer_diameter_mm=12.0,
                    reservation_id=f"P{i:02d}")
            won.append(f"P{i:02d}")
        except ConflictError as exc:
            lost.append(str(exc))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=planner, args=(i,)) for i in range(planners)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(won) == 4 and len(lost) == planners - 4
    assert all(message.startswith("duct D1 has no room") for message in lost)
    active = [r for r in list_reservations(ducts) if r["status"] == "reserved"]
    assert sorted(r["id"] for r in active) == sorted(won)


def _scoped_reservations(ducts: Engine) -> None:
    """vnpt holds D1 + D2 (R-V); fpt holds D2 + D4 (R-F, cable CB-FPT-PLAN), then D1
    (R-F2)."""
    reserve(ducts, operator="vnpt", ducts=["D1", "D2"], outer_diameter_mm=12.0,
            reservation_id="R-V")
    reserve(ducts, operator="fpt", ducts=["D2", "D4"], outer_diameter_mm=10.0,
            reservation_id="R-F", cable_id="CB-FPT-PLAN")
    reserve(ducts, operator="fpt", ducts=["D1"], outer_diameter_mm=8.0, reservation_id="R-F2")


def test_a_scope_reads_confirms_and_cancels_only_its_operators_reservations(
        ducts: Engine) -> None:
    from ponmodel.access import Principal
    from ponmodel.errors import PermissionDeniedError
    from ponmodel.reservations import get_reservation

    _scoped_reservations(ducts)
    assert [r["id"] for r in list_reservations(ducts)] == ["R-V", "R-F", "R-F2"]
    assert [r["id"] for r in list_reservations(ducts, scope="vnpt")] == ["R-V"]
    assert list_reservations(ducts, scope="vnpt", operator="fpt") == []
    assert [r["ducts"] for r in list_reservations(ducts, scope="fpt")] == [["D2", "D4"], ["D1"]]
    assert get_reservation(ducts, "R-V", scope="vnpt") == get_reservation(ducts, "R-V")
    planner = Principal("k1", "vnpt planning", "planner", "vnpt")
    viewer = Principal("k2", "vnpt kiosk", "viewer", "vnpt")
    for ident in ("R-F", "NO-SUCH"):  # another operator's: exactly a missing id
        with pytest.raises(NotFoundError) as found:
            get_reservation(ducts, ident, scope="vnpt")
        assert str(found.value) == f"no reservation with id {ident!r}"
        for action in (confirm, cancel):
            for who in (planner, viewer):
                with pytest.raises(NotFoundError) as found:
                    action(ducts, ident, actor=who)
                assert str(found.value) == f"no reservation with id {ident!r}"
    assert get_reservation(ducts, "R-F")["status"] == "reserved"
    with pytest.raises(PermissionDeniedError, match="is a viewer"):
        cancel(ducts, "R-V", actor=viewer)  # its own operator's: the role decides
    assert cancel(ducts, "R-V", actor=planner)["status"] == "cancelled"


def test_another_operators_held_room_is_anonymous_room_per_duct(ducts: Engine) -> None:
    import json

    from ponmodel.reservations import HELD_ROOM_OPERATOR, active_reservation_cables

    _scoped_reservations(ducts)
    with ducts.connect() as conn:
        whole = active_reservation_cables(conn)
        seen = active_reservation_cables(conn, scope="vnpt")
    assert [(c["id"], c["operator"], c["ducts"]) for c in whole] == [
        ("reservation:R-V", "vnpt", ["D1", "D2"]), ("reservation:R-F", "fpt", ["D2", "D4"]),
        ("reservation:R-F2", "fpt", ["D1"])]
    assert seen[0] == whole[0]  # its own, as the whole network has it
    assert [(c["id"], c["operator"], c["fibre_count"], c["outer_diameter_mm"], c["ducts"])
            for c in seen[1:]] == [
        ("reserved:D2:1", HELD_ROOM_OPERATOR, None, 10.0, ["D2"]),
        ("reserved:D4:1", HELD_ROOM_OPERATOR, None, 10.0, ["D4"]),
        ("reserved:D1:1", HELD_ROOM_OPERATOR, None, 8.0, ["D1"])]
    text = json.dumps(seen)
    assert all(s not in text for s in ("R-F", "CB-FPT-PLAN", "fpt"))

    def held_sq(cables: list[dict[str, Any]]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for c in cables:
            for d in c["ducts"]:
                out.setdefault(d, []).append(c["outer_diameter_mm"] ** 2)
        return {d: sorted(v) for d, v in out.items()}

    assert held_sq(seen) == held_sq(whole)  # the same room held in every duct
