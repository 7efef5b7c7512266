"""The database of visit events: SQLAlchemy schema, engines (SQLite, PostgreSQL), Alembic migrations,
writes with an outbox for store-and-forward, and retention.

Imports only the visit record and shared helpers (``storemood.visit_record``, ``emotions``, ``errors``,
``paths``): never ``vision/``, ``pipeline/``, ``analytics/``, ``api/`` or ``training/``.
"""
