"""A read-only SQLite database: a tmpfs remounted read-only, and separately an immutable
file (``chattr +i``) in a writable folder.

The app starts on it (nothing to migrate), reads answer 200 with the stored data, writes
answer 503 ``/problems/read-only``; the command line exports it, and its writes are one
line and exit 1, no traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from ponmodel.api.main import create_app
from ponmodel.document import canonical, dump_document, load_document
from ponmodel.generate import generate_network
from ponmodel.keys import create_key
from ponmodel.settings import Settings
from ponmodel.storage import import_document, make_engine, migrate
from tests.faults.conftest import Mounts

pytestmark = pytest.mark.needs_root


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ponmodel.api.cli", *args], capture_output=True,
                          text=True, check=False, timeout=120)


def _one_line_error(done: subprocess.CompletedProcess[str], path: Path) -> str:
    assert done.returncode == 1, (done.returncode, done.stdout[-2000:], done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0] and "read-only" in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("how", ["remounted", "immutable"])
def test_a_read_only_database_serves_reads_and_refuses_writes(
    how: str, mounts: Mounts, tmp_path: Path
) -> None:
    folder = mounts.tmpfs("ro", "20m") if how == "remounted" else tmp_path / "db"
    folder.mkdir(exist_ok=True)
    path = folder / "faults.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    doc = generate_network(200, seed=3)
    import_document(engine, doc)
    _, token = create_key(engine, role="admin", name="read only")
    engine.dispose()  # the last connection checkpoints and removes the -wal file
    if how == "remounted":
        mounts.remount_read_only(folder)
    else:
        mounts.make_immutable(path)
    expected = canonical(load_document(doc))
    ont = doc["onts"][0]
    duct = next(d["id"] for d in doc["ducts"] if not d.get("within"))

    app = create_app(Settings(database_url=url))
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            r = client.get("/export")
            assert r.status_code == 200, r.text
            assert canonical(load_document(r.json())) == expected
            r = client.get(f"/onts/{ont['id']}")
            assert r.status_code == 200, r.text
            assert (r.json()["customer"], r.headers["ETag"]) == (ont.get("customer"), '"1"')
            r = client.get("/fill")
            assert r.status_code == 200, r.text

            writes = [
                ("PATCH", f"/onts/{ont['id']}", {"json": {"version": 1, "customer": "x"}}),
                ("POST", "/reservations", {"json": {"operator": "vnpt", "ducts": [duct],
                                                    "outer_diameter_mm": 2.0}}),
                ("POST", "/import", {"params": {"replace": "true"},
                                     "content": dump_document(doc, indent=False)}),
            ]
            for method, url_path, kwargs in writes:
                r = client.request(method, url_path, **kwargs)
                assert r.status_code == 503, (method, url_path, r.status_code, r.text)
                assert r.json()["type"] == "/problems/read-only", r.text
                assert str(path) in r.json()["detail"], r.text
            r = client.get(f"/onts/{ont['id']}")  # nothing changed
            assert r.status_code == 200 and r.headers["ETag"] == '"1"', r.text
    finally:
        app.state.engine.dispose()

    done = cli("export", "--database", url)
    assert done.returncode == 0, done.stderr[-3000:]
    assert canonical(load_document(orjson.loads(done.stdout))) == expected
    document = tmp_path / "network.json"
    dump_document(doc, document)
    _one_line_error(cli("import", str(document), "--replace", "--database", url), path)
    _one_line_error(cli("reserve", "create", "--operator", "vnpt", "--ducts", duct,
                        "--cable-diameter-mm", "2", "--database", url), path)


CRASH_AFTER_AN_EDIT = """
import os, sys
from ponmodel.edits import edit_ont
from ponmodel.storage import make_engine
engine = make_engine(sys.argv[1])
edit_ont(engine, sys.argv[2], {"customer": "acknowledged before the crash"}, expected_version=1)
print("acknowledged", flush=True)
os.kill(os.getpid(), 9)  # no checkpoint: the edit is in the -wal file only
"""


@pytest.mark.parametrize("how", ["remounted", "immutable"])
def test_a_read_only_database_reads_what_its_log_holds(
    how: str, mounts: Mounts, tmp_path: Path
) -> None:
    """A writer killed before its log was checkpointed, then the database made read-only
    (the volume remounted read-only after the crash, or the file frozen): the acknowledged
    edit is in the ``-wal`` file, and a reader must see it (SQLite reads a WAL database
    read-only), or refuse to start; never serve the network as it was before the edit."""
    folder = mounts.tmpfs("ro", "20m") if how == "remounted" else tmp_path / "db"
    folder.mkdir(exist_ok=True)
    path = folder / "faults.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    doc = generate_network(100, seed=4)
    import_document(engine, doc)
    _, token = create_key(engine, role="admin", name="read only")
    engine.dispose()  # checkpointed: the file holds the import
    ont = doc["onts"][0]["id"]
    done = subprocess.run([sys.executable, "-c", CRASH_AFTER_AN_EDIT, url, ont],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.stdout.strip() == "acknowledged", done.stderr[-3000:]
    assert Path(f"{path}-wal").stat().st_size > 0, "the edit was checkpointed: no log to read"
    if how == "remounted":
        mounts.remount_read_only(folder)
    else:
        mounts.make_immutable(path)
    app = create_app(Settings(database_url=url))
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            r = client.get(f"/onts/{ont}")
            assert r.status_code == 200, r.text
            assert (r.json()["customer"], r.headers["ETag"]) == (
                "acknowledged before the crash", '"2"'), "the acknowledged edit is not read"
    finally:
        app.state.engine.dispose()
