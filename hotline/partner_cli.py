"""`hotline partner ...`: Open311 keys of partner apps (added to the `hotline` command in cli.py).

A key files and reads requests on /open311/v2 only; it is not a person's token (`hotline user token`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

partner_app = typer.Typer(help="Open311 keys of partner apps: add, list, revoke.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


@partner_app.command("add")
def partner_add(
    name: Annotated[str, typer.Argument(help="the app, e.g. batt-app (a-z, 0-9, '.', '-', '_')")],
    per_minute: Annotated[int, typer.Option(min=1, max=10_000, help="requests a minute before 429 (30)")] = 30,
) -> None:
    """Make a key for a partner app; it is printed once (only its hash is stored). Give it to the app as api_key."""
    from hotline.cli_database import prepare_database as _prepare_database
    from hotline.db import unit_of_work
    from hotline.features.accounts.audit import audit
    from hotline.features.open311.partners import PartnerError, add_partner

    _prepare_database()
    try:
        with unit_of_work() as session:
            key = add_partner(session, name=name, created_by="cli", per_minute=per_minute)
            audit(session, actor="cli", action="partner.add", target_type="partner", target_id=name.strip().lower())
    except PartnerError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    print(key)


@partner_app.command("list")
def partner_list() -> None:
    """Every partner: its limit a minute, when it was made, last used, and whether it is revoked."""
    from hotline.cli_database import prepare_database as _prepare_database
    from hotline.db import unit_of_work
    from hotline.features.open311.partners import list_partners

    _prepare_database()
    with unit_of_work() as session:
        for row in list_partners(session):
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            print(f"{row.name}\t{row.per_minute}/min\tmade {row.created_at:%Y-%m-%d}\tlast used {used}\t{state}")


@partner_app.command("revoke")
def partner_revoke(name: Annotated[str, typer.Argument(help="the partner whose key stops working now")]) -> None:
    """Revoke a partner's key: every request with it is refused (403) from now on."""
    from hotline.cli_database import prepare_database as _prepare_database
    from hotline.db import unit_of_work
    from hotline.features.accounts.audit import audit
    from hotline.features.open311.partners import PartnerError, revoke_partner

    _prepare_database()
    try:
        with unit_of_work() as session:
            row = revoke_partner(session, name=name)
            audit(session, actor="cli", action="partner.revoke", target_type="partner", target_id=row.name)
    except PartnerError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    out.print(f"partner {name.strip().lower()}: key revoked", markup=False, highlight=False)
