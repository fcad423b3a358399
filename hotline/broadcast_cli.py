"""`hotline broadcast ...`: early warnings from the command line (the console has the same, issue 21).

The CLI runs on the server, for its administrators: `--as` names the person (the console takes its signed-in
operator). The two-person rule holds here too: the approver must not be the author."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hotline.features.broadcasts.errors import BroadcastError

broadcast_app = typer.Typer(
    help="Early warnings to desa: draft, approve, cancel, progress, subscribers.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)


def _fail(exc: BroadcastError) -> typer.Exit:
    err.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = width if total == 0 else width * done // total
    return "[" + "#" * filled + "-" * (width - filled) + "]"


@broadcast_app.command("draft")
def draft_cmd(
    hazard: Annotated[str, typer.Argument(help="a hazard of sms/broadcasts.yaml: landslide, flood, eruption")],
    areas: Annotated[list[str], typer.Argument(help="desa or kecamatan names")],
    author: Annotated[str, typer.Option("--as", help="who drafts it")],
    checkin: Annotated[
        int | None, typer.Option(help="ask AMAN/BANTU; list who has not answered after N minutes")
    ] = None,
    text_id: Annotated[str | None, typer.Option(help="own Indonesian text instead of the template")] = None,
    text_en: Annotated[str | None, typer.Option(help="own English text instead of the template")] = None,
) -> None:
    """Draft a warning; prints its number, texts and SMS parts. It is sent once another person approves it."""
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.broadcasts.drafting import draft
    from hotline.sms.encoding import measure

    texts = {k: v for k, v in (("id", text_id), ("en", text_en)) if v is not None}
    try:
        with unit_of_work() as session:
            broadcast = draft(
                session,
                config=current_config(),
                hazard=hazard,
                areas=areas,
                author=author,
                checkin_minutes=checkin,
                texts=texts or None,
            )
            number, desa, bodies = broadcast.id, broadcast.desa, (broadcast.body_id, broadcast.body_en)
    except BroadcastError as exc:
        raise _fail(exc) from None
    out.print(f"broadcast {number} drafted for {', '.join(desa)}", markup=False)
    for lang, body in zip(("id", "en"), bodies, strict=True):
        size = measure(body)
        typer.echo(f"  {lang} ({size.segments} SMS, {size.length} {size.encoding}): {body}")
    out.print(f"approve it (another person): hotline broadcast approve {number} --as NAME", markup=False)


@broadcast_app.command("approve")
def approve_cmd(
    number: int, approver: Annotated[str, typer.Option("--as", help="who approves it (not its author)")]
) -> None:
    """Approve a draft: its recipients are listed and the sender starts."""
    from hotline.db import unit_of_work
    from hotline.features.broadcasts.drafting import approve

    try:
        with unit_of_work() as session:
            count = approve(session, broadcast_id=number, approver=approver)
    except BroadcastError as exc:
        raise _fail(exc) from None
    out.print(f"broadcast {number} approved: {count} recipients", markup=False)


@broadcast_app.command("cancel")
def cancel_cmd(number: int, actor: Annotated[str, typer.Option("--as", help="who cancels it")]) -> None:
    """Stop a broadcast: what was not yet handed to a gateway is not sent."""
    from hotline.db import unit_of_work
    from hotline.features.broadcasts.drafting import cancel

    try:
        with unit_of_work() as session:
            count = cancel(session, broadcast_id=number, actor=actor)
    except BroadcastError as exc:
        raise _fail(exc) from None
    out.print(f"broadcast {number} cancelled: {count} SMS not sent", markup=False)


@broadcast_app.command("status")
def status_cmd(
    number: int,
    watch: Annotated[bool, typer.Option(help="redraw every second until it is finished")] = False,
) -> None:
    """Progress (queued/sending/sent/delivered/failed), and the check-in tally per desa."""
    from hotline.db import unit_of_work
    from hotline.features.broadcasts import checkin
    from hotline.features.broadcasts.progress import progress
    from hotline.models import BroadcastStatus

    while True:
        try:
            with unit_of_work() as session:
                p = progress(session, broadcast_id=number)
                tally = checkin.tally(session, broadcast_id=number) if p.checkin_minutes else []
        except BroadcastError as exc:
            raise _fail(exc) from None
        counts = " ".join(f"{k} {v}" for k, v in p.counts.items() if v)
        out.print(
            f"broadcast {p.broadcast_id} ({p.hazard}) {p.status} {_bar(p.finished, p.total)} "
            f"{p.percent}% of {p.total}: {counts or 'no recipients'}",
            markup=False,
        )
        for row in tally:
            out.print(
                f"  {row.desa}: AMAN {row.aman}, BANTU {row.bantu}, no answer {row.silent} (of {row.sent} sent)",
                markup=False,
            )
        if not watch or p.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
            return
        time.sleep(1)


@broadcast_app.command("list")
def list_cmd() -> None:
    """The latest broadcasts."""
    from hotline.db import unit_of_work
    from hotline.features.broadcasts.progress import recent

    with unit_of_work() as session:
        for b in recent(session):
            out.print(
                f"{b.id} {b.status} {b.hazard} {', '.join(b.desa)} by {b.created_by}"
                f"{' approved by ' + b.approved_by if b.approved_by else ''}",
                markup=False,
            )


@broadcast_app.command("to-call")
def to_call_cmd(number: int) -> None:
    """Who to call: no answer after the check-in's minutes, and everyone who answered BANTU."""
    from hotline.db import unit_of_work
    from hotline.features.broadcasts import checkin

    with unit_of_work() as session:
        rows = checkin.to_call(session, broadcast_id=number)
    for desa, phone in rows:
        typer.echo(f"{desa}\t{phone}")  # tab-separated: for a spreadsheet or a script
    if not rows:
        out.print("nobody to call (yet)", markup=False)


@broadcast_app.command("subscribers")
def subscribers_cmd() -> None:
    """Subscribers per desa (opted-out numbers not counted)."""
    from hotline.db import unit_of_work
    from hotline.features.broadcasts.subscribers import counts_per_desa

    with unit_of_work() as session:
        counts = counts_per_desa(session)
    for desa, count in counts.items():
        typer.echo(f"{desa}\t{count}")
    typer.echo(f"total\t{sum(counts.values())}")


@broadcast_app.command("import")
def import_cmd(
    csv_file: Annotated[Path, typer.Argument(help="CSV with columns phone, desa, consent[, language, channel]")],
) -> None:
    """Import subscribers the city collected with their consent: all rows or none (file:row errors)."""
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.broadcasts.csv_import import import_csv
    from hotline.settings import get_settings

    try:
        text = csv_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"{csv_file}: cannot be read: {exc}", markup=False)
        raise typer.Exit(1) from None
    try:
        with unit_of_work() as session:
            count = import_csv(
                session,
                config=current_config(),
                text=text,
                file_name=csv_file.name,
                region=get_settings().default_region,
            )
    except BroadcastError as exc:
        raise _fail(exc) from None
    out.print(f"{count} subscribers imported from {csv_file.name}", markup=False)


@broadcast_app.command("sender")
def sender_cmd() -> None:
    """Run the broadcast sender alone (each `hotline worker` starts one; one sends at a time)."""
    from hotline.jobs.broadcast_sender import sender_main

    sender_main(None)
