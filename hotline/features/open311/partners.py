"""Partner apps' Open311 keys: made and revoked by admins (`hotline partner ...`, /console/users), checked on
/open311/v2 only, and limited per key per minute in Redis (shared by every API process).

A key is never a person's token: it cannot sign in to the console nor call /api/v1, and what it reads is
the public view of requests (hotline/features/open311/public_view.py)."""

from __future__ import annotations

from typing import Any

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.core.named_secrets import digest, may_be_ours, new_secret, normal_name, revoke_named
from hotline.models import PartnerKey, utcnow

KEY_PREFIX = "o311_"
DEFAULT_PER_MINUTE = 30
RATE_WINDOW_SECONDS = 60


class PartnerError(ValueError):
    """A key that cannot be made or revoked as asked (the message says why and how to fix it, for the CLI);
    `code` names the console's sentence for it (hotline/catalog, `error`)."""

    def __init__(self, message: str, *, code: str, **params: Any):
        self.code, self.params = code, params
        super().__init__(message)


def add_partner(session: Session, *, name: str, created_by: str, per_minute: int = DEFAULT_PER_MINUTE) -> str:
    """A new key for the app `name`; the plain key is returned once and only its hash is stored."""
    name = normal_name(name) or ""
    if not name:
        raise PartnerError("name: 1-64 of a-z, 0-9, '.', '-' or '_', e.g. batt-app", code="partner_name_bad")
    if not 1 <= per_minute <= 10_000:
        raise PartnerError("--per-minute: 1 to 10000", code="partner_limit_bad")
    if session.scalar(select(PartnerKey.id).where(PartnerKey.name == name)) is not None:
        raise PartnerError(
            f"partner {name!r} exists already (revoke it and add another name for a new key)",
            code="partner_exists",
            name=name,
        )
    key = new_secret(KEY_PREFIX)
    session.add(PartnerKey(name=name, key_sha256=digest(key), per_minute=per_minute, created_by=created_by[:64]))
    session.flush()
    return key


def revoke_partner(session: Session, *, name: str) -> PartnerKey:
    row = revoke_named(session, PartnerKey, name)
    if row is None:
        raise PartnerError(f"no partner {name!r}; `hotline partner list` shows them", code="partner_unknown", name=name)
    return row


def list_partners(session: Session) -> list[PartnerKey]:
    return list(session.scalars(select(PartnerKey).order_by(PartnerKey.name)))


def partner_for_key(session: Session, key: str) -> PartnerKey | None:
    """The partner a key that is not revoked belongs to; its last use is noted."""
    if not may_be_ours(key, KEY_PREFIX):
        return None
    row = session.scalar(select(PartnerKey).where(PartnerKey.key_sha256 == digest(key)))
    if row is None or row.revoked_at is not None:
        return None
    row.last_used_at = utcnow()
    return row


def within_rate(redis: Redis, *, partner_id: int, per_minute: int) -> bool:
    """Count one use of the key; False once it is past its limit within the minute that began with the first use
    counted (SET NX EX starts it: EXPIRE NX needs Redis 7, the embedded one is 6.2)."""
    counter = f"hotline:open311-rate:{partner_id}"
    with redis.pipeline() as pipe:
        pipe.set(counter, 0, ex=RATE_WINDOW_SECONDS, nx=True)
        pipe.incr(counter)
        _, count = pipe.execute()
    return int(count) <= per_minute
