"""The viewer in a real browser: headless Chromium driven by Playwright against a live server.

The server is uvicorn on a free loopback port serving the app on an SQLite file with
``fixtures/hanoi.json`` imported. Chromium is Debian's ``chromium`` package (Playwright's own
browser download is never used): ``/usr/bin/chromium``, else ``chromium`` on PATH, else
``PONMODEL_CHROMIUM``. Without it or without the ``playwright`` package these tests skip with
the reason on a developer's machine and fail in CI (``CI=true``): CI must run them.

A screenshot of each main state is saved under ``test-artifacts/`` (git-ignored) and checked
for not being blank, decoded by the browser itself (no imaging library needed).
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ponmodel.document import load_document
from ponmodel.topology import viewer
from ponmodel.topology.budget import network_budget
from ponmodel.topology.build import build_topology, subset_for_zone
from ponmodel.topology.impact import impact
from tests.conftest import fixture_doc

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
STATIC = ROOT / "api" / "static"
ZONE = "thang-long-iz"
OTHER_ZONE = "noi-bai-iz"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1600, "height": 900}


def _chromium() -> str | None:
    explicit = os.environ.get("PONMODEL_CHROMIUM")
    if explicit:  # the user's choice wins, even when it is wrong
        return explicit if Path(explicit).exists() else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but the browser tests cannot run: {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="module")
def chromium() -> str:
    """The Chromium executable, once Playwright is known to be importable."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _skip_or_fail("the playwright package is not installed (pip install -e '.[test]')")
    path = _chromium()
    if path is None:
        _skip_or_fail("Chromium is not installed (Debian: apt-get install chromium)")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def hanoi() -> dict[str, Any]:
    return load_document(fixture_doc("hanoi.json"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, hanoi: dict[str, Any],
           chromium: str) -> Iterator[str]:
    """uvicorn on a free loopback port, serving the app on an SQLite file holding Hanoi;
    from this machine the viewer reads without a key (the demo's local viewer)."""
    from ponmodel.api.main import create_app
    from ponmodel.settings import Settings
    from ponmodel.storage import import_document, make_engine, migrate

    path = tmp_path_factory.mktemp("viewer") / "hanoi.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    import_document(engine, hanoi, replace=True, validated=True)
    with _serve(create_app(Settings(database_url="sqlite://"), engine=engine)) as url:
        yield url
    engine.dispose()


@contextmanager
def _serve(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port, for the duration."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            ws="none", lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Page:
    """A page with its console errors, and screenshots checked for not being blank."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))

    def open(self, url: str, zone: str) -> None:
        self.page.goto(url)
        self.wait_ready(zone)

    def wait_ready(self, zone: str) -> None:
        self.page.wait_for_function(f"document.body.dataset.ready === {zone!r}",
                                    timeout=60_000)

    def points(self, plot: str) -> dict[str, int]:
        """Points per trace of a plot, by trace name."""
        return self.page.evaluate(
            "id => Object.fromEntries(document.getElementById(id).data.map("
            "t => [t.name, t.x.length]))", plot)

    def pixel(self, plot: str, x: float, y: float) -> tuple[float, float]:
        """Where data point (x, y) of a plot is on the page."""
        return tuple(self.page.evaluate(
            """([id, x, y]) => {
                 const gd = document.getElementById(id), box = gd.getBoundingClientRect();
                 const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
                 return [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
               }""", [plot, x, y]))

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        png = self.page.screenshot(path=str(path))
        assert_not_blank(self.context, png, name)
        return path


def assert_not_blank(context: Any, png: bytes, name: str) -> None:
    """The screenshot holds a drawing: many colours, much of it not white."""
    # a blank 1600 × 900 page compresses to a few kB
    assert len(png) > 20_000, f"{name}: {len(png)} bytes, looks blank"
    decoder = context.new_page()
    try:
        stats = decoder.evaluate(
            """async b64 => {
                 const blob = await (await fetch("data:image/png;base64," + b64)).blob();
                 const bmp = await createImageBitmap(blob);
                 const canvas = new OffscreenCanvas(bmp.width, bmp.height);
                 const g = canvas.getContext("2d");
                 g.drawImage(bmp, 0, 0);
                 const d = g.getImageData(0, 0, bmp.width, bmp.height).data;
                 const colours = new Set();
                 let notWhite = 0, n = 0;
                 for (let i = 0; i < d.length; i += 4 * 5) {
                   const k = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
                   colours.add(k); n++;
                   if (k !== 0xffffff) { notWhite++; }
                 }
                 return {width: bmp.width, height: bmp.height, colours: colours.size,
                         notWhite: notWhite / n};
               }""", base64.b64encode(png).decode())
    finally:
        decoder.close()
    assert (stats["width"], stats["height"]) == (VIEWPORT["width"], VIEWPORT["height"])
    assert stats["colours"] >= 100, f"{name}: only {stats['colours']} colours"
    assert stats["notWhite"] > 0.2, f"{name}: {stats['notWhite']:.0%} not white"


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Page]:
    p = Page(browser)
    yield p
    p.context.close()
    assert p.errors == [], "the page logged errors"


def _zone_doc(hanoi: dict[str, Any], zone: str) -> dict[str, Any]:
    return subset_for_zone(hanoi, zone)


# --------------------------------------------------------------------------- tests


def test_the_page_loads_with_no_console_error(page: Page, server: str,
                                              hanoi: dict[str, Any]) -> None:
    page.open(f"{server}/viewer/{ZONE}", ZONE)
    cards = page.page.locator("#headlines .card")
    assert cards.count() == 5
    name = next(z["name"] for z in hanoi["zones"] if z["id"] == ZONE)
    assert page.page.locator("#zone-name").inner_text() == name
    assert page.page.evaluate("ponViewer.firstPaintMs") > 0
    # every request went to the server itself: plotly.js included, nothing from the web
    origins = page.page.evaluate(
        "[...new Set(performance.getEntriesByType('resource').map(e => new URL(e.name).origin))]")
    assert origins == [server]
    page.screenshot("viewer-01-zone.png")


def test_the_figure_holds_the_fixtures_points(page: Page, server: str,
                                              hanoi: dict[str, Any]) -> None:
    page.open(f"{server}/viewer/{ZONE}", ZONE)
    zone_doc = _zone_doc(hanoi, ZONE)
    pon = page.points("pon")
    assert pon["ONTs"] == len(zone_doc["onts"])
    assert pon["ports"] == sum(len(o["ports"]) for o in zone_doc["olts"])
    assert pon["splitters"] == len(zone_doc["splitters"])
    physical = page.points("physical")
    assert physical["ducts"] == sum(1 for d in zone_doc["ducts"] if d.get("within") is None)
    assert sum(n for name, n in physical.items() if name.startswith("structures: ")) == len(
        zone_doc["structures"])
    # highlight traces start empty
    assert pon["impacted ONTs"] == pon["trace path"] == 0


def test_the_zone_picker_switches_zones(page: Page, server: str,
                                        hanoi: dict[str, Any]) -> None:
    page.open(f"{server}/viewer", _first_zone(hanoi))
    options = page.page.locator("#zone option")
    assert options.count() == len(hanoi["zones"])
    page.page.select_option("#zone", OTHER_ZONE)
    page.wait_ready(OTHER_ZONE)
    assert page.page.url.endswith(f"/viewer/{OTHER_ZONE}")
    assert page.points("pon")["ONTs"] == len(_zone_doc(hanoi, OTHER_ZONE)["onts"])
    page.screenshot("viewer-02-other-zone.png")
    page.page.go_back()
    page.wait_ready(_first_zone(hanoi))


def _first_zone(hanoi: dict[str, Any]) -> str:
    return viewer.zone_list(hanoi)[0]["id"]


def test_hovering_an_ont_shows_its_headroom(page: Page, server: str,
                                            hanoi: dict[str, Any]) -> None:
    page.open(f"{server}/viewer/{ZONE}", ZONE)
    budget = network_budget(_zone_doc(hanoi, ZONE))
    ont = budget.onts[0]  # the worst headroom of the zone
    x, y = page.page.evaluate(f"ponViewer.state.nodes[{ont.id!r}]")
    page.page.evaluate(
        f"Plotly.relayout('pon', {{'xaxis.range': [{x - 6}, {x + 6}]}})")
    px, py = page.pixel("pon", x, y)
    page.page.mouse.move(px, py)
    label = page.page.locator("#pon .hoverlayer .hovertext")
    label.wait_for(timeout=10_000)
    text = label.text_content() or ""
    assert ont.id in text
    assert f"headroom {viewer.fmt_db(ont.downstream.headroom_db)} dB" in text
    assert f"headroom {viewer.fmt_db(ont.upstream.headroom_db)} dB" in text
    page.screenshot("viewer-03-hover-ont.png")


def test_clicking_an_ont_highlights_its_trace(page: Page, server: str,
                                              hanoi: dict[str, Any]) -> None:
    page.open(f"{server}/viewer/{ZONE}", ZONE)
    ont = network_budget(_zone_doc(hanoi, ZONE)).onts[-1]
    x, y = page.page.evaluate(f"ponViewer.state.nodes[{ont.id!r}]")
    page.page.evaluate(f"Plotly.relayout('pon', {{'xaxis.range': [{x - 6}, {x + 6}]}})")
    page.page.mouse.click(*page.pixel("pon", x, y))
    page.page.wait_for_function(
        f"ponViewer.lastTrace && ponViewer.lastTrace.ont === {ont.id!r}", timeout=10_000)
    hops = page.page.evaluate("ponViewer.lastTrace.hops.length")
    assert page.page.locator("#trace-table tbody tr").count() == hops
    # drawn along the tree's elbows: the port, then 3 points per hop below it
    assert page.points("pon")["trace path"] == 1 + 3 * (hops - 1)
    assert page.points("physical")["trace ducts"] > 0
    page.screenshot("viewer-04-trace.png")


def test_clicking_a_duct_highlights_the_impacted_onts(page: Page, server: str,
                                                      hanoi: dict[str, Any]) -> None:
    zone_doc = _zone_doc(hanoi, ZONE)
    in_view = {o["id"] for o in zone_doc["onts"]}
    # a feeder duct out of the zone's exchange: every ONT it cuts is drawn in this zone
    duct = next(
        d["id"] for d in zone_doc["ducts"]
        if d["from"].startswith("EX-") and d.get("within") is None
        and impact(hanoi, d["id"])["onts"]
        and set(impact(hanoi, d["id"])["onts"]) <= in_view
    )
    expected = impact(hanoi, duct)["onts"]
    page.open(f"{server}/viewer/{ZONE}", ZONE)
    x0, y0, x1, y1 = page.page.evaluate(f"ponViewer.state.ducts[{duct!r}]")
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    page.page.evaluate(
        f"Plotly.relayout('physical', {{'xaxis.range': [{mx - 60}, {mx + 60}],"
        f" 'yaxis.range': [{my - 60}, {my + 60}]}})")
    page.page.wait_for_timeout(200)
    page.page.mouse.click(*page.pixel("physical", mx, my))
    page.page.wait_for_function(
        f"ponViewer.lastImpact && ponViewer.lastImpact.elements[0] === {duct!r}",
        timeout=10_000)
    page.page.wait_for_function(
        f"document.getElementById('pon').data.find(t => t.name === 'impacted ONTs')"
        f".x.length === {len(expected)}", timeout=10_000)
    assert page.page.evaluate("ponViewer.lastImpact.onts") == expected
    summary = page.page.locator("#impact-summary").inner_text()
    assert summary.startswith(f"If {duct} fails, {len(expected)} ONT")
    assert page.points("physical")["impacted ducts"] >= 3
    page.page.evaluate("Plotly.relayout('physical', {'xaxis.autorange': true,"
                       " 'yaxis.autorange': true})")
    page.screenshot("viewer-05-impact.png")


def test_search_finds_an_element_in_another_zone(page: Page, server: str,
                                                 hanoi: dict[str, Any]) -> None:
    zone_of = {s["id"]: s.get("zone") for s in hanoi["structures"]}
    ont = next(o for o in hanoi["onts"] if o.get("customer")
               and zone_of[o["structure"]] == OTHER_ZONE)
    page.open(f"{server}/viewer/{ZONE}", ZONE)
    page.page.fill("#search", ont["id"])
    hit = page.page.locator(f"#search-results button:has-text({ont['id']!r})").first
    hit.wait_for(timeout=10_000)
    hit.click()
    page.wait_ready(OTHER_ZONE)
    page.page.wait_for_function(
        f"ponViewer.lastTrace && ponViewer.lastTrace.ont === {ont['id']!r}", timeout=10_000)
    assert ont["customer"] in page.page.locator("#details-body").inner_text()
    # a customer's name, typed without its accents, finds it too
    page.page.fill("#search", viewer._fold(ont["customer"]))
    page.page.locator(f"#search-results button:has-text({ont['id']!r})").first.wait_for(
        timeout=10_000)
    page.screenshot("viewer-06-search.png")


def test_the_operator_filter_keeps_one_operators_trees(page: Page, server: str,
                                                       hanoi: dict[str, Any]) -> None:
    page.open(f"{server}/viewer/{ZONE}", ZONE)
    page.page.select_option("#operator", "vnpt")
    page.page.wait_for_function(
        f"document.body.dataset.ready === {ZONE!r} && ponViewer.state.pon.operator === 'vnpt'",
        timeout=30_000)
    zone_doc = _zone_doc(hanoi, ZONE)
    vnpt = {o["id"] for o in zone_doc["olts"] if o["operator"] == "vnpt"}
    budget = network_budget(zone_doc)
    assert page.points("pon")["ONTs"] == sum(1 for o in budget.onts if o.olt in vnpt)


def test_a_server_that_wants_keys_shows_a_planner_only_its_operator(
        browser: Any, hanoi: dict[str, Any], tmp_path: Path) -> None:
    # No local viewer: the page gets its key once in the address (#key=…), keeps it for the
    # tab, and every data request carries it; the planner of VNPT sees VNPT's ONTs only.
    from ponmodel.api.main import create_app
    from ponmodel.keys import create_key
    from ponmodel.settings import Settings
    from ponmodel.storage import import_document, make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'keyed.db'}")
    migrate(engine)
    import_document(engine, hanoi, replace=True, validated=True)
    _, token = create_key(engine, role="planner", operator="vnpt")
    app = create_app(Settings(database_url="sqlite://", local_viewer=False), engine=engine)
    zone_doc = _zone_doc(hanoi, ZONE)
    vnpt = {o["id"] for o in zone_doc["olts"] if o["operator"] == "vnpt"}
    expected = sum(1 for o in network_budget(zone_doc).onts if o.olt in vnpt)
    assert 0 < expected < len(zone_doc["onts"])  # the zone holds other operators' ONTs too
    with _serve(app) as url:
        page = Page(browser)
        try:
            page.open(f"{url}/viewer/{ZONE}#key={token}", ZONE)
            assert page.points("pon")["ONTs"] == expected
            assert "key=" not in page.page.url  # the key does not stay in the address bar
            assert page.errors == []
        finally:
            page.context.close()
        anonymous = Page(browser)  # no key: the prompt is dismissed, nothing is drawn
        try:
            anonymous.page.goto(f"{url}/viewer/{ZONE}")
            anonymous.page.wait_for_function(
                "ponViewer.errors.some(e => e.includes('needs an API key'))", timeout=30_000)
            assert anonymous.page.evaluate("document.body.dataset.ready") is None
        finally:
            anonymous.context.close()
    engine.dispose()


def test_an_unknown_zone_lists_the_zones_instead_of_showing_another(
        browser: Any, hanoi: dict[str, Any], tmp_path: Path) -> None:
    # A remote browser sends its key from the page's script only: the page itself loads, and
    # the script, finding no zone "nope", lists the zones instead of drawing the first one.
    from ponmodel.api.main import create_app
    from ponmodel.keys import create_key
    from ponmodel.settings import Settings
    from ponmodel.storage import import_document, make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'keyed.db'}")
    migrate(engine)
    import_document(engine, hanoi, replace=True, validated=True)
    _, token = create_key(engine, role="viewer")
    app = create_app(Settings(database_url="sqlite://", local_viewer=False), engine=engine)
    with _serve(app) as url:
        page = Page(browser)
        try:
            page.page.goto(f"{url}/viewer/nope#key={token}")
            page.page.wait_for_selector("#unknown-zone", timeout=30_000)
            links = page.page.eval_on_selector_all(
                ".zone-list a", "els => els.map(e => e.getAttribute('href'))")
            assert sorted(links) == sorted(f"/viewer/{z['id']}" for z in hanoi["zones"])
            assert page.page.text_content("#status") == "unknown zone nope"
            assert page.page.evaluate("document.body.dataset.ready") is None  # nothing drawn
            # the zone's layers were asked for ahead (for a fast first paint): their 404s only
            assert [e for e in page.errors if "status of 404" not in e] == []
            assert len(page.errors) <= 3
        finally:
            page.context.close()
    engine.dispose()


def test_the_exported_file_works_offline(browser: Any, hanoi: dict[str, Any],
                                         tmp_path: Path) -> None:
    topo = build_topology(_zone_doc(hanoi, ZONE))
    budget, capacity, ducts = viewer.zone_reports(topo.doc)
    html = viewer.standalone_html(
        ZONE,
        page=(STATIC / "viewer.html").read_text(encoding="utf-8"),
        script=(STATIC / "viewer.js").read_text(encoding="utf-8"),
        stylesheet=(STATIC / "viewer.css").read_text(encoding="utf-8"),
        physical=viewer.physical_layer(topo, ducts, zone=ZONE),
        pon=viewer.pon_layer(topo, budget, capacity, zone=ZONE),
        headlines=viewer.zone_headlines(topo.doc, budget, capacity, ducts, zone=ZONE),
        zones=viewer.zone_list(hanoi),
    )
    out = tmp_path / "zone.html"
    out.write_text(html, encoding="utf-8")
    p = Page(browser)
    requests: list[str] = []
    p.page.on("request", lambda r: requests.append(r.url))
    try:
        p.open(out.as_uri(), ZONE)
        assert requests == [out.as_uri()]  # nothing else: plotly.js and the data are inside
        assert p.points("pon")["ONTs"] == len(topo.doc["onts"])
        p.screenshot("viewer-07-exported-file.png")
        assert p.errors == []
    finally:
        p.context.close()
