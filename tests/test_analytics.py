"""Analytics queries: checked against figures computed in Python from the same generated events, and
run on SQLite and PostgreSQL to show the SQL gives the same answers on both."""

from __future__ import annotations

import dataclasses
import statistics
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scratch_postgres import scratch_schema
from storemood.analytics import queries, significance, uncertainty
from storemood.analytics.policy import FigurePolicy
from storemood.analytics.queries import Filters
from storemood.database.engine import DatabaseUnavailable
from storemood.database.event_table import EventTable
from storemood.emotions import FER7, NEGATIVE, POSITIVE
from storemood.errors import UserError
from storemood.visit_record import VisitEvent
from synthetic_events import synthetic_events

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
EVENTS: list[VisitEvent] = list(synthetic_events(3000, seed=11, days=3))


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory) -> Iterator[EventTable]:
    store = EventTable(f"sqlite:///{tmp_path_factory.mktemp('analytics') / 'events.db'}")
    store.add(EVENTS)
    yield store
    store.close()


@pytest.fixture(scope="module")
def pg_store() -> Iterator[EventTable]:
    try:
        with scratch_schema(PG_SERVER, prefix="storemood_test") as url:
            store = EventTable(url)
            store.add(EVENTS)
            yield store
            store.close()
    except DatabaseUnavailable as error:
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is not reachable ({error}); tools/test.sh starts it")


def _expected(events: list[VisitEvent], key) -> dict[str, dict]:
    """The report figures per group, computed in plain Python."""
    groups: dict[str, list[VisitEvent]] = defaultdict(list)
    for event in events:
        groups[key(event)].append(event)
    figures = {}
    for name, members in groups.items():
        dominant = Counter(event.dominant_emotion for event in members)
        shares = {emotion: dominant[emotion] / len(members) for emotion in FER7}
        figures[name] = {
            "visits": len(members),
            "dwell_median_s": statistics.median(event.dwell_seconds for event in members),
            "dwell_median_ci95_s": uncertainty.median_interval([event.dwell_seconds for event in members]),
            "counts": {emotion: dominant[emotion] for emotion in FER7},
            "dwell_total_s": sum(event.dwell_seconds for event in members),
            "engaged": sum(event.dwell_seconds >= 3.0 for event in members),
            "shares": shares,
            "valence": sum(shares[e] for e in POSITIVE) - sum(shares[e] for e in NEGATIVE),
            "p_happy": statistics.fmean(event.probabilities["happy"] for event in members),
        }
    return figures


KEYS = {
    "product": lambda event: event.product,
    "brand": lambda event: event.brand,
    "store": lambda event: event.store,
    "day": lambda event: event.start.strftime("%Y-%m-%d"),
    "hour": lambda event: event.start.strftime("%Y-%m-%dT%H:00Z"),
}


COUNTING = FigurePolicy(shares="count")


@pytest.mark.parametrize("by", list(KEYS))
def test_aggregates_match_figures_computed_in_python(sqlite_store, by):
    rows = queries.aggregate(sqlite_store.engine, by, policy=COUNTING, exact=True)
    expected = _expected(EVENTS, KEYS[by])
    assert [row.key for row in rows] == sorted(expected)
    for row in rows:
        truth = expected[row.key]
        assert row.visits == truth["visits"] and row.engaged == truth["engaged"]
        assert row.dwell_median_s == pytest.approx(truth["dwell_median_s"], abs=1e-5)
        assert row.dwell_median_ci95_s == pytest.approx(truth["dwell_median_ci95_s"], abs=1e-5)
        assert row.dwell_total_s == pytest.approx(truth["dwell_total_s"], rel=1e-6)
        assert row.counts == truth["counts"]
        assert row.shares == pytest.approx(truth["shares"])
        for name, count in truth["counts"].items():
            assert row.shares_ci95[name] == pytest.approx(uncertainty.wilson(count, row.visits))
        assert row.valence == pytest.approx(truth["valence"])
        assert row.valence_ci95 == pytest.approx(uncertainty.valence_interval(truth["shares"], row.visits))
        assert row.probabilities["happy"] == pytest.approx(truth["p_happy"], abs=1e-6)
        assert row.enough_visits == (row.visits >= COUNTING.min_visits) and not row.suppressed


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("bucket", ["hour", "day"])
def test_buckets_in_a_local_time_zone_match_python(sqlite_store, zone, bucket):
    rows = queries.aggregate(sqlite_store.engine, bucket, Filters(timezone=zone))
    local = Counter(event.start.astimezone(ZoneInfo(zone)).strftime(BUCKETS[bucket]) for event in EVENTS)
    assert {row.key: row.visits for row in rows} == local


