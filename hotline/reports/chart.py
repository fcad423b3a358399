"""The scorecard as a PNG: share within SLA per agency, coloured by grade, with the threshold lines."""

from __future__ import annotations

import io
from pathlib import Path

from hotline.features.scorecard import Grade, Scorecard
from hotline.reports.labels import GRADE_COLOURS, TITLE

LINE_WORDS: dict[Grade, str] = {"green": "hijau", "yellow": "kuning"}


def write_png(card: Scorecard, path: Path) -> Path:
    path.write_bytes(png_bytes(card))
    return path


def png_bytes(card: Scorecard) -> bytes:
    """The chart as PNG bytes (the CLI writes them to a file, the console sends them)."""
    # The object API with the Agg canvas: no pyplot global state, no display needed (servers, CI).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = card.agencies
    fig = Figure(figsize=(max(6.0, 1.1 * len(rows) + 2), 4.8), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    codes = [r.code for r in rows]
    shares = [100 * (r.share_within_sla or 0.0) for r in rows]
    bars = ax.bar(codes, shares, color=[GRADE_COLOURS[r.grade] for r in rows], edgecolor="#424242")
    for bar, row in zip(bars, rows, strict=True):
        label = f"{row.within_sla}/{row.measured}" if row.measured else "tidak ada data\nno data"
        ax.annotate(
            label,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    lines: tuple[tuple[Grade, float], ...] = (("green", card.thresholds.green), ("yellow", card.thresholds.yellow))
    for name, threshold in lines:
        ax.axhline(100 * threshold, color=GRADE_COLOURS[name], linestyle="--", linewidth=1.2)
        ax.text(
            1.0,
            100 * threshold,
            f" {threshold:.0%} {LINE_WORDS[name]}",
            color=GRADE_COLOURS[name],
            va="center",
            transform=ax.get_yaxis_transform(),
            fontsize=8,
        )
    ax.set_ylim(0, 112)
    ax.set_ylabel("Tepat SLA / Within SLA (%)")
    ax.set_xlabel("Instansi / Agency")
    ax.set_title(f"{TITLE} {card.month} ({card.timezone})")
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
