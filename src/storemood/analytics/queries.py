"""Aggregates of visit events, computed in SQL that runs the same on SQLite and PostgreSQL.

These functions are the analytics API: ``storemood report`` prints them and the web API serves them.
Each takes an Engine, a Connection or an ORM Session (``bind``), optional :class:`Filters`, and returns
plain typed rows.

Portability notes: the median dwell compiles to ``percentile_cont(0.5)`` on PostgreSQL and on SQLite to
the ``storemood_median`` aggregate that :mod:`storemood.database.sqlite_functions` registers on every
connection, so each report is one grouped pass over the events; hour and day buckets are read in
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
>>> [(row.key, row.visits, row.dwell_median_s, row.shares["happy"]) for row in aggregate(table.engine, "product")]
[('A1', 2, 3.0, 0.5), ('B2', 1, 8.0, 0.0)]
>>> overall(table.engine).visits, compare(table.engine, "Acme", "Bolt", by="brand").a.visits
(3, 2)
>>> dwell_distribution(table.engine, "brand")         # visits per dwell bin (DWELL_EDGES)
{'Acme': [0, 2, 0, 0, 0, 0], 'Bolt': [0, 0, 1, 0, 0, 0]}
>>> [(product.id, product.brand, product.visits) for product in list_products(table.engine)]
[('A1', 'Acme', 2), ('B2', 'Bolt', 1)]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from storemood.analytics.rows import DIMENSIONS, Compared, Dimension
from storemood.database.schema import EMOTION_COLUMNS, events, stores
from storemood.database.timezones import BUCKET_FORMATS, check_timezone
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
        chosen = [
            events.c[column].in_(values)
            for column, values in (
                ("store", self.stores),
                ("camera", self.cameras),
                ("zone", self.zones),
                ("product", self.products),
                ("brand", self.brands),
            )
            if values
        ]
        if self.since is not None:
            chosen.append(events.c.start >= self.since)
        if self.until is not None:
            chosen.append(events.c.start < self.until)
        return chosen


@dataclass(frozen=True)
class AggregateRow:
    """Figures for one group of visits (one product, brand, zone, camera, store, hour or day).

    ``brand`` and ``store`` are the group's brand and store when all its visits share one, else ``""``.
    ``shares`` is the share of visits by dominant emotion; ``probabilities`` the mean probabilities;
    ``valence`` the share of positive minus the share of negative visits (-1..1); ``engaged`` the visits
    lasting at least the engagement threshold.
    """

    key: str
    brand: str
    store: str
    visits: int
    engaged: int
    dwell_total_s: float
    dwell_median_s: float
    shares: dict[str, float]
    probabilities: dict[str, float]
    valence: float
    product_name: str = ""

    @property
    def engagement(self) -> float:
        """Share of visits that were engaged."""
        return self.engaged / self.visits if self.visits else 0.0

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
    valence: float


@dataclass(frozen=True)
class Comparison:
    """Two products or brands side by side; differences are ``a`` minus ``b``."""

    by: str
    a: AggregateRow
    b: AggregateRow

    @property
    def valence_difference(self) -> float:
        return self.a.valence - self.b.valence

    @property
    def dwell_median_difference_s(self) -> float:
        return self.a.dwell_median_s - self.b.dwell_median_s

    @property
    def share_differences(self) -> dict[str, float]:
        return {name: self.a.shares[name] - self.b.shares[name] for name in self.a.shares}

    def to_dict(self) -> dict:
        return {
            "by": self.by,
            "a": self.a.to_dict(self.by),
            "b": self.b.to_dict(self.by),
            "valence_difference": self.valence_difference,
            "dwell_median_difference_s": self.dwell_median_difference_s,
            "share_differences": self.share_differences,
        }


class _TimeBucket(ColumnElement):
    """The hour (``2026-11-22T10:00``, with ``Z`` in UTC) or day (``2026-11-22``) of a timestamp in a time
    zone, as text. Local hours carry no offset: the hour repeated when clocks go back is one bucket."""

    inherit_cache = True
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
    suffix = '"Z"' if element.unit == "hour" and element.timezone == "UTC" else ""
    return f"to_char({column} AT TIME ZONE {zone}, '{_POSTGRES_FORMATS[element.unit]}{suffix}')"


class _Median(ColumnElement):
    """The median of a column over each group: the mean of the two middle values for an even group."""

    inherit_cache = True
    type = sa.Float()

    def __init__(self, column: ColumnElement) -> None:
        self.column = column


@compiles(_Median, "sqlite")
def _median_sqlite(element: _Median, compiler, **kw) -> str:
    return f"storemood_median({compiler.process(element.column, **kw)})"


@compiles(_Median, "postgresql")
def _median_postgresql(element: _Median, compiler, **kw) -> str:
    return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {compiler.process(element.column, **kw)})"


def _dimension(name: str, timezone: str = "UTC") -> ColumnElement:
    if name not in DIMENSIONS:
        raise UserError(f"cannot group by {name!r}; choose one of {', '.join(DIMENSIONS)}")
    column = _TimeBucket(events.c.start, name, timezone) if name in ("hour", "day") else events.c[name]
    return column.label(_key(name))


def _key(name: str) -> str:
    """Result label of a grouping key (distinct from the figure columns such as ``brand``)."""
    return f"by_{name}"


def _single_or_blank(column: ColumnElement) -> ColumnElement:
    """The group's value of ``column`` when all its rows share one, else ``''``."""
    return sa.case((sa.func.min(column) == sa.func.max(column), sa.func.min(column)), else_="")


