"""The junk-call shield's false-block report as a rich table, CSV or JSON (hotline/features/shield/shield_report.py)."""

from __future__ import annotations

import csv
import json
from typing import Any, TextIO

from rich.table import Table

from hotline.features.shield.shield_report import ShieldReport


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def report_table(report: ShieldReport) -> Table:
    table = Table(
        "keputusan / decision",
        "nomor / numbers",
        "terbukti asli / later confirmed",
        "salah blokir / false-block rate",
        title=f"Junk-call shield {report.month}: {report.held_numbers} nomor ditahan / numbers held back, "
        f"{report.false_blocks} salah blokir / false blocks ({_rate(report.false_block_rate)})",
    )
    for row in report.by_decision:
        table.add_row(row.decision, str(row.numbers), str(row.false_blocks), _rate(row.rate))
    table.add_row("[b]total[/b]", str(report.held_numbers), str(report.false_blocks), _rate(report.false_block_rate))
    return table


def numbers_table(report: ShieldReport) -> Table:
    table = Table(
        "nomor / number", "pertama / first held (UTC)", "keputusan / decisions", "x", "dikonfirmasi / confirmed"
    )
    for n in report.numbers:
        confirmed = f"{n.confirmed_by} ({n.confirmed_at:%Y-%m-%d %H:%M})" if n.confirmed_at else "-"
        table.add_row(
            n.phone, f"{n.first_held_at:%Y-%m-%d %H:%M}", ", ".join(n.decisions), str(n.times_held), confirmed
        )
    return table


CSV_FIELDS = (
    "month",
    "phone",
    "first_held_at",
    "decisions",
    "times_held",
    "false_block",
    "confirmed_by",
    "confirmed_at",
)


def write_csv(report: ShieldReport, out: TextIO) -> None:
    """One row per number held back; the summary is in the JSON and the table."""
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for n in report.numbers:
        writer.writerow(
            [
                report.month,
                n.phone,
                n.first_held_at.isoformat(),
                " ".join(n.decisions),
                n.times_held,
                int(n.false_block),
                n.confirmed_by or "",
                n.confirmed_at.isoformat() if n.confirmed_at else "",
            ]
        )


def as_dict(report: ShieldReport) -> dict[str, Any]:
    return {
        "month": report.month,
        "held_numbers": report.held_numbers,
        "false_blocks": report.false_blocks,
        "false_block_rate": report.false_block_rate,
        "by_decision": [
            {"decision": r.decision, "numbers": r.numbers, "false_blocks": r.false_blocks, "rate": r.rate}
            for r in report.by_decision
        ],
        "decision_counts": report.decision_counts,
        "numbers": [
            {
                "phone": n.phone,
                "first_held_at": n.first_held_at.isoformat(),
                "decisions": list(n.decisions),
                "times_held": n.times_held,
                "false_block": n.false_block,
                "confirmed_by": n.confirmed_by,
                "confirmed_at": n.confirmed_at.isoformat() if n.confirmed_at else None,
            }
            for n in report.numbers
        ],
    }


def write_json(report: ShieldReport, out: TextIO) -> None:
    json.dump(as_dict(report), out, ensure_ascii=False, indent=2)
    out.write("\n")
