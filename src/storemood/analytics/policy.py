"""How figures are estimated and when they are shown: the minimum sample, the minimum group size (k) and
the quantification method for emotion shares.

The defaults live in :mod:`storemood.defaults`, beside the product's other settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from storemood.defaults import MIN_GROUP, MIN_VISITS
from storemood.defaults import SHARES_METHOD as DEFAULT_METHOD
from storemood.defaults import SHARES_METHODS as METHODS
from storemood.defaults import SharesMethod as Method
from storemood.errors import UserError

__all__ = ["DEFAULT_METHOD", "METHODS", "MIN_GROUP", "MIN_VISITS", "FigurePolicy", "Method"]


@dataclass(frozen=True)
class FigurePolicy:
    """``min_visits``: the minimum sample for a group to be ranked (``enough_visits``); ``min_group`` (k):
    groups with fewer visits are suppressed, every figure but their visit count None; ``shares``: the
    quantification method (:mod:`storemood.analytics.quantification`)."""

    min_visits: int = MIN_VISITS
    min_group: int = MIN_GROUP
    shares: Method = DEFAULT_METHOD

    def __post_init__(self) -> None:
        if self.shares not in METHODS:
            raise UserError(f"unknown shares method {self.shares!r}; choose one of {', '.join(METHODS)}")
        if self.min_visits < 1 or self.min_group < 1:
            raise UserError("the minimum sample and the minimum group size must be at least 1 visit")
