"""The ``storemood`` command: one entry point, one module per area registering its sub-commands.

Each area module (``cli/training.py``, ``cli/vision.py``, ...) exposes ``register(subparsers)`` and keeps
its handlers thin: parse, call a package function, print. Heavy imports happen inside handlers so that
``storemood --help`` stays instant. The one package that may import every other; within storemood only ``__main__``
imports it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from storemood import __version__
from storemood.cli import analytics, serve, simulate, training, vision
from storemood.cli.examples import add_examples
from storemood.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UserError, first_line


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line (plus a hint) and exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n(see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="storemood",
        description=(
            "How shoppers react to products and brands: finds faces in store camera video, follows each "
            "shopper, reads facial expressions with a shipped ONNX model, maps them to shelf zones and "
            "aggregates anonymous visit events per product, brand, zone and hour. "
            "Start with `storemood demo`."
        ),
        epilog="Exit status: 0 success, 2 bad usage or bad input, 1 anything else. "
        "Set STOREMOOD_DEBUG=1 to see tracebacks.",
    )
    parser.add_argument("--version", action="version", version=f"storemood {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for area in (vision, analytics, serve, simulate, training):
        area.register(subparsers)
    add_examples(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.handler(args) or EXIT_OK)
    except UserError as error:
        print(f"storemood {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"storemood {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `storemood report | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_OK
    except Exception as error:  # the last line of defence: one line, not a traceback
        if os.environ.get("STOREMOOD_DEBUG"):
            raise
        print(f"storemood {args.command}: failed: {type(error).__name__}: {first_line(error)}", file=sys.stderr)
        return EXIT_FAILURE
