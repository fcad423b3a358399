"""Accounts: create users, check passwords (argon2id), console sessions and API tokens, and revoking them.

Who may see and do what is decided in one place, `Principal`, which the console and the API both use:

    operator      takes calls, creates and works tickets (edit, note, SMS, the reporter's BATAL)
    supervisor    what an operator does, and reassigns, splits merged reports, judges the shield
    admin         what a supervisor does, and manages users (`hotline user ...`, /console/users)
    agency_staff  reads its own agency's tickets, board and scorecard; no calls, no citizens' numbers"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.models import ROLES, ApiToken, ConsoleSession, User, utcnow

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Checked against when the username is unknown, so a wrong name costs as long as a wrong password. Made at
    the first sign-in, not at import: hashing costs 150 ms of CPU, paid by every process that imports this."""
    return _hasher.hash("no such user")


MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "htl_"
TOKEN_DAYS = 90  # `hotline user token` without --days
SESSION_HOURS = 12  # one shift
SESSION_KEEP_DAYS = 30  # ended sessions' rows are deleted this long after they expired
TOKEN_USE_RESOLUTION = timedelta(minutes=1)  # a token's last use is written at most this often


class AccountError(ValueError):
    """A user or token that cannot be made or changed as asked: the message says why and how to fix it (for the
    CLI); `code` names the console's sentence for it (hotline/catalog, `admin_error`), `params` fill it."""

    def __init__(self, message: str, *, code: str, **params: Any):
        self.code, self.params = code, params
        super().__init__(message)


@dataclass(frozen=True)
class Principal:
    """Who is asking: the console's signed-in user or an API token's owner."""

    user_id: int
    username: str
    role: str
    agency_code: str | None

    @property
    def sees_all_agencies(self) -> bool:
        return self.role != "agency_staff"

    @property
    def can_edit_tickets(self) -> bool:
        return self.role in ("operator", "supervisor", "admin")

    @property
    def can_supervise(self) -> bool:
        """Reassign a ticket to another agency, split a merged report, clear a number or mark a prank call."""
        return self.role in ("supervisor", "admin")

    @property
    def can_manage_users(self) -> bool:
        return self.role == "admin"

    def may_see_agency(self, agency_code: str | None) -> bool:
        return self.sees_all_agencies or (agency_code is not None and agency_code == self.agency_code)


def principal_of(user: User) -> Principal:
    return Principal(user.id, user.username, user.role, user.agency_code)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session, *, config: CityConfig, username: str, role: str, password: str, agency: str | None = None
) -> User:
    username = username.strip()
    if not username or len(username) > 64 or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise AccountError("username: 1-64 letters, digits, '.', '-' or '_'", code="bad_username")
    _check_role(config, role, agency)
    _check_password(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} exists already", code="user_exists", username=username)
    user = User(username=username, role=role, agency_code=agency, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def _check_role(config: CityConfig, role: str, agency: str | None) -> None:
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not one of {', '.join(ROLES)}", code="bad_role")
    if role == "agency_staff" and not agency:
        raise AccountError("agency_staff needs --agency CODE (they see only that agency's tickets)", code="need_agency")
    if agency is not None and config.agency(agency) is None:
        known = ", ".join(a.code for a in config.agencies)
        raise AccountError(
            f"agency {agency!r} is not in routing/agencies.yaml (one of {known})", code="bad_agency", agency=agency
        )


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The active user with this name and password, else None (same cost either way)."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"password: at least {MIN_PASSWORD_LENGTH} characters", code="weak_password", min=MIN_PASSWORD_LENGTH
        )


