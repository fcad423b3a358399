"""`hotline farmers ...`: Dinas Pertanian's farmer registry, its outbreaks and its weekly view (added to the
`hotline` command in cli.py). Domain errors become one red message and exit 1 here, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

farmers_app = typer.Typer(
    help="The farmer registry (import, list, export), outbreaks and their warning lists, Dinas Pertanian's view.",
    no_args_is_help=True,
)
err = Console(stderr=True)


@contextmanager
def _domain_errors() -> Iterator[None]:
    from hotline.features.farming.errors import FarmingError, RegistryRejected

    try:
        yield
    except RegistryRejected as exc:
        err.print(f"Nothing was imported or saved: {len(exc.problems)} problem(s)", style="red", highlight=False)
        for line in exc.problems:
            err.print(line, markup=False, highlight=False)
        raise typer.Exit(1) from None
    except FarmingError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None


def _write(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"written to {output}", highlight=False)


@farmers_app.command("import")
def farmers_import(
    file: Annotated[
        Path, typer.Argument(help="the registry spreadsheet: .csv or .xlsx (columns: routing/farming.yaml)")
    ],
) -> None:
    """Import or update farmers (by phone number). A file with any bad row imports nothing and lists every problem."""
    from hotline.cli_database import prepare_database
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.accounts.audit import audit
    from hotline.features.farming.registry import import_farmers
    from hotline.features.farming.registry_files import read_sheet
    from hotline.settings import get_settings

    try:
        data = file.read_bytes()
    except OSError as exc:
        err.print(f"{file}: {exc.strerror or exc}", style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    prepare_database()
    with _domain_errors(), unit_of_work() as session:
        sheet = read_sheet(data, file.name)
        result = import_farmers(
            session, config=current_config(), sheet=sheet, region=get_settings().default_region, actor="cli"
        )
        audit(session, actor="cli", action="farmers.import", target_type="registry", target_id=file.name)
    print(f"{result.added} added, {result.updated} updated, {result.unchanged} unchanged")


@farmers_app.command("list")
def farmers_list(
    desa: Annotated[str | None, typer.Option(help="only this desa")] = None,
    commodity: Annotated[str | None, typer.Option(help="only growers of this commodity (its code)")] = None,
) -> None:
    """Farmers, one a line: id, phone, name, desa, kelompok tani, commodities, hectares."""
    from hotline.cli_database import prepare_database
    from hotline.db import unit_of_work
    from hotline.features.farming.registry import list_farmers

    prepare_database()
    with unit_of_work() as session:
        for f in list_farmers(session, desa=desa, commodity=commodity):
            ha = "" if f.land_area_ha is None else f"{f.land_area_ha:g}"
            print(f"{f.id}\t{f.phone}\t{f.name}\t{f.desa}\t{f.kelompok_tani}\t{','.join(f.commodities or [])}\t{ha}")


@farmers_app.command("export")
def farmers_export(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")] = None,
    desa: Annotated[str | None, typer.Option(help="only this desa")] = None,
    commodity: Annotated[str | None, typer.Option(help="only growers of this commodity")] = None,
) -> None:
    """The registry as CSV in the city's own column headers (it imports back unchanged)."""
    from hotline.cli_database import prepare_database
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.farming.registry import export_csv, list_farmers

    prepare_database()
    with _domain_errors(), unit_of_work() as session:
        text = export_csv(current_config(), list_farmers(session, desa=desa, commodity=commodity))
    _write(text, output)


@farmers_app.command("outbreaks")
def farmers_outbreaks() -> None:
    """Outbreaks raised, newest first: number, when, sub-category, commodity, reports, desa."""
    from hotline.cli_database import prepare_database
    from hotline.db import unit_of_work
    from hotline.features.farming.warnings import list_outbreaks

    prepare_database()
    with unit_of_work() as session:
        for o in list_outbreaks(session):
            when = f"{o.raised_at:%Y-%m-%d %H:%M}"
            print(f"{o.id}\t{when}\t{o.subcategory}\t{o.commodity or '-'}\t{o.report_count}\t{', '.join(o.desa)}")


@farmers_app.command("warning")
def farmers_warning(
    outbreak: Annotated[int, typer.Argument(help="the outbreak's number (hotline farmers outbreaks)")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")] = None,
) -> None:
    """The ready-made warning for an outbreak: a CSV of the farmers of its desa and commodity, with the message
    (phone,name,desa,kelompok_tani,commodities,message; docs/interface.md). Send it with the broadcast feature."""
    from hotline.cli_database import prepare_database
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.farming.warnings import warning_csv

    prepare_database()
    with _domain_errors(), unit_of_work() as session:
        text = warning_csv(session, config=current_config(), outbreak_id=outbreak)
    _write(text, output)


@farmers_app.command("map")
def farmers_map(
    outbreak: Annotated[int, typer.Argument(help="the outbreak's number")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")] = None,
) -> None:
    """The outbreak's map of reports as GeoJSON: one point per desa with its count."""
    from hotline.cli_database import prepare_database
    from hotline.core.city import current_config
    from hotline.db import unit_of_work
    from hotline.features.farming.warnings import get_outbreak, outbreak_geojson

    prepare_database()
    with _domain_errors(), unit_of_work() as session:
        text = json.dumps(outbreak_geojson(current_config(), get_outbreak(session, outbreak)), indent=1) + "\n"
    _write(text, output)


@farmers_app.command("report")
def farmers_report(
    weeks: Annotated[int, typer.Option(min=1, max=520, help="how many weeks back")] = 8,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV file (default: stdout)")] = None,
) -> None:
    """Farm reports per week (city time, weeks start Monday) per kecamatan, desa, commodity and sub-category (CSV)."""
    from hotline import clock
    from hotline.cli_database import prepare_database
    from hotline.db import unit_of_work
    from hotline.features.farming.dinas_view import weekly_csv, weekly_reports
    from hotline.features.scorecard import city_timezone

    prepare_database()
    with unit_of_work() as session:
        rows = weekly_reports(session, tz=city_timezone(), since=clock.now() - timedelta(weeks=weeks))
    _write(weekly_csv(rows), output)


@farmers_app.command("ppl")
def farmers_ppl(
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="CSV file (default: stdout)")] = None,
) -> None:
    """The PPL teams' response times for a month (the scorecard's rules, one row per PPL team), CSV."""
    from hotline import clock
    from hotline.cli_database import prepare_database
    from hotline.core.city import current_config
    from hotline.features.farming.dinas_view import ppl_csv, ppl_scores
    from hotline.features.scorecard import Month, MonthError, city_timezone

    try:
        chosen = Month.parse(month)
    except MonthError as exc:
        err.print(str(exc), style="red", markup=False, highlight=False)
        raise typer.Exit(1) from None
    prepare_database()
    scores = ppl_scores(config=current_config(), month=chosen, tz=city_timezone(), now=clock.now())
    _write(ppl_csv(scores), output)
