"""Reports of aggregated visits: a terminal table, CSV, JSON and a self-contained HTML page with charts.

:func:`build_report` runs the queries once; the ``to_*`` functions only format what it returned, so every
format shows the same numbers. The HTML page embeds its PNG charts as base64 and needs no other file.

>>> from datetime import UTC, datetime
>>> from storemood.database.event_table import EventTable
>>> from storemood.visit_record import VisitEvent
>>> table = EventTable("sqlite://")                     # an in-memory database
>>> build_report(table.engine, "product")
Traceback (most recent call last):
storemood.analytics.report.NoVisits: no visit events match (empty database)
>>> happy = {name: 1.0 if name == "happy" else 0.0 for name in FER7}
>>> table.add([VisitEvent("s1", "cam1", "z1", "A1", "Acme", 1, datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC),
...                       datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC), frames=75, probabilities=happy,
...                       dominant_emotion="happy", face_score=0.9, face_size=90.0)])
1
>>> report = build_report(table.engine, "product")
>>> [(row.key, row.visits, row.suppressed, row.valence) for row in report.rows]  # one visit: under k = 5
[('A1', 1, True, None)]
>>> report = build_report(table.engine, "product", policy=FigurePolicy(min_group=1, shares="count"), exact=True)
>>> row = json.loads(to_json(report))["rows"][0]
>>> row["valence"], row["enough_visits"], row["dwell_median_s"], len(to_csv(report).splitlines())
(1.0, False, 5.0, 2)
>>> rolled = build_report(table.engine, "product", policy=FigurePolicy(min_group=1, shares="count"))
>>> round(rolled.rows[0].dwell_median_s, 2)  # from the roll-ups' dwell histogram: within its bin, 4.24-5.04 s
4.63
>>> to_html(table.engine, report).startswith("<!doctype html>")
True
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from storemood.analytics import queries
from storemood.analytics.policy import FigurePolicy
from storemood.analytics.queries import AggregateRow, Bind, Filters
from storemood.analytics.rows import Dimension, csv_text
from storemood.database.timezones import check_timezone
from storemood.defaults import ENGAGEMENT_DWELL_S
from storemood.emotions import FER7
from storemood.errors import UserError

#: At most this many series in the valence-over-time and dwell charts (the groups with most visits).
MAX_SERIES = 8
#: Data spanning at most this many days gets hourly valence points, longer spans daily ones.
HOURLY_UP_TO_DAYS = 2


@dataclass(frozen=True)
class Report:
    """Aggregated rows for one ``by`` and the filters that chose the events."""

    by: str
    rows: list[AggregateRow]
    filters: Filters
    engagement_dwell_s: float
    policy: FigurePolicy = field(default_factory=FigurePolicy)


class NoVisits(UserError):
    """No visit matches the filters: a quiet period, not a mistake (``storemood report`` exits 0)."""


def build_report(
    bind: Bind,
    by: Dimension,
    filters: Filters | None = None,
    engagement_dwell_s: float = ENGAGEMENT_DWELL_S,
    policy: FigurePolicy | None = None,
    exact: bool = False,
) -> Report:
    """Aggregate the events (``exact``: all from raw visits, not the roll-ups); :class:`NoVisits`
    when none match (an empty table would only mislead)."""
    filters = filters or Filters()
    policy = policy or FigurePolicy()
    rows = queries.aggregate(bind, by, filters, engagement_dwell_s, policy, exact)
    if not rows:
        raise NoVisits(
            "no visit events match" + (" the given filters" if filters != Filters() else " (empty database)")
        )
    return Report(by, rows, filters, engagement_dwell_s, policy)


def to_json(report: Report) -> str:
    """``{"by": ..., "rows": [{<by>: key, "brand", "visits", "dwell_median_s", "shares", "shares_ci95",
    "valence", "valence_ci95", "enough_visits", ...}], "min_visits", "min_group", "shares_method"}``."""
    return json.dumps(
        {
            "by": report.by,
            "rows": [row.to_dict(report.by) for row in report.rows],
            "min_visits": report.policy.min_visits,
            "min_group": report.policy.min_group,
            "shares_method": report.policy.shares,
        },
        indent=2,
    )


def to_csv(report: Report) -> str:
    """The JSON rows as CSV, in the same schema as the API's ``format=csv`` (see :mod:`storemood.analytics.rows`)."""
    return csv_text([row.to_dict(report.by) for row in report.rows])


