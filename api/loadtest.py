"""Load test of a running API: an open-loop mix of reads and writes on loopback (issue 7).

Requests arrive at a constant rate whatever the server's answers (an *open* loop): a slow
answer does not slow the arrivals down, so queueing shows in the latency, as it does for
real users. Each arrival is one operation drawn from :data:`READ_MIX` (one request), or,
with probability ``write_share``, a write: a reservation of room in one duct then its
cancellation, or an ONT edit (``GET /onts/{ont}`` for the ``ETag``, then ``PATCH`` with that
version, re-read and retried once on 409).

Latency of the first request of an operation is counted from the moment it was *due*
(its arrival time), not from when the generator got round to sending it, so a lagging
generator or a full connection pool cannot hide queueing (no "coordinated omission");
the follow-up request of a write (the cancel, the PATCH) depends on the first answer and
is counted from when it is sent. The generator's own lag behind its schedule is reported
(``schedule_lag_ms``) to tell a slow server from a saturated generator, which shares the
machine with the server (loopback only).

Before measuring, a warm-up hits every endpoint kind a few times (every zone for the zone
reports) so that each worker process has built its caches; it is reported apart
(``warmup``) and excluded from every measured figure.

Only loopback targets are accepted (127.0.0.0/8, ``::1``, ``localhost``): the test writes
(reservations, ONT edits) and is not meant to hammer anything but one's own server.

An ONT edit changes one field, and every edit of an ONT undoes the one before (the network
does not drift however long the test runs): ``edit="customer"`` renames the customer
(appends or strips `` (renamed)``), what the operations staff do most; it invalidates
what reads customers (failure impact, the zone report, the viewer) but not the budget or
capacity figures. ``edit="service"`` moves the ONT's sold downstream maximum by 1 Mbit/s,
a re-profiled customer: every capacity figure of the network is recomputed after it.

Examples
--------
>>> check_loopback("http://127.0.0.1:8000")
'127.0.0.1'
>>> check_loopback("http://example.com")
Traceback (most recent call last):
...
ponmodel.api.loadtest.LoadTargetError: the load test runs against loopback only ...
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson

READ_P99_GOAL_MS = 50.0
"""Issue 7's goal: p99 of reads under 50 ms at 200 requests per second, with zero errors."""

READ_MIX: dict[str, float] = {
    # per-element lookups dominate (an engineer clicking through ONTs and ducts) ...
    "GET /trace/{ont}": 0.16,
    "GET /budget/onts/{ont}": 0.14,
    "GET /capacity/onts/{ont}": 0.14,
    "GET /fill/ducts/{duct}": 0.12,
    "GET /impact?element={duct}": 0.10,
    # ... zone reports (hundreds of kB each) and the network summary less often
    "GET /budget?zone={zone}": 0.10,
    "GET /capacity?zone={zone}": 0.08,
    "GET /fill?zone={zone}": 0.08,
    "GET /capacity/summary": 0.08,
}
"""Share of each read endpoint among read arrivals (templated path → share, sums to 1)."""

WRITE_MIX: dict[str, float] = {"reservation": 0.5, "ont_edit": 0.5}
"""Share of each write flow among write arrivals."""

EDITS = ("customer", "service")
"""What an ONT edit changes (see the module docstring)."""
RENAMED = " (renamed)"

WRITE_ENDPOINTS = (
    "POST /reservations",
    "POST /reservations/{id}/cancel",
    "GET /onts/{ont}",
    "PATCH /onts/{ont}",
)
"""The requests the write flows make (``GET /onts/{ont}`` reads the ETag of an edit)."""

MAX_DURATION_S = 3600.0
MAX_RATE_RPS = 5000.0
MAX_REQUESTS = 1_000_000
"""Hard bounds: the load test is a measurement, never a flood."""

RESERVATION_FIBRES = 12
MIN_ROOM_MM = 30.0
"""Reservations go to top-level ducts where a 30 mm cable would still fit, so that a
12-fibre cable always finds room even with a few reservations in flight at once."""


class LoadTargetError(ValueError):
    """A target the load test refuses (not loopback) or cannot use (no ONTs, no ducts)."""


