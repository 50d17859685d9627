"""The domain model: one model family per element kind.

Each kind has a ``Base`` (the fields and their documentation), a ``Table`` (the storage
row, ``table=True``), a ``Create`` (an element of the ``ponmodel/1`` document and of the
API's write bodies: unknown keys are an error) and a ``Public`` (what the API returns).
Where the document nests values (an OLT's ports, an ONT's service profile, a transmitter
range), the table keeps them as flat columns with the unit in each name; the conversion
lives in :mod:`ponmodel.document` and nowhere else.

Field names follow ``../shared/spec/network-document.md``: ``from`` and ``to`` are Python
keywords, so they are the attributes ``from_id`` / ``to_id`` with the aliases ``from`` /
``to`` (the document and the API speak the aliases).

Examples
--------
>>> from ponmodel.elements import LinkCreate
>>> link = LinkCreate.model_validate(
...     {"id": "FL-1", "from": "OLT-1/1/1", "to": "SP-1", "length_m": 2400.0})
>>> (link.from_id, link.connectors, link.cables)
('OLT-1/1/1', 0, [])
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import ConfigDict
from pydantic import Field as PydField
from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from ponmodel.types import (
    Additional,
    AttenuationMap,
    Count,
    ElementId,
    Generation,
    Latitude,
    Longitude,
    LossDb,
    OntKind,
    OpticsClassName,
    PositiveCount,
    PositiveDiameterMm,
    PositiveLengthM,
    PositiveRateMbps,
    PowerDbm,
    RateMbps,
    Ratio,
    StructureKind,
    TapLeg,
    TechnologyName,
    Weight,
    ZoneKind,
)

_DOC = ConfigDict(extra="forbid", populate_by_name=True, strict=True)
"""Config of document / write models: a typo in a key is an error, never ignored."""
_OUT = ConfigDict(populate_by_name=True)
_WITHOUT_ROWID = {"sqlite_with_rowid": False}
"""Text-keyed tables are clustered on their id in SQLite: one B-tree per table instead of a
rowid tree plus a unique index, which halves the work of a bulk insert (measured: 300,000
ids, 1.11 s with a rowid and an index on kind, 0.50 s without either)."""


def _fk(target: str, *, nullable: bool = False, index: bool = True) -> Any:
    """A foreign-key column to ``target`` (``table.column``), indexed for the loads' joins."""
    return Field(foreign_key=target, index=index, nullable=nullable)


# --------------------------------------------------------------------------- network


class NetworkDefaults(SQLModel):
    """Document-wide overrides of the built-in catalogue (each key optional)."""

    model_config = _DOC
    attenuation_db_per_km: AttenuationMap | None = Field(
        default=None, description="Fibre attenuation per wavelength (nm as a string), dB/km."
    )
    connector_loss_db: LossDb | None = Field(default=None, description="Per mated connector, dB.")
    splice_loss_db: LossDb | None = Field(default=None, description="Per fusion splice, dB.")
    safety_margin_db: LossDb | None = Field(
        default=None, description="Safety margin subtracted from the worst-case received power, dB."
    )


class NetworkTable(SQLModel, table=True):
    """The one row describing the stored network: its name and document defaults."""

    __tablename__ = "network"
    id: int = Field(default=1, primary_key=True)
    format: str = Field(default="ponmodel/1")
    revision: int = Field(default=0, description="Incremented by every write of elements; "
                          "caches key on it.")
    reservations_revision: int = Field(
        default=0, sa_column_kwargs={"server_default": "0"},
        description="Incremented by every change of reservations (they hold duct room but are "
        "no elements): duct fill and routing key on it.",
    )
    name: str | None = None
    connector_loss_db: float | None = None
    splice_loss_db: float | None = None
    safety_margin_db: float | None = None
    attenuation_1270_db_per_km: float | None = None
    attenuation_1310_db_per_km: float | None = None
    attenuation_1358_db_per_km: float | None = None
    attenuation_1490_db_per_km: float | None = None
    attenuation_1577_db_per_km: float | None = None


class ElementTable(SQLModel, table=True):
    """Registry of every element id with its kind: ids are unique across all kinds."""

    __tablename__ = "element"
    __table_args__ = {"sqlite_with_rowid": False}
    id: str = Field(primary_key=True)
    kind: str
    version: int = Field(
        default=1,
        sa_column_kwargs={"server_default": "1"},
        description="Raised by one at every edit of the element: the optimistic lock.",
    )


