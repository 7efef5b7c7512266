"""Report charts (matplotlib, headless): emotion shares, valence over time, dwell distribution.

Each function returns PNG bytes, so a report can embed them (base64) or write them to files; no window
is ever opened and nothing here touches the database.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence

from matplotlib.figure import Figure

from storemood.analytics.queries import AggregateRow, ValencePoint
from storemood.emotions import EMOTION_COLORS, FER7


def _png(figure: Figure) -> bytes:
    """Render without pyplot: no global state, no GUI backend, safe in a web server's threads."""
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def emotion_shares_png(rows: Sequence[AggregateRow], by: str) -> bytes:
    """Stacked horizontal bars: each group's share of visits by dominant emotion (suppressed groups left out)."""
    rows = [row for row in rows if row.shares is not None]
    figure = Figure(figsize=(8, 0.45 * len(rows) + 1.6))
    axes = figure.subplots()
    labels = [row.key for row in rows]
    left = [0.0] * len(rows)
    for emotion in FER7:
        widths = [row.shares[emotion] for row in rows]
        axes.barh(labels, widths, left=left, color=EMOTION_COLORS[emotion], label=emotion)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of visits by dominant emotion")
    axes.set_title(f"Reactions per {by}")
    axes.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    return _png(figure)


def valence_over_time_png(points: Sequence[ValencePoint], bucket: str) -> bytes:
    """One line per series (e.g. product): valence in each hour or day."""
    figure = Figure(figsize=(8, 3.6))
    axes = figure.subplots()
    for key in sorted({point.key for point in points}):
        series = [point for point in points if point.key == key]
        values = [float("nan") if p.valence is None else p.valence for p in series]  # suppressed points: gaps
        axes.plot([p.time for p in series], values, marker="o", markersize=3, label=key)
    axes.axhline(0, color="#888", linewidth=0.8)
    axes.set_ylim(-1.05, 1.05)
    axes.set_ylabel("valence (positive − negative share)")
    axes.set_title(f"Valence per {bucket}")
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    axes.legend(fontsize=8, loc="best")
    return _png(figure)


def dwell_png(histogram: dict[str, list[int] | None], edges: Sequence[float]) -> bytes:
    """Grouped bars: how many visits fall in each dwell-time bin, per group (suppressed groups left out)."""
    histogram = {key: counts for key, counts in histogram.items() if counts is not None}
    figure = Figure(figsize=(8, 3.6))
    axes = figure.subplots()
    bins = [f"{lo:g}–{hi:g}s" for lo, hi in itertools.pairwise(edges)] + [f"≥{edges[-1]:g}s"]
    width = 0.8 / max(1, len(histogram))
    for offset, (key, counts) in enumerate(histogram.items()):
        axes.bar([i + offset * width for i in range(len(bins))], counts, width=width, label=key)
    axes.set_xticks([i + 0.4 - width / 2 for i in range(len(bins))], bins)
    axes.set_ylabel("visits")
    axes.set_title("Dwell time")
    axes.legend(fontsize=8)
    return _png(figure)
