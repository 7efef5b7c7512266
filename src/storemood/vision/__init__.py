"""Per-frame vision: face detectors, face crops, the ONNX emotion classifier, the tracker and the smoother.

Nothing here imports ``training/`` or ``database/``: the runtime needs no training framework, and no pixels
ever reach storage. See ``storemood.pipeline.loop`` for how the stages are chained.
"""