# --------------------------------------------------------------------------- operators, zones


class OperatorBase(SQLModel):
    """A telecom operator or a shared-infrastructure owner."""

    id: ElementId = Field(primary_key=True, description="Id, unique across the whole network.")
    name: str = Field(min_length=1, max_length=200, description="Display name.")


class OperatorTable(OperatorBase, table=True):
    __tablename__ = "operator"
    __table_args__ = _WITHOUT_ROWID


class OperatorCreate(OperatorBase):
    """Operator element of a ponmodel/1 document or API write body."""

    model_config = _DOC


class OperatorPublic(OperatorBase):
    """Operator as the API returns it."""

    model_config = _OUT


class ZoneBase(SQLModel):
    """A high-tech park, industrial zone or industrial cluster."""

    id: ElementId = Field(primary_key=True, description="Id, unique across the whole network.")
    name: str = Field(min_length=1, max_length=200, description="Official name.")
    kind: ZoneKind = Field(
        sa_type=String, description="high_tech_park | industrial_zone | industrial_cluster"
    )
    district: str | None = Field(default=None, max_length=200, description="District (old name).")


class ZoneTable(ZoneBase, table=True):
    __tablename__ = "zone"
    __table_args__ = _WITHOUT_ROWID


class ZoneCreate(ZoneBase):
    """Zone element of a ponmodel/1 document or API write body."""

    model_config = _DOC


class ZonePublic(ZoneBase):
    """Zone as the API returns it."""

    model_config = _OUT


# --------------------------------------------------------------------------- physical layer


class StructureBase(SQLModel):
    """A point of the physical plant: exchange, cabinet, manhole, handhole, pole, building."""

    id: ElementId = Field(primary_key=True, description="Id, unique across the whole network.")
    zone: ElementId | None = Field(
        default=None, description="Zone id; null for plant outside every zone (a central office)."
    )
    kind: StructureKind = Field(
        sa_type=String, description="exchange | cabinet | manhole | handhole | pole | building"
    )
    lon: Longitude = Field(description="WGS 84 longitude, degrees east.")
    lat: Latitude = Field(description="WGS 84 latitude, degrees north.")
    name: str | None = Field(default=None, max_length=200, description="Optional label.")


class StructureTable(StructureBase, table=True):
    __tablename__ = "structure"
    __table_args__ = _WITHOUT_ROWID
    zone: str | None = _fk("zone.id", nullable=True)


class StructureCreate(StructureBase):
    """Structure element of a ponmodel/1 document or API write body."""

    model_config = _DOC


class StructurePublic(StructureBase):
    """Structure as the API returns it."""

    model_config = _OUT


class DuctBase(SQLModel):
    """A duct between two structures, or an innerduct inside another duct (``within``)."""

    id: ElementId = Field(primary_key=True, description="Id, unique across the whole network.")
    from_id: ElementId = Field(alias="from", description="Structure at one end.")
    to_id: ElementId = Field(alias="to", description="Structure at the other end.")
    length_m: PositiveLengthM = Field(description="Length, metres.")
    inner_diameter_mm: PositiveDiameterMm = Field(description="Inner diameter, millimetres.")
    owner: ElementId = Field(description="Operator id of the owner.")
    within: ElementId | None = Field(
        default=None, description="Id of the duct this one is an innerduct of; null for a duct."
    )
    outer_diameter_mm: PositiveDiameterMm | None = Field(
        default=None, description="Outer diameter, millimetres; required for an innerduct."
    )
    max_fill_ratio: Ratio | None = Field(
        default=None, description="Override of the catalogue's fill rule (cross-section ratio)."
    )


class DuctTable(DuctBase, table=True):
    __tablename__ = "duct"
    __table_args__ = _WITHOUT_ROWID
    from_id: str = _fk("structure.id")
    to_id: str = _fk("structure.id")
    owner: str = _fk("operator.id")
    within: str | None = _fk("duct.id", nullable=True)


class DuctCreate(DuctBase):
    """Duct element of a ponmodel/1 document or API write body."""

    model_config = _DOC


class DuctPublic(DuctBase):
    """Duct as the API returns it."""

    model_config = _OUT


class CableBase(SQLModel):
    """A fibre cable of one operator, routed through ducts."""

    id: ElementId = Field(primary_key=True, description="Id, unique across the whole network.")
    operator: ElementId = Field(description="Operator id.")
    fibre_count: PositiveCount = Field(description="Number of fibres.")
    outer_diameter_mm: PositiveDiameterMm = Field(description="Outer diameter, millimetres.")