def check_loopback(base_url: str) -> str:
    """The host of ``base_url`` when it is a loopback address, else raise.

    Accepted: ``localhost`` and literal addresses in 127.0.0.0/8 or ``::1``; names are not
    resolved (a name that resolves to loopback today may not tomorrow).

    Raises
    ------
    LoadTargetError
        The URL is not http(s) or its host is not loopback.
    """
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        msg = f"not a URL: {base_url!r} ({exc})"
        raise LoadTargetError(msg) from None
    if url.scheme not in ("http", "https") or not url.host:
        msg = f"the load test needs an http(s) URL with a host, got {base_url!r}"
        raise LoadTargetError(msg)
    host = url.host
    if host.lower() == "localhost":
        return host
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        msg = (f"the load test runs against loopback only (127.0.0.0/8, ::1, localhost); "
               f"refusing {host!r}")
        raise LoadTargetError(msg)
    return host


# --------------------------------------------------------------------------- figures


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ascending values, nearest-rank (an observed value).

    Examples
    --------
    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([1.0, 2.0, 3.0, 4.0], 99)
    (2.0, 4.0)
    """
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class _Endpoint:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    conflicts: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        values = sorted(self.latencies_ms)
        return {
            "count": len(values),
            "errors": self.errors,
            "conflicts": self.conflicts,
            "p50_ms": _round(percentile(values, 50)),
            "p99_ms": _round(percentile(values, 99)),
            "max_ms": _round(values[-1]) if values else math.nan,
            "mean_ms": _round(sum(values) / len(values)) if values else math.nan,
            "statuses": dict(sorted(self.statuses.items())),
        }


def _round(value: float) -> float:
    return round(value, 3)


@dataclass
class _Recorder:
    """Every answer of one phase: latency, status, error or conflict, per endpoint."""

    endpoints: dict[str, _Endpoint] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    completed: int = 0
    answered: int = 0
    last_done_s: float = 0.0

    def add(self, endpoint: str, latency_ms: float, status: int | None,
            *, error: str | None = None, conflict: bool = False) -> None:
        slot = self.endpoints.setdefault(endpoint, _Endpoint())
        slot.latencies_ms.append(latency_ms)
        key = "transport" if status is None else str(status)
        slot.statuses[key] = slot.statuses.get(key, 0) + 1
        if error is None:
            self.answered += 1
        else:
            slot.errors += 1
            if len(self.error_samples) < 20:
                self.error_samples.append(f"{endpoint}: {error}")
        if conflict:
            slot.conflicts += 1
        self.completed += 1
        self.last_done_s = time.perf_counter()

    def figures(self) -> dict[str, dict[str, Any]]:
        return {name: self.endpoints[name].figures() for name in sorted(self.endpoints)}

    def pooled(self, names: list[str]) -> dict[str, Any]:
        """Count and percentiles over several endpoints' latencies together."""
        pooled = _Endpoint()
        for name in names:
            slot = self.endpoints.get(name)
            if slot is not None:
                pooled.latencies_ms.extend(slot.latencies_ms)
                pooled.errors += slot.errors
                pooled.conflicts += slot.conflicts
        figures = pooled.figures()
        del figures["statuses"]
        return figures


# --------------------------------------------------------------------------- the targets


@dataclass(slots=True)
class _Answer:
    """A response read whole: status, headers and body."""

    status_code: int
    headers: Any
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class _Http:
    """The generator's HTTP client: aiohttp, whose C parser costs the generator a fraction
    of httpx's CPU per request (it shares the machine's cores with the server it loads:
    every millisecond it spends is one the server does not get)."""

    def __init__(self, base_url: str, token: str, max_connections: int) -> None:
        self.base_url = base_url.rstrip("/")
        # Idle connections are closed by the client before uvicorn's keep-alive timeout (5 s)
        # can close them under a request being sent (an error that would be the client's).
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=2.0),
            headers={"Authorization": f"Bearer {token}"},
            json_serialize=lambda v: orjson.dumps(v).decode(),
        )

    async def request(self, method: str, url: str, *, json: Any = None,
                      params: dict[str, Any] | None = None) -> _Answer:
        async with self.session.request(method, self.base_url + url, json=json,
                                        params=params) as r:
            return _Answer(r.status, r.headers, await r.read())

    async def get(self, url: str, params: dict[str, Any] | None = None) -> _Answer:
        return await self.request("GET", url, params=params)

    async def close(self) -> None:
        await self.session.close()


def _ok(r: _Answer, url: str) -> _Answer:
    if r.status_code != 200:
        msg = f"GET {url} answered {r.status_code}: {r.text[:200]}"
        raise LoadTargetError(msg)
    return r


