"""`hotline kiosk ...`: read-only kiosk links for the wallboard's big screens (added to `hotline` in cli.py).

A kiosk token opens /console/wallboard and its data only; it is not a person and never signs in."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

kiosk_app = typer.Typer(help="Kiosk links for the wallboard screen: add, list, revoke.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


def kiosk_link(token: str) -> str:
    from hotline.settings import get_settings

    settings = get_settings()
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    return f"{base}/console/wallboard?kiosk={token}"


@kiosk_app.command("add")
def kiosk_add(
    name: Annotated[str, typer.Argument(help="the screen, e.g. tv-ruang-kendali (a-z, 0-9, '.', '-', '_')")],
) -> None:
    """Make a kiosk link for a screen; it is printed once (only its hash is stored). Open it on the screen."""
    from hotline.cli_database import prepare_database as _prepare_database
    from hotline.db import unit_of_work
    from hotline.features.accounts.audit import audit
    from hotline.features.wallboard.kiosk import KioskError, add_kiosk

    _prepare_database()
    try:
        with unit_of_work() as session:
            token = add_kiosk(session, name=name, created_by="cli")
            audit(session, actor="cli", action="kiosk.add", target_type="kiosk", target_id=name.strip().lower())
    except KioskError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    print(kiosk_link(token))


@kiosk_app.command("list")
def kiosk_list() -> None:
    """Every kiosk screen: when it was made, last used, and whether it is revoked."""
    from hotline.cli_database import prepare_database as _prepare_database
    from hotline.db import unit_of_work
    from hotline.features.wallboard.kiosk import list_kiosks

    _prepare_database()
    with unit_of_work() as session:
        rows = list_kiosks(session)
        if not rows:
            print("no kiosk screens; `hotline kiosk add NAME` makes one")
        for row in rows:
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            print(f"{row.name}\tmade {row.created_at:%Y-%m-%d} by {row.created_by}\tlast used {used}\t{state}")


@kiosk_app.command("revoke")
def kiosk_revoke(name: Annotated[str, typer.Argument(help="the screen whose link stops working now")]) -> None:
    """Revoke a screen's kiosk link: the screen is refused at its next request (within seconds)."""
    from hotline.cli_database import prepare_database as _prepare_database
    from hotline.db import unit_of_work
    from hotline.features.accounts.audit import audit
    from hotline.features.wallboard.kiosk import KioskError, revoke_kiosk

    _prepare_database()
    try:
        with unit_of_work() as session:
            row = revoke_kiosk(session, name=name)
            audit(session, actor="cli", action="kiosk.revoke", target_type="kiosk", target_id=row.name)
    except KioskError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    out.print(f"kiosk {name.strip().lower()}: link revoked", markup=False, highlight=False)
