"""Aggregates of visit events, computed in SQL that runs the same on SQLite and PostgreSQL.

These functions are the analytics API: ``storemood report`` prints them and the web API serves them.
Each takes an Engine, a Connection or an ORM Session (``bind``), optional :class:`Filters`, and returns
plain typed rows.

Every row carries 95% intervals (:mod:`storemood.analytics.uncertainty`); a group of fewer visits than
:class:`FigurePolicy`'s ``min_group`` (k) comes suppressed, every figure but its visit count None.

Portability notes: the median dwell compiles to ``percentile_cont(0.5)`` on PostgreSQL and on SQLite to
the ``storemood_median`` aggregate that :mod:`storemood.database.sqlite_functions` registers on every
connection (its interval's bounds to ``storemood_median_low``/``_high``, or to the sorted ``array_agg``
indexed by rank on PostgreSQL), so each report is one grouped pass over the events; hour and day buckets are read in
``Filters.timezone`` (UTC by default): they compile to ``to_char(... AT TIME ZONE ...)`` on PostgreSQL,
and on SQLite to ``strftime`` for UTC or to the ``storemood_local_bucket`` function registered beside
``storemood_median``.

>>> from datetime import UTC, datetime, timedelta
>>> from storemood.database.event_table import EventTable
>>> from storemood.visit_record import VisitEvent
>>> def visit(sku, brand, emotion, seconds):
...     start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
...     probabilities = {name: 0.9 if name == emotion else 0.1 / 6 for name in EMOTION_COLUMNS}
...     return VisitEvent("s1", "cam1", f"zone-{sku}", sku, brand, 1, start, start + timedelta(seconds=seconds),
...                       frames=int(seconds * 15), probabilities=probabilities, dominant_emotion=emotion,
...                       face_score=0.9, face_size=90.0)
>>> table = EventTable("sqlite://")                     # an in-memory database
>>> table.add([visit("A1", "Acme", "happy", 4), visit("A1", "Acme", "neutral", 2), visit("B2", "Bolt", "sad", 8)])
3
>>> [(row.key, row.visits, row.suppressed, row.valence) for row in aggregate(table.engine, "product")]
[('A1', 2, True, None), ('B2', 1, True, None)]
>>> every = FigurePolicy(min_group=1, shares="count")  # k = 1: show groups of any size (not for production)
>>> [(row.key, row.dwell_median_s, row.shares["happy"], row.enough_visits) for row in aggregate(
...     table.engine, "product", policy=every, exact=True)]  # exact: medians from the raw events
[('A1', 3.0, 0.5, False), ('B2', 8.0, 0.0, False)]
>>> overall(table.engine, policy=every, exact=True).dwell_median_ci95_s  # order-statistic interval
(2.0, 8.0)
>>> round(overall(table.engine, policy=every).dwell_median_s, 2)  # from the dwell histogram (exact: 4.0)
3.89
>>> dwell_distribution(table.engine, "brand", min_group=1)  # visits per dwell bin (DWELL_EDGES)
{'Acme': [0, 2, 0, 0, 0, 0], 'Bolt': [0, 0, 1, 0, 0, 0]}
>>> [(product.id, product.brand, product.visits) for product in list_products(table.engine)]
[('A1', 'Acme', 2), ('B2', 'Bolt', 1)]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from storemood.analytics import quantification
from storemood.analytics.policy import DEFAULT_METHOD, MIN_GROUP, FigurePolicy
from storemood.analytics.rows import DIMENSIONS, Compared, Dimension
from storemood.database.rollups import PERIODS, ZERO, constant, event_measures, histogram_quantile
from storemood.database.rollups import TIERS as rollup_tiers
from storemood.database.schema import DWELL_BIN_COLUMNS, DWELL_BIN_EDGES, EMOTION_COLUMNS, events, stores
from storemood.database.sqlite_functions import Z95, median_interval_ranks
from storemood.database.timezones import BUCKET_FORMATS, check_timezone, offsets_are_multiples_of
from storemood.defaults import ENGAGEMENT_DWELL_S
from storemood.emotions import FER7, NEGATIVE, POSITIVE
from storemood.errors import UserError

Bind = Engine | Connection | Session
#: Default dwell histogram bin edges, seconds (the last bin is open-ended).
DWELL_EDGES: tuple[float, ...] = (0.0, 2.0, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class Filters:
    """Which events to include: every given list restricts to its values; times bound the visit start."""

    stores: tuple[str, ...] = ()
    cameras: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    timezone: str = "UTC"  # IANA zone (e.g. Europe/Paris) in which hour and day buckets are read

    def __post_init__(self) -> None:
        check_timezone(self.timezone)

    def narrowed(self, by: str, values: tuple[str, ...]) -> Filters:
        """These filters, further restricted to ``values`` of ``by`` (store, camera, zone, product, brand)."""
        field = f"{by}s"
        if field not in self.__dataclass_fields__:
            raise UserError(f"cannot filter by {by!r}")
        return replace(self, **{field: values})

    def clauses(self) -> list[ColumnElement[bool]]:
        """Conditions on the events table: these filters' values and time range."""
        chosen = self.value_clauses(events)
        if self.since is not None:
            chosen.append(events.c.start >= self.since)
        if self.until is not None:
            chosen.append(events.c.start < self.until)
        return chosen

    def value_clauses(self, table: sa.Table) -> list[ColumnElement[bool]]:
        """Conditions on ``table`` (events or roll-ups) for every given list of values, not the times."""
        return [table.c[column].in_(values) for column, values in self.value_lists()]

    def value_lists(self) -> list[tuple[str, tuple[str, ...]]]:
        """Each filtered column with its values, for the lists that are given."""
        chosen = (
            ("store", self.stores),
            ("camera", self.cameras),
            ("zone", self.zones),
            ("product", self.products),
            ("brand", self.brands),
        )
        return [(column, values) for column, values in chosen if values]


