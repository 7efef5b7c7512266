"""REST API latency and throughput at 1 million events, on loopback, against peers measured in the same run.

``storemood serve`` runs in its own process over a SQLite file of synthetic events
(``tests/synthetic_events.py``: 14 days, 2 stores, 6 products); a bounded asyncio/httpx load generator in
this process sends requests from a few concurrent clients for a fixed time per endpoint and records each
latency. Peers: ``/api/health`` (the HTTP stack with no database work) and the same analytics call made
directly in this process without HTTP (what the API adds on top of the query).

    nice -n 10 .venv/bin/python benchmarks/bench_api.py                 # 1,000,000 events, about 8 minutes
    .venv/bin/python benchmarks/bench_api.py --events 50000 --seconds 3 # a quick look

Prints a Markdown section for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
from tqdm import tqdm

from machine import machine_and_date
from storemood.analytics import queries
from storemood.analytics.queries import Filters
from storemood.database.event_table import EventTable, event_to_row
from testdata import EPOCH, synthetic_events

DAYS = 14
BATCH = 20_000
ONE_DAY = {"since": (EPOCH + timedelta(days=7)).isoformat(), "until": (EPOCH + timedelta(days=8)).isoformat()}
ALL_DAYS = {"since": EPOCH.isoformat(), "until": (EPOCH + timedelta(days=DAYS)).isoformat()}
DAY_FILTERS = Filters(since=EPOCH + timedelta(days=7), until=EPOCH + timedelta(days=8))
ALL_FILTERS = Filters(since=EPOCH, until=EPOCH + timedelta(days=DAYS))


@dataclass(frozen=True)
class Case:
    """One endpoint under load, and the in-process analytics call it wraps (None for pure HTTP peers)."""

    name: str
    path: str
    params: dict
    direct: Callable | None


CASES = (
    Case("health (HTTP peer)", "/api/health", {}, None),
    Case("status (live poll)", "/api/status", {}, queries.change_marker),
    Case(
        "aggregates/product, 1 day",
        "/api/aggregates/product",
        ONE_DAY,
        lambda e: queries.aggregate(e, "product", DAY_FILTERS),
    ),
    Case(
        "aggregates/hour, 1 day", "/api/aggregates/hour", ONE_DAY, lambda e: queries.aggregate(e, "hour", DAY_FILTERS)
    ),
    Case("overview, 1 day", "/api/overview", ONE_DAY, None),
    Case(
        "aggregates/product, 14 days",
        "/api/aggregates/product",
        ALL_DAYS,
        lambda e: queries.aggregate(e, "product", ALL_FILTERS),
    ),
)


def fill(url: str, n: int) -> None:
    with EventTable(url) as store:
        rows = []
        for event in tqdm(synthetic_events(n, seed=1, days=DAYS), total=n, desc="events", leave=False):
            rows.append(event_to_row(event))
            if len(rows) == BATCH:
                store.add_rows(rows)
                rows = []
        store.add_rows(rows)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def server(url: str, options: tuple[str, ...] = ()):
    """`storemood serve` on a free loopback port, in its own process, with more ``options``; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "storemood", "serve", "--db", url, "--port", str(port), *options]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                httpx.get(f"{base}/api/health", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


async def load(base: str, case: Case, clients: int, seconds: float, at_least: int) -> tuple[list[float], float]:
    """Latencies (s) of requests sent by ``clients`` concurrent clients for ``seconds`` (and at least
    ``at_least`` requests), and the wall time they took."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline or len(latencies) < at_least:
            started = time.perf_counter()
            response = await http.get(case.path, params=case.params)
            response.raise_for_status()
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=600) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return latencies, time.perf_counter() - began


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def direct_median(url: str, call: Callable, repeats: int) -> float:
    with EventTable(url) as store:
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            call(store.engine)
            timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=30.0, help="load time per endpoint")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'events.db'}"
        fill(url, args.events)
        rows = []
        with server(url) as base:
            for case in tqdm(CASES, desc="endpoints", leave=False):
                latencies, wall = asyncio.run(load(base, case, args.clients, args.seconds, at_least=args.clients * 2))
                direct = direct_median(url, case.direct, repeats=3) if case.direct else None
                rows.append((case, latencies, wall, direct))
    report(rows, args)


def report(rows: list, args: argparse.Namespace) -> None:
    health_p50 = percentile(rows[0][1], 0.5)
    print("\n## REST API under load (benchmarks/bench_api.py)\n")
    print(
        f"{machine_and_date()} `.venv/bin/python benchmarks/bench_api.py "
        f"--events {args.events} --seconds {args.seconds:g} --clients {args.clients}`: `storemood serve` (uvicorn, "
        f"one worker) over SQLite with {args.events:,} synthetic events in 14 days; {args.clients} concurrent "
        "httpx clients on 127.0.0.1 in another process.\n"
    )
    print("| endpoint | requests | p50 ms | p99 ms | req/s | p50 ÷ health p50 | p50 ÷ direct call |")
    print("|---|---|---|---|---|---|---|")
    for case, latencies, wall, direct in rows:
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        versus_direct = f"{p50 / direct:.2f}× (direct {direct * 1000:.0f} ms)" if direct else "–"
        print(
            f"| {case.name} | {len(latencies)} | {p50 * 1000:.1f} | {p99 * 1000:.1f} | {len(latencies) / wall:.1f} "
            f"| {p50 / health_p50:.0f}× | {versus_direct} |"
        )


if __name__ == "__main__":
    main()
