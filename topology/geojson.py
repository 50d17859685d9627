"""GIS interchange: the physical and PON layers as RFC 7946 GeoJSON, and structures and ducts
drawn in a GIS read back into a network document.

Export (:func:`to_geojson`) writes one ``FeatureCollection`` in WGS 84 with positions
``[longitude, latitude]`` (RFC 7946 §3.1.1, §4: no ``crs`` member). Every feature has
``properties.layer`` (``structure``, ``duct``, ``cable``, ``ont``) and ``properties.kind``, and
its element id both as the feature's ``id`` and as ``properties.id``:

- structures are Points;
- ducts (and innerducts, drawn on their duct) are LineStrings from the ``from`` structure to
  the ``to`` structure, with their fill figures (:mod:`ponmodel.topology.ducts`);
- cables are LineStrings through the structures of their duct route, in order (a cable
  with an empty route has a null geometry, RFC 7946 §3.2);
- ONTs are Points at their structure, with their budget headroom and 10G-symmetric verdict.

Import (:func:`from_geojson`) reads structures (Point features) and ducts (LineString
features) with properties named as in the network document, and merges them into the stored
network. ``cable`` and ``ont`` features are views computed from the network and are skipped.

Field mapping (document field ↔ GeoJSON ↔ Open Fibre Data Standard 0.3, the ``nodes`` and
``spans`` of an OFDS ``Network``; "—" where OFDS has no equivalent):

==========================  ============================  ========================================
network document            GeoJSON                       OFDS
==========================  ============================  ========================================
structure id                feature id, properties.id     nodes/id
structure name              properties.name               nodes/name
structure kind              properties.kind               nodes/type (open nodeType codelist)
structure lon, lat          Point [lon, lat]              nodes/location (GeoJSON Point)
structure zone              properties.zone               —
duct id                     feature id, properties.id     spans/id
duct from, to               properties.from, .to          spans/start, spans/end
(its structures' points)    LineString                    spans/route (GeoJSON LineString)
duct owner                  properties.owner              spans/physicalInfrastructureProvider/id
duct length_m               properties.length_m           — (spans/fibreLength is fibre, km)
duct inner_diameter_mm      properties.inner_diameter_mm  —
duct within                 properties.within             —
duct outer_diameter_mm      properties.outer_diameter_mm  —
duct max_fill_ratio         properties.max_fill_ratio     —
(its cables' operators)     properties.operators          spans/networkProviders/id
(a duct is underground)     —                             spans/deployment ["belowGround"]
cable fibre_count           properties.fibre_count        spans/fibreCount
cable operator              properties.operator           spans/networkProviders/id
operator id, name           (referenced by id)            organisations/id, organisations/name
==========================  ============================  ========================================

Decisions:

- **Duct ends.** A LineString's ``from`` and ``to`` properties name its structures. When
  either is absent (a duct drawn in a GIS), the line's first (last) position is matched to
  the nearest structure within ``snap_tolerance_m`` (default :data:`SNAP_TOLERANCE_M`, 1 m:
  planners snap to vertices, so a drawn end sits on the structure to well under a metre,
  while distinct structures of the plant, even a handhole beside a pole, stand further
  apart); a feature whose end is near no structure is reported.
- **Lengths from geometry.** When ``length_m`` is absent, it is the great-circle length of
  the line summed over its segments, by the haversine formula on the IUGG mean Earth radius
  R₁ = 6 371 008.8 m (:func:`line_length_m`). Against the WGS 84 ellipsoid the sphere is off
  by at most 0.5 % (at Hanoi's 21° N: north-south +0.43 %, east-west −0.15 %), under a metre
  on a 200 m duct and well inside what a drawn line misses anyway (slack, bends, risers);
  it needs no geodesy library and a reviewer can check it by hand.
- **Merging.** Imported structures and ducts are added to ``base`` (the stored network);
  one whose id is already in ``base`` replaces that element when ``replace`` is true and is
  reported otherwise. Nothing of ``base`` is deleted. The merged document is validated as a
  whole; it is then ready for :func:`ponmodel.storage.import_document` with ``replace``, one
  transaction.
- **Properties.** ``null`` is the same as absent. Properties that export computes
  (:data:`DERIVED_PROPERTIES`: fill figures, operators, …) and a GIS's own ``fid`` are ignored
  on import; any other unknown property is reported, like an unknown key in a document (a
  typo must not be silently dropped). Coordinates must be longitude first: a latitude outside
  ±90° is reported with that hint. A ``crs`` member (GeoJSON 2008) is accepted only when it
  names CRS84 or EPSG:4326. A single-part MultiPoint or MultiLineString (what many GIS layers
  save) is read as its one part.
- **Errors.** Every unusable feature is reported at once, each with pointer
  ``/features/<index>`` (and the property or geometry) and the reason, as one
  :class:`~ponmodel.errors.DocumentError`; problems the document validator finds in an
  imported element are reported at the feature's pointer too. Nothing is written.

Examples
--------
>>> from ponmodel.document import read_document
>>> from ponmodel.topology.geojson import from_geojson, to_geojson
>>> doc = read_document("fixtures/tiny.json")
>>> fc = to_geojson(doc)
>>> fc["features"][0]["geometry"]  # longitude first
{'type': 'Point', 'coordinates': [105.779, 21.122]}
>>> sorted({f["properties"]["layer"] for f in fc["features"]})
['cable', 'duct', 'ont', 'structure']
>>> merged = from_geojson(fc, doc)
>>> merged["ducts"] == doc["ducts"]
True
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from ponmodel import FORMAT
from ponmodel.document import COLLECTIONS, Document, load_document, parse_json, pointer
from ponmodel.errors import DocumentError, ElementError
from ponmodel.topology.budget import BudgetReport, network_budget
from ponmodel.topology.capacity import CapacityReport, network_capacity
from ponmodel.topology.ducts import DuctReport, duct_fill

MEAN_EARTH_RADIUS_M = 6_371_008.8
"""IUGG mean radius R₁ = (2a + b) / 3 of the WGS 84 ellipsoid, metres."""

SNAP_TOLERANCE_M = 1.0
"""Default distance within which a drawn duct's end point names a structure, metres."""