class CableTable(CableBase, table=True):
    __tablename__ = "cable"
    __table_args__ = _WITHOUT_ROWID
    operator: str = _fk("operator.id")
    attenuation_1270_db_per_km: float | None = None
    attenuation_1310_db_per_km: float | None = None
    attenuation_1358_db_per_km: float | None = None
    attenuation_1490_db_per_km: float | None = None
    attenuation_1577_db_per_km: float | None = None


class CableCreate(CableBase):
    """Cable element of a ponmodel/1 document or API write body."""

    model_config = _DOC
    ducts: list[ElementId] = Field(
        default_factory=list, description="The cable's route: duct ids in order."
    )
    attenuation_db_per_km: AttenuationMap | None = Field(
        default=None, description="Measured attenuation per wavelength, dB/km."
    )


class CablePublic(CableCreate):
    """Cable as the API returns it."""

    model_config = _OUT


class CableDuctTable(SQLModel, table=True):
    """One step of a cable's route: the cable occupies this duct at this position."""

    __tablename__ = "cable_duct"
    __table_args__ = (Index("ix_cable_duct_duct", "duct_id"),)
    cable_id: str = Field(foreign_key="cable.id", primary_key=True)
    position: int = Field(primary_key=True)
    duct_id: str = Field(foreign_key="duct.id")


# --------------------------------------------------------------------------- active equipment


class PowerRange(SQLModel):
    """A transmitter's launch power range, dBm."""

    model_config = _DOC
    min: PowerDbm = Field(description="Minimum launch power, dBm (worst case).")
    max: PowerDbm = Field(description="Maximum launch power, dBm (best case, for overload).")


class CapacityOverride(SQLModel):
    """A port's usable capacity per direction, Mbit/s."""

    model_config = _DOC
    down: PositiveRateMbps
    up: PositiveRateMbps


class PortBase(SQLModel):
    """A PON port of an OLT: technology, optics class and overrides."""

    id: ElementId = Field(primary_key=True, description="Id, unique across the whole network.")
    technology: TechnologyName = Field(
        sa_type=String, description="gpon | xg-pon | xgs-pon | 25gs-pon"
    )
    optics_class: OpticsClassName = Field(
        sa_type=String, description="B+ | C+ (gpon); N1 | N2 | E1 | E2"
    )
    olt_rx_sensitivity_dbm: PowerDbm | None = Field(
        default=None, description="Override of the class's OLT receiver sensitivity, dBm."
    )
    olt_rx_overload_dbm: PowerDbm | None = Field(
        default=None, description="Override of the class's OLT receiver overload, dBm."
    )
    coexistence_loss_db: LossDb = Field(
        default=0.0, description="Loss of a CEx / WDM filter in this port's path, dB."
    )
    max_split: PositiveCount | None = Field(
        default=None, description="Override of the technology's split limit."
    )
    max_reach_m: PositiveLengthM | None = Field(
        default=None, description="Override of the technology's reach limit, metres."
    )


class PortTable(PortBase, table=True):
    __tablename__ = "port"
    __table_args__ = _WITHOUT_ROWID
    olt_id: str = _fk("olt.id")
    position: int = Field(default=0, description="Order of the port within its OLT.")
    olt_tx_min_dbm: float | None = None
    olt_tx_max_dbm: float | None = None
    capacity_down_mbps: float | None = None
    capacity_up_mbps: float | None = None


class PortCreate(PortBase):
    """Port element of a ponmodel/1 document or API write body."""

    model_config = _DOC
    olt_tx_dbm: PowerRange | None = Field(
        default=None, description="Override of the class's OLT transmitter range, dBm."
    )
    capacity_mbps: CapacityOverride | None = Field(
        default=None, description="Override of the technology's usable capacity, Mbit/s."
    )


class PortPublic(PortCreate):
    """Port as the API returns it."""

    model_config = _OUT
    olt: str = Field(description="The OLT this port belongs to.")


class OltBase(SQLModel):
    """An optical line terminal of one operator, in a structure."""

    id: ElementId = Field(primary_key=True, description="Id, unique across the whole network.")
    operator: ElementId = Field(description="Operator id.")
    structure: ElementId = Field(description="Structure id (usually an exchange).")
    uplink_gbps: PositiveRateMbps = Field(description="Uplink capacity, Gbit/s.")


