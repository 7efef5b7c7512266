"""SQL functions that SQLite lacks, registered on every SQLite connection storemood opens.

- ``storemood_local_bucket(start, zone, unit)``: the local hour or day of a UTC time
  (:func:`storemood.database.timezones.local_bucket`); PostgreSQL uses ``AT TIME ZONE`` instead.
- ``storemood_median(value)``: the median of a group, the mean of the two middle values when the group
  is even (what PostgreSQL's ``percentile_cont(0.5)`` gives). As an aggregate it lets a report compute
  the median dwell in the same single pass as its other figures; the portable alternative, ranking
  every row with window functions, sorts the whole table and made a report over a million events
  3.3-3.4x slower (benchmarks/RESULTS.md).
"""

from __future__ import annotations

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


def register_sqlite_functions(dbapi_connection) -> None:
    """Give a new SQLite connection ``storemood_local_bucket`` and ``storemood_median``."""
    dbapi_connection.create_function("storemood_local_bucket", 3, local_bucket, deterministic=True)
    dbapi_connection.create_aggregate("storemood_median", 1, Median)