def _execute(bind: Bind, statement) -> list[sa.Row]:
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return list(connection.execute(statement))
    return list(bind.execute(statement))


#: Event columns the grouped figures are computed from.
_FIGURE_COLUMNS = ("brand", "store", "product_name", "dwell_s", "dominant", *EMOTION_COLUMNS.values())


def _grouped_figures(
    bind: Bind, dimensions: list[str], filters: Filters | None, engagement_dwell_s: float
) -> list[sa.Row]:
    """One row per group: the group keys, then every figure :class:`AggregateRow` needs."""
    keys = [_dimension(name, (filters or Filters()).timezone) for name in dimensions]
    # Keys are computed once in a subquery and grouped by name: PostgreSQL would not match a time bucket
    # in GROUP BY to the same expression in SELECT, since each carries its own time-zone parameter.
    visits = (
        sa.select(*keys, *(events.c[name] for name in _FIGURE_COLUMNS))
        .where(*(filters or Filters()).clauses())
        .subquery("visits")
    )
    v = visits.c
    grouping = [v[_key(name)] for name in dimensions]
    statement = (
        sa.select(
            *grouping,
            _single_or_blank(v.brand).label("brand"),
            _single_or_blank(v.store).label("store"),
            _single_or_blank(v.product_name).label("product_name"),
            sa.func.count().label("visits"),
            sa.func.sum(sa.case((v.dwell_s >= engagement_dwell_s, 1), else_=0)).label("engaged"),
            sa.func.sum(v.dwell_s).label("dwell_total_s"),
            _Median(v.dwell_s).label("dwell_median_s"),
            *(sa.func.sum(sa.case((v.dominant == name, 1), else_=0)).label(f"n_{name}") for name in FER7),
            *(sa.func.avg(v[column]).label(column) for column in EMOTION_COLUMNS.values()),
        )
        .group_by(*grouping)
        .order_by(*grouping)
    )
    return _execute(bind, statement)


def _to_row(row: sa.Row, key: str) -> AggregateRow:
    visits = int(row.visits)
    shares = {name: int(getattr(row, f"n_{name}")) / visits for name in FER7}
    return AggregateRow(
        key=str(key),
        brand=row.brand,
        store=row.store,
        product_name=row.product_name,
        visits=visits,
        engaged=int(row.engaged),
        dwell_total_s=float(row.dwell_total_s),
        dwell_median_s=float(row.dwell_median_s),
        shares=shares,
        probabilities={name: float(getattr(row, column)) for name, column in EMOTION_COLUMNS.items()},
        valence=sum(shares[name] for name in POSITIVE) - sum(shares[name] for name in NEGATIVE),
    )


