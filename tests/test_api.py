"""The REST API through FastAPI's TestClient: every endpoint against the analytics layer and against
figures computed in Python from the same generated events; validation, paging, sorting, CSV, auth, CORS
and errors that never show internals."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import statistics
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from storemood.analytics import queries, significance
from storemood.analytics.queries import Filters
from storemood.api.app import create_app
from storemood.api.params import MAX_PAGE_SIZE
from storemood.api.routes import LISTING_SORTS
from storemood.api.settings import ApiSettings
from storemood.database.engine import create_db_engine
from storemood.database.event_table import EventTable
from storemood.emotions import FER7
from synthetic_events import EPOCH, synthetic_events

EVENTS = list(synthetic_events(1200, seed=5, days=3))
TOKEN = "api-test-token-0123456789"
#: Covers every generated event (they start at EPOCH and last three days).
WINDOW = {"since": EPOCH.isoformat(), "until": (EPOCH + timedelta(days=4)).isoformat()}
ALL = Filters(since=EPOCH, until=EPOCH + timedelta(days=4))
POLICY_FIELDS = ("min_visits", "min_group", "shares_method")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with EventTable(f"sqlite:///{tmp_path_factory.mktemp('api') / 'events.db'}") as events:
        events.add(EVENTS)
        yield events


@pytest.fixture(scope="module")
def client(store) -> TestClient:
    return TestClient(create_app(store.engine, ApiSettings()), raise_server_exceptions=False)


def get(client: TestClient, path: str, **params):
    response = client.get(path, params={**WINDOW, **params})
    assert response.status_code == 200, response.text
    return response.json()


def roundtrip(value):
    """What a value looks like after JSON encoding (tuples become lists, and so on)."""
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("by", ["product", "brand", "zone", "camera", "store", "hour", "day"])
def test_aggregates_are_the_analytics_rows(client, store, by):
    body = get(client, f"/api/aggregates/{by}", limit=MAX_PAGE_SIZE)
    expected = [row.to_dict(by) for row in queries.aggregate(store.engine, by, ALL)]
    assert body["by"] == by and body["total"] == len(expected)
    assert body["rows"] == roundtrip(expected)
    for row in body["rows"]:
        assert {by, "brand", "visits", "dwell_median_s", "shares", "valence"} <= set(row)


@pytest.mark.parametrize(
    ("kind", "attribute"),
    [("stores", "store"), ("cameras", "camera"), ("zones", "zone"), ("products", "product"), ("brands", "brand")],
)
def test_listings_count_every_visit(client, kind, attribute):
    body = get(client, f"/api/{kind}", limit=MAX_PAGE_SIZE)
    assert {row["id"] for row in body["rows"]} == {getattr(event, attribute) for event in EVENTS}
    assert sum(row["visits"] for row in body["rows"]) == len(EVENTS)


def test_filters_choose_the_events(client):
    store = EVENTS[0].store
    since, until = EPOCH + timedelta(days=1), EPOCH + timedelta(days=2)
    chosen = [event for event in EVENTS if event.store == store and since <= event.start < until]
    body = get(client, "/api/aggregates/store", store=store, since=since.isoformat(), until=until.isoformat())
    assert [row["store"] for row in body["rows"]] == [store]
    assert body["rows"][0]["visits"] == len(chosen)
    products = {EVENTS[0].product, EVENTS[1].product}
    rows = get(client, "/api/aggregates/product", product=sorted(products))["rows"]
    assert {row["product"] for row in rows} == products


def test_overview_takes_all_visits_as_one_group(client):
    body = get(client, "/api/overview", top=2, exact="true")
    summary = body["summary"]
    assert summary["visits"] == len(EVENTS)
    assert summary["dwell_median_s"] == pytest.approx(statistics.median(event.dwell_seconds for event in EVENTS))
    rolled_up = get(client, "/api/overview", top=2)["summary"]  # the median from the hourly dwell histograms
    assert summary["dwell_median_s"] / 1.19 < rolled_up["dwell_median_s"] < summary["dwell_median_s"] * 1.19
    dominant = Counter(event.dominant_emotion for event in EVENTS)
    assert summary["counts"] == {name: dominant[name] for name in FER7}
    products = [row for row in get(client, "/api/aggregates/product")["rows"] if row["enough_visits"]]
    by_low = sorted(products, key=lambda row: -row["valence_ci95"][0])
    assert [row["product"] for row in body["top"]] == [row["product"] for row in by_low[:2]]
    rest = sorted((row for row in products if row not in by_low[:2]), key=lambda row: row["valence_ci95"][1])
    assert [row["product"] for row in body["bottom"]] == [row["product"] for row in rest[:2]]
    assert body["period"]["first_visit"] == min(event.start for event in EVENTS).isoformat()
    assert body["period"]["last_visit"] == max(event.start for event in EVENTS).isoformat()


def test_overview_of_nothing_is_empty_not_an_error(client):
    body = get(client, "/api/overview", store="no-such-store")
    assert body["summary"] is None and body["top"] == [] and body["period"]["first_visit"] is None


def test_compare_two_products_and_an_unknown_one(client, store):
    a, b = sorted({event.product for event in EVENTS})[:2]
    body = get(client, "/api/compare", a=a, b=b)
    assert body == roundtrip(significance.compare(store.engine, a, b, "product", ALL).to_dict())
    assert {test["name"] for test in body["tests"].values()} == {"emotions", "valence", "dwell"}
    assert body["valence_difference"] == pytest.approx(body["a"]["valence"] - body["b"]["valence"])
    response = client.get("/api/compare", params={**WINDOW, "a": a, "b": "no-such-sku"})
    assert response.status_code == 404 and "no-such-sku" in response.json()["detail"]


def test_valence_over_time_and_dwell_histogram_account_for_every_visit(client):
    points = get(client, "/api/valence-over-time", bucket="hour", series="brand", limit=MAX_PAGE_SIZE)
    assert sum(point["visits"] for point in points["rows"]) == len(EVENTS)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00Z", point["time"]) for point in points["rows"])
    histogram = get(client, "/api/dwell-distribution", by="product")
    visits = Counter(event.product for event in EVENTS)
    assert {row["product"]: sum(row["bins"].values()) for row in histogram["rows"]} == visits
    assert len(histogram["edges"]) == len(histogram["rows"][0]["bins"])
    short = sum(event.dwell_seconds < histogram["edges"][1] for event in EVENTS)
    assert sum(row["bins"]["0-2s"] for row in histogram["rows"]) == short


def test_hours_are_read_in_the_time_zone_asked_for(client):
    points = get(
        client, "/api/valence-over-time", bucket="hour", series="store", tz="Asia/Kolkata", limit=MAX_PAGE_SIZE
    )
    points = points["rows"]
    kolkata = ZoneInfo("Asia/Kolkata")
    expected = Counter(event.start.astimezone(kolkata).strftime("%Y-%m-%dT%H:00") for event in EVENTS)
    visits: Counter[str] = Counter()
    for point in points:
        visits[point["time"]] += point["visits"]
    assert visits == expected


def test_pages_join_up_to_the_whole_table(client):
    whole = get(client, "/api/valence-over-time", limit=MAX_PAGE_SIZE)["rows"]
    pages = [get(client, "/api/valence-over-time", offset=offset, limit=7) for offset in range(0, len(whole), 7)]
    assert [row for page in pages for row in page["rows"]] == whole
    assert {page["total"] for page in pages} == {len(whole)}
    assert get(client, "/api/valence-over-time", offset=len(whole))["rows"] == []


@pytest.mark.parametrize("field", ["valence", "visits", "dwell_median_s", "shares.happy"])
def test_sorting_in_both_directions(client, field):
    def value(row):
        return row["shares"]["happy"] if field == "shares.happy" else row[field]

    ascending = [value(row) for row in get(client, "/api/aggregates/product", sort=field)["rows"]]
    descending = [value(row) for row in get(client, "/api/aggregates/product", sort=f"-{field}")["rows"]]
    assert ascending == sorted(ascending) and descending == sorted(ascending, reverse=True)


def test_csv_has_the_json_rows(client):
    body = get(client, "/api/aggregates/product", sort="-visits")
    response = client.get("/api/aggregates/product", params={**WINDOW, "sort": "-visits", "format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["product"] for row in rows] == [row["product"] for row in body["rows"]]
    for parsed, row in zip(rows, body["rows"], strict=True):
        assert int(parsed["visits"]) == row["visits"]
        assert float(parsed["shares.happy"]) == pytest.approx(row["shares"]["happy"], abs=1e-6)
        low, high = (float(parsed[f"valence_ci95.{end}"]) for end in ("low", "high"))
        assert (low, high) == pytest.approx(row["valence_ci95"], abs=1e-6)
    listing = client.get("/api/brands", params={**WINDOW, "format": "csv"}).text
    assert listing.splitlines()[0].split(",")[:2] == ["id", "visits"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/aggregates/flavour", {}, "by"),
        ("/api/aggregates/product", {"limit": MAX_PAGE_SIZE + 1}, "limit"),
        ("/api/aggregates/product", {"limit": 0}, "limit"),
        ("/api/aggregates/product", {"offset": -1}, "offset"),
        ("/api/aggregates/product", {"sort": "price"}, "sort"),
        ("/api/aggregates/product", {"sort": "visits; drop table events"}, "sort"),
        ("/api/aggregates/product", {"format": "xml"}, "format"),
        ("/api/products", {"since": "yesterday"}, "since"),
        ("/api/products", {"since": "1793491200"}, "since"),  # ISO 8601 only, not Unix time
        ("/api/products", {"since": "2026-11-03", "until": "2026-11-02"}, "until"),
        ("/api/products", {"since": "2020-01-01", "until": "2026-11-02"}, "since"),
        ("/api/products", {"store": "x" * 201}, "store"),
        ("/api/valence-over-time", {"bucket": "minute"}, "bucket"),
        ("/api/valence-over-time", {"tz": "Mars/Olympus"}, "tz"),
        ("/api/compare", {"a": "SKU-1"}, "b"),
        ("/api/overview", {"top": 100}, "top"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, path, params, field):
    response = client.get(path, params={**WINDOW, **params})
    assert response.status_code == 422
    body = response.json()
    assert field in {str(part) for problem in body["detail"] for part in problem["loc"]}
    assert body["message"].startswith(field) or f"{field}:" in body["message"]


@pytest.mark.parametrize(
    "params",
    [{"until": "0001-01-01T00:00:00+05:00"}, {"until": "0001-01-02"}, {"since": "9999-12-31T23:00:00-05:00"}],
)
def test_bounds_at_the_ends_of_the_calendar_are_empty_ranges_not_errors(client, params):
    response = client.get("/api/products", params=params)
    assert response.status_code == 200 and response.json()["rows"] == []


def test_sorting_by_a_grouping_the_rows_lack_keeps_their_order(client):
    natural = get(client, "/api/aggregates/hour")["rows"]
    assert get(client, "/api/aggregates/hour", sort="-product")["rows"] == natural


def test_bodies_keep_the_field_order_of_the_analytics_rows(client, store):
    """Responses are validated against their models, and still read as the analytics layer wrote them: the
    grouping key first, every field where it was."""
    for by in ("product", "store", "hour"):
        row = get(client, f"/api/aggregates/{by}")["rows"][0]
        assert list(row) == list(queries.aggregate(store.engine, by, ALL)[0].to_dict(by))
    a, b = sorted({event.product for event in EVENTS})[:2]
    response = client.get("/api/compare", params={**WINDOW, "a": a, "b": b})
    expected = significance.compare(store.engine, a, b, "product", ALL).to_dict()
    assert response.text == json.dumps(roundtrip(expected), separators=(",", ":"))
    assert list(get(client, "/api/overview")) == ["period", "summary", "top", "bottom", *POLICY_FIELDS]
    assert list(get(client, "/api/valence-over-time", series="zone")["rows"][0]) == [
        *("time", "zone", "visits", "valence", "valence_ci95")
    ]


def test_a_body_that_breaks_its_model_is_a_500_not_sent(client, monkeypatch):
    monkeypatch.setattr(queries, "change_marker", lambda _bind: ("many", 1))
    response = client.get("/api/status")
    assert response.status_code == 500 and "many" not in response.text


def test_the_schema_states_each_constraint_status_and_content_type(store):
    schema = TestClient(create_app(store.engine, ApiSettings(max_range_days=30))).get("/openapi.json").json()
    products = schema["paths"]["/api/products"]["get"]
    parameters = {parameter["name"]: parameter["schema"] for parameter in products["parameters"]}
    assert parameters["limit"]["maximum"] == MAX_PAGE_SIZE and parameters["offset"]["minimum"] == 0
    assert parameters["store"]["items"]["maxLength"] == 200 and parameters["store"]["maxItems"] == 50
    assert set(parameters["sort"]["enum"]) == {f"{sign}{field}" for field in LISTING_SORTS for sign in ("", "-")}
    assert "UTC" in schema["components"]["schemas"]["TimeZone"]["enum"]
    assert not [name for name, value in parameters.items() if "anyOf" in value]  # a query string has no null
    assert set(products["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert {"414", "422", "431", "503"} <= set(products["responses"])
    assert "404" in schema["paths"]["/api/compare"]["get"]["responses"]
    assert "403" in schema["paths"]["/api/visits"]["get"]["responses"]
    assert "at most 30 days" in schema["info"]["description"]


def test_the_security_scheme_is_declared_only_where_a_token_is_required(store):
    def schema(token: str | None) -> dict:
        return TestClient(create_app(store.engine, ApiSettings(token=token))).get("/openapi.json").json()

    open_api, closed = schema(None), schema(TOKEN)
    operations = [path["get"] for path in open_api["paths"].values()]
    assert not [op for op in operations if "security" in op or "401" in op["responses"]]
    assert "securitySchemes" not in open_api.get("components", {})
    assert "without an API token" in open_api["info"]["description"]
    products = closed["paths"]["/api/products"]["get"]
    assert products["security"] == [{"HTTPBearer": []}] and "401" in products["responses"]
    assert "security" not in closed["paths"]["/api/health"]["get"]


def test_a_request_without_since_covers_the_longest_allowed_range(store):
    client = TestClient(create_app(store.engine, ApiSettings(max_range_days=1)))
    until = EPOCH + timedelta(days=2)
    body = client.get("/api/overview", params={"until": until.isoformat()}).json()
    assert body["period"]["since"] == (until - timedelta(days=1)).isoformat()
    assert body["summary"]["visits"] == sum(until - timedelta(days=1) <= event.start < until for event in EVENTS)


def test_status_moves_when_events_arrive(tmp_path):
    with EventTable(f"sqlite:///{tmp_path / 'live.db'}") as events:
        client = TestClient(create_app(events.engine))
        assert client.get("/api/status").json() == {"events": 0, "marker": 0}
        events.add(EVENTS[:10])
        first = client.get("/api/status").json()
        assert first["events"] == 10
        events.add(EVENTS[10:15])
        assert client.get("/api/status").json()["marker"] > first["marker"]


def test_token_is_required_when_configured(store):
    client = TestClient(create_app(store.engine, ApiSettings(token=TOKEN)))
    missing = client.get("/api/products")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/products", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert client.get("/api/products", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    for public in ("/api/health", "/openapi.json", "/docs", "/"):
        assert client.get(public).status_code == 200, public


def test_without_a_token_the_api_is_open(client):
    assert client.get("/api/products").status_code == 200


def test_cors_is_closed_unless_origins_are_named(store, client):
    origin = {"Origin": "https://elsewhere.example"}
    assert "access-control-allow-origin" not in client.get("/api/products", headers=origin).headers
    allowed = TestClient(create_app(store.engine, ApiSettings(cors_origins=("https://elsewhere.example",))))
    response = allowed.get("/api/products", headers=origin)
    assert response.headers["access-control-allow-origin"] == "https://elsewhere.example"


def test_unexpected_errors_are_a_generic_500_logged_on_the_server(client, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(queries, "aggregate", broken)
    with caplog.at_level(logging.ERROR, logger="storemood.api.app"):
        response = client.get("/api/aggregates/product", params=WINDOW)
    assert response.status_code == 500 and response.json() == {"detail": "internal server error"}
    assert "secret" not in response.text and "Traceback" not in response.text
    assert "secret internals" in caplog.text


def test_a_database_without_tables_is_503(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # never migrated
    response = TestClient(create_app(engine), raise_server_exceptions=False).get("/api/products")
    assert response.status_code == 503 and "events" not in response.text
    engine.dispose()


def test_docs_and_dashboard_load_nothing_from_other_hosts(client):
    for page in ("/docs", "/redoc", "/"):
        html = client.get(page).text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets and not [url for url in assets if url.startswith(("http:", "https:", "//"))], page
        for asset in assets:
            if asset.endswith((".js", ".css")):
                assert client.get(asset).status_code == 200, asset
    assert "default-src 'self'" in client.get("/").headers["content-security-policy"]


def test_openapi_lists_every_endpoint(client):
    paths = set(client.get("/openapi.json").json()["paths"])
    expected = {"/api/health", "/api/status", "/api/overview", "/api/compare", "/api/aggregates/{by}"}
    expected |= {f"/api/{kind}" for kind in ("stores", "cameras", "zones", "products", "brands")}
    expected |= {"/api/valence-over-time", "/api/dwell-distribution"}
    assert expected <= paths


def test_overall_matches_python_and_is_none_without_visits(store):
    row = queries.overall(store.engine, ALL)
    assert row.visits == len(EVENTS)
    assert row.dwell_total_s == pytest.approx(sum(event.dwell_seconds for event in EVENTS))
    assert queries.overall(store.engine, Filters(stores=("nowhere",))) is None


def test_change_marker_counts_events(store):
    count, marker = queries.change_marker(store.engine)
    assert count == len(EVENTS) and marker >= count


def test_meta_serves_the_one_palette_and_the_limits_without_a_token(store):
    from storemood.analytics.report import MAX_SERIES
    from storemood.emotions import EMOTION_COLORS
    from storemood.pipeline.annotate import EMOTION_BGR

    client = TestClient(create_app(store.engine, ApiSettings(token=TOKEN, max_range_days=30, engagement_dwell_s=7)))
    body = client.get("/api/meta").json()
    assert body["emotions"] == list(FER7) and body["colors"] == EMOTION_COLORS
    assert (body["max_page_size"], body["max_series"]) == (MAX_PAGE_SIZE, MAX_SERIES)
    assert (body["max_range_days"], body["engagement_dwell_s"]) == (30, 7)
    assert all(
        f"#{red:02x}{green:02x}{blue:02x}" == body["colors"][name] for name, (blue, green, red) in EMOTION_BGR.items()
    )


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_heatmap_counts_each_visit_in_its_local_weekday_and_hour(client, tz):
    body = get(client, "/api/heatmap", tz=tz)
    zone = ZoneInfo(tz)
    local = [event.start.astimezone(zone) for event in EVENTS]
    # Python's weekday() is 0 = Monday; the API's is 0 = Sunday, as strftime's %w.
    expected = Counter(((moment.weekday() + 1) % 7, moment.hour) for moment in local)
    assert {(cell["weekday"], cell["hour"]): cell["visits"] for cell in body["cells"]} == expected
    assert body["timezone"] == tz and body["min_group"] >= 1
    for cell in body["cells"]:
        assert (cell["valence"] is None) == (cell["visits"] < body["min_group"])


def test_heatmap_valence_is_the_valence_of_that_hours_visits(client):
    cells = get(client, "/api/heatmap", store="store-a")["cells"]
    busiest = max(cells, key=lambda cell: cell["visits"])
    moments = [
        event
        for event in EVENTS
        if event.store == "store-a"
        and event.start.hour == busiest["hour"]
        and event.start.strftime("%w") == str(busiest["weekday"])
    ]
    assert len(moments) == busiest["visits"]
    start = min(event.start for event in moments)
    hour = start.replace(minute=0, second=0, microsecond=0)
    # One week-hour of a three-day range is one clock hour: the hourly aggregate of that hour must agree.
    row = next(
        r
        for r in get(client, "/api/aggregates/hour", store="store-a")["rows"]
        if r["hour"] == hour.strftime("%Y-%m-%dT%H:00Z")
    )
    assert row["visits"] == busiest["visits"]
    assert busiest["valence"] == pytest.approx(row["valence"])
