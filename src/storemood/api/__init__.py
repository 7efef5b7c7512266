"""The web app of ``storemood serve``: REST API, dashboard and offline API docs (see :mod:`storemood.api.app`).

Serves what ``analytics/`` computes: imports ``analytics/``, ``database/``, ``emotions``, ``defaults``,
``times`` and ``errors``; never ``vision/``, ``pipeline/`` or ``training/``.
"""
