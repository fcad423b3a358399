"""Words shared by the table and the chart: Bahasa Indonesia first, English second."""

from __future__ import annotations

import math

from hotline.features.scorecard import Grade

GRADE_LABELS: dict[Grade, str] = {
    "green": "HIJAU / green",
    "yellow": "KUNING / yellow",
    "red": "MERAH / red",
    "none": "- / none",
}
GRADE_COLOURS: dict[Grade, str] = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828", "none": "#9e9e9e"}
TITLE = "Rapor instansi / Agency scorecard"


def percent(share: float | None) -> str:
    """Rounded down to 0.1 %, so 89.96 % never shows as a green-looking 90.0 % (the epsilon absorbs
    float noise such as 0.29 * 1000 = 289.99999999999994)."""
    return "-" if share is None else f"{math.floor(share * 1000 + 1e-9) / 10:.1f} %"


def minutes(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
