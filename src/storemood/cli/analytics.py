"""``storemood report``, ``compare``, ``export`` and ``prune``: what the retailer reads and takes away.

Handlers only parse, call :mod:`storemood.analytics` / :mod:`storemood.database` and print; those modules
are imported inside the handlers so that ``storemood --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from storemood.analytics.rows import COMPARED, DIMENSIONS
from storemood.cli.arguments import (
    add_engaged_after,
    add_figure_options,
    engagement_threshold,
    figure_policy,
    is_layout_file,
    output_format,
    positive_float,
    utc_time,
)
from storemood.errors import UserError

REPORT_SUFFIXES = {"table": (".txt",), "csv": (".csv",), "json": (".json",), "html": (".html", ".htm")}
"""What ``report --out`` may end in, per format."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``report``, ``compare``, ``export`` and ``prune``."""
    _register_report(subparsers)
    _register_compare(subparsers)
    _register_export(subparsers)
    _register_prune(subparsers)


def _add_db_and_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        help="database URL, e.g. sqlite:///events.db or postgresql+psycopg://user@host/db "
        "(default: the SQLite file in your data directory that `storemood run` and `demo` write)",
    )
    parser.add_argument(
        "--since",
        metavar="T",
        type=utc_time,
        help="only visits starting at or after T "
        "(ISO date or time, e.g. 2026-11-01 or 2026-11-01T09:00; UTC unless an offset is given)",
    )
    parser.add_argument("--until", metavar="T", type=utc_time, help="only visits starting before T (same format)")
    parser.add_argument(
        "--timezone",
        default="UTC",
        metavar="ZONE",
        help="IANA time zone for --by hour/day and the valence-over-time plot, e.g. Europe/Paris (default: UTC)",
    )
    parser.add_argument(
        "--store",
        dest="stores",
        action="append",
        default=[],
        metavar="ID|store.yaml",
        help="only this store (repeat for several); a store.yaml stands for its store and also brings its "
        "settings (the engagement threshold)",
    )
    for name in ("camera", "zone", "product", "brand"):
        parser.add_argument(
            f"--{name}",
            dest=f"{name}s",
            action="append",
            default=[],
            metavar="ID",
            help=f"only this {name} (repeat for several)",
        )


def _register_report(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="reactions per product, brand, zone, camera, store, hour or day",
        description="Aggregate stored visits: visits, median dwell, engagement, share of visits by dominant "
        "emotion and valence (positive minus negative share) per group. Prints a table, or writes CSV, "
        "JSON or a standalone HTML report with charts.",
    )
    _add_db_and_filters(parser)
    parser.add_argument("--by", choices=DIMENSIONS, default="product", help="what one row is (default: product)")
    parser.add_argument(
        "--format",
        choices=tuple(REPORT_SUFFIXES),
        help="table (terminal), csv, json, or html (charts embedded; needs --out or prints the page); default: "
        "what --out's extension names (.txt, .csv, .json, .html), else table",
    )
    parser.add_argument("--out", type=Path, metavar="PATH", help="write the report here instead of to stdout")
    add_engaged_after(parser)
    parser.add_argument(
        "--exact",
        action="store_true",
        help="compute every figure from the raw visits (exact median dwell) instead of the roll-ups",
    )
    add_figure_options(parser)
    parser.set_defaults(handler=_report)


def _register_compare(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="two products (or brands) side by side",
        description="Compare two products (SKUs) or, with --by brand, two brands: visits, median dwell, "
        "valence and emotion shares of each, their differences (first minus second) with 95% intervals, and "
        "whether they are real: a chi-square (or permutation) test on the dominant emotions, Welch's t-test on "
        "valence and the Mann-Whitney U test on dwell, each with its p-value, and one plain sentence.",
    )
    parser.add_argument("first", help="product SKU (or brand with --by brand)")
    parser.add_argument("second", help="product SKU (or brand with --by brand)")
    parser.add_argument("--by", choices=COMPARED, default="product", help="compare products (default) or brands")
    _add_db_and_filters(parser)
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="the sentence and a table, or JSON (default: text)"
    )
    add_figure_options(parser)
    parser.set_defaults(handler=_compare)


