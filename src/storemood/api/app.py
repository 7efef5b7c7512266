"""The web app: REST API under ``/api``, the dashboard at ``/``, API docs at ``/docs`` — all offline.

The docs page comes from ``fastapi-offline``, which ships Swagger UI and ReDoc inside its wheel, and the
dashboard's chart library is a committed file under ``static/``: nothing is fetched from a CDN, so the
app works in a store without internet access.

Errors never leak internals: validation problems are 422 naming the field, a lost database is 503, and
anything unexpected is a generic 500 whose details go to the server log only.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from storemood import __version__
from storemood.analytics.policy import FigurePolicy
from storemood.api import models, routes
from storemood.api.params import LONGEST_QUERY_BYTES
from storemood.api.settings import ApiSettings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
#: The dashboard loads scripts, styles and data from this server only (a camera's still, fetched with the
#: token, is shown from a blob: URL).
DASHBOARD_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; frame-ancestors 'none'"
)
#: Swagger UI and ReDoc (served from this server too) start from an inline script; ReDoc runs a blob: worker.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'"
)
#: Sent with every response: no content-type guessing, never inside another site's frame.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
#: The longest request target (path and query: room for the longest query the parameters' schema allows)
#: and the most header bytes a request may carry; the server (``storemood serve``) lets larger requests
#: through to :class:`RequestLimits`, which answers 414 or 431.
MAX_TARGET_BYTES = LONGEST_QUERY_BYTES + 1024
MAX_HEADER_BYTES = 16384

#: How ``storemood serve --workers N`` hands the database URL and the settings to each worker process.
WORKER_ENV = "STOREMOOD_SERVE_WORKER"

_bearer = HTTPBearer(auto_error=False, description="the API token the server was started with")
#: Answers of the app itself rather than of one endpoint, documented on every endpoint they can come from.
REQUEST_LIMIT_ERRORS = {
    414: {"model": models.ErrorOut, "description": f"the path and query are longer than {MAX_TARGET_BYTES} bytes"},
    431: {"model": models.ErrorOut, "description": f"the headers are larger than {MAX_HEADER_BYTES} bytes"},
}
DATABASE_ERRORS = {503: {"model": models.ErrorOut, "description": "the database cannot be reached; try again later"}}
TOKEN_ERRORS = {
    401: {
        "model": models.ErrorOut,
        "description": "the `Authorization: Bearer <token>` header is missing or holds another token",
        "headers": {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    }
}


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """401 unless the request carries the server's token (installed only on a server that has one)."""
    expected = request.app.state.settings.token
    given = credentials.credentials if credentials else ""
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status_code=401, detail="missing or wrong API token", headers={"WWW-Authenticate": "Bearer"}
        )


def create_app(engine: Engine, settings: ApiSettings | None = None) -> FastAPI:
    """The app serving ``engine``'s events (the caller opens the database and disposes of it).

    >>> import tempfile
    >>> from fastapi.testclient import TestClient
    >>> from storemood.database.engine import open_database
    >>> engine = open_database(f"sqlite:///{tempfile.mkdtemp()}/events.db")    # a new, empty database
    >>> client = TestClient(create_app(engine))
    >>> client.get("/api/health").json()
    {'status': 'ok'}
    >>> client.get("/api/aggregates/product").json()["rows"]
    []
    """
    settings = settings or ApiSettings()
    app = FastAPIOffline(
        title="storemood", version=__version__, description=_description(settings), static_url="/static-docs"
    )
    app.state.engine = engine
    app.state.settings = settings
    generate_schema = app.openapi
    app.openapi = lambda: _query_without_null(generate_schema())
    app.include_router(routes.public, responses=REQUEST_LIMIT_ERRORS)
    if settings.token is None:
        app.include_router(routes.router, responses=REQUEST_LIMIT_ERRORS | DATABASE_ERRORS)
    else:
        app.include_router(
            routes.router,
            dependencies=[Depends(require_token)],
            responses=TOKEN_ERRORS | REQUEST_LIMIT_ERRORS | DATABASE_ERRORS,
        )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/", dashboard, include_in_schema=False)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET"],
            allow_headers=["Authorization"],
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLimits)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(Exception, _internal_error)
    return app


