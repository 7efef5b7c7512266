"""``storemood simulate``: fill a database with a simulated chain's visits (see :mod:`storemood.simulate`)."""

from __future__ import annotations

import argparse

from storemood.cli.arguments import non_negative_int, positive_int, utc_time


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``simulate``."""
    parser = subparsers.add_parser(
        "simulate",
        help="fill a database with realistic synthetic visits of a simulated chain",
        description="Write synthetic visits of a simulated chain (stores sim-0001, sim-0002, ...) through the "
        "normal write path: opening hours and busier weekends, products and brands per shelf zone, log-normal "
        "dwell, and emotions that differ between products (some clearly better liked, so `storemood compare` "
        "finds real differences). The same --seed gives the same visits, ids included, so writing a simulation "
        "twice stores it once. Use a database of its own: simulated visits look like real ones to reports.",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        required=True,
        help="database to write, e.g. sqlite:///sim.db or postgresql+psycopg://user@host/db (created when new)",
    )
    parser.add_argument("--stores", type=positive_int, default=10, metavar="N", help="stores (default: %(default)s)")
    parser.add_argument(
        "--cameras-per-store",
        type=positive_int,
        default=4,
        metavar="M",
        help="cameras per store (default: %(default)s)",
    )
    parser.add_argument(
        "--days",
        type=positive_int,
        default=14,
        metavar="D",
        help="days simulated, ending at --end (default: %(default)s)",
    )
    parser.add_argument(
        "--events", type=positive_int, default=100_000, metavar="E", help="visits in all (default: %(default)s)"
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, metavar="S", help="random seed (default: 0)")
    parser.add_argument(
        "--end",
        type=utc_time,
        metavar="T",
        help="end of the simulated period (ISO date or time, UTC unless an offset is given; default: today 00:00 UTC)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary line")
    parser.set_defaults(handler=_simulate)


def _simulate(args: argparse.Namespace) -> int:
    from storemood.simulate import Chain, simulate
    from storemood.urls import mask_url

    chain = Chain(args.stores, args.cameras_per_store)
    written = simulate(args.db, chain, args.days, args.events, args.seed, args.end, progress=not args.quiet)
    if not args.quiet:
        print(
            f"wrote {written.visits} visits ({written.added} new) of {args.stores} stores × {args.cameras_per_store} "
            f"cameras over {args.days} days to {mask_url(args.db)} in {written.seconds:.1f} s "
            f"({written.rate:,.0f} visits/s)"
        )
    return 0
