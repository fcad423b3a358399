"""Which of many console sessions are still signed in, in one query: the console's live streams check all of
theirs together each second (hotline/web/console/live_hub.py), not one query per open tab."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import ConsoleSession, User
from hotline.models.base import utcnow


def live_session_keys(session: Session, sessions: Iterable[tuple[int, str]]) -> set[str]:
    """The keys of `sessions` ((user id, session key) pairs) whose session has not ended, expired or lost its
    user (disabled): the same rule as accounts.user_for_session."""
    digests: dict[str, tuple[int, str]] = {}
    for user_id, key in sessions:
        if key.isascii() and len(key) <= 100:
            digests[hashlib.sha256(key.encode()).hexdigest()] = (user_id, key)
    if not digests:
        return set()
    rows = session.execute(
        select(ConsoleSession.key_sha256, ConsoleSession.user_id)
        .join(User, User.id == ConsoleSession.user_id)
        .where(
            ConsoleSession.key_sha256.in_(list(digests)),
            ConsoleSession.revoked_at.is_(None),
            ConsoleSession.expires_at > utcnow(),
            User.active.is_(True),
        )
    )
    return {digests[digest][1] for digest, user_id in rows if digests[digest][0] == user_id}