LAYERS = ("structure", "duct", "cable", "ont")
READ_LAYERS = ("structure", "duct")
VIEW_LAYERS = ("cable", "ont")
"""Layers export computes from the network; import skips them."""

STRUCTURE_FIELDS = ("id", "kind", "zone", "name")
"""Document fields of a structure carried as properties (lon, lat are the geometry)."""
DUCT_FIELDS = ("id", "from", "to", "length_m", "inner_diameter_mm", "owner", "within",
               "outer_diameter_mm", "max_fill_ratio")
"""Document fields of a duct carried as properties."""

DERIVED_PROPERTIES = frozenset({
    "layer", "fid", "fill_ratio", "limit_ratio", "limit_source", "over_limit", "near_limit",
    "operators", "operator_count", "shared", "cables", "innerducts", "max_new_cable_mm",
    "zones",
})
"""Properties export computes (and ``fid``, a GIS's row number): ignored on import."""

ACCEPTED_CRS = frozenset({
    "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "urn:ogc:def:crs:EPSG::4326",
    "EPSG:4326", "CRS84", "OGC:CRS84",
})

_CELL_DEG = 0.001
"""Grid cell of the structure index used for snapping (about 100 m at Hanoi)."""


# --------------------------------------------------------------------------- geometry


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance between two WGS 84 positions on the mean sphere, metres.

    Examples
    --------
    >>> round(haversine_m(105.0, 21.0, 105.0, 22.0))  # one degree of latitude: R₁·π/180
    111195
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * MEAN_EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def line_length_m(coordinates: Sequence[Sequence[float]]) -> float:
    """Length of a LineString's positions ``[lon, lat, …]``: the sum of its segments.

    Examples
    --------
    >>> round(line_length_m([[105.0, 21.0], [105.0, 21.001], [105.001, 21.001]]), 2)
    215.0
    """
    pairs = zip(coordinates, coordinates[1:], strict=False)
    return sum(haversine_m(a[0], a[1], b[0], b[1]) for a, b in pairs)


# --------------------------------------------------------------------------- export


def _feature(element_id: str, geometry: dict[str, Any] | None,
             properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "id": element_id, "geometry": geometry, "properties": properties}


def _point(s: dict[str, Any]) -> list[float]:
    return [float(s["lon"]), float(s["lat"])]


