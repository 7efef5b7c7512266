"""Options and argument types that several commands share, defined once so that they read and behave alike.

Only light modules are imported here (``storemood --help`` stays instant); store layouts are read inside the
functions that need them.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from storemood.defaults import ENGAGEMENT_DWELL_S, MIN_GROUP, MIN_VISITS, SHARES_METHOD, SHARES_METHODS
from storemood.errors import UserError
from storemood.times import parse_utc


def utc_time(text: str) -> datetime:
    """Argument type for ``--since``, ``--until`` and ``--start-time``: see :func:`storemood.times.parse_utc`."""
    try:
        return parse_utc(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _number(text: str, kind: type, accept, rule: str):
    """Parse ``text`` as ``kind`` and refuse NaN, infinity and values outside ``rule`` (argparse prints one line)."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")) or not accept(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be {rule}")
    return value


def non_negative_float(text: str) -> float:
    """Argument type for durations and thresholds that may be zero: finite and >= 0."""
    return _number(text, float, lambda value: value >= 0, "a finite number >= 0")


def positive_float(text: str) -> float:
    """Argument type for rates and spans where zero means nothing: finite and > 0."""
    return _number(text, float, lambda value: value > 0, "a finite number > 0")


def probability(text: str) -> float:
    """Argument type for scores and thresholds on a 0..1 scale."""
    return _number(text, float, lambda value: 0 <= value <= 1, "a number from 0 to 1")


def non_negative_int(text: str) -> int:
    """Argument type for counts that may be zero."""
    return _number(text, int, lambda value: value >= 0, "a whole number >= 0")


def positive_int(text: str) -> int:
    """Argument type for counts and sizes that must be at least one."""
    return _number(text, int, lambda value: value > 0, "a whole number > 0")


def add_engaged_after(parser: argparse.ArgumentParser) -> None:
    """The engagement threshold option, shared by ``report`` and ``serve`` so both count visits alike."""
    parser.add_argument(
        "--engaged-after",
        type=non_negative_float,
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
        return given
    from storemood.config import load_store

    thresholds = {load_store(path).settings.engagement_dwell_s for path in layouts}
    if len(thresholds) > 1:
        found = ", ".join(f"{value:g}" for value in sorted(thresholds))
        raise UserError(f"the store layouts disagree on settings.engagement_dwell_s ({found}); give --engaged-after")
    return thresholds.pop() if thresholds else ENGAGEMENT_DWELL_S


def add_figure_options(parser: argparse.ArgumentParser) -> None:
    """Minimum sample, minimum group size and shares method, shared by ``report``, ``compare`` and ``serve``."""
    parser.add_argument(
        "--min-visits",
        type=non_negative_int,
        metavar="N",
        help=f"groups with fewer visits are greyed as 'too few visits' and never ranked (default: "
        f"settings.min_visits of the store.yaml given with --store, else {MIN_VISITS})",
    )
    parser.add_argument(
        "--min-group",
        type=non_negative_int,
        metavar="K",
        help=f"groups with fewer visits show no figure at all (k-anonymity; default: "
        f"settings.min_group of the store.yaml given with --store, else {MIN_GROUP})",
    )
    parser.add_argument(
        "--shares",
        choices=SHARES_METHODS,
        help="how emotion shares are estimated: count (top emotion of each visit), calibrated (mean calibrated "
        f"probabilities) or adjusted (count corrected by the model's confusion matrix; default: "
        f"settings.shares of the store.yaml given with --store, else {SHARES_METHOD})",
    )


def figure_policy(args: argparse.Namespace, layouts: Iterable[Path] = ()):
    """The options of :func:`add_figure_options`; each not given comes from the store layouts' settings (which
    must agree), else the default."""
    from storemood.analytics.policy import FigurePolicy
    from storemood.config import load_store

    settings = [load_store(path).settings for path in layouts]
    chosen = {}
    for name, option in (("min_visits", "--min-visits"), ("min_group", "--min-group"), ("shares", "--shares")):
        given = getattr(args, name)
        if given is None:
            found = {getattr(item, name) for item in settings}
            if len(found) > 1:
                raise UserError(f"the store layouts disagree on settings.{name}; give {option}")
            given = found.pop() if found else None
        if given is not None:
            chosen[name] = given
    return FigurePolicy(**chosen)
