"""`hotline spool ...`: this host's spool of reports kept while the database was down (hotline/spool/)."""

from __future__ import annotations

from typing import Annotated

import typer

spool_app = typer.Typer(
    help="Reports kept in HOTLINE_DATA_DIR/spool while the database was down: see, replay.", no_args_is_help=True
)


@spool_app.command("status")
def spool_status() -> None:
    """How many reports wait (pending) and how many could not be replayed (bad); exit 1 if any wait."""
    from hotline.spool.store import current_spool

    spool = current_spool()
    pending, bad = spool.depth(), spool.bad_count()
    typer.echo(f"spool {spool.root}: {pending} pending, {bad} bad")
    if pending:
        raise typer.Exit(1)


@spool_app.command("list")
def spool_list(
    bad: Annotated[bool, typer.Option("--bad", help="the records that could not be replayed")] = False,
) -> None:
    """One line per record, oldest first: file, type, gateway or provider, id, sender."""
    from hotline.spool.store import Spool, SpoolUnreadable, current_spool

    spool = current_spool()
    for path in spool.bad() if bad else spool.pending():
        try:
            record = Spool.read(path)
        except (SpoolUnreadable, OSError) as exc:
            typer.echo(f"{path.name}  unreadable: {exc}")
            continue
        if record.get("type") == "sms":
            sms = record.get("sms") or {}
            typer.echo(f"{path.name}  sms  {sms.get('gateway')}  {sms.get('gateway_id')}  from {sms.get('sender')}")
        else:
            typer.echo(
                f"{path.name}  {record.get('type')}  {record.get('provider')}  {record.get('call_id')}  "
                f"from {record.get('caller')}"
            )


@spool_app.command("replay")
def spool_replay() -> None:
    """Replay now (every `hotline serve` does it by itself within a second of the database's return). Exit 1
    while records are left (the database still down, or another replayer at it)."""
    from hotline.spool.replay import replay

    result = replay()
    typer.echo(
        f"stored {result.stored}, already stored {result.repeats}, bad {result.bad}, left {result.left}"
        + (" (another process is replaying)" if result.busy else "")
    )
    if result.left:
        raise typer.Exit(1)