BUCKETS = {"hour": "%Y-%m-%dT%H:00", "day": "%Y-%m-%d"}


def test_the_hour_repeated_when_clocks_go_back_is_one_local_bucket():
    store = EventTable("sqlite://")
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT; an hour later it is 01:30 EST
    store.add(
        dataclasses.replace(EVENTS[0], id=str(uuid.uuid4()), start=start, end=start + timedelta(seconds=4))
        for start in (first, first + timedelta(hours=1))
    )
    new_york = queries.aggregate(store.engine, "hour", Filters(timezone="America/New_York"))
    assert [(row.key, row.visits) for row in new_york] == [("2026-11-01T01:00", 2)]
    utc = queries.aggregate(store.engine, "hour")
    assert [row.key for row in utc] == ["2026-11-01T05:00Z", "2026-11-01T06:00Z"]
    store.close()


def test_an_unknown_time_zone_is_a_user_error():
    with pytest.raises(UserError, match="unknown time zone 'Mars/Olympus'"):
        Filters(timezone="Mars/Olympus")


def test_median_of_even_and_odd_groups():
    store = EventTable("sqlite://")
    template = EVENTS[0]
    dwells = {"SKU-1": [10.0, 1.0, 3.0, 2.0], "SKU-2": [2.0, 7.0, 1.0]}
    store.add(
        dataclasses.replace(template, id=str(uuid.uuid4()), product=sku, end=template.start + timedelta(seconds=d))
        for sku, values in dwells.items()
        for d in values
    )
    rows = queries.aggregate(store.engine, "product", policy=FigurePolicy(min_group=1), exact=True)
    assert {row.key: row.dwell_median_s for row in rows} == {"SKU-1": pytest.approx(2.5), "SKU-2": pytest.approx(2.0)}
    store.close()


def test_zones_are_grouped_within_their_store(sqlite_store):
    rows = queries.aggregate(sqlite_store.engine, "zone")
    expected = _expected(EVENTS, lambda event: (event.store, event.zone))
    assert {(row.store, row.key): row.visits for row in rows} == {key: f["visits"] for key, f in expected.items()}
    assert all(row.brand for row in rows)  # a zone shows one product of one brand


def test_filters_restrict_by_value_and_time(sqlite_store):
    since = EVENTS[0].start + timedelta(days=1)
    until = since + timedelta(hours=6)
    chosen = [e for e in EVENTS if e.brand == "Acme" and since <= e.start < until]
    rows = queries.aggregate(sqlite_store.engine, "product", Filters(brands=("Acme",), since=since, until=until))
    assert sum(row.visits for row in rows) == len(chosen)
    assert {row.brand for row in rows} == {"Acme"}


def test_compare_gives_both_sides_and_their_difference(sqlite_store):
    result = significance.compare(sqlite_store.engine, "SKU-1", "SKU-4")
    expected = _expected(EVENTS, KEYS["product"])
    assert result.a.visits == expected["SKU-1"]["visits"] and result.b.visits == expected["SKU-4"]["visits"]
    assert result.valence_difference == pytest.approx(expected["SKU-1"]["valence"] - expected["SKU-4"]["valence"])
    with pytest.raises(UserError, match="no visits for product 'SKU-404'"):
        significance.compare(sqlite_store.engine, "SKU-1", "SKU-404")


def test_valence_over_time_and_dwell_histogram_account_for_every_visit(sqlite_store):
    points = queries.valence_over_time(sqlite_store.engine, "day", "brand")
    assert sum(point.visits for point in points) == len(EVENTS)
    assert len({point.time for point in points}) == len({e.start.date() for e in EVENTS})
    histogram = queries.dwell_distribution(sqlite_store.engine, "brand")
    assert all(counts is not None for counts in histogram.values())  # every brand has at least k visits
    edges = queries.DWELL_EDGES
    acme = [e.dwell_seconds for e in EVENTS if e.brand == "Acme"]
    assert histogram["Acme"][0] == sum(d < edges[1] for d in acme)
    assert histogram["Acme"][-1] == sum(d >= edges[-1] for d in acme)
    assert sum(map(sum, histogram.values())) == len(EVENTS)


