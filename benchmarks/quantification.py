"""How well each quantification method estimates a group's emotion shares, on real faces with known mixes.

Runs the shipped model once over FER2013's validation split (mirrored, as the runtime does), splits it
in two seeded, stratified halves, fits the temperature and the confusion matrix on the first half and
tests on the second: synthetic groups of 30-300 faces drawn (with replacement) from the test half with
known emotion mixes, a third random (Dirichlet), a third at FER2013's own mix, a third far from it
(e.g. 60% happy and 40% neutral). For each method (storemood.analytics.quantification) it prints the mean
absolute error of the estimated shares against the true ones, per mix family and overall.

    .venv/bin/python benchmarks/quantification.py [--val DIR] [--groups 300] [--json] [--write MODEL.onnx]

``--write`` stores the fitted temperature and confusion matrix in that ONNX model's metadata (needs the
``onnx`` package of the train extra); the shipped model carries the ones this script fitted.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from storemood.analytics.policy import METHODS
from storemood.analytics.quantification import adjusted_shares, confusion_matrix, fit_temperature, mean_absolute_error
from storemood.emotions import FER7
from storemood.model_metadata import METADATA_KEY, ModelInfo
from storemood.vision.classifier import EmotionClassifier

ROOT = Path(__file__).resolve().parents[1]
VAL = ROOT.parent / "shared" / "data" / "fer2013" / "val"
#: Mixes far from FER2013's: a store where most shoppers look neutral or happy, or where one reaction dominates.
FAR_MIXES: tuple[dict[str, float], ...] = (
    {"happy": 0.6, "neutral": 0.4},
    {"neutral": 0.8, "happy": 0.2},
    {"neutral": 0.4, "happy": 0.2, "surprise": 0.2, "sad": 0.2},
    {"surprise": 0.5, "happy": 0.5},
    {"sad": 0.5, "neutral": 0.5},
    {"neutral": 0.6, "angry": 0.3, "disgust": 0.1},
)


def load_faces(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 48, 48)`` uint8 faces and their class indices (FER7 order) from a class-folder tree."""
    faces, labels = [], []
    for index, name in enumerate(FER7):
        for file in sorted((folder / name).glob("*.png")):
            faces.append(cv2.resize(cv2.imread(str(file), cv2.IMREAD_GRAYSCALE), (48, 48)))
            labels.append(index)
    return np.stack(faces), np.array(labels)


