"""`hotline user ...`: accounts for the console and the API (added to the `hotline` command in cli.py)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from hotline.models import ROLES

user_app = typer.Typer(help="Console accounts and API tokens.", no_args_is_help=True)
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
    from hotline.cli import _prepare_database
    from hotline.db import unit_of_work
    from hotline.services.accounts import AccountError, create_user
    from hotline.services.audit import audit
    from hotline.services.city import current_config

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
) -> None:
    """Issue an API token (Authorization: Bearer ...); it is printed once and stored only as a hash."""
    from sqlalchemy import select

    from hotline.cli import _prepare_database
    from hotline.db import unit_of_work
    from hotline.models import User
    from hotline.services.accounts import issue_token
    from hotline.services.audit import audit

    _prepare_database()
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            err.print(f"no user {username!r}; create it with `hotline user add`", style="red")
            raise typer.Exit(1)
        token = issue_token(session, user=user, name=name)
        audit(session, actor="cli", action="token.issue", target_type="user", target_id=user.id, name=name)
    print(token)