def issue_token(session: Session, *, user: User, name: str = "", days: int | None = TOKEN_DAYS) -> str:
    """A new bearer token for `user`, valid `days` (None: until revoked); the plain token is returned once
    and never stored."""
    if days is not None and not 1 <= days <= 3660:
        raise AccountError("--days: 1 to 3660", code="bad_days")
    if not user.active:
        raise AccountError(
            f"user {user.username!r} is disabled; `hotline user enable {user.username}` first",
            code="user_disabled",
            username=user.username,
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=days) if days is not None else None
    session.add(ApiToken(user_id=user.id, name=name[:100], token_sha256=_digest(token), expires_at=expires))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user a token that is neither revoked nor expired belongs to."""
    if not token.isascii() or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(token), ApiToken.revoked_at.is_(None)))
    now = utcnow()
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    # "Last used" for the admin's token list, to the minute: not one write per request of a busy client.
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RESOLUTION:
        row.last_used_at = now
    return user


def revoke_tokens(session: Session, *, user: User, token_id: int | None = None) -> int:
    """Revoke the user's tokens (or only token `token_id`); how many were still valid."""
    stmt = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if token_id is not None:
        stmt = stmt.where(ApiToken.id == token_id)
    rows = list(session.scalars(stmt))
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)


# --- console sessions ---------------------------------------------------------------------------------


def open_session(session: Session, *, user: User, ip: str | None) -> tuple[str, datetime]:
    """A new console session for `user`: the key for the cookie (returned once, stored only as a hash)."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + timedelta(hours=SESSION_HOURS)
    # Sessions long over are of no use to anyone (the audit log keeps the sign-ins): they go as new ones come.
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now - timedelta(days=SESSION_KEEP_DAYS)))
    session.add(
        ConsoleSession(user_id=user.id, key_sha256=_digest(key), expires_at=expires, ip=(ip or "")[:64] or None)
    )
    session.flush()
    return key, expires


def user_for_session(session: Session, *, user_id: int, key: str) -> User | None:
    """The active user of a console session that is neither ended nor expired (else None)."""
    if not key.isascii() or len(key) > 100:
        return None
    row = session.scalar(
        select(ConsoleSession).where(ConsoleSession.key_sha256 == _digest(key), ConsoleSession.revoked_at.is_(None))
    )
    if row is None or row.user_id != user_id or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def end_session(session: Session, *, key: str) -> None:
    if key.isascii():
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.key_sha256 == _digest(key), ConsoleSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )


def end_sessions(session: Session, *, user: User) -> int:
    """End every console session of `user` (signed out everywhere); how many were open."""
    now = utcnow()
    result = session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user.id, ConsoleSession.revoked_at.is_(None), ConsoleSession.expires_at > now)
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def open_sessions(session: Session, *, user: User) -> int:
    now = utcnow()
    stmt = select(func.count()).where(
        ConsoleSession.user_id == user.id, ConsoleSession.revoked_at.is_(None), ConsoleSession.expires_at > now
    )
    return int(session.scalar(stmt) or 0)


# --- managing users -------------------------------------------------------------------------------------


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise AccountError(f"no user {username!r}; `hotline user list` shows them", code="no_user", username=username)
    return user


def set_password(session: Session, *, user: User, password: str) -> int:
    """A new password; every console session of the user ends (how many). API tokens stay."""
    _check_password(password)
    user.password_hash = hash_password(password)
    return end_sessions(session, user=user)


def disable_user(session: Session, *, user: User) -> tuple[int, int]:
    """The user can no longer sign in; their sessions end and their tokens are revoked (counts of each).
    `enable_user` lets them sign in again, with new tokens."""
    user.active = False
    return end_sessions(session, user=user), revoke_tokens(session, user=user)


def enable_user(session: Session, *, user: User) -> None:
    user.active = True


def active_admins(session: Session) -> int:
    """How many active admins there are, their rows locked: two admins demoting each other at once cannot both
    pass the last-admin check (PostgreSQL; SQLite runs one writer at a time anyway)."""
    admins = select(User.id).where(User.role == "admin", User.active.is_(True)).with_for_update()
    return len(session.scalars(admins).all())


def change_role(session: Session, *, config: CityConfig, user: User, role: str, agency: str | None = None) -> int:
    """A new role (and agency: agency staff only); the user's console sessions end so the new powers apply at
    once (how many). The last active admin keeps the role: nobody could manage users after."""
    agency = agency if role == "agency_staff" else None
    _check_role(config, role, agency)
    if user.role == "admin" and role != "admin" and user.active and active_admins(session) <= 1:
        raise AccountError(f"{user.username} is the last active admin; make another admin first", code="last_admin")
    user.role, user.agency_code = role, agency
    return end_sessions(session, user=user)
