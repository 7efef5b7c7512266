"""Response shapes: ``/openapi.json`` documents them and FastAPI validates every JSON body against them.

Aggregate rows are those of ``storemood report --format json``: the grouping key under its own name
(``"product": "SKU-1"``, ``"brand": ...``, ``"hour": ...``), then the figures. That key varies with the
grouping, so the row models allow extra fields. Bodies keep the order of the fields the analytics layer
gives (:class:`Out`), so validating them changes nothing a client sees: the key stays first.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_serializer, model_validator

Interval = tuple[float, float]


class Out(BaseModel):
    """A response model that serialises its fields in the order they were given, not the declared one."""

    _given_order: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _remember_order(cls, data: Any, handler) -> Out:
        model = handler(data)
        if isinstance(data, dict):
            model._given_order = tuple(data)
        return model

    @model_serializer(mode="wrap")
    def _in_given_order(self, handler):
        data = handler(self)
        return {**{name: data[name] for name in self._given_order if name in data}, **data}


class ErrorOut(Out):
    """What went wrong, in one line."""

    detail: str


class FieldProblemOut(Out):
    """One invalid parameter, as FastAPI reports it (``input`` and ``ctx`` when pydantic adds them)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int] = Field(description="where: `query` or `path`, then the parameter's name")
    msg: str
    type: str


class ValidationProblemOut(Out):
    """The request's parameters are invalid: ``message`` names each bad one in one line."""

    detail: list[FieldProblemOut]
    message: str


class HealthOut(Out):
    status: Literal["ok"]


class AggregateRowOut(Out):
    """Figures of one group of visits; the group's key is the extra field named after the grouping.

    A group of fewer visits than the minimum group size (k) has ``suppressed: true`` and every figure but
    ``visits`` null, so that no single shopper's reaction can be read out.
    """

    model_config = ConfigDict(extra="allow")

    brand: str = Field(description="the group's brand when all its visits share one, else empty")
    store: str = Field(description="the group's store when all its visits share one, else empty")
    product_name: str = ""
    visits: int
    engaged: int | None = Field(description="visits lasting at least the engagement threshold")
    engagement: float | None = Field(description="engaged visits / visits")
    dwell_total_s: float | None
    dwell_median_s: float | None
    dwell_median_ci95_s: Interval | None = Field(description="95% order-statistic interval of the median dwell")
    read_visits: int | None = Field(
        None, description="visits whose face was readable at least once; the emotion figures are over these"
    )
    counts: dict[str, int] | None = Field(description="read visits by dominant emotion")
    shares: dict[str, float] | None = Field(description="each emotion's estimated share of read visits")
    shares_method: str = Field(description="count, calibrated or adjusted (see the documentation)")
    shares_ci95: dict[str, Interval] | None = Field(description="95% interval of each share")
    probabilities: dict[str, float] | None = Field(description="mean (calibrated) emotion probabilities")
    valence: float | None = Field(description="positive minus negative share, -1..1")
    valence_ci95: Interval | None = Field(description="95% interval of the valence")
    enough_visits: bool = Field(description="read visits reach the minimum sample: the group may be ranked")
    suppressed: bool = Field(description="fewer visits than the minimum group size: no figure shown")


class _Policy(Out):
    min_visits: int = Field(description="groups with fewer visits are not ranked (enough_visits false)")
    min_group: int = Field(description="groups with fewer visits show no figure (suppressed)")
    shares_method: str = Field(description="how emotion shares are estimated")


class TableOut(Out):
    """One page of a table."""

    rows: list[dict[str, Any]]
    total: int = Field(description="rows in the whole table")
    offset: int
    limit: int
    sort: str | None


class AggregateTableOut(TableOut, _Policy):
    by: str
    rows: list[AggregateRowOut]  # type: ignore[assignment]


