"""A chain writing into one PostgreSQL: many store edges through the real outbox and courier, the API read at once.

Each writer process is one store's edge machine: an :class:`~storemood.delivery.writer.EventWriter` with its
own outbox, whose courier thread delivers to the central database over loopback, exactly as
``storemood run --store`` does. The writer queues simulated visits of its store (``storemood.simulate``) in
small batches, either as fast as it can while its outbox holds fewer than ``--max-backlog`` visits (what the
couriers deliver is then what the chain sustains; the write latency is then mostly that backlog) or at an
offered ``--rate`` (the write latency a chain at that rate sees). Meanwhile ``storemood serve`` runs in its
own process and ``--clients`` concurrent clients ask it for the 14-day overview and the 14-day per-product aggregate
(``bench_api.py``'s load generator), first one for half the time, then the other.

Reported: visits delivered per second over the fixed time; write latency, from ``EventWriter.write`` until
the database committed the visit (the first visit of each courier batch, the one that waited longest), and
the database insert of one courier batch; the outbox backlog sampled each second; the API's latencies; and
how far the delivered rate is above a 500-store x 10-camera chain's busiest hour, from the simulator's
opening hours and traffic profile.

    nice -n 10 .venv/bin/python benchmarks/bench_chain.py --writers 16 --seconds 120
    .venv/bin/python benchmarks/bench_chain.py --url postgresql+psycopg://postgres@127.0.0.1/storemood_bench --rate 200

Without ``--url`` the writers fill a throwaway schema of the test server (``--server``), which starts empty.
Prints a Markdown section for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import dataclasses
import itertools
import multiprocessing
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from bench_api import Case, load, percentile, server
from machine import machine_and_date
from storemood.database.engine import create_db_engine
from storemood.delivery.writer import EventWriter
from storemood.simulate import HOUR_TRAFFIC, OPENING_HOURS, WEEKDAY_TRAFFIC, Chain, visits_by_day
from testdata import scratch_schema

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: The simulated period's end; the writers' visits and the API's 14 days both lie before it.
END = datetime(2026, 12, 1, tzinfo=UTC)
FOURTEEN_DAYS = {"since": (END - timedelta(days=14)).isoformat(), "until": END.isoformat()}
CASES = (
    Case("overview, 14 days", "/api/overview", FOURTEEN_DAYS, None),
    Case("aggregates/product, 14 days", "/api/aggregates/product", FOURTEEN_DAYS, None),
)
#: The chain the issue sizes for, and the visits one camera sees in an average open hour (10.5 million a month).
CHAIN_STORES, CHAIN_CAMERAS, CAMERA_HOUR_VISITS = 500, 10, 6.0


@dataclasses.dataclass
class EdgeResult:
    """What one store's edge did in the measured time."""

    written: int
    delivered: int
    write_to_commit_s: list[float]
    batch_insert_s: list[float]
    backlog: list[int]


def edge(index: int, url: str, folder: str, args: argparse.Namespace, ready, go, results) -> None:
    """One store's edge machine: queue simulated visits through an EventWriter until the time is up."""
    store = f"bench-{index + 1:03d}"
    days = visits_by_day(Chain(1, args.cameras), 30, args.visits_per_edge, seed=1000 + index, end=END)
    visits = iter([dataclasses.replace(visit, store=store) for day in days for visit in day])  # made before the clock
    writer = EventWriter(url, Path(folder) / f"{store}.sqlite", retry_s=0.05)
    courier = writer.couriers[0]
    written_at: list[float] = []  # time of each write() call
    written_before: list[int] = []  # visits written before that call
    result = EdgeResult(0, 0, [], [], [])
    send = writer.database.send

    def timed_send(rows) -> None:
        started = time.perf_counter()
        send(rows)
        if rows:
            done = time.perf_counter()
            result.batch_insert_s.append(done - started)
            first = bisect.bisect_right(written_before, courier.delivered) - 1
            result.write_to_commit_s.append(done - written_at[first])

    writer.database.send = timed_send
    ready.release()
    go.wait()
    began = time.perf_counter()
    deadline, next_sample = began + args.seconds, began
    while (now := time.perf_counter()) < deadline:
        if now >= next_sample:
            result.backlog.append(writer.pending)
            next_sample += 1.0
        if args.rate and result.written + args.batch > (now - began) * args.rate / args.writers:
            time.sleep(0.005)  # ahead of the offered rate
            continue
        if writer.pending >= args.max_backlog:
            time.sleep(0.01)
            continue
        batch = list(itertools.islice(visits, args.batch))
        if not batch:
            break  # every prepared visit written: --visits-per-edge is too small for this machine
        written_at.append(time.perf_counter())
        written_before.append(result.written)
        writer.write(batch)
        result.written += len(batch)
    result.delivered = courier.delivered
    writer.close(timeout=60)
    results.put(result)


def chain_peak_rate() -> tuple[float, str]:
    """Visits per second of the reference chain at its busiest hour, and the arithmetic."""
    weights = [
        WEEKDAY_TRAFFIC[day] * HOUR_TRAFFIC[hour]
        for day, (opening, closing) in enumerate(OPENING_HOURS)
        for hour in range(opening, closing)
    ]
    open_hours_a_week = len(weights)
    peak_factor = max(weights) / float(np.mean(weights))
    cameras = CHAIN_STORES * CHAIN_CAMERAS
    mean_rate = cameras * CAMERA_HOUR_VISITS / 3600
    monthly = cameras * CAMERA_HOUR_VISITS * open_hours_a_week * 30 / 7
    arithmetic = (
        f"{CHAIN_STORES} stores × {CHAIN_CAMERAS} cameras × {CAMERA_HOUR_VISITS:g} visits per camera per open hour "
        f"= {mean_rate:.1f} visits/s in an average open hour ({open_hours_a_week} open hours a week: "
        f"{monthly / 1e6:.1f} million visits a month); the busiest hour (Saturday 18:00) is {peak_factor:.2f}× "
        f"the average open hour: **{mean_rate * peak_factor:.0f} visits/s**"
    )
    return mean_rate * peak_factor, arithmetic


