"""Field types shared by every model: one definition per kind of value, with its unit.

Each alias carries its constraint (``gt=0``, finite) and a description naming the unit, so
that the tables, the ``ponmodel/1`` document and the API schemas say the same thing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

ElementId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    Field(description="Element id: a non-empty string, unique across the whole network."),
]
"""An element id. Unique across every kind of element of one network."""

PositiveLengthM = Annotated[
    float, Field(gt=0, allow_inf_nan=False, description="Length in metres, > 0.")
]
PositiveDiameterMm = Annotated[
    float, Field(gt=0, allow_inf_nan=False, description="Diameter in millimetres, > 0.")
]
LossDb = Annotated[float, Field(ge=0, allow_inf_nan=False, description="Optical loss in dB, >= 0.")]
PowerDbm = Annotated[float, Field(allow_inf_nan=False, description="Optical power in dBm.")]
RateMbps = Annotated[
    float, Field(ge=0, allow_inf_nan=False, description="Data rate in Mbit/s, >= 0.")
]
PositiveRateMbps = Annotated[
    float, Field(gt=0, allow_inf_nan=False, description="Data rate in Mbit/s, > 0.")
]
AttenuationDbPerKm = Annotated[
    float,
    Field(ge=0, allow_inf_nan=False, description="Fibre attenuation in dB/km, >= 0."),
]
Count = Annotated[int, Field(ge=0, le=1_000_000, description="A count, >= 0.")]
PositiveCount = Annotated[int, Field(gt=0, le=1_000_000, description="A count, > 0.")]
Longitude = Annotated[
    float, Field(ge=-180, le=180, allow_inf_nan=False, description="WGS 84 longitude, degrees.")
]
Latitude = Annotated[
    float, Field(ge=-90, le=90, allow_inf_nan=False, description="WGS 84 latitude, degrees.")
]
Ratio = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False, description="A ratio in (0, 1].")]
Weight = Annotated[
    float,
    Field(gt=0, le=1e6, allow_inf_nan=False, description="Weight for max-min fair sharing, > 0."),
]

WavelengthKey = Literal["1270", "1310", "1358", "1490", "1577"]
"""Wavelengths (nm) the budget uses: keys of ``attenuation_db_per_km`` maps."""
WAVELENGTHS_NM: tuple[int, ...] = (1270, 1310, 1358, 1490, 1577)

AttenuationMap = dict[WavelengthKey, AttenuationDbPerKm]
"""Attenuation per wavelength, dB/km, keyed by the wavelength in nm as a string."""

ZoneKind = Literal["high_tech_park", "industrial_zone", "industrial_cluster"]
StructureKind = Literal["exchange", "cabinet", "manhole", "handhole", "pole", "building"]
TechnologyName = Literal["gpon", "xg-pon", "xgs-pon", "25gs-pon"]
OpticsClassName = Literal["B+", "C+", "N1", "N2", "E1", "E2"]
OntKind = Literal["enterprise", "residential", "site_backhaul", "iot_gateway"]
Additional = Literal["non_assured", "best_effort", "none"]
Generation = Literal["4g", "5g"]
TapLeg = Literal["through", "tap"]
