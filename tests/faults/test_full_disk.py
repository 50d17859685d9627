"""A full disk under SQLite: the database on a 3 MiB tmpfs, filled by replace imports of ever
larger generated networks until one does not fit.

The import that does not fit answers 507 ``/problems/storage-full`` naming the database file;
the database still holds the network before it, whole (same checksum), and reads go on. The
command line's import meets the same disk: one line naming the file and "disk is full", exit
1, no traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ponmodel.api.main import create_app
from ponmodel.document import canonical, dump_document, load_document
from ponmodel.generate import generate_network
from ponmodel.keys import create_key
from ponmodel.settings import Settings
from ponmodel.storage import checksum, export_document, import_document, make_engine, migrate
from tests.faults.conftest import Mounts

pytestmark = pytest.mark.needs_root

SIZES = (200, 400, 800, 1600, 3200, 6400, 12800)
"""ONTs of the successive imports: on 3 MiB, 1,600 fit (about 3.1 MB of log) and 3,200 do
not (measured 2026-12, SQLite of Python 3.11)."""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``ponmodel ARGS`` run by this Python, its output captured."""
    return subprocess.run([sys.executable, "-m", "ponmodel.api.cli", *args], capture_output=True,
                          text=True, check=False, timeout=120)


def test_a_full_disk_is_507_and_keeps_the_previous_network(mounts: Mounts,
                                                           tmp_path: Path) -> None:
    disk = mounts.tmpfs("disk", "3m")
    path = disk / "faults.db"
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    migrate(engine)
    stored = generate_network(100, seed=1)
    import_document(engine, stored)
    _, token = create_key(engine, role="admin", name="full disk")
    app = create_app(Settings(database_url=url))
    try:
        with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
            for onts in SIZES:
                doc = generate_network(onts, seed=onts)
                before = checksum(engine)
                r = client.post("/import", params={"replace": "true"},
                                content=dump_document(doc, indent=False))
                if r.status_code == 200:
                    stored = doc
                    continue
                assert r.status_code == 507, r.text
                break
            else:
                pytest.fail(f"{SIZES[-1]} ONTs still fit on 3 MiB")
            problem = r.json()
            assert problem["type"] == "/problems/storage-full", problem
            assert str(path) in problem["detail"] and "disk is full" in problem["detail"]
            assert checksum(engine) == before
            # reads still work, and read the previous network whole
            expected = canonical(load_document(stored))
            assert canonical(load_document(export_document(engine))) == expected
            r = client.get("/export")
            assert r.status_code == 200, r.text
            assert canonical(load_document(r.json())) == expected
            r = client.get("/onts", params={"limit": 1})
            assert r.status_code == 200 and r.json()["total"] == len(stored["onts"]), r.text
            ont = stored["onts"][0]["id"]
            assert client.get(f"/onts/{ont}").status_code == 200

        # the command line on the same full disk
        big = tmp_path / "big.json"
        dump_document(generate_network(SIZES[-1], seed=7), big)
        done = cli("import", str(big), "--replace", "--database", url)
        assert done.returncode == 1, (done.stdout, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert str(path) in lines[0] and "disk is full" in lines[0], lines
        assert checksum(engine) == before
    finally:
        app.state.engine.dispose()
        engine.dispose()
