"""The `hotline` command."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from hotline.broadcast_cli import broadcast_app  # early warnings to desa (issue 21)
from hotline.cli_database import prepare_database as _prepare_database
from hotline.farmers_cli import farmers_app  # Dinas Pertanian's farmer registry and outbreaks
from hotline.kiosk_cli import kiosk_app  # read-only kiosk links for the wallboard
from hotline.partner_cli import partner_app  # Open311 keys of partner apps
from hotline.settings import get_settings
from hotline.shield_cli import shield_app  # the junk-call shield's report
from hotline.sms_cli import sms_app  # what SMS gateways call on this host (Gammu's RunOnReceive)
from hotline.spool_cli import spool_app  # reports kept while the database was down
from hotline.user_cli import user_app  # accounts are their own concern, in their own module

if TYPE_CHECKING:
    from hotline.cityconfig import CityConfig
    from hotline.features.scorecard import Scorecard
    from hotline.features.tickets.timeline import TicketView
    from hotline.settings import Settings
    from hotline.simulate_call import SimulatedCall

app = typer.Typer(
    help="Hotline: telephony and SMS hotline gateway for city command centers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
config_app = typer.Typer(help="The city's data in ivr_flows/, sms/ and routing/.", no_args_is_help=True)
simulate_app = typer.Typer(help="Try the hotline without Twilio or Asterisk.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
ticket_app = typer.Typer(help="Tickets, as operators see them.", no_args_is_help=True)
app.add_typer(simulate_app, name="simulate")
app.add_typer(ticket_app, name="ticket")
prompts_app = typer.Typer(help="IVR prompt audio (espeak-ng, or the city's recordings).", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")
app.add_typer(user_app, name="user")
app.add_typer(shield_app, name="shield")
app.add_typer(partner_app, name="partner")
app.add_typer(kiosk_app, name="kiosk")
app.add_typer(sms_app, name="sms")
app.add_typer(broadcast_app, name="broadcast")
app.add_typer(spool_app, name="spool")
app.add_typer(farmers_app, name="farmers")
console = Console()
err = Console(stderr=True)


def _logging(level: str = "INFO") -> None:
    from hotline.logs import configure

    configure(level, get_settings().log_format)  # HOTLINE_LOG_FORMAT=json: one JSON object per line


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations, then load routing/ (agencies, URCs, members) into the database."""
    _prepare_database()
    console.print("database is up to date; routing/ loaded")


