"""How good an emotion model is on labelled faces: accuracy, macro-F1, per-class scores, confusion matrix.

ONNX models (the normal case) run through the runtime's own ``EmotionClassifier``, so what is measured is
exactly what ``storemood run`` would see, and nothing here needs a training framework: metrics are plain
numpy. Any ``Predictor`` can be measured: ``storemood.training.evaluate.CheckpointPredictor`` measures training
checkpoints (``.pt``) the same way. This module imports nothing from ``storemood.training``; training imports it.

``evaluate_model(predictor, data)`` reads a labelled data set (``storemood evaluate``); the same measurement on
faces already in memory, here the one face of a photo that ships with scikit-image:

>>> import cv2
>>> from skimage import data
>>> from storemood.vision.crop import crop_faces
>>> from storemood.paths import DEFAULT_MODEL
>>> from storemood.vision.detectors import create_detector
>>> photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
>>> crops = crop_faces(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), create_detector().detect(photo), 48)
>>> faces = ImageSet.from_names(crops, ["happy"], ("happy", "neutral"), ["astronaut"])
>>> report = evaluate_predictor(OnnxPredictor(DEFAULT_MODEL), faces)  # the shipped model, restricted to 2 classes
>>> report["n"], report["accuracy"], report["confusion"]
(1, 1.0, [[1, 0], [0, 0]])
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from storemood.data.dataset import ImageSet
from storemood.data.loaders import pick_eval_split, read_labelled
from storemood.emotions import restrict
from storemood.errors import UserError

BATCH = 256


class Predictor(Protocol):
    """Anything that turns ``(N, size, size)`` uint8 faces into ``(N, len(classes))`` probabilities."""

    path: Path
    classes: tuple[str, ...]
    size: int
    tta: bool

    def predict(self, faces: np.ndarray) -> np.ndarray: ...


class OnnxPredictor:
    """An ONNX model run by ONNX Runtime (the runtime's classifier); ``tta`` averages each face with its mirror."""

    def __init__(self, path: Path, tta: bool = False, threads: int = 0) -> None:
        from storemood.vision.classifier import EmotionClassifier

        self.classifier = EmotionClassifier(path, threads=threads or os.cpu_count() or 1, mirror=tta)
        self.path, self.classes, self.size = Path(path), self.classifier.classes, self.classifier.info.size
        self.tta = tta

    def predict(self, faces: np.ndarray) -> np.ndarray:
        return self.classifier.classify_crops(faces)


def predict_in_batches(predictor: Predictor, faces: np.ndarray) -> np.ndarray:
    """All faces' probabilities, a batch at a time, with a progress bar on a terminal."""
    from tqdm import tqdm

    starts = range(0, len(faces), BATCH)
    batches = [predictor.predict(faces[i : i + BATCH]) for i in tqdm(starts, "evaluating", unit="batch", disable=None)]
    return np.concatenate(batches) if batches else np.zeros((0, len(predictor.classes)), np.float32)


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """``(C, C)`` counts: row = true class, column = predicted class."""
    pairs = np.asarray(true, np.int64) * n_classes + np.asarray(predicted, np.int64)
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Element-wise ratio that is 0 where the denominator is 0 (no support, or never predicted)."""
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def classification_metrics(true: np.ndarray, probabilities: np.ndarray, classes: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    Macro-F1 averages over the classes that occur in the data or the predictions (as scikit-learn does), so
    a class absent from a small evaluation set does not count as a zero.

    >>> probabilities = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8]])
    >>> metrics = classification_metrics(np.array([0, 0, 1]), probabilities, ["happy", "sad"])
    >>> round(metrics["accuracy"], 3), metrics["per_class"]["sad"]["precision"], metrics["confusion"]
    (0.667, 0.5, [[1, 1], [0, 1]])
    """
    confusion = confusion_matrix(true, probabilities.argmax(axis=1), len(classes))
    hits = np.diag(confusion).astype(np.float64)
    support, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    precision, recall = _ratio(hits, predicted), _ratio(hits, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    present = (support + predicted) > 0
    return {
        "n": len(true),
        "accuracy": float(hits.sum() / max(len(true), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
        "confusion": confusion.tolist(),
        "classes": list(classes),
    }


def evaluate_predictor(predictor: Predictor, faces: ImageSet, **context: object) -> dict:
    """Metrics of ``predictor`` on ``faces``, plus ``context`` (data path, split); a model with more classes
    than the faces is restricted to the faces' classes."""
    started = time.perf_counter()
    missing = [name for name in faces.classes if name not in predictor.classes]
    if missing:
        raise UserError(f"{predictor.path} has no output for {', '.join(missing)} (it knows {predictor.classes})")
    probabilities = predict_in_batches(predictor, faces.images)
    if tuple(faces.classes) != tuple(predictor.classes):
        probabilities = restrict(probabilities, predictor.classes, faces.classes)
    report = classification_metrics(faces.labels, probabilities, faces.classes)
    report.update(model=str(predictor.path), model_classes=list(predictor.classes), tta=predictor.tta, **context)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def evaluate_model(
    predictor: Predictor,
    data: Path | str,
    classes: Sequence[str] | None = None,
    labels: Path | str | None = None,
    soft: bool = False,
    split: str | None = None,
) -> dict:
    """Evaluate a model on DATA (any layout ``storemood.data.loaders`` reads); the ``evaluate --json`` object.

    ``classes`` evaluates on a subset (e.g. retail4): only faces of those classes, with the model's output
    restricted to them. ``split`` picks the part of DATA (default: validation, else test, else all).
    ``seconds`` is the whole evaluation, reading DATA included.
    """
    started = time.perf_counter()
    wanted = tuple(classes) if classes else predictor.classes
    splits = read_labelled(data, wanted, predictor.size, labels, soft)
    chosen = pick_eval_split(splits, split, data)
    context = {"data": str(data), "split": chosen, "labels": str(labels) if labels else None}
    report = evaluate_predictor(predictor, splits[chosen], **context)
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def print_report(report: dict) -> None:
    """The report as a per-class table, the confusion matrix and a summary line, for people."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    scores = Table(title=f"{report['model']} on {report['data']} ({report['split']}, {report['n']} faces)")
    for column in ("class", "precision", "recall", "F1", "support"):
        scores.add_column(column, justify="left" if column == "class" else "right")
    for name, row in report["per_class"].items():
        scores.add_row(name, *(f"{row[key]:.3f}" for key in ("precision", "recall", "f1")), str(row["support"]))
    console.print(scores)
    confusion = Table(title="confusion (rows: true class, columns: predicted)")
    confusion.add_column("true \\ predicted")
    for name in report["classes"]:
        confusion.add_column(name[:8], justify="right")
    for name, row in zip(report["classes"], report["confusion"], strict=True):
        confusion.add_row(name, *map(str, row))
    console.print(confusion)
    console.print(
        f"accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}  "
        f"({'with' if report['tta'] else 'no'} mirror TTA, {report['seconds']:.1f} s)"
    )
