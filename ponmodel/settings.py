"""Settings read from the environment (``PONMODEL_*``), shared by the CLI and the API.

Examples
--------
>>> Settings(database_url="sqlite://").database_url
'sqlite://'
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """The embedded SQLite file, ``$PONMODEL_HOME/ponmodel.db`` (default ``~/.ponmodel``)."""
    import os

    home = Path(os.environ.get("PONMODEL_HOME") or Path.home() / ".ponmodel")
    return f"sqlite:///{home / 'ponmodel.db'}"


class Settings(BaseSettings):
    """Runtime settings; every field can be set as ``PONMODEL_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="PONMODEL_", extra="ignore")
    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL; the embedded SQLite file unless a PostgreSQL URL is given.",
    )
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the API listens on.")
    max_body_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1024,
        description="Largest body of a whole-network import (/import, /import/geojson), bytes.",
    )
    max_request_body_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024,
        description="Largest body of any other request, bytes (what-if, placement, routes, "
        "reservations, edits).",
    )
    body_timeout_s: float = Field(
        default=30.0, gt=0, description="Seconds a request's whole body may take to arrive "
        "(408 after that); imports get import_timeout_s.",
    )
    header_timeout_s: float = Field(
        default=10.0, gt=0, description="Seconds a connection may take to send a request's "
        "headers, from its opening or the request's first byte (`ponmodel serve` closes it "
        "after that).",
    )
    trusted_proxies: str = Field(
        default="", description="Comma-separated addresses of reverse proxies in front of "
        "the API (uvicorn's --forwarded-allow-ips). Their requests, and any request carrying "
        "a proxy header, never count as the loopback viewer; `ponmodel serve` then takes the "
        "client address from their X-Forwarded-For.",
    )
    page_size_max: int = Field(default=1000, ge=1, description="Largest page of a list endpoint.")
    local_viewer: bool = Field(
        default=True,
        description="Requests from this machine's loopback address without a key and without "
        "proxy headers read everything as a viewer (the local demo). Set false, or name the "
        "proxy in trusted_proxies, when a reverse proxy on the same machine forwards "
        "requests without proxy headers.",
    )
    request_timeout_s: float = Field(
        default=30.0, gt=0, description="A request (other than an import) still running "
        "after this many seconds gets 503. The answer is abandoned, not the work: a write "
        "that was under way either commits or rolls back whole (see the audit log).",
    )
    import_timeout_s: float = Field(
        default=900.0, gt=0, description="The same limit for /import and /import/geojson.",
    )
    max_in_flight: int = Field(
        default=16, ge=0, description="Requests one worker process serves at once; one more "
        "gets 503 with Retry-After at once, so that an overload is turned away instead of "
        "queueing until every answer is late (0: no limit). /health is never turned away.",
    )

    @property
    def trusted_proxy_set(self) -> frozenset[str]:
        """:attr:`trusted_proxies` as a set of addresses."""
        return frozenset(a.strip() for a in self.trusted_proxies.split(",") if a.strip())
