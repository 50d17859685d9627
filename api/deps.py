"""Dependencies shared by the routes: the engine, a connection, the cached topology."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from ponmodel.storage import export_with, revision
from ponmodel.topology.build import Topology, build_topology, subset_for_zone

T = TypeVar("T")


def get_engine(request: Request) -> Engine:
    """The application's engine (set by :func:`ponmodel.api.main.create_app`)."""
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def get_connection(engine: EngineDep) -> Iterator[Connection]:
    """A read connection for one request."""
    with engine.connect() as conn:
        yield conn


ConnectionDep = Annotated[Connection, Depends(get_connection)]


class TopologyCache:
    """The whole network's topology, rebuilt only when the stored revision changes.

    Building it costs one export of the database; every write bumps the revision
    (:func:`ponmodel.storage.revision`), so readers never see a stale graph.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._topology: Topology | None = None
        self._zones: dict[str, Topology] = {}
        self._memo: dict[Hashable, Any] = {}

    def get(self, conn: Connection, zone: str | None = None) -> Topology:
        """The topology of the network, or of one zone."""
        current = revision(conn)
        with self._lock:
            if self._topology is None or self._revision != current:
                self._topology = build_topology(export_with(conn))
                self._revision = current
                self._zones = {}
                self._memo = {}
            if zone is None:
                return self._topology
            if zone not in self._zones:
                self._zones[zone] = build_topology(subset_for_zone(self._topology.doc, zone))
            return self._zones[zone]

    def memo(self, conn: Connection, key: Hashable, compute: Callable[[Topology], T],
             zone: str | None = None) -> T:
        """``compute(topology)`` for this revision, computed once per ``key``."""
        topology = self.get(conn, zone)
        full_key = (key, zone)
        with self._lock:
            if full_key in self._memo:
                return self._memo[full_key]  # type: ignore[no-any-return]
        value = compute(topology)
        with self._lock:
            self._memo[full_key] = value
        return value


def get_topology(request: Request, conn: ConnectionDep) -> Topology:
    """The cached topology of the whole network."""
    cache: TopologyCache = request.app.state.topology_cache
    return cache.get(conn)


TopologyDep = Annotated[Topology, Depends(get_topology)]


def get_cache(request: Request) -> TopologyCache:
    """The application's topology cache."""
    cache: TopologyCache = request.app.state.topology_cache
    return cache


CacheDep = Annotated[TopologyCache, Depends(get_cache)]


async def capped_body(request: Request) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``max_body_bytes`` (the
    declared Content-Length is checked first, so an oversized upload is not read at all)."""
    from fastapi import HTTPException

    limit: int = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body of {int(declared):,} bytes exceeds the limit "
                                 f"of {limit:,} bytes (PONMODEL_MAX_BODY_BYTES)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"request body exceeds the limit of {limit:,} bytes "
                                     "(PONMODEL_MAX_BODY_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)