class ListedOut(Out):
    """A store, camera, zone, product or brand that has visits in the chosen range."""

    id: str
    visits: int
    name: str = Field("", description="store name, product name, or a zone's product SKU")
    brand: str = ""
    store: str = ""


class ListingOut(TableOut):
    rows: list[ListedOut]  # type: ignore[assignment]


class VisitOut(Out):
    """One visit of one tracked face to one zone: anonymous fields only (no image, crop or embedding)."""

    id: str
    store: str
    camera: str
    zone: str
    product: str
    product_name: str
    brand: str
    track_id: int = Field(description="per camera session; says nothing about who the shopper is")
    start: str
    end: str
    dwell_s: float
    frames: int
    readable_frames: int | None = Field(description="frames in which the face was frontal and large enough to read")
    dominant_emotion: str | None = Field(description="null when the face was never readable")
    probabilities: dict[str, float | None] = Field(
        description="mean of each emotion over the readable frames; each null when the face was never readable"
    )
    face_score: float
    face_size: float


class VisitTableOut(TableOut):
    rows: list[VisitOut]  # type: ignore[assignment]


class PeriodOut(Out):
    since: str | None = Field(description="start of the range asked for (UTC)")
    until: str | None = Field(description="end of the range asked for, exclusive (UTC); null: open")
    first_visit: str | None = Field(description="start of the first matching visit")
    last_visit: str | None = Field(description="start of the last matching visit")


class OverviewOut(_Policy):
    """The chosen period at a glance."""

    period: PeriodOut
    summary: AggregateRowOut | None = Field(description="all matching visits as one group (null: none)")
    top: list[AggregateRowOut] = Field(
        description="products with enough visits whose valence is highest even at the low end of its interval"
    )
    bottom: list[AggregateRowOut] = Field(
        description="products with enough visits whose valence is lowest even at the high end of its interval, "
        "never one of `top`"
    )


class TestOut(Out):
    """One significance test; `difference` is a minus b."""

    name: str
    method: str
    statistic: float | None
    p_value: float | None = Field(description="null when the test cannot run (too few visits)")
    significant: bool = Field(description="p_value under alpha")
    difference: float | None
    difference_ci95: Interval | None


class ComparisonOut(Out):
    by: str
    a: AggregateRowOut
    b: AggregateRowOut
    valence_difference: float | None = Field(description="a minus b")
    dwell_median_difference_s: float | None
    share_differences: dict[str, float] | None = Field(description="a minus b, shares of visits by dominant emotion")
    share_differences_ci95: dict[str, Interval] | None = Field(description="Newcombe 95% intervals")
    tests: dict[str, TestOut] = Field(description="`emotions`, `valence` and `dwell`")
    alpha: float
    sentence: str = Field(description="what the tests show, in one plain sentence")


class ValencePointOut(Out):
    """Valence of one series in one time bucket; the series' key is the extra field named after ``series``."""

    model_config = ConfigDict(extra="allow")

    time: str = Field(description="the hour (`2026-11-22T10:00`, `Z` appended in UTC) or day, in the zone `tz`")
    visits: int
    valence: float | None = Field(description="null: fewer visits than the minimum group size")
    valence_ci95: Interval | None


class ValenceTableOut(TableOut):
    rows: list[ValencePointOut]  # type: ignore[assignment]


class DwellRowOut(Out):
    """One group's dwell histogram; the group's key is the extra field named after ``by``."""

    model_config = ConfigDict(extra="allow")

    bins: dict[str, int] | None = Field(
        description="visits per dwell bin (`0-2s`, `2-5s`, ..., `60s+`); null: fewer visits than the minimum group size"
    )


class DwellOut(TableOut):
    """Per group: its key and ``bins`` (label such as ``2-5s`` → visits)."""

    by: str
    rows: list[DwellRowOut]  # type: ignore[assignment]
    edges: list[float] = Field(description="bin edges in seconds; the last bin is open-ended")


