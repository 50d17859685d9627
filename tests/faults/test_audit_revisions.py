"""Every element-changing write's audit entry carries the network revision that write
produced (``ponmodel/audit.py``: "after the change, so the entry carries the network
revision the change produced"), so that revisions and the log can be checked against each
other after a crash (``test_kill_writes.py`` relies on the count; this checks the stamps).
"""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from ponmodel import audit
from ponmodel.api.main import create_app
from ponmodel.generate import generate_network
from ponmodel.keys import create_key
from ponmodel.settings import Settings
from ponmodel.storage import import_document, make_engine, migrate, revision


def test_each_element_write_stamps_the_revision_it_produced(database_url: str) -> None:
    doc = generate_network(100, seed=8)
    engine = make_engine(database_url)
    migrate(engine)
    import_document(engine, doc)
    _, token = create_key(engine, role="admin", name="audit revisions")
    app = create_app(Settings(database_url=database_url))
    ont = doc["onts"][0]["id"]
    s = doc["structures"][3]
    duct = next(d["id"] for d in doc["ducts"] if not d.get("within"))
    moved = {"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [s["lon"] + 1e-4, s["lat"]]},
        "properties": {k: s.get(k) for k in ("id", "kind", "zone", "name")}}]}
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            steps = [
                client.patch(f"/onts/{ont}", json={"version": 1, "customer": "first"}),
                client.post("/import/geojson", params={"replace": "true"},
                            content=json.dumps(moved)),
                client.patch(f"/onts/{ont}", json={"version": 2, "customer": "second"}),
                client.post("/reservations", json={"id": "R-1", "operator": "vnpt",
                                                   "ducts": [duct], "outer_diameter_mm": 2.0}),
                client.post("/reservations/R-1/confirm"),
            ]
            assert [r.status_code for r in steps] == [200, 200, 200, 201, 200], \
                [r.text for r in steps]
    finally:
        app.state.engine.dispose()
    entries = list(reversed(audit.list_entries(engine, limit=1000)))
    changing = [(e["action"], e["kind"], e["element_id"], e["revision"]) for e in entries
                if e["action"] in audit.ELEMENT_ACTIONS]
    with engine.connect() as conn:
        current = revision(conn)
    engine.dispose()
    # import → 1, edit → 2, merge → 3, edit → 4, confirm → 5
    assert current == 5
    assert [r for *_, r in changing] == [1, 2, 3, 4, 5], changing
