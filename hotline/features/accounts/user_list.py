"""Users as the admin screens (/console/users, /console/admin/tokens), `hotline user list` and the first run
list them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.models import User


def all_users(session: Session) -> list[User]:
    """Every user, active or not, by username."""
    return list(session.scalars(select(User).order_by(User.username)))


def active_usernames(session: Session) -> list[str]:
    """Who may be given an API token: the active users' names, sorted."""
    return list(session.scalars(select(User.username).where(User.active.is_(True)).order_by(User.username)))


def no_user_yet(session: Session) -> bool:
    """A fresh install: nobody can sign in before the first user is made."""
    return session.scalar(select(User.id).limit(1)) is None
