"""Teacher training: the teacher-vgg network, SGD, a plateau schedule driven by a held-out slice of the
training split (never by validation), and a time box that ``--resume`` continues."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from storemood.cli import main
from storemood.data.loaders import load_splits
from storemood.emotions import FER7
from storemood.evaluation import OnnxPredictor
from storemood.training.checkpoint import LAST, LOG, load_model
from storemood.training.config import TrainConfig
from storemood.training.models import ARCHITECTURES, build_model
from storemood.training.train import make_optimizer, predict, split_holdout, to_tensor

TEACHER = ["--arch", "teacher-vgg", "--optimizer", "sgd", "--lr", "0.01", "--schedule", "plateau", "--holdout", "0.1"]
PLATEAU = ["--plateau-factor", "0.5", "--plateau-patience", "0"]
EPOCHS = 3


def read_log(out: Path) -> list[dict[str, str]]:
    with (out / LOG).open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def teacher_run(fer_small, tmp_path_factory) -> tuple[Path, list[dict[str, str]]]:
    """A teacher run on 140 real faces stopped by its time limit after one epoch, then resumed to the end;
    returns the run folder and the log as the time limit left it."""
    out = tmp_path_factory.mktemp("teacher")
    argv = ["train", fer_small, *TEACHER, *PLATEAU, "--epochs", EPOCHS, "--batch-size", "32", "--out", out]
    assert main([str(arg) for arg in [*argv, "--time-limit", "1e-6"]]) == 0
    stopped = read_log(out)
    assert main([str(arg) for arg in [*argv, "--resume"]]) == 0
    return out, stopped


@pytest.mark.slow
def test_the_time_limit_stops_after_an_epoch_and_resume_continues(teacher_run):
    out, stopped = teacher_run
    assert [row["epoch"] for row in stopped] == ["1"]
    assert [row["epoch"] for row in read_log(out)] == [str(epoch) for epoch in range(1, EPOCHS + 1)]
    assert torch.load(out / LAST, map_location="cpu", weights_only=False)["epoch"] == EPOCHS


@pytest.mark.slow
def test_the_plateau_schedule_follows_the_holdout_accuracy(teacher_run):
    """Replays reduce-on-plateau (patience 0, factor 0.5) on the logged holdout accuracies."""
    rows = read_log(teacher_run[0])
    rate, best = 0.01, -1.0
    for row in rows:
        accuracy = float(row["holdout_accuracy"])
        if accuracy > best * (1 + 1e-4):
            best = accuracy
        else:
            rate *= 0.5
        assert float(row["learning_rate"]) == pytest.approx(rate)


@pytest.mark.slow
def test_the_teacher_exports_to_onnx_with_its_probabilities(teacher_run, fer_small_val):
    model, config = load_model(teacher_run[0] / "best.pt")
    assert (config.arch, config.optimizer, config.holdout) == ("teacher-vgg", "sgd", 0.1)
    assert sum(p.numel() for p in model.parameters()) < 6_000_000
    exported = OnnxPredictor(teacher_run[0] / "model.onnx").predict(fer_small_val.images)
    assert np.abs(exported - predict(model, fer_small_val.images)).max() < 1e-4


def test_the_holdout_is_a_disjoint_stratified_seeded_slice_of_training(fer_small):
    train = load_splits(fer_small)["train"]
    kept, holdout = split_holdout(train, 0.1, seed=0)
    assert set(kept.sources).isdisjoint(holdout.sources)
    assert sorted(kept.sources + holdout.sources) == sorted(train.sources)
    assert set(holdout.counts().values()) == {2} and set(kept.counts().values()) == {18}  # 20 faces per class
    assert split_holdout(train, 0.1, seed=0)[1].sources == holdout.sources
    assert split_holdout(train, 0.1, seed=1)[1].sources != holdout.sources
    assert split_holdout(train, 0.0, seed=0) == (train, None)


def test_the_plateau_schedule_lowers_the_rate_when_the_metric_stalls():
    config = TrainConfig(classes=("x",) * 7, learning_rate=0.1, schedule="plateau", plateau_factor=0.75)
    optimizer, scheduler = make_optimizer(build_model("mood-resnet", 7), config, steps_per_epoch=1)
    rates = []
    for accuracy in [0.3, 0.4] + [0.4] * 6 + [0.5]:
        scheduler.step(accuracy)
        rates.append(optimizer.param_groups[0]["lr"])
    # Best 0.4 at step 2; the 6th epoch without a better one (patience 5) lowers the rate by 0.75.
    assert rates == pytest.approx([0.1] * 7 + [0.075] * 2)


def test_plateau_schedule_without_holdout_is_refused(tmp_path, capsys):
    argv = ["train", str(tmp_path / "no-such-data"), "--schedule", "plateau", "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    assert "needs --holdout" in capsys.readouterr().err


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_learns_a_batch_of_real_faces(arch, fer_small_val):
    """Logits of the class count for real faces, and a few Adam steps on them lower their loss."""
    torch.manual_seed(0)
    model = build_model(arch, len(FER7)).train()
    some = slice(None, None, 3)  # 19 of the 56 faces: enough to learn from, quick to step through
    faces, labels = to_tensor(fer_small_val.images[some]), torch.from_numpy(fer_small_val.labels[some])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        loss = torch.nn.functional.cross_entropy(model(faces), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert model.eval()(faces).shape == (len(faces), len(FER7))
    assert max(losses[-2:]) < losses[0]