Interval = tuple[float, float]


@dataclass(frozen=True)
class AggregateRow:
    """Figures for one group of visits (one product, brand, zone, camera, store, hour or day).

    ``brand`` and ``store`` are the group's brand and store when all its visits share one, else ``""``.
    ``counts`` are the visits by dominant emotion; ``shares`` each emotion's estimated share by the method
    ``shares_method``; ``probabilities`` the mean (calibrated) probabilities; ``valence`` the positive minus
    the negative share (-1..1); ``engaged`` the visits lasting at least the engagement threshold; the
    ``*_ci95`` fields are 95% intervals (:mod:`storemood.analytics.uncertainty`). ``read_visits`` are the
    visits whose face was readable at least once: the emotion figures (counts, shares, probabilities,
    valence) are over these only, while visits, engagement and dwell count every visit; with no read visit
    the emotion figures are None. ``enough_visits``: the group reaches the minimum sample of read visits
    and may be ranked. A ``suppressed`` group has fewer visits than the minimum group size: every figure but
    its visit count is None.
    """

    key: str
    brand: str
    store: str
    visits: int
    engaged: int | None
    dwell_total_s: float | None
    dwell_median_s: float | None
    shares: dict[str, float] | None
    probabilities: dict[str, float] | None
    valence: float | None
    product_name: str = ""
    counts: dict[str, int] | None = None
    shares_method: str = DEFAULT_METHOD
    shares_ci95: dict[str, Interval] | None = None
    valence_ci95: Interval | None = None
    dwell_median_ci95_s: Interval | None = None
    read_visits: int | None = None
    enough_visits: bool = False
    suppressed: bool = False

    @property
    def engagement(self) -> float | None:
        """Share of visits that were engaged."""
        if self.engaged is None:
            return None
        return self.engaged / self.visits if self.visits else 0.0

    @property
    def rankable(self) -> bool:
        """Whether the group may enter a best/worst list: enough visits and figures shown."""
        return self.enough_visits and not self.suppressed

    def to_dict(self, by: str) -> dict:
        """The JSON row of ``storemood report --format json`` and the web API (by-key first)."""
        data = asdict(self)
        return {by: data.pop("key"), **data, "engagement": self.engagement}


@dataclass(frozen=True)
class ValencePoint:
    """Valence of one series (e.g. one product) in one time bucket."""

    time: str
    key: str
    visits: int
    valence: float | None  # None: fewer visits than the minimum group size
    valence_ci95: Interval | None = None


class _TimeBucket(ColumnElement):
    """The hour (``2026-11-22T10:00``, with ``Z`` in UTC) or day (``2026-11-22``) of a timestamp in a time
    zone, as text. Local hours carry no offset: the hour repeated when clocks go back is one bucket."""

    inherit_cache = True
    _traverse_internals = (
        ("column", InternalTraversal.dp_clauseelement),
        ("unit", InternalTraversal.dp_string),
        ("timezone", InternalTraversal.dp_string),
    )
    type = sa.String()

    def __init__(self, column: ColumnElement, unit: str, timezone: str) -> None:
        self.column = column
        self.unit = unit
        self.timezone = timezone


_POSTGRES_FORMATS = {"hour": 'YYYY-MM-DD"T"HH24:00', "day": "YYYY-MM-DD"}