def _cable_path(route: list[str], ducts: dict[str, dict[str, Any]]) -> list[str]:
    """The structures a cable passes, in order, from its route of ducts."""
    if not route:
        return []
    ends = [(ducts[d]["from"], ducts[d]["to"]) for d in route]
    first_a, first_b = ends[0]
    if len(ends) > 1 and first_a in ends[1]:
        path = [first_b, first_a]
    else:
        path = [first_a, first_b]
    for a, b in ends[1:]:
        last = path[-1]
        if a == last:
            path.append(b)
        elif b == last:
            path.append(a)
        else:  # not adjacent: a validated document never has this; keep the line drawable
            path.extend([a, b])
    return path


def to_geojson(
    doc: Document,
    *,
    budget: BudgetReport | None = None,
    capacity: CapacityReport | None = None,
    fill: DuctReport | None = None,
) -> dict[str, Any]:
    """The physical layer and the PON layer of a validated document as one FeatureCollection.

    Parameters
    ----------
    doc : Document
        A validated ``ponmodel/1`` document.
    budget, capacity, fill : optional
        Reports already computed for ``doc`` (computed here when absent).

    Returns
    -------
    dict
        An RFC 7946 ``FeatureCollection`` (with ``name`` and ``bbox``): structures, ducts,
        cables, then ONTs, each in document order.
    """
    structures = {s["id"]: s for s in doc.get("structures", [])}
    ducts = {d["id"]: d for d in doc.get("ducts", [])}
    fill = fill or duct_fill(doc)
    features: list[dict[str, Any]] = []
    for s in doc.get("structures", []):
        props = {"layer": "structure", **{k: s.get(k) for k in STRUCTURE_FIELDS}}
        features.append(_feature(s["id"], {"type": "Point", "coordinates": _point(s)}, props))
    for d in doc.get("ducts", []):
        row = fill.duct(d["id"])
        props = {
            "layer": "duct",
            **{k: d.get(k) for k in DUCT_FIELDS},
            "kind": "innerduct" if d.get("within") else "duct",
            "fill_ratio": row.fill_ratio,
            "limit_ratio": row.limit_ratio,
            "limit_source": row.limit_source,
            "over_limit": row.over_limit,
            "near_limit": row.near_limit,
            "operators": list(row.operators),
            "operator_count": len(row.operators),
            "shared": len(row.operators) >= 2,
            "cables": list(row.cables),
            "max_new_cable_mm": row.max_new_cable_mm,
        }
        line = [_point(structures[d["from"]]), _point(structures[d["to"]])]
        features.append(_feature(d["id"], {"type": "LineString", "coordinates": line}, props))
    for c in doc.get("cables", []):
        path = _cable_path(list(c.get("ducts", [])), ducts)
        geometry = (
            {"type": "LineString", "coordinates": [_point(structures[s]) for s in path]}
            if len(path) >= 2 else None
        )
        props = {
            "layer": "cable", "kind": "cable", "id": c["id"], "operator": c["operator"],
            "fibre_count": c["fibre_count"], "outer_diameter_mm": c["outer_diameter_mm"],
            "ducts": list(c.get("ducts", [])),
            "length_m": sum(ducts[d]["length_m"] for d in dict.fromkeys(c.get("ducts", []))),
        }
        features.append(_feature(c["id"], geometry, props))
    onts = doc.get("onts", [])
    if onts:
        budget = budget or network_budget(doc)
        capacity = capacity or network_capacity(doc, budget=budget)
    by_budget = {o.id: o for o in budget.onts} if budget else {}
    by_capacity = {o.id: o for o in capacity.onts} if capacity else {}
    for o in onts:
        b = by_budget.get(o["id"])
        c = by_capacity.get(o["id"])
        props = {
            "layer": "ont", "kind": o["kind"], "id": o["id"], "structure": o["structure"],
            "customer": o.get("customer"),
            "port": b.port if b else None,
            "olt": b.olt if b else None,
            "distance_m": b.distance_m if b else None,
            "split": b.split if b else None,
            "headroom_down_db": b.downstream.headroom_db if b else None,
            "headroom_up_db": b.upstream.headroom_db if b else None,
            "headroom_db": min(b.downstream.headroom_db, b.upstream.headroom_db) if b else None,
            "budget_ok": b.ok if b else None,
            "ten_g_symmetric": c.ten_g_symmetric if c else False,
            "not_ten_g_because": "; ".join(c.reasons) if c else "not on a PON port",
            "guaranteed_down_mbps": c.down.guaranteed_mbps if c else None,
            "guaranteed_up_mbps": c.up.guaranteed_mbps if c else None,
            "peak_down_mbps": c.down.peak_mbps if c else None,
            "peak_up_mbps": c.up.peak_mbps if c else None,
        }
        point = {"type": "Point", "coordinates": _point(structures[o["structure"]])}
        features.append(_feature(o["id"], point, props))
    out: dict[str, Any] = {"type": "FeatureCollection", "name": doc.get("name") or "ponmodel"}
    box = _bbox(_point(s) for s in structures.values())
    if box is not None:
        out["bbox"] = box
    out["features"] = features
    return out


