"""Delivery of finished visits: a durable local outbox per destination (the events database, an MQTT broker,
a webhook), emptied by a background courier thread with backoff, so no visit is lost and no camera waits.

May import ``database/`` (the events table is one destination) and ``visit_record``; never ``vision/``,
``pipeline/``, ``api/`` or ``training/``.
"""
