"""A throwaway PostgreSQL schema, so that tests and benchmarks share one server without touching anyone's tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from storemood.database.engine import DatabaseUnavailable, create_db_engine
from storemood.errors import first_line
from storemood.urls import mask_url


@contextmanager
def scratch_schema(server_url: str, prefix: str = "storemood_scratch") -> Iterator[str]:
    """A PostgreSQL URL whose tables live in a new, uniquely named schema, dropped afterwards.

    Tests and benchmarks use it to share one server (and one database) without touching anyone's
    tables. Raises DatabaseUnavailable when the server cannot be reached.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = create_db_engine(server_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as error:
        engine.dispose()
        raise DatabaseUnavailable(f"cannot reach database {mask_url(server_url)}: {first_line(error)}") from None
    try:
        yield (
            make_url(server_url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