@config_app.command("check")
def config_check(
    directory: Annotated[Path | None, typer.Argument(help="folder with routing/, sms/ and ivr_flows/")] = None,
) -> None:
    """Validate the settings (exit 2, one line each) and ivr_flows/, sms/ and routing/ (exit 1, file:line)."""
    from hotline.cityconfig import ConfigErrors, load_city_config

    settings = get_settings()  # settings that cannot work stop here, one line each (main)
    console.print(_settings_summary(settings), markup=False, highlight=False, soft_wrap=True)
    from hotline.features.media.s3_store import describe

    console.print(describe(settings), markup=False, highlight=False, soft_wrap=True)
    _refuse_gateway_problems(settings)
    console.print(settings.sms_routing.summary(), markup=False, highlight=False, soft_wrap=True)
    for note in settings.sms_routing.notes:
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    folder = directory or settings.config_dir
    try:
        config = load_city_config(folder, settings.default_region)
    except ConfigErrors as exc:
        for error in exc.errors:
            err.print(str(error), markup=False, highlight=False)
        err.print(f"{len(exc.errors)} error(s) in {folder}")
        raise typer.Exit(1) from None
    members = sum(len(u.members) for a in config.agencies for u in a.urcs)
    flows = ", ".join(f"{f.id} {f.version} ({len(f.nodes)} nodes)" for f in config.ivr_flows.values())
    console.print(
        f"OK: {len(config.agencies)} agencies, {members} URC members, {len(config.categories)} categories, "
        f"{len(config.rules)} routing rules, {len(config.replies.templates)} SMS replies, "
        f"duplicate merging for {_merging_summary(config)}, "
        f"IVR flows: {flows or 'none (no ivr_flows/ folder)'} in {folder}"
    )
    if config.farming.enabled:  # routing/farming.yaml (issue 22)
        farm, watch = config.farming, config.farming.outbreak
        console.print(
            f"farming: {len(farm.officers)} field officers in {len(farm.ppl_urc_codes)} desa teams of {farm.agency}, "
            f"{len(farm.subcategories)} sub-categories, {len(farm.commodities)} commodities; outbreak at "
            f"{watch.reports} reports within {watch.radius_km:g} km in {watch.window_days:g} days",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    from hotline.features.broadcasts import city_data as broadcasts

    if (Path(folder) / broadcasts.FILE).is_file():  # early warnings (issue 21); a city may not have them yet
        try:
            warnings_data = broadcasts.load(folder, {c.code for c in config.categories})
        except ConfigErrors as exc:
            for error in exc.errors:
                err.print(str(error), markup=False, highlight=False)
            raise typer.Exit(1) from None
        console.print(f"early warnings: {', '.join(sorted(warnings_data.hazards))}", markup=False, highlight=False)
    from hotline.features.sms import whatsapp_templates

    wrong = whatsapp_templates.check(Path(folder))  # read at run time with only a log line when broken
    if wrong:
        for error in wrong:
            err.print(str(error), markup=False, highlight=False)
        err.print(f"{len(wrong)} error(s) in {folder}")
        raise typer.Exit(1)
    from hotline.features.sms.sms_lengths import warnings

    for warning in warnings(config):  # the city can still go live: a warning, never an error
        err.print(warning, markup=False, highlight=False, soft_wrap=True)
    _whatsapp_alerts_summary(settings, Path(folder))
    from hotline.channels.voice_gateways import voice_findings, voice_summary
    from hotline.features.calls.call_flows import ALERT_FLOW

    line = voice_summary(settings, has_alert_flow=ALERT_FLOW in config.ivr_flows)
    console.print(line, markup=False, highlight=False, soft_wrap=True)
    for note in voice_findings(settings).notes:  # its problems stopped it above (_refuse_gateway_problems)
        console.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    rules = config.shield
    console.print(
        f"call shield: {rules.calls_per_hour} calls/hour, {rules.calls_per_day}/day per number "
        f"({rules.trusted_per_hour}/{rules.trusted_per_day} once confirmed or with an open report); "
        f"{rules.offender_silent_calls} silent calls in {rules.offender_within_hours:g} h "
        f"flag it for {rules.flag_hours:g} h"
        if rules.enabled
        else "call shield: no routing/shield.yaml (no limits; calls are still logged)"
    )


def _whatsapp_alerts_summary(settings: Settings, folder: Path) -> None:
    """Which gateway carries alerts on the `whatsapp` channel, and a note for each purpose it has no template for
    (outside the member's 24-hour window such an alert moves on to its next channel at once)."""
    from hotline.channels.gateways import whatsapp_alert_gateways, whatsapp_alert_summary
    from hotline.features.sms.whatsapp_templates import template_for, twilio_content_for

    console.print(whatsapp_alert_summary(settings), markup=False, highlight=False, soft_wrap=True)
    for spec in whatsapp_alert_gateways(settings):
        twilio = spec.kind == "twilio"
        missing = [
            p
            for p in ("alert", "escalation")
            if (twilio_content_for(folder, p) if twilio else template_for(folder, p)) is None
        ]
        if missing:
            what = "twilio_content_sid" if twilio else "a template (name, language)"
            console.print(
                f"note: {spec.name}: sms/whatsapp.yaml has no {what} for {', '.join(missing)}: outside a member's "
                "24-hour window those alerts skip WhatsApp",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


def _refuse_gateway_problems(settings: Settings) -> None:
    """SMS and voice gateway settings that cannot work: one line each, exit 2 (as other settings, in main)."""
    from hotline.channels.gateways import gateway_problems
    from hotline.channels.voice_gateways import voice_findings

    problems = gateway_problems(settings) + voice_findings(settings).problems
    for line in problems:
        err.print(line, style="red", markup=False, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(2)


def _settings_summary(settings: Settings) -> str:
    from sqlalchemy import make_url

    database = make_url(settings.effective_database_url).render_as_string(hide_password=True)
    redis = settings.redis_url or "embedded (started by `hotline up`)"
    if "@" in redis:  # redis://:password@host: the password stays out of the output
        scheme, _, rest = redis.partition("://")
        redis = f"{scheme}://***@{rest.rpartition('@')[2]}"
    return (
        f"settings OK: database {database}, Redis {redis}, timezone {settings.timezone}, "
        f"phone numbers read as {settings.default_region}, API on {settings.host}:{settings.port}"
    )


def _merging_summary(config: CityConfig) -> str:
    merged = [c.code for c in config.categories if config.merging.for_category(c.code).enabled]
    if not merged:
        return "no category (no routing/merging.yaml)"
    return f"{len(merged)} of {len(config.categories)} categories"


@prompts_app.command("build")
def prompts_build_command(
    force: Annotated[bool, typer.Option("--force", help="rebuild every prompt, not only what changed")] = False,
) -> None:
    """One 8 kHz mono WAV per IVR prompt and language in HOTLINE_DATA_DIR/prompts/ (espeak-ng, or the
    city's recording in ivr_flows/recordings/<lang>/<key>.wav). Only what changed is rebuilt."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from hotline.cityconfig import ConfigErrors, load_city_config
    from hotline.ivr.prompt_audio import generated_dir, prompt_texts, recordings_dir
    from hotline.ivr.prompts_build import PromptBuildError, plan_build, run_build

    settings = get_settings()
    try:
        config = load_city_config(settings.config_dir, settings.default_region)
    except ConfigErrors as exc:
        for error in exc.errors:
            err.print(str(error), markup=False, highlight=False)
        err.print(f"{len(exc.errors)} error(s) in {settings.config_dir}; fix them first (`hotline config check`)")
        raise typer.Exit(1) from None
    texts = prompt_texts(config.ivr_flows.values())
    if not texts:
        console.print(f"no IVR flows in {settings.config_dir}: no prompts to build")
        return
    try:
        plan = plan_build(
            texts,
            recordings_dir=recordings_dir(settings.config_dir),
            output_dir=generated_dir(settings.data_dir),
            force=force,
        )
        for path in plan.unused_recordings:
            err.print(
                f"warning: {path} is no prompt of the flows (check the language folder and the key)",
                style="yellow",
                markup=False,
                highlight=False,
            )
        columns = (TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err, disable=not plan.jobs) as progress:
            task = progress.add_task("prompts", total=len(plan.jobs))
            result = run_build(plan, on_done=lambda job: progress.update(task, advance=1, description=job.name))
    except PromptBuildError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    console.print(
        f"prompts: {len(result.built)} built, {len(result.up_to_date)} up to date, "
        f"{len(result.in_place)} city recording(s) played as they are; files in {result.output_dir}"
    )


@prompts_app.command("export")
def prompts_export_command(
    directory: Annotated[Path, typer.Argument(help="e.g. /var/lib/asterisk/sounds/hotline")],
) -> None:
    """Copy the prompt audio Asterisk plays (`sound:hotline/<lang>/<key>`) to DIRECTORY/<lang>/<key>.wav:
    the city's recordings where they exist, else what `hotline prompts build` made."""
    import shutil

    from hotline.core.city import current_config
    from hotline.ivr.prompt_audio import current_prompt_audio

    settings = get_settings()
    flows = current_config().ivr_flows.values()
    audio = current_prompt_audio(flows, config_dir=settings.config_dir, data_dir=settings.data_dir)
    if not audio.files:
        err.print("[red]No prompt audio yet: run `hotline prompts build` first.[/red]")
        raise typer.Exit(1)
    for (language, key), source in sorted(audio.files.items()):
        target = directory / language / f"{key}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    from hotline.channels.ari.sounds import write_sounds

    write_sounds(directory)  # the beep before a recording (sound:hotline/beep): Asterisk's may be missing
    console.print(f"{len(audio.files)} prompts and the beep copied to {directory}")


ResetOption = Annotated[bool, typer.Option("--reset", help="empty the simulation database first")]


@contextmanager
def _simulation(reset: bool) -> Iterator[None]:
    """The simulators' scratch database (hotline/simulate.py), said in the output."""
    from hotline.cityconfig import ConfigErrors
    from hotline.simulate import simulation_database

    try:
        with simulation_database(reset=reset) as path:
            typer.echo(
                f"simulation database: {path} (not the hotline's: nothing in it is sent, escalated or seen by "
                "a worker; --reset empties it)"
            )
            yield
    except ConfigErrors as exc:
        err.print(f"[red]The city's data has errors:[/red]\n{exc}")
        raise typer.Exit(1) from None


@simulate_app.command("sms")
def simulate_sms_command(
    from_number: Annotated[str, typer.Argument(metavar="FROM", help="sender, e.g. 081234567890")],
    text: Annotated[str, typer.Argument(metavar="TEXT", help="the SMS text")],
    reset: ResetOption = False,
) -> None:
    """An inbound SMS without Twilio, on a scratch database: prints the ticket, the replies and the alerts
    (nothing is sent)."""
    from hotline.simulate import simulate_sms

    with _simulation(reset):
        result = simulate_sms(from_number, text)
    console.print(f"outcome: [bold]{result.outcome}[/bold]")
    if result.ticket:
        t = result.ticket
        console.print(
            f"ticket #{t['number']}: status={t['status']} category={t['category']} "
            f"priority={t['priority']} rule={t['routing_rule']} location={t['location']}"
        )
    table = Table("to", "who", "purpose", "text", title="SMS the hotline would send", show_lines=True)
    for sms in result.messages:
        table.add_row(sms.to, sms.to_name or "", sms.purpose, sms.body)
    console.print(table)


@simulate_app.command("call")
def simulate_call_command(
    from_number: Annotated[str, typer.Option("--from", metavar="NUMBER", help="the caller")] = "081234567890",
    lang: Annotated[
        str | None, typer.Option(help="start in this language of the flow (default: its first, id)")
    ] = None,
    reset: ResetOption = False,
    pace: Annotated[
        bool | None,
        typer.Option(
            "--pace/--no-pace",
            help="play the prompts at the pace they are said, and let a line typed meanwhile stop them "
            "(barge-in); default: when typing in a terminal, not with piped input",
        ),
    ] = None,
) -> None:
    """The IVR in the terminal, on a scratch database: type the keys; prints the ticket, the SMS and the URC
    alerts (nothing is sent)."""
    with _simulation(reset):
        _simulate_call(from_number, lang, sys.stdin.isatty() if pace is None else pace)


def _simulate_call(from_number: str, lang: str | None, pace: bool) -> None:
    from hotline.channels.console.terminal import INSTRUCTIONS, Paced, Printed, Speaker, run_call
    from hotline.core.city import current_config
    from hotline.ivr.prompt_seconds import PromptSeconds
    from hotline.simulate_call import SimulatedCall

    config = current_config()
    flow = config.default_flow
    if flow is None:
        err.print("[red]No IVR flow: add ivr_flows/ (see ivr_flows/README.md).[/red]")
        raise typer.Exit(1)
    if lang is not None and lang not in flow.languages:
        err.print(f"--lang must be one of {', '.join(flow.languages)} (the languages of flow {flow.id})")
        raise typer.Exit(2)
    line = SimulatedCall(config, from_number, lang)
    typer.echo(f"Simulated call from {from_number} to flow {flow.id} {flow.label or ''} ({flow.version})")
    for text in INSTRUCTIONS:
        typer.echo(text)
    settings = get_settings()
    seconds = PromptSeconds.for_flows(
        config.ivr_flows.values(), config_dir=settings.config_dir, data_dir=settings.data_dir
    )
    speaker: Speaker = Paced(typer.echo, sys.stdin) if pace else Printed(typer.echo)
    if pace:
        typer.echo(
            "Prompts play at the pace they are said (their audio files' length, else 175 words a minute); "
            "type a line while they play to stop them, as a key on a phone would."
        )
    typer.echo("")
    run_call(line, read=_read_line, write=typer.echo, speaker=speaker, seconds=seconds.of)
    _print_call_summary(line)


def _read_line(prompt: str) -> str | None:
    """One typed line; None at the end of input. Piped input is echoed so the transcript reads well."""
    try:
        text = input(prompt)
    except EOFError:
        typer.echo("")
        return None
    if not sys.stdin.isatty():
        typer.echo(text)
    return text


def _print_call_summary(line: SimulatedCall) -> None:
    from rich.text import Text

    s = line.summary()
    typer.echo("")
    typer.echo(f"call: status={s.status} outcome={s.outcome} stopped_at={s.stopped_at}")
    typer.echo("path: " + " > ".join(s.path))
    if s.open_ticket:
        typer.echo(f"heard the status of open ticket #{s.open_ticket}")
    if s.ticket:
        t = s.ticket
        partial = f" PARTIAL (stopped at {t['partial_node']})" if t["partial"] else ""
        typer.echo(
            f"ticket #{t['number']}: status={t['status']} category={t['category']} priority={t['priority']} "
            f"rule={t['routing_rule']} location={t['location']}{partial}"
        )
        if s.recording:
            typer.echo(f"recording transcript: {s.recording}")
    else:
        typer.echo("no ticket")
    if not line.messages:
        typer.echo("no SMS would be sent")
        return
    table = Table("to", "who", "purpose", "text", title="SMS the hotline would send", show_lines=True)
    for sms in line.messages:
        table.add_row(sms.to, Text(sms.to_name or ""), sms.purpose, Text(sms.body))
    # Piped or captured output is not squeezed to rich's 80-column guess.
    (console if console.is_terminal else Console(width=160)).print(table)


@ticket_app.command("show")
def ticket_show(
    number: Annotated[int, typer.Argument(help="the ticket number")],
    lang: Annotated[str, typer.Option(help="id (Bahasa Indonesia) or en")] = "id",
) -> None:
    """One ticket: its deadlines, where its escalation stands, and its timeline."""
    from hotline.catalog import say
    from hotline.db import unit_of_work
    from hotline.features.tickets.timeline import load_ticket_view, who
    from hotline.localtime import local, zone_name

    if lang not in ("id", "en"):
        err.print("--lang must be id or en")
        raise typer.Exit(2)
    with unit_of_work() as session:
        view = load_ticket_view(session, number, lang)
    if view is None:
        err.print(f"[red]No ticket #{number}.[/red]")
        raise typer.Exit(1)
    console.print(ticket_summary(view, lang))
    esc = view.escalation
    if esc.phase and esc.due_at and esc.minutes_left is not None:
        deadline = say("charts", f"show_deadline_{esc.phase}", lang)
        left = f"{abs(esc.minutes_left):g}"
        when = say("charts", "show_overdue" if esc.overdue else "show_due_in", lang, {"minutes": left})
        colour = "red" if esc.overdue else "green"
        console.print(f"{deadline}: {local(esc.due_at)} ([{colour}]{when}[/{colour}])")
    fired = say("charts", "show_escalations", lang, {"count": esc.fired})
    if esc.next_due_at is not None and esc.next_step is not None:
        at, who_ = local(esc.next_due_at, "%H:%M:%S"), who(esc.next_notify, lang)
        fired += "; " + say("charts", "show_next", lang, {"step": esc.next_step + 1, "at": at, "who": who_})
    console.print(fired)
    table = Table(f"{say('charts', 'show_time', lang)} ({zone_name()})", say("charts", "show_event", lang))
    table.title = say("charts", "show_timeline", lang)
    for line in view.timeline:
        text = f"{line.text}\n[dim]{line.note}[/dim]" if line.note else line.text
        table.add_row(local(line.at, "%d-%m-%Y %H:%M:%S").rsplit(" ", 1)[0], text)
    console.print(table)


def ticket_summary(view: TicketView, lang: str) -> str:
    """The ticket's first lines in words, as the console says them: status, kind of incident, priority."""
    from hotline.catalog import word
    from hotline.core.city import current_config

    category = current_config().category(view.category) if view.category else None
    kind = category.name(lang) if category else (view.category or word("ui", "unknown_category", lang))
    status, priority = word("status", view.status, lang), word("priority", view.priority, lang)
    facts = " · ".join((status, kind, priority, view.agency or "-", view.reporter))
    return f"[bold]#{view.number}[/bold] {facts}\n{view.text}"


class ScorecardFormat(StrEnum):
    table = "table"
    csv = "csv"
    png = "png"


def _month_option(value: str | None) -> str | None:
    from hotline.features.scorecard import Month, MonthError

    if value is None:
        return None
    try:
        return str(Month.parse(value))
    except MonthError as exc:  # click turns this into "Invalid value for '--month'" and exit code 2
        raise typer.BadParameter(str(exc)) from None


@app.command("scorecard")
def scorecard_command(
    month: Annotated[
        str | None,
        typer.Option(callback=_month_option, metavar="YYYY-MM", help="default: this month in HOTLINE_TIMEZONE"),
    ] = None,
    output_format: Annotated[ScorecardFormat, typer.Option("--format", "-f")] = ScorecardFormat.table,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (png default: scorecard-YYYY-MM.png)")
    ] = None,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh",
            help="judge the month now (reads all its tickets) instead of the frozen card of a closed month or the "
            "open month's card judged in the background at most HOTLINE_METRICS_INTERVAL ago",
        ),
    ] = False,
) -> None:
    """The agencies' monthly scorecard ("rapor merah"): times to accept and finish, share within SLA, grade.

    A closed month is frozen at close (docs: README "Scorecard"); the open month is as of the time printed."""
    from sqlalchemy.exc import SQLAlchemyError

    from hotline import clock
    from hotline.core.city import current_config
    from hotline.features.scorecard import Month, city_timezone
    from hotline.features.scorecard.monthly import month_scorecard
    from hotline.settings import SettingsError

    try:
        tz = city_timezone()
        chosen = Month.parse(month) if month else Month.containing(clock.now(), tz)
        card = month_scorecard(config=current_config(), month=chosen, tz=tz, now=clock.now(), fresh=fresh)
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except SQLAlchemyError as exc:  # a fresh install that was never migrated, or the database is down
        err.print(f"[red]cannot read the database ({type(exc).__name__}); is it up? run `hotline db upgrade`[/red]")
        raise typer.Exit(1) from None
    _write_scorecard(card, output_format, output)


