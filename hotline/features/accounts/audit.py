"""The audit log: every change a person (or another system) makes is written in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hotline.models import AuditEntry


def audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str | None = None,
    target_id: object = None,
    ip: str | None = None,
    detail: str | None = None,
    **data: Any,
) -> AuditEntry:
    entry = AuditEntry(
        actor=actor[:64],
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip=ip,
        detail=detail,
        data=data,
    )
    session.add(entry)
    return entry
