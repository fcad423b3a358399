"""What every CLI command that needs the database does first (hotline/cli.py, user_cli.py, partner_cli.py):
a module below them all, so the sub-commands do not import the CLI that includes them."""

from __future__ import annotations

import typer
from rich.console import Console

err = Console(stderr=True)


def prepare_database() -> None:
    """Migrate and mirror routing/ into the database; refuse to go on with broken city data."""
    from hotline.cityconfig import ConfigErrors
    from hotline.core.city import current_config, sync_routing
    from hotline.db import unit_of_work
    from hotline.migrate import upgrade

    try:
        config = current_config()
    except ConfigErrors as exc:
        err.print(f"[red]The city's data has errors:[/red]\n{exc}")
        raise typer.Exit(1) from None
    upgrade()
    with unit_of_work() as session:
        sync_routing(session, config=config)