class OltTable(OltBase, table=True):
    __tablename__ = "olt"
    __table_args__ = _WITHOUT_ROWID
    operator: str = _fk("operator.id")
    structure: str = _fk("structure.id")


class OltCreate(OltBase):
    """OLT element of a ponmodel/1 document or API write body."""

    model_config = _DOC
    ports: list[PortCreate] = Field(default_factory=list, description="The OLT's PON ports.")


class OltPublic(OltCreate):
    """OLT as the API returns it."""

    model_config = _OUT


class SplitterBase(SQLModel):
    """A passive optical splitter in a structure."""

    id: ElementId = Field(primary_key=True, description="Id, unique across the whole network.")
    structure: ElementId = Field(description="Structure id.")
    ratio: PositiveCount = Field(description="Number of outputs (1:N).")
    insertion_loss_db: LossDb | None = Field(
        default=None,
        description="Measured or datasheet insertion loss, dB (for a tap splitter: of the "
        "through leg); else the catalogue's.",
    )
    through_percent: Annotated[int, PydField(ge=1, le=99)] | None = Field(
        default=None,
        description="Unbalanced (tap) splitter: share of the power on the through leg, %; "
        "null for a balanced splitter. A tap splitter has ratio 2.",
    )
    tap_loss_db: LossDb | None = Field(
        default=None, description="Tap splitter: measured loss of the tap leg, dB."
    )


class SplitterTable(SplitterBase, table=True):
    __tablename__ = "splitter"
    __table_args__ = _WITHOUT_ROWID
    structure: str = _fk("structure.id")


class SplitterCreate(SplitterBase):
    """Splitter element of a ponmodel/1 document or API write body."""

    model_config = _DOC


class SplitterPublic(SplitterBase):
    """Splitter as the API returns it."""

    model_config = _OUT


class DirectionService(SQLModel):
    """A service profile in one direction, as T-CONT types 1-5 describe it."""

    model_config = _DOC
    fixed_mbps: RateMbps = Field(
        default=0.0, description="Fixed bandwidth, reserved even when idle."
    )
    assured_mbps: RateMbps = Field(default=0.0, description="Assured bandwidth, Mbit/s.")
    max_mbps: RateMbps = Field(description="Maximum bandwidth, Mbit/s (>= fixed + assured).")
    additional: Additional | None = Field(
        default=None,
        description="non_assured | best_effort | none; default: non_assured when assured > 0, "
        "else best_effort, when max exceeds fixed + assured; else none.",
    )
    weight: Weight = Field(default=1.0, description="Weight in max-min fair sharing.")

    def effective_additional(self) -> str:
        """The eligibility for additional bandwidth, with the spec's default applied.

        Examples
        --------
        >>> DirectionService(assured_mbps=100, max_mbps=1000).effective_additional()
        'non_assured'
        >>> DirectionService(max_mbps=1000).effective_additional()
        'best_effort'
        >>> DirectionService(fixed_mbps=50, max_mbps=50).effective_additional()
        'none'
        """
        return effective_additional(self.model_dump())


def effective_additional(service: dict[str, Any]) -> str:
    """A direction's eligibility for additional bandwidth, with the spec's default applied:
    non_assured when assured > 0, else best_effort, when max exceeds fixed + assured; else
    none.

    Examples
    --------
    >>> effective_additional({"fixed_mbps": 0, "assured_mbps": 0, "max_mbps": 500,
    ...                       "additional": None})
    'best_effort'
    """
    chosen = service.get("additional")
    if chosen is not None:
        return str(chosen)
    fixed = service.get("fixed_mbps", 0.0)
    assured = service.get("assured_mbps", 0.0)
    if service["max_mbps"] > fixed + assured:
        return "non_assured" if assured > 0 else "best_effort"
    return "none"


class Service(SQLModel):
    """An ONT's service profile in both directions."""

    model_config = _DOC
    down: DirectionService
    up: DirectionService


class OntBase(SQLModel):
    """An optical network terminal (ONU) at a customer's structure."""

    id: ElementId = Field(primary_key=True, description="Id, unique across the whole network.")
    structure: ElementId = Field(description="Structure id.")
    customer: str | None = Field(default=None, max_length=300, description="Customer name.")
    kind: OntKind = Field(
        sa_type=String, description="enterprise | residential | site_backhaul | iot_gateway"
    )
    onu_rx_sensitivity_dbm: PowerDbm | None = Field(
        default=None, description="Override of the class's ONU receiver sensitivity, dBm."
    )
    onu_rx_overload_dbm: PowerDbm | None = Field(
        default=None, description="Override of the class's ONU receiver overload, dBm."
    )


