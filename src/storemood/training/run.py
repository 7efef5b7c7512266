"""A whole training run, as ``storemood train`` does it: load, train, export, evaluate, report.

Everything a run produces lands in its output folder next to the checkpoint, so a run folder is a
complete record: ``best.pt``, ``last.pt``, ``log.csv``, ``model.onnx``, ``evaluation.json``,
``curves.png``, ``confusion.png`` and ``report.md`` (``storemood.training.report``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from storemood.data.ferplus import blend_votes
from storemood.data.loaders import load_splits
from storemood.errors import UserError
from storemood.evaluation import OnnxPredictor, evaluate_predictor
from storemood.training.checkpoint import BEST, load_model
from storemood.training.config import TrainConfig
from storemood.training.evaluate import open_checkpoint
from storemood.training.export import export_onnx
from storemood.training.report import write_run_report
from storemood.training.train import train

log = logging.getLogger(__name__)

CALIBRATION_FACES = 512


def calibration_faces(images: np.ndarray, seed: int) -> np.ndarray:
    """A seeded random sample of training faces for int8 calibration."""
    rng = np.random.default_rng(seed)
    return images[rng.choice(len(images), min(CALIBRATION_FACES, len(images)), replace=False)]


def run_training(config: TrainConfig, out: Path, resume: bool = False, int8: bool = False) -> Path:
    """Train on ``config.data``, export the best checkpoint and report on it; returns the ONNX model's path.

    The exported model is evaluated on the test split when the data has one (validation picked the
    checkpoint, so its score is optimistic), else on the validation split.
    """
    splits = load_splits(
        config.data, config.classes, config.size, config.seed, config.labels or None, config.soft_labels
    )
    log.info("data: %s", {name: len(split) for name, split in splits.items()})
    if config.ferplus_blend > 0:
        splits["train"] = blend_votes(splits["train"], Path(config.ferplus), Path(config.data), config.ferplus_blend)
    history = train(config, splits["train"], splits["val"], out, resume=resume)
    model, config = load_model(out / BEST)
    calibration = calibration_faces(splits["train"].images, config.seed) if int8 else None
    onnx_path = export_onnx(model, config, out / "model.onnx", calibration)
    split = "test" if "test" in splits else "val"
    context = {"data": config.data, "split": split, "labels": config.labels or None}
    evaluation = evaluate_predictor(OnnxPredictor(onnx_path), splits[split], **context)
    log.info("report: %s", write_run_report(out, config, history, evaluation))
    return onnx_path


def export_checkpoint(checkpoint: Path, out: Path, int8: bool = False, calibration: Path | None = None) -> Path:
    """``storemood export-onnx``: a checkpoint as ONNX, int8 when asked (calibrated on ``calibration``'s
    training faces, by default on the data the checkpoint was trained on)."""
    model, config = open_checkpoint(checkpoint)
    faces = None
    if int8:
        source = calibration or Path(config.data)
        if not str(source) or not source.exists():
            raise UserError(f"--int8 needs calibration faces: {source} does not exist; pass --calibration DATA")
        faces = calibration_faces(load_splits(source, config.classes, config.size, config.seed)["train"].images, 0)
    return export_onnx(model, config, out, faces)