def test_listings(sqlite_store):
    assert [item.id for item in queries.list_brands(sqlite_store.engine)] == sorted({e.brand for e in EVENTS})
    products = queries.list_products(sqlite_store.engine)
    assert {(p.id, p.brand) for p in products} == {(e.product, e.brand) for e in EVENTS}
    assert sum(p.visits for p in products) == len(EVENTS)
    assert {s.id for s in queries.list_stores(sqlite_store.engine)} == {e.store for e in EVENTS}
    zones = queries.list_zones(sqlite_store.engine)
    assert {(z.store, z.id, z.name, z.brand) for z in zones} == {(e.store, e.zone, e.product, e.brand) for e in EVENTS}
    first, last = queries.time_span(sqlite_store.engine)
    assert first == min(e.start for e in EVENTS) and last == max(e.start for e in EVENTS)


def test_unknown_grouping_is_a_user_error(sqlite_store):
    with pytest.raises(UserError, match="cannot group by 'shelf'"):
        queries.aggregate(sqlite_store.engine, "shelf")  # type: ignore[arg-type]


@pytest.mark.postgres
@pytest.mark.parametrize("by", queries.DIMENSIONS)
def test_postgresql_gives_the_same_answers_as_sqlite(sqlite_store, pg_store, by):
    on_sqlite = queries.aggregate(sqlite_store.engine, by)
    on_postgres = queries.aggregate(pg_store.engine, by)
    assert [row.key for row in on_postgres] == [row.key for row in on_sqlite]
    for lite, pg in zip(on_sqlite, on_postgres, strict=True):
        assert (pg.visits, pg.engaged, pg.brand, pg.store, pg.shares) == (
            lite.visits,
            lite.engaged,
            lite.brand,
            lite.store,
            lite.shares,
        )
        assert pg.dwell_median_s == pytest.approx(lite.dwell_median_s)
        assert pg.dwell_median_ci95_s == pytest.approx(lite.dwell_median_ci95_s)
        assert pg.probabilities == pytest.approx(lite.probabilities)
        assert pg.valence_ci95 == pytest.approx(lite.valence_ci95)


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_postgresql_time_series_and_histograms_match_sqlite(sqlite_store, pg_store, zone):
    for bucket in ("hour", "day"):
        on_sqlite = queries.valence_over_time(sqlite_store.engine, bucket, filters=Filters(timezone=zone))
        on_postgres = queries.valence_over_time(pg_store.engine, bucket, filters=Filters(timezone=zone))
        assert [(p.time, p.key, p.visits) for p in on_postgres] == [(p.time, p.key, p.visits) for p in on_sqlite]
        assert [p.valence for p in on_postgres] == pytest.approx([p.valence for p in on_sqlite])
    assert queries.dwell_distribution(pg_store.engine, "zone") == queries.dwell_distribution(
        sqlite_store.engine, "zone"
    )


def test_plots_and_annotations_draw_with_the_one_palette():
    from storemood.analytics import plots
    from storemood.emotions import EMOTION_COLORS
    from storemood.pipeline import annotate

    assert plots.EMOTION_COLORS is EMOTION_COLORS
    assert set(annotate.EMOTION_BGR) == set(EMOTION_COLORS)


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_postgresql_week_hours_match_sqlite(sqlite_store, pg_store, zone):
    on_sqlite = queries.week_hours(sqlite_store.engine, Filters(timezone=zone))
    on_postgres = queries.week_hours(pg_store.engine, Filters(timezone=zone))
    assert [(c.weekday, c.hour, c.visits) for c in on_postgres] == [(c.weekday, c.hour, c.visits) for c in on_sqlite]
    assert [c.valence for c in on_postgres] == pytest.approx([c.valence for c in on_sqlite])
    assert sum(cell.visits for cell in on_sqlite) == len(EVENTS)
