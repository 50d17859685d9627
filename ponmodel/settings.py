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
        default=256 * 1024 * 1024, ge=1024, description="Largest request body accepted, bytes."
    )
    page_size_max: int = Field(default=1000, ge=1, description="Largest page of a list endpoint.")
    local_viewer: bool = Field(
        default=True,
        description="Requests from this machine's loopback address without a key and without "
        "proxy headers read everything as a viewer (the local demo). Set false when a "
        "reverse proxy on the same machine forwards requests without X-Forwarded-For.",
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
