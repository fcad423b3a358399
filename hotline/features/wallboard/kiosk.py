"""Kiosk tokens: made and revoked by admins (`hotline kiosk ...`, /console/users), each change audited by the
caller. A token opens the wallboard and its data only: it is not a person, never signs in, never times out,
and stops at once when revoked (every request looks it up)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.core.named_secrets import digest, may_be_ours, new_secret, normal_name, revoke_named
from hotline.models import KioskToken, utcnow

TOKEN_PREFIX = "kiosk_"
USE_NOTED_EVERY = timedelta(minutes=5)  # last_used_at is written this often at most, not at every poll


class KioskError(ValueError):
    """A token that cannot be made or revoked as asked (the message for the CLI); `code` names the console's
    sentence (hotline/catalog, `map` section)."""

    def __init__(self, message: str, *, code: str, **params: Any):
        self.code, self.params = code, params
        super().__init__(message)


def add_kiosk(session: Session, *, name: str, created_by: str) -> str:
    """A new token for the screen `name`; the plain token is returned once and only its hash is stored."""
    name = normal_name(name) or ""
    if not name:
        raise KioskError("name: 1-64 of a-z, 0-9, '.', '-' or '_', e.g. tv-ruang-kendali", code="kiosk_name_bad")
    if session.scalar(select(KioskToken.id).where(KioskToken.name == name)) is not None:
        raise KioskError(
            f"kiosk {name!r} exists already (revoke it and add another name for a new token)",
            code="kiosk_exists",
            name=name,
        )
    token = new_secret(TOKEN_PREFIX)
    session.add(KioskToken(name=name, token_sha256=digest(token), created_by=created_by[:64]))
    session.flush()
    return token


def revoke_kiosk(session: Session, *, name: str) -> KioskToken:
    row = revoke_named(session, KioskToken, name)
    if row is None:
        raise KioskError(f"no kiosk {name!r}; `hotline kiosk list` shows them", code="kiosk_unknown", name=name)
    return row


def list_kiosks(session: Session) -> list[KioskToken]:
    return list(session.scalars(select(KioskToken).order_by(KioskToken.name)))


def kiosk_for_token(session: Session, token: str | None) -> KioskToken | None:
    """The kiosk a token that is not revoked belongs to (its last use noted now and then); None otherwise."""
    if token is None or not may_be_ours(token, TOKEN_PREFIX):
        return None
    row = session.scalar(select(KioskToken).where(KioskToken.token_sha256 == digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > USE_NOTED_EVERY:
        row.last_used_at = now
    return row
