"""API keys: created, listed and revoked from the command line, checked on every request.

A token reads ``pm_<key id>_<secret>``. Only the SHA-256 of the secret is stored: the secret
is 32 random bytes (256 bits), so a fast hash is as safe as a slow one here — nobody can
guess such a secret, and a stolen database yields no usable token. The token is shown once,
when the key is created.

Examples
--------
>>> from ponmodel.storage import make_engine, migrate
>>> engine = make_engine("sqlite://")
>>> migrate(engine)
>>> key, token = create_key(engine, role="viewer", name="kiosk")
>>> authenticate(engine, token).role
'viewer'
>>> revoke_key(engine, key["id"])["revoked_at"] is not None
True
>>> authenticate(engine, token)
Traceback (most recent call last):
...
ponmodel.errors.AuthenticationError: key ... has been revoked
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from ponmodel.access import ROLES, Principal
from ponmodel.elements import ApiKeyTable, OperatorTable
from ponmodel.errors import AuthenticationError, KeyRequestError, NotFoundError
from ponmodel.storage import read_snapshot

PREFIX = "pm"
_TABLE = ApiKeyTable.__table__


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _public(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "role": row["role"],
        "operator": row["operator"],
        "created_at": row["created_at"].isoformat(),
        "revoked_at": row["revoked_at"].isoformat() if row["revoked_at"] else None,
    }


def create_key(engine: Engine, *, role: str, operator: str | None = None,
               name: str | None = None) -> tuple[dict[str, Any], str]:
    """Create a key; return its public record and the token (shown only this once).

    Raises
    ------
    KeyRequestError
        For a role outside admin | planner | viewer, a planner without an operator, an
        admin with one, or an operator the stored network does not hold.
    """
    if role not in ROLES:
        msg = f"role must be one of {', '.join(ROLES)}, got {role!r}"
        raise KeyRequestError(msg)
    if role == "planner" and not operator:
        msg = "a planner key needs --operator: planners write only their operator's plant"
        raise KeyRequestError(msg)
    if role == "admin" and operator:
        msg = "an admin key has no operator: admins act for the whole network"
        raise KeyRequestError(msg)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = {
        "id": key_id,
        "name": name or f"{role} key" + (f" of {operator}" if operator else ""),
        "role": role,
        "operator": operator,
        "secret_sha256": _sha256(secret),
        "created_at": datetime.now(UTC),
        "revoked_at": None,
    }
    with engine.begin() as conn:
        if operator is not None:
            ops = OperatorTable.__table__
            found = conn.execute(select(ops.c.id).where(ops.c.id == operator)).first()
            if found is None:
                msg = f"operator {operator!r} is not in the stored network"
                raise KeyRequestError(msg)
        conn.execute(_TABLE.insert().values(**row))
    return _public(row), f"{PREFIX}_{key_id}_{secret}"


def list_keys(engine: Engine) -> list[dict[str, Any]]:
    """Every key, newest first, without secrets."""
    with engine.connect() as conn:
        rows = conn.execute(select(_TABLE).order_by(_TABLE.c.created_at.desc())).mappings()
        return [_public(r) for r in rows]


def revoke_key(engine: Engine, key_id: str) -> dict[str, Any]:
    """Revoke a key: every later request with it gets 401. Revoking twice keeps the first
    time."""
    with engine.begin() as conn:
        row = conn.execute(select(_TABLE).where(_TABLE.c.id == key_id)).mappings().first()
        if row is None:
            raise NotFoundError(kind="api key", element_id=key_id)
        if row["revoked_at"] is None:
            now = datetime.now(UTC)
            conn.execute(_TABLE.update().where(_TABLE.c.id == key_id).values(revoked_at=now))
            row = {**row, "revoked_at": now}
    return _public(row)


def authenticate(source: Engine | Connection, token: str) -> Principal:
    """The principal of a bearer token, read through ``source``: an engine (a connection
    of its own) or the caller's connection (in the caller's transaction).

    Raises
    ------
    AuthenticationError
        For a malformed token, an unknown key, a wrong secret or a revoked key.
    """
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:  # noqa: PLR2004
        msg = "malformed API key: expected 'pm_<key id>_<secret>'"
        raise AuthenticationError(msg)
    _, key_id, secret = parts
    if not (key_id.isascii() and key_id.isalnum() and len(key_id) <= 64  # noqa: PLR2004
            and secret.isascii() and secret.isprintable() and len(secret) <= 256):  # noqa: PLR2004
        msg = "malformed API key: expected 'pm_<key id>_<secret>'"
        raise AuthenticationError(msg)
    query = select(_TABLE).where(_TABLE.c.id == key_id)
    if isinstance(source, Connection):
        row = source.execute(query).mappings().first()
    else:
        with read_snapshot(source) as conn:
            row = conn.execute(query).mappings().first()
    if row is None or not hmac.compare_digest(row["secret_sha256"], _sha256(secret)):
        msg = "unknown API key"
        raise AuthenticationError(msg)
    if row["revoked_at"] is not None:
        msg = f"key {key_id!r} has been revoked"
        raise AuthenticationError(msg)
    return Principal(row["id"], row["name"], row["role"], row["operator"])
