"""Fault injection: databases made for one test, small or read-only file systems, and
servers in their own process groups that can be killed.

A PostgreSQL database here is a scratch one per test (:func:`ponmodel.storage.scratch_postgres`),
not the session's: a test terminates backends or kills servers holding connections, and must
not reach another test's database. Mounting needs root; a test that mounts is marked
``needs_root`` and skips when the machine refuses the mount (not root, no tmpfs), except in
CI (``CI=true``), where it fails: CI must never pass it silently.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from ponmodel.api.loadtest import free_port, serve_command, start_server, stop_server, wait_healthy
from ponmodel.storage import scratch_postgres


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "needs_root: mounts file systems or sets file attributes (skipped when the "
        "OS refuses, failed instead under CI=true)")


def refused(reason: str) -> None:
    """Skip on a developer's machine, fail in CI: the fault could not be set up."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def pg_base_url() -> str:
    """The server of ``PONMODEL_TEST_DATABASE_URL`` (skip without it, fail in CI)."""
    base = os.environ.get("PONMODEL_TEST_DATABASE_URL")
    if not base:
        refused("PONMODEL_TEST_DATABASE_URL is not set (PostgreSQL tests skipped)")
    assert base is not None
    return base


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database's URL: an SQLite file, then a scratch PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'faults.db'}"
        return
    with scratch_postgres(pg_base_url(), "ponmodel_faults") as url:
        yield url


@pytest.fixture
def postgres_only_url() -> Iterator[str]:
    """A scratch PostgreSQL database's URL."""
    with scratch_postgres(pg_base_url(), "ponmodel_faults") as url:
        yield url


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


class Mounts:
    """tmpfs mounts made by one test, each unmounted (and its immutable files freed) at the
    end of the test whatever happened."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.mounted: list[Path] = []
        self.immutable: list[Path] = []

    def tmpfs(self, name: str, size: str) -> Path:
        """A new tmpfs of ``size`` (``mount -o size=``) at a folder of the test's own."""
        if os.geteuid() != 0:
            refused("mounting a tmpfs needs root")
        target = self.root / name
        target.mkdir()
        done = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target))
        if done.returncode != 0:
            refused(f"the OS refused to mount a tmpfs: {done.stderr.strip()}")
        self.mounted.append(target)
        return target

    def remount_read_only(self, target: Path) -> None:
        done = _run("mount", "-o", "remount,ro", str(target))
        if done.returncode != 0:
            refused(f"the OS refused to remount {target} read-only: {done.stderr.strip()}")

    def make_immutable(self, path: Path) -> None:
        if os.geteuid() != 0:
            refused("chattr +i needs root")
        done = _run("chattr", "+i", str(path))
        if done.returncode != 0:
            refused(f"the OS refused chattr +i on {path}: {done.stderr.strip()}")
        self.immutable.append(path)

    def release(self) -> None:
        for path in self.immutable:
            _run("chattr", "-i", str(path))
        for target in reversed(self.mounted):
            if _run("umount", str(target)).returncode != 0:
                _run("umount", "-l", str(target))  # a file still open: detach it anyway


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[Mounts]:
    m = Mounts(tmp_path)
    try:
        yield m
    finally:
        m.release()


# --------------------------------------------------------------------------- servers


class Server:
    """``ponmodel serve`` (one worker) on a database, in its own process group."""

    def __init__(self, url: str, log: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process = start_server(serve_command(url, self.port, workers=1), log,
                                    env={**os.environ, **(env or {})})
        try:
            wait_healthy(self.base_url, self.process, timeout_s=60)
        except RuntimeError:
            stop_server(self.process)
            raise

    def kill(self) -> None:
        """SIGKILL to the whole process group, at once."""
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        stop_server(self.process)

    def tracebacks(self) -> str:
        """What the server logged of unexpected errors (tracebacks), '' when nothing."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return text if "Traceback" in text else ""


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers (each stopped at the end of the test, if still running)."""
    started: list[Server] = []
    count = 0

    def start(url: str, **kwargs: Any) -> Server:
        nonlocal count
        count += 1
        server = Server(url, tmp_path / f"server-{count}.log", **kwargs)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            stop_server(server.process)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def http(base_url: str, token: str, timeout_s: float = 60.0) -> Iterator[httpx.Client]:
    """A client of ``base_url`` sending ``token``."""
    with httpx.Client(base_url=base_url, headers=bearer(token), timeout=timeout_s) as client:
        yield client
