"""Accounts: create users, check passwords (argon2id), issue and resolve API tokens.

Who may see what is decided in one place, `Principal`, which the console and the API both use."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.models import ROLES, ApiToken, User, utcnow

_hasher = PasswordHasher()
# Checked against when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no such user")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "htl_"


class AccountError(ValueError):
    """A user or token that cannot be made as asked (the message says why and how to fix it)."""


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
        raise AccountError("username: 1-64 letters, digits, '.', '-' or '_'")
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if role == "agency_staff" and not agency:
        raise AccountError("agency_staff needs --agency CODE (they see only that agency's tickets)")
    if agency is not None and config.agency(agency) is None:
        known = ", ".join(a.code for a in config.agencies)
        raise AccountError(f"agency {agency!r} is not in routing/agencies.yaml (one of {known})")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError(f"user {username!r} exists already")
    user = User(username=username, role=role, agency_code=agency, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The active user with this name and password, else None (same cost either way)."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, *, user: User, name: str = "") -> str:
    """A new bearer token for `user`; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name[:100], token_sha256=_digest(token)))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(token), ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def revoke_tokens(session: Session, *, user: User) -> int:
    rows = list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))))
    for row in rows:
        row.revoked_at = utcnow()
    return len(rows)
