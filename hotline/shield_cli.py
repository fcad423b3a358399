"""`hotline shield ...`: the junk-call shield's report (added to the `hotline` command in cli.py)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

shield_app = typer.Typer(help="The junk-call shield: decisions and false blocks.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)


class ReportFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _month_option(value: str | None) -> str | None:
    from hotline.features.scorecard import Month, MonthError

    if value is None:
        return None
    try:
        return str(Month.parse(value))
    except MonthError as exc:  # click: "Invalid value for '--month'", exit code 2
        raise typer.BadParameter(str(exc)) from None


@shield_app.command("report")
def report_command(
    month: Annotated[
        str | None,
        typer.Option(callback=_month_option, metavar="YYYY-MM", help="default: this month in HOTLINE_TIMEZONE"),
    ] = None,
    output_format: Annotated[ReportFormat, typer.Option("--format", "-f")] = ReportFormat.table,
) -> None:
    """Numbers held back in a month (silent, rate limited, flagged, queued last, prank) and how many of them
    were real callers after all (replied 1, cleared by an operator, or a routed report): false blocks."""
    from sqlalchemy.exc import SQLAlchemyError

    from hotline import clock
    from hotline.db import unit_of_work
    from hotline.features.scorecard import Month, city_timezone
    from hotline.features.shield.shield_report import false_block_report
    from hotline.reports.shield import numbers_table, report_table, write_csv, write_json
    from hotline.settings import SettingsError

    try:
        tz = city_timezone()
        chosen = Month.parse(month) if month else Month.containing(clock.now(), tz)
        with unit_of_work() as session:
            report = false_block_report(session, month=chosen, tz=tz)
    except SettingsError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    except SQLAlchemyError as exc:
        err.print(f"[red]cannot read the database ({type(exc).__name__}); is it up? run `hotline db upgrade`[/red]")
        raise typer.Exit(1) from None
    if output_format is ReportFormat.csv:
        write_csv(report, sys.stdout)
    elif output_format is ReportFormat.json:
        write_json(report, sys.stdout)
    else:
        wide = out if out.is_terminal else Console(width=160)
        wide.print(report_table(report))
        if report.numbers:
            wide.print(numbers_table(report))