_DIRECTION_COLUMNS = ("fixed_mbps", "assured_mbps", "max_mbps", "additional", "weight")


class OntTable(OntBase, table=True):
    __tablename__ = "ont"
    __table_args__ = _WITHOUT_ROWID
    structure: str = _fk("structure.id")
    onu_tx_min_dbm: float | None = None
    onu_tx_max_dbm: float | None = None
    down_fixed_mbps: float = 0.0
    down_assured_mbps: float = 0.0
    down_max_mbps: float = 0.0
    down_additional: str | None = None
    down_weight: float = 1.0
    up_fixed_mbps: float = 0.0
    up_assured_mbps: float = 0.0
    up_max_mbps: float = 0.0
    up_additional: str | None = None
    up_weight: float = 1.0


class OntCreate(OntBase):
    """ONT element of a ponmodel/1 document or API write body."""

    model_config = _DOC
    onu_tx_dbm: PowerRange | None = Field(
        default=None, description="Override of the class's ONU transmitter range, dBm."
    )
    service: Service


class OntPublic(OntCreate):
    """ONT as the API returns it."""

    model_config = _OUT


class LinkBase(SQLModel):
    """An edge of a PON tree: a fibre path from a port or splitter to a splitter or ONT."""

    id: ElementId = Field(primary_key=True, description="Id, unique across the whole network.")
    from_id: ElementId = Field(alias="from", description="Upstream end: a PON port or splitter.")
    to_id: ElementId = Field(alias="to", description="Downstream end: a splitter or ONT.")
    length_m: PositiveLengthM = Field(description="Fibre length, metres.")
    connectors: Count = Field(default=0, description="Mated connector pairs on the link.")
    splices: Count = Field(default=0, description="Fusion splices on the link.")
    extra_loss_db: LossDb = Field(default=0.0, description="Any further loss, dB.")
    leg: TapLeg | None = Field(
        default=None,
        sa_type=String,
        description="Output of a tap splitter this link leaves from (through | tap); "
        "required when `from` is a tap splitter, null otherwise.",
    )


class LinkTable(LinkBase, table=True):
    __tablename__ = "link"
    __table_args__ = _WITHOUT_ROWID
    from_id: str = Field(foreign_key="element.id", index=True)
    to_id: str = Field(foreign_key="element.id", index=True, unique=True)
    attenuation_1270_db_per_km: float | None = None
    attenuation_1310_db_per_km: float | None = None
    attenuation_1358_db_per_km: float | None = None
    attenuation_1490_db_per_km: float | None = None
    attenuation_1577_db_per_km: float | None = None


class LinkCreate(LinkBase):
    """Link element of a ponmodel/1 document or API write body."""

    model_config = _DOC
    cables: list[ElementId] = Field(
        default_factory=list, description="Cables whose fibres carry this link."
    )
    attenuation_db_per_km: AttenuationMap | None = Field(
        default=None, description="Measured attenuation per wavelength, dB/km."
    )


class LinkPublic(LinkCreate):
    """Link as the API returns it."""

    model_config = _OUT


class LinkCableTable(SQLModel, table=True):
    """A cable carrying (part of) a link."""

    __tablename__ = "link_cable"
    __table_args__ = (Index("ix_link_cable_cable", "cable_id"),)
    link_id: str = Field(foreign_key="link.id", primary_key=True)
    position: int = Field(primary_key=True)
    cable_id: str = Field(foreign_key="cable.id")


class SiteBase(SQLModel):
    """A mobile base station (4G or 5G), optionally backhauled over an ONT."""

    id: ElementId = Field(primary_key=True, description="Id, unique across the whole network.")
    zone: ElementId = Field(description="Zone id.")
    operator: ElementId = Field(description="Operator id.")
    generation: Generation = Field(sa_type=String, description="4g | 5g")
    structure: ElementId | None = Field(default=None, description="Structure id (mast, roof).")
    backhaul_ont: ElementId | None = Field(default=None, description="ONT carrying its backhaul.")


class SiteTable(SiteBase, table=True):
    __tablename__ = "site"
    __table_args__ = _WITHOUT_ROWID
    zone: str = _fk("zone.id")
    operator: str = _fk("operator.id")
    structure: str | None = _fk("structure.id", nullable=True)
    backhaul_ont: str | None = _fk("ont.id", nullable=True)


