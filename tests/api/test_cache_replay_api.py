"""The API's cache follows every edit without exporting or building the network again,
and answers exactly what a cache built from scratch answers.

Hypothesis draws changes of every kind (the strategies of the replay test) on a generated
network of three zones. A warm app (every surface read once, as admin and as a planner)
applies them through ``POST /changes``; then every surface is read from it (the network is
not exported: the cache replays the audit entries) and from a new app with an empty cache,
and the answers must be the same bytes.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import ponmodel.api.deps as deps
from ponmodel.api.main import create_app
from ponmodel.generate import generate_network
from ponmodel.settings import Settings
from ponmodel.storage import export_document, import_document, make_engine, migrate
from tests.api.conftest import key_headers
from tests.ponmodel.test_changes_check import operations
from tests.topology.test_replay import more_operations

ZONE_PATHS = ("/viewer/data/{z}/physical", "/viewer/data/{z}/pon", "/viewer/data/{z}/headlines",
              "/fill?zone={z}", "/budget?zone={z}", "/capacity?zone={z}")
WHOLE_PATHS = ("/fill", "/report", "/budget", "/capacity", "/viewer/data/zones",
               "/export/geojson", "/upgrade")
_export_with = deps.export_with

PLANNER_PATHS = ("/fill?zone={z}", "/viewer/data/{z}/headlines", "/budget?zone={z}", "/budget")


def _answers(app: Any, admin: dict[str, str], planner: dict[str, str], zones: list[str]
             ) -> dict[tuple[str, str], tuple[int, bytes]]:
    from fastapi.testclient import TestClient

    out = {}
    with TestClient(app) as c:
        for who, headers, paths in (("admin", admin, ZONE_PATHS), ("planner", planner,
                                                                    PLANNER_PATHS)):
            for z in zones:
                for path in paths:
                    r = c.get(path.format(z=z), headers=headers)
                    out[(who, path.format(z=z))] = (r.status_code, r.content)
        for path in WHOLE_PATHS:
            r = c.get(path, headers=admin)
            out[("admin", path)] = (r.status_code, r.content)
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(data=st.data(), seed=st.integers(1, 3), rounds=st.integers(1, 3))
def test_a_warm_cache_after_changes_answers_as_a_new_one(data: Any, seed: int, rounds: int
                                                         ) -> None:
    engine = make_engine("sqlite://")
    migrate(engine)
    import_document(engine, generate_network(60, seed, zones=3))
    doc = export_document(engine)
    zones = [z["id"] for z in doc["zones"]]
    admin = key_headers(engine)
    planner = key_headers(engine, role="planner", operator="vnpt")
    settings_ = Settings(database_url="sqlite://")
    warm = create_app(settings_, engine=engine)
    _answers(warm, admin, planner, zones)
    from fastapi.testclient import TestClient

    applied = 0
    with TestClient(warm, headers=admin) as c:
        for _ in range(rounds):
            now = export_document(engine)
            ops = data.draw(st.one_of(operations(now), more_operations(now)))
            applied += c.post("/changes", json=ops).status_code == 200
    event(f"{applied} changes applied")
    exports = []
    with mock.patch.object(deps, "export_with",
                           side_effect=lambda conn: exports.append(1) or _export_with(conn)):
        after = _answers(warm, admin, planner, zones)
    assert exports == []  # caught up by replaying the audit entries
    fresh = _answers(create_app(settings_, engine=engine), admin, planner, zones)
    assert after.keys() == fresh.keys()
    for key, answer in fresh.items():
        assert after[key] == answer, key



def test_a_change_in_one_zone_keeps_the_other_zones_cached_figures() -> None:
    from fastapi.testclient import TestClient

    import ponmodel.topology.viewer as viewer

    engine = make_engine("sqlite://")
    migrate(engine)
    import_document(engine, generate_network(60, 1, zones=3))
    first, second = [z["id"] for z in export_document(engine)["zones"]][:2]
    with TestClient(create_app(Settings(database_url="sqlite://"), engine=engine),
                    headers=key_headers(engine)) as c:
        kept = c.get(f"/viewer/data/{second}/headlines").content
        c.get(f"/viewer/data/{first}/headlines")
        r = c.post("/changes", json=[{"op": "create", "kind": "structure", "element": {
            "id": "BLD-NEW", "zone": first, "kind": "building", "lon": 105.6, "lat": 20.8}}])
        assert r.status_code == 200, r.text
        computed = []
        real = viewer.zone_reports
        with mock.patch.object(viewer, "zone_reports",
                               side_effect=lambda doc: computed.append(1) or real(doc)):
            assert c.get(f"/viewer/data/{second}/headlines").content == kept
            assert computed == []  # the untouched zone's reports were kept
            c.get(f"/viewer/data/{first}/headlines")
            assert computed == [1]  # the touched zone's were computed again
