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


def fraction(text: str) -> float:
    """Argument type for shares that may be zero but never the whole: 0 <= value < 1 (``--holdout``, ``--ema``)."""
    return _number(text, float, lambda value: 0 <= value < 1, "a number from 0 up to, not including, 1")


def factor(text: str) -> float:
    """Argument type for multipliers that must shrink what they scale: 0 < value < 1 (``--plateau-factor``)."""
    return _number(text, float, lambda value: 0 < value < 1, "a number between 0 and 1, both excluded")


def angle(text: str) -> float:
    """Argument type for a head-turn limit in degrees: 0..90."""
    return _number(text, float, lambda value: 0 <= value <= 90, "a number of degrees from 0 to 90")


def port(text: str) -> int:
    """Argument type for a TCP port to listen on: 1..65535."""
    return _number(text, int, lambda value: 1 <= value <= 65535, "a port number from 1 to 65535")


def output_format(given: str | None, out: Path | None, suffixes: dict[str, tuple[str, ...]], default: str) -> str:
    """The format of a command's output: ``--format`` when given, else the one ``--out``'s extension names, else
    ``default``. An ``--out`` that is a folder, has an unknown extension or one that contradicts ``--format`` is
    refused, so a file never ends up holding something other than its name says.

    >>> output_format(None, Path("visits.parquet"), {"csv": (".csv",), "parquet": (".parquet",)}, "csv")
    'parquet'
    """
    if out is None:
        return given or default
    if out.is_dir():
        raise UserError(f"--out {out} is a folder; give a file name")
    suffix = out.suffix.lower()
    named = next((name for name, known in suffixes.items() if suffix in known), None)
    if named is None:
        known = ", ".join(ext for exts in suffixes.values() for ext in exts)
        raise UserError(f"--out {out.name}: unknown extension {suffix or '(none)'}; use one of {known}")
    if given is not None and given != named:
        raise UserError(f"--out {out.name} is a {named} name but --format is {given}: use {suffixes[given][0]}")
    return named


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
