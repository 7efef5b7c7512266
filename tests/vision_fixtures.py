"""Helpers for the vision and pipeline tests: the shipped model, generated test models, real test images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from storemood.model_metadata import METADATA_KEY, ModelInfo
from storemood.paths import DEFAULT_MODEL


def shipped_model() -> Path:
    """The shipped emotion model, or skip (it is trained and added by the lead)."""
    if not DEFAULT_MODEL.is_file():
        pytest.skip(f"the shipped model {DEFAULT_MODEL} is not there yet")
    return DEFAULT_MODEL


def linear_model(path: Path, info: ModelInfo | None, seed: int = 0) -> Path:
    """A tiny ONNX model honouring the storemood contract: flatten, random linear map, softmax.

    ``info=None`` writes no storemood metadata. Built with the ``onnx`` package (a dev dependency).
    """
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    info_or_default = info or ModelInfo(classes=("happy", "sad"))
    size, channels, classes = info_or_default.size, info_or_default.channels, len(info_or_default.classes)
    shape = ["n", channels, size, size] if info_or_default.layout == "NCHW" else ["n", size, size, channels]
    weights = np.random.default_rng(seed).normal(0, 0.05, (size * size * channels, classes)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Flatten", ["image"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "weights"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "linear",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["n", classes])],
        initializer=[numpy_helper.from_array(weights, "weights")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if info is not None:
        helper.set_model_props(model, {METADATA_KEY: info.to_json()})
    onnx.save(model, str(path))
    return path


def paste_face(background: np.ndarray, face: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``background`` with a grayscale face crop resized into ``box`` (x, y, w, h)."""
    x, y, width, height = box
    image = background.copy()
    image[y : y + height, x : x + width] = cv2.cvtColor(cv2.resize(face, (width, height)), cv2.COLOR_GRAY2BGR)
    return image


def iou(a, b) -> float:
    """Intersection over union of two ``x, y, w, h`` boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    inter_w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    inter_h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = inter_w * inter_h
    return inter / (aw * ah + bw * bh - inter)
