"""Evaluating training checkpoints (``best.pt``/``last.pt``) with PyTorch, before or without an ONNX export.

The metrics and the report shape are ``storemood.evaluation``'s; this module only adds the PyTorch
predictor, so ``storemood evaluate runs/x/best.pt`` and ``storemood evaluate runs/x/model.onnx`` agree.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import torch

from storemood.errors import UserError
from storemood.training.checkpoint import load_model
from storemood.training.config import TrainConfig
from storemood.training.train import predict


def open_checkpoint(path: Path | str) -> tuple[torch.nn.Module, TrainConfig]:
    """``load_model`` with a one-line UserError for a missing file or one that is no storemood checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    try:
        return load_model(path)
    except (KeyError, TypeError, RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError) as error:
        raise UserError(f"{path} is not a storemood training checkpoint ({type(error).__name__})") from error


class CheckpointPredictor:
    """A checkpoint's model in PyTorch; ``tta`` averages each face with its mirror image."""

    def __init__(self, path: Path, tta: bool = False, threads: int = 0) -> None:
        self.model, self.config = open_checkpoint(path)
        self.path, self.classes, self.size, self.tta = Path(path), tuple(self.config.classes), self.config.size, tta
        torch.set_num_threads(threads or os.cpu_count() or 1)

    def predict(self, faces: np.ndarray) -> np.ndarray:
        return predict(self.model, faces, tta=self.tta)
