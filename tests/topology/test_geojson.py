"""GeoJSON interchange: RFC 7946 validity, longitude first, round trips, drawn ducts, errors."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import jsonschema
import pytest

from ponmodel.document import canonical, load_document
from ponmodel.errors import DocumentError
from ponmodel.topology.capacity import network_capacity
from ponmodel.topology.geojson import from_geojson, to_geojson
from tests.conftest import fixture_doc

# A JSON Schema of RFC 7946 GeoJSON, as far as this project writes and reads it:
# FeatureCollection of Features, geometries Point / LineString / Multi* (or null), positions of
# two or three numbers, LineStrings of two or more positions, optional bbox, id a string or
# number, properties an object or null (RFC 7946 §3.1–3.3, §5).
POSITION = {"type": "array", "minItems": 2, "maxItems": 3, "items": {"type": "number"}}
LINE = {"type": "array", "minItems": 2, "items": POSITION}
GEOMETRY = {
    "oneOf": [
        {"type": "object", "required": ["type", "coordinates"],
         "properties": {"type": {"const": "Point"}, "coordinates": POSITION}},
        {"type": "object", "required": ["type", "coordinates"],
         "properties": {"type": {"const": "LineString"}, "coordinates": LINE}},
        {"type": "object", "required": ["type", "coordinates"],
         "properties": {"type": {"const": "MultiPoint"},
                        "coordinates": {"type": "array", "items": POSITION}}},
        {"type": "object", "required": ["type", "coordinates"],
         "properties": {"type": {"const": "MultiLineString"},
                        "coordinates": {"type": "array", "items": LINE}}},
    ]
}
BBOX = {"type": "array", "minItems": 4, "items": {"type": "number"}}
GEOJSON_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["type", "features"],
    "not": {"required": ["crs"]},  # RFC 7946 §4: no crs member
    "properties": {
        "type": {"const": "FeatureCollection"},
        "bbox": BBOX,
        "features": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["type", "geometry", "properties"],
                "properties": {
                    "type": {"const": "Feature"},
                    "id": {"type": ["string", "number"]},
                    "geometry": {"oneOf": [{"type": "null"}, GEOMETRY]},
                    "properties": {"type": ["object", "null"]},
                    "bbox": BBOX,
                },
            },
        },
    },
}
# one degree on the IUGG mean sphere R₁ = 6 371 008.8 m: 6 371 008.8 · π / 180 = 111 195.08 m
METRES_PER_DEGREE = 6_371_008.8 * math.pi / 180


def _positions(geometry: dict[str, Any] | None) -> list[list[float]]:
    if geometry is None:
        return []
    c = geometry["coordinates"]
    if geometry["type"] == "Point":
        return [c]
    if geometry["type"] == "MultiLineString":
        return [p for line in c for p in line]
    return list(c)  # LineString, MultiPoint


@pytest.fixture(scope="module")
def hanoi() -> dict[str, Any]:
    return load_document(fixture_doc("hanoi.json"))


@pytest.fixture(scope="module")
def collection(hanoi: dict[str, Any]) -> dict[str, Any]:
    return to_geojson(hanoi)


def test_export_is_rfc_7946(collection: dict[str, Any]) -> None:
    jsonschema.validate(collection, GEOJSON_SCHEMA, cls=jsonschema.Draft202012Validator)
    text = json.dumps(collection, allow_nan=False)  # plain JSON, no NaN or infinity
    assert json.loads(text) == collection
    for f in collection["features"]:
        for lon, lat, *_ in _positions(f["geometry"]):
            assert -180 <= lon <= 180 and -90 <= lat <= 90
    west, south, east, north = collection["bbox"]
    assert west <= east and south <= north


def test_longitude_first(collection: dict[str, Any], hanoi: dict[str, Any]) -> None:
    exchange = hanoi["structures"][0]
    feature = next(f for f in collection["features"] if f["id"] == exchange["id"])
    assert feature["geometry"]["coordinates"] == [exchange["lon"], exchange["lat"]]
    for f in collection["features"]:
        for lon, lat in _positions(f["geometry"]):
            assert 105.0 < lon < 106.5 and 20.5 < lat < 21.5  # Hanoi: lon ≈ 105.x, lat ≈ 21.x


def test_layers_kinds_and_lines_along_structures(collection: dict[str, Any],
                                                 hanoi: dict[str, Any]) -> None:
    by_layer: dict[str, list[dict[str, Any]]] = {}
    for f in collection["features"]:
        assert f["id"] == f["properties"]["id"] and f["properties"]["kind"]
        by_layer.setdefault(f["properties"]["layer"], []).append(f)
    assert {k: len(v) for k, v in by_layer.items()} == {
        "structure": len(hanoi["structures"]), "duct": len(hanoi["ducts"]),
        "cable": len(hanoi["cables"]), "ont": len(hanoi["onts"])}
    where = {s["id"]: [s["lon"], s["lat"]] for s in hanoi["structures"]}
    ducts = {d["id"]: d for d in hanoi["ducts"]}
    for f in by_layer["duct"]:
        d = ducts[f["id"]]
        assert f["geometry"]["coordinates"] == [where[d["from"]], where[d["to"]]]
        assert f["properties"]["kind"] == ("innerduct" if d["within"] else "duct")
        assert {"fill_ratio", "limit_ratio", "operators", "owner"} <= set(f["properties"])
    for f in by_layer["cable"]:
        line = f["geometry"]["coordinates"]
        route = f["properties"]["ducts"]
        assert len(line) == len(route) + 1
        for k, duct_id in enumerate(route):  # each segment is one duct of the route, in order
            d = ducts[duct_id]
            assert sorted([line[k], line[k + 1]]) == sorted([where[d["from"]], where[d["to"]]])
    over = [f["id"] for f in by_layer["duct"] if f["properties"]["over_limit"]]
    assert len(over) == 9  # fixtures/README.md: 9 cabinet ducts over their fill limit on purpose
    shared = [f for f in by_layer["duct"] if f["properties"]["shared"]]
    assert shared and all(len(f["properties"]["operators"]) >= 2 for f in shared)


def test_onts_carry_headroom_and_ten_g(collection: dict[str, Any],
                                       hanoi: dict[str, Any]) -> None:
    verdict = {o.id: o.ten_g_symmetric for o in network_capacity(hanoi).onts}
    onts = [f for f in collection["features"] if f["properties"]["layer"] == "ont"]
    for f in onts:
        p = f["properties"]
        assert p["ten_g_symmetric"] == verdict[f["id"]]
        assert p["headroom_db"] == min(p["headroom_down_db"], p["headroom_up_db"])
        assert (p["not_ten_g_because"] == "") == p["ten_g_symmetric"]


def test_round_trip_structures_and_ducts(collection: dict[str, Any],
                                         hanoi: dict[str, Any]) -> None:
    merged = from_geojson(json.loads(json.dumps(collection)), hanoi)
    assert canonical(merged) == canonical(hanoi)


def _drawn(collection: dict[str, Any]) -> dict[str, Any]:
    """Structures and ducts as a planner would draw them: no from, to or length_m."""
    features = []
    for f in collection["features"]:
        p = f["properties"]
        if p["layer"] == "structure":
            features.append({"type": "Feature", "geometry": f["geometry"],
                             "properties": {k: p[k] for k in ("id", "kind", "zone", "name")}})
        elif p["layer"] == "duct":
            keep = ("id", "inner_diameter_mm", "owner", "within", "outer_diameter_mm")
            features.append({"type": "Feature", "geometry": f["geometry"],
                             "properties": {k: p[k] for k in keep}})
    return {"type": "FeatureCollection", "features": features}


def test_drawn_ducts_find_their_structures_and_lengths(collection: dict[str, Any],
                                                        hanoi: dict[str, Any]) -> None:
    base = {**hanoi, **{k: [] for k in ("structures", "ducts", "cables", "olts", "splitters",
                                         "onts", "links", "sites")}}
    merged = from_geojson(_drawn(collection), base)
    assert [(d["id"], d["from"], d["to"]) for d in merged["ducts"]] == [
        (d["id"], d["from"], d["to"]) for d in hanoi["ducts"]]
    assert [s for s in merged["structures"]] == hanoi["structures"]
    for d in merged["ducts"]:
        assert d["length_m"] > 0


def _small_base() -> dict[str, Any]:
    return load_document({
        "format": "ponmodel/1",
        "operators": [{"id": "hhtip", "name": "HHTIP"}],
        "zones": [{"id": "z", "name": "Z", "kind": "industrial_zone"}],
        "structures": [{"id": "MH-A", "zone": "z", "kind": "manhole", "lon": 105.0, "lat": 21.0}],
    })


def _point(fid: str, lon: float, lat: float, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"id": fid, "kind": "manhole", "zone": "z", **props}}


def _line(fid: str, coords: list[list[float]], **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords},
            "properties": {"id": fid, "inner_diameter_mm": 100.0, "owner": "hhtip", **props}}


def test_length_from_geometry_by_hand() -> None:
    # MH-A (105.000, 21.000) → bend (105.000, 21.001) → MH-B (105.001, 21.001):
    # north 0.001° = 111.19508 m; east 0.001° at 21.001° N = 111.19508 · cos 21.001° =
    # 111.19508 · 0.933574 = 103.80889 m; total 215.00397 m
    north = 0.001 * METRES_PER_DEGREE
    east = 0.001 * METRES_PER_DEGREE * math.cos(math.radians(21.001))
    assert north + east == pytest.approx(215.00397, abs=1e-4)
    data = {"type": "FeatureCollection", "features": [
        _point("MH-B", 105.001, 21.001),
        _line("DU-1", [[105.0, 21.0], [105.0, 21.001], [105.001, 21.001]]),
    ]}
    merged = from_geojson(data, _small_base())
    duct = merged["ducts"][0]
    assert (duct["from"], duct["to"]) == ("MH-A", "MH-B")
    assert duct["length_m"] == pytest.approx(north + east, abs=0.01)  # kept to 1 cm


def test_a_given_length_and_ends_win_and_multilinestring_is_read() -> None:
    data = {"type": "FeatureCollection", "features": [
        _point("MH-B", 105.001, 21.001),
        {**_line("DU-1", [], **{"from": "MH-B", "to": "MH-A", "length_m": 180.0}),
         "geometry": {"type": "MultiLineString",
                      "coordinates": [[[105.001, 21.001], [105.0, 21.0]]]}},
    ]}
    duct = from_geojson(data, _small_base())["ducts"][0]
    assert (duct["from"], duct["to"], duct["length_m"]) == ("MH-B", "MH-A", 180.0)


def test_snap_tolerance() -> None:
    # 0.000005° of latitude ≈ 0.56 m: within 1 m; 0.00005° ≈ 5.6 m: not
    near = {"type": "FeatureCollection", "features": [
        _point("MH-B", 105.001, 21.0),
        _line("DU-1", [[105.0, 21.000005], [105.001, 21.0]])]}
    assert from_geojson(near, _small_base())["ducts"][0]["from"] == "MH-A"
    far = copy.deepcopy(near)
    far["features"][1]["geometry"]["coordinates"][0] = [105.0, 21.00005]
    with pytest.raises(DocumentError) as err:
        from_geojson(far, _small_base())
    (problem,) = err.value.problems
    assert problem.pointer == "/features/1/geometry" and "within 1 m" in problem.message
    assert from_geojson(far, _small_base(), snap_tolerance_m=10.0)["ducts"][0]["from"] == "MH-A"


def test_unusable_features_by_index_and_reason() -> None:
    base = _small_base()
    before = copy.deepcopy(base)
    data = {"type": "FeatureCollection", "features": [
        _point("MH-B", 105.001, 21.0),                                    # 0 fine
        {"type": "Feature", "properties": {"id": "P"},                     # 1 a polygon
         "geometry": {"type": "Polygon", "coordinates": [[[105, 21], [105.1, 21], [105, 21.1],
                                                          [105, 21]]]}},
        _point("MH-C", 21.0, 105.8),                                       # 2 latitude first
        _line("DU-X", [[105.5, 21.5], [105.6, 21.6]]),                     # 3 ends near nothing
        _line("DU-Y", [[105.0, 21.0], [105.001, 21.0]], lenght_m=12.0),    # 4 a typo
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [105.0, 21.0]},
         "properties": {"kind": "manhole"}},                               # 5 no id
        {"type": "Bogus"},                                                 # 6 not a Feature
        _point("MH-B", 105.002, 21.0),                                     # 7 duplicate id
        {**_line("DU-1", [[105.0, 21.0], [105.001, 21.0]]), "properties": {
            "id": "DU-1", "inner_diameter_mm": 100.0, "owner": "hhtip", "layer": "pipe"}},  # 8
        _point("MH-A", 105.0, 21.0),                                       # 9 already stored
    ]}
    with pytest.raises(DocumentError) as err:
        from_geojson(data, base, replace=False)
    found = {p.pointer: p.message for p in err.value.problems}
    assert sorted(found) == sorted([
        "/features/1/geometry/type", "/features/2/geometry/coordinates",
        "/features/3/geometry", "/features/4/properties/lenght_m", "/features/5/properties/id",
        "/features/6", "/features/7/properties/id", "/features/8/properties/layer",
        "/features/9/properties/id",
    ])
    assert "Polygon" in found["/features/1/geometry/type"]
    assert "longitude first" in found["/features/2/geometry/coordinates"]
    assert "not within 1 m of any structure" in found["/features/3/geometry"]
    assert "unknown property 'lenght_m'" in found["/features/4/properties/lenght_m"]
    assert "needs an 'id'" in found["/features/5/properties/id"]
    assert "not a GeoJSON Feature" in found["/features/6"]
    assert "already given by feature 0" in found["/features/7/properties/id"]
    assert "layer 'pipe'" in found["/features/8/properties/layer"]
    assert "import with replace" in found["/features/9/properties/id"]
    assert base == before  # nothing changed, nothing returned to write


def test_document_problems_point_at_the_feature() -> None:
    data = {"type": "FeatureCollection", "features": [
        _point("MH-B", 105.001, 21.0, zone="nowhere"),
        _line("DU-1", [[105.0, 21.0], [105.001, 21.0]], owner="vnpt"),
        _point("MH-C", 105.002, 21.0, kind="igloo"),
    ]}
    with pytest.raises(DocumentError) as err:
        from_geojson(data, _small_base())
    found = {p.pointer: p.message for p in err.value.problems}
    assert set(found) == {"/features/0/properties/zone", "/features/1/properties/owner",
                          "/features/2/properties/kind"}
    assert "'nowhere'" in found["/features/0/properties/zone"]


def test_replace_updates_a_stored_structure_and_crs_must_be_wgs84() -> None:
    moved = {"type": "FeatureCollection", "features": [_point("MH-A", 105.0003, 21.0002)]}
    merged = from_geojson(moved, _small_base(), replace=True)
    assert [(s["id"], s["lon"], s["lat"]) for s in merged["structures"]] == [
        ("MH-A", 105.0003, 21.0002)]
    utm = {**moved, "crs": {"type": "name", "properties": {"name": "EPSG:3405"}}}
    with pytest.raises(DocumentError) as err:
        from_geojson(utm, _small_base())
    assert err.value.problems[0].pointer == "/crs"
    crs84 = {**moved, "crs": {"type": "name",
                              "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}}
    assert from_geojson(crs84, _small_base())["structures"][0]["lon"] == 105.0003


def test_exported_views_are_skipped_on_import(collection: dict[str, Any],
                                              hanoi: dict[str, Any]) -> None:
    views = [f for f in collection["features"] if f["properties"]["layer"] in ("cable", "ont")]
    merged = from_geojson({"type": "FeatureCollection", "features": views}, hanoi)
    assert canonical(merged) == canonical(hanoi)
