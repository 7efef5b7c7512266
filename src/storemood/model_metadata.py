"""The contract between training (which writes ONNX models) and the runtime (which reads them).

An exported model carries everything inference needs in its ONNX ``metadata_props``, so a model file
is self-describing: class names and their order, input size, channels, layout and normalisation.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

METADATA_KEY = "storemood"


@dataclass(frozen=True)
class ModelInfo:
    """What a classifier model expects and produces.

    Input: float32 tensor ``(N, size, size, channels)`` (``layout="NHWC"``) of pixel values ``p``
    normalised as ``(p / 255 - mean) / std``. Output: ``(N, len(classes))`` probabilities.

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

    def to_json(self) -> str:
        data = asdict(self)
        data["classes"] = list(self.classes)
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelInfo:
        data = json.loads(text)
        data["classes"] = tuple(data["classes"])
        return cls(**{key: value for key, value in data.items() if key in cls.__dataclass_fields__})
