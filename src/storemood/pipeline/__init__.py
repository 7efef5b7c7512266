"""The live pipeline around the vision stages: video sources, the frame loop and its sinks, annotated output,
shelf zones, the visit builder, the retail wiring (store.yaml to database) and the demo.

Imports ``vision/``, ``config``, ``visit_record`` and, for the retail sinks and the demo's report,
``database/`` and ``analytics/``; never ``training/`` or ``api/``.
"""
