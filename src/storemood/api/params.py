"""Query parameters shared by the endpoints: event filters with a bounded time range, paging, sorting.

Every constraint that one parameter carries on its own is in its type, so ``/openapi.json`` states it and
FastAPI answers a request that breaks it with 422 naming the field: value lengths and counts, page bounds,
time zones and sort fields (enums). The two rules that tie parameters together and that a JSON schema
cannot state (``since`` before ``until``, the range limit) are checked here and raise the same kind of
error through :func:`invalid`; the API description names them.
"""

import enum
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator, StringConstraints

from storemood.analytics.queries import Filters
from storemood.times import as_utc

#: Rows per page when the client does not say, and the most it may ask for.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_OFFSET = 10_000_000
#: Most values one filter may list, and the longest value (the database columns hold 200 characters).
MAX_FILTER_VALUES = 50
MAX_VALUE_LENGTH = 200
#: The longest query string a request within these limits can need: all five filters (store, camera, zone,
#: product, brand) full of the longest values, each character percent-encoded as four UTF-8 bytes (12
#: characters), plus room for the other parameters. The app accepts request targets this long.
LONGEST_QUERY_BYTES = 5 * MAX_FILTER_VALUES * (len("&product=") + 12 * MAX_VALUE_LENGTH) + 8192
#: Bounds beyond what a datetime holds in UTC (year 1 with a positive offset, year 9999 with a negative one)
#: are moved to these; no visit lies beyond them.
EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)

Format = Literal["json", "csv"]
FilterValues = Annotated[
    list[Annotated[str, StringConstraints(max_length=MAX_VALUE_LENGTH)]] | None,
    Query(max_length=MAX_FILTER_VALUES, description="only these values (repeat for several)"),
]
#: The IANA time zones this server knows, one schema component listing them all (rather than one copy per
#: endpoint): a client can tell a valid ``tz`` from the schema alone.
TimeZone = enum.StrEnum("TimeZone", {name: name for name in sorted(zoneinfo.available_timezones())})


def _iso(value: object) -> object:
    """The time an ISO 8601 text names; pydantic alone would also read a number as Unix time, which the
    schema's ``date-time`` does not allow."""
    if not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO 8601 date or time") from None


Moment = Annotated[datetime, BeforeValidator(_iso)]


def invalid(field: str, message: str) -> RequestValidationError:
    """A 422 error about one query parameter, shaped like FastAPI's own validation errors."""
    return RequestValidationError([{"loc": ("query", field), "msg": message, "type": "value_error"}])


def event_filters(
    request: Request,
    since: Annotated[
        Moment | None,
        Query(
            description="visits starting at or after this time (ISO 8601; UTC unless an offset is given); "
            "default: the longest allowed range before `until`"
        ),
    ] = None,
    until: Annotated[
        Moment | None, Query(description="visits starting before this time (ISO 8601); default: no end")
    ] = None,
    store: FilterValues = None,
    camera: FilterValues = None,
    zone: FilterValues = None,
    product: FilterValues = None,
    brand: FilterValues = None,
    tz: Annotated[
        TimeZone, Query(description="IANA time zone in which hour and day buckets are read, e.g. Europe/Paris")
    ] = TimeZone.UTC,
) -> Filters:
    """The events a request asks about; the time range may span at most the server's ``max_range_days``."""
    max_days = request.app.state.settings.max_range_days
    since, until = (None if moment is None else _in_utc(moment) for moment in (since, until))
    end = until or datetime.now(UTC)
    if since is None:
        since = _days_before(end, max_days)
    elif until is not None and since >= until:
        raise invalid("until", "must be later than since")
    if end - since > timedelta(days=max_days):
        raise invalid("since", f"the time range may span at most {max_days:g} days")
    return Filters(
        timezone=tz.value,
        stores=tuple(store or ()),
        cameras=tuple(camera or ()),
        zones=tuple(zone or ()),
        products=tuple(product or ()),
        brands=tuple(brand or ()),
        since=since,
        until=until,
    )


def _in_utc(moment: datetime) -> datetime:
    try:
        return as_utc(moment)
    except OverflowError:
        return EARLIEST if moment.year == datetime.min.year else LATEST


def _days_before(moment: datetime, days: float) -> datetime:
    try:
        return moment - timedelta(days=days)
    except OverflowError:
        return EARLIEST


@dataclass(frozen=True)
class Page:
    """Which slice of a table to return, in which order, in which format."""

    offset: int
    limit: int
    sort: str | None
    format: Format


def page(
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="rows to return")] = DEFAULT_PAGE_SIZE,
    format: Annotated[Format, Query(description="`json` or `csv` (a download of the same rows)")] = "json",
) -> Page:
    """A page in the table's own order (the dependency of tables that cannot be sorted)."""
    return Page(offset, limit, None, format)


def sorted_page(fields: tuple[str, ...]) -> Callable[..., Page]:
    """The page dependency of a table sortable by ``fields``: its ``sort`` is an enum of every field and
    its descending ``-field``, so the schema lists exactly the sorts the table takes."""
    sort_type = Literal[tuple(name for field in fields for name in (field, f"-{field}"))]

    def sorted_by(
        base: Annotated[Page, Depends(page)],
        sort: Annotated[
            sort_type | None,
            Query(
                description="field to sort by; a leading `-` sorts descending. Rows without a value in that field "
                "(suppressed groups, or a grouping the rows do not have) come last (default: the table's "
                "natural order)"
            ),
        ] = None,
    ) -> Page:
        return replace(base, sort=sort)

    return sorted_by


def _field(row: dict, path: str):
    """The value at ``path`` (``visits``, ``shares.happy``) of ``row``; None where the row has none."""
    value = row
    for part in path.split("."):
        if value is None:
            return None
        value = value.get(part)
    return value


def paginate(rows: list[dict], chosen: Page) -> dict:
    """``{"rows", "total", "offset", "limit", "sort"}`` of ``rows`` sorted by ``chosen.sort``; rows without a
    value in that field keep their order, last either way."""
    if chosen.sort is not None:
        field = chosen.sort.removeprefix("-")
        shown = [row for row in rows if _field(row, field) is not None]
        hidden = [row for row in rows if _field(row, field) is None]
        rows = sorted(shown, key=lambda row: _field(row, field), reverse=chosen.sort.startswith("-")) + hidden
    return {
        "rows": rows[chosen.offset : chosen.offset + chosen.limit],
        "total": len(rows),
        "offset": chosen.offset,
        "limit": chosen.limit,
        "sort": chosen.sort,
    }
