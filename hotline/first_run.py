"""A fresh install: where the console is, and its first admin (nobody can sign in before one exists)."""

from __future__ import annotations

import getpass
from collections.abc import Callable

from hotline.db import unit_of_work
from hotline.features.accounts import user_list

FIRST_ADMIN_HINT = "No console user yet: create the first admin with `hotline user add NAME --role admin`."


def console_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # an address a browser can open
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/console"


def no_user_yet() -> bool:
    with unit_of_work() as session:
        return user_list.no_user_yet(session)


def ask_first_admin(
    ask: Callable[[str], str] = input,
    secret: Callable[[str], str] = getpass.getpass,
    say: Callable[[str], None] = print,
) -> str | None:
    """Ask for the first admin's name and password on the terminal; returns the name, or None if skipped
    (an empty name: the hint is printed instead)."""
    from hotline.core.city import current_config
    from hotline.features.accounts.accounts import AccountError, create_user
    from hotline.features.accounts.audit import audit

    say("No console user yet. Create the first admin now (leave the name empty to skip).")
    while True:
        name = ask("Admin name: ").strip()
        if not name:
            say(FIRST_ADMIN_HINT)
            return None
        password = secret("Password: ")
        if secret("Password again: ") != password:
            say("The two passwords differ; again.")
            continue
        try:
            with unit_of_work() as session:
                user = create_user(
                    session, config=current_config(), username=name, role="admin", password=password, agency=None
                )
                audit(session, actor="cli", action="user.add", target_type="user", target_id=user.id, role="admin")
        except AccountError as exc:
            say(f"{exc}; again.")
            continue
        say(f"user {name} (admin) created")
        return name