@app.command("scorecard-rollup")
def scorecard_rollup_command(
    month: Annotated[str | None, typer.Option(callback=_month_option, metavar="YYYY-MM")] = None,
    all_months: Annotated[bool, typer.Option("--all", help="every closed month not frozen yet")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="judge again and replace a frozen card")] = False,
) -> None:
    """Freeze closed months' scorecards (what a first view would do), or judge one again with --rebuild."""
    from sqlalchemy.exc import SQLAlchemyError

    from hotline import clock
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.scorecard import Month, city_timezone
    from hotline.features.scorecard.rollup import closed_months, freeze, frozen_scorecard, is_closed
    from hotline.settings import SettingsError

    if (month is None) == (not all_months):
        err.print("[red]give --month YYYY-MM or --all[/red]")
        raise typer.Exit(2)
    try:
        tz, now, config = city_timezone(), clock.now(), current_config()
        with unit_of_work() as session:
            months = [Month.parse(month)] if month else closed_months(session, tz=tz, now=now)
        for chosen in months:
            if not is_closed(chosen, tz=tz, now=now):
                err.print(f"[red]{chosen} is not closed yet (a month closes a day after its end)[/red]")
                raise typer.Exit(1)
            with unit_of_work() as session:
                if not rebuild and frozen_scorecard(session, month=chosen, tz=tz) is not None:
                    continue
                freeze(session, config=config, month=chosen, tz=tz, now=now)
            console.print(f"{chosen}: frozen as of {now:%Y-%m-%d %H:%M} UTC")
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except SQLAlchemyError as exc:
        err.print(f"[red]cannot read the database ({type(exc).__name__}); is it up? run `hotline db upgrade`[/red]")
        raise typer.Exit(1) from None


