"""mood-ensemble: two members trained side by side, averaged in PyTorch and in the exported ONNX file."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from storemood.evaluation import OnnxPredictor
from storemood.model_metadata import METADATA_KEY
from storemood.training.checkpoint import load_model
from storemood.training.models import Ensemble, build_model, member_count, member_logits
from storemood.training.train import predict, to_tensor


@pytest.mark.slow
def test_ensemble_probabilities_are_the_mean_of_its_members(trained_run, fer_small_val):
    model, config = load_model(trained_run / "best.pt")
    assert config.arch == "mood-ensemble" and isinstance(model, Ensemble) and member_count(model) == 2
    x = to_tensor(fer_small_val.images)
    with torch.no_grad():
        each = [torch.softmax(member(x), dim=1).numpy() for member in model.members]
    np.testing.assert_allclose(predict(model, fer_small_val.images), np.mean(each, axis=0), atol=1e-6)
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


@pytest.mark.slow
def test_ensemble_exports_to_one_onnx_file_with_the_same_probabilities(trained_run, fer_small_val):
    model, _ = load_model(trained_run / "best.pt")
    expected = predict(model, fer_small_val.images)
    assert np.abs(OnnxPredictor(trained_run / "model.onnx").predict(fer_small_val.images) - expected).max() < 1e-4
    graph = onnx.load(str(trained_run / "model.onnx"))
    metadata = json.loads(next(p.value for p in graph.metadata_props if p.key == METADATA_KEY))
    assert metadata["arch"] == "mood-ensemble"
