"""Schemathesis hooks for `test_api_contract.py`: what a schema cannot say, and a bounded run.

A JSON schema describes each query parameter on its own, so it cannot say that `since` must be earlier than
`until` or that the range may span at most the server's `max_range_days`; the API's description states both,
and the server answers 422 when a request breaks one (`test_api.py` checks that). Schemathesis cannot read a
description, so `map_case` moves a generated `since` that breaks a rule to one day before the range's end:
every other generated value, valid or not, reaches the server as generated.

The coverage phase sends every value of every enum; `tz` lists all of the ~600 IANA zones, which would make
nine requests in ten. `filter_case` keeps every 40th zone and UTC, so the run stays bounded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import schemathesis

from storemood.api.params import TimeZone
from storemood.api.settings import DEFAULT_MAX_RANGE_DAYS
from storemood.times import as_utc

SAMPLED_ZONES = frozenset({"UTC", *list(TimeZone)[::40]})


def _moment(value) -> datetime | None:
    """A generated query value as an aware UTC time, None when it is missing or not one."""
    if not isinstance(value, str):
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        return None


@schemathesis.hook
def filter_case(_context, case) -> bool:
    phase = case.meta.phase
    varies_zone = phase.name == "coverage" and phase.data.parameter == "tz" and case.meta.generation.mode == "positive"
    return not varies_zone or case.query.get("tz") in SAMPLED_ZONES


@schemathesis.hook
def map_case(_context, case):
    query = case.query
    if not isinstance(query, dict):
        return case
    since, until = _moment(query.get("since")), _moment(query.get("until"))
    end = until or datetime.now(UTC)
    if since is not None and (since >= end or end - since > timedelta(days=DEFAULT_MAX_RANGE_DAYS)):
        try:
            query["since"] = (end - timedelta(days=1)).isoformat()
        except OverflowError:  # a range ending in the first day of year 1: let the server choose `since`
            del query["since"]
    return case
