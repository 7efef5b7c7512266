"""storemood simulate: seeded, shaped like a store's week, and products that really differ."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pytest
from scipy import stats

from scratch_postgres import scratch_schema
from storemood.analytics import queries
from storemood.analytics.significance import compare
from storemood.cli import main
from storemood.database.engine import DatabaseUnavailable
from storemood.database.event_table import EventTable
from storemood.simulate import CATALOGUE, OPENING_HOURS, Chain, simulate, visits_by_day

END = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday: 28 days are four of each weekday
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def chain_db(tmp_path_factory) -> str:
    """Four weeks of a 6-store chain written by the command line."""
    url = f"sqlite:///{tmp_path_factory.mktemp('simulate') / 'sim.db'}"
    argv = ["simulate", "--db", url, "--stores", "6", "--cameras-per-store", "3", "--days", "28"]
    assert main([*argv, "--events", "30000", "--seed", "7", "--end", END.isoformat(), "--quiet"]) == 0
    return url


def test_the_same_seed_gives_the_same_visits_and_another_seed_others():
    chain = Chain(stores=3, cameras_per_store=2)
    first = [visit for day in visits_by_day(chain, 5, 2000, seed=3, end=END) for visit in day]
    again = [visit for day in visits_by_day(chain, 5, 2000, seed=3, end=END) for visit in day]
    other = [visit for day in visits_by_day(chain, 5, 2000, seed=4, end=END) for visit in day]
    assert len(first) == 2000
    assert first == again
    assert {visit.id for visit in first}.isdisjoint(visit.id for visit in other)


def test_writing_the_same_simulation_twice_stores_it_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    chain = Chain(stores=2, cameras_per_store=2)
    assert simulate(url, chain, 3, 1500, seed=1, end=END, progress=False).added == 1500
    assert simulate(url, chain, 3, 1500, seed=1, end=END, progress=False).added == 0
    with EventTable(url) as table:
        assert table.count() == 1500


def test_visits_keep_opening_hours_and_the_week_has_its_busy_days(chain_db):
    with EventTable(chain_db) as table:
        rows = queries.aggregate(table.engine, "hour")
    by_weekday: defaultdict[int, int] = defaultdict(int)
    by_hour: defaultdict[int, int] = defaultdict(int)
    for row in rows:
        hour = datetime.fromisoformat(row.key.replace("Z", "+00:00"))
        opening, closing = OPENING_HOURS[hour.weekday()]
        assert opening <= hour.hour < closing, f"a visit at {row.key}, outside opening hours"
        by_weekday[hour.weekday()] += row.visits
        by_hour[hour.hour] += row.visits
    assert sum(by_weekday.values()) == 30000
    assert by_weekday[5] > 1.5 * by_weekday[0]  # Saturday is busier than Monday
    assert by_hour[18] > 2 * by_hour[8]  # the after-work peak beats the first hour


def test_well_liked_products_differ_significantly_and_rank_by_their_appeal(chain_db):
    liked, disliked = max(CATALOGUE, key=lambda p: p.appeal), min(CATALOGUE, key=lambda p: p.appeal)
    with EventTable(chain_db) as table:
        result = compare(table.engine, liked.sku, disliked.sku)
        rows = queries.aggregate(table.engine, "product")
    assert all(test.significant for test in result.tests.values())
    assert result.valence_difference > 0 and result.dwell_median_difference_s > 0
    appeal = {product.sku: product.appeal for product in CATALOGUE}
    assert stats.spearmanr([appeal[row.key] for row in rows], [row.valence for row in rows]).statistic > 0.9


def test_simulate_writes_to_postgresql():
    try:
        with scratch_schema(PG_SERVER, prefix="storemood_test") as url:
            written = simulate(url, Chain(2, 2), 2, 3000, seed=2, end=END, progress=False)
            with EventTable(url) as table:
                assert (written.added, table.count()) == (3000, 3000)
    except DatabaseUnavailable as error:
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is not reachable ({error}); tools/test.sh starts it")


@pytest.mark.parametrize(
    "extra",
    [["--days", "4000"], ["--stores", "10000"], ["--db", "nosuchdriver://x"], ["--db", "sqlite://"]],
    ids=" ".join,
)
def test_values_the_simulation_cannot_use_exit_2(tmp_path, extra, capsys):
    argv = ["simulate", "--db", f"sqlite:///{tmp_path / 'sim.db'}", "--events", "10", "--quiet", *extra]
    assert main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err
