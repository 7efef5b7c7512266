"""Options and argument types that several commands share, defined once so that they read and behave alike.

Only light modules are imported here (``storemood --help`` stays instant); store layouts are read inside the
functions that need them.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from storemood.defaults import ENGAGEMENT_DWELL_S
from storemood.errors import UserError
from storemood.times import parse_utc


def utc_time(text: str) -> datetime:
    """Argument type for ``--since``, ``--until`` and ``--start-time``: see :func:`storemood.times.parse_utc`."""
    try:
        return parse_utc(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_engaged_after(parser: argparse.ArgumentParser) -> None:
    """The engagement threshold option, shared by ``report`` and ``serve`` so both count visits alike."""
    parser.add_argument(
        "--engaged-after",
        type=float,
        metavar="SECONDS",
        help="a visit this long or longer counts as engaged (default: settings.engagement_dwell_s of the "
        f"store.yaml given with --store, else {ENGAGEMENT_DWELL_S:g})",
    )


def is_layout_file(value: str | Path) -> bool:
    """True for a store.yaml path (as opposed to a store id)."""
    return str(value).lower().endswith((".yaml", ".yml"))


def engagement_threshold(given: float | None, layouts: Iterable[Path]) -> float:
    """``--engaged-after`` when given, else the store layouts' ``settings.engagement_dwell_s``, else the default.

    Layouts that disagree need ``--engaged-after``: one report counts engagement one way.
    """
    if given is not None:
        if given < 0:
            raise UserError("--engaged-after must not be negative")
        return given
    from storemood.config import load_store

    thresholds = {load_store(path).settings.engagement_dwell_s for path in layouts}
    if len(thresholds) > 1:
        found = ", ".join(f"{value:g}" for value in sorted(thresholds))
        raise UserError(f"the store layouts disagree on settings.engagement_dwell_s ({found}); give --engaged-after")
    return thresholds.pop() if thresholds else ENGAGEMENT_DWELL_S
