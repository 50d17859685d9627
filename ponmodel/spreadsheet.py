"""Changes from a spreadsheet: one CSV row per element, all rows one change.

The header names the document's fields (nested ones dotted: ``service.down.max_mbps``,
``olt_tx_dbm.min``, ``attenuation_db_per_km.1310``), plus ``op`` (``create``, ``update`` or
``delete``; ``update`` when the column is absent or the cell empty) and, optionally,
``version`` (the version an update or delete is based on). A port's rows carry ``olt``.

Cells are typed by the element's field: numbers and whole numbers as such, ``true`` and
``false`` for yes/no fields, lists (a cable's ``ducts``, a link's ``cables``) separated by
``;``. An empty cell leaves the field out (an update keeps it, a create takes its default);
the word ``null`` clears it. A cell that is not of its field's type is passed on as text,
and the check names it (``/3/changes/length_m``: operation 3 is the CSV's fourth data
row, line 5 of the file).

Examples
--------
>>> rows = "op,id,length_m\\nupdate,DR-01,120\\n,DR-02,\\n"
>>> operations_from_csv(rows, "link")
[{'op': 'update', 'kind': 'link', 'id': 'DR-01', 'changes': {'length_m': 120.0}}, \
{'op': 'update', 'kind': 'link', 'id': 'DR-02', 'changes': {}}]
"""

from __future__ import annotations

import csv
import io
from functools import cache
from typing import Any

from ponmodel.document import COLLECTIONS
from ponmodel.elements import PortCreate
from ponmodel.errors import DocumentError, ElementError

_LIST_SEPARATOR = ";"


@cache
def _schema(kind: str) -> dict[str, Any]:
    from ponmodel.region import COLLECTION_OF_KIND

    model = PortCreate if kind == "port" else COLLECTIONS[COLLECTION_OF_KIND[kind]]
    return model.model_json_schema()


def _types_at(kind: str, path: list[str]) -> set[str]:
    """The JSON types the field at ``path`` may hold (empty when it is no field)."""
    schema = _schema(kind)
    node: dict[str, Any] = schema
    if kind == "port" and path == ["olt"]:
        return {"string"}
    for name in path:
        node = _resolved(schema, node)
        properties = node.get("properties")
        if properties is None:
            additional = node.get("additionalProperties")
            if not isinstance(additional, dict):
                return set()
            node = additional
            continue
        if name not in properties:
            return set()
        node = properties[name]
    node = _resolved(schema, node)
    return _types(schema, node)


def _resolved(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A schema node with ``$ref`` followed and an ``anyOf`` with one object taken."""
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    for option in node.get("anyOf", []):
        option = _resolved(schema, option)
        if option.get("type") == "object" or "properties" in option:
            return option
    return node


def _types(schema: dict[str, Any], node: dict[str, Any]) -> set[str]:
    if "anyOf" in node:
        return set().union(*(_types(schema, _resolved(schema, o)) for o in node["anyOf"]))
    kind = node.get("type")
    return {kind} if isinstance(kind, str) else set()


def typed_value(kind: str, field: str, text: str) -> Any:
    """The value of a cell (or of ``field=value`` on the command line) for a dotted field
    of an element of ``kind``, typed as described above.

    Raises
    ------
    DocumentError
        ``field`` is no field of the kind.

    Examples
    --------
    >>> typed_value("link", "length_m", "120"), typed_value("cable", "ducts", "D1;D2")
    (120.0, ['D1', 'D2'])
    >>> typed_value("ont", "service.down.max_mbps", "500"), typed_value("ont", "customer", "null")
    (500.0, None)
    """
    from ponmodel.changes import KINDS

    if kind not in KINDS:
        raise DocumentError([ElementError("", f"kind must be one of {', '.join(KINDS)}, "
                                              f"got {kind!r}")])
    types = _types_at(kind, field.split("."))
    if not types:
        raise DocumentError([ElementError(f"/{field.replace('.', '/')}",
                                          f"{field!r} is no field of {_a(kind)}", None,
                                          field)])
    if "object" in types:
        raise DocumentError([ElementError(
            f"/{field.replace('.', '/')}", f"{field!r} of {_a(kind)} holds fields: name one "
            f"of them ({field}.…)", None, field)])
    return _cell(text, types)


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _cell(text: str, types: set[str]) -> Any:
    """A cell's value for a field of these JSON types (see the module's description)."""
    if text == "null":
        return None
    if "array" in types:
        return [part.strip() for part in text.split(_LIST_SEPARATOR) if part.strip()]
    if "integer" in types:
        try:
            return int(text)
        except ValueError:
            pass
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            pass
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def operations_from_csv(data: bytes | str, kind: str) -> list[dict[str, Any]]:
    """The operations (as ``POST /changes`` takes them) of a CSV of ``kind`` rows.

    Raises
    ------
    DocumentError
        The kind is unknown, the text is not UTF-8 CSV, or a header names no field of the
        kind, no ``id`` column, or a row with more cells than the header.
    """
    from ponmodel.changes import KINDS

    if kind not in KINDS:
        raise DocumentError([ElementError("", f"kind must be one of {', '.join(KINDS)}, "
                                              f"got {kind!r}")])
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError([ElementError("", f"the CSV is not UTF-8 (byte {exc.start})")]
                                ) from exc
    if "\x00" in data:
        raise DocumentError([ElementError("", "the CSV holds a NUL character")])
    reader = csv.reader(io.StringIO(data, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise DocumentError([ElementError("", f"not CSV: {exc}")]) from exc
    if not rows:
        raise DocumentError([ElementError("", "the CSV is empty (a header row is needed)")])
    header = [h.strip() for h in rows[0]]
    problems = []
    columns: list[tuple[str, list[str], set[str]]] = []
    for j, name in enumerate(header):
        if name in ("op", "version"):
            columns.append((name, [], set()))
            continue
        path = name.split(".")
        types = _types_at(kind, path)
        if not types or "object" in types:
            problems.append(ElementError(f"/header/{j}", f"column {name!r} is no field of "
                                         f"{_a(kind)}", None, name))
        columns.append((name, path, types))
    if "id" not in header:
        problems.append(ElementError("/header", "the CSV needs an id column", None, "id"))
    operations = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            problems.append(ElementError(f"/line/{line}", f"line {line} has {len(row)} cells, "
                                         f"the header {len(header)}"))
            continue
        operations.append(_operation(kind, columns, row))
    if problems:
        raise DocumentError(problems[:DocumentError.MAX_SHOWN], len(problems))
    return operations


def _operation(kind: str, columns: list[tuple[str, list[str], set[str]]], row: list[str]
               ) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    op, version = "update", None
    for (name, path, types), text in zip(columns, row, strict=False):
        text = text.strip()
        if name == "op":
            op = text or "update"
            continue
        if name == "version":
            version = _cell(text, {"integer"}) if text else None
            continue
        if text == "":
            continue
        target = fields
        for step in path[:-1]:
            target = target.setdefault(step, {})
        target[path[-1]] = _cell(text, types)
    ident = fields.get("id")
    if op == "create":
        return {"op": op, "kind": kind, "element": fields}
    out: dict[str, Any] = {"op": op, "kind": kind, "id": ident}
    if op != "delete":
        out["changes"] = {k: v for k, v in fields.items() if k != "id"}
    if version is not None:
        out["version"] = version
    return out
