"""Dashboard latency from the hourly roll-ups against the raw events: the 14-day per-product aggregate and
the overview, p50/p99 under 4 concurrent clients, on SQLite and PostgreSQL.

    nice -n 10 .venv/bin/python benchmarks/bench_rollups.py                  # 1,000,000 events
    .venv/bin/python benchmarks/bench_rollups.py --events 100000 --rounds 5  # a quick look

Both paths answer the same range, which starts and ends mid-hour, so the roll-up path also reads the two
partial hours from the raw events. Events come from ``tests/synthetic_events.py`` (14 days, 2 stores,
6 products) and are loaded as in bench_store.py. Prints a Markdown section for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy.engine import Engine

from bench_store import PG_SERVER, bulk_load, generate_rows
from machine import machine_and_date
from storemood.analytics import queries
from storemood.database.engine import DatabaseUnavailable
from storemood.database.event_table import EventTable
from testdata import scratch_schema

CLIENTS = 4


def fourteen_days(engine: Engine) -> queries.Filters:
    """The last 14 days of the data, starting and ending 17 minutes into an hour."""
    _, last = queries.time_span(engine)
    until = last.replace(minute=17, second=0, microsecond=0)
    return queries.Filters(since=until - timedelta(days=14), until=until)


def overview(engine: Engine, filters: queries.Filters, exact: bool) -> None:
    """What /api/overview computes: all visits as one group, the products ranked, and the time span."""
    queries.overall(engine, filters, exact=exact)
    queries.rank(queries.aggregate(engine, "product", filters, exact=exact), 3)
    queries.time_span(engine, filters)


def latencies(action: Callable[[], object], rounds: int) -> tuple[float, float]:
    """p50 and p99 (ms) of ``action`` run ``rounds`` times by each of CLIENTS concurrent clients."""

    def client() -> list[float]:
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            action()
            times.append((time.perf_counter() - started) * 1000)
        return times

    action()  # warm caches
    with ThreadPoolExecutor(CLIENTS) as pool:
        times = [t for result in pool.map(lambda _: client(), range(CLIENTS)) for t in result]
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def measure(name: str, url: str, rows: list, rounds: int) -> dict:
    store = EventTable(url)
    bulk_load(store, rows)
    filters = fourteen_days(store.engine)
    results = {"name": name, "events": store.count()}
    for exact, path in ((True, "raw events"), (False, "roll-ups")):
        results[("product", path)] = latencies(
            lambda exact=exact: queries.aggregate(store.engine, "product", filters, exact=exact), rounds
        )
        results[("overview", path)] = latencies(lambda exact=exact: overview(store.engine, filters, exact), rounds)
    store.close()
    return results


def markdown(results: list[dict], args: argparse.Namespace, skipped: str) -> str:
    lines = [
        "## Dashboard figures from hourly roll-ups (benchmarks/bench_rollups.py)",
        "",
        f"{machine_and_date()} `.venv/bin/python benchmarks/bench_rollups.py --events {args.events} "
        f"--rounds {args.rounds}`; {CLIENTS} concurrent clients (threads) each running a query {args.rounds} "
        "times over the last 14 days of the data (a range starting and ending mid-hour); milliseconds.",
        "",
        "| database | events | query | raw p50 | raw p99 | roll-ups p50 | roll-ups p99 | p50 speed-up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for query, label in (("product", "14-day per-product aggregate"), ("overview", "overview")):
            raw, rolled = r[(query, "raw events")], r[(query, "roll-ups")]
            lines.append(
                f"| {r['name']} | {r['events']:,} | {label} | {raw[0]:.0f} | {raw[1]:.0f} | {rolled[0]:.1f} | "
                f"{rolled[1]:.1f} | {raw[0] / rolled[0]:.0f}× |"
            )
    if skipped:
        lines += ["", skipped]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the database")
    parser.add_argument("--rounds", type=int, default=10, help="queries per client and path")
    args = parser.parse_args()
    rows = generate_rows(args.events, seed=2)
    results, skipped = [], ""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-rollups-")))
        results.append(measure("SQLite", f"sqlite:///{folder / 'events.db'}", rows, args.rounds))
        try:
            pg_url = stack.enter_context(scratch_schema(PG_SERVER, prefix="storemood_bench"))
            results.append(measure("PostgreSQL", pg_url, rows, args.rounds))
        except DatabaseUnavailable as error:
            skipped = f"PostgreSQL skipped: {error}"
    print(markdown(results, args, skipped))


if __name__ == "__main__":
    main()
