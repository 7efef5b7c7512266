"""`storemood serve` as a browser and a hostile client meet it: security headers on every response, and
oversized requests answered with 414 and 431 rather than a dropped connection."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest

from storemood.api.app import MAX_TARGET_BYTES
from storemood.api.params import MAX_FILTER_VALUES, MAX_VALUE_LENGTH
from storemood.database.engine import open_database
from test_dashboard import serve

FILTERS = ("store", "camera", "zone", "product", "brand")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('serve') / 'events.db'}"
    open_database(url).dispose()
    with serve(url) as address:
        yield address


@pytest.mark.parametrize("path", ["/", "/docs", "/api/health", "/api/aggregates/product", "/static/dashboard.js"])
def test_every_response_forbids_sniffing_and_framing(base, path):
    response = httpx.get(base + path)
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_pages_carry_a_content_security_policy(base):
    dashboard, docs = httpx.get(base + "/"), httpx.get(base + "/docs")
    assert "frame-ancestors 'none'" in dashboard.headers["content-security-policy"]
    assert "script-src" not in dashboard.headers["content-security-policy"]  # scripts: default-src 'self' only
    assert "script-src 'self' 'unsafe-inline'" in docs.headers["content-security-policy"]


def _raw_status(base: str, request: bytes) -> int:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = connection.recv(65536)
    return int(answer.split(b" ", 2)[1])


def test_oversized_requests_get_414_and_431(base):
    long_target = b"GET /api/aggregates/product?product=" + b"x" * MAX_TARGET_BYTES + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert _raw_status(base, long_target) == 414
    big_headers = b"GET /api/health HTTP/1.1\r\nHost: x\r\n" + b"X-Padding: " + b"y" * 30000 + b"\r\n\r\n"
    assert _raw_status(base, big_headers) == 431
    assert _raw_status(base, b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n") == 200


def test_the_longest_query_the_schema_allows_is_served(base):
    """Every filter full of the longest values, each character four UTF-8 bytes: within the schema, so
    answered (no 414)."""
    value = "\U0001f600" * MAX_VALUE_LENGTH
    query = urlencode([(name, value) for name in FILTERS for _ in range(MAX_FILTER_VALUES)])
    assert len(query) > MAX_TARGET_BYTES // 2
    request = f"GET /api/products?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    assert _raw_status(base, request) == 200
