"""Cells a spreadsheet would run as a formula (CSV injection): a text cell starting with = + - @ (or a tab or carriage
return, which some spreadsheets skip before reading one) gets a leading apostrophe, so it is shown as typed.
Citizens write the ticket texts and reporters' numbers start with +: both reach the export as they came."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """Text that could start a formula, defused; numbers and everything else as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