def event_count(url: str) -> int:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(sa.text("SELECT count(*) FROM events")))
    finally:
        engine.dispose()


def run(url: str, args: argparse.Namespace) -> dict:
    """Start the edges and the server, measure for ``--seconds``, collect everything."""
    create_db_engine(url).dispose()
    EventWriter(url).close()  # migrate once, before the edges race to
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Semaphore(0), context.Event(), context.Queue()
    before = event_count(url)
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        processes = [
            context.Process(target=edge, args=(index, url, folder, args, ready, go, results))
            for index in range(args.writers)
        ]
        for process in processes:
            process.start()
        for _ in processes:
            ready.acquire()
        base = stack.enter_context(server(url, ("--workers", str(args.workers))))
        go.set()
        began = time.perf_counter()
        api = {
            case.name: asyncio.run(load(base, case, args.clients, args.seconds / len(CASES), at_least=args.clients))[0]
            for case in CASES
        }
        edges = [results.get() for _ in processes]
        elapsed = time.perf_counter() - began
        for process in processes:
            process.join()
    return {"edges": edges, "api": api, "before": before, "after": event_count(url), "elapsed": elapsed}


def report(measured: dict, args: argparse.Namespace, url_note: str) -> None:
    peak, arithmetic = chain_peak_rate()
    print("\n## A chain writing into one PostgreSQL (benchmarks/bench_chain.py)\n")
    print(
        f"{machine_and_date()} `.venv/bin/python benchmarks/bench_chain.py {_options(args)}`: {args.writers} "
        f"store edges (one process each, {args.cameras} cameras' visits, EventWriter with outbox and courier) "
        f"writing to PostgreSQL on 127.0.0.1 {url_note}, {measured['before']:,} events before the run; "
        f"`storemood serve --workers {args.workers}` read by {args.clients} concurrent clients at the same time.\n"
    )
    if measured["edges"]:
        _ingestion(measured, args, peak)
    print("| endpoint | requests | p50 ms | p99 ms |\n|---|---|---|---|")
    for name, latencies in measured["api"].items():
        print(f"| {name} | {len(latencies)} | {_ms(latencies, 0.5)} | {_ms(latencies, 0.99)} |")
    print(f"\nThe reference chain: {arithmetic}.")


def _ingestion(measured: dict, args: argparse.Namespace, peak: float) -> None:
    edges: list[EdgeResult] = measured["edges"]
    delivered = sum(edge.delivered for edge in edges)
    rate = delivered / args.seconds
    commit = [value for edge in edges for value in edge.write_to_commit_s]
    insert = [value for edge in edges for value in edge.batch_insert_s]
    backlog = np.sum([edge.backlog[: min(len(e.backlog) for e in edges)] for edge in edges], axis=0)
    print("| ingestion | value |\n|---|---|")
    print(f"| visits delivered in {args.seconds:g} s | {delivered:,} ({rate:,.0f} visits/s) |")
    print(f"| events in the database after draining | {measured['after'] - measured['before']:,} more |")
    print(f"| write → committed, p50 / p99 | {_ms(commit, 0.5)} / {_ms(commit, 0.99)} ms |")
    print(
        f"| one courier batch insert, p50 / p99 | {_ms(insert, 0.5)} / {_ms(insert, 0.99)} ms "
        f"({len(insert):,} batches, {delivered / max(len(insert), 1):.0f} visits each on average) |"
    )
    print(f"| outbox backlog, all edges, median / max | {int(np.median(backlog)):,} / {int(backlog.max()):,} visits |")
    print(f"| above the 500-store chain's busiest hour ({peak:.0f} visits/s) | **{rate / peak:.0f}×** |\n")


def _options(args: argparse.Namespace) -> str:
    rate = f" --rate {args.rate:g}" if args.rate else ""
    return (
        f"--writers {args.writers} --seconds {args.seconds:g}{rate} --visits-per-edge {args.visits_per_edge} "
        f"--batch {args.batch} "
        f"--clients {args.clients} --workers {args.workers}"
    )


def _ms(values: list[float], share: float) -> str:
    return f"{percentile(values, share) * 1000:.0f}" if values else "–"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database to write into and read (default: a throwaway schema on --server)")
    parser.add_argument("--server", default=PG_SERVER, help="PostgreSQL for the throwaway schema")
    parser.add_argument("--writers", type=int, default=16, help="store edges, one process each")
    parser.add_argument("--cameras", type=int, default=10, help="cameras per store")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time")
    parser.add_argument("--visits-per-edge", type=int, default=60_000, help="visits each edge prepares to write")
    parser.add_argument(
        "--rate", type=float, help="visits per second offered by all edges together (default: as many as they can)"
    )
    parser.add_argument("--batch", type=int, default=10, help="visits per EventWriter.write call")
    parser.add_argument("--max-backlog", type=int, default=5000, help="an edge waits while its outbox holds this many")
    parser.add_argument("--clients", type=int, default=4, help="concurrent API clients")
    parser.add_argument("--workers", type=int, default=1, help="storemood serve --workers")
    args = parser.parse_args()
    if args.url:
        report(run(args.url, args), args, "(a database filled by `storemood simulate`)")
        return
    with scratch_schema(args.server, prefix="storemood_bench") as url:
        report(run(url, args), args, "(a new schema)")


if __name__ == "__main__":
    main()