EXPORT_SUFFIXES = {"csv": (".csv",), "jsonl": (".jsonl", ".ndjson"), "parquet": (".parquet",)}
"""What ``export --out`` may end in, per format."""
#: Visits read from the database per query while exporting (memory stays flat on millions of visits).
EXPORT_CHUNK = 10_000


def _register_export(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="raw visits to CSV, JSON Lines or Parquet",
        description="Write stored visits, one row each in the order they started, with anonymous fields only "
        "(ids, times, zone, product, brand, dwell, emotion probabilities, face quality). CSV columns are the "
        "JSON fields, nested ones dotted (probabilities.happy), as in the API's /api/visits.",
    )
    _add_db_and_filters(parser)
    parser.add_argument(
        "--format",
        choices=tuple(EXPORT_SUFFIXES),
        help="file format; default: what --out's extension names (.csv, .jsonl, .parquet), else csv",
    )
    parser.add_argument("--out", type=Path, metavar="PATH", help="write here (default: stdout; parquet needs --out)")
    parser.set_defaults(handler=_export)


def _register_prune(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prune",
        help="delete events older than N days (retention)",
        description="Delete visit events that ended more than N days ago, and forget cameras silent for as long "
        "(their heartbeat and still). `storemood run` does this for its store by itself when store.yaml sets "
        "settings.retention_days.",
    )
    parser.add_argument("--older-than", type=positive_float, required=True, metavar="DAYS", help="age limit in days")
    parser.add_argument("--db", metavar="URL", help="database URL (default: your SQLite file)")
    parser.set_defaults(handler=_prune)


def _filters(args: argparse.Namespace):
    from storemood.analytics.queries import Filters

    if args.since and args.until and args.since >= args.until:
        raise UserError("--since must be earlier than --until")
    lists = {name: tuple(getattr(args, name)) for name in ("cameras", "zones", "products", "brands")}
    stores = tuple(_store_id(value) for value in args.stores)
    return Filters(**lists, stores=stores, since=args.since, until=args.until, timezone=args.timezone)


def _store_id(value: str) -> str:
    """A ``--store`` value as a store id: a store.yaml stands for the store it describes."""
    if not is_layout_file(value):
        return value
    from storemood.config import load_store

    return load_store(value).id


def _existing_store(url: str | None):
    """The events of an existing database (a report never creates one), closed after the ``with``."""
    from storemood.database.engine import open_existing
    from storemood.database.event_table import EventTable

    return EventTable(engine=open_existing(url))


def _report(args: argparse.Namespace) -> int:
    from storemood.analytics import report

    args.format = output_format(args.format, args.out, REPORT_SUFFIXES, "table")
    with _existing_store(args.db) as store:
        engine = store.engine
        layouts = [Path(value) for value in args.stores if is_layout_file(value)]
        threshold = engagement_threshold(args.engaged_after, layouts)
        try:
            built = report.build_report(
                engine, args.by, _filters(args), threshold, figure_policy(args, layouts), args.exact
            )
        except report.NoVisits as quiet:  # a quiet day is no error: a daily cron job must not fail on it
            print(f"storemood report: {quiet}; nothing to report", file=sys.stderr)
            if args.format == "json":
                _emit(json.dumps({"by": args.by, "rows": []}), args.out)
            return 0
        if args.format == "table" and args.out is None:
            from rich.console import Console

            Console().print(report.to_table(built))
            return 0
        text = {
            "table": lambda: _table_text(report.to_table(built)),
            "csv": lambda: report.to_csv(built),
            "json": lambda: report.to_json(built),
            "html": lambda: report.to_html(engine, built),
        }[args.format]()
    _emit(text, args.out)
    return 0


