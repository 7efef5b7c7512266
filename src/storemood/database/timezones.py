"""Hour and day buckets in a store's local time, for databases that cannot convert time zones themselves.

PostgreSQL converts with ``AT TIME ZONE``; SQLite cannot, so
:func:`storemood.database.sqlite_functions.register_sqlite_functions` gives every SQLite connection
``storemood_local_bucket(start, zone, unit)``, which converts in Python with the IANA database
(``zoneinfo``, daylight-saving rules included). Results are cached per minute of input, so a million
events cost a few thousand conversions, not a million.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storemood.errors import UserError

#: strftime formats of the time buckets (``Z`` is appended to UTC hours); ``weekday_hour`` is the day of the
#: week (0 = Sunday, as SQLite's and Python's ``%w``) and the hour of the day, e.g. ``1 09`` (Monday, 09:00).
BUCKET_FORMATS = {"hour": "%Y-%m-%dT%H:00", "day": "%Y-%m-%d", "weekday_hour": "%w %H"}


@lru_cache(maxsize=256)
def check_timezone(name: str) -> ZoneInfo:
    """The zone called ``name``, or a UserError that says how zones are named.

    >>> check_timezone("Europe/Paris")
    zoneinfo.ZoneInfo(key='Europe/Paris')
    >>> check_timezone("Paris")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    storemood.errors.UserError: unknown time zone 'Paris'; use an IANA name such as UTC, Europe/Paris or ...
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(
            f"unknown time zone {name!r}; use an IANA name such as UTC, Europe/Paris or America/New_York"
        ) from None


@lru_cache(maxsize=256)
def offsets_are_multiples_of(name: str, minutes: int) -> bool:
    """Whether the zone's offset from UTC was a multiple of ``minutes`` every January and July 1970-2037, so
    that its local hours and days are unions of UTC periods that long (and roll-ups per such period serve them).

    >>> offsets_are_multiples_of("Europe/Paris", 60), offsets_are_multiples_of("Asia/Kolkata", 60)
    (True, False)
    >>> offsets_are_multiples_of("Asia/Kolkata", 15), offsets_are_multiples_of("Asia/Kathmandu", 15)
    (True, True)
    """
    zone = check_timezone(name)
    moments = (datetime(year, month, 1, tzinfo=UTC) for year in range(1970, 2038) for month in (1, 7))
    return all(moment.astimezone(zone).utcoffset().total_seconds() % (60 * minutes) == 0 for moment in moments)


@lru_cache(maxsize=65_536)
def _local_bucket(minute: str, zone: str, unit: str) -> str:
    moment = datetime.fromisoformat(minute).replace(tzinfo=UTC).astimezone(check_timezone(zone))
    return moment.strftime(BUCKET_FORMATS[unit])


def local_bucket(stored: str | None, zone: str, unit: str) -> str | None:
    """The local hour or day of a UTC time as SQLite stores it (``2026-11-22 09:30:00.000000``).

    >>> local_bucket("2026-11-22 23:30:00.000000", "Europe/Paris", "hour"), local_bucket(None, "UTC", "day")
    ('2026-11-23T00:00', None)
    """
    return None if stored is None else _local_bucket(stored[:16], zone, unit)
