"""The scorecard's charts as inline SVG for the console: drawn on the server, no script, no chart library, and no
style attribute (the console's CSP allows no inline style): attributes only, the page's CSS sizes them.

Each chart is an <svg role="img"> with a <title> and a <desc> (what a screen reader says); the page's tables carry
the same numbers. Colours are the CLI chart's (labels.GRADE_COLOURS); the grade zones are tinted behind the bars
so a bar's place against the city's green and yellow thresholds reads at a glance; a red grade is written in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from hotline.catalog import say, word
from hotline.cityconfig.model import ScorecardThresholds
from hotline.features.scorecard import AgencyScore
from hotline.features.scorecard.trend import TrendPoint, accept_share, finish_share
from hotline.reports.labels import GRADE_COLOURS, percent

ACCEPT_COLOUR = "#1f6feb"
FINISH_COLOUR = "#6639ba"
INK, MUTED, GRID = "#1b1f24", "#57606a", "#d0d7de"
ZONE_TINTS = {"red": "#fde8e7", "yellow": "#fff5d6", "green": "#e6f4ea"}
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


def _svg(key: str, width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-labelledby="{key}-t {key}-d" class="chart" {FONT} font-size="12">'
        f'<title id="{key}-t">{escape(title)}</title><desc id="{key}-d">{escape(desc)}</desc>{"".join(body)}</svg>'
    )


def _short(name: str, size: int) -> str:
    return name if len(name) <= size else name[: size - 1].rstrip() + "…"


def _text(x: float, y: float, words: str, *, anchor: str = "start", fill: str = INK, extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" {extra}>{escape(words)}</text>'


def _zones(x0: float, width: float, top: float, height: float, t: ScorecardThresholds, *, vertical: bool) -> list[str]:
    """The red, yellow and green zones behind a 0-100 % scale (along x when vertical is False)."""
    out = []
    for lo, hi, grade in ((0.0, t.yellow, "red"), (t.yellow, t.green, "yellow"), (t.green, 1.0, "green")):
        if vertical:  # y grows downwards: 100 % at the top
            y_hi, y_lo = top + height * (1 - hi), top + height * (1 - lo)
            out.append(
                f'<rect x="{x0}" y="{y_hi:.1f}" width="{width}" height="{y_lo - y_hi:.1f}" fill="{ZONE_TINTS[grade]}"/>'
            )
        else:
            out.append(
                f'<rect x="{x0 + width * lo:.1f}" y="{top}" width="{width * (hi - lo):.1f}" height="{height}" '
                f'fill="{ZONE_TINTS[grade]}"/>'
            )
    return out


def share_chart(rows: Sequence[AgencyScore], thresholds: ScorecardThresholds, *, month: str, lang: str) -> str:
    """Per agency three bars: within SLA on both deadlines (the graded share, in its grade's colour), accepted in
    time, finished in time; against the green and yellow thresholds."""
    left, plot, right, bar, gap = 170, 330, 130, 12, 3
    band = 3 * (bar + gap) + 18
    top = 56
    height = top + band * max(1, len(rows)) + 34
    width = left + plot + right
    body = [f'<rect width="{width}" height="{height}" fill="#fff"/>']
    body += _zones(left, plot, top - 6, band * len(rows) + 6, thresholds, vertical=False)
    legend = [
        (GRADE_COLOURS["green"], word("charts", "series_overall", lang)),
        (ACCEPT_COLOUR, word("charts", "series_accept", lang)),
        (FINISH_COLOUR, word("charts", "series_finish", lang)),
    ]
    x = 8.0
    for colour, label in legend:
        body.append(f'<rect x="{x}" y="8" width="12" height="12" rx="2" fill="{colour}"/>')
        body.append(_text(x + 17, 18.5, label))
        x += 30 + 6.8 * len(label)
    for tick in range(0, 101, 20):
        tx = left + plot * tick / 100
        body.append(f'<line x1="{tx:.1f}" y1="{top - 6}" x2="{tx:.1f}" y2="{height - 28}" stroke="{GRID}"/>')
        body.append(_text(tx, height - 12, f"{tick} %", anchor="middle", fill=MUTED))
    for name in ("green", "yellow"):
        value = getattr(thresholds, name)
        tx = left + plot * value
        body.append(
            f'<line x1="{tx:.1f}" y1="{top - 10}" x2="{tx:.1f}" y2="{height - 28}" stroke="{GRADE_COLOURS[name]}" '
            f'stroke-width="2" stroke-dasharray="5 3"/>'
        )
        label = say("charts", f"line_{name}", lang, {"share": f"{value:.0%}".replace("%", " %")})
        anchor, nudge = ("end", -3) if name == "yellow" else ("start", 3)  # close lines: labels apart
        body.append(_text(tx + nudge, top - 14, label, anchor=anchor, fill=MUTED, extra='font-size="11"'))
    for i, row in enumerate(rows):
        y = top + i * band
        red = row.grade == "red"
        body.append(_text(left - 10, y + 15, row.code, anchor="end", extra='font-weight="600" font-size="13"'))
        body.append(_text(left - 10, y + 30, _short(row.name, 23), anchor="end", fill=MUTED, extra='font-size="11"'))
        if red:
            body.append(
                f'<rect x="{left - 108}" y="{y + 35}" width="98" height="16" rx="3" fill="{GRADE_COLOURS["red"]}"/>'
            )
            body.append(
                _text(
                    left - 59,
                    y + 47,
                    word("charts", "red_mark", lang),
                    anchor="middle",
                    fill="#fff",
                    extra='font-size="10" font-weight="700"',
                )
            )
        series = (
            (row.share_within_sla, GRADE_COLOURS[row.grade], f" ({row.within_sla}/{row.measured})"),
            (accept_share(row), ACCEPT_COLOUR, ""),
            (finish_share(row), FINISH_COLOUR, ""),
        )
        for j, (share, colour, extra) in enumerate(series):
            by = y + j * (bar + gap)
            if share is None:
                if j == 0:
                    body.append(_text(left + 6, by + 11, word("charts", "no_data", lang), fill=MUTED))
                continue
            bw = max(1.5, plot * share)
            body.append(f'<rect x="{left}" y="{by}" width="{bw:.1f}" height="{bar}" rx="2" fill="{colour}"/>')
            weight = ' font-weight="600"' if j == 0 else ""
            body.append(_text(left + plot + 8, by + 11, percent(share) + extra, extra=weight))
        body.append(
            f'<line x1="{left}" y1="{y + band - 9}" x2="{left + plot}" y2="{y + band - 9}" stroke="{GRID}" '
            'stroke-opacity=".6"/>'
        )
    title = say("charts", "share_title", lang, {"month": month})
    desc = "; ".join(
        say(
            "charts",
            "share_desc",
            lang,
            {
                "agency": row.code,
                "grade": word("grade", row.grade, lang),
                "share": percent(row.share_within_sla),
                "accept": percent(accept_share(row)),
                "finish": percent(finish_share(row)),
            },
        )
        for row in rows
    )
    return _svg(f"share-{month}", width, height, title, desc, body)


def _nice_max(value: float) -> float:
    """A round top for an axis: 1, 2 or 5 times a power of ten, at or above `value`."""
    if value <= 0:
        return 10.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def minutes_words(value: float | None, lang: str) -> str:
    if value is None:
        return "—"
    if value < 120:
        return say("charts", "minutes", lang, {"n": f"{value:g}"})
    return say("charts", "hours", lang, {"n": f"{value / 60:.1f}"})


def median_chart(rows: Sequence[AgencyScore], *, month: str, lang: str) -> str:
    """Per agency the median minutes from routing to accept and to finish (one scale, so they compare)."""
    left, plot, right, bar, gap = 170, 360, 100, 14, 3
    band = 2 * (bar + gap) + 14
    top = 34
    height = top + band * max(1, len(rows)) + 48
    width = left + plot + right
    values = [v for r in rows for v in (r.accept_median_min, r.resolve_median_min) if v is not None]
    scale = _nice_max(max(values, default=0.0))
    body = [f'<rect width="{width}" height="{height}" fill="#fff"/>']
    x = 8.0
    for colour, key in ((ACCEPT_COLOUR, "median_accept"), (FINISH_COLOUR, "median_finish")):
        label = word("charts", key, lang)
        body.append(f'<rect x="{x}" y="8" width="12" height="12" rx="2" fill="{colour}"/>')
        body.append(_text(x + 17, 18.5, label))
        x += 30 + 6.8 * len(label)
    for k in range(6):
        tx = left + plot * k / 5
        body.append(f'<line x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{height - 42}" stroke="{GRID}"/>')
        body.append(_text(tx, height - 26, f"{scale * k / 5:g}", anchor="middle", fill=MUTED))
    body.append(_text(left + plot / 2, height - 8, word("charts", "axis_minutes", lang), anchor="middle", fill=MUTED))
    for i, row in enumerate(rows):
        y = top + i * band
        body.append(_text(left - 10, y + 13, row.code, anchor="end", extra='font-weight="600" font-size="13"'))
        body.append(_text(left - 10, y + 28, _short(row.name, 23), anchor="end", fill=MUTED, extra='font-size="11"'))
        for j, (value, colour) in enumerate(
            ((row.accept_median_min, ACCEPT_COLOUR), (row.resolve_median_min, FINISH_COLOUR))
        ):
            by = y + j * (bar + gap)
            if value is None:
                body.append(
                    _text(left + 6, by + 11, word("charts", "no_times", lang), fill=MUTED, extra='font-size="11"')
                )
                continue
            bw = max(1.5, plot * value / scale)
            body.append(f'<rect x="{left}" y="{by}" width="{bw:.1f}" height="{bar}" rx="2" fill="{colour}"/>')
            body.append(_text(left + bw + 6, by + 11, minutes_words(value, lang)))
    title = say("charts", "median_title", lang, {"month": month})
    desc = "; ".join(
        say(
            "charts",
            "median_desc",
            lang,
            {
                "agency": row.code,
                "accept": minutes_words(row.accept_median_min, lang),
                "finish": minutes_words(row.resolve_median_min, lang),
            },
        )
        for row in rows
    )
    return _svg(f"median-{month}", width, height, title, desc, body)


def _month_label(month: str) -> str:
    return f"{month[5:7]}/{month[2:4]}"  # 2026-03 -> 03/26


def trend_chart(
    code: str, name: str, points: Sequence[TrendPoint], thresholds: ScorecardThresholds, *, lang: str
) -> str:
    """One agency's graded share month by month (a gap where nothing was decided), each point in its grade's colour,
    a red month marked in words."""
    left, plot_w, top, plot_h = 44, 380, 30, 120
    width, height = left + plot_w + 16, top + plot_h + 30
    step = plot_w / max(1, len(points) - 1) if len(points) > 1 else 0.0
    body = [f'<rect width="{width}" height="{height}" fill="#fff"/>']
    body += _zones(left, plot_w, top, plot_h, thresholds, vertical=True)
    body.append(_text(0, 16, f"{code} · {_short(name, 38)}", extra='font-weight="600" font-size="13"'))
    for tick in (0, 50, 100):
        ty = top + plot_h * (1 - tick / 100)
        body.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{left + plot_w}" y2="{ty:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, ty + 4, f"{tick} %", anchor="end", fill=MUTED, extra='font-size="10"'))
    coords: list[tuple[float, float, TrendPoint]] = []
    xy: list[tuple[float, float | None]] = []
    for i, point in enumerate(points):
        px = left + i * step if len(points) > 1 else left + plot_w / 2
        if i % 2 == 0 or i == len(points) - 1:
            body.append(
                _text(px, height - 8, _month_label(point.month), anchor="middle", fill=MUTED, extra='font-size="10"')
            )
        py = None if point.share is None else top + plot_h * (1 - point.share)
        xy.append((px, py))
        if py is not None:
            coords.append((px, py, point))
    if not coords:
        body.append(
            _text(left + plot_w / 2, top + plot_h / 2, word("charts", "no_data", lang), anchor="middle", fill=MUTED)
        )
    segments: list[list[str]] = [[]]
    for px, py in xy:  # nothing decided in a month breaks the line there
        if py is None:
            segments.append([])
        else:
            segments[-1].append(f"{px:.1f},{py:.1f}")
    for segment in segments:
        if len(segment) > 1:
            body.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{INK}" stroke-width="1.6"/>')
    for px, py, point in coords:
        body.append(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4.5" fill="{GRADE_COLOURS[point.grade]}" stroke="#fff" '
            f'stroke-width="1.5"><title>{escape(_month_label(point.month))}: {escape(percent(point.share))}</title>'
            "</circle>"
        )
        if point.grade == "red":
            body.append(
                _text(
                    min(px, left + plot_w - 12),  # the last month's word stays inside the chart
                    py + 17,
                    word("charts", "red_short", lang),
                    anchor="middle",
                    fill=GRADE_COLOURS["red"],
                    extra='font-size="10" font-weight="700"',
                )
            )
    title = say("charts", "trend_title", lang, {"agency": code, "months": len(points)})
    desc = "; ".join(f"{p.month}: {percent(p.share)} ({word('grade', p.grade, lang)})" for p in points)
    return _svg(f"trend-{code}", width, height, title, desc, body)
