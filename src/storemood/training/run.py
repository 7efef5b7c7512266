"""A whole training run, as ``storemood train`` does it: load, train, export, evaluate, report.

Everything a run produces lands in its output folder next to the checkpoint, so a run folder is a
complete record: ``best.pt``, ``last.pt``, ``log.csv``, ``model.onnx`` and the evaluation artefacts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from storemood.data.loaders import load_splits
from storemood.training.export import export_onnx
from storemood.training.train import BEST, TrainConfig, load_model, train

log = logging.getLogger(__name__)

CALIBRATION_FACES = 512


def calibration_faces(images: np.ndarray, seed: int) -> np.ndarray:
    """A seeded random sample of training faces for int8 calibration."""
    rng = np.random.default_rng(seed)
    return images[rng.choice(len(images), min(CALIBRATION_FACES, len(images)), replace=False)]


def run_training(config: TrainConfig, out: Path, resume: bool = False, int8: bool = False) -> Path:
    """Train on ``config.data`` and export the best checkpoint; returns the ONNX model's path."""
    splits = load_splits(config.data, config.classes, config.size, config.seed)
    log.info("data: %s", {name: len(split) for name, split in splits.items()})
    train(config, splits["train"], splits["val"], out, resume=resume)
    model, config = load_model(out / BEST)
    calibration = calibration_faces(splits["train"].images, config.seed) if int8 else None
    return export_onnx(model, config, out / "model.onnx", calibration)
