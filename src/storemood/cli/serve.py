"""``storemood serve``: the dashboard and REST API over an events database.

The handler checks everything a user can get wrong (database, port, token, exposure) before the server
starts, so mistakes are one line and exit status 2 rather than a server log; FastAPI and uvicorn are
imported only then.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
from pathlib import Path

from storemood.api.settings import DEFAULT_MAX_RANGE_DAYS
from storemood.cli.arguments import (
    add_engaged_after,
    add_figure_options,
    engagement_threshold,
    figure_policy,
    port,
    positive_float,
    positive_int,
)
from storemood.errors import UserError

#: How much of one request the HTTP parser buffers; larger than the app's own limits, so that the app
#: answers an oversized request with 414 or 431 instead of the parser dropping the connection.
PARSER_LIMIT_BYTES = 1 << 20


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve``."""
    parser = subparsers.add_parser(
        "serve",
        help="web dashboard and REST API",
        description="Serve the dashboard (overview, per-product and per-brand charts, comparison, live "
        "updates) at http://HOST:PORT/, the REST API under /api and its documentation at /docs. Without a "
        "token the API is open, which is allowed on loopback only: to listen on the network, set the token "
        "in $STOREMOOD_API_TOKEN or a file given with --token-file; clients then send "
        "'Authorization: Bearer <token>'.",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="events database to show, as a SQLAlchemy URL such as sqlite:///events.db "
        "(default: the SQLite file that `storemood run` and `storemood demo` write)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; 0.0.0.0 for every interface, which needs a token (default: %(default)s)",
    )
    parser.add_argument("--port", type=port, default=8000, help="TCP port to listen on (default: %(default)s)")
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="PATH",
        help="file whose first line is the API token (at least 16 characters); overrides $STOREMOOD_API_TOKEN",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let pages from this origin (e.g. https://intranet.example) call the API from a browser; "
        "repeat for several (default: none, CORS closed)",
    )
    parser.add_argument(
        "--max-range-days",
        type=positive_float,
        default=DEFAULT_MAX_RANGE_DAYS,
        metavar="DAYS",
        help="longest time range one request may cover; requests that give no `since` cover this many days "
        "(default: %(default)g)",
    )
    parser.add_argument(
        "--store",
        type=Path,
        metavar="PATH",
        help="store layout (store.yaml) whose settings apply, such as the engagement threshold",
    )
    parser.add_argument(
        "--raw-visits",
        action="store_true",
        help="also serve /api/visits: one row per visit, for your own BI tools. Off by default, because single "
        "visits are below the minimum group size that every other figure respects",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="API processes sharing the port, for many dashboard users; each keeps its own database connection "
        "pool, so N workers may hold N times its connections (docs/chain.md, 'Serving head office'; "
        "default: %(default)s)",
    )
    add_engaged_after(parser)
    add_figure_options(parser)
    parser.set_defaults(handler=_serve)


def _check_port(host: str, port: int) -> None:
    """A UserError when the port is already taken (found before the server starts)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as error:
            reason = "is already in use" if error.errno == errno.EADDRINUSE else f"cannot be used: {error.strerror}"
            raise UserError(f"{host}:{port} {reason}") from None


def _serve(args: argparse.Namespace) -> int:
    from storemood.api.settings import ApiSettings, check_exposure, read_token

    settings = ApiSettings(
        token=read_token(args.token_file),
        cors_origins=tuple(args.cors_origin),
        max_range_days=args.max_range_days,
        engagement_dwell_s=engagement_threshold(args.engaged_after, [args.store] if args.store else []),
        figures=figure_policy(args, [args.store] if args.store else []),
        raw_visits=args.raw_visits,
    )
    check_exposure(args.host, settings)
    _check_port(args.host, args.port)

    import uvicorn

    from storemood.api.app import WORKER_ENV, create_app, worker_environment
    from storemood.database.engine import open_existing

    engine = open_existing(args.db)  # a missing or unreachable database is the user's error, now
    if args.workers > 1:  # each worker builds its own app and engine from the environment
        engine.dispose()
        os.environ[WORKER_ENV] = worker_environment(args.db, settings)
        app, extra = "storemood.api.app:create_worker_app", {"factory": True, "workers": args.workers}
    else:
        app, extra = create_app(engine, settings), {}
    try:
        print(f"storemood dashboard on http://{args.host}:{args.port}/ (API docs at /docs); Ctrl-C stops it")
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level="info",
            h11_max_incomplete_event_size=PARSER_LIMIT_BYTES,  # oversized requests reach RequestLimits
            **extra,
        )
    finally:
        engine.dispose()
    return 0
