"""The network document ``ponmodel/1``: read, validate, write, JSON Schema.

A document is one JSON object (``../shared/spec/network-document.md``). Validation runs in
two passes and reports every problem at once, each with the element's id and a JSON
pointer:

1. shape: every element against its model (types, units' ranges, finite numbers, unknown
   keys), through a fast typed-dict validator derived from the ``Create`` models of
   :mod:`ponmodel.elements` (so the field definitions stay in one place);
2. meaning: ids unique across the document, references to existing elements of the right
   kind, the link forest, splitter ratios, service profiles, class vs technology, cable
   routes, innerducts.

A valid document is returned as plain dicts (``Document``): the fast path for a million
ONTs builds no model instance per element.

Examples
--------
>>> from ponmodel.document import load_document, validate_document
>>> doc = {"format": "ponmodel/1", "operators": [{"id": "vnpt", "name": "VNPT"}],
...        "zones": [{"id": "z", "name": "Z", "kind": "industrial_zone"}],
...        "structures": [{"id": "z", "kind": "manhole", "lon": 105.8, "lat": 21.0}]}
>>> [str(p) for p in validate_document(doc)]
["/structures/0/id: z: id 'z' is already used by the zone at /zones/0"]
"""

from __future__ import annotations

import json
import types
import typing
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, get_args, get_origin

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from ponmodel import FORMAT
from ponmodel._gc import gc_paused
from ponmodel.catalog import classes_for
from ponmodel.elements import (
    CableCreate,
    DuctCreate,
    LinkCreate,
    NetworkDefaults,
    OltCreate,
    OntCreate,
    OperatorCreate,
    SiteCreate,
    SplitterCreate,
    StructureCreate,
    ZoneCreate,
)
from ponmodel.errors import CatalogError, DocumentError, ElementError, range_words
from ponmodel.types import ElementId

Document = dict[str, Any]
"""A validated ``ponmodel/1`` document as plain JSON-compatible dicts."""

COLLECTIONS: dict[str, type[BaseModel]] = {
    "operators": OperatorCreate,
    "zones": ZoneCreate,
    "structures": StructureCreate,
    "ducts": DuctCreate,
    "cables": CableCreate,
    "olts": OltCreate,
    "splitters": SplitterCreate,
    "onts": OntCreate,
    "links": LinkCreate,
    "sites": SiteCreate,
}
"""Top-level list key → the model of its elements, in the spec's order."""

KIND_OF_COLLECTION: dict[str, str] = {
    "operators": "operator",
    "zones": "zone",
    "structures": "structure",
    "ducts": "duct",
    "cables": "cable",
    "olts": "olt",
    "splitters": "splitter",
    "onts": "ont",
    "links": "link",
    "sites": "site",
}

TOP_LEVEL_KEYS = ("format", "name", "defaults", *COLLECTIONS)


class NetworkDocument(BaseModel):
    """The whole ``ponmodel/1`` document: the model the shipped JSON Schema is made from."""

    model_config = ConfigDict(extra="forbid", title="ponmodel/1 network document")
    format: Literal["ponmodel/1"] = Field(description="Format tag, exactly 'ponmodel/1'.")
    name: str | None = Field(default=None, description="Name of the network.")
    defaults: NetworkDefaults | None = Field(
        default=None, description="Overrides of the built-in catalogue."
    )
    operators: list[OperatorCreate] = Field(default_factory=list)
    zones: list[ZoneCreate] = Field(default_factory=list)
    structures: list[StructureCreate] = Field(default_factory=list)
    ducts: list[DuctCreate] = Field(default_factory=list)
    cables: list[CableCreate] = Field(default_factory=list)
    olts: list[OltCreate] = Field(default_factory=list)
    splitters: list[SplitterCreate] = Field(default_factory=list)
    onts: list[OntCreate] = Field(default_factory=list)
    links: list[LinkCreate] = Field(default_factory=list)
    sites: list[SiteCreate] = Field(default_factory=list)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of ``ponmodel/1``, generated from the models.

    Examples
    --------
    >>> json_schema()["properties"]["format"]["const"]
    'ponmodel/1'
    """
    schema = NetworkDocument.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://ponmodel.invalid/schema/ponmodel-1.schema.json"
    return schema


# --------------------------------------------------------------------------- fast shape check


def _typed(annotation: Any) -> Any:
    """Rewrite an annotation so that every pydantic model in it becomes its typed dict."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _typed_dict_of(annotation)
    origin = get_origin(annotation)
    if origin is None:
        return annotation
    args = get_args(annotation)
    if origin is Annotated:
        return Annotated[(_typed(args[0]), *args[1:])]  # type: ignore[valid-type]
    if origin in (types.UnionType, typing.Union):
        return typing.Union[tuple(_typed(a) for a in args)]  # noqa: UP007
    if origin is Literal:
        return annotation
    return origin[tuple(_typed(a) for a in args)]


@cache
def _typed_dict_of(model: type[BaseModel]) -> Any:
    """A ``TypedDict`` with the same keys (aliases), types and constraints as ``model``."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = _typed(info.annotation)
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]  # type: ignore[valid-type]
        key = info.alias or name
        fields[key] = annotation if info.is_required() else NotRequired[annotation]
    typed = TypedDict(f"{model.__name__}Dict", fields)  # type: ignore[operator]
    return with_config(ConfigDict(extra="forbid", strict=True))(typed)


@cache
def _adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(list[_typed_dict_of(model)])  # type: ignore[misc]


@dataclass(frozen=True, slots=True)
class _DefaultsPlan:
    """How to fill one model's optional keys: precomputed once per model."""

    constants: dict[str, Any]
    fresh_lists: tuple[str, ...]
    nested: tuple[tuple[str, type[BaseModel]], ...]


@cache
def _plan(model: type[BaseModel]) -> _DefaultsPlan:
    constants: dict[str, Any] = {}
    fresh: list[str] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        if not info.is_required():
            default = info.get_default(call_default_factory=True)
            if isinstance(default, list):
                fresh.append(key)
            else:
                constants[key] = default
        inner = _model_in(info.annotation)
        if inner is not None:
            nested.append((key, inner))
    return _DefaultsPlan(constants, tuple(fresh), tuple(nested))


def with_defaults(model: type[BaseModel], element: dict[str, Any]) -> dict[str, Any]:
    """``element`` with every optional key of ``model`` present (nested ones too).

    Examples
    --------
    >>> with_defaults(LinkCreate, {"id": "L", "from": "P", "to": "S", "length_m": 1.0})["splices"]
    0
    """
    plan = _plan(model)
    out = {**plan.constants, **element}
    for key in plan.fresh_lists:
        if key not in out:
            out[key] = []
    for key, inner in plan.nested:
        value = out.get(key)
        if isinstance(value, list):
            out[key] = [with_defaults(inner, v) for v in value]
        elif isinstance(value, dict):
            out[key] = with_defaults(inner, value)
    return out


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- pointers


def pointer(*tokens: str | int) -> str:
    """An RFC 6901 JSON pointer from its reference tokens.

    Examples
    --------
    >>> pointer("links", 3, "from")
    '/links/3/from'
    >>> pointer("defaults", "attenuation_db_per_km", "a/b~c")
    '/defaults/attenuation_db_per_km/a~1b~0c'
    """
    parts = []
    for token in tokens:
        text = str(token)
        if "~" in text or "/" in text:
            text = text.replace("~", "~0").replace("/", "~1")
        parts.append(text)
    return "/" + "/".join(parts) if parts else ""


