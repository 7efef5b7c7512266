"""The contract between training (which writes ONNX models) and the runtime (which reads them).

An exported model carries everything inference needs in its ONNX ``metadata_props``, so a model file
is self-describing: class names and their order, input size, channels, layout and normalisation, and
what the validation split says about its outputs: the temperature that calibrates its probabilities and
its confusion matrix, which aggregate reports use to correct emotion shares
(:mod:`storemood.analytics.quantification`; ``benchmarks/quantification.py --write`` fits both).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

METADATA_KEY = "storemood"


@dataclass(frozen=True)
class ModelInfo:
    """What a classifier model expects and produces.

    Input: float32 tensor ``(N, size, size, channels)`` (``layout="NHWC"``) of pixel values ``p``
    normalised as ``(p / 255 - mean) / std``. Output: ``(N, len(classes))`` probabilities.

    ``temperature`` (1: none fitted) calibrates those probabilities, ``p ∝ p^(1/T)``, which is temperature
    scaling of the logits since a softmax's log-probabilities are the logits up to a constant.
    ``confusion`` is the validation confusion matrix, rows = true class, columns = predicted class, each
    row summing to 1 (empty: not measured); ``calibration`` says on what both were fitted.

    >>> info = ModelInfo(classes=("happy", "neutral"), arch="mood-resnet")
    >>> ModelInfo.from_json(info.to_json()) == info
    True
    """

    classes: tuple[str, ...]
    size: int = 48
    channels: int = 1
    layout: str = "NHWC"
    mean: float = 0.0
    std: float = 1.0
    arch: str = ""
    trained_on: str = ""
    temperature: float = 1.0
    confusion: tuple[tuple[float, ...], ...] = ()
    calibration: str = ""

    def to_json(self) -> str:
        data = asdict(self)
        data["classes"] = list(self.classes)
        data["confusion"] = [list(row) for row in self.confusion]
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelInfo:
        data = json.loads(text)
        data["classes"] = tuple(data["classes"])
        data["confusion"] = tuple(tuple(float(value) for value in row) for row in data.get("confusion", ()))
        return cls(**{key: value for key, value in data.items() if key in cls.__dataclass_fields__})

    def calibrate(self, probabilities: np.ndarray) -> np.ndarray:
        """``(N, C)`` probabilities with the fitted temperature applied (unchanged when it is 1)."""
        if self.temperature == 1.0:
            return probabilities
        logits = np.log(np.clip(probabilities, 1e-12, None)) / self.temperature
        scaled = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (scaled / scaled.sum(axis=1, keepdims=True)).astype(probabilities.dtype)


def read_model_info(path: Path) -> ModelInfo | None:
    """The metadata of the ONNX model at ``path`` without running it; None when it has none."""
    import onnxruntime as ort

    metadata = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
    text = metadata.custom_metadata_map.get(METADATA_KEY)
    return ModelInfo.from_json(text) if text else None