@dataclass
class _Targets:
    """Ids read from the server: what the mix picks from."""

    zones: list[str]
    onts: list[str]
    ducts: list[str]
    roomy_ducts: list[str]
    operators: list[str]


async def _all_ids(client: _Http, path: str) -> list[str]:
    ids: list[str] = []
    offset = 0
    while True:
        page = _ok(await client.get(path, params={"limit": 1000, "offset": offset}), path).json()
        ids.extend(item["id"] for item in page["items"])
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return ids


async def _targets(client: _Http) -> _Targets:
    zones = await _all_ids(client, "/zones")
    onts = await _all_ids(client, "/onts")
    ducts = await _all_ids(client, "/ducts")
    operators = await _all_ids(client, "/operators")
    fill = _ok(await client.get("/fill"), "/fill").json()
    roomy = [d["id"] for d in fill["ducts"]
             if d["within"] is None and d["max_new_cable_mm"] >= MIN_ROOM_MM]
    if not (zones and onts and ducts and operators):
        msg = "the server holds no network to load (zones, ONTs, ducts and operators needed)"
        raise LoadTargetError(msg)
    return _Targets(zones, onts, ducts, roomy or ducts, operators)


# --------------------------------------------------------------------------- operations


def edited(ont: dict[str, Any], edit: str) -> dict[str, Any]:
    """The change an ONT edit of the load test sends for ``ont`` (as ``GET /onts/{id}``
    returns it): the undo of the previous one, so that the network does not drift.

    Examples
    --------
    >>> edited({"customer": "Canon"}, "customer")
    {'customer': 'Canon (renamed)'}
    >>> edited({"customer": "Canon (renamed)"}, "customer")
    {'customer': 'Canon'}
    >>> svc = {"fixed_mbps": 0.0, "assured_mbps": 300.0, "max_mbps": 1000.0}
    >>> edited({"service": {"down": svc}}, "service")
    {'service': {'down': {'max_mbps': 1001.0}}}
    >>> edited({"service": {"down": {**svc, "max_mbps": 1001.0}}}, "service")
    {'service': {'down': {'max_mbps': 1000.0}}}
    """
    if edit == "customer":
        name = ont.get("customer") or ""
        return {"customer": name.removesuffix(RENAMED) if name.endswith(RENAMED)
                else name + RENAMED}
    down = ont["service"]["down"]
    floor = down["fixed_mbps"] + down["assured_mbps"]
    up = int(down["max_mbps"]) % 2 == 0 or down["max_mbps"] - 1 < floor
    return {"service": {"down": {"max_mbps": down["max_mbps"] + (1.0 if up else -1.0)}}}


