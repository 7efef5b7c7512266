"""Reading a time the user wrote: one rule for the command line, the API and store.yaml.

An ISO 8601 date or time without an offset is UTC; one with an offset is converted to UTC, so every time
storemood compares or stores is an aware UTC datetime.

>>> parse_utc("2026-11-01T09:00")
datetime.datetime(2026, 11, 1, 9, 0, tzinfo=datetime.timezone.utc)
>>> parse_utc("2026-11-01T10:00+01:00") == parse_utc("2026-11-01T09:00")
True
"""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive time is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_utc(text: str) -> datetime:
    """An ISO date or time (``2026-11-01``, ``2026-11-01T09:00``, with or without offset) as aware UTC.

    Raises ValueError naming the text when it is not one.
    """
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(f"not an ISO date or time: {text!r}") from None
