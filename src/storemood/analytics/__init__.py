"""Analytics of stored visit events: aggregates per product, brand, zone, camera, store, hour or day
(``queries``), reports as table, CSV, JSON and HTML (``report``) and their charts (``plots``), and what a
row is for every output (``rows``: the grouping names, the one CSV schema).

Works on events only: imports ``database/`` (the schema it queries), ``emotions``, ``defaults`` and ``errors``; never
``vision/``, ``pipeline/``, ``api/`` or ``training/``.
"""
