"""SQL functions that SQLite lacks, registered on every SQLite connection storemood opens.

- ``storemood_local_bucket(start, zone, unit)``: the local hour or day of a UTC time
  (:func:`storemood.database.timezones.local_bucket`); PostgreSQL uses ``AT TIME ZONE`` instead.
- ``storemood_median(value)``: the median of a group, the mean of the two middle values when the group
  is even (what PostgreSQL's ``percentile_cont(0.5)`` gives). As an aggregate it lets a report compute
  the median dwell in the same single pass as its other figures; the portable alternative, ranking
  every row with window functions, sorts the whole table and made a report over a million events
  3.3-3.4x slower (benchmarks/RESULTS.md).
- ``storemood_median_low(value)`` and ``storemood_median_high(value)``: the order statistics that bound
  the median's 95% interval (:func:`median_interval_ranks`); PostgreSQL indexes the group's sorted
  ``array_agg`` with the same ranks.
"""

from __future__ import annotations

import math
import statistics

from storemood.database.timezones import local_bucket


class Median:
    """SQLite aggregate: collects a group's non-NULL values, returns their median (NULL for none)."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return statistics.median(self.values) if self.values else None


#: Two-sided 95% normal quantile (scipy.stats.norm.ppf(0.975)); written out so storage needs no scipy.
Z95 = 1.959963984540054


def median_interval_ranks(count: int) -> tuple[int, int]:
    """1-based ranks ``(l, u)`` of the sorted values that bound a 95% interval of the median of ``count``.

    Conover's normal approximation to the binomial, rounded outwards: ``l = floor(n/2 - z·sqrt(n)/2)``,
    ``u = ceil(n/2 + 1 + z·sqrt(n)/2)``, kept within 1..n. Its coverage is at least 95% from 6 values
    up (tests check it against the exact binomial); below that the whole range is the best there is.
    PostgreSQL evaluates the same expression in SQL (``storemood.analytics.queries``).
    """
    half = Z95 * math.sqrt(count) / 2
    return max(1, math.floor(count / 2 - half)), min(count, math.ceil(count / 2 + 1 + half))


class MedianBound(Median):
    """SQLite aggregate: the lower (``side = -1``) or upper (``side = 1``) bound of the median's interval."""

    def __init__(self, side: int) -> None:
        super().__init__()
        self.side = side

    def finalize(self) -> float | None:
        if not self.values:
            return None
        low, high = median_interval_ranks(len(self.values))
        return sorted(self.values)[(low if self.side < 0 else high) - 1]


def register_sqlite_functions(dbapi_connection) -> None:
    """Give a new SQLite connection ``storemood_local_bucket``, ``storemood_median`` and its bounds."""
    dbapi_connection.create_function("storemood_local_bucket", 3, local_bucket, deterministic=True)
    dbapi_connection.create_aggregate("storemood_median", 1, Median)
    dbapi_connection.create_aggregate("storemood_median_low", 1, lambda: MedianBound(-1))
    dbapi_connection.create_aggregate("storemood_median_high", 1, lambda: MedianBound(1))