def halves(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified random half (fit) and the rest (test)."""
    fit = []
    for index in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == index))
        fit.extend(members[: len(members) // 2])
    fit_mask = np.zeros(len(labels), bool)
    fit_mask[fit] = True
    return np.flatnonzero(fit_mask), np.flatnonzero(~fit_mask)


def mixes(count: int, prior: np.ndarray, rng: np.random.Generator) -> list[tuple[str, np.ndarray]]:
    """``count`` (family, mix) pairs: random, FER2013-like and far from FER2013, in equal thirds."""
    far = [np.array([mix.get(name, 0.0) for name in FER7]) for mix in FAR_MIXES]
    chosen = []
    for index in range(count):
        if index % 3 == 0:
            chosen.append(("random", rng.dirichlet(np.ones(len(FER7)))))
        elif index % 3 == 1:
            chosen.append(("fer2013", prior))
        else:
            chosen.append(("far", far[(index // 3) % len(far)]))
    return chosen


def estimates(raw: np.ndarray, calibrated: np.ndarray, confusion: np.ndarray) -> dict[str, np.ndarray]:
    """Each method's shares for one group of faces."""
    counted = np.bincount(raw.argmax(axis=1), minlength=len(FER7)) / len(raw)
    return {"count": counted, "calibrated": calibrated.mean(axis=0), "adjusted": adjusted_shares(counted, confusion)}


def run(val: Path, groups: int, seed: int) -> dict:
    """Fit on one half, measure on synthetic groups from the other; the figures as a dict."""
    rng = np.random.default_rng(seed)
    faces, labels = load_faces(val)
    classifier = EmotionClassifier(threads=2, mirror=True, calibrated=False)
    started = time.perf_counter()
    raw = np.concatenate([classifier.classify_crops(faces[i : i + 256]) for i in range(0, len(faces), 256)])
    seconds = time.perf_counter() - started
    fit, test = halves(labels, rng)
    temperature = fit_temperature(raw[fit], labels[fit])
    confusion = confusion_matrix(labels[fit], raw[fit].argmax(axis=1), len(FER7))
    calibrated = replace(classifier.info, temperature=temperature).calibrate(raw)
    by_class = [test[labels[test] == index] for index in range(len(FER7))]
    prior = np.bincount(labels, minlength=len(FER7)) / len(labels)
    errors: dict[str, dict[str, list[float]]] = {method: {} for method in METHODS}
    for family, mix in mixes(groups, prior, rng):
        counts = rng.multinomial(rng.integers(30, 301), mix)
        chosen = np.concatenate([rng.choice(by_class[i], size=c) for i, c in enumerate(counts) if c])
        truth = counts / counts.sum()
        for method, shares in estimates(raw[chosen], calibrated[chosen], confusion).items():
            errors[method].setdefault(family, []).append(mean_absolute_error(shares, truth))
    return {
        "faces": len(labels),
        "fit_faces": len(fit),
        "test_faces": len(test),
        "groups": groups,
        "seed": seed,
        "temperature": temperature,
        "confusion": confusion.round(4).tolist(),
        "classify_seconds": round(seconds, 1),
        "mae": {method: _means(families) for method, families in errors.items()},
    }


def _means(families: dict[str, list[float]]) -> dict[str, float]:
    """Mean error per mix family and over all groups."""
    every = [error for errors in families.values() for error in errors]
    return {**{family: float(np.mean(errors)) for family, errors in families.items()}, "all": float(np.mean(every))}


def write_model(path: Path, result: dict, val: Path) -> None:
    """Store the fitted temperature and confusion matrix in the model's ``storemood`` metadata."""
    import onnx

    model = onnx.load(str(path))
    entry = next(prop for prop in model.metadata_props if prop.key == METADATA_KEY)
    info = replace(
        ModelInfo.from_json(entry.value),
        temperature=round(result["temperature"], 4),
        confusion=tuple(tuple(row) for row in result["confusion"]),
        calibration=f"temperature and confusion fitted on a seeded stratified half ({result['fit_faces']} faces) "
        f"of {val.parent.name}/{val.name} (FER2013 PublicTest), mirrored",
    )
    entry.value = info.to_json()
    onnx.save(model, str(path))


def markdown(result: dict, command: str) -> str:
    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model_name = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if "Model name" in line), "")
    lines = [
        f"Date: {time.strftime('%Y-%m-%d')}. CPU: {model_name or platform.processor()}. Command: `{command}`.",
        f"{result['groups']} groups of 30-300 faces from {result['test_faces']} test faces; temperature "
        f"{result['temperature']:.3f} and confusion matrix fitted on the other {result['fit_faces']}.",
        "",
        "| method | random mixes | FER2013's mix | far mixes | all |",
        "|---|---|---|---|---|",
    ]
    for method, mae in result["mae"].items():
        lines.append(f"| {method} | {mae['random']:.4f} | {mae['fer2013']:.4f} | {mae['far']:.4f} | {mae['all']:.4f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--val", type=Path, default=VAL, help="class-folder tree of validation faces")
    parser.add_argument("--groups", type=int, default=300, help="synthetic groups (at least 200 for the record)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of Markdown")
    parser.add_argument("--write", type=Path, metavar="MODEL", help="store the fit in this ONNX model's metadata")
    args = parser.parse_args()
    result = run(args.val, args.groups, args.seed)
    if args.write:
        write_model(args.write if args.write.is_absolute() else Path.cwd() / args.write, result, args.val)
    print(json.dumps(result, indent=2) if args.json else markdown(result, "python benchmarks/quantification.py"))


if __name__ == "__main__":
    main()