def aggregate(
    bind: Bind,
    by: Dimension,
    filters: Filters | None = None,
    engagement_dwell_s: float = ENGAGEMENT_DWELL_S,
) -> list[AggregateRow]:
    """Visits, dwell, emotion shares, mean probabilities, valence and engagement per ``by`` group.

    Zones and cameras are grouped within their store (ids repeat across a chain), so the same zone id
    in two stores gives two rows, each naming its store. Rows come sorted by key.
    """
    dimensions = ["store", by] if by in ("zone", "camera") else [by]
    rows = _grouped_figures(bind, dimensions, filters, engagement_dwell_s)
    return [_to_row(row, row._mapping[_key(by)]) for row in rows]


def overall(
    bind: Bind, filters: Filters | None = None, engagement_dwell_s: float = ENGAGEMENT_DWELL_S
) -> AggregateRow | None:
    """The figures of all filtered visits taken as one group (key ``"all"``); None when none match.

    Its median dwell is the median over every visit, which no combination of per-group rows can give.
    """
    rows = _grouped_figures(bind, [], filters, engagement_dwell_s)
    return _to_row(rows[0], "all") if rows and rows[0].visits else None


def compare(bind: Bind, a: str, b: str, by: Compared = "product", filters: Filters | None = None) -> Comparison:
    """Compare two products (SKUs) or two brands; a UserError names one that has no visits."""
    if by not in ("product", "brand"):
        raise UserError(f"can compare products or brands, not {by!r}")
    rows = {row.key: row for row in aggregate(bind, by, (filters or Filters()).narrowed(by, (a, b)))}
    for name in (a, b):
        if name not in rows:
            narrowed = " matching the filters" if filters not in (None, Filters()) else ""
            raise UserError(f"no visits for {by} {name!r}{narrowed}")
    return Comparison(by=by, a=rows[a], b=rows[b])


def valence_over_time(
    bind: Bind, bucket: Literal["hour", "day"] = "day", series: Dimension = "product", filters: Filters | None = None
) -> list[ValencePoint]:
    """Valence of each ``series`` group (e.g. product) per hour or day, sorted by time then key."""
    if bucket not in ("hour", "day"):
        raise UserError(f"time buckets are 'hour' or 'day', not {bucket!r}")
    rows = _grouped_figures(bind, [bucket, series], filters, ENGAGEMENT_DWELL_S)
    points = []
    for row in rows:
        figures = _to_row(row, row._mapping[_key(series)])
        points.append(ValencePoint(row._mapping[_key(bucket)], figures.key, figures.visits, figures.valence))
    return points


def dwell_distribution(
    bind: Bind, by: Dimension = "product", edges: tuple[float, ...] = DWELL_EDGES, filters: Filters | None = None
) -> dict[str, list[int]]:
    """Visits per dwell bin for each group: bin ``i`` holds dwell in ``[edges[i], edges[i+1])``."""
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
    return dict(sorted(histogram.items()))


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
    """First visit start and last visit end among the filtered events (None, None when there are none)."""
    statement = sa.select(sa.func.min(events.c.start), sa.func.max(events.c.end)).where(
        *(filters or Filters()).clauses()
    )
    first, last = _execute(bind, statement)[0]
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
    (per camera session), ``start`` and ``end`` (ISO, UTC), ``dwell_s``, ``frames``, ``dominant_emotion``,
    ``probabilities`` (mean per emotion), ``face_score`` and ``face_size``.
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
_VISIT_COLUMNS += ("start", "end", "dwell_s", "frames", "dominant", "face_score", "face_size")


def _visit(row: sa.Row) -> dict:
    values = row._mapping
    visit = {name: values[name] for name in _VISIT_COLUMNS if name != "dominant"}
    visit["start"], visit["end"] = values["start"].isoformat(), values["end"].isoformat()
    visit["dominant_emotion"] = values["dominant"]
    visit["probabilities"] = {emotion: values[column] for emotion, column in EMOTION_COLUMNS.items()}
    return visit
