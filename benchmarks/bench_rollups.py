"""Dashboard latency from the roll-ups against the raw events: the 14-day per-product aggregate and
the overview, p50/p99 under 4 concurrent clients, on SQLite and PostgreSQL.

    nice -n 10 .venv/bin/python benchmarks/bench_rollups.py                  # 1,000,000 events
    .venv/bin/python benchmarks/bench_rollups.py --events 100000 --rounds 5  # a quick look
    .venv/bin/python benchmarks/bench_rollups.py --events 10000000 --databases postgresql --no-raw  # chain size

Both paths answer the same range, which starts and ends mid-hour (17 minutes past, or as ``--edges`` says),
so the roll-up path also reads the minutes at its ends that no whole roll-up period covers from the raw
events (``--edges 1 59`` leaves the most). Events come from ``tests/synthetic_events.py`` (14 days, 2 stores,
6 products) and are loaded as in bench_store.py, a million at a time (so ten million fit in memory). With
``--no-raw`` only the roll-up path is timed (the raw path takes minutes per query at ten million). With
``--postgresql-url`` or ``--sqlite-path`` the database is filled when empty and kept, and a later run
measures it as it is (ten million visits take half an hour to load). Prints a
Markdown section for benchmarks/RESULTS.md, with each query's single-client time beside the 4-client figures.
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

from bench_store import PG_SERVER, bulk_load, finish_load, generate_rows
from machine import machine_and_date
from storemood.analytics import queries
from storemood.database.engine import DatabaseUnavailable
from storemood.database.event_table import EventTable
from testdata import scratch_schema

CLIENTS = 4


def fourteen_days(engine: Engine, edges: tuple[int, int] = (17, 17)) -> queries.Filters:
    """The last 14 days of the data, starting and ending ``edges`` minutes into an hour: (17, 17) leaves 13
    and 2 minutes of raw visits beside the quarter-hours, (1, 59) 14 and 14, the most there can be."""
    _, last = queries.time_span(engine)
    until = last.replace(minute=edges[1], second=0, microsecond=0)
    return queries.Filters(since=until.replace(minute=edges[0]) - timedelta(days=14), until=until)


def overview(engine: Engine, filters: queries.Filters, exact: bool) -> None:
    """What /api/overview computes: all visits as one group, the products ranked, and the time span."""
    with engine.connect() as connection:
        _, products = queries.overall_and_groups(connection, "product", filters, exact=exact)
        queries.time_span(connection, filters)
    queries.rank(products, 3)


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


CHUNK = 1_000_000


def fill(store: EventTable, events: int) -> None:
    """``events`` synthetic events over the same 14 days, generated and loaded a million at a time."""
    for index, start in enumerate(range(0, events, CHUNK)):
        bulk_load(store, generate_rows(min(CHUNK, events - start), seed=2 + index), finish=False)
    finish_load(store)


def single_client(action: Callable[[], object], rounds: int) -> float:
    """Median ms of ``action`` run alone: what one request costs on an otherwise idle server."""
    action()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def measure(name: str, url: str, args: argparse.Namespace) -> dict:
    store = EventTable(url)
    if not store.count():  # a database given by --postgresql-url or --sqlite-path is filled once, then kept
        fill(store, args.events)
    filters = fourteen_days(store.engine, args.edges)
    rounds, raw = args.rounds, not args.no_raw
    results = {"name": name, "events": store.count()}
    for exact, path in ((True, "raw events"), (False, "roll-ups"))[0 if raw else 1 :]:
        product = lambda exact=exact: queries.aggregate(store.engine, "product", filters, exact=exact)  # noqa: E731
        whole = lambda exact=exact: overview(store.engine, filters, exact)  # noqa: E731
        results[("product", path)] = (*latencies(product, rounds), single_client(product, rounds))
        results[("overview", path)] = (*latencies(whole, rounds), single_client(whole, rounds))
    store.close()
    return results


def markdown(results: list[dict], args: argparse.Namespace, skipped: str) -> str:
    lines = [
        "## Dashboard figures from roll-ups (benchmarks/bench_rollups.py)",
        "",
        f"{machine_and_date()} `.venv/bin/python benchmarks/bench_rollups.py --events {args.events} "
        f"--rounds {args.rounds} --databases {' '.join(args.databases)}{' --no-raw' if args.no_raw else ''} "
        f"--edges {args.edges[0]} {args.edges[1]}`; {CLIENTS} concurrent clients (threads) each running a query "
        f"{args.rounds} times over the last 14 days of the data (starting {args.edges[0]} and ending "
        f"{args.edges[1]} minutes into an hour), and the same query alone; milliseconds.",
        "",
        "| database | events | query | raw p50 | raw p99 | roll-ups p50 | roll-ups p99 | roll-ups alone | "
        "p50 speed-up |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for query, label in (("product", "14-day per-product aggregate"), ("overview", "overview")):
            raw, rolled = r.get((query, "raw events")), r[(query, "roll-ups")]
            raw_cells = f"{raw[0]:.0f} | {raw[1]:.0f}" if raw else "– | –"
            lines.append(
                f"| {r['name']} | {r['events']:,} | {label} | {raw_cells} | {rolled[0]:.1f} | {rolled[1]:.1f} | "
                f"{rolled[2]:.1f} | {f'{raw[0] / rolled[0]:.0f}×' if raw else '–'} |"
            )
    if skipped:
        lines += ["", skipped]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the database")
    parser.add_argument("--rounds", type=int, default=10, help="queries per client and path")
    parser.add_argument("--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--no-raw", action="store_true", help="time the roll-up path only")
    parser.add_argument(
        "--edges",
        nargs=2,
        type=int,
        default=(17, 17),
        metavar=("START", "END"),
        help="the range starts START and ends END minutes into an hour (1 59: the most raw visits at the edges)",
    )
    parser.add_argument("--postgresql-url", help="measure this PostgreSQL database instead of a scratch schema")
    parser.add_argument("--sqlite-path", type=Path, help="measure this SQLite file instead of a temporary one")
    args = parser.parse_args()
    results, skipped = [], ""
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-rollups-")))
        if "sqlite" in args.databases:
            sqlite_url = f"sqlite:///{args.sqlite_path or folder / 'events.db'}"
            results.append(measure("SQLite", sqlite_url, args))
        try:
            if "postgresql" in args.databases:
                pg_url = args.postgresql_url or stack.enter_context(scratch_schema(PG_SERVER, prefix="storemood_bench"))
                results.append(measure("PostgreSQL", pg_url, args))
        except DatabaseUnavailable as error:
            skipped = f"PostgreSQL skipped: {error}"
    print(markdown(results, args, skipped))


if __name__ == "__main__":
    main()