class WeekHourOut(Out):
    """One hour of the week in the requested time zone, over every week of the range."""

    weekday: int = Field(ge=0, le=6, description="0 = Sunday, 1 = Monday, ... 6 = Saturday")
    hour: int = Field(ge=0, le=23, description="hour of the day, local time")
    visits: int
    valence: float | None = Field(description="null below the minimum group size")
    valence_ci95: Interval | None


class HeatmapOut(_Policy):
    """Visits and valence per weekday and hour; hours without visits are left out."""

    cells: list[WeekHourOut]
    timezone: str = Field(description="the time zone the hours are read in (`tz`)")


class StatusOut(Out):
    """What a live page polls: both numbers change whenever events are added or pruned."""

    events: int
    marker: int


class MetaOut(Out):
    """The emotion vocabulary of the data endpoints, its palette, and the server's limits."""

    emotions: list[str] = Field(description="emotion names in the order of the rows' `shares` and `probabilities`")
    colors: dict[str, str] = Field(description="CSS hex colour of each emotion")
    positive: list[str] = Field(description="emotions that count as positive in valence")
    negative: list[str] = Field(description="emotions that count as negative in valence")
    max_page_size: int = Field(description="the largest `limit` a table accepts")
    max_range_days: float = Field(description="the longest `since`..`until` range one request may cover")
    max_series: int = Field(description="series the report's valence and dwell charts show at most")
    hourly_up_to_days: float = Field(description="data spanning at most this many days is charted per hour")
    engagement_dwell_s: float = Field(description="a visit this long or longer counts as engaged")


class ZoneOutlineOut(Out):
    """A zone of a camera as store.yaml draws it, in coordinates relative to the frame (0..1)."""

    zone: str
    product: str = Field(description="the product's SKU")
    product_name: str
    brand: str
    polygon: list[tuple[float, float]] = Field(description="[[x, y], ...], (0, 0) top left, (1, 1) bottom right")


class CameraOut(Out):
    """One camera's latest heartbeat, its still and its zones."""

    store: str
    camera: str
    status: Literal["live", "stale", "down"] = Field(
        description="live: last heartbeat under `stale_after_s` ago; stale: under `down_after_s` ago; down: older"
    )
    heartbeat_at: str = Field(description="when the last heartbeat was written (UTC)")
    running: bool = Field(description="false once the run ended (its last heartbeat)")
    run_started_at: str
    last_frame: str = Field(description="time of the last analysed frame (video time for a file)")
    fps: float = Field(description="frames read per second over the last heartbeat interval")
    analysed_fps: float = Field(description="frames analysed per second over the last heartbeat interval")
    frames_read: int = Field(description="frames read since the run started")
    dropped_frames: int = Field(description="frames a live source dropped to keep up, since the run started")
    reconnects: int = Field(description="times the source was reopened after it dropped, since the run started")
    faces_seen: int = Field(description="distinct tracked faces since the run started")
    faces_seen_interval: int = Field(description="distinct tracked faces in the last heartbeat interval")
    still_url: str | None = Field(description="the still's JPEG (this API, same token); null: no still yet")
    still_taken_at: str | None = Field(description="time of the newest frame in the still")
    width: int | None = Field(description="the still's width in pixels (null: no still)")
    height: int | None = Field(description="the still's height in pixels (null: no still)")
    frame_width: int = Field(description="the camera's frame size, pixels")
    frame_height: int
    zones: list[ZoneOutlineOut]


class CamerasOut(ListingOut):
    """Cameras with visits in the range (``rows``, as the other listings) and every camera's health
    (``cameras``: all with a heartbeat, whatever the time range; the store and camera filters apply)."""

    cameras: list[CameraOut]
    heartbeat_s: float = Field(description="seconds between two heartbeats of a running camera")
    stale_after_s: float = Field(description="a camera whose last heartbeat is older is stale")
    down_after_s: float = Field(description="a camera whose last heartbeat is older is down")
