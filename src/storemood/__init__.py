"""storemood: how shoppers react to products and brands, from in-store cameras.

The Python API (:mod:`storemood.library`, loaded on first use so ``import storemood`` stays instant):

- ``storemood.analyze(image)``: faces and emotions in one image (path, BGR array or PIL image);
- ``storemood.stream(source, sinks=...)``: per-frame results with track ids from a video, webcam or URL;
- ``storemood.visits(db, since=..., until=...)``: stored visits as rows or a pandas DataFrame.

Top-level modules are shared by every package and import none of them: ``errors``, ``paths``, ``emotions``
(label sets and their colours), ``defaults`` (default settings), ``times`` (reading user times),
``config`` (store.yaml), ``image_io``, ``urls``, ``interrupts``, ``visit_record`` (the stored
event) and ``model_metadata``; ``evaluation`` (model metrics) also uses ``data/`` and ``vision/``; ``library``
and ``interop`` (supervision adapters) sit on top of ``vision/``, ``pipeline/`` and ``analytics/``. Packages,
from pixels to reports: ``vision/`` → ``pipeline/`` → ``delivery/`` → ``database/`` → ``analytics/`` →
``api/``, with ``demo/`` (which uses them all) and ``cli/`` on top; ``data/`` and ``training/`` build the
model offline. Each package's docstring says what it may import.
"""

__version__ = "0.1.0"

__all__ = ["analyze", "stream", "visits"]


def __getattr__(name: str):
    """Load the Python API on first use."""
    if name in __all__:
        from storemood import library

        return getattr(library, name)
    raise AttributeError(f"module 'storemood' has no attribute {name!r}")