def _description(settings: ApiSettings) -> str:
    """The API's description in ``/openapi.json``: what it serves, how this server is secured, and the rules
    that tie parameters together (which a parameter's schema cannot state)."""
    access = (
        "This server has an API token: every data endpoint needs `Authorization: Bearer <token>` and answers "
        "401 without it."
        if settings.token
        else "This server runs without an API token, which `storemood serve` allows on loopback addresses only: "
        "no endpoint needs authentication, and none declares a security scheme."
    )
    return (
        "Shopper reactions to products and brands: visits, dwell, emotion shares and valence from in-store "
        f"cameras. {access} `/api/health` and `/api/meta` show no data and never need a token.\n\n"
        "Every table takes `offset`, `limit` and `format=csv` (the same rows as a CSV download), and `sort` "
        "where the table can be sorted. Two rules tie the filters together: `since` must be earlier than "
        f"`until`, and the range may span at most {settings.max_range_days:g} days (a request without `since` "
        "covers that many days back from `until`, or from now); a request that breaks one gets 422."
    )


def _query_without_null(schema: dict) -> dict:
    """``schema`` with the ``null`` branch taken out of every optional query parameter (FastAPI writes
    ``anyOf: [<type>, {"type": "null"}]`` for ``X | None``): a query string cannot carry null, an absent
    parameter is what ``required: false`` says, and clients then see the parameter's one real type."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", []):
                branches = parameter["schema"].get("anyOf", [])
                kept = [branch for branch in branches if branch != {"type": "null"}]
                if parameter["in"] == "query" and len(branches) == 2 and len(kept) == 1:
                    parameter["schema"] = {key: value for key, value in parameter["schema"].items() if key != "anyOf"}
                    parameter["schema"].update(kept[0])
    return schema


def worker_environment(url: str | None, settings: ApiSettings) -> str:
    """The value of :data:`WORKER_ENV` from which :func:`create_worker_app` rebuilds the same app."""
    return json.dumps({"db": url, "settings": asdict(settings)})


def create_worker_app() -> FastAPI:
    """The app of one ``serve --workers`` process (uvicorn calls it in each worker it starts).

    Each worker opens its own engine, hence its own connection pool: N workers hold up to N pools.

    >>> import tempfile
    >>> from storemood.database.engine import open_database
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/events.db"
    >>> open_database(url).dispose()
    >>> os.environ[WORKER_ENV] = worker_environment(url, ApiSettings(max_range_days=31))
    >>> create_worker_app().state.settings.max_range_days
    31
    """
    from storemood.database.engine import open_existing

    config = json.loads(os.environ[WORKER_ENV])
    given = config["settings"]
    settings = replace(
        ApiSettings(**given), cors_origins=tuple(given["cors_origins"]), figures=FigurePolicy(**given["figures"])
    )
    engine = open_existing(config["db"])
    app = create_app(engine, settings)
    app.router.add_event_handler("shutdown", engine.dispose)
    return app


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response, and :data:`DOCS_CSP` to the API docs pages."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = dict(SECURITY_HEADERS)
        if scope["path"] in ("/docs", "/redoc") or scope["path"].startswith("/static-docs"):
            extra["Content-Security-Policy"] = DOCS_CSP

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(k.encode(), v.encode()) for k, v in extra.items() if k.lower().encode() not in present]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestLimits:
    """414 for a request target over :data:`MAX_TARGET_BYTES`, 431 for headers over :data:`MAX_HEADER_BYTES`:
    a clean answer where the HTTP parser would otherwise drop the connection."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            target = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            header_bytes = sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))
            status = 414 if target > MAX_TARGET_BYTES else 431 if header_bytes > MAX_HEADER_BYTES else None
            if status is not None:
                reason = "request target too long" if status == 414 else "request headers too large"
                await JSONResponse(status_code=status, content={"detail": reason})(scope, receive, send)
                return
        await self.app(scope, receive, send)


def dashboard() -> FileResponse:
    """The single-page dashboard; its script asks the API for data (and for a token when one is needed)."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Content-Security-Policy": DASHBOARD_CSP})


def _invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
    """422 with FastAPI's per-field ``detail`` plus a one-line ``message`` naming each bad field."""
    problems = error.errors()
    message = "; ".join(f"{'.'.join(str(part) for part in p['loc'][1:]) or p['loc'][0]}: {p['msg']}" for p in problems)
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(problems), "message": message})


def _database_unavailable(request: Request, error: Exception) -> JSONResponse:
    log.error("database unavailable during %s %s: %s", request.method, request.url.path, getattr(error, "orig", error))
    return JSONResponse(status_code=503, content={"detail": "database unavailable; try again later"})


def _internal_error(request: Request, error: Exception) -> JSONResponse:
    log.error("unhandled error during %s %s", request.method, request.url.path, exc_info=error)
    return JSONResponse(status_code=500, content={"detail": "internal server error"})