class SiteCreate(SiteBase):
    """Site element of a ponmodel/1 document or API write body."""

    model_config = _DOC


class SitePublic(SiteBase):
    """Site as the API returns it."""

    model_config = _OUT


# --------------------------------------------------------------------------- registry

ATTENUATION_COLUMNS: dict[str, str] = {
    str(nm): f"attenuation_{nm}_db_per_km" for nm in (1270, 1310, 1358, 1490, 1577)
}
"""Wavelength key of an ``attenuation_db_per_km`` map → its flat column name."""

DIRECTION_COLUMNS = _DIRECTION_COLUMNS

KINDS: dict[str, type[SQLModel]] = {
    "operator": OperatorTable,
    "zone": ZoneTable,
    "structure": StructureTable,
    "duct": DuctTable,
    "cable": CableTable,
    "olt": OltTable,
    "port": PortTable,
    "splitter": SplitterTable,
    "ont": OntTable,
    "link": LinkTable,
    "site": SiteTable,
}
"""Element kind → its table, in an order that satisfies every foreign key on insert."""

PUBLIC_MODELS: dict[str, type[SQLModel]] = {
    "operator": OperatorPublic,
    "zone": ZonePublic,
    "structure": StructurePublic,
    "duct": DuctPublic,
    "cable": CablePublic,
    "olt": OltPublic,
    "port": PortPublic,
    "splitter": SplitterPublic,
    "ont": OntPublic,
    "link": LinkPublic,
    "site": SitePublic,
}


# --------------------------------------------------------------------------- reservations


class ReservationTable(SQLModel, table=True):
    """Room held in a route of ducts for a planned cable, until confirmed, cancelled or
    expired. Operational state, not part of the network document."""

    __tablename__ = "reservation"
    __table_args__ = _WITHOUT_ROWID
    id: str = Field(primary_key=True, description="Reservation id.")
    operator: str = Field(foreign_key="operator.id", index=True)
    cable_id: str = Field(index=True, description="Id the cable takes when confirmed.")
    fibre_count: int = Field(description="Fibres of the planned cable.")
    outer_diameter_mm: float = Field(description="Outer diameter of the planned cable, mm.")
    status: str = Field(default="reserved", description="reserved | confirmed | cancelled")
    created_at: datetime = Field(description="UTC.")
    expires_at: datetime = Field(description="UTC; a reservation not confirmed by then lapses.")
    confirmed_at: datetime | None = Field(default=None, description="UTC.")


class ReservationDuctTable(SQLModel, table=True):
    """One duct of a reservation's route, in order."""

    __tablename__ = "reservation_duct"
    __table_args__ = (Index("ix_reservation_duct_duct", "duct_id"),)
    reservation_id: str = Field(foreign_key="reservation.id", primary_key=True)
    position: int = Field(primary_key=True)
    duct_id: str = Field(foreign_key="duct.id")


# --------------------------------------------------------------------------- access and audit


class ApiKeyTable(SQLModel, table=True):
    """An API key: only the SHA-256 of its secret is stored (the secret is shown once).

    Not part of the network document, and kept when a network is replaced; ``operator``
    is therefore not a foreign key (it is checked when the key is created).
    """

    __tablename__ = "api_key"
    __table_args__ = _WITHOUT_ROWID
    id: str = Field(primary_key=True, description="Public key id, the token's first part.")
    name: str = Field(description="Who or what holds the key.")
    role: str = Field(description="admin | planner | viewer")
    operator: str | None = Field(default=None, description="The operator a key is scoped to.")
    secret_sha256: str = Field(description="Hex SHA-256 of the token's secret part.")
    created_at: datetime = Field(description="UTC.")
    revoked_at: datetime | None = Field(default=None, description="UTC; revoked keys fail.")


class AuditTable(SQLModel, table=True):
    """Who changed what, written in the same transaction as the change itself."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True, description="UTC.")
    actor: str = Field(index=True, description="Key id, or 'local' for the command line.")
    actor_name: str
    role: str
    operator: str | None = None
    action: str = Field(description="import | edit | reserve | confirm | cancel")
    kind: str | None = Field(default=None, description="Element kind, when one element changed.")
    element_id: str | None = Field(default=None, index=True)
    before: str | None = Field(default=None, description="JSON of the element before.")
    after: str | None = Field(default=None, description="JSON of the element after.")
    revision: int | None = Field(
        default=None, index=True,
        description="The network's revision once this change committed (caches replay edits).",
    )
