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
from ponmodel.catalog import CatalogError, classes_for
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
from ponmodel.errors import DocumentError, ElementError

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


# --------------------------------------------------------------------------- parsing


def parse_json(data: bytes | str, *, source: str = "document") -> Any:
    """Parse JSON text; non-finite numbers (NaN, Infinity) parse so validation can name them.

    Raises
    ------
    DocumentError
        When the text is not JSON, with the line and column.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        msg = f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        raise DocumentError([ElementError("", msg)]) from None
    except UnicodeDecodeError as exc:
        msg = f"{source} is not UTF-8 text: byte {exc.start} cannot be decoded ({exc.reason})"
        raise DocumentError([ElementError("", msg)]) from None
    except RecursionError:
        msg = f"{source} nests arrays or objects too deeply"
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
        Listing every problem at once.
    """
    with gc_paused():
        problems, doc = _validate(raw)
    if problems:
        raise DocumentError(problems)
    return doc


def validate_document(raw: Any) -> list[ElementError]:
    """Every problem of a parsed document (empty when it is valid)."""
    with gc_paused():
        return _validate(raw)[0]


def _validate(raw: Any) -> tuple[list[ElementError], Document]:
    problems: list[ElementError] = []
    if not isinstance(raw, dict):
        problems.append(ElementError("", "a network document must be a JSON object"))
        return problems, {}
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            allowed = ", ".join(TOP_LEVEL_KEYS)
            problems.append(ElementError(pointer(key), f"unknown key {key!r} (allowed: {allowed})"))
    if raw.get("format") != FORMAT:
        problems.append(
            ElementError(pointer("format"), f"format must be {FORMAT!r}, got {raw.get('format')!r}")
        )
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        problems.append(ElementError(pointer("name"), "name must be a string or null"))
    doc: Document = {"format": FORMAT, "name": name}
    defaults = raw.get("defaults")
    doc["defaults"] = None
    if defaults is not None:
        valid, errs = _check_shape([defaults], NetworkDefaults, ("defaults",), raw, single=True)
        problems.extend(errs)
        doc["defaults"] = valid[0][1] if valid else None
    valid_by_collection: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for key, model in COLLECTIONS.items():
        items = raw.get(key, [])
        if not isinstance(items, list):
            problems.append(ElementError(pointer(key), f"{key} must be a list"))
            items = []
        valid, errs = _check_shape(items, model, (key,), raw)
        problems.extend(errs)
        valid = [(index, with_defaults(model, element)) for index, element in valid]
        valid_by_collection[key] = valid
        doc[key] = [element for _, element in valid]
    problems.extend(_check_meaning(raw, valid_by_collection))
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
    valid, problems = _check_shape([element], model, (), raw, single=True)
    if valid:
        valid_by: dict[str, list[tuple[int, dict[str, Any]]]] = {k: [] for k in COLLECTIONS}
        valid_by[key] = [(0, with_defaults(model, valid[0][1]))]
        checker = _Checker(raw, valid_by)
        checker.kind_of.update(known)
        checker.kind_of[element["id"]] = KIND_OF_COLLECTION[key]
        checker.check_references()
        checker.check_values()
        prefix = pointer(key, 0)
        problems.extend(
            ElementError(p.pointer.removeprefix(prefix), p.message, p.element_id, p.field)
            for p in checker.problems
        )
    ident = element.get("id") if isinstance(element, dict) else None
    if problems:
        raise DocumentError([
            p if p.element_id else ElementError(p.pointer, p.message, ident, p.field)
            for p in problems
        ])
    return valid_by[key][0][1]