class _Load:
    """The operations of the mix, recording into the current phase's recorder."""

    def __init__(self, client: _Http, targets: _Targets, connections: int,
                 timeout_s: float, edit: str = "customer") -> None:
        self.client = client
        self.edit = edit
        self.timeout_s = timeout_s
        self.targets = targets
        # Requests beyond the pool's size wait here, first come first served, and their wait
        # is in their latency.
        self.gate = asyncio.Semaphore(connections)
        self.recorder = _Recorder()
        self.reservations_created = 0
        self.reservations_cancelled = 0
        self.ont_edits = 0
        self.edit_retries = 0

    def writes_done(self) -> dict[str, int]:
        """The writes that succeeded since the counters were last reset."""
        done = {"reservations_created": self.reservations_created,
                "reservations_cancelled": self.reservations_cancelled,
                "ont_edits": self.ont_edits, "ont_edit_retries": self.edit_retries}
        self.reservations_created = self.reservations_cancelled = 0
        self.ont_edits = self.edit_retries = 0
        return done

    async def request(self, endpoint: str, method: str, url: str, *,
                      due_s: float | None = None, json: Any = None,
                      expected: int = 200, conflict_ok: bool = False
                      ) -> _Answer | None:
        """One request, recorded under ``endpoint``; latency from ``due_s`` (default: now).

        Returns the response, or None after a transport error or an unexpected status.
        """
        start = time.perf_counter() if due_s is None else due_s
        try:  # the time limit covers the wait for a connection too: nothing waits forever
            async with asyncio.timeout(self.timeout_s), self.gate:
                r = await self.client.request(method, url, json=json)
        except (aiohttp.ClientError, TimeoutError) as exc:
            done = time.perf_counter()
            error = (f"no answer within {self.timeout_s:g} s" if isinstance(exc, TimeoutError)
                     else f"{type(exc).__name__}: {exc}")
            self.recorder.add(endpoint, (done - start) * 1000, None, error=error)
            return None
        done = time.perf_counter()
        latency_ms = (done - start) * 1000
        if r.status_code == expected:
            self.recorder.add(endpoint, latency_ms, r.status_code)
            return r
        if r.status_code == 409 and conflict_ok:
            self.recorder.add(endpoint, latency_ms, r.status_code, conflict=True)
            return r
        self.recorder.add(endpoint, latency_ms, r.status_code,
                          error=f"HTTP {r.status_code} on {method} {url}: {r.text[:200]}")
        return None

    async def read(self, endpoint: str, rng: random.Random, due_s: float | None) -> None:
        t = self.targets
        url = endpoint.split(" ", 1)[1].format(
            ont=rng.choice(t.onts), duct=rng.choice(t.ducts), zone=rng.choice(t.zones),
        )
        await self.request(endpoint, "GET", url, due_s=due_s)

    async def reservation(self, rng: random.Random, due_s: float | None) -> None:
        body = {"operator": rng.choice(self.targets.operators),
                "ducts": [rng.choice(self.targets.roomy_ducts)],
                "fibre_count": RESERVATION_FIBRES, "id": f"LOAD-{uuid.uuid4().hex[:12]}"}
        r = await self.request("POST /reservations", "POST", "/reservations", due_s=due_s,
                               json=body, expected=201, conflict_ok=True)
        if r is None or r.status_code != 201:
            return
        self.reservations_created += 1
        ident = r.json()["id"]
        cancelled = await self.request("POST /reservations/{id}/cancel", "POST",
                                       f"/reservations/{ident}/cancel")
        if cancelled is not None:
            self.reservations_cancelled += 1

    async def ont_edit(self, rng: random.Random, due_s: float | None) -> None:
        ont = rng.choice(self.targets.onts)
        for attempt in range(2):  # a 409 means someone edited it since: re-read, retry once
            got = await self.request("GET /onts/{ont}", "GET", f"/onts/{ont}",
                                     due_s=due_s if attempt == 0 else None)
            if got is None:
                return
            version = int(got.headers["etag"].removeprefix("W/").strip('"'))
            body = {"version": version, **edited(got.json(), self.edit)}
            r = await self.request("PATCH /onts/{ont}", "PATCH", f"/onts/{ont}", json=body,
                                   conflict_ok=True)
            if r is None:
                return
            if r.status_code == 200:
                self.ont_edits += 1
                return
            self.edit_retries += 1

    async def operation(self, kind: str, rng: random.Random, due_s: float | None) -> None:
        if kind == "reservation":
            await self.reservation(rng, due_s)
        elif kind == "ont_edit":
            await self.ont_edit(rng, due_s)
        else:
            await self.read(kind, rng, due_s)


def _plan(n: int, write_share: float, seed: int) -> list[tuple[str, int]]:
    """The kind of each arrival and the seed of its ids: reproducible for one ``seed``."""
    rng = random.Random(seed)
    reads, read_weights = list(READ_MIX), list(READ_MIX.values())
    writes, write_weights = list(WRITE_MIX), list(WRITE_MIX.values())
    plan = []
    for _ in range(n):
        if rng.random() < write_share:
            kind = rng.choices(writes, write_weights)[0]
        else:
            kind = rng.choices(reads, read_weights)[0]
        plan.append((kind, rng.getrandbits(32)))
    return plan


async def _warm_up(load: _Load, rounds: int, seed: int) -> dict[str, Any]:
    """Every write flow once, then every read kind ``rounds`` times (each zone of the zone
    reports, four ids of the others), four at a time, each request on a new connection:
    the kernel hands each one to any worker, so that every worker builds its caches."""
    started = time.perf_counter()
    rng = random.Random(seed ^ 0x5EED)
    load.headers = {"Connection": "close"}
    for kind in WRITE_MIX:
        await load.operation(kind, rng, None)
    kinds: list[str] = []
    for _ in range(rounds):
        for endpoint in READ_MIX:
            kinds.extend([endpoint] * (len(load.targets.zones) if "{zone}" in endpoint else 4))
    gate = asyncio.Semaphore(4)

    async def one(kind: str, sub_seed: int) -> None:
        async with gate:
            await load.operation(kind, random.Random(sub_seed), None)

    await asyncio.gather(*(one(k, rng.getrandbits(32)) for k in kinds))
    load.headers = {}
    recorder = load.recorder
    return {
        "requests": recorder.completed,
        "errors": sum(e.errors for e in recorder.endpoints.values()),
        "elapsed_s": _round(time.perf_counter() - started),
        "writes_done": load.writes_done(),
        "endpoints": recorder.figures(),
        "error_samples": recorder.error_samples,
    }


