"""The ticket list as CSV, for people and machines: plain words in the reader's language (status, category) beside the
raw codes, times in the city's time zone (named in the header), every text cell defused (csv_safe.py). Written as
chunks of about CHUNK characters from an iterator of rows, so a response can stream it with bounded memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, tzinfo

from hotline.catalog import word
from hotline.features.tickets.ticket_export import ExportRow
from hotline.localtime import city_zone, zone_name
from hotline.reports.csv_safe import safe_cell

CHUNK = 64 * 1024
BOM = "\ufeff"  # spreadsheets then read the file as UTF-8 (kecamatan names, citizens' texts)
COLUMNS = (
    "number",
    "status",
    "status_code",
    "category",
    "category_code",
    "agency",
    "priority",
    "channel",
    "reporter",
    "kecamatan",
    "desa",
    "location",
    "text",
)
TIME_COLUMNS = ("created", "routed", "accept_due", "accepted", "resolve_due", "resolved", "cancelled")


def header(lang: str) -> list[str]:
    zone = f"{zone_name()}, {city_zone().key}"
    return [word("charts", f"csv_{c}", lang) for c in COLUMNS] + [
        f"{word('charts', f'csv_{c}', lang)} ({zone})" for c in TIME_COLUMNS
    ]


def _time(value: datetime | None, zone: tzinfo) -> str:
    # isoformat is C and several times faster than strftime: the export's hottest line (bench/ticket_export.py)
    return "" if value is None else value.astimezone(zone).isoformat(sep=" ", timespec="seconds")[:19]


def cells(row: ExportRow, lang: str, category_names: Mapping[str, str], zone: tzinfo) -> list[object]:
    category = category_names.get(row.category, row.category) if row.category else ""
    values: list[object] = [
        row.number,
        word("status", row.status, lang),
        row.status,
        category,
        row.category or "",
        row.agency or "",
        word("priority", row.priority, lang),
        row.channel,
        row.reporter,
        row.kecamatan or "",
        row.desa or "",
        row.location or "",
        row.text,
    ]
    times = [row.created_at, row.routed_at, row.accept_due_at, row.accepted_at]
    times += [row.resolve_due_at, row.resolved_at, row.cancelled_at]
    return [safe_cell(v) for v in values] + [_time(t, zone) for t in times]


def ticket_csv(rows: Iterable[ExportRow], *, lang: str, category_names: Mapping[str, str]) -> Iterator[str]:
    zone = city_zone()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(header(lang))
    for row in rows:
        writer.writerow(cells(row, lang, category_names, zone))
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
