"""Weight averaging (``--ema``) and decoupled weight decay that spares batch-norm parameters."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest
import torch

from storemood.training.checkpoint import BEST, LAST, LOG, load_model
from storemood.training.config import TrainConfig
from storemood.training.models import build_model
from storemood.training.train import make_optimizer, predict

EPOCHS = 2  # the shared run's (conftest.TRAINED_RUN_ARGS)
STEM = "members.0.1.weight"  # the first member's stem convolution


def accuracy(model: torch.nn.Module, faces) -> float:
    return float((predict(model, faces.images).argmax(axis=1) == faces.labels).mean())


@pytest.mark.slow
def test_the_checkpoint_serves_the_averaged_weights_it_validated(trained_run, fer_small_val):
    state = torch.load(trained_run / BEST, map_location="cpu", weights_only=False)
    model, config = load_model(trained_run / BEST)
    assert (config.ema_decay, config.weight_decay) == (0.9, 0.05)
    np.testing.assert_array_equal(model.state_dict()[STEM], state["ema"][f"module.{STEM}"])
    assert not torch.equal(state["ema"][f"module.{STEM}"], state["model"][STEM])
    # The accuracy logged for the best epoch is the one the loaded (averaged) weights reach.
    assert accuracy(model, fer_small_val) == pytest.approx(state["best_val_accuracy"])


@pytest.mark.slow
def test_the_log_records_the_trained_weights_accuracy_beside_the_averaged(trained_run, fer_small_val):
    with (trained_run / LOG).open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["epoch"]) for row in rows] == list(range(1, EPOCHS + 1))
    # The last row's raw_val_accuracy is what the last epoch's trained (not averaged) weights reach.
    state = torch.load(trained_run / LAST, map_location="cpu", weights_only=False)
    trained = build_model(state["config"]["arch"], 7)
    trained.load_state_dict(state["model"])
    assert float(rows[-1]["raw_val_accuracy"]) == pytest.approx(accuracy(trained.eval(), fer_small_val))
    # curves.png draws three accuracy lines: training, validation (averaged) and validation (trained weights,
    # at alpha 0.6 on white), in matplotlib's first three line colours.
    curves = cv2.imread(str(trained_run / "curves.png")).astype(int)
    for hex_colour, alpha in (("#1f77b4", 1.0), ("#ff7f0e", 1.0), ("#2ca02c", 0.6)):
        bgr = np.array([int(hex_colour[i : i + 2], 16) for i in (5, 3, 1)]) * alpha + 255 * (1 - alpha)
        assert (np.abs(curves - bgr).max(axis=2) <= 2).any(), hex_colour


@pytest.mark.slow
def test_checkpoints_keep_the_average_so_a_resume_continues_it(trained_run):
    state = torch.load(trained_run / LAST, map_location="cpu", weights_only=False)
    steps_per_epoch = int(np.ceil(140 / 32))
    assert int(state["ema"]["n_averaged"]) == EPOCHS * steps_per_epoch


# AdamW shrinks a weight by lr * decay; SGD's first Nesterov step by lr * decay * (1 + momentum 0.9).
@pytest.mark.parametrize(("kind", "shrink"), [("adamw", 0.1 * 0.5), ("sgd", 0.1 * 0.5 * 1.9)])
def test_weight_decay_shrinks_conv_weights_but_spares_batch_norm(kind, shrink):
    model = build_model("mood-resnet", 7)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            torch.nn.init.constant_(module.weight, 1.0)
    config = TrainConfig(classes=("x",) * 7, learning_rate=0.1, weight_decay=0.5, optimizer=kind, schedule="plateau")
    optimizer, _ = make_optimizer(model, config, steps_per_epoch=1)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # no gradient: the step is the weight decay alone
    optimizer.step()
    for name, p in model.named_parameters():
        expected = before[name] * (1 - shrink) if p.ndim > 1 else before[name]
        torch.testing.assert_close(p.detach(), expected, msg=name)
