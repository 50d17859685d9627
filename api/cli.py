"""The ``ponmodel`` command line (typer + rich).

Every command takes ``--json`` for machine output. Exit codes: 0 success, 1 a failure
(an unknown id, a conflict), 2 invalid input (a bad document or argument). Heavy modules
are imported inside the commands, so ``ponmodel validate`` does not pay for FastAPI.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from typer.core import TyperGroup
from typer.exceptions import TyperException

from ponmodel.api.tables import Col, natural_key, print_table

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ponmodel.document import Document
    from ponmodel.topology.build import Topology

class _Commands(TyperGroup):
    """The command group: any error a command lets escape is one line and an exit code,
    never a traceback (:func:`report_error`)."""

    def invoke(self, ctx: Any) -> Any:
        # read before the group hands them to the command (click empties them then)
        args = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException, SystemExit):
            raise  # an exit code, or a usage error typer reports itself (exit 2)
        except BaseException as exc:  # noqa: BLE001 - the one place every error is reported
            if isinstance(exc, KeyboardInterrupt):
                err_console.print("interrupted", highlight=False)
                raise typer.Exit(130) from None
            raise typer.Exit(report_error(exc, "--json" in args)) from None


app = typer.Typer(
    name="ponmodel",
    cls=_Commands,
    help="XGS-PON fibre network inventory and capacity modeller.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Benchmarks that print measured figures.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
reserve_app = typer.Typer(help="Reservations of duct room for planned cables (database).",
                          no_args_is_help=True)
app.add_typer(reserve_app, name="reserve")
keys_app = typer.Typer(help="API keys: admin | planner | viewer, optionally of one operator.",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")

console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="SQLAlchemy URL (default: PONMODEL_DATABASE_URL or the embedded SQLite file).",
    ),
]
FileOpt = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        help="Read this network document instead of the database.",
        exists=True,
        dir_okay=False,
    ),
]
ZoneOpt = Annotated[str | None, typer.Option("--zone", help="Restrict to one zone.")]
WideOpt = Annotated[bool, typer.Option(
    "--wide", help="Every column, as wide as it needs (default: fit the terminal, 80 when "
    "piped, dropping the least important columns first; ids are never cut).")]


def within(lo: float, hi: float | None = None, unit: str = "") -> Any:
    """A typer callback refusing a number outside ``[lo, hi]``, in words that name the value,
    its unit and the rule (typer adds the option): ``--fibre-count: -96 fibres: must be
    from 1 to 10,000 fibres``. Not-a-number is refused too.

    Examples
    --------
    >>> within(1, 10_000, " fibres")(12)
    12
    >>> within(1, 10_000, " fibres")(-96)
    Traceback (most recent call last):
    ...
    typer._click.exceptions.BadParameter: -96 fibres: must be from 1 to 10,000 fibres
    """
    def shown(x: float) -> str:
        if isinstance(x, float):
            return f"{x:,g}" if abs(x) >= 10_000 else f"{x:g}"
        return f"{x:,}" if abs(x) >= 10_000 else str(x)  # a year is 2025, not 2,025

    rule = (f"must be from {shown(lo)} to {shown(hi)}{unit}" if hi is not None
            else f"must be at least {shown(lo)}{unit}")

    def check(value: Any) -> Any:
        if value is None:
            return value
        for one in value if isinstance(value, list | tuple) else (value,):
            if one != one or one < lo or (hi is not None and one > hi):
                msg = f"{shown(one)}{unit}: {rule}"
                raise typer.BadParameter(msg)
        return value

    return check


CableMmOpt = Annotated[float | None, typer.Option(
    callback=within(0.1, 200.0, " mm"), help="Outer diameter of the cable, mm (0.1 to 200).")]
FibreCountOpt = Annotated[int | None, typer.Option(
    callback=within(1, 10_000, " fibres"),
    help="Fibres, 1 to 10,000 (diameter from the catalogue).")]


def _limit_opt(rows: int) -> Any:
    return typer.Option(callback=within(0, None, " rows"),
                        help=f"Rows of the table (not of --json); default {rows}.")


EXIT_FAILURE = 1
EXIT_INVALID = 2
FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"


# --------------------------------------------------------------------------- helpers


def _print_json(value: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def report_error(exc: BaseException, as_json: bool) -> int:
    """Print one line for an error no command handled, and return its exit code.

    Invalid input (a document, a value breaking its rule, a catalogue lookup, a bad value
    the library met as ``ValueError``, a pydantic validation) is exit 2; a database that
    cannot do what was asked, a conflict or a missing element exit 1; anything else is an
    internal error, exit 1, with its type named (``PONMODEL_DEBUG=1`` prints the traceback).
    """
    import os

    from pydantic import ValidationError
    from sqlalchemy.exc import DBAPIError

    from ponmodel.errors import CatalogError, PonmodelError
    from ponmodel.storage import storage_failure

    if isinstance(exc, DBAPIError):  # met outside a write transaction (which names its database)
        failure = storage_failure(exc, "(the command's)")
        if failure is not None:
            exc = failure
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    if isinstance(exc, ValidationError):
        message, code = validation_message(exc), EXIT_INVALID
    elif isinstance(exc, ArgumentError | NoSuchModuleError):
        message = f"--database: not a database URL ponmodel can open ({exc})"
        code = EXIT_INVALID
    elif isinstance(exc, OSError) and exc.filename is not None:
        message = f"{exc.filename}: {exc.strerror or exc}"  # a path the user named
        code = EXIT_INVALID
    elif isinstance(exc, PonmodelError | CatalogError):
        try:
            _fail(exc, as_json)
        except typer.Exit as done:
            return int(done.exit_code)
        raise AssertionError  # pragma: no cover - _fail always exits
    elif isinstance(exc, ValueError | OverflowError):
        message, code = str(exc), EXIT_INVALID
    else:
        if os.environ.get("PONMODEL_DEBUG"):
            import traceback

            traceback.print_exception(exc)
        message = f"internal error ({type(exc).__name__}): {exc}; please report it " \
                  "(PONMODEL_DEBUG=1 shows where)"
        code = EXIT_FAILURE
    _say_error(type(exc).__name__, message, as_json)
    return code


def validation_message(exc: Any) -> str:
    """pydantic's errors in our words (:func:`ponmodel.errors.rule_words`), one after the
    other.

    Examples
    --------
    >>> from pydantic import BaseModel, Field, ValidationError
    >>> class M(BaseModel):
    ...     cable_diameter_mm: float = Field(gt=0)
    >>> try:
    ...     M(cable_diameter_mm=-3)
    ... except ValidationError as exc:
    ...     print(validation_message(exc))
    cable_diameter_mm = -3 mm: must be more than 0 mm
    """
    from ponmodel.errors import rule_words

    return "; ".join(rule_words(err) for err in exc.errors())


def _say_error(kind: str, message: str, as_json: bool) -> None:
    from rich.text import Text

    if as_json:
        _print_json({"error": kind, "message": message})
    else:
        err_console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True,
                          highlight=False)


def _fail(exc: Exception, as_json: bool) -> NoReturn:
    """Report a domain error and exit with its code.

    A document's problems are printed one a line, at most ``DocumentError.MAX_SHOWN`` of
    them and then how many more (``--json``: ``problems`` and ``total``); a single problem
    (a file that is not JSON, a NUL, a 5,000-digit integer) is one line. The text is never
    read as rich markup: an id like ``[/x]`` is printed as it is.
    """
    from rich.text import Text

    from ponmodel.errors import CatalogError, DocumentError, InvalidRequestError, KeyRequestError

    invalid = DocumentError | KeyRequestError | InvalidRequestError | CatalogError
    code = EXIT_INVALID if isinstance(exc, invalid) else EXIT_FAILURE
    if as_json:
        body: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc).splitlines()[0]}
        if isinstance(exc, DocumentError):
            body["problems"] = [p.as_dict() for p in exc.problems]
            body["total"] = exc.total
        _print_json(body)
    else:
        text = str(exc)
        if isinstance(exc, DocumentError) and exc.total == 1 and exc.problems:
            (only,) = exc.problems
            located = only.pointer or only.element_id
            text = f"invalid network document: {only}" if located else only.message
        err_console.print(Text.assemble(("error:", "bold red"), " ", text), soft_wrap=True,
                          highlight=False)
    raise typer.Exit(code)


def _engine(database: str | None) -> Engine:
    from ponmodel.settings import Settings
    from ponmodel.storage import make_engine, migrate

    engine = make_engine(database or Settings().database_url)
    migrate(engine)
    return engine


def _load(file: Path | None, database: str | None, zone: str | None = None) -> Document:
    """The network from a file or the database, optionally restricted to a zone."""
    from ponmodel.document import read_document
    from ponmodel.storage import export_document
    from ponmodel.topology.build import subset_for_zone

    if file is not None:
        doc = read_document(file)
        return subset_for_zone(doc, zone) if zone is not None else doc
    engine = _engine(database)
    if zone is None:
        return export_document(engine)
    from ponmodel.storage import read_snapshot
    from ponmodel.topology.build import load_zone

    with read_snapshot(engine) as conn:  # only the zone's rows, not the whole network
        return load_zone(conn, zone)


def _topology(file: Path | None, database: str | None) -> Topology:
    from ponmodel.topology.build import build_topology

    return build_topology(_load(file, database))


# --------------------------------------------------------------------------- documents


@app.command("validate")
def validate_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)], as_json: JsonOpt = False
) -> None:
    """Check a network document; list its problems, the first 1,000 and how many in all
    (exit 2 when there is any; exit 1 when the file cannot be read)."""
    from ponmodel.document import read_document
    from ponmodel.errors import DocumentError

    try:
        doc = read_document(file)
    except (DocumentError, OSError) as exc:
        _fail(exc, as_json)
    counts = {k: len(v) for k, v in doc.items() if isinstance(v, list)}
    if as_json:
        _print_json({"valid": True, "counts": counts})
    else:
        console.print(
            f"[green]valid[/]: {file} ({', '.join(f'{v} {k}' for k, v in counts.items())})"
        )


FormatOpt = Annotated[str, typer.Option("--format", help="ponmodel (the network document) or "
                                         "geojson (structures and ducts from a GIS).")]


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    replace: Annotated[bool, typer.Option(
        help="Replace the stored network (ponmodel), or update stored elements with the same "
        "ids (geojson).")] = False,
    fmt: FormatOpt = "ponmodel",
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate a document (or GeoJSON layer) and write it in one transaction.

    GeoJSON structures and ducts are merged into the stored network; every feature that
    cannot be used is reported by index and reason, and nothing is written.
    """
    from ponmodel.document import parse_json, read_document
    from ponmodel.errors import PonmodelError
    from ponmodel.storage import import_document

    if fmt not in ("ponmodel", "geojson"):
        msg = f"--format must be ponmodel or geojson, not {fmt!r}"
        raise typer.BadParameter(msg)
    started = time.perf_counter()
    try:
        engine = _engine(database)
        with console.status("validating…", spinner="dots") if not as_json else _null():
            if fmt == "geojson":
                from ponmodel.merge import merge_elements
                from ponmodel.topology.geojson import from_geojson

                data = parse_json(file.read_bytes(), source=str(file))
                merged = merge_elements(
                    engine, lambda base: from_geojson(data, base, replace=replace))
            else:
                doc = read_document(file)
        if fmt == "ponmodel":
            with console.status("writing…", spinner="dots") if not as_json else _null():
                rows = import_document(engine, doc, replace=replace, validated=True)
    except PonmodelError as exc:
        _fail(exc, as_json)
    seconds = time.perf_counter() - started
    if fmt == "geojson":
        if as_json:
            _print_json({**merged, "seconds": round(seconds, 3)})
        else:
            console.print(_merge_summary(merged, file.name, seconds), highlight=False)
        return
    if as_json:
        _print_json({"imported": rows, "seconds": round(seconds, 3)})
        return
    print_table(console, f"imported {file.name} in {seconds:.2f} s",
                [Col("table"), Col("rows", "right")],
                [[name, f"{n:,}"] for name, n in rows.items()])