def status(row: AggregateRow, policy: FigurePolicy) -> str:
    """Why a row's figures are not shown or not ranked ("" when they are both)."""
    if row.suppressed:
        return f"suppressed: fewer than {policy.min_group} visits"
    if row.shares is None:
        return "no face readable: no emotion figures"
    return "" if row.enough_visits else f"too few read visits (under {policy.min_visits}): not ranked"


def visits_text(row: AggregateRow) -> str:
    """The visit count, with how many had a readable face when some did not: ``57 (48 read)``."""
    unread = row.read_visits is not None and row.read_visits < row.visits
    return f"{row.visits} ({row.read_visits} read)" if unread else str(row.visits)


def interval_text(interval: tuple[float, float] | None, spec: str) -> str:
    return f"{interval[0]:{spec}} to {interval[1]:{spec}}" if interval else ""


def to_table(report: Report):
    """A rich Table that fits a terminal: one row per group, median dwell, valence and the three most frequent
    reactions, each with its 95% interval; groups under the minimum sample are dimmed, suppressed groups show
    only their visits.

    (CSV, JSON and HTML carry every emotion's share, interval and mean probability.)
    """
    from rich.table import Table

    table = Table(
        title=f"Shopper reactions per {report.by} (shares: {report.policy.shares}; 95% intervals)",
        title_justify="left",
    )
    numeric = ("visits", "median dwell", "engaged", "valence")
    for header in (report.by, "brand", *numeric, "valence 95%", "top reactions"):
        table.add_column(header, justify="right" if header in numeric else "left", no_wrap=header == report.by)
    for row in report.rows:
        if row.suppressed:
            hidden = f"suppressed: <{report.policy.min_group} visits"  # short: a terminal is narrow
            table.add_row(_label(row), row.brand, str(row.visits), "–", "–", "–", "–", hidden, style="dim")
            continue
        table.add_row(
            _label(row),
            row.brand,
            visits_text(row),
            f"{row.dwell_median_s:.1f} s ({interval_text(row.dwell_median_ci95_s, '.1f')})",
            f"{row.engagement:.0%}",
            "–" if row.valence is None else f"{row.valence:+.2f}",
            interval_text(row.valence_ci95, "+.2f"),
            "; ".join(text for text in (status(row, report.policy), _top_reactions(row)) if text),
            style=None if row.enough_visits else "dim",
        )
    return table


def _top_reactions(row: AggregateRow, count: int = 3) -> str:
    """The ``count`` largest shares with their intervals, e.g. ``happy 41% (35-47%)``."""
    ranked = sorted((row.shares or {}).items(), key=lambda item: -item[1])[:count]
    intervals = row.shares_ci95 or {}
    return ", ".join(
        f"{name} {share:.0%} ({intervals[name][0]:.0%}-{intervals[name][1]:.0%})"
        for name, share in ranked
        if round(share, 2) > 0
    )


def _label(row: AggregateRow) -> str:
    return f"{row.key} ({row.product_name})" if row.product_name and row.product_name != row.key else row.key


