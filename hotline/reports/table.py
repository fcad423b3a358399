"""The scorecard as a rich table for the terminal, grades in colour."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from hotline.features.scorecard import Scorecard
from hotline.reports.labels import GRADE_COLOURS, GRADE_LABELS, TITLE, minutes, percent

# Bahasa Indonesia first, English second, then the unit. Median and p90 share a cell, as do the two
# kinds of breach; the CSV and the API keep every number in its own field.
HEADERS = (
    "Instansi /\nAgency",
    "Tiket /\nTickets",
    "Batal /\nCancelled",
    "Menunggu /\nPending",
    "Terima /\nAccept\nmed/p90 mnt",
    "Selesai /\nFinish\nmed/p90 mnt",
    "Tepat SLA /\nWithin SLA",
    "Telat /\nLate\nterima/selesai",
    "Dibuka lagi /\nReopened",
    "Eskalasi /\nEscalations",
    "Rapor /\nGrade",
)


def _pair(first: float | None, second: float | None) -> str:
    return "-" if first is None and second is None else f"{minutes(first)}/{minutes(second)}"


def scorecard_table(card: Scorecard) -> Table:
    green, yellow = card.thresholds.green, card.thresholds.yellow
    table = Table(
        title=f"{TITLE} {card.month} ({card.timezone})",
        caption=(
            f"Hijau / green ≥ {percent(green)}, kuning / yellow ≥ {percent(yellow)}, merah / red di bawahnya / below. "
            f"Menit sejak diteruskan / minutes from routing. Per / as of {card.as_of:%Y-%m-%d %H:%M} UTC."
        ),
        box=box.SIMPLE_HEAD,
    )
    table.add_column(HEADERS[0], no_wrap=True)
    for title in HEADERS[1:-1]:
        table.add_column(title, justify="right", no_wrap=True)
    table.add_column(HEADERS[-1], no_wrap=True)
    for row in card.agencies:
        colour = GRADE_COLOURS[row.grade]
        within = f"{row.within_sla}/{row.measured} {percent(row.share_within_sla)}" if row.measured else "-"
        table.add_row(
            Text(row.code, style="bold"),  # names are long; the CSV and the API carry them
            str(row.tickets),
            str(row.cancelled),
            str(row.pending),
            _pair(row.accept_median_min, row.accept_p90_min),
            _pair(row.resolve_median_min, row.resolve_p90_min),
            Text(within, style=colour),
            f"{row.accept_breaches}/{row.resolve_breaches}",
            str(row.reopened),
            str(row.escalations),
            Text(GRADE_LABELS[row.grade], style=f"bold {colour}"),
        )
    return table
