"""``Stage``: the one interface of every per-frame step, ``stage.update(faces, frame) -> Faces``.

As in ``supervision``, where a tracker, a smoother and a zone each take the same ``Detections``, each step
here takes the frame's :class:`~storemood.vision.faces.Faces` and returns them with its part filled: the
detector finds them, the tracker gives them ids, the classifier reads them on its per-track schedule, the
smoother steadies their probabilities. What a stage reports beyond boxes travels in ``Faces`` too (the
tracker's ``ended_tracks``, the classifier's ``classified``), so the frame pipeline
(:class:`storemood.pipeline.loop.FramePipeline`) is only a loop over its list of stages.

>>> from types import SimpleNamespace
>>> import numpy as np
>>> from storemood.vision.tracker import FaceTracker
>>> frame = SimpleNamespace(image=np.zeros((480, 640, 3), np.uint8), seconds=0.0)
>>> faces = Faces(boxes=np.array([[10, 10, 50, 50]], np.float32), scores=np.ones(1, np.float32))
>>> stages: list[Stage] = [FaceTracker()]
>>> for stage in stages:
...     faces = stage.update(faces, frame)
>>> faces.track_ids.tolist()
[1]
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from storemood.vision.faces import Faces


class FrameLike(Protocol):
    """What a stage may read of the frame: its BGR pixels and its ``seconds`` since the source's first frame.

    ``storemood.pipeline.sources.Frame`` is one; the protocol keeps ``vision`` free of ``pipeline`` imports.
    """

    @property
    def image(self) -> np.ndarray: ...

    @property
    def seconds(self) -> float: ...


class Stage(Protocol):
    """One per-frame step: takes the frame's faces, returns them with its part filled (never in place)."""

    def update(self, faces: Faces, frame: FrameLike) -> Faces: ...
