"""What a training run leaves for people beside its checkpoint: curves, confusion matrix, evaluation, report.

- ``curves.png``: accuracy and loss per epoch, training against validation (over- or under-fitting at a glance);
- ``confusion.png``: the confusion matrix normalised per true class (which emotions are mistaken for which);
- ``evaluation.json``: the ``storemood evaluate --json`` object of the exported model;
- ``report.md``: a short human-readable summary that links them.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: training runs on servers without a display
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from storemood.training.checkpoint import LOG
from storemood.training.config import EpochResult, TrainConfig

CURVES, CONFUSION, EVALUATION, REPORT = "curves.png", "confusion.png", "evaluation.json", "report.md"


def plot_curves(history: list[EpochResult], path: Path) -> Path:
    """Accuracy and loss per epoch, training and validation side by side (with an EMA, validation is the
    averaged weights' and the trained weights' accuracy is drawn beside it)."""
    epochs = [h.epoch for h in history]
    averaged = any(h.raw_val_accuracy is not None for h in history)
    figure, (accuracy, loss) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for axes, key, title in ((accuracy, "accuracy", "accuracy"), (loss, "loss", "loss (cross-entropy)")):
        axes.plot(epochs, [getattr(h, key) for h in history], marker=".", label="train (augmented)")
        label = "validation (EMA weights)" if averaged else "validation"
        axes.plot(epochs, [getattr(h, f"val_{key}") for h in history], marker=".", label=label)
        axes.set(title=title, xlabel="epoch")
    if averaged:
        raw = [h.raw_val_accuracy for h in history]
        accuracy.plot(epochs, raw, marker=".", alpha=0.6, label="validation (trained weights)")
    for axes in (accuracy, loss):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_confusion(evaluation: dict, path: Path) -> Path:
    """The confusion matrix with each true class's row normalised to 1, annotated with the shares."""
    counts = np.asarray(evaluation["confusion"], dtype=np.float64)
    shares = counts / np.clip(counts.sum(axis=1, keepdims=True), 1, None)
    classes = evaluation["classes"]
    figure, axes = plt.subplots(figsize=(1.0 * len(classes) + 2, 1.0 * len(classes) + 1.5), constrained_layout=True)
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axes.set(
        xticks=range(len(classes)),
        yticks=range(len(classes)),
        xlabel="predicted",
        ylabel="true",
        title=f"accuracy {evaluation['accuracy']:.3f}, macro-F1 {evaluation['macro_f1']:.3f} (n={evaluation['n']})",
    )
    axes.set_xticklabels(classes, rotation=45, ha="right")
    axes.set_yticklabels(classes)
    for (row, column), share in np.ndenumerate(shares):
        axes.text(column, row, f"{share:.2f}", ha="center", va="center", color="white" if share > 0.5 else "black")
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def report_markdown(config: TrainConfig, history: list[EpochResult], evaluation: dict) -> str:
    """A short run report: what was trained on what, how it went, how good the exported model is."""
    best = max(history, key=lambda h: h.val_accuracy)
    rows = "\n".join(
        f"| {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |"
        for name, s in evaluation["per_class"].items()
    )
    settings = ", ".join(f"{key}={value}" for key, value in asdict(config).items() if key not in ("classes", "data"))
    return f"""# Training run: {config.arch} on {config.data}

- Classes: {", ".join(config.classes)}
- Settings: {settings}
- Epochs run: {len(history)} ({sum(h.seconds for h in history) / 60:.1f} min); best validation accuracy
  {best.val_accuracy:.4f} at epoch {best.epoch} (that checkpoint was exported)
- Exported model on the **{evaluation["split"]}** split ({evaluation["n"]} faces): accuracy
  **{evaluation["accuracy"]:.4f}**, macro-F1 **{evaluation["macro_f1"]:.4f}**

| class | precision | recall | F1 | support |
|---|---|---|---|---|
{rows}

Files: `{LOG}` (per-epoch log), [`{CURVES}`]({CURVES}) (training curves), [`{CONFUSION}`]({CONFUSION})
(confusion matrix), `{EVALUATION}` (all metrics), `model.onnx` (the exported model).
"""


def write_run_report(out: Path, config: TrainConfig, history: list[EpochResult], evaluation: dict) -> Path:
    """Write curves, confusion matrix, evaluation JSON and the markdown report into ``out``; returns the report."""
    plot_curves(history, out / CURVES)
    plot_confusion(evaluation, out / CONFUSION)
    (out / EVALUATION).write_text(json.dumps(evaluation, indent=2) + "\n")
    report = out / REPORT
    report.write_text(report_markdown(config, history, evaluation))
    return report
