"""Showing URLs without their secrets: camera, broker and webhook URLs may carry a password."""

from __future__ import annotations

from urllib.parse import urlsplit


def mask_url(url: object) -> str:
    """The URL (a string, or a SQLAlchemy URL) with any password replaced by ``***``, fit for messages, logs
    and summaries.

    >>> mask_url("rtsp://admin:hunter2@10.0.0.5/stream")
    'rtsp://admin:***@10.0.0.5/stream'
    >>> mask_url("postgresql+psycopg://storemood:secret@db.example/chain")
    'postgresql+psycopg://storemood:***@db.example/chain'
    >>> mask_url("video.mp4")
    'video.mp4'
    """
    url = str(url)  # a SQLAlchemy URL prints its password as *** already
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{password}@", ":***@", 1)).geturl()
