"""`hotline user ...`: accounts for the console and the API (added to the `hotline` command in cli.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from hotline.models import ROLES, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

user_app = typer.Typer(
    help="Console accounts and API tokens: add, list, role, disable, enable, password, token, revoke.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Password again", hide_input=True) != first:
        err.print("the two passwords differ", style="red")
        raise typer.Exit(1)
    return first


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="the name to sign in with")],
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")],
    agency: Annotated[str | None, typer.Option(help="agency code from routing/ (required for agency_staff)")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Create a user; the password is asked for (or read from stdin) and stored as an argon2 hash."""
    from hotline.cli_database import prepare_database as _prepare_database
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.accounts.accounts import AccountError, create_user
    from hotline.features.accounts.audit import audit

    password = _read_password(password_stdin)
    _prepare_database()
    try:
        with unit_of_work() as session:
            user = create_user(
                session, config=current_config(), username=username, role=role, password=password, agency=agency
            )
            audit(session, actor="cli", action="user.add", target_type="user", target_id=user.id, role=role)
    except AccountError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    out.print(f"user {username} ({role}{', ' + agency if agency else ''}) created")


@user_app.command("token")
def user_token(
    username: Annotated[str, typer.Argument(help="whose token")],
    name: Annotated[str, typer.Option(help="what it is for, e.g. 'city app'")] = "",
    days: Annotated[int, typer.Option(min=1, max=3660, help="valid this many days")] = 90,
) -> None:
    """Issue an API token (Authorization: Bearer ...), valid --days (90); printed once, stored only as a hash."""
    from sqlalchemy import select

    from hotline.cli_database import prepare_database as _prepare_database
    from hotline.db import unit_of_work
    from hotline.features.accounts.accounts import issue_token
    from hotline.features.accounts.audit import audit

    _prepare_database()
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            err.print(f"no user {username!r}; create it with `hotline user add`", style="red")
            raise typer.Exit(1)
        if not user.active:
            err.print(f"user {username!r} is disabled; `hotline user enable {username}` first", style="red")
            raise typer.Exit(1)
        token = issue_token(session, user=user, name=name, days=days)
        audit(session, actor="cli", action="token.issue", target_type="user", target_id=user.id, name=name, days=days)
    print(token)


def _account_command(username: str, action: str, change: Callable[[Session, User], str]) -> None:
    """Run `change` on the user in one unit of work, audited as `action` by the cli; print what it says."""
    from hotline.cli_database import prepare_database as _prepare_database
    from hotline.db import unit_of_work
    from hotline.features.accounts.accounts import AccountError, find_user
    from hotline.features.accounts.audit import audit

    _prepare_database()
    try:
        with unit_of_work() as session:
            user = find_user(session, username)
            said = change(session, user)
            audit(session, actor="cli", action=action, target_type="user", target_id=user.id, username=user.username)
    except AccountError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    out.print(said, markup=False, highlight=False)


@user_app.command("list")
def user_list() -> None:
    """Every user: role, agency, active or not, open console sessions, valid API tokens (id, name, expiry)."""
    from sqlalchemy import select

    from hotline.cli_database import prepare_database as _prepare_database
    from hotline.db import unit_of_work
    from hotline.features.accounts.accounts import open_sessions
    from hotline.features.accounts.user_list import all_users
    from hotline.models import ApiToken, utcnow

    _prepare_database()
    now = utcnow()
    with unit_of_work() as session:
        for user in all_users(session):
            tokens = session.scalars(
                select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
            )
            valid = [
                f"#{t.id}{' ' + t.name if t.name else ''} until "
                + (f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "revoked")
                for t in tokens
                if t.expires_at is None or t.expires_at > now
            ]
            valid = [v.replace(" until revoked", " (no expiry)") for v in valid]
            print(
                f"{user.username}\t{user.role}\t{user.agency_code or '-'}\t{'active' if user.active else 'disabled'}"
                f"\tsessions {open_sessions(session, user=user)}\ttokens {', '.join(valid) or '-'}"
            )


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="who")]) -> None:
    """The user can no longer sign in: their console sessions end and their API tokens are revoked now."""
    from hotline.features.accounts.accounts import disable_user

    def change(session: Session, user: User) -> str:
        sessions, tokens = disable_user(session, user=user)
        return f"user {user.username} disabled; {sessions} session(s) ended, {tokens} token(s) revoked"

    _account_command(username, "user.disable", change)


@user_app.command("enable")
def user_enable(username: Annotated[str, typer.Argument(help="who")]) -> None:
    """Let a disabled user sign in again (their old tokens stay revoked: issue new ones)."""
    from hotline.features.accounts.accounts import enable_user

    def change(session: Session, user: User) -> str:
        enable_user(session, user=user)
        return f"user {user.username} enabled"

    _account_command(username, "user.enable", change)


@user_app.command("password")
def user_password(
    username: Annotated[str, typer.Argument(help="whose password")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin")] = False,
) -> None:
    """Set a new password; every console session of the user ends (API tokens stay)."""
    from hotline.features.accounts.accounts import set_password

    password = _read_password(password_stdin)

    def change(session: Session, user: User) -> str:
        ended = set_password(session, user=user, password=password)
        return f"password of {user.username} changed; {ended} session(s) ended"

    _account_command(username, "user.password", change)


@user_app.command("role")
def user_role(
    username: Annotated[str, typer.Argument(help="whose role")],
    role: Annotated[str, typer.Option(help=f"one of {', '.join(ROLES)}")],
    agency: Annotated[str | None, typer.Option(help="agency code from routing/ (required for agency_staff)")] = None,
) -> None:
    """Change a user's role (and agency, for agency_staff); their console sessions end so it applies at once."""
    from hotline.core.city import current_config
    from hotline.features.accounts.accounts import change_role

    def change(session: Session, user: User) -> str:
        ended = change_role(session, config=current_config(), user=user, role=role, agency=agency)
        return f"{user.username} is now {role}{', ' + agency if agency else ''}; {ended} session(s) ended"

    _account_command(username, "user.role", change)


@user_app.command("revoke")
def user_revoke(
    username: Annotated[str, typer.Argument(help="whose sessions and tokens")],
    token: Annotated[int | None, typer.Option(help="only this token (its #id in `hotline user list`)")] = None,
) -> None:
    """End every console session and revoke every API token of the user (or only token --token ID)."""
    from hotline.features.accounts.accounts import AccountError, end_sessions, revoke_tokens

    def change(session: Session, user: User) -> str:
        if token is not None:
            if not revoke_tokens(session, user=user, token_id=token):
                raise AccountError(f"{user.username} has no valid token #{token}", code="no_token", id=token)
            return f"token #{token} of {user.username} revoked"
        sessions, tokens = end_sessions(session, user=user), revoke_tokens(session, user=user)
        return f"{user.username}: {sessions} session(s) ended, {tokens} token(s) revoked"

    _account_command(username, "user.revoke", change)
