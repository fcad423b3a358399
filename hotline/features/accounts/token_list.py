"""API tokens as the admin screens show them: every token with its owner (/console/admin/tokens), how many valid
ones each user has (/console/users), and revoking one by its id. Made with `issue_token`
(hotline/features/accounts/accounts.py), as `hotline user token` makes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.features.accounts.accounts import AccountError
from hotline.models import ApiToken, User, utcnow

LIST_LIMIT = 500  # newest first; more than a city issues in years


@dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    username: str
    role: str
    agency_code: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        """valid | expired | revoked (a catalog code of `admin`, token_state_<state>)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "valid"


def list_tokens(session: Session, *, limit: int = LIST_LIMIT) -> list[TokenRow]:
    rows = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc()).limit(limit)
    )
    return [
        TokenRow(
            t.id, t.name, u.username, u.role, u.agency_code, t.created_at, t.last_used_at, t.expires_at, t.revoked_at
        )
        for t, u in rows
    ]


def valid_token_counts(session: Session) -> dict[int, int]:
    """User id -> how many of their tokens are valid (neither revoked nor expired); users without one are left out."""
    now = utcnow()
    stmt = (
        select(ApiToken.user_id, func.count())
        .where(ApiToken.revoked_at.is_(None), (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now))
        .group_by(ApiToken.user_id)
    )
    return {user_id: int(count) for user_id, count in session.execute(stmt)}


def revoke_token(session: Session, *, token_id: int) -> ApiToken:
    """Revoke one token (refused at once by /api/v1); revoking a revoked one changes nothing."""
    row = session.get(ApiToken, token_id, with_for_update=True)
    if row is None:
        raise AccountError(f"no token #{token_id}", code="no_token", id=token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
