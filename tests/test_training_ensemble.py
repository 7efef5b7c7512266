"""mood-ensemble: two members trained side by side, averaged in PyTorch and in the exported ONNX file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from storemood.cli import main
from storemood.data.loaders import load_eval_set
from storemood.evaluation import OnnxPredictor
from storemood.model_metadata import METADATA_KEY
from storemood.training.models import Ensemble, build_model, member_count, member_logits
from storemood.training.train import load_model, predict, to_tensor

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ensemble_run(fer_small, tmp_path_factory) -> Path:
    """Two epochs of mood-ensemble on 140 real faces, exported as int8."""
    out = tmp_path_factory.mktemp("ensemble")
    argv = ["train", fer_small, "--arch", "mood-ensemble", "--epochs", "2", "--batch-size", "32", "--int8"]
    assert main([str(arg) for arg in [*argv, "--out", out]]) == 0
    return out


@pytest.fixture(scope="module")
def val_faces(fer_small):
    return load_eval_set(fer_small)


def test_ensemble_probabilities_are_the_mean_of_its_members(ensemble_run, val_faces):
    model, config = load_model(ensemble_run / "best.pt")
    assert config.arch == "mood-ensemble" and isinstance(model, Ensemble) and member_count(model) == 2
    x = to_tensor(val_faces.images)
    with torch.no_grad():
        each = [torch.softmax(member(x), dim=1).numpy() for member in model.members]
    np.testing.assert_allclose(predict(model, val_faces.images), np.mean(each, axis=0), atol=1e-6)
    # Members start from their own initialisation and see their own augmented views: they disagree.
    assert np.abs(each[0] - each[1]).max() > 0.05


def test_each_member_gets_its_own_view_and_gradient():
    model = build_model("mood-ensemble", 7).train()
    views = [torch.rand(4, 1, 48, 48), torch.zeros(4, 1, 48, 48)]
    logits = member_logits(model, views)
    assert [tuple(out.shape) for out in logits] == [(4, 7), (4, 7)]
    logits[0].sum().backward()
    first, second = (next(member.parameters()).grad for member in model.members)
    assert first is not None and first.abs().sum() > 0 and second is None
    plain = build_model("mood-resnet", 7)
    assert member_count(plain) == 1 and len(member_logits(plain, views[:1])) == 1


def test_ensemble_exports_to_one_onnx_file_with_the_same_probabilities(ensemble_run, val_faces, tmp_path, capsys):
    assert main(["export-onnx", str(ensemble_run / "best.pt"), str(tmp_path / "float.onnx")]) == 0
    model, _ = load_model(ensemble_run / "best.pt")
    expected = predict(model, val_faces.images)
    assert np.abs(OnnxPredictor(tmp_path / "float.onnx").predict(val_faces.images) - expected).max() < 1e-4
    quantized = OnnxPredictor(ensemble_run / "model.onnx").predict(val_faces.images)
    np.testing.assert_allclose(quantized.sum(axis=1), 1.0, atol=1e-4)
    assert np.abs(quantized - expected).mean() < 0.05
    graph = onnx.load(str(ensemble_run / "model.onnx"))
    metadata = json.loads(next(p.value for p in graph.metadata_props if p.key == METADATA_KEY))
    assert metadata["arch"] == "mood-ensemble"