def _merge_summary(merged: dict[str, Any], name: str, seconds: float) -> str:
    def counts(by_kind: dict[str, int]) -> str:
        return ", ".join(f"{n} {kind}(s)" for kind, n in sorted(by_kind.items())) or "nothing"

    return (f"merged {name} in {seconds:.2f} s: created {counts(merged['created'])}; "
            f"updated {counts(merged['updated'])}; {merged['unchanged']} unchanged")


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@app.command("export")
def export_cmd(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here (default: stdout).")
    ] = None,
    zone: ZoneOpt = None,
    fmt: FormatOpt = "ponmodel",
    database: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="With --out: what was written "
                                          "(file, bytes, elements per kind) as JSON; the "
                                          "document itself is JSON already.")] = False,
) -> None:
    """Write the stored network (or one zone) as a ponmodel/1 document or as GeoJSON
    (RFC 7946: structures, ducts and cables with their fill, ONTs with headroom and 10G)."""
    from ponmodel.document import dump_document
    from ponmodel.errors import PonmodelError

    if fmt not in ("ponmodel", "geojson"):
        msg = f"--format must be ponmodel or geojson, not {fmt!r}"
        raise typer.BadParameter(msg)
    try:
        doc = _load(None, database, zone)
        if fmt == "geojson":
            from ponmodel.topology.geojson import to_geojson

            doc = to_geojson(doc)
    except PonmodelError as exc:
        _fail(exc, as_json)
    data = dump_document(doc, out)
    if out is None:
        sys.stdout.buffer.write(data + b"\n")
        return
    counts = ({k: len(v) for k, v in doc.items() if isinstance(v, list)} if fmt == "ponmodel"
              else {"features": len(doc.get("features", []))})
    if as_json:
        _print_json({"out": str(out), "format": fmt, "bytes": len(data), "counts": counts})
    else:
        console.print(f"wrote {out} ({fmt}, {len(data) / 1e6:.1f} MB: "
                      f"{', '.join(f'{n:,} {k}' for k, n in counts.items())})",
                      highlight=False, soft_wrap=True)


@app.command("schema")
def schema_cmd(
    out: Annotated[Path | None, typer.Option("--out", "-o")] = None,
    markdown: Annotated[bool, typer.Option(help="The field reference page instead.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The schema is JSON already; with "
                                          "--out or --markdown, what was written as JSON.")
                       ] = False,
) -> None:
    """Print (or write) the JSON Schema of ponmodel/1, or its field reference in Markdown."""
    from ponmodel.document import field_reference_markdown, json_schema

    if markdown:
        text = field_reference_markdown().encode()
        data = text[:-1] if text.endswith(b"\n") else text
    else:
        data = orjson.dumps(json_schema(), option=orjson.OPT_INDENT_2)
    if out is None and as_json and markdown:
        _print_json({"format": "markdown", "text": data.decode()})
    elif out is None:
        sys.stdout.buffer.write(data + b"\n")
    else:
        out.write_bytes(data + b"\n")
        if as_json:
            _print_json({"out": str(out), "format": "markdown" if markdown else "json-schema",
                         "bytes": len(data) + 1})
        else:
            console.print(f"wrote {out} ({len(data) + 1:,} bytes)", highlight=False)


