"""storemood: how shoppers react to products and brands, from in-store cameras.

Top-level modules are shared by every package and import none of them: ``errors``, ``paths``, ``emotions``
(label sets), ``config`` (store.yaml), ``image_io``, ``visit_record`` (the stored event) and
``model_metadata``; ``evaluation`` (model metrics) also uses ``data/`` and ``vision/``. Packages, from pixels
to reports: ``vision/`` → ``pipeline/`` → ``database/`` → ``analytics/`` → ``api/``, with ``demo/`` (which
uses them all) and ``cli/`` on top; ``data/`` and ``training/`` build the model offline. Each package's
docstring says what it may import.
"""

__version__ = "0.1.0"
