"""The ``/api`` endpoints: thin wrappers around :mod:`storemood.analytics.queries`.

No SQL is written here: every figure comes from the analytics layer (parameterised SQLAlchemy
statements), so the API, ``storemood report`` and the HTML report always agree. Tables are sorted and
paged here because the analytics layer returns one row per group (products, hours), never per event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.engine import Engine

from storemood import defaults
from storemood.analytics import queries, significance
from storemood.analytics.policy import FigurePolicy
from storemood.analytics.queries import Filters
from storemood.analytics.report import HOURLY_UP_TO_DAYS, MAX_SERIES
from storemood.analytics.rows import Compared, Dimension, csv_text
from storemood.api import models
from storemood.api.params import MAX_PAGE_SIZE, Page, event_filters, invalid, page, paginate, sorted_page
from storemood.database.camera_table import CameraTable
from storemood.emotions import EMOTION_COLORS, FER7, NEGATIVE, POSITIVE
from storemood.errors import UserError

Series = Literal["product", "brand", "zone", "camera", "store"]
FiltersParam = Annotated[Filters, Depends(event_filters)]

_FIGURES = ("brand", "store", "product_name", "visits", "engaged", "engagement", "dwell_total_s", "dwell_median_s")
AGGREGATE_SORTS = (
    *_FIGURES,
    "enough_visits",
    "valence",
    *(f"shares.{name}" for name in FER7),
    *(f"probabilities.{name}" for name in FER7),
)
LISTING_SORTS = ("id", "visits", "name", "brand", "store")
SERIES = get_args(Series)
#: Aggregate tables sort by any grouping's key (rows of another grouping lack it: natural order, see
#: :func:`storemood.api.params.paginate`) or any figure.
AggregatePage = Annotated[Page, Depends(sorted_page(tuple(dict.fromkeys((*get_args(Dimension), *AGGREGATE_SORTS)))))]
ListingPage = Annotated[Page, Depends(sorted_page(LISTING_SORTS))]
ValencePage = Annotated[Page, Depends(sorted_page(("time", *SERIES, "visits", "valence")))]
DwellPage = Annotated[Page, Depends(sorted_page(SERIES))]
PlainPage = Annotated[Page, Depends(page)]

#: Endpoints that show data (the app puts its token check on these).
router = APIRouter(prefix="/api")
#: Endpoints anyone may call: they show no data.
public = APIRouter(prefix="/api")


INVALID = "a parameter is invalid; `message` names it"
#: A table's 200 answer with ``format=csv``: the same rows as a CSV download.
CSV = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}


def errors(described: dict[int, str]) -> dict:
    """OpenAPI ``responses`` for the errors an endpoint answers itself (code → when), with their bodies; the
    app adds those of its token check, its request limits and a lost database
    (:func:`storemood.api.app.create_app`)."""
    return {
        code: {"model": models.ValidationProblemOut if code == 422 else models.ErrorOut, "description": when}
        for code, when in described.items()
    }


def _get(
    path: str, model: type, summary: str, tag: str = "analytics", fails: dict[int, str] | None = None, csv: bool = True
) -> Callable:
    """Register a GET data endpoint whose JSON body ``model`` documents and validates, answering the errors
    ``fails`` (default: 422 for a bad parameter) and, when ``csv``, CSV with ``format=csv``."""
    responses = errors({422: INVALID} if fails is None else fails) | (CSV if csv else {})
    return router.get(path, tags=[tag], response_model=model, responses=responses, summary=summary)


def engine(request: Request) -> Engine:
    """The app's database engine (opened once by :func:`storemood.api.app.create_app`)."""
    return request.app.state.engine


def engagement_dwell_s(request: Request) -> float:
    return request.app.state.settings.engagement_dwell_s


def figure_policy(request: Request) -> FigurePolicy:
    return request.app.state.settings.figures


EngineParam = Annotated[Engine, Depends(engine)]
EngagementParam = Annotated[float, Depends(engagement_dwell_s)]
PolicyParam = Annotated[FigurePolicy, Depends(figure_policy)]
ExactParam = Annotated[
    bool,
    Query(description="compute every figure from the raw visits (exact medians) instead of the roll-ups"),
]