def _write_scorecard(card: Scorecard, output_format: ScorecardFormat, output: Path | None) -> None:
    if output_format is ScorecardFormat.png:
        from hotline.reports.chart import write_png

        path = write_png(card, output or Path(f"scorecard-{card.month}.png"))
        console.print(f"wrote {path}")
    elif output_format is ScorecardFormat.csv:
        from hotline.reports.csv_export import write_csv

        if output is None:
            write_csv(card, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as f:
                write_csv(card, f)
            err.print(f"wrote {output}")
    else:
        from hotline.reports.table import scorecard_table

        if output is None:
            # Piped or captured output is not squeezed to rich's 80-column guess; a terminal keeps its width.
            (console if console.is_terminal else Console(width=160)).print(scorecard_table(card))
        else:
            with output.open("w", encoding="utf-8") as f:
                Console(file=f, width=160, no_color=True).print(scorecard_table(card))
            err.print(f"wrote {output}")


@app.command()
def serve(
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
    host: Annotated[str | None, typer.Option(help="default: HOTLINE_HOST, else 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="default: HOTLINE_PORT, else 8000")] = None,
    access_log: Annotated[bool, typer.Option()] = False,
    fd: Annotated[int | None, typer.Option(hidden=True, help="serve on this listening socket (`hotline up`)")] = None,
) -> None:
    """Run the HTTP API (webhooks, health, API)."""
    import uvicorn

    from hotline.logs import dict_config

    settings = get_settings()
    _refuse_gateway_problems(settings)
    # The listening socket as a socket object of its real family. Handed to uvicorn as `fd=`, uvicorn reads it
    # as a UNIX socket, so its TCP connections never got TCP_NODELAY: every response with a body (TwiML) waited
    # for the client's delayed ACK, 40 ms (docs/benchmarks.md, gateway_ingest).
    listener = _listen_or_exit(host or settings.host, port or settings.port) if fd is None else socket.socket(fileno=fd)
    config = uvicorn.Config(
        "hotline.web.app:create_app",
        factory=True,
        workers=workers,
        # X-Forwarded-* are read by the app itself, from HOTLINE_TRUSTED_PROXIES only (hotline/web/edge.py);
        # uvicorn's own reading would trust 127.0.0.1 (FORWARDED_ALLOW_IPS) whatever the city configured.
        proxy_headers=False,
        access_log=access_log,
        log_level="info",
        log_config=dict_config("INFO", settings.log_format),
    )
    server = uvicorn.Server(config)
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[listener]).run()
    else:
        server.run(sockets=[listener])


def _listen_or_exit(host: str, port: int) -> socket.socket:
    """The API's socket, bound now: a taken port is one line and exit 1, before anything else starts."""
    from hotline.listener import ListenError, bind_listener

    try:
        return bind_listener(host, port)
    except ListenError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


@app.command()
def worker(
    fork: Annotated[bool, typer.Option(help="fork a work horse per job (isolation, ~4x slower)")] = False,
    burst: Annotated[bool, typer.Option(help="stop when the queue is empty")] = False,
    sweep_interval: Annotated[float, typer.Option(help="seconds between database sweeps")] = 30.0,
) -> None:
    """Run an RQ worker with its scheduler, plus the sweeper that re-queues from the database."""
    from hotline.core.queue import redis_connection, worker_queues
    from hotline.jobs import sweeper
    from hotline.jobs.rq_workers import make_worker
    from hotline.jobs.worker_loop import work_until_stopped

    _logging()
    _refuse_gateway_problems(get_settings())
    stop = threading.Event()
    sweeper_thread = threading.Thread(target=sweeper.run_forever, args=(stop, sweep_interval), daemon=True)
    sweeper_thread.start()
    try:
        # Started again if Redis goes away under it (hotline/jobs/worker_loop.py).
        work_until_stopped(
            lambda: make_worker(
                worker_queues(), redis_connection(), fork=fork, on_stop=stop.set, maintenance_interval=30, worker_ttl=60
            ),
            burst=burst,
        )
    finally:
        stop.set()
        # The sweeper stops the releaser it started; a sweep under way is not waited for beyond a second
        # (the releaser then sees its worker gone on its own).
        sweeper_thread.join(1.0)
    _exit_now()


def _exit_now() -> None:
    """Everything is stopped: leave without the interpreter's teardown of every loaded module, which took
    0.3 s of a worker's 1 s stop here (a stop must fit in the 2 s a supervisor or `hotline up` allows)."""
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@app.command()
def ari() -> None:
    """Run the Asterisk ARI app: calls reaching Stasis(ARI_APP) run the IVR (docs/asterisk.md)."""
    import asyncio

    from hotline.channels.ari.run import AriSettingsError, build_app, serve

    _logging()
    settings = get_settings()
    try:
        build_app(settings)  # refuse missing settings before connecting anywhere
    except AriSettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    asyncio.run(serve(settings))


@app.command()
def smpp() -> None:
    """Hold the SMPP binds of the configured SMPP gateways (HOTLINE_GATEWAY_<NAME>_TYPE=smpp) until Ctrl-C or
    SIGTERM: one transceiver bind per link, one holder per link (a Redis lease). docs/sms-gateways.md."""
    import asyncio

    from hotline.channels.smpp import links
    from hotline.channels.smpp.holder import serve

    _logging()
    settings = get_settings()
    _refuse_gateway_problems(settings)
    configured = links(settings)
    if not configured:
        err.print("no SMPP gateway is configured (HOTLINE_GATEWAY_<NAME>_TYPE=smpp in HOTLINE_SMS_GATEWAYS)")
        raise typer.Exit(2)
    if not settings.redis_url:
        err.print("hotline smpp needs HOTLINE_REDIS_URL (the workers hand it SMS through Redis; `hotline up` sets it)")
        raise typer.Exit(2)
    for link in configured:
        console.print(
            f"SMPP {link.name}: {link.host}:{link.port} as {link.system_id!r}, {link.tps:g}/s, window {link.window}"
        )
    from hotline.spool.replay import SpoolReplayer

    replayer = SpoolReplayer()  # what the binds spooled while the database was down
    replayer.start()
    try:
        asyncio.run(serve(configured, settings.redis_url))
    finally:
        replayer.stop()


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="default: HOTLINE_HOST, else 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="default: HOTLINE_PORT, else 8000")] = None,
) -> None:
    """Everything in one process tree: migrations, API, worker with scheduler (and the ARI app when ARI_URL is
    set, the SMPP binds when an SMPP gateway is configured). A part that dies is started again; Ctrl-C stops it
    all."""
    from hotline.embedded_redis import EmbeddedRedis
    from hotline.first_run import FIRST_ADMIN_HINT, console_url, no_user_yet
    from hotline.supervisor import Service, StartError, Supervisor, stop_on_signals

    _logging()
    settings = get_settings()
    _refuse_gateway_problems(settings)
    host, port = host or settings.host, port or settings.port
    from hotline.channels.ari.settings import ari_settings

    ari = ari_settings(settings)
    if ari.url:
        from hotline.channels.ari.run import AriSettingsError, build_app

        try:
            build_app(settings)  # as `hotline ari` would refuse them, but before anything starts
        except AriSettingsError as exc:
            err.print(f"settings: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
    listener = _listen_or_exit(host, port)
    if sys.stdin.isatty():  # asked before the signal handlers: Ctrl-C at the prompt simply ends `up`
        from hotline.first_run import ask_first_admin

        _prepare_database()
        if no_user_yet():
            ask_first_admin()
    stopping = threading.Event()
    stop_on_signals(stopping)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # The parts read the same settings, except where `up` decides: the address and the embedded Redis.
    env = {**os.environ, "HOTLINE_HOST": host, "HOTLINE_PORT": str(port)}
    base = [sys.executable, "-m", "hotline"]
    supervisor = Supervisor()
    try:
        if not settings.redis_url:
            embedded = EmbeddedRedis(settings.data_dir)
            embedded.dir.mkdir(parents=True, exist_ok=True)
            env["HOTLINE_REDIS_URL"] = embedded.url
            supervisor.start(Service("embedded Redis", embedded.command(), wait_ready=embedded.wait_ready, last=True))
            console.print(f"embedded Redis: {embedded.url}")
        if not settings.database_url:
            console.print(f"embedded SQLite: {settings.effective_database_url}")
        _prepare_database()
        fd = listener.fileno()
        supervisor.start(Service("API", [*base, "serve", "--fd", str(fd)], env=env, pass_fds=(fd,)))
        supervisor.start(Service("worker", [*base, "worker"], env=env))
        if ari.url:
            supervisor.start(Service("ARI app", [*base, "ari"], env=env))
            console.print(f"Asterisk ARI app {ari.app!r} on {ari.url}")
        smpp_links = [g.name for g in settings.sms_routing.of_kind("smpp")]
        if smpp_links:
            supervisor.start(Service("SMPP binds", [*base, "smpp"], env=env))
            console.print(f"SMPP binds: {', '.join(smpp_links)}")
        console.print(f"Hotline is up on http://{host}:{port} (Ctrl-C stops everything)")
        console.print(f"console: {console_url(host, port)}", markup=False, highlight=False, soft_wrap=True)
        if no_user_yet():
            console.print(FIRST_ADMIN_HINT, markup=False, highlight=False, soft_wrap=True)
        supervisor.run(stopping)
    except StartError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        supervisor.stop()  # the API, worker and ARI app first, then the embedded Redis
        listener.close()
        console.print("Hotline stopped")


def main() -> None:
    from pydantic import ValidationError

    from hotline.settings import settings_problems
    from hotline.wiring import wire

    wire()  # the composition root (hotline/wiring.py)

    try:
        app()
    except ValidationError as exc:  # the environment's settings: say what is wrong, not where it was noticed
        for line in settings_problems(exc):
            err.print(line, style="red", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
