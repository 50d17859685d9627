"""Dependencies shared by the routes: the engine, a connection, the cached topology."""

from __future__ import annotations

import copy
import dataclasses
import gc
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from fastapi._compat import field_annotation_is_sequence
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPBearer
from pydantic import BaseModel
from sqlalchemy import Connection, Engine
from starlette.routing import BaseRoute

from ponmodel.access import Principal
from ponmodel.api.limits import NO_KEY_MESSAGE
from ponmodel.api.problems import ProblemError
from ponmodel.audit import element_changes
from ponmodel.document import pointer
from ponmodel.errors import AuthenticationError, ReplayError
from ponmodel.scope import redact
from ponmodel.storage import export_with, read_snapshot, revision
from ponmodel.topology.build import Topology, build_topology, subset_for_zone
from ponmodel.topology.replay import net_changes, replayed, touched_ids

T = TypeVar("T")

REPLAYED_ACTIONS = frozenset({"create", "edit", "delete"})
"""Audit actions whose entries the cache replays (:meth:`TopologyCache._catch_up`)."""


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in
# its thread pool, and each such hop costs more CPU than what these do.


async def get_engine(request: Request) -> Engine:
    """The application's engine (set by :func:`ponmodel.api.main.create_app`)."""
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def get_connection(engine: EngineDep) -> Iterator[Connection]:
    """A read connection for one request: every read of the request sees one snapshot
    (:func:`ponmodel.storage.read_snapshot`), so a whole-network read during an import
    sees the old network or the new one, never a mix."""
    with read_snapshot(engine) as conn:
        yield conn


ConnectionDep = Annotated[Connection, Depends(get_connection)]


_BEARER = HTTPBearer(auto_error=False, scheme_name="apiKey",
                     description="An API key from `ponmodel keys create`: 'Bearer pm_…'.")
"""Declares the bearer scheme in OpenAPI; the header itself is read below."""


def get_principal(request: Request,
                  _declared: Annotated[Any, Depends(_BEARER)] = None) -> Principal:
    """Who is asking, as :class:`ponmodel.api.limits.Gate` found it from the headers before
    the body was read: the holder of the bearer key, or the read-only loopback viewer.

    Raises
    ------
    AuthenticationError
        No key (the gate lets keyless safe requests through for the open routes).
    """
    principal: Principal | None = request.scope.get("state", {}).get("principal")
    if principal is None:
        raise AuthenticationError(NO_KEY_MESSAGE)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