def _bbox(points: Iterable[list[float]]) -> list[float] | None:
    pts = list(points)
    if not pts:
        return None
    lons = [p[0] for p in pts]
    lats = [p[1] for p in pts]
    return [min(lons), min(lats), max(lons), max(lats)]


# --------------------------------------------------------------------------- import


class _Problems:
    """Problems of the features, each at ``/features/<index>[/…]``."""

    def __init__(self) -> None:
        self.items: list[ElementError] = []

    def add(self, index: int | None, message: str, *tokens: str | int,
            element_id: str | None = None, field: str | None = None) -> None:
        where = pointer("features", index, *tokens) if index is not None else pointer(*tokens)
        self.items.append(ElementError(where, message, element_id=element_id, field=field))


def _position_problem(pos: Any) -> str | None:
    if not isinstance(pos, list | tuple) or len(pos) < 2:
        return "a position must be an array [longitude, latitude]"
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos):
        return "a position holds numbers only"
    lon, lat = float(pos[0]), float(pos[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return "a position must be finite"
    if not -90.0 <= lat <= 90.0:
        return (f"latitude {lat:g} is outside ±90°: positions are [longitude, latitude] "
                "in WGS 84 (RFC 7946), longitude first")
    if not -180.0 <= lon <= 180.0:
        return f"longitude {lon:g} is outside ±180°: positions are WGS 84 degrees (RFC 7946)"
    return None


def _single_part(geometry: dict[str, Any], kind: str) -> tuple[str, Any] | str:
    """(type, coordinates) of a Point/LineString, unwrapping a one-part Multi*; else why not."""
    gtype = geometry.get("type")
    coords = geometry.get("coordinates")
    if gtype == f"Multi{kind}":
        if not isinstance(coords, list) or len(coords) != 1:
            n = len(coords) if isinstance(coords, list) else 0
            return f"a Multi{kind} must have exactly one part to be read, it has {n}"
        return kind, coords[0]
    if gtype != kind:
        return f"geometry is a {gtype}, expected a {kind}"
    return kind, coords


class _StructureIndex:
    """Structures by grid cell, to find the nearest one to a drawn end point."""

    def __init__(self, structures: Iterable[dict[str, Any]]) -> None:
        self.cells: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for s in structures:
            self.cells[self._cell(s["lon"], s["lat"])].append(s)

    @staticmethod
    def _cell(lon: float, lat: float) -> tuple[int, int]:
        return math.floor(lon / _CELL_DEG), math.floor(lat / _CELL_DEG)

    def nearest(self, lon: float, lat: float, tolerance_m: float) -> tuple[str, float] | None:
        cx, cy = self._cell(lon, lat)
        # cells are ≥ ~100 m wide at any latitude below 60°; look one ring further out
        # when the tolerance is wider than that
        ring = 1 + int(tolerance_m // 100.0)
        best: tuple[float, str] | None = None
        for dx in range(-ring, ring + 1):
            for dy in range(-ring, ring + 1):
                for s in self.cells.get((cx + dx, cy + dy), []):
                    dist = haversine_m(lon, lat, s["lon"], s["lat"])
                    if dist <= tolerance_m and (best is None or (dist, s["id"]) < best):
                        best = (dist, s["id"])
        return (best[1], best[0]) if best else None


def _check_collection(data: Any, problems: _Problems) -> list[Any]:
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        got = data.get("type") if isinstance(data, dict) else type(data).__name__
        problems.add(None, f"expected a GeoJSON FeatureCollection, got {got!r}", "type")
        return []
    crs = data.get("crs")
    if crs is not None:
        name = (crs.get("properties") or {}).get("name") if isinstance(crs, dict) else None
        if name not in ACCEPTED_CRS:
            problems.add(None, f"crs {name!r} is not WGS 84 longitude/latitude: reproject "
                         "to EPSG:4326 (RFC 7946 positions are WGS 84 degrees)", "crs")
    features = data.get("features")
    if not isinstance(features, list):
        problems.add(None, "a FeatureCollection must have a 'features' array", "features")
        return []
    return features


def from_geojson(
    data: Any,
    base: Document | None,
    *,
    replace: bool = True,
    snap_tolerance_m: float = SNAP_TOLERANCE_M,
) -> Document:
    """Merge structures and ducts drawn in a GIS into ``base`` and validate the result.

    Parameters
    ----------
    data : dict, str or bytes
        An RFC 7946 FeatureCollection (parsed, or its JSON text).
    base : Document or None
        The stored network (validated) to merge into; None for an empty one.
    replace : bool
        A feature whose id is already in ``base`` replaces that element (else it is
        reported as a problem).
    snap_tolerance_m : float
        How close a drawn duct's end must be to a structure to name it, metres.

    Returns
    -------
    Document
        The merged, validated document.

    Raises
    ------
    DocumentError
        Listing every unusable feature at ``/features/<index>`` with the reason; nothing is
        returned, so nothing can be written.
    """
    if isinstance(data, bytes | str):
        data = parse_json(data, source="GeoJSON")
    base = base or {"format": FORMAT, "name": None, "defaults": None,
                    **{k: [] for k in COLLECTIONS}}
    problems = _Problems()
    features = _check_collection(data, problems)
    base_kind = {e["id"]: key for key in COLLECTIONS for e in base.get(key, [])}
    seen: dict[str, int] = {}
    structures: list[tuple[int, dict[str, Any]]] = []
    duct_features: list[tuple[int, str | None, dict[str, Any], list[Any]]] = []
    for i, feature in enumerate(features):
        parsed = _read_feature(i, feature, problems)
        if parsed is None:
            continue
        layer, element_id, props, coords = parsed
        if element_id is not None:
            if element_id in seen:
                problems.add(i, f"id {element_id!r} is already given by feature {seen[element_id]}",
                             "properties", "id", element_id=element_id, field="id")
                continue
            seen[element_id] = i
            collection = "structures" if layer == "structure" else "ducts"
            stored = base_kind.get(element_id)
            if stored is not None and not replace:
                problems.add(i, f"id {element_id!r} is already in the stored network "
                             f"({stored}); import with replace to update it",
                             "properties", "id", element_id=element_id, field="id")
                continue
            if stored is not None and stored != collection:
                problems.add(i, f"id {element_id!r} is already used by an element of "
                             f"{stored} in the stored network", "properties", "id",
                             element_id=element_id, field="id")
                continue
        if layer == "structure":
            lon, lat = float(coords[0]), float(coords[1])
            structures.append((i, {**props, "lon": lon, "lat": lat}))
        else:
            duct_features.append((i, element_id, props, coords))
    imported_ids = {e["id"] for _, e in structures if "id" in e}
    all_structures = [s for s in base.get("structures", []) if s["id"] not in imported_ids]
    all_structures += [e for _, e in structures if isinstance(e.get("id"), str)]
    index = _StructureIndex(all_structures)
    ducts: list[tuple[int, dict[str, Any]]] = []
    for i, element_id, props, coords in duct_features:
        element = dict(props)
        for end, pos in (("from", coords[0]), ("to", coords[-1])):
            if element.get(end) is not None:
                continue
            found = index.nearest(float(pos[0]), float(pos[1]), snap_tolerance_m)
            if found is None:
                which = "first" if end == "from" else "last"
                problems.add(i, f"no '{end}' property and its {which}"
                             f" position ({pos[0]:g}, {pos[1]:g}) is not within "
                             f"{snap_tolerance_m:g} m of any structure", "geometry",
                             element_id=element_id, field=end)
            else:
                element[end] = found[0]
        if element.get("length_m") is None:
            length = line_length_m(coords)
            if length <= 0.0:
                problems.add(i, "no 'length_m' property and the line has zero length",
                             "geometry", element_id=element_id, field="length_m")
            element["length_m"] = round(length, 2)
        ducts.append((i, element))
    if problems.items:
        raise DocumentError(problems.items)
    return _merge_and_validate(base, structures, ducts)


def _read_feature(
    i: int, feature: Any, problems: _Problems
) -> tuple[str, str | None, dict[str, Any], Any] | None:
    """(layer, id, document properties, coordinates) of a usable feature, else None."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        problems.add(i, "not a GeoJSON Feature")
        return None
    props = feature.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        problems.add(i, "properties must be an object or null", "properties")
        return None
    geometry = feature.get("geometry")
    layer = props.get("layer")
    if layer in VIEW_LAYERS:
        return None  # computed from the network by export: nothing to read
    if not isinstance(geometry, dict):
        problems.add(i, "a structure or duct needs a geometry (Point or LineString)", "geometry")
        return None
    if layer is None:
        layer = {"Point": "structure", "MultiPoint": "structure", "LineString": "duct",
                 "MultiLineString": "duct"}.get(str(geometry.get("type")))
        if layer is None:
            problems.add(i, f"cannot use a {geometry.get('type')} geometry: structures are "
                         "Points, ducts LineStrings", "geometry", "type")
            return None
    if layer not in READ_LAYERS:
        problems.add(i, f"layer {layer!r} is not one of {', '.join(LAYERS)}",
                     "properties", "layer", field="layer")
        return None
    kind = "Point" if layer == "structure" else "LineString"
    part = _single_part(geometry, kind)
    if isinstance(part, str):
        problems.add(i, part, "geometry")
        return None
    coords = part[1]
    positions = [coords] if kind == "Point" else coords
    if kind == "LineString" and (not isinstance(coords, list) or len(coords) < 2):
        problems.add(i, "a LineString needs two or more positions", "geometry", "coordinates")
        return None
    for k, pos in enumerate(positions):
        why = _position_problem(pos)
        if why:
            tokens: tuple[str | int, ...] = ("geometry", "coordinates")
            if kind == "LineString":
                tokens += (k,)
            problems.add(i, why, *tokens)
            return None
    fields = STRUCTURE_FIELDS if layer == "structure" else DUCT_FIELDS
    element: dict[str, Any] = {}
    bad = False
    for key, value in props.items():
        if key in DERIVED_PROPERTIES or (key == "kind" and layer == "duct"):
            continue
        if key not in fields:
            allowed = ", ".join(fields)
            problems.add(i, f"unknown property {key!r} for a {layer} (allowed: {allowed})",
                         "properties", key, field=key)
            bad = True
        elif value is not None:
            element[key] = value
    if "id" not in element and feature.get("id") is not None:
        element["id"] = feature["id"]
    element_id = element.get("id")
    if not isinstance(element_id, str) or not element_id:
        problems.add(i, f"a {layer} needs an 'id' property (a non-empty string)",
                     "properties", "id", field="id")
        return None
    if bad:
        return None
    return layer, element_id, element, coords


def _merge_and_validate(
    base: Document,
    structures: list[tuple[int, dict[str, Any]]],
    ducts: list[tuple[int, dict[str, Any]]],
) -> Document:
    merged: Document = {k: base.get(k) for k in ("format", "name", "defaults")}
    merged["format"] = FORMAT
    origin: dict[tuple[str, int], int] = {}
    for key in COLLECTIONS:
        items = list(base.get(key, []))
        new = {"structures": structures, "ducts": ducts}.get(key, [])
        if new:
            replaced = {e["id"] for _, e in new}
            items = [e for e in items if e["id"] not in replaced]
            for i, element in new:
                origin[(key, len(items))] = i
                items.append(element)
        merged[key] = items
    try:
        return load_document(merged)
    except DocumentError as exc:
        raise DocumentError([_locate(p, origin) for p in exc.problems], exc.total) from None


def _locate(problem: ElementError, origin: dict[tuple[str, int], int]) -> ElementError:
    """A validation problem of an imported element, pointed at its feature."""
    tokens = problem.pointer.split("/")[1:]
    if len(tokens) < 2 or not tokens[1].isdigit():
        return problem
    feature = origin.get((tokens[0], int(tokens[1])))
    if feature is None:
        return problem
    rest = tokens[2:]
    if tokens[0] == "structures" and rest[:1] in (["lon"], ["lat"]):
        where = pointer("features", feature, "geometry", "coordinates",
                        0 if rest[0] == "lon" else 1)
    else:
        where = "/".join([pointer("features", feature, "properties"), *rest]) if rest else \
            pointer("features", feature)
    return ElementError(where, problem.message, element_id=problem.element_id,
                        field=problem.field)
