"""Query parameters shared by the endpoints: event filters with a bounded time range, paging, sorting.

Every parameter is typed, so FastAPI answers malformed input with 422 naming the field; the checks that
need more than one field (``since`` before ``until``, the range limit, a known sort field) raise the same
kind of error through :func:`invalid`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import Query, Request
from fastapi.exceptions import RequestValidationError

from storemood.analytics.queries import Filters
from storemood.database.timezones import check_timezone
from storemood.errors import UserError
from storemood.times import as_utc

#: Rows per page when the client does not say, and the most it may ask for.
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
#: Most values one filter may list, and the longest value (the database columns hold 200 characters).
MAX_FILTER_VALUES = 50
MAX_VALUE_LENGTH = 200

Format = Literal["json", "csv"]
FilterValues = Annotated[
    list[str] | None, Query(max_length=MAX_FILTER_VALUES, description="only these values (repeat for several)")
]


def invalid(field: str, message: str) -> RequestValidationError:
    """A 422 error about one query parameter, shaped like FastAPI's own validation errors."""
    return RequestValidationError([{"loc": ("query", field), "msg": message, "type": "value_error"}])


def _values(field: str, values: list[str] | None) -> tuple[str, ...]:
    for value in values or ():
        if len(value) > MAX_VALUE_LENGTH:
            raise invalid(field, f"values may be at most {MAX_VALUE_LENGTH} characters long")
    return tuple(values or ())


def event_filters(
    request: Request,
    since: Annotated[
        datetime | None,
        Query(
            description="visits starting at or after this time (ISO 8601; UTC unless an offset is given); "
            "default: the longest allowed range before `until`"
        ),
    ] = None,
    until: Annotated[
        datetime | None, Query(description="visits starting before this time (ISO 8601); default: no end")
    ] = None,
    store: FilterValues = None,
    camera: FilterValues = None,
    zone: FilterValues = None,
    product: FilterValues = None,
    brand: FilterValues = None,
    tz: Annotated[
        str,
        Query(
            max_length=64,
            description="IANA time zone in which hour and day buckets are read, e.g. Europe/Paris (default UTC)",
        ),
    ] = "UTC",
) -> Filters:
    """The events a request asks about; the time range may span at most the server's ``max_range_days``."""
    max_days = request.app.state.settings.max_range_days
    since, until = (None if moment is None else as_utc(moment) for moment in (since, until))
    end = until or datetime.now(UTC)
    if since is None:
        since = end - timedelta(days=max_days)
    if until is not None and since >= until:
        raise invalid("until", "must be later than since")
    if end - since > timedelta(days=max_days):
        raise invalid("since", f"the time range may span at most {max_days:g} days")
    try:
        check_timezone(tz)
    except UserError as error:
        raise invalid("tz", str(error)) from None
    return Filters(
        timezone=tz,
        stores=_values("store", store),
        cameras=_values("camera", camera),
        zones=_values("zone", zone),
        products=_values("product", product),
        brands=_values("brand", brand),
        since=since,
        until=until,
    )


@dataclass(frozen=True)
class Page:
    """Which slice of a table to return, in which order, in which format."""

    offset: int
    limit: int
    sort: str | None
    format: Format


def page(
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="rows to return")] = DEFAULT_PAGE_SIZE,
    sort: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=r"^-?[a-z_]+(\.[a-z_]+)?$",
            description="field to sort by, e.g. `visits`, `valence` or `shares.happy`; a leading `-` sorts "
            "descending (default: the table's natural order)",
        ),
    ] = None,
    format: Annotated[Format, Query(description="`json` or `csv` (a download of the same rows)")] = "json",
) -> Page:
    return Page(offset, limit, sort, format)


def _field(row: dict, path: str):
    value = row
    for part in path.split("."):
        if value is None:
            return None
        value = value[part]
    return value


def paginate(rows: list[dict], chosen: Page, sortable: tuple[str, ...]) -> dict:
    """``{"rows", "total", "offset", "limit", "sort"}`` of ``rows`` sorted by a field listed in ``sortable``."""
    if chosen.sort is not None:
        field = chosen.sort.removeprefix("-")
        if field not in sortable:
            raise invalid("sort", f"cannot sort by {field!r}; choose one of {', '.join(sortable)}")
        shown = [row for row in rows if _field(row, field) is not None]
        hidden = [row for row in rows if _field(row, field) is None]  # suppressed groups: last either way
        rows = sorted(shown, key=lambda row: _field(row, field), reverse=chosen.sort.startswith("-")) + hidden
    return {
        "rows": rows[chosen.offset : chosen.offset + chosen.limit],
        "total": len(rows),
        "offset": chosen.offset,
        "limit": chosen.limit,
        "sort": chosen.sort,
    }