def _cpu_busy() -> tuple[float, float] | None:
    """(busy, total) jiffies of the whole machine from /proc/stat, None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    values = [float(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0.0)  # idle + iowait
    return sum(values) - idle, sum(values)


async def _measure(load: _Load, plan: list[tuple[str, int]], rate_rps: float,
                   timeout_s: float) -> dict[str, Any]:
    """Send ``plan`` open-loop at ``rate_rps``; wait for the answers; the phase's figures."""
    load.recorder = _Recorder()
    tasks: set[asyncio.Task[None]] = set()
    lags_ms: list[float] = []
    cpu_before, machine_before = time.process_time(), _cpu_busy()
    t0 = time.perf_counter() + 0.05
    for i, (kind, sub_seed) in enumerate(plan):
        due = t0 + i / rate_rps
        delay = due - time.perf_counter()
        await asyncio.sleep(max(delay, 0.0))  # 0 still lets the answers in flight progress
        lags_ms.append(max(0.0, time.perf_counter() - due) * 1000)
        task = asyncio.create_task(load.operation(kind, random.Random(sub_seed), due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sent_s = time.perf_counter() - t0
    abandoned = 0
    if tasks:
        # an operation makes at most four requests, each within timeout_s: a backstop
        _, pending = await asyncio.wait(set(tasks), timeout=timeout_s * 4 + 5)
        for task in pending:
            task.cancel()
        abandoned = len(pending)
    elapsed_s = max(load.recorder.last_done_s - t0, sent_s, 1e-9)
    cpu_s = time.process_time() - cpu_before
    machine_after = _cpu_busy()
    machine_share = None
    if machine_before is not None and machine_after is not None:
        busy = machine_after[0] - machine_before[0]
        total = machine_after[1] - machine_before[1]
        machine_share = _round(busy / total) if total > 0 else None
    lags_ms.sort()
    return {
        "operations": len(plan),
        "sent_s": sent_s,
        "elapsed_s": elapsed_s,
        "abandoned": abandoned,
        "schedule_lag_ms": {"p50": _round(percentile(lags_ms, 50)),
                            "p99": _round(percentile(lags_ms, 99)),
                            "max": _round(lags_ms[-1]) if lags_ms else math.nan},
        "generator_cpu_s": _round(cpu_s),
        "machine_cpu_busy_share": machine_share,
    }


async def _run(base_url: str, token: str, *, rate_rps: float, duration_s: float,
               write_share: float, seed: int, n_operations: int, warmup_rounds: int,
               timeout_s: float, max_connections: int, edit: str) -> dict[str, Any]:
    client = _Http(base_url, token, max_connections)
    try:
        load = _Load(client, await _targets(client), max_connections, timeout_s, edit)
        warmup = await _warm_up(load, warmup_rounds, seed) if warmup_rounds > 0 else None
        phase = await _measure(load, _plan(n_operations, write_share, seed), rate_rps,
                               timeout_s)
    finally:
        await client.close()
    recorder = load.recorder
    endpoints = recorder.figures()
    read_names = [n for n in endpoints if n.startswith("GET ")]
    write_names = [n for n in endpoints if not n.startswith("GET ")]
    reads = recorder.pooled(read_names)
    errors = sum(e["errors"] for e in endpoints.values()) + phase["abandoned"]
    conflicts = sum(e["conflicts"] for e in endpoints.values())
    worst = max(read_names, key=lambda n: endpoints[n]["p99_ms"], default=None)
    worst_p99 = endpoints[worst]["p99_ms"] if worst is not None else math.nan
    elapsed_s = phase.pop("elapsed_s")
    sent_s = phase.pop("sent_s")
    return {
        "base_url": base_url,
        "rate_rps": rate_rps,
        "duration_s": duration_s,
        "write_share": write_share,
        "edit": edit,
        "seed": seed,
        **phase,
        "requests": recorder.completed,
        "offered_rps": _round((phase["operations"] - 1) / sent_s if sent_s > 0 else rate_rps),
        "achieved_rps": _round(recorder.answered / elapsed_s),
        "elapsed_s": _round(elapsed_s),
        "errors": errors,
        "conflicts": conflicts,
        "reads": reads,
        "writes": recorder.pooled(write_names),
        "endpoints": endpoints,
        "writes_done": load.writes_done(),
        "goal": {
            "read_p99_limit_ms": READ_P99_GOAL_MS,
            "read_p99_ms": reads["p99_ms"],
            "worst_read_endpoint": worst,
            "worst_read_endpoint_p99_ms": worst_p99,
            "zero_errors": errors == 0,
            "met": errors == 0 and reads["p99_ms"] < READ_P99_GOAL_MS,
            "met_by_every_read_endpoint": errors == 0 and worst_p99 < READ_P99_GOAL_MS,
        },
        "error_samples": recorder.error_samples,
        "warmup": warmup,
    }


def run_load(
    base_url: str,
    token: str,
    *,
    rate_rps: float = 200.0,
    duration_s: float = 30.0,
    write_share: float = 0.02,
    edit: str = "customer",
    seed: int = 0,
    max_requests: int = 100_000,
    warmup_rounds: int = 3,
    timeout_s: float = 10.0,
    max_connections: int = 256,
) -> dict[str, Any]:
    """Load the API at ``base_url`` open-loop and return the figures per endpoint.

    Runs its own event loop: call it from synchronous code (a thread, a command).

    Parameters
    ----------
    base_url : str
        The server, on loopback only (``http://127.0.0.1:8000``).
    token : str
        An API key that may write (admin: reservations for any operator, any ONT).
    rate_rps : float
        Arrivals per second, constant (one arrival is one read, or one write flow of two
        requests: reserve then cancel, read then PATCH; a retried edit makes four).
    duration_s : float
        How long arrivals are sent; answers still on their way are then awaited (each
        request has its ``timeout_s``).
    write_share : float
        Share of arrivals that are write flows (half reservations, half ONT edits).
    edit : str
        What an ONT edit changes: ``customer`` or ``service`` (see the module docstring).
    seed : int
        Seed of the mix and of the ids picked: the same seed sends the same sequence.
    max_requests : int
        At most this many arrivals, whatever ``rate_rps * duration_s`` says.
    warmup_rounds : int
        Rounds of the warm-up (every endpoint kind, every zone of the zone reports) before
        measuring; 0 for none. Reported apart under ``warmup``, never in the figures.
    timeout_s : float
        Time limit of one request (a timeout counts as an error).
    max_connections : int
        Connections the client may hold open; a request waiting for one is queueing, and
        its wait is in its latency.

    Returns
    -------
    dict
        ``offered_rps`` (arrivals per second sent) and ``achieved_rps`` (answers that are
        not errors per second, follow-up requests included), ``requests``, ``errors``
        (status >= 500, transport errors and timeouts, any unexpected 4xx) and
        ``conflicts`` (409 on a write, counted apart: re-reading and retrying is the
        correct client behaviour);
        per templated endpoint (``"GET /trace/{ont}"``) ``count``, ``p50_ms``, ``p99_ms``,
        ``max_ms``, ``mean_ms``, ``errors``, ``conflicts`` and ``statuses``; ``reads`` and
        ``writes`` pooled; ``goal`` (read p99 under :data:`READ_P99_GOAL_MS` and zero
        errors: ``met`` on the pooled reads, ``met_by_every_read_endpoint``);
        ``writes_done``; ``schedule_lag_ms`` (how late the generator sent arrivals),
        ``generator_cpu_s`` and ``machine_cpu_busy_share`` (whole machine, 0-1);
        ``error_samples``; ``warmup`` (its requests, errors, seconds, writes and figures
        per endpoint, apart from everything above).

    Raises
    ------
    LoadTargetError
        ``base_url`` is not on loopback, a bound is exceeded, or the server holds no
        network.
    """
    check_loopback(base_url)
    if not 0 < rate_rps <= MAX_RATE_RPS:
        msg = f"rate_rps must be in (0, {MAX_RATE_RPS:g}], got {rate_rps}"
        raise LoadTargetError(msg)
    if not 0 < duration_s <= MAX_DURATION_S:
        msg = f"duration_s must be in (0, {MAX_DURATION_S:g}], got {duration_s}"
        raise LoadTargetError(msg)
    if not 0 < max_requests <= MAX_REQUESTS:
        msg = f"max_requests must be in (0, {MAX_REQUESTS}], got {max_requests}"
        raise LoadTargetError(msg)
    if not 0 <= write_share <= 1:
        msg = f"write_share must be in [0, 1], got {write_share}"
        raise LoadTargetError(msg)
    if edit not in EDITS:
        msg = f"edit must be one of {', '.join(EDITS)}, got {edit!r}"
        raise LoadTargetError(msg)
    n_operations = max(1, min(max_requests, math.floor(rate_rps * duration_s)))
    return asyncio.run(_run(
        base_url, token, rate_rps=rate_rps, duration_s=duration_s, write_share=write_share,
        seed=seed, n_operations=n_operations, warmup_rounds=warmup_rounds,
        timeout_s=timeout_s, max_connections=max_connections, edit=edit,
    ))


def format_load(result: dict[str, Any]) -> str:
    """A load test's figures as a plain-text table per endpoint and a verdict line.

    Examples
    --------
    >>> print(format_load({"offered_rps": 200.0, "achieved_rps": 199.5, "elapsed_s": 60.1,
    ...     "requests": 12000, "errors": 0, "conflicts": 1,
    ...     "endpoints": {"GET /trace/{ont}": {"count": 1900, "p50_ms": 2.1, "p99_ms": 9.5,
    ...                   "max_ms": 20.0, "errors": 0}},
    ...     "reads": {"count": 1900, "p50_ms": 2.1, "p99_ms": 9.5, "max_ms": 20.0, "errors": 0},
    ...     "writes": {"count": 0, "p50_ms": math.nan, "p99_ms": math.nan,
    ...                "max_ms": math.nan, "errors": 0},
    ...     "schedule_lag_ms": {"p50": 0.1, "p99": 1.2, "max": 3.0},
    ...     "goal": {"met": True, "read_p99_ms": 9.5, "read_p99_limit_ms": 50.0}}))
    endpoint                          count   p50 ms   p99 ms   max ms  errors
    GET /trace/{ont}                   1900      2.1      9.5     20.0       0
    all reads                          1900      2.1      9.5     20.0       0
    12,000 requests in 60.1 s: offered 200.0/s, answered 199.5/s
    0 errors, 1 conflicts (409 on a write, re-read and retried)
    generator lag behind schedule: p50 0.1 ms, p99 1.2 ms
    reads p99 9.5 ms (goal: under 50 ms with zero errors): goal met
    """
    def row(name: str, f: dict[str, Any]) -> str:
        return (f"{name:<32} {f['count']:>6} {f['p50_ms']:>8.1f} {f['p99_ms']:>8.1f} "
                f"{f['max_ms']:>8.1f} {f['errors']:>7}")

    lines = [f"{'endpoint':<32} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
             f"{'errors':>7}"]
    lines += [row(name, f) for name, f in result["endpoints"].items()]
    for name in ("reads", "writes"):
        if result[name]["count"]:
            lines.append(row(f"all {name}", result[name]))
    lag = result["schedule_lag_ms"]
    goal = result["goal"]
    lines += [
        f"{result['requests']:,} requests in {result['elapsed_s']:.1f} s: offered "
        f"{result['offered_rps']:.1f}/s, answered {result['achieved_rps']:.1f}/s",
        f"{result['errors']:,} errors, {result['conflicts']:,} conflicts (409 on a write, "
        "re-read and retried)",
        f"generator lag behind schedule: p50 {lag['p50']:.1f} ms, p99 {lag['p99']:.1f} ms",
        f"reads p99 {goal['read_p99_ms']:.1f} ms (goal: under {goal['read_p99_limit_ms']:g} ms "
        f"with zero errors): " + ("goal met" if goal["met"] else "goal NOT met"),
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the benchmark


def free_port() -> int:
    """A TCP port free on 127.0.0.1 just now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def serve_command(database_url: str, port: int, workers: int) -> list[str]:
    """``ponmodel serve`` on 127.0.0.1:``port`` with ``workers`` processes, run by this
    Python (no reliance on PATH)."""
    return [sys.executable, "-m", "ponmodel.api.cli", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers), "--database", database_url]


def start_server(command: list[str], log_path: Path, env: dict[str, str] | None = None
                 ) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group (so that its workers can be signalled
    together), its output to ``log_path`` (a file, never a pipe that could fill up)."""
    with log_path.open("ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env=env)


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], *,
                 timeout_s: float = 60.0) -> float:
    """Seconds until ``GET /health`` answers 200; raise when the process exits first or
    the time is up."""
    started = time.perf_counter()
    deadline = started + timeout_s
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            msg = f"the server exited with code {process.returncode} before answering /health"
            raise RuntimeError(msg)
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return time.perf_counter() - started
        time.sleep(0.1)
    msg = f"the server did not answer /health within {timeout_s:g} s"
    raise RuntimeError(msg)


def stop_server(process: subprocess.Popen[bytes], *, grace_s: float = 15.0) -> int:
    """SIGTERM to the server's process group, SIGKILL after ``grace_s``; its exit code."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(grace_s)
    with contextlib.suppress(ProcessLookupError):  # workers left behind by a dead parent
        os.killpg(process.pid, signal.SIGKILL)
    return process.returncode


def machine_info() -> dict[str, Any]:
    """Cores, memory, Python, platform and the date (UTC): where the figures were taken."""
    memory_gib = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        line = next(x for x in Path("/proc/meminfo").read_text().splitlines()
                    if x.startswith("MemTotal:"))
        memory_gib = round(int(line.split()[1]) / 2**20, 1)
    return {
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def load_hanoi(database_url: str) -> tuple[dict[str, int], str]:
    """Migrate ``database_url``, import the Hanoi network (replacing what it holds) and
    create an admin key; the rows written and the key's token."""
    from ponmodel.document import load_document, read_document
    from ponmodel.keys import create_key
    from ponmodel.storage import import_document, make_engine, migrate

    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "hanoi.json"
    if fixture.exists():
        doc = read_document(fixture)
    else:  # an installed (non-editable) package has no fixtures folder: rebuild it
        from ponmodel.generate import hanoi_network

        doc = load_document(hanoi_network())
    engine = make_engine(database_url)
    try:
        migrate(engine)
        rows = import_document(engine, doc, replace=True, validated=True)
        _, token = create_key(engine, role="admin", name="load test")
    finally:
        engine.dispose()
    return rows, token


def bench_serve_load(
    postgres_admin_url: str,
    *,
    rate_rps: float = 200.0,
    duration_s: float = 60.0,
    workers: int = 2,
    port: int | None = None,
    write_share: float = 0.02,
    edit: str = "customer",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """``ponmodel serve --workers N`` on a scratch PostgreSQL holding the Hanoi network,
    loaded by :func:`run_load`; the figures with the machine they were taken on.

    Parameters
    ----------
    postgres_admin_url : str
        A PostgreSQL server where a scratch database may be created (and is dropped at
        the end): ``postgresql://postgres@127.0.0.1:5432/postgres``.
    rate_rps, duration_s, write_share, edit, seed
        Passed to :func:`run_load`.
    workers : int
        Worker processes of the server.
    port : int, optional
        The server's port on 127.0.0.1 (default: a free one).
    progress : callable, optional
        Called with a line of text at each step (the CLI prints them).

    Returns
    -------
    dict
        :func:`run_load`'s figures, plus ``server`` (command, workers, database kind,
        rows loaded, start-up seconds, exit code) and ``machine`` (:func:`machine_info`).
    """
    say = progress or (lambda _line: None)
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    from ponmodel.storage import scratch_postgres

    with scratch_postgres(postgres_admin_url, "ponmodel_load") as database_url:
        say("loading the Hanoi network into a scratch database")
        rows, token = load_hanoi(database_url)
        with tempfile.TemporaryDirectory(prefix="ponmodel-load-") as tmp:
            log_path = Path(tmp) / "server.log"
            command = serve_command(database_url, port, workers)
            say(f"starting ponmodel serve --workers {workers} on {base_url}")
            process = start_server(command, log_path)
            try:
                startup_s = wait_healthy(base_url, process)
                say(f"loading at {rate_rps:g} requests per second for {duration_s:g} s")
                figures = run_load(base_url, token, rate_rps=rate_rps, duration_s=duration_s,
                                   write_share=write_share, edit=edit, seed=seed)
            except BaseException:
                stop_server(process)
                sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
                raise
            exit_code = stop_server(process)
    figures["server"] = {
        "command": f"ponmodel serve --workers {workers} --port {port} --database <scratch>",
        "workers": workers,
        "database": "postgresql",
        "rows_loaded": {k: v for k, v in rows.items() if v},
        "startup_s": _round(startup_s),
        "exit_code": exit_code,
    }
    figures["machine"] = machine_info()
    return figures