def to_html(bind: Bind, report: Report) -> str:
    """A standalone HTML page: summary table plus emotion-share, valence-over-time and dwell charts."""
    from storemood.analytics import plots

    first, last = queries.time_span(bind, report.filters)
    bucket = "hour" if first and last and (last - first).total_seconds() <= HOURLY_UP_TO_DAYS * 86400 else "day"
    series = report.by if report.by not in ("hour", "day") else "product"
    top = _busiest(bind, report, series)
    series_filters = report.filters.narrowed(series, top)
    charts = {
        f"Reactions per {report.by}": plots.emotion_shares_png(report.rows, report.by),
        f"Valence per {bucket}": plots.valence_over_time_png(
            queries.valence_over_time(bind, bucket, series, series_filters, report.policy), bucket
        ),
        "Dwell time": plots.dwell_png(
            queries.dwell_distribution(bind, series, filters=series_filters, min_group=report.policy.min_group),
            queries.DWELL_EDGES,
        ),
    }
    return _page(report, charts, first, last)


def _busiest(bind: Bind, report: Report, series: str) -> tuple[str, ...]:
    """The ``MAX_SERIES`` groups of ``series`` with most visits (charts with more lines are unreadable)."""
    rows = report.rows if series == report.by else queries.aggregate(bind, series, report.filters, policy=report.policy)
    return tuple(row.key for row in sorted(rows, key=lambda row: -row.visits)[:MAX_SERIES])


def _cells(row: AggregateRow, policy: FigurePolicy) -> list[str]:
    """The HTML table cells of one row: figures with their intervals, or why there are none."""
    named = [_label(row), row.brand, visits_text(row)]
    if row.suppressed:
        return [*named, status(row, policy), *[""] * (4 + len(FER7))]
    dwell = [f"{row.dwell_median_s:.1f} ({interval_text(row.dwell_median_ci95_s, '.1f')})", f"{row.engagement:.0%}"]
    if row.shares is None:
        return [*named, status(row, policy), *dwell, *[""] * (1 + len(FER7))]
    intervals = row.shares_ci95 or {}
    return [
        *named,
        status(row, policy),
        *dwell,
        f"{row.valence:+.2f} ({interval_text(row.valence_ci95, '+.2f')})",
        *(f"{row.shares[name]:.0%} ({intervals[name][0]:.0%}–{intervals[name][1]:.0%})" for name in FER7),
    ]


def _page(report: Report, charts: dict[str, bytes], first: datetime | None, last: datetime | None) -> str:
    headers = (report.by, "brand", "visits", "note", "median dwell (s)", "engagement", "valence", *FER7)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{"" if row.rankable else "few"}">'
        + "".join(f"<td>{html.escape(value)}</td>" for value in _cells(row, report.policy))
        + "</tr>"
        for row in report.rows
    )
    images = "".join(
        f'<h2>{html.escape(title)}</h2><img alt="{html.escape(title)}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
        for title, png in charts.items()
    )
    zone = check_timezone(report.filters.timezone)
    period = f"{_when(first, zone)} – {_when(last, zone)} ({report.filters.timezone})"
    policy = report.policy
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>storemood report per {html.escape(report.by)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:80em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}td:first-child,td:nth-child(2){{text-align:left}}
tr.few td{{color:#999;background:#f6f6f6}}img{{max-width:100%}}</style></head><body>
<h1>Shopper reactions per {html.escape(report.by)}</h1>
<p>Visits from {html.escape(period)}. A visit is one shopper's stay in front of one product;
valence is the share of visits whose dominant expression was positive (happy, surprise) minus the share
negative (angry, disgust, fear, sad); engaged visits lasted at least {report.engagement_dwell_s:g} s.
Emotion figures count only the visits in which the face was readable at least once (turned towards the
camera and large enough; "48 read" says how many); visits, dwell and engagement count every visit.
Emotion shares are estimated by the <b>{html.escape(policy.shares)}</b> method; figures in brackets are 95%
intervals. Rows with fewer than {policy.min_visits} read visits are greyed: too few visits to rank. Groups with
fewer than {policy.min_group} visits show no figure at all, so that no single shopper's reaction can be read.
Generated {_when(datetime.now(UTC), zone)}.</p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
{images}
</body></html>
"""


def _when(moment: datetime | None, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "?"