def _raw_id(value: Any) -> str | None:
    if isinstance(value, dict):
        ident = value.get("id")
        if isinstance(ident, str) and ident:
            return ident
    return None


def _element_of(raw: dict[str, Any], loc: tuple[Any, ...]) -> str | None:
    """The id of the innermost element that ``loc`` points into."""
    found: str | None = None
    node: Any = raw
    for token in loc:
        try:
            node = node[token]
        except (KeyError, IndexError, TypeError):
            break
        found = _raw_id(node) or found
    return found


# --------------------------------------------------------------------------- limits, display

MAX_ID_CHARS: int = next(m.max_length for m in get_args(ElementId) if hasattr(m, "max_length"))
"""Longest id, in characters: ``ElementId``'s ``max_length`` (200), the one definition."""
MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects that :func:`parse_json` reads. A document nests 6
deep (document → olts → OLT → ports → port → olt_tx_dbm); orjson alone allows 1,024, and a
900-deep value was seen to pass it and fail later, in pydantic's serialisation (a 500)."""
MAX_JSON_STRING_CHARS = 100_000
"""Longest string or object key that :func:`parse_json` reads: generous (the longest field
of a document holds 300 characters), so only a value no field could hold is refused."""
MAX_JSON_INT = 2**63
"""Integers must lie in [−2⁶³, 2⁶³): what an SQLite INTEGER and a PostgreSQL bigint hold.
(orjson reads a larger integer literal as a float, as :func:`parse_json` does too.)"""
_SHOWN_CHARS = 80


