"""The scorecard as CSV: one row per agency, columns named like the JSON API's fields."""

from __future__ import annotations

import csv
from dataclasses import asdict, fields
from typing import TextIO

from hotline.features.scorecard import AgencyScore, Scorecard
from hotline.reports.csv_safe import safe_cell

COLUMNS = ("month", *(f.name for f in fields(AgencyScore)))


def write_csv(card: Scorecard, out: TextIO) -> None:
    # A month column lets a year of monthly files be concatenated into one sheet.
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in card.agencies:
        values = {k: "" if v is None else safe_cell(v) for k, v in asdict(row).items()}  # names come from routing/
        writer.writerow({"month": card.month, **values})