@app.command("generate")
def generate_cmd(
    onts: Annotated[int, typer.Option(callback=within(1, None, " ONTs"), help="Number of ONTs.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here (default: stdout).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Generate a valid synthetic network of any size (deterministic for a seed)."""
    from ponmodel.document import dump_document
    from ponmodel.generate import generate_network

    doc = generate_network(onts, seed)
    data = dump_document(doc, out, indent=False)
    if out is None:
        sys.stdout.buffer.write(data + b"\n")
    elif as_json:
        _print_json(
            {"out": str(out), "counts": {k: len(v) for k, v in doc.items() if isinstance(v, list)}}
        )
    else:
        console.print(f"wrote {out} ({len(doc['onts'])} ONTs, {len(data) / 1e6:.1f} MB)")


DEMO_KEY_NAME = "demo admin"


@app.command("demo")
def demo_cmd(database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Load the Hanoi demonstration network into the database (replacing what is there)."""
    from ponmodel.document import load_document, read_document
    from ponmodel.storage import import_document

    fixture = FIXTURES_DIR / "hanoi.json"
    if fixture.exists():
        doc = read_document(fixture)
    else:  # an installed (non-editable) package has no fixtures folder: rebuild it
        from ponmodel.generate import hanoi_network

        doc = load_document(hanoi_network())
    engine = _engine(database)
    rows = import_document(engine, doc, replace=True, validated=True)
    from ponmodel.keys import create_key, list_keys, revoke_key
    from ponmodel.settings import Settings

    for old in list_keys(engine):  # one demo key at a time
        if old["name"] == DEMO_KEY_NAME and old["revoked_at"] is None:
            revoke_key(engine, old["id"])
    _, token = create_key(engine, role="admin", name=DEMO_KEY_NAME)
    url = database or Settings().database_url
    if as_json:
        _print_json({"database": url, "imported": rows, "admin_key": token})
    else:
        console.print(
            f"loaded the Hanoi network into {url}: {rows['zone']} zones, {rows['olt']} OLTs, "
            f"{rows['ont']} ONTs, {rows['duct']} ducts, {rows['site']} mobile sites"
        )
        console.print(f"local admin key (shown once): {token}", soft_wrap=True)
        console.print("send it as 'Authorization: Bearer <key>' to write; on this machine the "
                      "viewer (http://127.0.0.1:8000/viewer) reads without a key")


@app.command("serve")
def serve_cmd(
    host: Annotated[str | None, typer.Option(help="Listen address.")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port.")] = None,
    workers: Annotated[int, typer.Option(
        callback=within(1, None, " workers"),
        help="Worker processes.")] = 1,
    database: DbOpt = None,
) -> None:
    """Run the API (default http://127.0.0.1:8000; docs at /docs)."""
    import os

    import uvicorn

    from ponmodel.settings import Settings

    if database:
        os.environ["PONMODEL_DATABASE_URL"] = database
    settings = Settings()
    _engine(settings.database_url)  # migrate once, before the workers start
    from ponmodel.api.limits import GuardedHttpProtocol

    trusted = settings.trusted_proxies.strip()
    uvicorn.run(
        "ponmodel.api.main:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        http=GuardedHttpProtocol,  # closes connections whose headers come too slowly
        timeout_keep_alive=5,  # idle keep-alive connections, seconds
        # client addresses from X-Forwarded-For only behind the proxies named (none by default)
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )


# --------------------------------------------------------------------------- editing

KindArg = Annotated[str, typer.Argument(
    metavar="KIND", help="The kind of element: ont, link, splitter, port, … (a wrong one lists "
    "them all).")]
IdArg = Annotated[str, typer.Argument(metavar="ID", help="The element's id.")]
DryRunOpt = Annotated[bool, typer.Option(
    "--dry-run", help="Check everything and write nothing: show each element's fields before "
    "and after, and every ONT whose budget moves.")]
VersionOpt = Annotated[int | None, typer.Option(
    "--version", callback=within(1), help="The version the change is based on: refused "
    "(exit 1) when the element has changed since.")]

BUDGET_TOLERANCE_DB = 1e-9
"""Budget figures closer than this are the same (a change elsewhere leaves an ONT's sums
bit for bit as they were; the tolerance only guards against a repacked forest)."""


def _invalid(message: str, as_json: bool) -> NoReturn:
    """Report invalid input (a bad argument, a file that cannot be read) as one line, exit 2."""
    from ponmodel.errors import DocumentError, ElementError

    _fail(DocumentError([ElementError("", message)]), as_json)


def _read_input(source: str, as_json: bool) -> bytes:
    """The bytes of a file, or of stdin for ``-`` (exit 2 when it cannot be read)."""
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        _invalid(f"cannot read {source}: {exc.strerror or exc}", as_json)


def _read_json(source: str, as_json: bool) -> Any:
    """A file (or stdin, ``-``) parsed as JSON (exit 2 when it cannot be read or is not JSON)."""
    from ponmodel.document import parse_json
    from ponmodel.errors import DocumentError

    data = _read_input(source, as_json)
    try:
        return parse_json(data, source="stdin" if source == "-" else source)
    except DocumentError as exc:
        _fail(exc, as_json)


def _check_kind(kind: str, as_json: bool) -> None:
    from ponmodel.changes import KINDS

    if kind not in KINDS:
        _invalid(f"kind must be one of {', '.join(KINDS)}, got {kind!r}", as_json)


def _patches_combined(first: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    """One JSON Merge Patch doing what ``first`` then ``then`` do: objects combine member by
    member, and a ``null`` stays (it still clears the field).

    Examples
    --------
    >>> _patches_combined({"service": {"down": {"max_mbps": 5}}, "customer": "A"},
    ...                   {"service": {"down": {"weight": 2}}, "customer": None})
    {'service': {'down': {'max_mbps': 5, 'weight': 2}}, 'customer': None}
    """
    out = dict(first)
    for key, value in then.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _patches_combined(out[key], value)
        else:
            out[key] = value
    return out


def _patch_of_pairs(kind: str, pairs: list[str]) -> dict[str, Any]:
    """``field=value`` pairs as a JSON Merge Patch: dotted fields nest
    (``service.down.max_mbps=500``), each value typed by its field as a spreadsheet cell is
    (:func:`ponmodel.spreadsheet.typed_value`; ``null`` clears).

    Raises
    ------
    DocumentError
        A pair without ``=``, or a field that is no field of ``kind``.
    """
    from ponmodel.errors import DocumentError, ElementError
    from ponmodel.spreadsheet import typed_value

    patch: dict[str, Any] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        if not equals or not name.strip():
            raise DocumentError([ElementError("", f"{pair!r} is not field=value")])
        name = name.strip()
        value = typed_value(kind, name, text)
        *parents, last = name.split(".")
        target = patch
        for step in parents:
            if not isinstance(target.get(step), dict):
                target[step] = {}
            target = target[step]
        target[last] = value
    return patch


def _in_what_was_written(exc: Exception, listed: bool) -> Exception:
    """A document error located in what the user wrote rather than in the change the
    command built from it, as the API's single-element routes do: ``/0/changes/length_m``
    → ``/length_m``; for ``add`` of a list, ``/2/element/ratio`` → ``/2/ratio``."""
    import re

    from ponmodel.errors import DocumentError, ElementError

    if not isinstance(exc, DocumentError):
        return exc

    def where(pointer: str) -> str:
        found = re.match(r"/(\d+)/(?:element|changes)(?=/|$)", pointer)
        if found is None:
            return pointer
        return (f"/{found.group(1)}" if listed else "") + pointer[found.end():]

    return DocumentError([ElementError(where(p.pointer), p.message, p.element_id, p.field)
                          for p in exc.problems], exc.total)


def _run_change(operations: Any, database: str | None, *, dry_run: bool, as_json: bool,
                listed: bool | None = None) -> None:
    """Apply (or dry-run) a change and print what it did or would do.

    ``listed`` says how the command's input holds its elements, for locating problems in
    it (None: the input is the change itself, its pointers stand; False: one element;
    True: a list of elements).
    """
    from ponmodel.changes import apply_changes
    from ponmodel.errors import PonmodelError

    if operations == []:  # apply_changes would raise the revision for nothing
        _invalid("the change holds no operations", as_json)
    try:
        engine = _engine(database)
        result = apply_changes(engine, operations, dry_run=dry_run)
        if dry_run:
            result["budgets"] = _budget_moves(engine, operations)
    except PonmodelError as exc:
        _fail(exc if listed is None else _in_what_was_written(exc, listed), as_json)
    if not dry_run:
        result.pop("changes")
    if as_json:
        _print_json(result)
    elif dry_run:
        _print_dry_run(result)
    else:
        _print_applied(result)


def _ont_budgets(doc: Document) -> dict[str, dict[str, dict[str, Any]]]:
    """ONT id → direction → its budget (``DirectionBudget.as_dict``) and ``class_ok``."""
    from ponmodel.topology.budget import DIRECTIONS, network_budget

    return {o.id: {d: {**getattr(o, d).as_dict(), "class_ok": o.class_ok} for d in DIRECTIONS}
            for o in network_budget(doc).onts}


def _budget_moves(engine: Engine, operations: Any) -> list[dict[str, Any]]:
    """Every ONT and direction whose budget the change moves, ONT ids in order: its figures
    on the stored network and on the network with the change applied (None for an ONT
    that appears or disappears)."""
    from ponmodel.changes import apply_to_document
    from ponmodel.document import load_document
    from ponmodel.storage import export_document
    from ponmodel.topology.budget import DIRECTIONS

    doc = export_document(engine)
    before = _ont_budgets(doc)
    after = _ont_budgets(load_document(apply_to_document(doc, operations)))
    moves = []
    for ont in sorted(before.keys() | after.keys()):
        for direction in DIRECTIONS:
            old = before[ont][direction] if ont in before else None
            new = after[ont][direction] if ont in after else None
            if not _same_budget(old, new):
                moves.append({"ont": ont, "direction": direction, "before": old, "after": new})
    return moves


def _same_budget(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    import math

    if a is None or b is None:
        return a is b
    return all(math.isclose(a[k], b[k], rel_tol=0.0, abs_tol=BUDGET_TOLERANCE_DB)
               if isinstance(a[k], float) else a[k] == b[k] for k in a)


def _print_applied(result: dict[str, Any]) -> None:
    print_table(console, f"applied: network revision {result['revision']}", [
        Col("op"), Col("kind"), Col("id", id=True), Col("version", "right")],
        [[e["op"], e["kind"], e["id"], "removed" if e["version"] is None else e["version"]]
         for e in result["elements"]])


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """An element's fields with nested objects dotted, as ``field=value`` and CSV headers
    name them (``service.down.max_mbps``).

    Examples
    --------
    >>> _flat({"id": "N1", "service": {"down": {"max_mbps": 500.0}}, "tags": {}})
    {'id': 'N1', 'service.down.max_mbps': 500.0}
    """
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(_flat(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _shown(value: Any) -> str:
    """A field's value in a table cell: text as it is, anything else as JSON."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _field_rows(change: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, before, after) of one element of a dry run: the fields an update changes,
    every field a create sets, "removed" for a delete."""
    if change["op"] == "delete":
        return [("", "", "removed")]
    after = _flat(change["after"])
    if change["op"] == "create":
        return [(name, "", _shown(v)) for name, v in after.items()
                if v is not None and name != "id"]
    before = _flat(change["before"])
    names = [*after, *(name for name in before if name not in after)]
    rows = [(name, _shown(before.get(name)), _shown(after.get(name))) for name in names
            if before.get(name) != after.get(name)]
    return rows or [("", "", "no field changes")]


def _print_dry_run(result: dict[str, Any]) -> None:
    rows = []
    for change in result["changes"]:
        fields = _field_rows(change)
        for i, (name, old, new) in enumerate(fields):
            rows.append([f"{change['op']} {change['kind']}" if i == 0 else "",
                         change["id"] if i == 0 else "", name, old, new])
    # ids whole; a list of ids in a value wraps between its items, never inside one
    print_table(console, f"dry run, nothing written (network revision {result['revision']})",
                [Col("change"), Col("element", id=True), Col("field", id=True),
                 Col("before", wrap=True), Col("after", wrap=True)],
                [[a, b, c, _spaced(d), _spaced(e)] for a, b, c, d, e in rows])
    if not result["budgets"]:
        console.print("no ONT's budget moves")
        return
    print_table(console, "ONT budgets that move (dB)", [
        Col("ONT", id=True), Col("dir"), Col("loss", "right"), Col("Δ loss", "right"),
        Col("headroom", "right"), Col("class", "right")],
        [[move["ont"], move["direction"].removesuffix("stream"),
          _moved(move["before"], move["after"], "loss_db"),
          "" if move["before"] is None or move["after"] is None
          else f"{move['after']['loss_db'] - move['before']['loss_db']:+.3f}",
          _moved(move["before"], move["after"], "headroom_db"),
          _moved(move["before"], move["after"], "class_ok")] for move in result["budgets"]])


def _spaced(value: str) -> str:
    """A JSON list or object with a space after each separator, so that a table wraps it
    between its items (``["DU-1", "DU-2"]``), never inside an id."""
    if value[:1] in ("[", "{"):
        return value.replace('","', '", "').replace(",{", ", {").replace('":', '": ')
    return value


def _moved(old: dict[str, Any] | None, new: dict[str, Any] | None, key: str) -> str:
    """``16.91 → 16.95``, ``— → 16.95`` for an ONT that appears, ``ok → no`` for a verdict."""
    def one(budget: dict[str, Any] | None) -> str:
        if budget is None:
            return "—"
        value = budget[key]
        return ("ok" if value else "no") if isinstance(value, bool) else f"{value:.2f}"

    a, b = one(old), one(new)
    return a if a == b else f"{a} → {b}"


@app.command("add")
def add_cmd(
    kind: KindArg,
    source: Annotated[str, typer.Argument(
        metavar="FILE", help="JSON: one element or a list of them; - for stdin.")],
    database: DbOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Create elements of KIND, each written as the network document writes it (a port
    also names its olt), all in one change: every one or none (exit 2 naming every
    problem, 1 when an id is taken)."""
    _check_kind(kind, as_json)
    body = _read_json(source, as_json)
    elements = body if isinstance(body, list) else [body]
    if not isinstance(body, list | dict) or not elements:
        _invalid(f"{source} holds no {kind}: give an object or a list of objects", as_json)
    operations = [{"op": "create", "kind": kind, "element": e} for e in elements]
    _run_change(operations, database, dry_run=dry_run, as_json=as_json,
                listed=isinstance(body, list))


@app.command("edit")
def edit_cmd(
    kind: KindArg,
    element_id: IdArg,
    pairs: Annotated[list[str] | None, typer.Argument(
        metavar="FIELD=VALUE...", help="Fields to change, nested ones dotted "
        "(service.down.max_mbps=500); null clears a field.", show_default=False)] = None,
    patch: Annotated[str | None, typer.Option(
        "--patch", metavar="FILE", help="A JSON Merge Patch object of the fields to change; "
        "- for stdin. FIELD=VALUE pairs apply over it.")] = None,
    version: VersionOpt = None,
    database: DbOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Change fields of one element, checked by the network's rules (exit 2 naming every
    problem; 1 when there is no such element or it changed since --version)."""
    from ponmodel.errors import DocumentError

    _check_kind(kind, as_json)
    changes: Any = {}
    if patch is not None:
        changes = _read_json(patch, as_json)
        if not isinstance(changes, dict):
            _invalid(f"{patch} holds no JSON Merge Patch: an object of the fields to change",
                     as_json)
    try:
        changes = _patches_combined(changes, _patch_of_pairs(kind, pairs or []))
    except DocumentError as exc:
        _fail(exc, as_json)
    if not changes:
        _invalid("nothing to change: give FIELD=VALUE pairs or --patch", as_json)
    operation: dict[str, Any] = {"op": "update", "kind": kind, "id": element_id,
                                 "changes": changes}
    if version is not None:
        operation["version"] = version
    _run_change([operation], database, dry_run=dry_run, as_json=as_json, listed=False)


@app.command("remove")
def remove_cmd(
    kind: KindArg,
    element_id: IdArg,
    version: VersionOpt = None,
    database: DbOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Remove one element (an OLT with its ports); refused (exit 1) naming every element
    that still refers to it: nothing cascades."""
    _check_kind(kind, as_json)
    operation: dict[str, Any] = {"op": "delete", "kind": kind, "id": element_id}
    if version is not None:
        operation["version"] = version
    _run_change([operation], database, dry_run=dry_run, as_json=as_json, listed=False)


@app.command("apply")
def apply_cmd(
    source: Annotated[str, typer.Argument(
        metavar="FILE", help="The change: a JSON list of operations (the body of POST "
        "/changes), or with --csv a CSV; - for stdin.")],
    csv_kind: Annotated[str | None, typer.Option(
        "--csv", metavar="KIND", help="FILE is a CSV of KIND rows: the document's fields as "
        "headers (nested ones dotted), an op column (create, update or delete; update when "
        "absent) and optionally version.")] = None,
    database: DbOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Apply a change, all or nothing: each operation creates, updates (a JSON Merge Patch,
    optionally based on a version) or removes one element. Problems are located in FILE
    (/2/changes/length_m: operation 2, the CSV's third row)."""
    from ponmodel.errors import DocumentError
    from ponmodel.spreadsheet import operations_from_csv

    if csv_kind is None:
        operations = _read_json(source, as_json)
    else:
        _check_kind(csv_kind, as_json)
        try:
            operations = operations_from_csv(_read_input(source, as_json), csv_kind)
        except DocumentError as exc:
            _fail(exc, as_json)
    _run_change(operations, database, dry_run=dry_run, as_json=as_json)


# --------------------------------------------------------------------------- topology


@app.command("trace")
def trace_cmd(
    ont: str, file: FileOpt = None, database: DbOpt = None, wide: WideOpt = False,
    as_json: JsonOpt = False
) -> None:
    """The path of an ONT back to its PON port and OLT, hop by hop."""
    from ponmodel.errors import PonmodelError
    from ponmodel.topology.trace import trace

    try:
        result = trace(_topology(file, database), ont)
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json(result.as_dict())
        return
    print_table(
        console, f"{result.ont} ← {result.port} ({result.olt}): "
        f"{result.distance_m:,.0f} m, split 1:{result.split}",
        [Col("link", id=True), Col("from", id=True), Col("to", id=True),
         Col("length m", "right", drop=2), Col("distance m", "right"),
         Col("cables", drop=1, wrap=True)],
        [[hop.link, f"{hop.from_kind} {hop.from_id}", f"{hop.to_kind} {hop.to_id}",
          f"{hop.length_m:,.1f}", f"{hop.distance_m:,.1f}", ", ".join(hop.cables)]
         for hop in result.hops], wide=wide)


@app.command("reach")
def reach_cmd(
    node: str, file: FileOpt = None, database: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """Every ONT an OLT, PON port or splitter reaches."""
    from ponmodel.errors import PonmodelError
    from ponmodel.topology.trace import reach

    try:
        onts = reach(_topology(file, database), node)
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json({"element": node, "onts": onts, "count": len(onts)})
        return
    console.print(f"{node} reaches {len(onts)} ONT(s)", highlight=False)
    for ont in sorted(onts, key=natural_key):
        console.print(f"  {ont}", highlight=False, soft_wrap=True)


@app.command("through")
def through_cmd(
    structure: str, file: FileOpt = None, database: DbOpt = None, as_json: JsonOpt = False
) -> None:
    """What passes through or sits in a structure: ducts, cables, links, equipment."""
    from ponmodel.errors import PonmodelError
    from ponmodel.topology.trace import through

    try:
        result = through(_topology(file, database), structure)
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json({"structure": structure, **result})
        return
    print_table(console, f"through {structure}", [Col("kind"), Col("count", "right"),
                                                   Col("ids", wrap=True)],
                [[kind, len(ids), ", ".join(sorted(ids, key=natural_key)[:12])
                  + (f" and {len(ids) - 12} more (--json)" if len(ids) > 12 else "")]
                 for kind, ids in result.items()])


@app.command("view")
def view_cmd(
    zone: Annotated[str, typer.Option("--zone", help="The zone to show.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Write the HTML file here.")],
    operator: Annotated[
        str | None, typer.Option("--operator", help="Only this operator's trees and ducts.")
    ] = None,
    file: FileOpt = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a zone's viewer (both layers, headlines, hover) as one self-contained HTML file:
    plotly.js inlined, no request made when it is opened."""
    from ponmodel.errors import PonmodelError
    from ponmodel.topology import viewer
    from ponmodel.topology.build import build_topology, subset_for_zone

    try:
        doc = _load(file, database)
        topo = build_topology(subset_for_zone(doc, zone))
    except PonmodelError as exc:
        _fail(exc, as_json)
    budget, capacity, ducts = viewer.zone_reports(topo.doc)
    static = Path(__file__).resolve().parent / "static"
    html = viewer.standalone_html(
        zone,
        page=(static / "viewer.html").read_text(encoding="utf-8"),
        script=(static / "viewer.js").read_text(encoding="utf-8"),
        stylesheet=(static / "viewer.css").read_text(encoding="utf-8"),
        physical=viewer.physical_layer(topo, ducts, zone=zone, operator=operator),
        pon=viewer.pon_layer(topo, budget, capacity, zone=zone, operator=operator),
        headlines=viewer.zone_headlines(topo.doc, budget, capacity, ducts, zone=zone,
                                        operator=operator),
        zones=viewer.zone_list(doc),
    )
    out.write_text(html, encoding="utf-8")
    size_mb = out.stat().st_size / 1e6
    if as_json:
        _print_json({"out": str(out), "zone": zone, "bytes": out.stat().st_size})
    else:
        console.print(f"wrote {out} (zone {zone}, {size_mb:.1f} MB, opens offline)")


@bench_app.command("viewer")
def bench_viewer_cmd(
    onts: Annotated[int, typer.Option(
        callback=within(1, None, " ONTs"),
        help="ONTs in the generated network.")] = 100_000,
    seed: Annotated[int, typer.Option()] = 0,
    runs: Annotated[int, typer.Option(
        callback=within(1, None, " runs"),
        help="Page loads (median).")] = 3,
    zone: Annotated[str | None, typer.Option(help="Default: the zone with most ONTs.")] = None,
    zones: Annotated[
        int | None, typer.Option(
            callback=within(1, None, " zones"),
            help="Zones generated (default: one per 4,000 ONTs).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """First paint of the browser viewer in headless Chromium (navigation to the first
    plotly_afterplot) on the largest zone of a generated network."""
    from ponmodel.topology.viewer_bench import bench_viewer, format_result

    try:
        result = bench_viewer(onts, seed=seed, runs=runs, zone=zone, zones=zones,
                              progress=not as_json)
    except (RuntimeError, ImportError) as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json(result)
    else:
        console.print(format_result(result), highlight=False)


# --------------------------------------------------------------------------- optical budget

FileArg = Annotated[
    Path | None,
    typer.Argument(help="A network document (default: the database).", exists=True,
                   dir_okay=False),
]


@app.command("budget")
def budget_cmd(
    file: FileArg = None,
    zone: ZoneOpt = None,
    database: DbOpt = None,
    failing: Annotated[bool, typer.Option(help="Only the ONTs that fail.")] = False,
    limit: Annotated[int, _limit_opt(40)] = 40,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Optical budget of every ONT, both directions, against its class (worst first)."""
    from ponmodel.errors import PonmodelError
    from ponmodel.topology.budget import network_budget
    from ponmodel.topology.figures import failed_checks

    try:
        report = network_budget(_load(file, database, zone))
    except PonmodelError as exc:
        _fail(exc, as_json)
    onts = [o for o in report.onts if not o.ok] if failing else report.onts
    if as_json:
        body = report.as_dict()
        body["onts"] = [o.as_dict() for o in onts]
        _print_json(body)
        return
    ok = sum(1 for o in report.onts if o.ok)
    columns = [Col("ONT", id=True), Col("port", id=True), Col("km", "right", drop=3),
               Col("split", "right", drop=4), Col("loss ↓/↑ dB", "right", drop=2),
               Col("headroom ↓/↑ dB", "right"), Col("checks failed", wrap=True)]
    rows = [[o.id, o.port, f"{o.distance_m / 1000:.2f}", f"1:{o.split}",
             f"{o.downstream.loss_db:.2f} / {o.upstream.loss_db:.2f}",
             f"{o.downstream.headroom_db:.2f} / {o.upstream.headroom_db:.2f}",
             "[green]none[/]" if o.ok else f"[red]{', '.join(failed_checks(o))}[/]"]
            for o in onts]
    print_table(console, f"optical budget: {ok:,} of {len(report.onts):,} ONTs pass every "
                f"check (margin {report.safety_margin_db:g} dB), worst first", columns, rows,
                wide=wide, limit=limit)
    for o in onts[:limit]:
        for problem in o.problems:
            console.print(f"[red]{o.id}[/]: {problem}", highlight=False, soft_wrap=True)
    for p in report.ports:
        for problem in p.problems:
            console.print(f"[red]{p.id}[/]: {problem}", highlight=False, soft_wrap=True)


@app.command("check")
def check_cmd(
    database: DbOpt = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the results here: onts, problems, ports, OLTs (gzip CSV), summary.",
        file_okay=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Budget and capacity of the whole stored network, read straight from the database.

    The same figures as ``budget`` and ``capacity`` without building the document: the way
    to check a national network (1,000,000 ONTs in about 15 s, see ``bench e2e``).
    """
    from ponmodel.errors import PonmodelError
    from ponmodel.topology.stored import check_database, write_results

    engine = _engine(database)
    try:
        check = check_database(engine)
    except PonmodelError as exc:
        _fail(exc, as_json)
    finally:
        engine.dispose()
    summary = check.summary()
    paths = write_results(check, out) if out is not None else {}
    if as_json:
        _print_json({**summary, "timings_s": check.timings,
                     "files": {name: str(path) for name, path in paths.items()}})
        return
    failing = summary["onts_failing_check"]
    rows = [
        ("ONTs passing every check", summary["onts_within_budget"]),
        ("ONTs failing any check", summary["onts_failing_budget"]),
        ("… failing downstream (an ONT may fail several)", failing["downstream"]),
        ("… failing upstream", failing["upstream"]),
        ("… outside their class window", failing["class"]),
        ("… beyond reach", failing["reach"]),
        ("… beyond the split limit", failing["split"]),
        ("ports in use with every ONT within budget", summary["ports_all_onts_ok"]),
        ("ports within differential reach and loss", summary["ports_differential_ok"]),
        ("ports admissible both ways", summary["ports_admissible_both_ways"]),
        ("OLT uplinks admissible both ways", summary["olt_uplinks_admissible_both_ways"]),
        ("10G-symmetric ONTs (line and uplink; capacity in `capacity`)",
         summary["onts_ten_g_symmetric"]),
        ("enterprise ONTs 10G-symmetric",
         f"{summary['enterprise_onts_ten_g_symmetric']:,} of {summary['enterprise_onts']:,}"),
    ]
    print_table(console, f"whole-network check: {summary['onts']:,} ONTs on "
                f"{summary['ports_in_use']:,} ports in use, {summary['olts']:,} OLTs "
                f"(margin {summary['safety_margin_db']:g} dB)",
                [Col("check"), Col("count", "right")],
                [[name, f"{value:,}" if isinstance(value, int) else value]
                 for name, value in rows])
    t = check.timings
    console.print(f"read {t['read_s']:.2f} s, budget {t['budget_s']:.2f} s, capacity "
                  f"{t['capacity_s']:.2f} s")
    for name, path in paths.items():
        console.print(f"{name}: {path}", highlight=False)


@app.command("upgrade")
def upgrade_cmd(
    file: FileArg = None,
    zone: ZoneOpt = None,
    optics_class: Annotated[str, typer.Option("--class", help="XGS-PON class to deploy.")] = "N1",
    coexistence_loss_db: Annotated[float | None, typer.Option(
        "--coexistence-loss-db", callback=within(0.0, 10.0, " dB"),
        help="Loss of the CEx added at the OLT, dB (default: catalogue).")
    ] = None,
    database: DbOpt = None,
    limit: Annotated[int, _limit_opt(40)] = 40,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """GPON-to-XGS-PON readiness of every GPON port: ready / needs E1 or E2 / re-engineer."""
    from ponmodel.errors import CatalogError, PonmodelError
    from ponmodel.topology.upgrade import STATUSES, upgrade_readiness

    try:
        result = upgrade_readiness(_load(file, database, zone), optics_class,
                                   coexistence_loss_db=coexistence_loss_db)
    except CatalogError as exc:
        if as_json:
            _print_json({"error": "CatalogError", "message": str(exc)})
        else:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_INVALID) from None
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json(result)
        return
    zones = [z for z in result["zones"] if z["gpon_ports"]]
    print_table(
        console, f"XGS-PON {optics_class} readiness of GPON ports in use "
        f"(+{result['coexistence_loss_db']:g} dB coexistence element), per zone",
        [Col("zone", wrap=True), Col("GPON ports", "right"), Col("in use", "right"),
         *(Col(s, "right") for s in STATUSES)],
        [[z["name"], z["gpon_ports"], z["gpon_ports_in_use"], *(z[s] for s in STATUSES)]
         for z in zones])
    ports = sorted((p for p in result["ports"] if p["onts"]),
                   key=lambda p: (-STATUSES.index(p["status"]), natural_key(p["id"])))
    print_table(
        console, "GPON ports in use, worst first: verdict (the class each needs), worst ONT",
        [Col("port", id=True), Col("zone", drop=2), Col("ONTs", "right"),
         Col("closing", "right", drop=1), Col("verdict"), Col("worst ONT", id=True),
         Col("headroom dB", "right")],
        [[p["id"], p["zone"] or "", p["onts"], p["onts_closing"],
          p["status"] if p["status"] == "ready" else f"[red]{p['status']}[/]",
          p["worst_ont"] or "",
          "" if p["worst_headroom_db"] is None else f"{p['worst_headroom_db']:.1f}"]
         for p in ports], wide=wide, limit=limit)


# --------------------------------------------------------------------------- capacity


def parse_service(text: str) -> dict[str, dict[str, float]]:
    """``down=1000/10000,up=500+1000/10000`` → a service profile.

    Each direction is ``[FIXED+]ASSURED/MAX`` in Mbit/s.

    Examples
    --------
    >>> parse_service("down=1000/10000,up=500+1000/2000")["up"]
    {'fixed_mbps': 500.0, 'assured_mbps': 1000.0, 'max_mbps': 2000.0}
    """
    out: dict[str, dict[str, float]] = {}
    for part in text.split(","):
        direction, _, spec = part.strip().partition("=")
        guaranteed, slash, maximum = spec.partition("/")
        fixed, plus, assured = guaranteed.partition("+")
        if direction not in ("down", "up") or not slash:
            msg = f"service {part!r}: expected down=[FIXED+]ASSURED/MAX,up=…"
            raise typer.BadParameter(msg)
        try:
            values = (float(fixed) if plus else 0.0, float(assured if plus else fixed),
                      float(maximum))
        except ValueError:
            msg = f"service {part!r}: rates must be numbers (Mbit/s)"
            raise typer.BadParameter(msg) from None
        out[direction] = dict(zip(("fixed_mbps", "assured_mbps", "max_mbps"), values, strict=True))
    if set(out) != {"down", "up"}:
        msg = "service needs both down=… and up=…"
        raise typer.BadParameter(msg)
    return out


@app.command("capacity")
def capacity_cmd(
    file: FileArg = None,
    zone: ZoneOpt = None,
    database: DbOpt = None,
    by: Annotated[str, typer.Option(help="Summary per zone, operator, olt or port.")] = "zone",
    limit: Annotated[int, _limit_opt(40)] = 40,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Bandwidth at full load: per port and OLT uplink, per ONT, 10G-symmetric verdicts."""
    from ponmodel.errors import PonmodelError
    from ponmodel.topology.capacity import network_capacity

    if by not in ("zone", "operator", "olt", "port"):
        msg = "--by must be zone, operator, olt or port"
        raise typer.BadParameter(msg)
    try:
        report = network_capacity(_load(file, database, zone))
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json(report.as_dict())
        return
    rows = report.summary(by)
    if by == "port":
        rows.sort(key=lambda r: natural_key(str(r[by])))
    print_table(
        console, f"capacity per {by}, Mbit/s downstream / upstream (capacity: every port's "
        "line, spare ones included; guaranteed, sold and oversubscription: ports in use)",
        [Col(by, id=True), Col("ports", "right", drop=3), Col("ONTs", "right", drop=2),
         Col("capacity", "right"), Col("guaranteed", "right"), Col("sold max", "right", drop=1),
         Col("oversub.", "right"), Col("admissible"), Col("10G ent.", "right", drop=4)],
        [[str(row[by]), row["ports"], row["onts"],
          f"{row['down']['capacity_mbps']:,.0f} / {row['up']['capacity_mbps']:,.0f}",
          f"{row['down']['guaranteed_mbps']:,.0f} / {row['up']['guaranteed_mbps']:,.0f}",
          f"{row['down']['sold_max_mbps']:,.0f} / {row['up']['sold_max_mbps']:,.0f}",
          f"{row['down']['oversubscription']:.1f} / {row['up']['oversubscription']:.1f}",
          "yes" if row["down"]["admissible"] and row["up"]["admissible"] else "[red]no[/]",
          "" if row["enterprise_ten_g_symmetric_share"] is None
          else f"{row['enterprise_ten_g_symmetric_share']:.0%}"] for row in rows],
        wide=wide, limit=limit)
    console.print("10G ent.: the share of enterprise ONTs that are 10G-symmetric, a property "
                  "of the line (XGS-PON, budget closing) and the OLT's uplink, whatever the "
                  "load", highlight=False, soft_wrap=True)


@app.command("place")
def place_cmd(
    at: Annotated[str, typer.Option("--at", help="Structure of the new customer.")],
    service: Annotated[str, typer.Option(help="down=[FIXED+]ASSURED/MAX,up=… in Mbit/s.")],
    file: FileArg = None,
    zone: ZoneOpt = None,
    operator: Annotated[str | None, typer.Option(help="Only this operator's splitters.")] = None,
    database: DbOpt = None,
    limit: Annotated[int, _limit_opt(10)] = 10,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Where a new customer fits: splitters whose budget and port still close, best first."""
    from ponmodel.errors import PonmodelError
    from ponmodel.topology.placement import place

    profile = parse_service(service)
    try:
        result = place(_load(file, database, zone), structure_id=at, service=profile,
                       operator=operator)
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json(result)
        return
    if not result["candidates"]:
        err_console.print(f"no splitter can serve a new customer at {at} with that service; "
                          f"{len(result['refused'])} refused (use --json for each reason)")
        raise typer.Exit(EXIT_FAILURE)
    print_table(
        console, f"new customer at {at}: {len(result['candidates'])} splitter(s) qualify, "
        "cheapest to connect first (new trench, then drop, then headroom)",
        [Col("#", "right"), Col("splitter", id=True), Col("operator", drop=3),
         Col("port", id=True), Col("trench m", "right"), Col("drop m", "right"),
         Col("km", "right", drop=4), Col("split", "right", drop=5),
         Col("headroom dB", "right"),
         Col("port guaranteed ↓ before → after / capacity", "right", drop=2)],
        [[c["rank"], c["splitter"], c["operator"], c["port"], f"{c['new_trench_m']:,.0f}",
          f"{c['drop_length_m']:,.0f}", f"{c['distance_m'] / 1000:.2f}", f"1:{c['split']}",
          f"{c['worst_headroom_db']:.1f}",
          f"{c['port_guaranteed_before_mbps']['down']:,.0f} → "
          f"{c['port_guaranteed_after_mbps']['down']:,.0f} / "
          f"{c['port_capacity_mbps']['down']:,.0f}"] for c in result["candidates"]],
        wide=wide, limit=limit)
    if result["refused"]:
        console.print(f"{len(result['refused'])} splitter(s) refused; --json gives each reason",
                      highlight=False)


def _parse_profile(text: str) -> tuple[str, dict[str, dict[str, float]]]:
    """``ONT-01:down=1000/10000,up=500/2000`` → the ONT and its new service."""
    ont, colon, service = text.partition(":")
    if not colon or not ont:
        msg = f"--profile {text!r}: expected ONT:down=[FIXED+]ASSURED/MAX,up=…"
        raise typer.BadParameter(msg)
    return ont, parse_service(service)


@app.command("what-if")
def what_if_cmd(
    file: FileArg = None,
    zone: ZoneOpt = None,
    remove: Annotated[list[str] | None, typer.Option(help="An ONT to remove (repeat).")] = None,
    profile: Annotated[list[str] | None, typer.Option(
        help="ONT:down=[FIXED+]ASSURED/MAX,up=… a new service for an ONT (repeat).")] = None,
    database: DbOpt = None,
    limit: Annotated[int, _limit_opt(20)] = 20,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """What changes if ONTs are removed or re-profiled (nothing is written): the headline
    counts before and after, verdicts that flip, ONTs and ports whose figures move."""
    from ponmodel.errors import PonmodelError
    from ponmodel.topology.whatif import what_if

    profiles = dict(_parse_profile(p) for p in profile or [])
    if not remove and not profiles:
        msg = "give at least one --remove ONT or --profile ONT:…"
        raise typer.BadParameter(msg)
    try:
        diff = what_if(_load(file, database, zone), remove=remove or [],
                       profile=profiles)["difference"]
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json(diff)
        return
    print_table(console, "what changes (nothing written)", [
        Col("figure"), Col("before", "right"), Col("after", "right"), Col("change", "right")],
        [[k, f"{v['before']:,}", f"{v['after']:,}", f"{v['change']:+,}"]
         for k, v in diff["headline"].items()])
    if diff["verdicts"]:
        print_table(console, "verdicts that flip", [Col("ONT", id=True), Col("check"),
                                                    Col("before"), Col("after")],
                    [[v["ont"], v["check"], "yes" if v["before"] else "no",
                      "yes" if v["after"] else "no"] for v in diff["verdicts"]],
                    limit=limit, wide=wide)
    print_table(console, f"{len(diff['ports'])} port(s) whose load moves (Mbit/s ↓ / ↑)", [
        Col("port", id=True), Col("ONTs", "right"), Col("guaranteed", "right"),
        Col("sold max", "right", drop=1), Col("admissible ↓ / ↑", "right", drop=2)],
        [[p["port"], _arrow(p, "onts", "{:,}"),
          _arrow(p, "guaranteed_down_mbps", "{:,.0f}") + " / "
          + _arrow(p, "guaranteed_up_mbps", "{:,.0f}"),
          _arrow(p, "sold_max_down_mbps", "{:,.0f}") + " / "
          + _arrow(p, "sold_max_up_mbps", "{:,.0f}"),
          _arrow(p, "admissible_down", "{}") + " / " + _arrow(p, "admissible_up", "{}")]
         for p in sorted(diff["ports"], key=lambda p: natural_key(p["port"]))],
        limit=limit, wide=wide)
    moved = sorted([*(("budget", r) for r in diff["budgets"]),
                    *(("rates", r) for r in diff["rates"])],
                   key=lambda kr: (natural_key(kr[1]["ont"]), kr[0]))
    if moved:
        print_table(console, f"{len({r['ont'] for _, r in moved}):,} ONT(s) whose budget or "
                    "rates move", [Col("ONT", id=True), Col("what"), Col("change", wrap=True)],
                    [[r["ont"], what, ", ".join(f"{k} {v:+,.6g}" for k, v in r["change"].items())
                      or "verdict only"] for what, r in moved], limit=limit, wide=wide)
    else:
        console.print("no ONT's budget or rates move", highlight=False)
    console.print(f"removed: {', '.join(diff['onts_removed']) or 'none'}; added: "
                  f"{', '.join(diff['onts_added']) or 'none'}", highlight=False, soft_wrap=True)


def _arrow(row: dict[str, Any], key: str, fmt: str) -> str:
    """``3 → 2`` when a figure moved, the figure alone when it did not, ``—`` when absent."""
    def one(side: dict[str, Any] | None) -> str:
        return "—" if side is None else fmt.format(side[key])

    a, b = one(row["before"]), one(row["after"])
    return a if a == b else f"{a} → {b}"


# --------------------------------------------------------------------------- shared ducts


def _with_reservations(doc: Document, file: Path | None, database: str | None) -> Document:
    """Add active reservations as occupants when the network comes from the database."""
    if file is not None:
        return doc
    from ponmodel.reservations import active_reservation_cables

    present = {d["id"] for d in doc.get("ducts", [])}
    with _engine(database).connect() as conn:
        held = [c for c in active_reservation_cables(conn)
                if all(d in present for d in c["ducts"])]
    return {**doc, "cables": [*doc.get("cables", []), *held]} if held else doc


@app.command("ducts")
def ducts_cmd(
    file: FileArg = None,
    zone: ZoneOpt = None,
    near: Annotated[float, typer.Option(callback=within(0.01, 1.0, " of the limit"),
                                        help="Share of its limit at which a duct is 'near'.")
                    ] = 0.9,
    database: DbOpt = None,
    duct: Annotated[str | None, typer.Option(
        "--duct", help="One duct: its fill and every occupant, operator and size.")] = None,
    limit: Annotated[int, _limit_opt(30)] = 30,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Fill of every duct against its limit, use per operator, ducts over or near the limit."""
    from ponmodel.errors import PonmodelError
    from ponmodel.topology.ducts import duct_fill
    from ponmodel.topology.figures import duct_figures

    try:
        doc = _with_reservations(_load(file, database, zone), file, database)
        report = duct_fill(doc, near_share=near)
        one = report.duct(duct) if duct is not None else None
    except PonmodelError as exc:
        _fail(exc, as_json)
    if one is not None:
        _print_one_duct(doc, report, one, as_json)
        return
    if as_json:
        _print_json(report.as_dict())
        return
    figures = duct_figures(report.ducts)
    rows = sorted(report.ducts, key=lambda d: (-(d.fill_ratio / d.limit_ratio)
                                              if d.limit_ratio else 0.0, natural_key(d.id)))
    print_table(
        console, f"duct fill, fullest first: {figures['ducts']:,} ducts "
        f"({figures['ducts_over_limit']:,} over their limit, {figures['ducts_near_limit']:,} "
        f"near it), {figures['innerducts']:,} innerducts ({figures['innerducts_over_limit']:,} "
        f"over, {figures['innerducts_near_limit']:,} near)",
        [Col("duct", id=True), Col("fill", "right"), Col("limit", "right"),
         Col("occupants", "right", drop=2), Col("operators", drop=1, wrap=True),
         Col("new cable ≤ mm", "right")],
        [[d.id, f"{d.fill_ratio:.0%}", f"{d.limit_ratio:.0%}", len(d.occupants),
          ", ".join(d.operators), f"{d.max_new_cable_mm:.1f}" if not d.over_limit
          else "[red]full[/]"] for d in rows], wide=wide, limit=limit)
    print_table(console, "use per operator", [
        Col("operator", id=True), Col("duct-metres", "right"),
        Col("share of occupied cross-section", "right")],
        [[o.id, f"{o.duct_metres:,.0f}", f"{o.area_share:.1%}"] for o in report.operators])
    console.print("one duct's occupants: ponmodel ducts --duct ID", highlight=False)


def _print_one_duct(doc: Document, report: Any, d: Any, as_json: bool) -> None:
    """One duct: its fill and limit, and every occupant (cable or innerduct) with its
    operator and diameter; innerducts with what they hold."""
    cables = {c["id"]: c for c in doc.get("cables", [])}
    inner = [r for r in report.ducts if r.within == d.id]
    occupants = [
        {"id": c, "kind": "cable", "operator": cables.get(c, {}).get("operator"),
         "outer_diameter_mm": cables.get(c, {}).get("outer_diameter_mm"),
         "fibre_count": cables.get(c, {}).get("fibre_count")} for c in d.cables
    ] + [
        {"id": r.id, "kind": "innerduct", "operator": ", ".join(r.operators) or None,
         "outer_diameter_mm": r.outer_diameter_mm or r.inner_diameter_mm,
         "fibre_count": None, "cables": list(r.cables), "fill_ratio": r.fill_ratio,
         "limit_ratio": r.limit_ratio} for r in inner
    ]
    if as_json:
        _print_json({**d.as_dict(), "occupant_details": occupants})
        return
    state = "OVER its limit" if d.over_limit else "near its limit" if d.near_limit else \
        "within its limit"
    console.print(f"{d.id}: {d.from_structure} → {d.to_structure}, {d.length_m:,.1f} m, "
                  f"{d.inner_diameter_mm:g} mm, owner {d.owner}; fill {d.fill_ratio:.1%} of a "
                  f"{d.limit_ratio:.0%} limit ({d.limit_source}): {state}; room for a new "
                  f"cable up to {d.max_new_cable_mm:.1f} mm", highlight=False, soft_wrap=True)
    print_table(console, f"{len(occupants)} occupant(s)", [
        Col("occupant", id=True), Col("kind"), Col("operator"), Col("mm", "right"),
        Col("fibres", "right", drop=1), Col("holds", drop=2, wrap=True)],
        [[o["id"], o["kind"], o["operator"] or "", f"{o['outer_diameter_mm'] or 0:g}",
          "" if o["fibre_count"] is None else o["fibre_count"],
          ", ".join(o.get("cables", [])) if o["kind"] == "innerduct" else ""]
         for o in occupants])


@app.command("route")
def route_cmd(
    source: Annotated[str, typer.Option("--from", help="Structure where the cable starts.")],
    target: Annotated[str, typer.Option("--to", help="Structure where it ends.")],
    file: FileArg = None,
    zone: ZoneOpt = None,
    cable_diameter_mm: CableMmOpt = None,
    fibre_count: FibreCountOpt = None,
    operator: Annotated[str | None, typer.Option(help="Operator laying the cable.")] = None,
    k: Annotated[int, typer.Option(callback=within(1, 20, " routes"), help="Alternatives, 1 to "
                                   "20.")] = 1,
    avoid: Annotated[list[str] | None, typer.Option(help="Structure or duct to avoid (repeat).")
                     ] = None,
    owner: Annotated[list[str] | None, typer.Option(help="Only ducts of this owner (repeat).")
                     ] = None,
    via: Annotated[list[str] | None, typer.Option(help="Pass through this structure (repeat).")
                   ] = None,
    database: DbOpt = None,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Shortest routes for a new cable through ducts that still have room (exit 1 if none)."""
    from ponmodel.errors import PonmodelError
    from ponmodel.topology.routing import plan_route

    if cable_diameter_mm is None and fibre_count is None:
        msg = "give --cable-diameter-mm or --fibre-count"
        raise typer.BadParameter(msg)
    try:
        doc = _with_reservations(_load(file, database, zone), file, database)
        result = plan_route(doc, source, target, cable_diameter_mm=cable_diameter_mm,
                            fibre_count=fibre_count, operator=operator, k=k, avoid=avoid or (),
                            owners=owner, via=via or ())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json(result)
        if not result["routes"]:
            raise typer.Exit(EXIT_FAILURE)
        return
    if not result["routes"]:
        err_console.print(f"no route from {source} to {target} with room for that cable; "
                          f"blocking ducts: {', '.join(result['blocking']) or 'none'}"
                          + (f" ({result['reason']})" if result.get("reason") else ""),
                          highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILURE)
    for n, route in enumerate(result["routes"], 1):
        print_table(
            console, f"route {n}: {route['length_m']:,.0f} m through {len(route['ducts'])} "
            f"duct(s)", [Col("duct", id=True), Col("from", id=True, drop=2),
                         Col("to", id=True, drop=2), Col("m", "right", drop=1),
                         Col("fill before", "right"), Col("fill after", "right")],
            [[hop["occupies"], hop["from"], hop["to"], f"{hop['length_m']:,.0f}",
              f"{hop['fill_before']:.0%}", f"{hop['fill_after']:.0%}"]
             for hop in route["hops"]], wide=wide)
    if result.get("reason"):
        console.print(result["reason"], highlight=False, soft_wrap=True)
    console.print("reserve one: ponmodel route … --json > routes.json, then ponmodel reserve "
                  "create --from-route routes.json --route N --operator OP (same cable)",
                  highlight=False, soft_wrap=True)


@app.command("impact")
def impact_cmd(
    element: Annotated[list[str], typer.Option(help="A failing element (repeat for several).")],
    file: FileArg = None,
    zone: ZoneOpt = None,
    database: DbOpt = None,
    limit: Annotated[int, _limit_opt(20)] = 20,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Who goes dark when these elements fail: customers, sites and ONTs, per operator."""
    from ponmodel.errors import PonmodelError
    from ponmodel.topology.impact import impact

    try:
        result = impact(_load(file, database, zone), element)
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json(result)
        return
    console.print(f"failing {', '.join(element)}: {len(result['links'])} link(s) cut, "
                  f"{len(result['onts'])} ONT(s) and {len(result['sites'])} site(s) lose service",
                  highlight=False, soft_wrap=True)
    sites = {*result["sites"], *result["sites_at_failed_structures"]}
    print_table(console, "per operator", [Col("operator", id=True), Col("ONTs", "right"),
                                          Col("sites", "right")],
                [[op, result["by_operator"].get(op, 0), result["sites_by_operator"].get(op, 0)]
                 for op in sorted({*result["by_operator"], *result["sites_by_operator"]})])
    print_table(console, "customers losing service", [Col("customer", id=True),
                                                      Col("ONTs", "right")],
                sorted(([c, n] for c, n in result["by_customer"].items()),
                       key=lambda r: (-r[1], r[0])), limit=limit, wide=wide)
    print_table(console, "mobile sites losing backhaul or standing in a failed structure",
                [Col("site", id=True)], [[s] for s in sorted(sites, key=natural_key)],
                limit=limit)
    print_table(console, "ONTs losing service", [Col("ONT", id=True)],
                [[o] for o in sorted(result["onts"], key=natural_key)], limit=limit)


# --------------------------------------------------------------------------- report


@app.command("report")
def report_cmd(
    file: FileArg = None,
    year: Annotated[int, typer.Option(callback=within(2025, 2100),
                                      help="Reporting year.")] = 2026,
    fmt: Annotated[str, typer.Option("--format", help="html, csv or json.")] = "html",
    out: Annotated[Path | None, typer.Option("--out", "-o",
                                             help="Write here (default: stdout).")] = None,
    optics_class: Annotated[str, typer.Option("--class", help="XGS-PON class for the GPON "
                                              "upgrade readiness.")] = "N1",
    database: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON (--format json); "
                                          "with --out, what was written, as JSON.")] = False,
) -> None:
    """Zone readiness report against Plan 310/KH-UBND's targets (5G sites, XGS-PON 10G)."""
    from ponmodel.errors import PonmodelError
    from ponmodel.topology.report import report_csv, report_html, zone_report

    if fmt not in ("html", "csv", "json"):
        msg = f"--format must be html, csv or json, not {fmt!r}"
        raise typer.BadParameter(msg)
    if as_json and out is None:
        fmt = "json"
    try:
        report = zone_report(_load(file, database), year=year, optics_class=optics_class)
    except PonmodelError as exc:
        _fail(exc, fmt == "json" or as_json)
    if fmt == "json":
        data = orjson.dumps(report, option=orjson.OPT_INDENT_2)
    else:
        data = (report_html(report) if fmt == "html" else report_csv(report)).encode()
    if out is None:
        sys.stdout.buffer.write(data + b"\n")
    elif as_json:
        out.write_bytes(data)
        _print_json({"out": str(out), "format": fmt, "bytes": len(data), "year": year})
    else:
        out.write_bytes(data)
        console.print(f"wrote {out} ({len(data) / 1000:.0f} kB)")


# --------------------------------------------------------------------------- reservations


def _print_reservations(rows: list[dict[str, Any]], title: str, *, wide: bool = False,
                        limit: int | None = None) -> None:
    print_table(console, title, [
        Col("id", id=True), Col("operator"), Col("cable", id=True, drop=2),
        Col("mm", "right", drop=3), Col("status"), Col("expires (UTC)", drop=1),
        Col("ducts", drop=4, wrap=True)],
        [[r["id"], r["operator"], r["cable_id"], f"{r['outer_diameter_mm']:g}", r["status"],
          r["expires_at"][:19], " → ".join(r["ducts"])] for r in rows], wide=wide, limit=limit)


@keys_app.command("create")
def keys_create_cmd(
    role: Annotated[str, typer.Option(help="admin | planner | viewer")],
    operator: Annotated[str | None, typer.Option(
        help="The operator a planner writes for (required) or a viewer reads.")] = None,
    name: Annotated[str | None, typer.Option(help="Who holds the key.")] = None,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a key and print its token, once: only its hash is stored."""
    from ponmodel.errors import PonmodelError
    from ponmodel.keys import create_key

    try:
        record, token = create_key(_engine(database), role=role, operator=operator, name=name)
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json({**record, "token": token})
    else:
        scope = f" of {record['operator']}" if record["operator"] else ""
        console.print(f"{record['role']} key{scope} {record['id']} ({record['name']})")
        console.print(f"token (shown once): {token}", soft_wrap=True)


@keys_app.command("list")
def keys_list_cmd(database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Every key, newest first (never their secrets)."""
    from ponmodel.keys import list_keys

    keys = list_keys(_engine(database))
    if as_json:
        _print_json(keys)
        return
    print_table(console, f"{len(keys)} key(s), newest first", [
        Col("id", id=True), Col("name", drop=1), Col("role"), Col("operator"),
        Col("created", drop=2), Col("revoked")],
        [[k["id"], k["name"], k["role"], k["operator"] or "", k["created_at"][:19],
          (k["revoked_at"] or "")[:19]] for k in keys])


@keys_app.command("revoke")
def keys_revoke_cmd(key_id: str, database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke a key: every later request with it gets 401."""
    from ponmodel.errors import PonmodelError
    from ponmodel.keys import revoke_key

    try:
        record = revoke_key(_engine(database), key_id)
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json(record)
    else:
        console.print(f"revoked key {record['id']} ({record['name']}) at {record['revoked_at']}")


@reserve_app.command("create")
def reserve_create_cmd(
    operator: Annotated[str, typer.Option(help="Operator of the planned cable.")],
    ducts: Annotated[str | None, typer.Option(
        help="The route: duct ids in order, comma-separated (or --from-route).")] = None,
    from_route: Annotated[Path | None, typer.Option(
        "--from-route", exists=True, dir_okay=False,
        help="The JSON `ponmodel route … --json` wrote: reserve its route --route N, with "
        "its cable unless --cable-diameter-mm or --fibre-count say otherwise.")] = None,
    route_number: Annotated[int, typer.Option(
        "--route", callback=within(1), help="Which route of --from-route (1 = the shortest).")] = 1,
    cable_diameter_mm: CableMmOpt = None,
    fibre_count: FibreCountOpt = None,
    cable_id: Annotated[str | None, typer.Option(help="Id of the cable once confirmed.")] = None,
    ttl_s: Annotated[float, typer.Option(
        callback=within(1.0, 366 * 24 * 3600.0, " s"), help="Seconds until it lapses unless "
        "confirmed (up to a year).")
                     ] = 7 * 24 * 3600,
    database: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hold room in every duct of a route; refused (exit 1) naming a duct that is full."""
    from ponmodel.errors import PonmodelError
    from ponmodel.reservations import reserve

    if (ducts is None) == (from_route is None):
        msg = "give the route as --ducts D1,D2,… or --from-route FILE [--route N]"
        raise typer.BadParameter(msg)
    if from_route is not None:
        route, planned_mm = _planned_route(from_route, route_number, as_json)
        if cable_diameter_mm is None and fibre_count is None:
            cable_diameter_mm = planned_mm
    else:
        route = [d.strip() for d in (ducts or "").split(",") if d.strip()]
        if not route:
            msg = f"--ducts {ducts!r}: no duct id (give them in order, comma-separated)"
            raise typer.BadParameter(msg)
    try:
        row = reserve(_engine(database), operator=operator, ducts=route,
                      outer_diameter_mm=cable_diameter_mm, fibre_count=fibre_count,
                      cable_id=cable_id, ttl_s=ttl_s)
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json(row)
    else:
        _print_reservations([row], "reserved")


def _planned_route(path: Path, number: int, as_json: bool) -> tuple[list[str], float | None]:
    """Route ``number`` (from 1) of a ``ponmodel route --json`` answer: its ducts, and the
    diameter of the cable it was planned for."""
    data = _read_json(str(path), as_json)
    routes = data.get("routes") if isinstance(data, dict) else None
    if not isinstance(routes, list) or not all(
            isinstance(r, dict) and isinstance(r.get("ducts"), list) for r in routes):
        _invalid(f"{path}: not the JSON of `ponmodel route --json` (no \"routes\" list)",
                 as_json)
    if not 1 <= number <= len(routes):
        _invalid(f"--route {number}: {path} holds {len(routes)} route(s)", as_json)
    diameter = data.get("cable_diameter_mm")
    if diameter is not None:
        if not isinstance(diameter, int | float) or isinstance(diameter, bool):
            _invalid(f"{path}: cable_diameter_mm must be a number of mm", as_json)
        try:
            within(0.1, 200.0, " mm")(float(diameter))
        except typer.BadParameter as exc:
            _invalid(f"{path}: cable_diameter_mm {exc}", as_json)
    return [str(d) for d in routes[number - 1]["ducts"]], \
        None if diameter is None else float(diameter)


def _reservation_action(action: str, reservation: str, database: str | None,
                        as_json: bool) -> None:
    """Confirm or cancel a reservation and print it."""
    from ponmodel import reservations
    from ponmodel.errors import PonmodelError

    try:
        row = getattr(reservations, action)(_engine(database), reservation)
    except PonmodelError as exc:
        _fail(exc, as_json)
    if as_json:
        _print_json(row)
    else:
        _print_reservations([row], row["status"])


@reserve_app.command("confirm")
def reserve_confirm_cmd(reservation: str, database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Turn an active reservation into its cable."""
    _reservation_action("confirm", reservation, database, as_json)


@reserve_app.command("cancel")
def reserve_cancel_cmd(reservation: str, database: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Release an active reservation's room."""
    _reservation_action("cancel", reservation, database, as_json)


@reserve_app.command("list")
def reserve_list_cmd(
    operator: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(
        help="reserved | confirmed | cancelled | expired")] = None,
    database: DbOpt = None,
    limit: Annotated[int, _limit_opt(40)] = 40,
    wide: WideOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Every reservation (optionally of one operator or in one status)."""
    from ponmodel.reservations import list_reservations

    if status is not None and status not in ("reserved", "confirmed", "cancelled", "expired"):
        msg = f"--status {status!r}: expected reserved, confirmed, cancelled or expired"
        raise typer.BadParameter(msg)
    rows = list_reservations(_engine(database), operator=operator, status=status)
    if as_json:
        _print_json(rows)
    else:
        _print_reservations(rows, f"{len(rows)} reservation(s)", wide=wide, limit=limit)


# --------------------------------------------------------------------------- benchmarks


@bench_app.command("import")
def bench_import_cmd(
    onts: Annotated[int, typer.Option(
        callback=within(1, None, " ONTs"),
        help="ONTs in the generated network.")] = 100_000,
    seed: Annotated[int, typer.Option()] = 0,
    postgres: Annotated[
        str | None,
        typer.Option(
            help="Also measure on this PostgreSQL URL (default: PONMODEL_TEST_DATABASE_URL)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Measure import and load-back of a generated network on SQLite (and PostgreSQL)."""
    from ponmodel.bench import bench_import
    from ponmodel.topology.bench import zone_arrays

    result = bench_import(onts, seed=seed, postgres_url=postgres, progress=not as_json,
                          after_import=zone_arrays)
    if as_json:
        _print_json(result)
        return
    print_table(console, f"import benchmark: {onts:,} ONTs, {result['rows']:,} rows",
                [Col("database"), *(Col(c, "right") for c in (
                    "import s", "rows/s", "load s", "rows/s (load)", "one zone's arrays s"))],
                [[db["database"], f"{db['import_s']:.2f}", f"{db['import_rows_per_s']:,.0f}",
                  f"{db['load_s']:.2f}", f"{db['load_rows_per_s']:,.0f}",
                  f"{db['zone_arrays_s']:.2f} ({db['zone_onts']:,} ONTs)"]
                 for db in result["databases"]])
    console.print(
        f"generate {result['generate_s']:.2f} s, validate {result['validate_s']:.2f} s, "
        f"peak RSS {result['peak_rss_mb']:.0f} MB"
    )


@bench_app.command("budget")
def bench_budget_cmd(
    onts: Annotated[int, typer.Option(
        callback=within(1, None, " ONTs"),
        help="ONTs in the generated network.")] = 100_000,
    seed: Annotated[int, typer.Option()] = 0,
    repeats: Annotated[int, typer.Option(
        callback=within(1, None, " runs"),
        help="Runs per timing (median).")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Time the optical budget: kernel, pure-Python twin, plain networkx, array building."""
    from ponmodel.topology.bench import bench_budget

    result = bench_budget(onts, seed=seed, repeats=repeats)
    if as_json:
        _print_json(result)
        return
    steps = (("kernel", "kernel_s"), ("pure-Python twin", "twin_s"),
             ("networkx (Dijkstra per port)", "networkx_s"), ("building arrays", "arrays_s"))
    print_table(
        console, f"budget benchmark: {result['onts']:,} ONTs, {result['ports']:,} ports, "
        f"{result['nodes']:,} nodes ({result['kernel']} kernel)",
        [Col("step", wrap=True), Col("seconds", "right"), Col("× kernel", "right")],
        [[name, f"{result[key]:.4f}", f"{result[key] / result['kernel_s']:,.0f}"]
         for name, key in steps])
    console.print(f"twin timed on {result['sampled']['twin_nodes']:,} nodes and networkx on "
                  f"{result['sampled']['networkx_nodes']:,}, scaled to all nodes; "
                  f"peak RSS {result['peak_rss_mb']:.0f} MB")


@bench_app.command("capacity")
def bench_capacity_cmd(
    onts: Annotated[int, typer.Option(
        callback=within(1, None, " ONTs"),
        help="ONTs in the generated network.")] = 100_000,
    seed: Annotated[int, typer.Option()] = 0,
    repeats: Annotated[int, typer.Option(
        callback=within(1, None, " runs"),
        help="Runs per timing (median).")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Time the bandwidth allocation (kernel, twin, end to end) and a placement query."""
    from ponmodel.topology.bench import bench_capacity, bench_placement

    result = bench_capacity(onts, seed=seed, repeats=repeats)
    result["placement_hanoi"] = bench_placement()
    if as_json:
        _print_json(result)
        return
    print_table(
        console, f"capacity benchmark: {result['onts']:,} ONTs on {result['ports']:,} ports "
        f"({result['kernel']} kernel, one direction)",
        [Col("step", wrap=True), Col("seconds", "right")],
        [["allocation kernel", f"{result['kernel_s']:.4f}"],
         [f"pure-Python twin (×{result['twin_over_kernel']:.0f})", f"{result['twin_s']:.4f}"],
         *([f"end to end: {name.removesuffix('_s').replace('_', ' ')}", f"{seconds:.2f}"]
           for name, seconds in result["end_to_end"].items()),
         ["placement query, Hanoi (median)", f"{result['placement_hanoi']['median_s']:.4f}"]])
    console.print(f"twin timed on {result['sampled_onts']:,} ONTs and scaled; "
                  f"peak RSS {result['peak_rss_mb']:.0f} MB")


@bench_app.command("ducts")
def bench_ducts_cmd(
    ducts: Annotated[int, typer.Option(
        callback=within(100, None, " ducts"),
        help="Ducts in the generated city.")] = 100_000,
    postgres: Annotated[str | None, typer.Option(
        help="Scratch PostgreSQL for the reservation throughput "
        "(default: PONMODEL_TEST_DATABASE_URL).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Route and impact latency on a city of ducts; reservation throughput, 8 clients."""
    import os

    from ponmodel.topology.ducts_bench import bench_ducts, bench_reservations

    result = bench_ducts(ducts)
    url = postgres or os.environ.get("PONMODEL_TEST_DATABASE_URL")
    if url:
        result["reservations_postgresql"] = bench_reservations(url)
    if as_json:
        _print_json(result)
        return
    rows: list[list[str]] = []
    for key, value in result.items():
        if isinstance(value, float):
            rows.append([key, f"{value:,.3f}"])
        elif isinstance(value, dict):
            for sub, v in value.items():
                rows.append([f"{key}.{sub}", f"{v:,.2f}" if isinstance(v, float) else str(v)])
        else:
            rows.append([key, str(value)])
    print_table(console, f"duct benchmark: {ducts:,} ducts",
                [Col("measure", id=True), Col("value", "right")], rows)


@bench_app.command("edits")
def bench_edits_cmd(
    onts: Annotated[list[int] | None, typer.Option(
        "--onts",
            callback=within(1000, None, " ONTs"),
            help="Network sizes (repeat the option).")] = None,
    rounds: Annotated[int, typer.Option(
        callback=within(1, None, " rounds"),
        help="Rounds per size (median).")] = 25,
    postgres: Annotated[str | None, typer.Option(
        help="Scratch PostgreSQL server (default: PONMODEL_TEST_DATABASE_URL).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Median latency of one customer created, one link edited and one removed through
    the API, and of the ONT budget read after each, per network size and database."""
    import os

    from ponmodel.api.edits_bench import STEPS, bench_edits, format_table

    sizes = onts or [10_000, 100_000, 1_000_000]
    url = postgres or os.environ.get("PONMODEL_TEST_DATABASE_URL")
    say = (lambda _: None) if as_json else (lambda text: console.print(f"[dim]{text}[/]"))
    results = bench_edits(sizes, rounds=rounds, postgres_url=url, say=say)
    if as_json:
        _print_json(results)
        return
    columns = [Col("ONTs", "right"), Col("database"),
               *(Col(step.replace("_", " "), "right", wrap=True) for step in STEPS)]
    print_table(console, f"edits benchmark: medians of {rounds} rounds, ms", columns,
                format_table(results))
    print_table(console, "SQL statements per step (medians; the key lookup included)",
                columns, format_table(results, "statements"))


@bench_app.command("e2e")
def bench_e2e_cmd(
    onts: Annotated[int, typer.Option(
        callback=within(1, None, " ONTs"),
        help="ONTs in the generated network.")] = 1_000_000,
    seed: Annotated[int, typer.Option()] = 0,
    postgres: Annotated[str | None, typer.Option(
        help="PostgreSQL server for a scratch database, created and dropped "
        "(default: PONMODEL_TEST_DATABASE_URL; without either, SQLite only).")] = None,
    workdir: Annotated[Path | None, typer.Option(
        help="Keep the SQLite file's directory and the results here "
        "(default: a temporary directory, removed).", file_okay=False)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Generate, import into SQLite and PostgreSQL, check everything from each loaded
    database and write the results; each phase's time and peak memory."""
    import os
    import tempfile

    from ponmodel.topology.e2e_bench import bench_e2e, format_e2e

    url = postgres or os.environ.get("PONMODEL_TEST_DATABASE_URL")

    def say(line: str) -> None:
        if not as_json:
            err_console.print(line, highlight=False)

    with tempfile.TemporaryDirectory(prefix="ponmodel-e2e-") as tmp:
        result = bench_e2e(onts, seed=seed, postgres_url=url,
                           workdir=workdir if workdir is not None else Path(tmp), progress=say)
    if as_json:
        _print_json(result)
        return
    console.print(format_e2e(result), highlight=False)


@bench_app.command("load")
def bench_load_cmd(
    rate: Annotated[float, typer.Option(
        callback=within(0.1, None, " requests/s"),
        help="Arrivals per second (open loop).")]
    = 200.0,
    duration: Annotated[float, typer.Option(
        callback=within(0.1, None, " s"),
        help="Seconds of arrivals.")] = 60.0,
    workers: Annotated[int, typer.Option(
        callback=within(1, None, " workers"),
        help="Worker processes of the server.")] = 2,
    write_share: Annotated[float, typer.Option(

            callback=within(0.0, 1.0),
            help="Share of arrivals that are writes (reservations, ONT edits).")]
    = 0.02,
    edit: Annotated[str, typer.Option(
        help="What an ONT edit changes: customer (a rename) or service (1 Mbit/s of its "
        "sold maximum: every capacity figure is recomputed).")] = "customer",
    seed: Annotated[int, typer.Option()] = 0,
    postgres: Annotated[str | None, typer.Option(
        help="PostgreSQL server for a scratch database holding the Hanoi network "
        "(default: PONMODEL_TEST_DATABASE_URL).")] = None,
    url: Annotated[str | None, typer.Option(
        help="Load this running server instead (loopback only); needs --key.")] = None,
    key: Annotated[str | None, typer.Option(
        help="An admin API key of the server given by --url.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Mixed reads and writes against ponmodel serve on PostgreSQL: requests per second,
    p50 / p99 latency per endpoint, errors (loopback only, bounded in count and time)."""
    import os

    from ponmodel.api.loadtest import LoadTargetError, bench_serve_load, format_load, run_load

    def say(line: str) -> None:
        if not as_json:
            err_console.print(line, highlight=False)

    def refuse(message: str) -> NoReturn:
        if as_json:
            _print_json({"error": "LoadTargetError", "message": message})
        else:
            err_console.print(f"[bold red]error:[/] {message}", highlight=False)
        raise typer.Exit(EXIT_INVALID)

    admin = postgres or os.environ.get("PONMODEL_TEST_DATABASE_URL")
    try:
        if url is not None:
            if not key:
                refuse("--url needs --key (an admin API key of that server)")
            result = run_load(url, key, rate_rps=rate, duration_s=duration,
                              write_share=write_share, edit=edit, seed=seed)
        elif not admin:
            refuse("give --postgres (or set PONMODEL_TEST_DATABASE_URL): the load test "
                   "serves the Hanoi network from a scratch PostgreSQL database")
        else:
            result = bench_serve_load(admin, rate_rps=rate, duration_s=duration,
                                      workers=workers, write_share=write_share, edit=edit,
                                      seed=seed, progress=say)
    except LoadTargetError as exc:
        refuse(str(exc))
    if as_json:
        _print_json(result)
    else:
        console.print(format_load(result), highlight=False)
    if result["errors"]:
        raise typer.Exit(EXIT_FAILURE)


def main() -> None:
    """Entry point of the ``ponmodel`` script. Every error is one line and an exit code
    (:class:`_Commands` reports what a command lets escape)."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
