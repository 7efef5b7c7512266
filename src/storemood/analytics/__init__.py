"""Analytics of stored visit events: aggregates per product, brand, zone, camera, store, hour or day
(``queries``), reports as table, CSV, JSON and HTML (``report``) and their charts (``plots``), and what a
row is for every output (``rows``: the grouping names, the one CSV schema). How sure each figure is:
95% intervals (``uncertainty``), emotion-share estimators (``quantification``), the minimum sample and
minimum group size (``policy``) and the tests behind ``compare`` (``significance``).

Works on events only: imports ``database/`` (the schema it queries), ``emotions``, ``defaults``, ``errors``
and ``model_metadata`` (the shipped model's validation confusion matrix); never ``vision/``, ``pipeline/``,
``api/`` or ``training/``.
"""
