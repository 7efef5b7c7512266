"""Alembic environment: storemood runs migrations programmatically on an open connection.

``storemood.database.engine.migrate`` passes the connection in ``config.attributes["connection"]``; there
is no alembic.ini and no offline (SQL script) mode.
"""

from __future__ import annotations

from alembic import context

from storemood.database.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