@compiles(_TimeBucket, "sqlite")
def _bucket_sqlite(element: _TimeBucket, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    if element.timezone == "UTC":
        utc_format = BUCKET_FORMATS[element.unit] + ("Z" if element.unit == "hour" else "")
        return f"strftime('{utc_format}', {column})"
    zone = compiler.process(sa.literal(element.timezone), **kw)
    return f"storemood_local_bucket({column}, {zone}, '{element.unit}')"


@compiles(_TimeBucket, "postgresql")
def _bucket_postgresql(element: _TimeBucket, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    zone = compiler.process(sa.literal(element.timezone), **kw)
    if element.unit == "weekday_hour":  # to_char's day of week starts at 1; %w (SQLite, Python) at 0
        local = f"({column} AT TIME ZONE {zone})"
        return f"(extract(dow from {local})::int || ' ' || to_char({local}, 'HH24'))"
    suffix = '"Z"' if element.unit == "hour" and element.timezone == "UTC" else ""
    return f"to_char({column} AT TIME ZONE {zone}, '{_POSTGRES_FORMATS[element.unit]}{suffix}')"


class _DwellBin(ColumnElement):
    """The dwell histogram bin (0..61, ``DWELL_BIN_EDGES``) of a dwell: PostgreSQL's ``width_bucket`` over
    the edges (a binary search), a searched CASE elsewhere; both put a dwell equal to an edge in the bin
    it starts."""

    inherit_cache = True
    _traverse_internals = (("column", InternalTraversal.dp_clauseelement),)
    type = sa.Integer()

    def __init__(self, column: ColumnElement) -> None:
        self.column = column


@compiles(_DwellBin)
def _dwell_bin_searched(element: _DwellBin, compiler, **kw) -> str:
    edges = [(element.column < constant(edge), constant(index)) for index, edge in enumerate(DWELL_BIN_EDGES[1:])]
    return compiler.process(sa.case(*edges, else_=constant(len(DWELL_BIN_EDGES) - 1)), **kw)


@compiles(_DwellBin, "postgresql")
def _dwell_bin_postgresql(element: _DwellBin, compiler, **kw) -> str:
    edges = ", ".join(repr(edge) for edge in DWELL_BIN_EDGES[1:])
    return f"width_bucket({compiler.process(element.column, **kw)}, ARRAY[{edges}]::double precision[])"


class _Median(ColumnElement):
    """The median of a column over each group: the mean of the two middle values for an even group."""

    inherit_cache = True
    _traverse_internals = (("column", InternalTraversal.dp_clauseelement),)
    type = sa.Float()

    def __init__(self, column: ColumnElement) -> None:
        self.column = column


@compiles(_Median, "sqlite")
def _median_sqlite(element: _Median, compiler, **kw) -> str:
    return f"storemood_median({compiler.process(element.column, **kw)})"


@compiles(_Median, "postgresql")
def _median_postgresql(element: _Median, compiler, **kw) -> str:
    return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {compiler.process(element.column, **kw)})"


class _MedianBound(ColumnElement):
    """The lower (``side = -1``) or upper (``side = 1``) bound of the 95% interval of each group's median:
    an order statistic whose rank :func:`storemood.database.sqlite_functions.median_interval_ranks` gives."""

    inherit_cache = True
    _traverse_internals = (
        ("column", InternalTraversal.dp_clauseelement),
        ("side", InternalTraversal.dp_plain_obj),
    )
    type = sa.Float()

    def __init__(self, column: ColumnElement, side: int) -> None:
        self.column = column
        self.side = side


@compiles(_MedianBound, "sqlite")
def _median_bound_sqlite(element: _MedianBound, compiler, **kw) -> str:
    name = "storemood_median_low" if element.side < 0 else "storemood_median_high"
    return f"{name}({compiler.process(element.column, **kw)})"


@compiles(_MedianBound, "postgresql")
def _median_bound_postgresql(element: _MedianBound, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    n = f"count({column})"
    half = f"{Z95!r} * sqrt({n}) / 2"
    rank = (
        f"greatest(1, floor({n} / 2.0 - {half}))" if element.side < 0 else f"least({n}, ceil({n} / 2.0 + 1 + {half}))"
    )
    return f"(array_agg({column} ORDER BY {column}))[({rank})::int]"


#: Groupings read from the visit's start in the filters' time zone.
_TIME_BUCKETS = ("hour", "day", "weekday_hour")


def _dimension(name: str, timezone: str = "UTC", table: sa.Table = events, time_column: str = "start") -> ColumnElement:
    """The grouping key ``name`` over the events or a roll-up table (whose period, ``time_column``, stands for
    its visits' starts)."""
    if name not in (*DIMENSIONS, *_TIME_BUCKETS):
        raise UserError(f"cannot group by {name!r}; choose one of {', '.join(DIMENSIONS)}")
    # Over roll-ups, only those whose periods fall wholly in one local bucket (see _periods_serving).
    column = _TimeBucket(table.c[time_column], name, timezone) if name in _TIME_BUCKETS else table.c[name]
    return column.label(_key(name))


def _key(name: str) -> str:
    """Result label of a grouping key (distinct from the figure columns such as ``brand``)."""
    return f"by_{name}"


def _single_or_blank(column: ColumnElement) -> ColumnElement:
    """The group's value of ``column`` when all its rows share one, else ``''``."""
    return sa.case((sa.func.min(column) == sa.func.max(column), sa.func.min(column)), else_="")


def _execute(bind: Bind, statement, params: Mapping[str, object] | None = None) -> list[sa.Row]:
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return list(connection.execute(statement, params))
    return list(bind.execute(statement, params))


#: Event columns the grouped figures are computed from.
_FIGURE_COLUMNS = ("brand", "store", "product_name", "dwell_s", "dominant", *EMOTION_COLUMNS.values())


Figures = Mapping[str, object]


def _grouped_figures(
    bind: Bind, dimensions: list[str], filters: Filters | None, engagement_dwell_s: float, exact: bool
) -> list[Figures]:
    """One mapping per group: the group keys, then every figure :class:`AggregateRow` needs.

    From the roll-ups (whole days, hours and quarter-hours) plus the raw events of the minutes left at the
    edges, unless ``exact`` is asked for or the roll-ups cannot answer (see :func:`_rollups_answer`).
    """
    filters = filters or Filters()
    if not _rollups_answer(dimensions, filters, engagement_dwell_s, exact):
        return _exact_figures(bind, dimensions, filters, engagement_dwell_s)
    return [_from_sums(sums, engagement_dwell_s) for sums in _rolled_up_sums(bind, dimensions, filters)]


def _rollups_answer(dimensions: list[str], filters: Filters, engagement_dwell_s: float, exact: bool) -> bool:
    """Whether the roll-ups can give these figures: not when exact ones are asked for, for local hours or days
    that no roll-up period falls wholly in (see :func:`_periods_serving`), or for an engagement threshold that
    is not a dwell histogram edge."""
    return not exact and engagement_dwell_s in DWELL_BIN_EDGES and bool(_periods_serving(dimensions, filters))


def _exact_figures(bind: Bind, dimensions: list[str], filters: Filters, engagement_dwell_s: float) -> list[Figures]:
    """Every figure from the raw events: exact medians and their order-statistic intervals."""
    keys = [_dimension(name, filters.timezone) for name in dimensions]
    # Keys are computed once in a subquery and grouped by name: PostgreSQL would not match a time bucket
    # in GROUP BY to the same expression in SELECT, since each carries its own time-zone parameter.
    visits = (
        sa.select(*keys, *(events.c[name] for name in _FIGURE_COLUMNS)).where(*filters.clauses()).subquery("visits")
    )
    v = visits.c
    grouping = [v[_key(name)] for name in dimensions]
    statement = (
        sa.select(
            *grouping,
            *_group_names(v),
            sa.func.count().label("visits"),
            sa.func.sum(sa.case((v.dwell_s >= engagement_dwell_s, 1), else_=0)).label("engaged"),
            sa.func.sum(v.dwell_s).label("dwell_total_s"),
            _Median(v.dwell_s).label("dwell_median_s"),
            _MedianBound(v.dwell_s, -1).label("dwell_low_s"),
            _MedianBound(v.dwell_s, 1).label("dwell_high_s"),
            *(sa.func.sum(sa.case((v.dominant == name, 1), else_=0)).label(f"n_{name}") for name in FER7),
            sa.func.count(v[EMOTION_COLUMNS[FER7[0]]]).label("emotion_visits"),
            *(sa.func.avg(v[column]).label(column) for column in EMOTION_COLUMNS.values()),
        )
        .group_by(*grouping)
        .order_by(*grouping)
    )
    return [row._mapping for row in _execute(bind, statement)]


def _group_names(columns) -> list[ColumnElement]:
    """The group's brand, store and product name, each where all its visits share one (else ``''``)."""
    return [_single_or_blank(columns[name]).label(name) for name in ("brand", "store", "product_name")]


#: Whether a time window of a roll-up read has a lower and an upper bound (their values are parameters).
Bounds = tuple[bool, bool]


@dataclass(frozen=True)
class _SumsShape:
    """All that the SQL of one roll-up read depends on: the grouping, the time zone, the filtered columns, and
    the time windows it reads, in order, each from a source (a roll-up table named as in
    ``storemood.database.rollups.TIERS``, or ``raw`` events) and with or without each bound.

    Times and filter values are bound parameters, so a statement is built once per shape (and compiled once,
    in SQLAlchemy's cache) however the range moves: building the 62-bin statement cost about as much Python
    time as the database spent answering it.
    """

    dimensions: tuple[str, ...]
    timezone: str
    filtered: tuple[str, ...]
    windows: tuple[tuple[str, Bounds], ...]


def _read_plan(dimensions: list[str], filters: Filters) -> tuple[_SumsShape, dict[str, object]]:
    """The shape of the roll-up read that answers ``filters`` and the parameters to run it with: whole UTC
    days from the daily roll-ups, the other whole hours from the hourly ones, what is left at the edges from
    the raw events (see :func:`_periods_serving` for a grouping by local time). A view that names no store,
    camera or zone (in its filters or its grouping) reads the chain-level roll-ups, whose whole quarter-hours
    leave under 15 minutes at each edge to the raw events."""
    params: dict[str, object] = {f"{column}_in": list(values) for column, values in filters.value_lists()}
    spans = _spans(filters.since, filters.until, _periods_serving(dimensions, filters))
    if _chain_wide(dimensions, filters):
        spans = [(source if source == "raw" else f"product_{source}", low, high) for source, low, high in spans]
    windows = tuple(
        (source, _bind_window(params, f"w{index}", low, high)) for index, (source, low, high) in enumerate(spans)
    )
    filtered = tuple(column for column, _ in filters.value_lists())
    return _SumsShape(tuple(dimensions), filters.timezone, filtered, windows), params


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _periods_serving(dimensions: list[str], filters: Filters) -> tuple[str, ...]:
    """The roll-up periods, coarsest first, that can answer: days and hours, and quarter-hours for a view that
    names no store, camera or zone (only the chain-level roll-ups have them). Grouped by local hours or days,
    only periods that fall wholly in one: no days (UTC days are not local days), and hours or quarter-hours
    only where the zone's offset is a multiple of their length (every zone in use today for quarter-hours)."""
    periods = [period for period in PERIODS if period != "quarter" or _chain_wide(dimensions, filters)]
    if any(name in _TIME_BUCKETS for name in dimensions):
        minutes = {period: int(PERIODS[period].total_seconds()) // 60 for period in periods}
        periods = [p for p in periods if p != "day" and offsets_are_multiples_of(filters.timezone, minutes[p])]
    return tuple(periods)


Span = tuple[str, datetime | None, datetime | None]


def _spans(low: datetime | None, high: datetime | None, periods: tuple[str, ...]) -> list[Span]:
    """``[low, high)`` (None: unbounded) as the whole periods of the first kind within it, the rest on either
    side split the same way by the finer periods, and what remains as raw events."""
    if not periods:
        return [("raw", low, high)]
    period, finer = periods[0], periods[1:]
    first = None if low is None else _period_floor(low - timedelta(microseconds=1), period) + PERIODS[period]
    end = None if high is None else _period_floor(high, period)
    if first is not None and end is not None and first >= end:
        return _spans(low, high, finer)
    spans: list[Span] = [(period, first, end)]
    if low is not None and first is not None and low < first:
        spans += _spans(low, first, finer)
    if high is not None and end is not None and end < high:
        spans += _spans(end, high, finer)
    return spans


def _period_floor(moment: datetime, period: str) -> datetime:
    """The start of the UTC day, hour or quarter-hour that ``moment`` falls in."""
    length = PERIODS[period]
    return _UNIX_EPOCH + (moment.astimezone(UTC) - _UNIX_EPOCH) // length * length


def _chain_wide(dimensions: list[str], filters: Filters) -> bool:
    """Whether the chain-level roll-ups (per product, whatever the store, camera or zone) can answer."""
    per_place = filters.stores or filters.cameras or filters.zones
    return not per_place and all(name in ("product", "brand", *_TIME_BUCKETS) for name in dimensions)


def _bind_window(params: dict[str, object], name: str, low: datetime | None, high: datetime | None) -> Bounds:
    """Put a window's bounds into ``params`` (as ``{name}_from`` and ``{name}_to``) and say which it has."""
    if low is not None:
        params[f"{name}_from"] = low
    if high is not None:
        params[f"{name}_to"] = high
    return low is not None, high is not None


def _window(column: ColumnElement, name: str, bounds: Bounds) -> ColumnElement[bool]:
    """``column`` within the window ``name`` (from inclusive, to exclusive), its bounds bound parameters."""
    low, high = bounds
    conditions = [column >= sa.bindparam(f"{name}_from", type_=column.type)] if low else []
    conditions += [column < sa.bindparam(f"{name}_to", type_=column.type)] if high else []
    return sa.and_(sa.true(), *conditions)


def _filter_parameters(table: sa.Table, columns: tuple[str, ...]) -> list[ColumnElement[bool]]:
    """``table``'s filtered columns, each within its list of values (an expanding parameter)."""
    return [table.c[column].in_(sa.bindparam(f"{column}_in", expanding=True)) for column in columns]


def _rolled_up_sums(bind: Bind, dimensions: list[str], filters: Filters) -> list[Mapping[str, object]]:
    """Each group's summed roll-up columns: the roll-ups of the whole periods plus the raw events of the minutes
    at the edges, in one query (:func:`_from_sums` turns them into figures, medians from the histogram)."""
    shape, params = _read_plan(dimensions, filters)
    return [row._mapping for row in _execute(bind, _sums_statement(shape), params)]


@lru_cache(maxsize=256)
def _sums_statement(shape: _SumsShape) -> sa.Select:
    """The statement of a roll-up read of this shape (see :class:`_SumsShape`), built once."""
    measures = event_measures()
    parts = []
    for tier_name, tier in rollup_tiers.items():
        table = tier.table
        windows = [
            _window(table.c[tier.period], f"w{i}", bounds)
            for i, (source, bounds) in enumerate(shape.windows)
            if source == tier_name
        ]
        if windows:
            span = (table.c.store_low, table.c.store_high) if tier.per_product else _store_span(table.c.store)
            parts.append(
                sa.select(
                    *(_dimension(name, shape.timezone, table, tier.period) for name in shape.dimensions),
                    table.c.brand,
                    table.c.product_name,
                    *span,
                    *(table.c[name] for name in measures),
                ).where(*_filter_parameters(table, shape.filtered), sa.or_(*windows))
            )
    raw = [
        _window(events.c.start, f"w{i}", bounds) for i, (source, bounds) in enumerate(shape.windows) if source == "raw"
    ]
    if raw:
        condition = sa.and_(sa.or_(*raw), *_filter_parameters(events, shape.filtered))
        parts.append(_raw_edge_sums(list(shape.dimensions), shape.timezone, condition))
    summed = sa.union_all(*parts).subquery("parts") if len(parts) > 1 else parts[0].subquery("parts")
    grouping = [summed.c[_key(name)] for name in shape.dimensions]
    c = summed.c
    store = sa.case((sa.func.min(c.store_low) == sa.func.max(c.store_high), sa.func.min(c.store_low)), else_="")
    names = [
        _single_or_blank(c.brand).label("brand"),
        store.label("store"),
        _single_or_blank(c.product_name).label("product_name"),
    ]
    return (
        sa.select(*grouping, *names, *(sa.func.sum(summed.c[name]).label(name) for name in measures))
        .group_by(*grouping)
        .order_by(*grouping)
    )


def _raw_edge_sums(dimensions: list[str], timezone: str, condition: ColumnElement[bool]) -> sa.Select:
    """The edges' raw events summed like roll-up rows (one row per group, name and dwell bin).

    Each event gets its histogram bin from :class:`_DwellBin`, the events are summed per bin, and only those
    few sums are spread over the 62 bin columns: a 14-minute edge of a busy chain holds thousands of visits,
    and 62 comparisons for each of them cost more than the roll-ups of the whole periods.
    """
    keys = [_dimension(name, timezone) for name in dimensions]
    names = [events.c[name] for name in ("brand", "product_name", "store")]
    sums = {name: value for name, value in event_measures().items() if name not in DWELL_BIN_COLUMNS}
    per_event = (
        sa.select(
            *keys,
            *names,
            _DwellBin(events.c.dwell_s).label("dwell_bin"),
            *(value.label(name) for name, value in sums.items()),
        )
        .where(condition)
        .subquery("edge_events")
    )
    grouping = [per_event.c[column.name] for column in (*keys, *names)] + [per_event.c.dwell_bin]
    per_bin = (
        sa.select(*grouping, *(sa.func.sum(per_event.c[name]).label(name) for name in sums))
        .group_by(*grouping)
        .subquery("edge_bins")
    )
    bins = [
        sa.case((per_bin.c.dwell_bin == constant(index), per_bin.c.visits), else_=ZERO).label(column)
        for index, column in enumerate(DWELL_BIN_COLUMNS)
    ]
    columns = {column.name: column for column in per_bin.c} | {column.name: column for column in bins}
    order = [column.name for column in (*keys, *names[:2])]
    return sa.select(
        *(columns[name] for name in order), *_store_span(per_bin.c.store), *(columns[name] for name in event_measures())
    )


def _store_span(store: ColumnElement) -> tuple[ColumnElement, ColumnElement]:
    """A camera-level row's (or an event's) store as the span of stores a chain-level row keeps."""
    return store.label("store_low"), store.label("store_high")


def _merged(parts: list[Mapping[str, object]]) -> dict[str, object]:
    """The summed columns of the union of groups: every measure adds up (the dwell histogram too, so the
    median of the whole comes out as if read at once); a name stays where all the groups share it."""
    merged: dict[str, object] = {name: sum(part[name] or 0 for part in parts) for name in event_measures()}
    for name in ("brand", "store", "product_name"):
        values = {part[name] for part in parts}
        merged[name] = values.pop() if len(values) == 1 else ""
    return merged


def _from_sums(sums: Mapping[str, object], engagement_dwell_s: float) -> Figures:
    """The figures of one group from its summed roll-up columns (see :func:`_rolled_up_figures`)."""
    visits = int(sums["visits"] or 0)
    bins = [int(sums[column] or 0) for column in DWELL_BIN_COLUMNS]
    emotion_visits = int(sums["emotion_visits"] or 0)
    low, high = median_interval_ranks(visits)
    return {
        **sums,
        "visits": visits,
        "engaged": sum(count for edge, count in zip(DWELL_BIN_EDGES, bins, strict=True) if edge >= engagement_dwell_s),
        "dwell_total_s": sums["dwell_sum_s"],
        "dwell_median_s": histogram_quantile(bins, visits / 2),
        "dwell_low_s": histogram_quantile(bins, low - 0.5),
        "dwell_high_s": histogram_quantile(bins, high - 0.5),
        **{
            column: float(sums[column]) / emotion_visits if emotion_visits else None
            for column in EMOTION_COLUMNS.values()
        },
    }


def _valence(shares: dict[str, float]) -> float:
    return sum(shares[name] for name in POSITIVE) - sum(shares[name] for name in NEGATIVE)


def _to_row(row: Figures, key: str, policy: FigurePolicy) -> AggregateRow:
    visits = int(row["visits"])
    named = {"key": str(key), "brand": row["brand"], "store": row["store"], "product_name": row["product_name"]}
    if visits < policy.min_group:
        return AggregateRow(
            **named,
            visits=visits,
            engaged=None,
            dwell_total_s=None,
            dwell_median_s=None,
            shares=None,
            probabilities=None,
            valence=None,
            shares_method=policy.shares,
            suppressed=True,
        )
    read = int(row["emotion_visits"] or 0)
    dwell = {
        "visits": visits,
        "engaged": int(row["engaged"]),
        "dwell_total_s": float(row["dwell_total_s"]),
        "dwell_median_s": float(row["dwell_median_s"]),
        "dwell_median_ci95_s": (float(row["dwell_low_s"]), float(row["dwell_high_s"])),
        "read_visits": read,
        "shares_method": policy.shares,
    }
    if read == 0:
        return AggregateRow(**named, **dwell, shares=None, probabilities=None, valence=None)
    counts = {name: int(row[f"n_{name}"]) for name in FER7}
    probabilities = {name: float(row[column]) for name, column in EMOTION_COLUMNS.items()}
    counted = {name: count / read for name, count in counts.items()}
    shares, shares_ci95, valence_ci95 = quantification.estimate(counted, probabilities, read, policy.shares)
    return AggregateRow(
        **named,
        **dwell,
        shares=shares,
        probabilities=probabilities,
        valence=_valence(shares),
        counts=counts,
        shares_ci95=shares_ci95,
        valence_ci95=valence_ci95,
        enough_visits=read >= policy.min_visits,
    )


def aggregate(
    bind: Bind,
    by: Dimension,
    filters: Filters | None = None,
    engagement_dwell_s: float = ENGAGEMENT_DWELL_S,
    policy: FigurePolicy | None = None,
    exact: bool = False,
) -> list[AggregateRow]:
    """Visits, dwell, emotion shares, mean probabilities, valence and engagement per ``by`` group, with
    their intervals; groups under ``policy.min_group`` visits come suppressed.

    Zones and cameras are grouped within their store (ids repeat across a chain), so the same zone id
    in two stores gives two rows, each naming its store. Rows come sorted by key.

    Whole hours are read from the roll-ups, so the median dwell and its interval come from the dwell
    histogram (within the bound docs/chain.md states); ``exact`` computes every figure from the raw events.
    """
    dimensions = ["store", by] if by in ("zone", "camera") else [by]
    rows = _grouped_figures(bind, dimensions, filters, engagement_dwell_s, exact)
    return [_to_row(row, row[_key(by)], policy or FigurePolicy()) for row in rows]


def overall(
    bind: Bind,
    filters: Filters | None = None,
    engagement_dwell_s: float = ENGAGEMENT_DWELL_S,
    policy: FigurePolicy | None = None,
    exact: bool = False,
) -> AggregateRow | None:
    """The figures of all filtered visits taken as one group (key ``"all"``); None when none match.

    Its median dwell is the median over every visit (from the summed histograms unless ``exact``), which
    no combination of per-group medians can give.
    """
    rows = _grouped_figures(bind, [], filters, engagement_dwell_s, exact)
    return _to_row(rows[0], "all", policy or FigurePolicy()) if rows and rows[0]["visits"] else None


def overall_and_groups(
    bind: Bind,
    by: Dimension,
    filters: Filters | None = None,
    engagement_dwell_s: float = ENGAGEMENT_DWELL_S,
    policy: FigurePolicy | None = None,
    exact: bool = False,
) -> tuple[AggregateRow | None, list[AggregateRow]]:
    """:func:`overall` and :func:`aggregate` by ``by`` at once, as the dashboard's overview wants them.

    From the roll-ups, one query: the whole is the sum of its groups' sums (histograms included), so its
    figures equal :func:`overall`'s. Exact figures need two queries (an exact median is no sum).
    """
    filters, policy = filters or Filters(), policy or FigurePolicy()
    if not _rollups_answer([by], filters, engagement_dwell_s, exact) or by in ("zone", "camera"):
        return overall(bind, filters, engagement_dwell_s, policy, exact), aggregate(
            bind, by, filters, engagement_dwell_s, policy, exact
        )
    parts = _rolled_up_sums(bind, [by], filters)
    rows = [_to_row(_from_sums(part, engagement_dwell_s), part[_key(by)], policy) for part in parts]
    whole = _to_row(_from_sums(_merged(parts), engagement_dwell_s), "all", policy) if parts else None
    return whole, rows


def dwell_values(bind: Bind, by: Compared, key: str, filters: Filters | None = None) -> list[float]:
    """Every dwell time (seconds) of one product's or brand's filtered visits, for tests that need them all."""
    statement = sa.select(events.c.dwell_s).where(*(filters or Filters()).narrowed(by, (key,)).clauses())
    return [float(row[0]) for row in _execute(bind, statement)]


def valence_over_time(
    bind: Bind,
    bucket: Literal["hour", "day"] = "day",
    series: Dimension = "product",
    filters: Filters | None = None,
    policy: FigurePolicy | None = None,
    exact: bool = False,
) -> list[ValencePoint]:
    """Valence of each ``series`` group (e.g. product) per hour or day, sorted by time then key; a point of
    fewer than ``policy.min_group`` visits has no valence (None)."""
    if bucket not in ("hour", "day"):
        raise UserError(f"time buckets are 'hour' or 'day', not {bucket!r}")
    rows = _grouped_figures(bind, [bucket, series], filters, ENGAGEMENT_DWELL_S, exact)
    points = []
    for row in rows:
        figures = _to_row(row, row[_key(series)], policy or FigurePolicy())
        points.append(
            ValencePoint(row[_key(bucket)], figures.key, figures.visits, figures.valence, figures.valence_ci95)
        )
    return points


@dataclass(frozen=True)
class WeekHour:
    """Visits and valence of one hour of the week (local time), over every week in the filtered range."""

    weekday: int  # 0 = Sunday ... 6 = Saturday
    hour: int  # 0..23
    visits: int
    valence: float | None  # None: fewer visits than the minimum group size
    valence_ci95: Interval | None = None


def week_hours(
    bind: Bind, filters: Filters | None = None, policy: FigurePolicy | None = None, exact: bool = False
) -> list[WeekHour]:
    """Visits and valence per weekday and hour of the day in ``filters.timezone``, one grouped query; only
    hours that have visits, sorted by weekday then hour. An hour under ``policy.min_group`` visits has no
    valence, as every other group. (``exact``: from the raw events instead of the roll-ups.)"""
    rows = _grouped_figures(bind, ["weekday_hour"], filters, ENGAGEMENT_DWELL_S, exact)
    cells = []
    for row in rows:
        key = row[_key("weekday_hour")]
        figures = _to_row(row, key, policy or FigurePolicy())
        weekday, hour = (int(part) for part in key.split())
        cells.append(WeekHour(weekday, hour, figures.visits, figures.valence, figures.valence_ci95))
    return cells


def dwell_distribution(
    bind: Bind,
    by: Dimension = "product",
    edges: tuple[float, ...] = DWELL_EDGES,
    filters: Filters | None = None,
    min_group: int = MIN_GROUP,
) -> dict[str, list[int] | None]:
    """Visits per dwell bin for each group: bin ``i`` holds dwell in ``[edges[i], edges[i+1])``; None for a
    group of fewer than ``min_group`` visits (its histogram would show single shoppers)."""
    key = _dimension(by, (filters or Filters()).timezone)
    bin_index = sa.case(
        *((events.c.dwell_s < upper, index) for index, upper in enumerate(edges[1:])), else_=len(edges) - 1
    ).label("bin")
    statement = (
        sa.select(key, bin_index, sa.func.count().label("visits"))
        .where(*(filters or Filters()).clauses())
        .group_by(key, bin_index)
    )
    histogram: dict[str, list[int]] = {}
    for row in _execute(bind, statement):
        histogram.setdefault(str(row[0]), [0] * len(edges))[int(row.bin)] += int(row.visits)
    return {key: counts if sum(counts) >= min_group else None for key, counts in sorted(histogram.items())}


def rank(rows: list[AggregateRow], count: int) -> tuple[list[AggregateRow], list[AggregateRow]]:
    """Best and worst products, only among those with enough visits, accounting for uncertainty: best by the
    lower bound of the valence interval (high even at worst), worst by its upper bound (low even at best).

    A product is listed at most once: the worst list leaves out those already among the best.
    """
    bounds = {row.key: row.valence_ci95 for row in rows if row.rankable and row.valence_ci95 is not None}
    eligible = [row for row in rows if row.key in bounds]
    best = sorted(eligible, key=lambda row: (-bounds[row.key][0], -row.visits, row.key))[:count]
    rest = [row for row in eligible if row not in best]
    worst = sorted(rest, key=lambda row: (bounds[row.key][1], -row.visits, row.key))[:count]
    return best, worst


@dataclass(frozen=True)
class Listed:
    """A distinct value with its visit count and, where it has them, a name (a zone's: its product's SKU),
    brand and store."""

    id: str
    visits: int
    name: str = ""
    brand: str = ""
    store: str = ""


def _listing(bind: Bind, column: str, filters: Filters | None, *extra: str, per_store: bool = False) -> list[sa.Row]:
    """Distinct values of ``column`` (within each store when ``per_store``) with visits and ``extra`` columns."""
    keys = [events.c.store, events.c[column]] if per_store else [events.c[column]]
    statement = (
        sa.select(
            events.c[column].label("id"),
            *(sa.func.min(events.c[name]).label(name) for name in extra),
            sa.func.count().label("visits"),
        )
        .where(*(filters or Filters()).clauses())
        .group_by(*keys)
        .order_by(*keys)
    )
    return _execute(bind, statement)


def list_stores(bind: Bind, filters: Filters | None = None) -> list[Listed]:
    """Stores with events, with the name their store.yaml gave (the id where none was recorded)."""
    names = {row.id: row.name for row in _execute(bind, sa.select(stores))}
    return [Listed(row.id, row.visits, name=names.get(row.id, row.id)) for row in _listing(bind, "store", filters)]


def list_cameras(bind: Bind, filters: Filters | None = None) -> list[Listed]:
    """Cameras with events, one entry per store that has a camera of that id."""
    rows = _listing(bind, "camera", filters, "store", per_store=True)
    return [Listed(row.id, row.visits, store=row.store) for row in rows]


def list_zones(bind: Bind, filters: Filters | None = None) -> list[Listed]:
    """Zones with events (per store), with the product and brand each shows."""
    rows = _listing(bind, "zone", filters, "store", "product", "brand", per_store=True)
    return [Listed(row.id, row.visits, name=row.product, brand=row.brand, store=row.store) for row in rows]


def list_products(bind: Bind, filters: Filters | None = None) -> list[Listed]:
    """Products (SKUs) with events, with their name and brand."""
    rows = _listing(bind, "product", filters, "product_name", "brand")
    return [Listed(row.id, row.visits, name=row.product_name, brand=row.brand) for row in rows]


def list_brands(bind: Bind, filters: Filters | None = None) -> list[Listed]:
    return [Listed(row.id, row.visits) for row in _listing(bind, "brand", filters)]


def time_span(bind: Bind, filters: Filters | None = None) -> tuple[datetime | None, datetime | None]:
    """Start of the first and of the last filtered visit (None, None when there are none).

    Both are read from the ``start`` index (first row each way) instead of aggregating every matching event,
    so the overview costs the same at ten million events as at a thousand.
    """
    clauses = (filters or Filters()).clauses()
    ends = [
        _execute(bind, sa.select(events.c.start).where(*clauses).order_by(order).limit(1))
        for order in (events.c.start.asc(), events.c.start.desc())
    ]
    first, last = (rows[0][0] if rows else None for rows in ends)
    return first, last


def change_marker(bind: Bind) -> tuple[int, int]:
    """(events stored, highest event sequence number): differs whenever events are added or pruned.

    Cheap at any size (the count reads the smallest index, the maximum the primary key), so a live
    dashboard can poll it and recompute its aggregates only when it moves.
    """
    statement = sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(events.c.seq), 0))
    count, highest = _execute(bind, statement)[0]
    return int(count), int(highest)


def list_visits(bind: Bind, filters: Filters | None = None, limit: int | None = None, offset: int = 0) -> list[dict]:
    """Raw visits, oldest first, with anonymous fields only (no pixel, crop or embedding is ever stored).

    Each row: ``id``, ``store``, ``camera``, ``zone``, ``product``, ``product_name``, ``brand``, ``track_id``
    (per camera session), ``start`` and ``end`` (ISO, UTC), ``dwell_s``, ``frames``, ``readable_frames``
    (None for visits stored before it was recorded), ``dominant_emotion`` and ``probabilities`` (mean per
    emotion over the readable frames; None and a None per emotion when the face was never readable, so a
    table of visits keeps the same columns), ``face_score`` and ``face_size``.
    """
    columns = [events.c[name] for name in _VISIT_COLUMNS] + [events.c[column] for column in EMOTION_COLUMNS.values()]
    statement = sa.select(*columns).where(*(filters or Filters()).clauses()).order_by(events.c.start, events.c.seq)
    if limit is not None:
        statement = statement.limit(limit)
    return [_visit(row) for row in _execute(bind, statement.offset(offset))]


def count_visits(bind: Bind, filters: Filters | None = None) -> int:
    """How many visits :func:`list_visits` would return without a limit."""
    statement = sa.select(sa.func.count()).select_from(events).where(*(filters or Filters()).clauses())
    return int(_execute(bind, statement)[0][0])


_VISIT_COLUMNS = ("id", "store", "camera", "zone", "product", "product_name", "brand", "track_id")
_VISIT_COLUMNS += ("start", "end", "dwell_s", "frames", "readable_frames", "dominant", "face_score", "face_size")


def _visit(row: sa.Row) -> dict:
    values = row._mapping
    visit = {name: values[name] for name in _VISIT_COLUMNS if name != "dominant"}
    visit["start"], visit["end"] = values["start"].isoformat(), values["end"].isoformat()
    visit["dominant_emotion"] = values["dominant"]
    visit["probabilities"] = {emotion: values[column] for emotion, column in EMOTION_COLUMNS.items()}
    return visit