class TopologyCache:
    """The network's topology per reader scope and zone, caught up with every write.

    Building it costs one export of the database; every write bumps the revision
    (:func:`ponmodel.storage.revision`), so readers never see a stale graph. A write through
    the editing endpoints is replayed from its audit entries instead
    (:meth:`_catch_up`): the whole network's topology follows it without an export or a
    build, and the zones it does not touch keep their topologies and cached values. A
    scope (an operator) gets the topology of :func:`ponmodel.scope.redact`'s document,
    built from the whole network's when first read at a revision.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._topologies: dict[tuple[str | None, str | None], Topology] = {}
        self._memo: dict[Hashable, _Memo] = {}
        self._pending: dict[Hashable, _Pending] = {}

    def get(self, conn: Connection, zone: str | None = None, scope: str | None = None
            ) -> Topology:
        """The topology of the network, or of one zone, as ``scope`` may read it."""
        return self._get(conn, zone, scope)[0]

    def _get(self, conn: Connection, zone: str | None, scope: str | None
             ) -> tuple[Topology, int]:
        current = revision(conn)
        with self._lock:
            if self._revision != current or (None, None) not in self._topologies:
                self._catch_up(conn, current)
            if (scope, None) not in self._topologies and (scope, zone) not in self._topologies:
                whole = self._topologies[(None, None)]  # scope is not None here
                self._topologies[(scope, None)] = build_topology(
                    redact(whole.doc, scope)  # type: ignore[arg-type]
                )
            if (scope, zone) not in self._topologies:  # zone is not None here
                scoped = self._topologies[(scope, None)]
                self._topologies[(scope, zone)] = build_topology(
                    subset_for_zone(scoped.doc, zone)  # type: ignore[arg-type]
                )
            return self._topologies[(scope, zone)], current

    def _catch_up(self, conn: Connection, current: int) -> None:
        """Bring the cache to revision ``current`` (the lock is held), the cheapest way the
        writes since allow:

        1. ONT edits that move no ONT: applied in place, and every cached value that reads
           none of the fields they changed is kept (:meth:`_replay`);
        2. any other element changes (creates, edits, removals of every kind, through the
           editing endpoints or a GeoJSON merge): replayed into a new whole-network
           topology (:func:`ponmodel.topology.replay.replayed`, no export, no build); each
           zone's topology that the changes do not touch is kept with its cached values,
           the others and every operator's whole-network topology are built again when
           next read;
        3. anything else (an import, a confirmed reservation, a gap in the log): the
           network is exported and built again.
        """
        changes = (None if self._revision is None or current < self._revision
                   or (None, None) not in self._topologies
                   else element_changes(conn, self._revision, current))
        replayed_onts = None if changes is None else self._replay(changes, current)
        if replayed_onts is not None:
            self._memo = _kept_after_edits(self._memo, *replayed_onts)
        elif changes is None or not self._replay_elements(changes, current):
            gc.unfreeze()  # the old network becomes garbage the collector may take
            self._topologies = {(None, None): build_topology(export_with(conn))}
            self._memo = {}
        self._revision = current
        gc.freeze()

    def _replay_elements(self, changes: list[dict[str, Any]], current: int) -> bool:
        """Step 2 of :meth:`_catch_up` with the audit entries ``changes`` since the cached
        revision; False when they are not all element changes the replay takes."""
        assert self._revision is not None
        whole = self._topologies[(None, None)]
        revisions = {c["revision"] for c in changes}
        if (revisions != set(range(self._revision + 1, current + 1))
                or any(c["action"] not in REPLAYED_ACTIONS for c in changes)):
            return False
        try:
            net = net_changes(changes)
            new = replayed(whole, net)
        except ReplayError:
            return False
        touched = touched_ids(net)
        kept_zones = {zone for (scope, zone), topo in self._topologies.items()
                      if scope is None and zone is not None
                      and touched.isdisjoint(topo.elements)}
        gc.unfreeze()  # what is dropped becomes garbage the collector may take
        self._topologies = {
            (scope, zone): topo for (scope, zone), topo in self._topologies.items()
            # an operator's part of a zone is kept with the zone's: the change touches
            # nothing in it (tests/topology/test_replay.py shows it for every operator)
            if zone in kept_zones
        }
        self._topologies[(None, None)] = new
        self._memo = {key: m for key, m in self._memo.items()
                      if key[1] in kept_zones}  # key: (value key, zone, scope)
        return True

    def _replay(self, changes: list[dict[str, Any]], current: int
                ) -> tuple[frozenset[str], frozenset[str]] | None:
        """Step 1 of :meth:`_catch_up` with the audit entries ``changes`` since the cached
        revision: apply ONT edits to the cached elements in place (an edit changes no tree,
        so no graph is rebuilt); the ONT fields those edits changed and the ONTs they
        edited, or None when anything else changed."""
        assert self._revision is not None
        if not _replayable(changes, current - self._revision):
            return None
        changed = frozenset(
            name for c in changes for name in c["before"].keys() | c["after"].keys()
            if c["before"].get(name) != c["after"].get(name)
        )
        edited = {c["element_id"]: c["after"] for c in changes}  # the last edit of each wins
        for topo in self._topologies.values():
            onts = topo.doc.get("onts", [])
            for i, ont in enumerate(onts):
                after = edited.get(ont["id"])
                if after is not None:  # a new dict: readers of the old one are not disturbed
                    onts[i] = copy.deepcopy(after)
                    topo.elements[ont["id"]] = ("ont", onts[i])
                    topo.pon.nodes[("ont", ont["id"])]["kind"] = after["kind"]
        return changed, frozenset(edited)

    def is_current(self, conn: Connection) -> bool:
        """Whether the cached network is the stored one, or catches up with it by replaying
        ONT edits (no rebuild): then a read through it is cheap. False when it was never
        built or a write of another kind came since (a rebuild would read the network)."""
        current = revision(conn)
        with self._lock:
            cached = self._revision
            if cached is None or (None, None) not in self._topologies or current < cached:
                return False
        return cached == current or _replayable(element_changes(conn, cached, current),
                                                current - cached)

    def memo(self, conn: Connection, key: Hashable, compute: Callable[[Topology], T],
             zone: str | None = None, scope: str | None = None,
             generation: Hashable = None, ont_fields: frozenset[str] | None = None,
             refresh: Refresh[T] | None = None) -> T:
        """``compute(topology)`` for this revision and scope, computed once per ``key``.

        ``generation`` names what else the value depends on (the reservations' revision):
        a value of another generation is replaced, not kept beside it. ``ont_fields`` names
        the ONT fields the value reads (``ONT_FIELDS_READ`` of its module): ONT edits that
        change none of them keep it; None (the default) means any field, and every edit
        replaces it. ``refresh`` says how the value catches up with edits of some of those
        fields without being computed again (:class:`Refresh`): the next reader applies it
        to the kept value and the ONTs edited since. A value computed while another request
        moved the cache to a newer revision (or rebuilt its topology) is returned to its own
        caller but not kept: it may have read elements of both revisions.

        Requests asking for the same value at once compute it once: the first computes, the
        others wait for its result (a write invalidating a report that a burst of readers
        asks for costs one computation, not one per reader).
        """
        topology, seen = self._get(conn, zone, scope)
        full_key = (key, zone, scope)
        flight = (full_key, seen, generation)
        with self._lock:
            kept = self._memo.get(full_key)
            if kept is None or kept.generation != generation or self._revision != seen:
                kept = None  # nothing to return or to refresh
            elif not kept.stale_onts:
                return kept.value  # type: ignore[no-any-return]
            pending = self._pending.get(flight)
            leader = pending is None
            if pending is None:
                pending = self._pending[flight] = _Pending()
        if not leader:
            pending.done.wait()
            if pending.error is not None:
                raise pending.error
            return pending.value  # type: ignore[no-any-return]
        try:
            if kept is not None and refresh is not None:  # kept here is a stale value
                value = refresh.apply(kept.value, topology, kept.stale_onts)
            else:
                value = compute(topology)
            pending.value = value
        except BaseException as exc:
            pending.error = exc
            raise
        finally:
            with self._lock:
                del self._pending[flight]
                if (pending.error is None and self._revision == seen
                        and self._topologies.get((scope, zone)) is topology):
                    self._memo[full_key] = _Memo(
                        generation, pending.value, ont_fields,
                        refresh.fields if refresh is not None else frozenset())
            pending.done.set()
        gc.freeze()  # long-lived: full collections need not walk it again (see _Memo)
        return value


@dataclass(frozen=True, slots=True)
class Refresh(Generic[T]):
    """How a cached value catches up with ONT edits of some fields without being computed
    again: ``apply(value, topology, edited_ont_ids)`` returns the value after those edits
    (the topology already holds the edited elements). Edits of other fields that the value
    reads replace it as before.

    Examples
    --------
    >>> counts = Refresh(frozenset({"service"}), lambda value, topo, onts: value + len(onts))
    >>> counts.apply(3, None, frozenset({"ONT-01"}))
    4
    """

    fields: frozenset[str]
    apply: Callable[[T, Topology, frozenset[str]], T]


def _replayable(changes: list[dict[str, Any]], revisions: int) -> bool:
    """Whether these element changes (one per revision) are ONT edits that leave every
    tree as it is, which the cache applies in place."""
    return len(changes) == revisions and all(
        c["action"] == "edit" and c["kind"] == "ont"
        and c["before"]["structure"] == c["after"]["structure"] for c in changes)


def _kept_after_edits(memo: dict[Hashable, _Memo], changed: frozenset[str],
                      edited: frozenset[str]) -> dict[Hashable, _Memo]:
    """The cached values that outlive ONT edits changing ``changed`` fields of the
    ``edited`` ONTs: those that read none of the fields as they are, those whose
    :class:`Refresh` covers every field they read among them marked to catch up with the
    edited ONTs; the others are dropped."""
    kept = {}
    for key, m in memo.items():
        if m.ont_fields is None:
            continue
        read = m.ont_fields & changed
        if not read:
            kept[key] = m
        elif m.refresh_fields and read <= m.refresh_fields:
            kept[key] = dataclasses.replace(m, stale_onts=m.stale_onts | edited)
    return kept


@dataclass(frozen=True, slots=True)
class _Memo:
    """A computed value, what else it depends on, and the ONT fields it reads.

    Cached values are frozen out of the cyclic collector (:func:`gc.freeze`): a full
    collection walks every live object, and the Hanoi network's graphs and reports are
    some 230,000 of them (153 ms per full collection on the 2-core machine, held under
    the GIL: every request in flight waits). Frozen objects are still freed by reference
    counting when a value is replaced; a rebuild unfreezes everything first.
    """

    generation: Hashable
    value: Any
    ont_fields: frozenset[str] | None
    refresh_fields: frozenset[str] = frozenset()
    """The ONT fields whose edits the value can catch up with (:class:`Refresh`)."""
    stale_onts: frozenset[str] = frozenset()
    """ONTs edited since the value was computed, in fields it catches up with."""


@dataclass(slots=True)
class _Pending:
    """A value being computed: the others asking for it wait on ``done``."""

    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class ScopedCache:
    """The topology cache as one principal reads it: every route reads through this, so
    what it computes is scoped by construction."""

    def __init__(self, cache: TopologyCache, principal: Principal) -> None:
        self.cache = cache
        self.principal = principal
        self.scope = principal.scope

    def get(self, conn: Connection, zone: str | None = None) -> Topology:
        """The topology of the network, or of one zone, in this principal's scope."""
        return self.cache.get(conn, zone, self.scope)

    def is_current(self, conn: Connection) -> bool:
        """Whether the cached network is the stored one (:meth:`TopologyCache.is_current`)."""
        return self.cache.is_current(conn)

    def memo(self, conn: Connection, key: Hashable, compute: Callable[[Topology], T],
             zone: str | None = None, generation: Hashable = None,
             ont_fields: frozenset[str] | None = None, refresh: Refresh[T] | None = None
             ) -> T:
        """``compute(topology)`` in this principal's scope, computed once per revision
        (and ``generation``; see :meth:`TopologyCache.memo` for ``ont_fields`` and
        ``refresh``)."""
        return self.cache.memo(conn, key, compute, zone, self.scope, generation, ont_fields,
                               refresh)


async def get_cache(request: Request, principal: PrincipalDep) -> ScopedCache:
    """The application's topology cache, as the asking principal may read it."""
    cache: TopologyCache = request.app.state.topology_cache
    return ScopedCache(cache, principal)


CacheDep = Annotated[ScopedCache, Depends(get_cache)]


def get_topology(cache: CacheDep, conn: ConnectionDep) -> Topology:
    """The cached topology of the whole network, in the principal's scope."""
    return cache.get(conn)


TopologyDep = Annotated[Topology, Depends(get_topology)]


@dataclass(frozen=True, slots=True)
class QueryParameters:
    """The query parameters a route declares (its own and its dependencies'), by the name
    a client sends (the alias: ``class``, ``from``), and those of them that take several
    values (``/impact?element=D1&element=D2``)."""

    accepted: frozenset[str]
    several: frozenset[str]


def query_parameters_of(dependant: Dependant) -> QueryParameters:
    """The query parameters a route declares, read from its dependency tree ``dependant``
    (what FastAPI parses and OpenAPI describes; a query model, ``Annotated[Filters,
    Query()]``, stands for its fields)."""
    accepted: set[str] = set()
    several: set[str] = set()
    pending = [dependant]
    while pending:
        dependant = pending.pop()
        pending.extend(dependant.dependencies)
        for param in dependant.query_params:
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                fields = [(f.alias or name, f.annotation)
                          for name, f in annotation.model_fields.items()]
            else:
                fields = [(param.alias, annotation)]
            for name, annotation in fields:
                accepted.add(name)
                # FastAPI's own test for a parameter it reads with getlist
                if field_annotation_is_sequence(annotation):
                    several.add(name)
    return QueryParameters(frozenset(accepted), frozenset(several))


def declared_query_parameters(routes: Sequence[BaseRoute]) -> dict[int, QueryParameters]:
    """The query parameters of every API route, by ``id(route)`` of the route a request
    matches (``scope["route"]``; a route is not hashable): computed once when the app is
    built, with the dependencies its routers add, and read by :func:`checked_query`."""
    return {id(c.original_route): query_parameters_of(c.dependant)
            for c in iter_route_contexts(routes) if isinstance(c.original_route, APIRoute)}


async def checked_query(request: Request) -> None:
    """Refuse a query parameter the route does not declare (an unknown one silently
    ignored answers another question than the client asked: ``/shared-risk?zone=Z`` was
    the whole network's) and one given more than once where it takes one value (a silent
    'last one wins' would hide a client's mistake). Both 422, each parameter located at
    ``/query/<name>``."""
    params = request.query_params
    if not params:
        return
    route = request.scope["route"]
    known: dict[int, QueryParameters] = request.app.state.query_parameters
    declared = known.get(id(route))
    if declared is None:  # a route added after the app was built (tests)
        declared = known[id(route)] = query_parameters_of(route.dependant)
    unknown = [name for name in params if name not in declared.accepted]
    if unknown:
        accepts = (f"it accepts {', '.join(map(repr, sorted(declared.accepted)))}"
                   if declared.accepted else "it takes no query parameter")
        names = ", ".join(map(repr, unknown))
        detail = (f"unknown query parameter{'s' if len(unknown) > 1 else ''} {names} for "
                  f"{request.method} {route.path}; {accepts}")
        raise ProblemError(422, "Unknown query parameter", detail,
                           kind="/problems/unknown-parameter", errors=[
                               {"pointer": pointer("query", name), "field": name,
                                "message": f"unknown query parameter {name!r}; {accepts}"}
                               for name in unknown])
    repeated = [(name, len(params.getlist(name))) for name in params
                if name not in declared.several and len(params.getlist(name)) > 1]
    if repeated:
        messages = [f"query parameter {name!r} is given {count} times; it takes one value"
                    for name, count in repeated]
        raise ProblemError(422, "Repeated query parameter", "; ".join(messages),
                           kind="/problems/repeated-parameter", errors=[
                               {"pointer": pointer("query", name), "field": name,
                                "message": message}
                               for (name, _), message in zip(repeated, messages, strict=True)])
