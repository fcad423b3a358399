"""The scorecard as CSV: one row per agency, columns named like the JSON API's fields. The console's download adds,
when routing/farming.yaml is on, a row per field officers' (PPL) team of the farming agency, marked in a last
column `team_of` (the agency's code; empty on an agency's own row)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import TextIO

from hotline.features.scorecard import AgencyScore, Scorecard
from hotline.reports.csv_safe import safe_cell

COLUMNS = ("month", *(f.name for f in fields(AgencyScore)))
TEAM_COLUMN = "team_of"


def write_csv(card: Scorecard, out: TextIO, *, teams: Sequence[AgencyScore] | None = None, team_of: str = "") -> None:
    """`teams` (None: no `team_of` column): rows of the agency `team_of`'s teams, after the agencies' rows."""
    # A month column lets a year of monthly files be concatenated into one sheet.
    columns = COLUMNS if teams is None else (*COLUMNS, TEAM_COLUMN)
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    marks = {} if teams is None else {TEAM_COLUMN: ""}
    for row in card.agencies:
        writer.writerow({"month": card.month, **_cells(row), **marks})
    for row in teams or ():
        writer.writerow({"month": card.month, **_cells(row), TEAM_COLUMN: safe_cell(team_of)})


def _cells(row: AgencyScore) -> dict[str, object]:
    return {k: "" if v is None else safe_cell(v) for k, v in asdict(row).items()}  # names come from routing/
