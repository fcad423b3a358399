"""Revoking a partner key or a kiosk link from the admin screens: the same locked read, stamp and audit line."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from hotline.features.accounts.audit import audit
from hotline.models import KioskToken, PartnerKey, utcnow
from hotline.web.console.auth import ConsoleUser

Revocable = TypeVar("Revocable", KioskToken, PartnerKey)


def revoke_row(session: Session, user: ConsoleUser, model: type[Revocable], row_id: int, kind: str) -> bool:
    """Stamp `revoked_at` (once) and audit `<kind>.revoke`, in the request's transaction; False when there is no
    such row."""
    row = session.get(model, row_id, with_for_update=True)
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    audit(
        session,
        actor=user.principal.username,
        action=f"{kind}.revoke",
        target_type=kind,
        target_id=row.name,
        ip=user.ip,
    )
    return True
