"""Benchmark: first paint of the browser viewer on the largest zone of a generated network.

Run::

    python -m ponmodel.topology.viewer_bench --onts 100000 --runs 3
    ponmodel bench viewer --onts 100000          # the same, from the CLI
    ponmodel bench viewer --onts 100000 --zones 9   # zones of about 20,000 elements

It generates the network (:func:`ponmodel.generate.generate_network`), imports it into a
temporary SQLite file, starts ``ponmodel serve`` on it in a subprocess on a free loopback port,
asks once for the largest zone's data (the server computes it once per revision: that time is
reported as ``server_cold_s``), then opens ``/viewer/{zone}`` in headless Chromium ``runs``
times, each in a fresh browser context (no cached plotly.js), and reports the median of

- ``first_paint_ms``: navigation start to the first ``plotly_afterplot`` event of the page;
- ``both_layers_ms``: navigation start to both layers drawn (the page's ready mark);

with the zone's element count (structures, ducts, ports, splitters and ONTs drawn).

Needs Chromium (Debian's ``chromium``, or ``PONMODEL_CHROMIUM``) and the ``playwright``
Python package; no browser download is made. The server is launched as a subprocess so that
this layer imports nothing from ``ponmodel.api``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    """The Chromium executable: ``PONMODEL_CHROMIUM``, else ``chromium`` on PATH."""
    explicit = os.environ.get("PONMODEL_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str, timeout: float = 600.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
        data: bytes = response.read()
        return data


def measure_first_paint(base_url: str, zone: str, *, runs: int = 3,
                        executable: str | None = None,
                        viewport: tuple[int, int] = (1600, 900)) -> dict[str, Any]:
    """Open ``{base_url}/viewer/{zone}`` ``runs`` times in headless Chromium.

    Returns
    -------
    dict
        ``first_paint_ms`` and ``both_layers_ms`` (medians), ``runs`` (each run's figures).
    """
    from playwright.sync_api import sync_playwright

    executable = executable or chromium_path()
    if executable is None:
        msg = "no Chromium: install Debian's chromium package or set PONMODEL_CHROMIUM"
        raise RuntimeError(msg)
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                context = browser.new_context(
                    viewport={"width": viewport[0], "height": viewport[1]}
                )
                page = context.new_page()
                page.goto(f"{base_url}/viewer/{zone}")
                page.wait_for_function(f"document.body.dataset.ready === {json.dumps(zone)}",
                                       timeout=120_000)
                first, both = page.evaluate(
                    "[ponViewer.firstPaintMs, Math.max(ponViewer.paints.physical || 0,"
                    " ponViewer.paints.pon || 0)]"
                )
                rows.append({"first_paint_ms": first, "both_layers_ms": both})
                context.close()
        finally:
            browser.close()
    return {
        "first_paint_ms": statistics.median(r["first_paint_ms"] for r in rows),
        "both_layers_ms": statistics.median(r["both_layers_ms"] for r in rows),
        "runs": rows,
    }


def bench_viewer(onts: int = 100_000, *, seed: int = 0, runs: int = 3,
                 zone: str | None = None, zones: int | None = None,
                 progress: bool = True) -> dict[str, Any]:
    """Generate, import, serve and measure (see the module's docstring).

    ``zones`` is passed to the generator (default: one zone per 4,000 ONTs, about 7,500
    elements each); ``--onts 100000 --zones 9`` gives zones of about 20,000 elements.
    """
    from ponmodel.document import load_document
    from ponmodel.generate import generate_network
    from ponmodel.storage import import_document, make_engine, migrate

    def say(text: str) -> None:
        if progress:
            print(text, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="ponmodel-viewer-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        say(f"generating {onts:,} ONTs (seed {seed}) and importing into {url}")
        doc = load_document(generate_network(onts, seed, zones=zones))
        engine = make_engine(url)
        migrate(engine)
        import_document(engine, doc, replace=True, validated=True)
        engine.dispose()
        del doc
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [sys.executable, "-m", "ponmodel.api.cli", "serve", "--host", "127.0.0.1",
             "--port", str(port), "--database", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    _get(f"{base}/health", timeout=2)
                    break
                except OSError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        err = server.stderr.read().decode() if server.stderr else ""
                        msg = f"the server did not start: {err[-2000:]}"
                        raise RuntimeError(msg) from None
                    time.sleep(0.2)
            t0 = time.perf_counter()
            zones_list = json.loads(_get(f"{base}/viewer/data/zones"))["zones"]
            chosen = zone or max(zones_list, key=lambda z: (z["onts"], z["id"]))["id"]
            say(f"computing the data of zone {chosen} (cold server)")
            sizes = {}
            for layer in ("headlines", "physical", "pon"):
                sizes[layer] = len(_get(f"{base}/viewer/data/{chosen}/{layer}"))
            cold = time.perf_counter() - t0
            physical = json.loads(_get(f"{base}/viewer/data/{chosen}/physical"))["counts"]
            pon = json.loads(_get(f"{base}/viewer/data/{chosen}/pon"))["counts"]
            elements = (physical["structures"] + physical["ducts"] + pon["ports"]
                        + pon["splitters"] + pon["onts"])
            say(f"zone {chosen}: {elements:,} elements; measuring {runs} page loads")
            timing = measure_first_paint(base, chosen, runs=runs)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    return {
        "onts_network": onts,
        "zones": len(zones_list),
        "zone": chosen,
        "elements": elements,
        "counts": {**physical, **pon},
        "json_bytes": sizes,
        "server_cold_s": cold,
        **timing,
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m ponmodel.topology.viewer_bench``: print the figures (``--json`` for JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--zone", default=None, help="default: the zone with most ONTs")
    parser.add_argument("--zones", type=int, default=None,
                        help="zones generated (default: one per 4,000 ONTs)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = bench_viewer(args.onts, seed=args.seed, runs=args.runs, zone=args.zone,
                          zones=args.zones, progress=not args.json)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_result(result))
    return 0


def format_result(result: dict[str, Any]) -> str:
    """The benchmark's figures in words."""
    c = result["counts"]
    mb = sum(result["json_bytes"].values()) / 1e6
    return (
        f"zone {result['zone']} of a {result['onts_network']:,}-ONT network "
        f"({result['zones']} zones): "
        f"{result['elements']:,} elements ({c['structures']:,} structures, {c['ducts']:,} ducts, "
        f"{c['ports']:,} ports, {c['splitters']:,} splitters, {c['onts']:,} ONTs), "
        f"{mb:.1f} MB of JSON\n"
        f"first paint (navigation → first plotly_afterplot), median of {len(result['runs'])}: "
        f"{result['first_paint_ms']:,.0f} ms\n"
        f"both layers drawn, median: {result['both_layers_ms']:,.0f} ms\n"
        f"server, first computation of the zone's data (cold): {result['server_cold_s']:.2f} s"
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
