"""The live pipeline around the vision stages: video sources, the frame loop and its sinks, annotated output,
shelf zones, the visit builder and the retail wiring (store.yaml to database).

Imports ``vision/``, ``config``, ``defaults``, ``visit_record`` and, for the retail sinks, ``database/``;
never ``analytics/``, ``training/`` or ``api/``.
"""
