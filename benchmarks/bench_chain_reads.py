"""Chain-wide and one-store dashboard reads on a simulated chain: the 14-day per-product aggregate and the
overview over every store, and one store's per-product aggregate, alone and under 4 concurrent clients.

    storemood simulate --db postgresql+psycopg://postgres@127.0.0.1:5432/chainsim --stores 500 \\
        --cameras-per-store 10 --days 14 --events 600000 --seed 1 --end 2026-12-05
    .venv/bin/python benchmarks/bench_chain_reads.py postgresql+psycopg://postgres@127.0.0.1:5432/chainsim

bench_rollups.py measures the reads at ten million visits of a small chain, whose roll-ups hold a few
thousand rows for 14 days; here the chain has thousands of cameras, so the roll-up rows a chain-wide read
sums are what decides its time. Peers, alone: the chain-wide figure with every store named in the filter,
which reads the camera-level roll-ups instead of the chain-level ones, and the same figure computed exactly
from the raw events (median of 3). Prints a Markdown section for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import sqlalchemy as sa

from bench_rollups import CLIENTS, fourteen_days, latencies, overview, single_client
from machine import machine_and_date
from storemood.analytics import queries
from storemood.database.event_table import EventTable
from storemood.database.rollups import TIERS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="a database filled by `storemood simulate`")
    parser.add_argument("--rounds", type=int, default=7, help="queries per client (default 7)")
    args = parser.parse_args()
    with EventTable(args.url) as store:
        chain = fourteen_days(store.engine)
        every_store = tuple(listed.id for listed in queries.list_stores(store.engine))
        one_store = replace(chain, stores=every_store[:1])
        named = replace(chain, stores=every_store)  # the same visits, read from the camera-level roll-ups
        with store.engine.connect() as connection:
            rows = {
                name: connection.scalar(sa.select(sa.func.count()).select_from(tier.table))
                for name, tier in TIERS.items()
            }
        reads = {
            "chain-wide 14-day per-product aggregate": lambda: queries.aggregate(store.engine, "product", chain),
            "chain-wide overview": lambda: overview(store.engine, chain, exact=False),
            "one store's 14-day per-product aggregate": lambda: queries.aggregate(store.engine, "product", one_store),
        }
        lines = [
            "## Chain-wide reads on a simulated chain (benchmarks/bench_chain_reads.py)",
            "",
            f"{machine_and_date()} {store.count():,} visits; roll-up rows: "
            + ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in rows.items())
            + f". Each read alone (median of {args.rounds}) and under {CLIENTS} concurrent "
            "clients; milliseconds.",
            "",
            "| read | alone | 4 clients p50 | 4 clients p99 |",
            "|---|---|---|---|",
        ]
        for name, read in reads.items():
            alone = single_client(read, args.rounds)
            p50, p99 = latencies(read, args.rounds)
            lines.append(f"| {name} | {alone:.1f} | {p50:.1f} | {p99:.1f} |")
        camera_level = single_client(lambda: queries.aggregate(store.engine, "product", named), args.rounds)
        lines.append(f"| peer: the same, every store named (camera-level roll-ups) | {camera_level:.1f} | – | – |")
        exact = single_client(lambda: queries.aggregate(store.engine, "product", chain, exact=True), 3)
        lines.append(f"| peer: chain-wide per-product aggregate from the raw events (`exact`) | {exact:.1f} | – | – |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
