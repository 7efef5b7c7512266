"""Weight averaging (``--ema``) and decoupled weight decay that spares batch-norm parameters."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from storemood.cli import main
from storemood.data.loaders import load_eval_set
from storemood.training.models import build_model
from storemood.training.train import BEST, LAST, LOG, TrainConfig, load_model, make_optimizer, predict

pytestmark = pytest.mark.slow

EPOCHS = 2


@pytest.fixture(scope="module")
def ema_run(fer_small, tmp_path_factory) -> Path:
    """Two epochs of mood-resnet on 140 real faces, keeping a fast-moving average of the weights."""
    out = tmp_path_factory.mktemp("ema")
    argv = ["train", fer_small, "--arch", "mood-resnet", "--epochs", EPOCHS, "--batch-size", "32"]
    assert main([str(arg) for arg in [*argv, "--ema", "0.9", "--weight-decay", "0.05", "--out", out]]) == 0
    return out


def test_the_checkpoint_serves_the_averaged_weights_it_validated(ema_run, fer_small):
    state = torch.load(ema_run / BEST, map_location="cpu", weights_only=False)
    model, config = load_model(ema_run / BEST)
    assert (config.ema_decay, config.weight_decay) == (0.9, 0.05)
    name = "1.weight"  # the stem convolution
    np.testing.assert_array_equal(model.state_dict()[name], state["ema"][f"module.{name}"])
    assert not torch.equal(state["ema"][f"module.{name}"], state["model"][name])
    # The accuracy logged for the best epoch is the one the loaded (averaged) weights reach.
    val = load_eval_set(fer_small)
    accuracy = float((predict(model, val.images).argmax(axis=1) == val.labels).mean())
    assert accuracy == pytest.approx(state["best_val_accuracy"])


def test_the_log_records_the_trained_weights_accuracy_beside_the_averaged(ema_run):
    with (ema_run / LOG).open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == EPOCHS
    for row in rows:
        assert 0 <= float(row["raw_val_accuracy"]) <= 1 and 0 <= float(row["val_accuracy"]) <= 1
    curves = cv2.imread(str(ema_run / "curves.png"))
    assert curves is not None and curves.std() > 0


def test_resuming_continues_the_average_instead_of_restarting_it(ema_run):
    state = torch.load(ema_run / LAST, map_location="cpu", weights_only=False)
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


@pytest.mark.parametrize(
    ("argv", "message"), [(["--ema", "1.5"], "--ema is a per-step decay"), (["--weight-decay", "-1"], "negative")]
)
def test_bad_ema_and_decay_options_are_refused(tmp_path, capsys, argv, message):
    assert main(["train", str(tmp_path / "no-such-data"), *argv, "--out", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err