def _table_text(table) -> str:
    import io

    from rich.console import Console

    console = Console(width=160, file=io.StringIO())
    console.print(table)
    return console.file.getvalue()


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UserError(f"cannot write {out}: {error.strerror}") from None


def _compare(args: argparse.Namespace) -> int:
    import json

    from storemood.analytics.significance import compare, to_text

    with _existing_store(args.db) as store:
        layouts = [Path(value) for value in args.stores if is_layout_file(value)]
        policy = figure_policy(args, layouts)
        result = compare(store.engine, args.first, args.second, args.by, _filters(args), policy)
    print(json.dumps(result.to_dict(), indent=2) if args.format == "json" else to_text(result))
    return 0


def _export(args: argparse.Namespace) -> int:
    from storemood.analytics.queries import count_visits

    args.format = output_format(args.format, args.out, EXPORT_SUFFIXES, "csv")
    if args.format == "parquet" and args.out is None:
        raise UserError("--format parquet writes a file: give --out PATH")
    filters = _filters(args)
    with _existing_store(args.db) as store:
        total = count_visits(store.engine, filters)
        chunks = _visit_chunks(store.engine, filters, total, show_progress=args.out is not None)
        written = _write_visits(chunks, args.format, args.out)
    if args.out is not None:
        print(f"wrote {written} visits to {args.out}")
    return 0


def _visit_chunks(engine, filters, total: int, show_progress: bool):
    """The matching visits, :data:`EXPORT_CHUNK` at a time, with a progress bar when writing a file."""
    import sys

    from tqdm import tqdm

    from storemood.analytics.queries import list_visits

    with tqdm(total=total, unit="visit", disable=not show_progress, leave=False, file=sys.stderr) as bar:
        for offset in range(0, total, EXPORT_CHUNK):
            rows = list_visits(engine, filters, limit=EXPORT_CHUNK, offset=offset)
            bar.update(len(rows))
            yield rows


def _write_visits(chunks, kind: str, out: Path | None) -> int:
    """Write the chunks as CSV, JSON Lines or Parquet; returns how many visits were written."""
    import json
    import sys

    from storemood.analytics.rows import csv_text

    if kind == "parquet":
        return _write_parquet(chunks, out)
    try:
        stream = open(out, "w", encoding="utf-8", newline="") if out else sys.stdout  # noqa: SIM115
    except OSError as error:
        raise UserError(f"cannot write {out}: {error.strerror}") from None
    written = 0
    try:
        for index, rows in enumerate(chunks):
            if kind == "jsonl":
                stream.writelines(json.dumps(row) + "\n" for row in rows)
            else:
                text = csv_text(rows)
                stream.write(text if index == 0 else text.split("\n", 1)[1])  # one header
            written += len(rows)
        if kind == "csv" and written == 0:
            stream.write(csv_text([]))
    finally:
        if out:
            stream.close()
    return written


def _write_parquet(chunks, out: Path) -> int:
    try:
        import pandas
    except ImportError:
        raise UserError("--format parquet needs pandas and pyarrow: pip install pandas pyarrow") from None
    frame = pandas.json_normalize([row for rows in chunks for row in rows])
    try:
        frame.to_parquet(out, index=False)
    except ImportError:
        raise UserError("--format parquet needs pyarrow: pip install pyarrow") from None
    except OSError as error:
        raise UserError(f"cannot write {out}: {error.strerror}") from None
    return len(frame)


def _prune(args: argparse.Namespace) -> int:
    from storemood.database.camera_table import CameraTable

    with _existing_store(args.db) as store:
        deleted = store.prune(args.older_than)
        silent = CameraTable(store.engine).prune(args.older_than)
    print(f"deleted {deleted} events older than {args.older_than:g} days; forgot {silent} cameras silent as long")
    return 0