def table(rows: list[dict], chosen: Page, name: str, **extra) -> dict | Response:
    """A sorted page of ``rows``: JSON (with ``extra`` fields) or, with ``format=csv``, a CSV download."""
    body = paginate(rows, chosen)
    if chosen.format == "csv":
        return csv_download(body["rows"], name)
    return {**extra, **body}


def csv_download(rows: list[dict], name: str) -> Response:
    """``rows`` as a CSV file download called ``name``.csv."""
    return Response(
        csv_text(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@public.get(
    "/health", tags=["service"], response_model=models.HealthOut, summary="Liveness check (no token needed, no data)"
)
def health() -> dict:
    return {"status": "ok"}


@public.get("/meta", tags=["service"], response_model=models.MetaOut, summary="Names, colours and limits")
def meta(request: Request) -> dict:
    """What a client needs to draw like the reports (no token needed, no data): the emotions in row order,
    the one colour of each (as in the annotated video and the report charts), and the server's limits."""
    settings = request.app.state.settings
    return {
        "emotions": list(FER7),
        "colors": EMOTION_COLORS,
        "positive": [name for name in FER7 if name in POSITIVE],
        "negative": [name for name in FER7 if name in NEGATIVE],
        "max_page_size": MAX_PAGE_SIZE,
        "max_range_days": settings.max_range_days,
        "max_series": MAX_SERIES,
        "hourly_up_to_days": HOURLY_UP_TO_DAYS,
        "engagement_dwell_s": settings.engagement_dwell_s,
    }


@_get("/status", models.StatusOut, "Change marker for live pages", tag="service", fails={}, csv=False)
def status(bind: EngineParam) -> dict:
    events, marker = queries.change_marker(bind)
    return {"events": events, "marker": marker}


def _listing(kind: str, lister: Callable[[Engine, Filters], list[queries.Listed]]) -> None:
    """A listing endpoint for stores, cameras, zones, products or brands."""

    def endpoint(bind: EngineParam, filters: FiltersParam, chosen: ListingPage) -> dict | Response:
        rows = [asdict(item) for item in lister(bind, filters)]
        return table(rows, chosen, kind)

    endpoint.__name__ = f"list_{kind}"
    endpoint.__doc__ = f"The {kind} that have visits in the chosen range, with their visit counts."
    _get(f"/{kind}", models.ListingOut, f"List {kind}", tag="listings")(endpoint)


for _kind, _lister in (
    ("stores", queries.list_stores),
    ("zones", queries.list_zones),
    ("products", queries.list_products),
    ("brands", queries.list_brands),
):
    _listing(_kind, _lister)


@_get("/cameras", models.CamerasOut, "List cameras, with their health, stills and zones", tag="cameras")
def list_cameras(request: Request, bind: EngineParam, filters: FiltersParam, chosen: ListingPage) -> dict | Response:
    """`rows`: the cameras that have visits in the chosen range, with their visit counts (as the other
    listings; `format=csv` downloads them). `cameras`: every camera that has sent a heartbeat (of the
    `store` and `camera` filters, whatever the time range), each with its status, counters, still and zones."""
    rows = [asdict(item) for item in queries.list_cameras(bind, filters)]
    body = table(rows, chosen, "cameras")
    if isinstance(body, Response):
        return body
    now = datetime.now(UTC)
    health = CameraTable(bind).cameras(filters.stores, filters.cameras)
    return {
        **body,
        "cameras": [_camera(request, row, now) for row in health],
        "heartbeat_s": defaults.HEARTBEAT_S,
        "stale_after_s": defaults.CAMERA_STALE_AFTER_S,
        "down_after_s": defaults.CAMERA_DOWN_AFTER_S,
    }


def camera_status(heartbeat_at: datetime, now: datetime) -> str:
    """live, stale or down, by the age of a camera's last heartbeat.

    >>> from datetime import timedelta
    >>> now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    >>> [camera_status(now - timedelta(seconds=s), now) for s in (5, 60, 3600)]
    ['live', 'stale', 'down']
    """
    age = (now - heartbeat_at).total_seconds()
    if age <= defaults.CAMERA_STALE_AFTER_S:
        return "live"
    return "stale" if age <= defaults.CAMERA_DOWN_AFTER_S else "down"


def _camera(request: Request, row: dict, now: datetime) -> dict:
    """One camera's entry of ``/api/cameras`` from its heartbeat row (and its still's metadata)."""
    taken = row["still_taken_at"]
    still_url = None
    if taken is not None:  # the time in the URL makes a new still a new URL for caches
        path = request.app.url_path_for("camera_still", store=row["store"], camera=row["camera"])
        still_url = f"{path}?t={int(taken.timestamp())}"
    times = ("heartbeat_at", "run_started_at", "last_frame")
    return {
        **{name: value for name, value in row.items() if not name.startswith("still_")},
        **{name: row[name].isoformat() for name in times},
        "status": camera_status(row["heartbeat_at"], now),
        "still_url": still_url,
        "still_taken_at": _iso(taken),
        "width": row["still_width"],
        "height": row["still_height"],
    }


@router.get(
    "/cameras/{store}/{camera}/still.jpg",
    tags=["cameras"],
    summary="A camera's still: the median of frames kept over time, which shows no shopper",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}, "description": "the JPEG"},
        **errors({404: "the camera has no still yet", 422: INVALID}),
    },
)
def camera_still(
    store: Annotated[str, Path(max_length=64)], camera: Annotated[str, Path(max_length=64)], bind: EngineParam
) -> Response:
    """The camera's latest still as written by `storemood run` (per-pixel median of frames taken over time,
    face regions left out); 404 when it has none (`--no-still`, or too few frames kept yet)."""
    still = CameraTable(bind).still(store, camera)
    if still is None:
        raise HTTPException(status_code=404, detail=f"no still of camera {camera!r} of store {store!r} yet")
    return Response(still.jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, no-cache"})


@_get("/aggregates/{by}", models.AggregateTableOut, "Reactions per product, brand, zone, camera, store, hour or day")
def aggregates(
    by: Annotated[Dimension, Path(description="what one row is")],
    bind: EngineParam,
    filters: FiltersParam,
    chosen: AggregatePage,
    engaged_after: EngagementParam,
    policy: PolicyParam,
    exact: ExactParam = False,
) -> dict | Response:
    """Rows as in `storemood report --format json`: visits, median dwell, emotion shares, valence, their 95%
    intervals and `enough_visits`; a group under the minimum group size has `suppressed: true` and no figures."""
    rows = [row.to_dict(by) for row in queries.aggregate(bind, by, filters, engaged_after, policy, exact)]
    return table(rows, chosen, f"aggregates-{by}", by=by, **_policy_fields(policy))


def _policy_fields(policy: FigurePolicy) -> dict:
    return {"min_visits": policy.min_visits, "min_group": policy.min_group, "shares_method": policy.shares}


@_get("/overview", models.OverviewOut, "The period at a glance", csv=False)
def overview(
    bind: EngineParam,
    filters: FiltersParam,
    engaged_after: EngagementParam,
    policy: PolicyParam,
    top: Annotated[int, Query(ge=1, le=20, description="how many best and worst products to list")] = 3,
    exact: ExactParam = False,
) -> dict:
    """All matching visits as one group, the span of the data, and the best and worst products by valence
    (:func:`storemood.analytics.queries.rank`), and the minimum sample, minimum group size and shares method."""
    with bind.connect() as connection:  # one checkout for the three queries
        summary, products = queries.overall_and_groups(connection, "product", filters, engaged_after, policy, exact)
        first, last = queries.time_span(connection, filters)
    best, worst = queries.rank(products, top)
    return {
        "period": {
            "since": _iso(filters.since),
            "until": _iso(filters.until),
            "first_visit": _iso(first),
            "last_visit": _iso(last),
        },
        "summary": summary.to_dict("scope") if summary else None,
        "top": [row.to_dict("product") for row in best],
        "bottom": [row.to_dict("product") for row in worst],
        **_policy_fields(policy),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@_get(
    "/compare",
    models.ComparisonOut,
    "Two products or brands",
    fails={404: "`a` or `b` has no visits in the chosen range", 422: INVALID},
    csv=False,
)
def compare(
    a: Annotated[str, Query(min_length=1, max_length=200, description="first product SKU or brand")],
    b: Annotated[str, Query(min_length=1, max_length=200, description="second product SKU or brand")],
    bind: EngineParam,
    filters: FiltersParam,
    policy: PolicyParam,
    by: Annotated[Compared, Query(description="compare products or brands")] = "product",
) -> dict:
    """Both sides' figures, their differences (a minus b) with 95% intervals, the tests (each with `p_value`
    and `significant`) and a plain sentence, as `storemood compare --format json`; 404 when one has no visits."""
    try:
        return significance.compare(bind, a, b, by, filters, policy).to_dict()
    except UserError as error:
        raise HTTPException(status_code=404, detail=str(error)) from None


@_get("/valence-over-time", models.ValenceTableOut, "Valence per hour or day")
def valence_over_time(
    bind: EngineParam,
    filters: FiltersParam,
    chosen: ValencePage,
    policy: PolicyParam,
    bucket: Annotated[Literal["hour", "day"], Query(description="time bucket, in the time zone `tz`")] = "day",
    series: Annotated[Series, Query(description="one line per this")] = "product",
) -> dict | Response:
    """Rows `{"time", <series>, "visits", "valence", "valence_ci95"}`, sorted by time then series; a point of
    fewer visits than the minimum group size has `valence: null`."""
    points = queries.valence_over_time(bind, bucket, series, filters, policy)
    rows = [
        {"time": p.time, series: p.key, "visits": p.visits, "valence": p.valence, "valence_ci95": p.valence_ci95}
        for p in points
    ]
    return table(rows, chosen, f"valence-{bucket}-{series}")


@_get("/heatmap", models.HeatmapOut, "Visits and valence per weekday and hour of the day", csv=False)
def heatmap(bind: EngineParam, filters: FiltersParam, policy: PolicyParam) -> dict:
    """When shoppers come and how they react: one cell per weekday and hour of the day (in `tz`) that has
    visits, over every week in the range; a cell of fewer visits than the minimum group size has
    `valence: null`."""
    cells = [asdict(cell) for cell in queries.week_hours(bind, filters, policy)]
    return {"cells": cells, "timezone": filters.timezone, **_policy_fields(policy)}


def _bin_labels(edges: tuple[float, ...]) -> list[str]:
    uppers = [f"{upper:g}" for upper in edges[1:]]
    return [f"{lower:g}-{upper}s" for lower, upper in zip(edges, uppers, strict=False)] + [f"{edges[-1]:g}s+"]


@_get("/dwell-distribution", models.DwellOut, "Visits per dwell-time bin")
def dwell_distribution(
    bind: EngineParam,
    filters: FiltersParam,
    chosen: DwellPage,
    policy: PolicyParam,
    by: Annotated[Series, Query(description="one histogram per this")] = "product",
) -> dict | Response:
    """Per group, visits whose dwell falls in each bin (`0-2s`, `2-5s`, ..., `60s+`); `bins: null` for a group
    of fewer visits than the minimum group size."""
    labels = _bin_labels(queries.DWELL_EDGES)
    histogram = queries.dwell_distribution(bind, by, filters=filters, min_group=policy.min_group)
    rows = [
        {by: key, "bins": None if counts is None else dict(zip(labels, counts, strict=True))}
        for key, counts in histogram.items()
    ]
    return table(rows, chosen, f"dwell-{by}", by=by, edges=list(queries.DWELL_EDGES))


@_get(
    "/visits",
    models.VisitTableOut,
    "Visits, one row each, in time order (anonymous fields only)",
    tag="visits",
    fails={403: "raw visits are off on this server", 422: INVALID},
)
def visits(request: Request, bind: EngineParam, filters: FiltersParam, chosen: PlainPage) -> dict | Response:
    """Raw visits for BI tools and exports, paged in the database (``offset``, ``limit``); ``format=csv``
    gives the same page as CSV. Rows come in the order visits started (no ``sort``).
    Answers 403 unless the server was started with ``--raw-visits``: one visit is a group of one, below the
    minimum group size every other endpoint respects."""
    if not request.app.state.settings.raw_visits:
        raise HTTPException(
            status_code=403, detail="raw visits are off on this server; start it with `storemood serve --raw-visits`"
        )
    if "sort" in request.query_params:  # no such parameter here: say so rather than return another order
        raise invalid("sort", "visits come in the order they started; sort is not offered here")
    rows = queries.list_visits(bind, filters, limit=chosen.limit, offset=chosen.offset)
    if chosen.format == "csv":
        return csv_download(rows, "visits")
    total = queries.count_visits(bind, filters)
    return {"rows": rows, "total": total, "offset": chosen.offset, "limit": chosen.limit, "sort": None}