def shown(value: Any, limit: int = _SHOWN_CHARS) -> str:
    """A value of a document as a message may echo it: its ``repr``, cut to about ``limit``
    characters, with its length when cut (a 2 MB id once took 8.8 s to print).

    Examples
    --------
    >>> shown("OLT-1/1/1")
    "'OLT-1/1/1'"
    >>> shown("a\\x00b")
    "'a\\\\x00b'"
    >>> shown("x" * 2_000_000, 10)
    "'xxxxxxxxxx'… (2,000,000 characters)"
    >>> shown([[1, 2], 3])
    'an array of 2 items'
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    if isinstance(value, list):
        return f"an array of {len(value):,} items"
    if isinstance(value, dict):
        return f"an object of {len(value):,} keys"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**limit:
        if value.bit_length() > 10_000:  # str() refuses past 4,300 digits (ValueError)
            return f"an integer of about {int(value.bit_length() * 0.30103) + 1:,} digits"
        return f"an integer of {len(str(abs(value))):,} digits"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def _safe_name(name: Any) -> str | None:
    """An element id or field name as a problem carries it: itself when it is a plausible
    id (a string of at most ``MAX_ID_CHARS`` printable characters), else its first 40
    characters, escaped, and its length (:func:`shown`)."""
    if name is None:
        return None
    if isinstance(name, str) and len(name) <= MAX_ID_CHARS and name.isprintable():
        return name
    return shown(name, 40)


def _text_fault(text: str) -> str | None:
    """What makes a string unstorable (a NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return "holds a NUL (\\u0000), which PostgreSQL cannot store in text"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "holds a lone surrogate, which is not Unicode text (nor storable)"
    return None


def _limit_fault(value: Any, depth: int, name: str, *, limits: bool) -> str | None:
    """What is wrong with one value of a JSON tree (``depth``: arrays and objects around
    it; ``name``: its key, for the message), or None. Without ``limits``, only the text
    rules (a NUL, a lone surrogate)."""
    kind = type(value)
    if kind is str:
        if limits and len(value) > MAX_JSON_STRING_CHARS:
            return (f"{name} is a string of {len(value):,} characters, longer than the limit "
                    f"of {MAX_JSON_STRING_CHARS:,}: {shown(value, 40)}")
        fault = _text_fault(value)
        return None if fault is None else f"{name} {shown(value, 40)} {fault}"
    if limits and kind in (list, dict) and depth >= MAX_JSON_DEPTH:
        return f"arrays and objects nest more than {MAX_JSON_DEPTH} deep here"
    if limits and kind is int and not -MAX_JSON_INT <= value < MAX_JSON_INT:
        return f"{shown(value)} is beyond the 64-bit integer range (±9.2e18)"
    return None


def _key_fault(key: Any, *, limits: bool) -> str | None:
    if not isinstance(key, str):
        return f"object key {shown(key)} is not a string"
    if limits and len(key) > MAX_JSON_STRING_CHARS:
        return (f"object key of {len(key):,} characters is longer than the limit of "
                f"{MAX_JSON_STRING_CHARS:,}: {shown(key, 40)}")
    fault = _text_fault(key)
    return None if fault is None else f"object key {shown(key, 40)} {fault}"


def _tree_ok(value: Any, *, limits: bool) -> bool:
    """True when no value of the tree breaks a rule: the fast pass, one level of arrays and
    objects at a time, with no pointers (hanoi.json, 103,577 values: about 20 ms);
    :func:`_tree_faults` says where."""
    texts: list[Any] = []  # strings and keys, checked together (a C pass) every 65,536
    kind = type(value)
    level = [value] if kind is dict or kind is list else []
    if kind is str:
        texts.append(value)
    elif kind is int and limits and not -MAX_JSON_INT <= value < MAX_JSON_INT:
        return False
    depth = 0  # arrays and objects around the containers of `level`
    add_text, add_texts = texts.append, texts.extend
    while level:
        if limits and depth >= MAX_JSON_DEPTH:
            return False
        below: list[Any] = []
        add_below = below.append
        for node in level:
            if type(node) is dict:
                add_texts(node)
                items = node.values()
            else:
                items = node
            for item in items:
                kind = type(item)
                if kind is str:
                    add_text(item)
                elif kind is dict or kind is list:
                    add_below(item)
                elif kind is int and limits and not -MAX_JSON_INT <= item < MAX_JSON_INT:
                    return False
            if len(texts) > 65_536:
                if not _texts_ok(texts, limits=limits):
                    return False
                texts.clear()
        level = below
        depth += 1
    return _texts_ok(texts, limits=limits)


def _texts_ok(texts: list[Any], *, limits: bool) -> bool:
    try:
        joined = "".join(texts)
    except TypeError:  # a key that is no string
        return False
    if limits and len(joined) > MAX_JSON_STRING_CHARS and (
        max(map(len, texts)) > MAX_JSON_STRING_CHARS
    ):
        return False
    return _text_fault(joined) is None


def _tree_faults(
    value: Any, prefix: tuple[str | int, ...], *, limits: bool
) -> Iterator[tuple[tuple[str | int, ...], str, str | None]]:
    """Every (tokens, message, field) where the tree breaks a rule, in document order.

    Iterative (no recursion limit). A bad key is reported at the object that holds it, so
    that no pointer carries the key, and what lies under it is not looked at.
    """
    stack: list[tuple[Any, tuple[str | int, ...], int, str | None]] = [(value, prefix, 0, None)]
    while stack:
        node, tokens, depth, field = stack.pop()
        fault = _limit_fault(node, depth, field if isinstance(field, str) else "value",
                             limits=limits)
        if fault is not None:
            yield tokens, fault, field
            continue
        if type(node) is dict:
            children = []
            for key, item in node.items():
                bad = _key_fault(key, limits=limits)
                if bad is not None:
                    yield tokens, bad, None
                else:
                    children.append((item, (*tokens, key), depth + 1, key))
            stack.extend(reversed(children))
        elif type(node) is list:
            stack.extend(
                (item, (*tokens, i), depth + 1, field)
                for i, item in reversed(list(enumerate(node)))
            )


def check_json_limits(value: Any, *, source: str) -> None:
    """Refuse a parsed JSON value that no request or document may hold, before it goes
    further: arrays and objects nested more than ``MAX_JSON_DEPTH`` deep, a string or key
    longer than ``MAX_JSON_STRING_CHARS``, a NUL or a lone surrogate in a string or key
    (PostgreSQL cannot store either, though SQLite stores a NUL), an integer beyond the
    64-bit range. :func:`parse_json` applies it; call it on a body parsed elsewhere.

    Iterative (any depth) and fast: about 20 ms on ``fixtures/hanoi.json`` (103,577
    values; orjson parses it in 19 ms).

    Parameters
    ----------
    value : Any
        The parsed value (dicts, lists, str, int, float, bool, None).
    source : str
        What it is, for the messages (``"request body"``).

    Raises
    ------
    DocumentError
        Every fault (the first ``DocumentError.MAX_SHOWN``), each with its JSON pointer
        into ``value`` (a bad key: the pointer of its object) and the id of the innermost
        object with an ``id`` around it (an element of a document).

    Examples
    --------
    >>> check_json_limits({"customer": "Factory A", "service": [1, 2.5, None]}, source="body")
    >>> check_json_limits({"c": "a\\x00b"}, source="body")
    Traceback (most recent call last):
    ...
    ponmodel.errors.DocumentError: invalid network document: 1 problem(s)
      /c: body: c 'a\\x00b' holds a NUL (\\u0000), which PostgreSQL cannot store in text
    >>> check_json_limits([[[[0]]]] * 2, source="body")  # nesting well within the limit
    """
    if _tree_ok(value, limits=True):
        return
    sink = _Problems()
    for tokens, message, field in _tree_faults(value, (), limits=True):
        sink.add(pointer(*tokens), f"{source}: {message}", _element_of(value, tokens), field)
    raise sink.error()


class _Problems:
    """The problems of one validation: the first ``DocumentError.MAX_SHOWN`` kept, every
    one counted. Once it is full, callers only count (``full``): no message is built for a
    problem nobody will see (500,000 empty ONTs: 2,000,000 problems)."""

    __slots__ = ("items", "total")

    def __init__(self) -> None:
        self.items: list[ElementError] = []
        self.total = 0

    @property
    def full(self) -> bool:
        return len(self.items) >= DocumentError.MAX_SHOWN

    def add(self, ptr: str, message: str, element_id: Any, field: Any) -> None:
        self.total += 1
        if len(self.items) < DocumentError.MAX_SHOWN:
            self.items.append(ElementError(ptr, message, _safe_name(element_id), _safe_name(field)))

    @property
    def more(self) -> int:
        return self.total - len(self.items)

    def count(self, n: int = 1) -> None:
        self.total += n

    def error(self) -> DocumentError:
        return DocumentError(self.items, self.total)


def _text_problems(value: Any, prefix: tuple[str | int, ...], raw: Any, sink: _Problems) -> None:
    """Every NUL and lone surrogate in the strings and keys of ``value``: checked before
    any other use of them, since SQLite would store what PostgreSQL cannot.

    The fast pass serialises the document in chunks with orjson and looks for ``\\u0000``
    (3 ms on hanoi.json); only a chunk that fails it (or that orjson cannot write) is
    walked value by value.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and isinstance(item, list) and len(item) > _CHUNK:
                scalar = {k: v for k, v in value.items() if k != key}
                _text_problems(scalar, prefix, raw, sink)  # the rest, then the big list
                for start in range(0, len(item), _CHUNK):
                    _text_chunk(item[start:start + _CHUNK], (*prefix, key), start, raw, sink)
                return
    _text_chunk(value, prefix, None, raw, sink)


_CHUNK = 10_000
"""Elements serialised at once by the text check's fast pass (bounds its memory)."""


def _text_chunk(
    value: Any, prefix: tuple[str | int, ...], start: int | None, raw: Any, sink: _Problems
) -> None:
    try:
        clean = b"\\u0000" not in orjson.dumps(value)  # orjson refuses lone surrogates
    except orjson.JSONEncodeError:
        clean = False
    if clean:
        return
    items = enumerate(value, start) if start is not None else [(None, value)]
    for index, item in items:
        tokens = prefix if index is None else (*prefix, index)
        for where, message, field in _tree_faults(item, tokens, limits=False):
            if sink.full:
                sink.count()
                continue
            sink.add(pointer(*where), message, _element_of(raw, where), field)


# --------------------------------------------------------------------------- parsing


def parse_json(data: bytes | str, *, source: str = "document") -> Any:
    """Parse JSON text; non-finite numbers (NaN, Infinity) parse so validation can name them.

    The value is then held to :func:`check_json_limits` (nesting, string length, NUL,
    integers), so that nothing past this point meets a value no document can hold. An
    integer literal beyond the 64-bit range is read as a float, as orjson reads it; one
    beyond the range of a float is refused.

    Raises
    ------
    DocumentError
        When the text is not JSON (with the line and column) or breaks a limit (with the
        JSON pointer); never another exception.

    Examples
    --------
    >>> parse_json(b'{"a": [1, NaN, 123456789012345678901]}')
    {'a': [1, nan, 1.2345678901234568e+20]}
    >>> try:
    ...     parse_json("[" * 65 + "]" * 65, source="body")
    ... except DocumentError as exc:
    ...     (problem,) = exc.problems
    ...     print(problem.pointer == "/0" * 64, problem.message)
    True body: arrays and objects nest more than 64 deep here
    """
    value = _parse(data, source)
    check_json_limits(value, source=source)
    return value


class _TooLarge(Exception):
    def __init__(self, digits: str) -> None:
        self.digits = digits


def _int_as_orjson_reads_it(digits: str) -> int | float:
    """An integer literal as orjson reads it: an int within 64 bits, else a float; one
    beyond a float's range is refused (Python's own ``int`` would raise ValueError past
    4,300 digits: a 5,000-digit integer was a 500 from the API and a traceback from the
    CLI)."""
    if len(digits) < 19:
        return int(digits)
    if len(digits) <= 21:
        number = int(digits)
        if -MAX_JSON_INT <= number < MAX_JSON_INT:
            return number
    as_float = float(digits)
    if as_float in (float("inf"), float("-inf")):
        raise _TooLarge(digits)
    return as_float


def _parse(data: bytes | str, source: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(data, parse_int=_int_as_orjson_reads_it)
    except _TooLarge as exc:
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        at = max(text.find(exc.digits), 0)
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        msg = (f"{source} holds an integer of {len(exc.digits.lstrip('-')):,} digits at line "
               f"{line}, column {column}, beyond the range of a JSON number (±1.8e308)")
        raise DocumentError([ElementError("", msg)]) from None
    except json.JSONDecodeError as exc:
        # the standard library says "Unterminated string starting at": no second "at"
        words = exc.msg.removesuffix(" at")
        msg = f"{source} is not valid JSON: {words} at line {exc.lineno}, column {exc.colno}"
        raise DocumentError([ElementError("", msg)]) from None
    except UnicodeDecodeError as exc:
        msg = f"{source} is not UTF-8 text: byte {exc.start} cannot be decoded ({exc.reason})"
        raise DocumentError([ElementError("", msg)]) from None
    except RecursionError:
        msg = f"{source} nests arrays or objects too deeply (more than {MAX_JSON_DEPTH} levels)"
        raise DocumentError([ElementError("", msg)]) from None


def read_document(path: str | Path) -> Document:
    """Read and validate a ``ponmodel/1`` file.

    Raises
    ------
    DocumentError
        Listing every problem, each with element id and JSON pointer.
    """
    data = Path(path).read_bytes()
    with gc_paused():
        return load_document(parse_json(data, source=str(path)))


def load_document(raw: Any) -> Document:
    """Validate a parsed document; return it with every optional key filled in.

    Raises
    ------
    DocumentError
        Listing every problem at once (the first ``DocumentError.MAX_SHOWN``, and how many
        there are in all).
    """
    with gc_paused():
        problems, doc = _validate(raw)
    if problems.total:
        raise problems.error()
    return doc


def validate_document(raw: Any) -> list[ElementError]:
    """The problems of a parsed document (empty when it is valid): the first
    ``DocumentError.MAX_SHOWN`` of them (:func:`load_document`'s error counts them all)."""
    with gc_paused():
        return _validate(raw)[0].items


def validate_region(raw: dict[str, Any], known: dict[str, str]
                    ) -> tuple[list[ElementError], int, Document]:
    """The problems of part of a network: ``raw`` holds some of its elements (a change and
    what it touches), ``known`` the id → kind of the network's other elements that they may
    refer to.

    Every rule runs as :func:`validate_document` runs it, with the ids of ``known`` taken
    as existing: a reference to one of them resolves (to its kind), and nothing else is
    said of them. A rule that needs elements the part leaves out skips them (a cable's
    route through a duct outside it, an innerduct whose duct is outside it), and a splitter
    or ONT of the part is reached when its chain of links to a port lies in the part. A
    caller that puts in every element the rules could newly fault, with the links a rule
    counts around each, gets exactly the problems a validation of the whole network would
    give (:mod:`ponmodel.changes` does; ``tests/ponmodel/test_changes_check.py`` proves it).

    Returns
    -------
    (list of ElementError, int, Document)
        The first ``DocumentError.MAX_SHOWN`` problems (pointers into ``raw``), how many
        there are in all, and the part's valid elements with their optional keys filled in.

    Examples
    --------
    >>> part = {"format": "ponmodel/1", "onts": [{"id": "N9", "structure": "B1",
    ...         "kind": "enterprise", "service": {"down": {"max_mbps": 100},
    ...         "up": {"max_mbps": 100}}}],
    ...         "links": [{"id": "L9", "from": "S1", "to": "N9", "length_m": 80}]}
    >>> problems, total, _ = validate_region(part, {"B1": "structure", "S1": "splitter"})
    >>> total, problems[0].message
    (1, "ont 'N9' is not reached from any PON port")
    """
    with gc_paused():
        problems, doc = _validate(raw, known)
    return problems.items, problems.total, doc


def _validate(raw: Any, known: dict[str, str] | None = None) -> tuple[_Problems, Document]:
    problems = _Problems()
    if not isinstance(raw, dict):
        problems.add("", "a network document must be a JSON object", None, None)
        return problems, {}
    _text_problems(raw, (), raw, problems)  # first: before any other use of a string
    allowed = f" (allowed: {', '.join(TOP_LEVEL_KEYS)})"
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            _unknown_key(problems, (), key, raw, allowed)
    if raw.get("format") != FORMAT:
        got = shown(raw.get("format"))
        problems.add(pointer("format"), f"format must be {FORMAT!r}, got {got}", None, None)
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        problems.add(pointer("name"), "name must be a string or null", None, None)
    doc: Document = {"format": FORMAT, "name": name}
    defaults = raw.get("defaults")
    doc["defaults"] = None
    if defaults is not None:
        valid = _check_shape([defaults], NetworkDefaults, ("defaults",), raw, problems,
                             single=True)
        doc["defaults"] = valid[0][1] if valid else None
    valid_by_collection: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for key, model in COLLECTIONS.items():
        items = raw.get(key, [])
        if not isinstance(items, list):
            problems.add(pointer(key), f"{key} must be a list", None, None)
            items = []
        valid = _check_shape(items, model, (key,), raw, problems)
        valid = [(index, with_defaults(model, element)) for index, element in valid]
        valid_by_collection[key] = valid
        doc[key] = [element for _, element in valid]
    _check_meaning(raw, valid_by_collection, problems, known)
    return problems, doc


def validate_element(key: str, element: Any, known: dict[str, str]) -> dict[str, Any]:
    """One element outside a document, as an edit sends it: its fields and the rules on its
    own values and references; return it with its optional keys filled in.

    Parameters
    ----------
    key : str
        Its collection, e.g. ``"onts"``.
    element : Any
        The parsed element (its ``id`` included).
    known : dict of str to str
        Id → kind of the stored elements it may refer to (an id missing here does not
        exist).

    Raises
    ------
    DocumentError
        Every problem, with JSON pointers relative to the element (``/service/up/max_mbps``).

    Examples
    --------
    >>> ont = {"id": "N1", "structure": "B9", "kind": "enterprise",
    ...        "service": {"down": {"max_mbps": 100}, "up": {"max_mbps": 100}}}
    >>> validate_element("onts", ont, {"B1": "structure"})
    Traceback (most recent call last):
    ...
    ponmodel.errors.DocumentError: invalid network document: 1 problem(s)
      /structure: N1: structure refers to 'B9', which does not exist
    """
    model = COLLECTIONS[key]
    raw = {key: [element]}
    problems = _Problems()
    _text_problems(element, (), element, problems)  # first: before any other use of a string
    valid = _check_shape([element], model, (), raw, problems, single=True)
    if valid:
        valid_by: dict[str, list[tuple[int, dict[str, Any]]]] = {k: [] for k in COLLECTIONS}
        valid_by[key] = [(0, with_defaults(model, valid[0][1]))]
        checker = _Checker(raw, valid_by, _Problems())
        checker.kind_of.update(known)
        checker.kind_of[element["id"]] = KIND_OF_COLLECTION[key]
        checker.check_references()
        checker.check_values()
        prefix = pointer(key, 0)
        for p in checker.problems.items:
            problems.add(p.pointer.removeprefix(prefix), p.message, p.element_id, p.field)
        problems.count(checker.problems.more)
    if problems.total:
        ident = _safe_name(element.get("id") if isinstance(element, dict) else None)
        raise DocumentError([
            p if p.element_id else ElementError(p.pointer, p.message, ident, p.field)
            for p in problems.items
        ], problems.total)
    return valid_by[key][0][1]


def _check_shape(
    items: list[Any],
    model: type[BaseModel],
    prefix: tuple[str, ...],
    raw: dict[str, Any],
    problems: _Problems,
    *,
    single: bool = False,
) -> list[tuple[int, dict[str, Any]]]:
    """Validate ``items`` against ``model``, adding to ``problems``; return (index, element)
    of the valid ones.

    The whole list goes to pydantic at once: the fast path when it is valid, and the way
    when its problems fit in what ``problems`` still keeps. Past that, element by element,
    and an element's problems past the cap are only counted (500,000 empty ONTs, 2,000,000
    problems: formatting them all took 20 s).
    """
    adapter = _adapter(model)
    try:
        return list(enumerate(adapter.validate_python(items)))
    except ValidationError as exc:
        if exc.error_count() > DocumentError.MAX_SHOWN - len(problems.items):
            return _check_each(items, model, prefix, raw, problems, single=single)
        errors = exc.errors(include_url=False, include_input=False)
    bad: set[int] = set()
    for err in errors:
        loc = tuple(err["loc"])
        if loc and isinstance(loc[0], int):
            bad.add(loc[0])
        _shape_problem(err, loc[1:] if single else loc, prefix, raw, problems)
    good = [(i, v) for i, v in enumerate(items) if i not in bad]
    if not good:
        return []
    try:
        checked = adapter.validate_python([v for _, v in good])
    except ValidationError:  # pragma: no cover - the bad ones were all removed above
        return []
    return [(i, v) for (i, _), v in zip(good, checked, strict=True)]


def _check_each(
    items: list[Any],
    model: type[BaseModel],
    prefix: tuple[str, ...],
    raw: dict[str, Any],
    problems: _Problems,
    *,
    single: bool,
) -> list[tuple[int, dict[str, Any]]]:
    one = _item_adapter(model)
    valid = []
    for index, item in enumerate(items):
        try:
            valid.append((index, one.validate_python(item)))
        except ValidationError as exc:
            if problems.full:
                problems.count(exc.error_count())
                continue
            for err in exc.errors(include_url=False, include_input=False):
                loc = tuple(err["loc"])
                _shape_problem(err, loc if single else (index, *loc), prefix, raw, problems)
    return valid


@cache
def _item_adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(_typed_dict_of(model))


def _shape_problem(
    err: Any, loc: tuple[Any, ...], prefix: tuple[str, ...], raw: dict[str, Any],
    problems: _Problems,
) -> None:
    """One pydantic error as a problem (``loc``: its tokens below ``prefix``)."""
    if problems.full:
        problems.count()
        return
    tokens = prefix + loc
    if err["type"] == "extra_forbidden":
        _unknown_key(problems, tokens[:-1], tokens[-1], raw, field=True)
        return
    if err["type"] == "string_unicode":
        return  # a lone surrogate: the text check has reported it
    field = next((t for t in reversed(loc) if isinstance(t, str)), None)
    if err["type"] == "string_too_long":
        value = _value_at(raw, tokens)
        length = len(value) if isinstance(value, str) else 0
        message = (f"must be at most {err['ctx']['max_length']} characters, got "
                   f"{length:,}: {shown(value, 40)}")
    elif err["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        # the rule, then the value given (read back from the document, shown cut)
        value = _value_at(raw, tokens)
        given = value if isinstance(value, int | float) and not isinstance(value, bool) \
            else shown(value, 40)
        message = range_words({**err, "input": given}) or _message(err)
    else:
        message = _message(err)
    bad = next((t for t in tokens if not _plain_key(t)), None)
    if bad is not None:  # a map's key (attenuation_db_per_km) no pointer should carry
        if _text_fault(bad) is not None:
            return  # the text check has reported it
        tokens, field = tokens[: tokens.index(bad)], None
        message = f"key {shown(bad)}: {message}"
    problems.add(pointer(*tokens), message, _element_of(raw, tokens), field)


def _plain_key(token: Any) -> bool:
    """Whether a pointer may carry ``token`` as it is (not over-long, printable)."""
    return not isinstance(token, str) or (len(token) <= MAX_ID_CHARS and token.isprintable())


def _unknown_key(
    problems: _Problems, tokens: tuple[Any, ...], key: Any, raw: Any, allowed: str = "",
    *, field: bool = False,
) -> None:
    """An unknown key; one no pointer should carry (over-long, unprintable) is reported at
    its object, and one with a NUL or a lone surrogate is left to the text check."""
    if isinstance(key, str) and _text_fault(key) is not None:
        return  # the text check has reported it
    where = (*tokens, key) if isinstance(key, str) and _plain_key(key) else tokens
    problems.add(pointer(*where), f"unknown key {shown(key)}{allowed}",
                 _element_of(raw, where), key if field else None)


def _value_at(raw: Any, tokens: tuple[Any, ...]) -> Any:
    node = raw
    for token in tokens:
        try:
            node = node[token]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return f"required field {shown(err['loc'][-1])} is missing"
    if kind == "finite_number":
        return "must be a finite number (NaN and infinities are not allowed)"
    return range_words(err) or str(err["msg"])


# --------------------------------------------------------------------------- meaning


_REFERENCES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "structures": (("zone", ("zone",)),),
    "ducts": (
        ("from", ("structure",)),
        ("to", ("structure",)),
        ("owner", ("operator",)),
        ("within", ("duct",)),
    ),
    "cables": (("operator", ("operator",)), ("ducts", ("duct",))),
    "olts": (("operator", ("operator",)), ("structure", ("structure",))),
    "splitters": (("structure", ("structure",)),),
    "onts": (("structure", ("structure",)),),
    "links": (("to", ("splitter", "ont")), ("cables", ("cable",))),
    "sites": (
        ("zone", ("zone",)),
        ("operator", ("operator",)),
        ("structure", ("structure",)),
        ("backhaul_ont", ("ont",)),
    ),
}
"""Collection → (field, kinds it may refer to); a link's ``from`` is checked on its own."""
_LIST_REFERENCES = frozenset({"ducts", "cables"})
"""Fields holding a list of references (a cable's route, a link's cables)."""


def route_breaks(route: list[str], ends: dict[str, tuple[str, str]]) -> list[int]:
    """Positions ``i`` of a cable route where duct ``i`` shares no structure with duct
    ``i − 1`` (ducts missing from ``ends`` are skipped: they are reported elsewhere).

    Examples
    --------
    >>> route_breaks(["D1", "D2", "D3"], {"D1": ("A", "B"), "D2": ("B", "C"), "D3": ("X", "Y")})
    [2]
    """
    breaks = []
    for i in range(1, len(route)):
        a, b = ends.get(route[i - 1]), ends.get(route[i])
        if a is not None and b is not None and not set(a) & set(b):
            breaks.append(i)
    return breaks


class _Checker:
    """The second pass: rules that involve more than one field or element."""

    def __init__(
        self,
        raw: dict[str, Any],
        valid: dict[str, list[tuple[int, dict[str, Any]]]],
        problems: _Problems,
    ) -> None:
        self.raw = raw
        self.valid = valid
        self.problems = problems
        self.kind_of: dict[str, str] = {}
        self.where: dict[str, tuple[str | int, ...]] = {}

    def add(self, ptr: str, message: str, element_id: str | None, field: str | None) -> None:
        self.problems.add(ptr, message, element_id, field)

    def counted(self, n: int = 1) -> bool:
        """True (and ``n`` problems counted) when no more are kept: the caller then builds
        no message (rules that may fire once per element check this first)."""
        if self.problems.full:
            self.problems.count(n)
            return True
        return False

    def elements(self, key: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for index, element in self.valid[key]:
            yield f"/{key}/{index}", element

    def raw_elements(self, key: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every element of a collection that is an object, valid in its fields or not:
        a reference is checked even when another field of its element is wrong."""
        items = self.raw.get(key)
        for index, element in enumerate(items if isinstance(items, list) else []):
            if isinstance(element, dict):
                yield f"/{key}/{index}", element

    # ids ------------------------------------------------------------------
    def register_ids(self) -> None:
        kind_of = self.kind_of
        for key, kind in KIND_OF_COLLECTION.items():
            items = self.raw.get(key)
            if not isinstance(items, list):
                continue
            for index, element in enumerate(items):
                ident = element.get("id") if isinstance(element, dict) else None
                if not isinstance(ident, str) or not ident:
                    continue
                if ident in kind_of:
                    self._duplicate(ident, (key, index))
                else:
                    kind_of[ident] = kind
                    self.where[ident] = (key, index)
                if key == "olts":
                    ports = element.get("ports")
                    for j, port in enumerate(ports if isinstance(ports, list) else []):
                        port_id = _raw_id(port)
                        if port_id is None:
                            continue
                        if port_id in kind_of:
                            self._duplicate(port_id, (key, index, "ports", j))
                        else:
                            kind_of[port_id] = "port"
                            self.where[port_id] = (key, index, "ports", j)

    def _duplicate(self, ident: str, tokens: tuple[str | int, ...]) -> None:
        if self.counted():
            return
        first = pointer(*self.where[ident])
        self.add(
            pointer(*tokens, "id"),
            f"id {shown(ident)} is already used by the {self.kind_of[ident]} at {first}",
            ident,
            "id",
        )

    # references ------------------------------------------------------------
    def bad_reference(
        self,
        tokens: tuple[str | int, ...],
        owner: Any,
        field: str,
        target: str,
        kinds: tuple[str, ...],
    ) -> None:
        """Report a reference that does not resolve to one of ``kinds``."""
        if self.counted():
            return
        found = self.kind_of.get(target)
        if found is None:
            message = f"{field} refers to {shown(target)}, which does not exist"
        else:
            wanted = " or ".join(kinds)
            message = f"{field} refers to {shown(target)}, which is a {found}, not a {wanted}"
        self.add(pointer(*tokens), message, owner if isinstance(owner, str) else None, field)

    def check_references(self) -> None:
        kind_of = self.kind_of
        for key, fields in _REFERENCES.items():
            items = self.raw.get(key)
            for index, element in enumerate(items if isinstance(items, list) else []):
                if not isinstance(element, dict):
                    continue
                for field, kinds in fields:
                    target = element.get(field)
                    if target is None:
                        continue
                    if isinstance(target, str):
                        if kind_of.get(target) not in kinds:
                            self.bad_reference(
                                (key, index, field), element.get("id"), field, target, kinds
                            )
                    elif field in _LIST_REFERENCES and isinstance(target, list):
                        self._reference_list((key, index, field), element, target, kinds)
        links = self.raw.get("links")
        for index, link in enumerate(links if isinstance(links, list) else []):
            source = link.get("from") if isinstance(link, dict) else None
            if not isinstance(source, str):
                continue
            found = kind_of.get(source)
            if found == "ont":
                self.add(
                    pointer("links", index, "from"),
                    f"a link cannot leave an ONT ({shown(source)}); ONTs are leaves of the PON "
                    "tree",
                    _raw_id(link),
                    "from",
                )
            elif found not in ("port", "splitter"):
                self.bad_reference(
                    ("links", index, "from"), link.get("id"), "from", source, ("port", "splitter")
                )

    def _reference_list(
        self,
        tokens: tuple[str | int, ...],
        element: dict[str, Any],
        targets: list[Any],
        kinds: tuple[str, ...],
    ) -> None:
        """A list of references (a cable's route, a link's cables): an id that does not
        resolve is reported once, at its first position; ids named more than once make one
        problem for the list, at the first repetition (a probe's route named one duct
        10,000 times: 10,000 problems before)."""
        kind_of = self.kind_of
        field = str(tokens[-1])
        seen: set[str] = set()
        repeated: dict[str, int] = {}  # id → its first repeated position
        for i, item in enumerate(targets):
            if not isinstance(item, str):
                continue
            if item in seen:
                repeated.setdefault(item, i)
                continue
            seen.add(item)
            if kind_of.get(item) not in kinds:
                self.bad_reference((*tokens, i), element.get("id"), field, item, kinds)
        if not repeated or self.counted():
            return
        kind = kinds[0]
        what = f"{kind}{'s' if len(repeated) > 1 else ''} {_names(repeated)}"
        message = {
            "duct": f"the route names {what} more than once; a cable passes through a duct "
                    "once (a route is a path of distinct ducts)",
            "cable": f"cables names {what} more than once; each cable that carries the link "
                     "is listed once",
        }[kind]
        self.add(pointer(*tokens, min(repeated.values())), message, element.get("id"), field)

    # values that involve several fields ---------------------------------------
    def check_values(self) -> None:
        for ptr, ont in self.elements("onts"):
            for direction in ("down", "up"):
                svc = ont["service"][direction]
                fixed = svc.get("fixed_mbps", 0.0)
                assured = svc.get("assured_mbps", 0.0)
                if svc["max_mbps"] < fixed + assured:
                    self.add(
                        ptr + pointer("service", direction, "max_mbps"),
                        f"max_mbps ({svc['max_mbps']:g}) is below fixed_mbps + assured_mbps "
                        f"({fixed:g} + {assured:g})",
                        ont["id"],
                        "max_mbps",
                    )
            self._power_range(ptr, ont["id"], ont.get("onu_tx_dbm"), "onu_tx_dbm")
        for ptr, olt in self.elements("olts"):
            for j, port in enumerate(olt.get("ports", [])):
                port_ptr = ptr + pointer("ports", j)
                self._power_range(port_ptr, port["id"], port.get("olt_tx_dbm"), "olt_tx_dbm")
                try:
                    allowed = classes_for(port["technology"])
                except CatalogError as exc:  # pragma: no cover - Literal already restricts
                    self.add(port_ptr + "/technology", str(exc), port["id"], "technology")
                    continue
                if port["optics_class"] not in allowed:
                    self.add(
                        port_ptr + "/optics_class",
                        f"optics class {shown(port['optics_class'])} does not belong to "
                        f"{port['technology']} (allowed: {', '.join(allowed)})",
                        port["id"],
                        "optics_class",
                    )

    def _power_range(self, ptr: str, owner: str, rng: dict[str, float] | None, field: str) -> None:
        if rng is not None and rng["min"] > rng["max"]:
            self.add(
                ptr + pointer(field),
                f"{field}: min ({rng['min']:g} dBm) is above max ({rng['max']:g} dBm)",
                owner,
                field,
            )

    # ducts and cables -------------------------------------------------------
    def check_ducts(self) -> None:
        ducts = {d["id"]: (ptr, d) for ptr, d in self.elements("ducts")}
        for ptr, duct in ducts.values():
            if duct["from"] == duct["to"] and not self.counted():
                self.add(
                    ptr + "/to",
                    f"duct runs from structure {shown(duct['from'])} to itself; a duct joins "
                    "two different structures",
                    duct["id"],
                    "to",
                )
        for ptr, duct in ducts.values():
            within = duct.get("within")
            if within is None:
                continue
            if duct.get("outer_diameter_mm") is None:
                self.add(
                    ptr + "/outer_diameter_mm",
                    "outer_diameter_mm is required for an innerduct (within is set)",
                    duct["id"],
                    "outer_diameter_mm",
                )
            host = ducts.get(within)
            if host is None:
                continue
            outer = duct.get("outer_diameter_mm")
            if outer is not None and outer > host[1]["inner_diameter_mm"]:
                self.add(
                    ptr + "/outer_diameter_mm",
                    f"innerduct outer diameter {outer:g} mm is wider than the inner diameter "
                    f"{host[1]['inner_diameter_mm']:g} mm of duct {shown(within)}",
                    duct["id"],
                    "outer_diameter_mm",
                )
            if {duct["from"], duct["to"]} != {host[1]["from"], host[1]["to"]}:
                self.add(
                    ptr + "/from",
                    f"innerduct runs {shown(duct['from'])}–{shown(duct['to'])} but its duct "
                    f"{shown(within)} runs {shown(host[1]['from'])}–{shown(host[1]['to'])}",
                    duct["id"],
                    "from",
                )
        # an innerduct chain must end in a duct: no cycle through `within`
        for ident, (ptr, duct) in ducts.items():
            seen = {ident}
            current = duct.get("within")
            while current is not None and current in ducts:
                if current in seen:
                    self.add(ptr + "/within", "innerducts nest in a cycle", ident, "within")
                    break
                seen.add(current)
                current = ducts[current][1].get("within")
        ends = {ident: (d["from"], d["to"]) for ident, (_, d) in ducts.items()}
        for ptr, cable in self.elements("cables"):
            route = cable["ducts"]
            for i in route_breaks(route, ends):
                self.add(
                    ptr + pointer("ducts", i),
                    f"consecutive ducts {shown(route[i - 1])} and {shown(route[i])} share no "
                    "structure",
                    cable["id"],
                    "ducts",
                )

    # the PON forest ---------------------------------------------------------
    def check_forest(self) -> None:
        incoming: dict[str, list[tuple[str, str]]] = defaultdict(list)
        outgoing: dict[str, list[tuple[str, str]]] = defaultdict(list)
        children: dict[str, list[str]] = defaultdict(list)
        parent_of: dict[str, str] = {}
        for ptr, link in self.forest_links():
            children[link["from"]].append(link["to"])
            parent_of.setdefault(link["to"], link["from"])
            incoming[link["to"]].append((ptr, link["id"]))
            outgoing[link["from"]].append((ptr, link["id"]))
        for target, links in incoming.items():
            for ptr, ident in links[1:]:
                if self.counted():
                    continue
                self.add(
                    ptr + "/to",
                    f"{self.kind_of.get(target, 'element')} {shown(target)} is fed by more than "
                    f"one link ({_names(i for _, i in links)})",
                    ident,
                    "to",
                )
        for ptr, olt in self.elements("olts"):
            for j, port in enumerate(olt.get("ports", [])):
                links = outgoing.get(port["id"], [])
                if len(links) > 1:
                    self.add(
                        ptr + pointer("ports", j),
                        f"PON port {shown(port['id'])} has {len(links)} outgoing links "
                        f"({_names(i for _, i in links)}); a port feeds one fibre, "
                        "splitting happens in splitters",
                        port["id"],
                        None,
                    )
        legs = {link["id"]: link.get("leg") for _, link in self.elements("links")}
        taps = set()
        for ptr, splitter in self.elements("splitters"):
            links = outgoing.get(splitter["id"], [])
            if splitter.get("through_percent") is not None:
                taps.add(splitter["id"])
                if splitter["ratio"] != 2:
                    self.add(
                        ptr + "/ratio",
                        "a tap splitter (through_percent set) has ratio 2, "
                        f"not {splitter['ratio']}",
                        splitter["id"],
                        "ratio",
                    )
                seen_legs: dict[str, str] = {}
                for link_ptr, link_id in links:
                    leg = legs.get(link_id)
                    if leg is None:
                        self.add(
                            link_ptr + "/leg",
                            f"link leaves tap splitter {shown(splitter['id'])}: leg must be "
                            "'through' or 'tap'",
                            link_id,
                            "leg",
                        )
                    elif leg in seen_legs:
                        self.add(
                            link_ptr + "/leg",
                            f"the {leg} leg of tap splitter {shown(splitter['id'])} already feeds "
                            f"{shown(seen_legs[leg])}",
                            link_id,
                            "leg",
                        )
                    else:
                        seen_legs[leg] = link_id
            if len(links) > splitter["ratio"]:
                self.add(
                    ptr + "/ratio",
                    f"splitter 1:{splitter['ratio']} has {len(links)} outgoing links",
                    splitter["id"],
                    "ratio",
                )
        for ptr, link in self.elements("links"):
            if link.get("leg") is not None and link["from"] not in taps:
                self.add(
                    ptr + "/leg",
                    f"leg is only for links leaving a tap splitter; {shown(link['from'])} is not "
                    "one",
                    link["id"],
                    "leg",
                )
        # reachability from the ports, and cycles (a cycle is never reached from a port,
        # since every node of it already has its one incoming link inside the cycle)
        reached: set[str] = set()
        stack = [p["id"] for _, olt in self.elements("olts") for p in olt.get("ports", [])]
        while stack:
            node = stack.pop()
            for child in children.get(node, []):
                if child not in reached:
                    reached.add(child)
                    stack.append(child)
        for key in ("splitters", "onts"):
            for ptr, element in self.elements(key):
                ident = element["id"]
                if ident in reached or self.counted():
                    continue
                if self._in_cycle(ident, parent_of):
                    message = f"{KIND_OF_COLLECTION[key]} {shown(ident)} lies on a cycle of links"
                else:
                    message = (
                        f"{KIND_OF_COLLECTION[key]} {shown(ident)} is not reached from any PON port"
                    )
                self.add(ptr, message, ident, None)

    def forest_links(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every link whose id and ends are strings, valid in its other fields or not: a
        link with a bad length still joins the tree, so its ONT is not reported unreached."""
        for ptr, link in self.raw_elements("links"):
            if all(isinstance(link.get(k), str) for k in ("id", "from", "to")):
                yield ptr, link

    @staticmethod
    def _in_cycle(start: str, parent_of: dict[str, str]) -> bool:
        seen = {start}
        node = parent_of.get(start)
        while node is not None:
            if node == start:
                return True
            if node in seen:
                return False
            seen.add(node)
            node = parent_of.get(node)
        return False


def _check_meaning(
    raw: dict[str, Any], valid: dict[str, list[tuple[int, dict[str, Any]]]], problems: _Problems,
    known: dict[str, str] | None = None,
) -> None:
    checker = _Checker(raw, valid, problems)
    checker.register_ids()
    for ident, kind in (known or {}).items():  # elements outside a region: they exist
        checker.kind_of.setdefault(ident, kind)
    checker.check_references()
    checker.check_values()
    checker.check_ducts()
    checker.check_forest()


def _names(ids: Any, most: int = 5) -> str:
    """Ids for a message: the first ``most``, each :func:`shown`, then how many more.

    Examples
    --------
    >>> _names(["A", "B"])
    "'A', 'B'"
    >>> _names(f"L{i}" for i in range(8))
    "'L0', 'L1', 'L2', 'L3', 'L4' and 3 more"
    """
    listed = list(ids)
    text = ", ".join(shown(i) for i in listed[:most])
    return text if len(listed) <= most else f"{text} and {len(listed) - most:,} more"


# --------------------------------------------------------------------------- writing


def dump_document(doc: Document, path: str | Path | None = None, *, indent: bool = True) -> bytes:
    """Serialise a document to UTF-8 JSON bytes (and write them to ``path`` when given).

    Examples
    --------
    >>> dump_document({"format": "ponmodel/1"}, indent=False)
    b'{"format":"ponmodel/1"}'
    """
    option = orjson.OPT_INDENT_2 if indent else 0
    data = orjson.dumps(doc, option=option)
    if path is not None:
        Path(path).write_bytes(data)
    return data


def canonical(doc: Document) -> Document:
    """A comparable form: every collection sorted by id, ports sorted by id.

    Import → export → import is an identity up to this form (element order is not kept).
    """
    out: Document = {k: doc.get(k) for k in ("format", "name", "defaults")}
    for key in COLLECTIONS:
        items = sorted(doc.get(key, []), key=lambda e: e["id"])
        if key == "olts":
            items = [{**o, "ports": sorted(o["ports"], key=lambda p: p["id"])} for o in items]
        out[key] = items
    return out


# --------------------------------------------------------------------------- field reference


def field_reference_markdown() -> str:
    """A documentation page for every field of ``ponmodel/1``, generated from the models.

    ``docs/network-document.md`` is this text; a test keeps the two equal.
    """
    schema = json_schema()
    defs = schema.get("$defs", {})
    lines = [
        "# `ponmodel/1` field reference",
        "",
        "Generated from the models by `ponmodel schema --markdown` (do not edit by hand).",
        "Units are in the field names: `_m` metres, `_mm` millimetres, `_db` decibels,",
        "`_dbm` dBm, `_mbps` Mbit/s, `_gbps` Gbit/s, `_db_per_km` dB/km. The contract is",
        "`../shared/spec/network-document.md`; this page adds each field's type, default,",
        "constraints and meaning. JSON Schema: `ponmodel/schema/ponmodel-1.schema.json`.",
        "",
    ]

    def describe(name: str, body: dict[str, Any]) -> None:
        lines.append(f"## {name}")
        lines.append("")
        if body.get("description"):
            lines.extend([body["description"].strip().splitlines()[0], ""])
        lines.append("| field | type | required | default | constraints | meaning |")
        lines.append("|---|---|---|---|---|---|")
        required = set(body.get("required", []))
        for field, prop in body.get("properties", {}).items():
            lines.append(
                f"| `{field}` | {_type_of(prop)} | {'yes' if field in required else 'no'} | "
                f"{_default_of(prop, field in required)} | {_constraints_of(prop)} | "
                f"{(prop.get('description') or '').replace('|', '/')} |"
            )
        lines.append("")

    describe("Document (top level)", schema)
    for name in sorted(defs):
        describe(name, defs[name])
    lines.extend(_additions_markdown())
    return "\n".join(lines)


def _additions_markdown() -> list[str]:
    """ponmodel's rules beyond the spec, which is silent on them (part of the field page)."""
    return [
        "## ponmodel's additions to what makes a document invalid",
        "",
        "The spec (`../shared/spec/network-document.md`) is silent on these; ponmodel refuses",
        "them, each reported like every other problem, with the element's id and a JSON",
        "pointer:",
        "",
        "- a **NUL** (`\\u0000`) or a **lone surrogate** (`\\ud800`) in any string or object",
        "  key: PostgreSQL cannot store either in text (\"text fields cannot contain NUL\"),",
        "  and SQLite would store a NUL that PostgreSQL then refuses; a document one database",
        "  holds must be one both hold. A bad key is reported at the object that holds it.",
        f"- an **id or reference longer than {MAX_ID_CHARS} characters** (`length ≤ "
        f"{MAX_ID_CHARS}` above). A",
        "  message that echoes a value shows at most its first 40 to 80 characters and its",
        "  length, and an invalid id is given in that form as the problem's element id.",
        "- a **duct from a structure to itself** (`from` equal to `to`): a duct joins two",
        "  different structures.",
        "- a **cable route that names a duct more than once** (`cables[].ducts`): a cable",
        "  passes through a duct once, its route is a path of distinct ducts (duct fill counts",
        "  a cable once per duct, so a repeat would be silently ignored). One problem per",
        "  cable, naming the repeated ducts, at the first repeated position.",
        "- a **link's `cables` that names a cable more than once**: they are the cables that",
        "  carry the link, each once (the same rule and report).",
        "",
        "A reference list (`ducts`, `cables`) that names a missing id several times reports it",
        "once, at its first position.",
        "",
        "Reading JSON (`ponmodel validate` and `import`, `POST /import`), before validation:",
        f"arrays and objects nested more than {MAX_JSON_DEPTH} deep, a string or key longer "
        f"than {MAX_JSON_STRING_CHARS:,}",
        "characters, a NUL or lone surrogate, and an integer beyond the range of a float",
        "(±1.8e308) are refused (an integer beyond 64 bits is read as a float, as orjson",
        "reads it); so is text that is not UTF-8 or not JSON. `check_json_limits` applies",
        "the same limits (and integers within 64 bits) to any parsed value.",
        "",
        f"An invalid document reports its first {DocumentError.MAX_SHOWN:,} problems and how "
        "many it has in all",
        "(`total` in the CLI's `--json`, `total_errors` in the API's 422 response).",
        "",
    ]


def _type_of(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return f"[{prop['$ref'].rsplit('/', 1)[-1]}](#{prop['$ref'].rsplit('/', 1)[-1].lower()})"
    if "anyOf" in prop:
        return " or ".join(_type_of(p) for p in prop["anyOf"])
    if "enum" in prop:
        return " / ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if prop.get("type") == "array":
        return f"list of {_type_of(prop.get('items', {}))}"
    if prop.get("type") == "object" and "additionalProperties" in prop:
        keys = prop.get("propertyNames", {}).get("enum")
        inner = _type_of(prop["additionalProperties"])
        return f"map {'/'.join(keys) if keys else 'string'} → {inner}"
    return str(prop.get("type", "any"))


def _default_of(prop: dict[str, Any], required: bool) -> str:
    if required or "default" not in prop:
        return ""
    return f"`{json.dumps(prop['default'])}`"


def _constraints_of(prop: dict[str, Any]) -> str:
    names = {
        "exclusiveMinimum": "> ",
        "minimum": "≥ ",
        "exclusiveMaximum": "< ",
        "maximum": "≤ ",
        "minLength": "length ≥ ",
        "maxLength": "length ≤ ",
    }
    found = [f"{label}{prop[key]}" for key, label in names.items() if key in prop]
    for option in prop.get("anyOf", []):
        found.extend(f"{label}{option[key]}" for key, label in names.items() if key in option)
    return ", ".join(found)
