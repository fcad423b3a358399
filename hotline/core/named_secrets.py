"""Secrets given to a named thing that is not a person: a partner app's Open311 key
(features/open311/partners.py) and a wallboard kiosk's link (features/wallboard/kiosk.py).

Both are made the same way and must stay so: a prefix that says what the secret is for, 32 random bytes, shown
once and stored only as its SHA-256; a name of a-z, 0-9, '.', '-', '_'; found again by the hash, never when
revoked. The features keep their own tables, limits, errors and words."""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import KioskToken, PartnerKey, utcnow

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_SECRET = 200  # longer is no secret of ours: refused before hashing

Named = TypeVar("Named", KioskToken, PartnerKey)


def normal_name(name: str) -> str | None:
    """The name as stored (trimmed, lower case), or None when it does not fit NAME."""
    name = name.strip().lower()
    return name if NAME.match(name) else None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def may_be_ours(secret: str, prefix: str) -> bool:
    """Worth a lookup: ASCII, our prefix, not too long (anything else is refused without touching the database)."""
    return secret.isascii() and secret.startswith(prefix) and len(secret) <= MAX_SECRET


def revoke_named(session: Session, model: type[Named], name: str) -> Named | None:
    """The row of that name, locked and stamped revoked (once: a second revoke keeps the first time)."""
    row = session.scalar(select(model).where(model.name == name.strip().lower()).with_for_update())
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
