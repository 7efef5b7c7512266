"""Opening a database: SQLite (WAL) by default, PostgreSQL for a chain; migrated on open.

Any SQLAlchemy URL works. Opening one applies the Alembic migrations shipped in
``storemood/database/migrations`` up to the newest, so a database written by an older storemood is upgraded
in place (migrations only add; they never drop data). On PostgreSQL the upgrade holds an advisory lock,
so many edge machines starting at once upgrade a shared database exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from storemood.database.sqlite_functions import register_sqlite_functions
from storemood.errors import UserError, first_line
from storemood.paths import default_db_url
from storemood.urls import mask_url

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK_KEY = 0x53544F52454D4F4F  # "STOREMOO": one advisory lock id for all storemood upgrades
CONNECT_TIMEOUT_S = 5


class DatabaseUnavailable(UserError):
    """The database could not be reached (server down, network gone, wrong port)."""


def is_sqlite(url: str) -> bool:
    """Whether ``url`` names a SQLite database (a local file or memory), as opposed to a server.

    >>> is_sqlite("sqlite:///shop.db"), is_sqlite("postgresql://db.example/chain")
    (True, False)
    """
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (the user's default SQLite file when None), without connecting yet.

    SQLite gets WAL journaling and a busy timeout, so several camera workers can write one file while a
    report reads it; PostgreSQL gets a short connect timeout, so an unreachable server fails fast.
    """
    url = url or default_db_url()
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            return _sqlite_engine(parsed)
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if parsed.get_backend_name() == "postgresql" else {}
        return sa.create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError, ValueError) as error:
        raise UserError(f"not a usable database URL {mask_url(url)}: {error}") from None
    except ImportError as error:
        raise UserError(
            f"the driver for database URL {mask_url(url)} is not installed ({error.name or error}); install it "
            "with pip, or use sqlite:/// or postgresql+psycopg://"
        ) from None


def _sqlite_engine(parsed: sa.URL) -> Engine:
    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).expanduser().resolve().parent
        if not folder.is_dir():
            raise UserError(f"folder {folder} of database {parsed.database} does not exist")
    engine = sa.create_engine(parsed, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        register_sqlite_functions(dbapi_connection)

    return engine


def open_database(url: str | None = None) -> Engine:
    """Connect, migrate to the newest schema and return the engine; DatabaseUnavailable if unreachable."""
    return _migrated(create_db_engine(url))


def open_existing(url: str | None = None) -> Engine:
    """Like :func:`open_database`, but a SQLite file must exist already: reading never creates one."""
    engine = create_db_engine(url)
    path = engine.url.database
    if engine.dialect.name == "sqlite" and path not in (None, "", ":memory:") and not Path(path).is_file():
        raise UserError(f"no database at {path}; `storemood demo` or `storemood run --store ...` writes one")
    return _migrated(engine)


def _migrated(engine: Engine) -> Engine:
    try:
        migrate(engine)
    except OperationalError as error:
        engine.dispose()
        raise DatabaseUnavailable(f"cannot reach database {mask_url(engine.url)}: {first_line(error)}") from None
    return engine


def migrate(engine: Engine, revision: str = "head") -> None:
    """Apply the shipped migrations up to ``revision`` (default: the newest)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with _sqlite_file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Serialise schema creation on one SQLite file across processes (PostgreSQL uses an advisory lock).

    Two processes starting on a brand-new file would otherwise both try to create the tables. The lock is
    an flock on the database file itself, which SQLite's own (fcntl) locks do not see.
    """
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    import fcntl

    with open(path, "a") as lock:  # an empty file is an empty SQLite database
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
