"""Per-frame vision: face detectors, face crops, the ONNX emotion classifier, the tracker and the smoother.

Imports only ``image_io``, ``model_metadata``, ``paths``, ``defaults`` and ``errors``; never ``training/`` (the runtime
needs no training framework) or ``database/`` (no pixels ever reach storage). ``storemood.pipeline.loop``
chains the stages.
"""