def _check_shape(
    items: list[Any],
    model: type[BaseModel],
    prefix: tuple[str, ...],
    raw: dict[str, Any],
    *,
    single: bool = False,
) -> tuple[list[tuple[int, dict[str, Any]]], list[ElementError]]:
    """Validate ``items`` against ``model``; return (index, element) of the valid ones."""
    adapter = _adapter(model)
    try:
        return list(enumerate(adapter.validate_python(items))), []
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
    problems: list[ElementError] = []
    bad: set[int] = set()
    for err in errors:
        loc = tuple(err["loc"])
        index = loc[0] if loc and isinstance(loc[0], int) else None
        if index is not None:
            bad.add(index)
        tokens = prefix + (loc[1:] if single else loc)
        field = next((t for t in reversed(loc) if isinstance(t, str)), None)
        message = _message(err)
        problems.append(
            ElementError(
                pointer(*tokens),
                message,
                element_id=_element_of(raw, tokens),
                field=field,
            )
        )
    good = [(i, v) for i, v in enumerate(items) if i not in bad]
    if not good:
        return [], problems
    try:
        checked = adapter.validate_python([v for _, v in good])
    except ValidationError:  # pragma: no cover - the bad ones were all removed above
        return [], problems
    return [(i, v) for (i, _), v in zip(good, checked, strict=True)], problems


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return f"required field {err['loc'][-1]!r} is missing"
    if kind == "extra_forbidden":
        return f"unknown key {err['loc'][-1]!r}"
    if kind == "finite_number":
        return "must be a finite number (NaN and infinities are not allowed)"
    return str(err["msg"])


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

    def __init__(self, raw: dict[str, Any], valid: dict[str, list[tuple[int, dict[str, Any]]]]):
        self.raw = raw
        self.valid = valid
        self.problems: list[ElementError] = []
        self.kind_of: dict[str, str] = {}
        self.where: dict[str, tuple[str | int, ...]] = {}

    def add(self, ptr: str, message: str, element_id: str | None, field: str | None) -> None:
        self.problems.append(ElementError(ptr, message, element_id=element_id, field=field))

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
        first = pointer(*self.where[ident])
        self.add(
            pointer(*tokens, "id"),
            f"id {ident!r} is already used by the {self.kind_of[ident]} at {first}",
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
        found = self.kind_of.get(target)
        if found is None:
            message = f"{field} refers to {target!r}, which does not exist"
        else:
            wanted = " or ".join(kinds)
            message = f"{field} refers to {target!r}, which is a {found}, not a {wanted}"
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
                        for i, item in enumerate(target):
                            if isinstance(item, str) and kind_of.get(item) not in kinds:
                                self.bad_reference(
                                    (key, index, field, i), element.get("id"), field, item, kinds
                                )
        links = self.raw.get("links")
        for index, link in enumerate(links if isinstance(links, list) else []):
            source = link.get("from") if isinstance(link, dict) else None
            if not isinstance(source, str):
                continue
            found = kind_of.get(source)
            if found == "ont":
                self.add(
                    pointer("links", index, "from"),
                    f"a link cannot leave an ONT ({source!r}); ONTs are leaves of the PON tree",
                    _raw_id(link),
                    "from",
                )
            elif found not in ("port", "splitter"):
                self.bad_reference(
                    ("links", index, "from"), link.get("id"), "from", source, ("port", "splitter")
                )

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
                        f"optics class {port['optics_class']!r} does not belong to "
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
                    f"{host[1]['inner_diameter_mm']:g} mm of duct {within!r}",
                    duct["id"],
                    "outer_diameter_mm",
                )
            if {duct["from"], duct["to"]} != {host[1]["from"], host[1]["to"]}:
                self.add(
                    ptr + "/from",
                    f"innerduct runs {duct['from']}–{duct['to']} but its duct {within!r} runs "
                    f"{host[1]['from']}–{host[1]['to']}",
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
                    f"consecutive ducts {route[i - 1]!r} and {route[i]!r} share no structure",
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
                self.add(
                    ptr + "/to",
                    f"{self.kind_of.get(target, 'element')} {target!r} is fed by more than one "
                    f"link ({', '.join(i for _, i in links)})",
                    ident,
                    "to",
                )
        for ptr, olt in self.elements("olts"):
            for j, port in enumerate(olt.get("ports", [])):
                links = outgoing.get(port["id"], [])
                if len(links) > 1:
                    self.add(
                        ptr + pointer("ports", j),
                        f"PON port {port['id']!r} has {len(links)} outgoing links "
                        f"({', '.join(i for _, i in links)}); a port feeds one fibre, "
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
                            f"link leaves tap splitter {splitter['id']!r}: leg must be "
                            "'through' or 'tap'",
                            link_id,
                            "leg",
                        )
                    elif leg in seen_legs:
                        self.add(
                            link_ptr + "/leg",
                            f"the {leg} leg of tap splitter {splitter['id']!r} already feeds "
                            f"{seen_legs[leg]!r}",
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
                    f"leg is only for links leaving a tap splitter; {link['from']!r} is not one",
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
                if ident in reached:
                    continue
                if self._in_cycle(ident, parent_of):
                    message = f"{KIND_OF_COLLECTION[key]} {ident!r} lies on a cycle of links"
                else:
                    message = (
                        f"{KIND_OF_COLLECTION[key]} {ident!r} is not reached from any PON port"
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
    raw: dict[str, Any], valid: dict[str, list[tuple[int, dict[str, Any]]]]
) -> list[ElementError]:
    checker = _Checker(raw, valid)
    checker.register_ids()
    checker.check_references()
    checker.check_values()
    checker.check_ducts()
    checker.check_forest()
    return checker.problems


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
    return "\n".join(lines)


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
