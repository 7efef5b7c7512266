"""The training loop's callbacks, driven with made-up epochs on a small model: no data, no training."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

from storemood.training import checkpoint
from storemood.training.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    ModelCheckpoint,
    ReduceLROnPlateau,
    Run,
    default_callbacks,
)
from storemood.training.config import EpochResult, TrainConfig
from storemood.training.train import make_optimizer, restart_schedule


def new_run(schedule: str = "plateau") -> Run:
    config = TrainConfig(arch="seed-cnn", classes=("a", "b", "c"), schedule=schedule, learning_rate=0.01)
    model = torch.nn.Linear(4, 3)
    optimizer, scheduler = make_optimizer(model, config, steps_per_epoch=1)
    return Run(config, model, optimizer, scheduler)


def finish_epoch(run: Run, callbacks: list[Callback], val_accuracy: float, holdout_accuracy: float = 0.5) -> None:
    """What the loop does after training an epoch: mark the weights with the epoch, record it, call back."""
    epoch = run.epoch + 1
    torch.nn.init.constant_(run.model.weight, float(epoch))
    lr = run.optimizer.param_groups[0]["lr"]
    run.history.append(EpochResult(epoch, 1.0, 0.5, 1.0, val_accuracy, lr, 1.0, holdout_accuracy=holdout_accuracy))
    for callback in callbacks:
        callback.on_epoch_end(run, run.history[-1])


def test_early_stopping_waits_patience_epochs_after_the_best_and_restores_its_weights():
    run, stopping = new_run(), EarlyStopping(patience=3)
    for accuracy in (0.3, 0.5, 0.4, 0.4):
        finish_epoch(run, [stopping], accuracy)
        assert not run.stop
    finish_epoch(run, [stopping], 0.5)  # equal to the best is no improvement
    assert run.stop
    stopping.on_train_end(run)
    assert torch.all(run.model.weight == 2.0)  # epoch 2's weights are back


def test_checkpoints_keep_the_best_and_the_last_epoch_and_a_resume_carries_on(tmp_path: Path):
    run = new_run()
    callbacks = [ModelCheckpoint(tmp_path), EarlyStopping(patience=3)]
    for accuracy in (0.3, 0.5, 0.4):
        finish_epoch(run, callbacks, accuracy)
    best = torch.load(tmp_path / checkpoint.BEST, weights_only=False)
    last = torch.load(tmp_path / checkpoint.LAST, weights_only=False)
    assert (best["epoch"], best["best_val_accuracy"]) == (2, 0.5)
    assert (last["epoch"], last["best_val_accuracy"], len(last["history"])) == (3, 0.5, 3)
    assert torch.all(best["model"]["weight"] == 2.0) and torch.all(last["model"]["weight"] == 3.0)

    resumed = new_run()
    checkpoint.resume(resumed, tmp_path / checkpoint.LAST)
    assert resumed.history == run.history and torch.all(resumed.model.weight == 3.0)
    stopping = EarlyStopping(patience=3)  # a new process: the count since the best comes from the history
    finish_epoch(resumed, [stopping], 0.45)
    assert not resumed.stop
    finish_epoch(resumed, [stopping], 0.45)
    assert resumed.stop and resumed.epoch == 5


def new_config_run(schedule: str, epochs: int, **changes) -> Run:
    config = TrainConfig(
        arch="seed-cnn", classes=("a", "b", "c"), schedule=schedule, learning_rate=0.01, epochs=epochs, **changes
    )
    model = torch.nn.Linear(4, 3)
    optimizer, scheduler = make_optimizer(model, config, steps_per_epoch=1)
    return Run(config, model, optimizer, scheduler)


def test_a_resume_with_another_schedule_anneals_over_the_epochs_left(tmp_path: Path):
    """A plateau run stopped after 3 epochs, resumed with ``--schedule cosine --epochs 7``: the rate starts
    at ``--lr`` again and reaches zero after the 4 epochs left; a plateau resume keeps its state but takes
    the new patience."""
    run = new_config_run("plateau", epochs=7)
    for accuracy in (0.3, 0.5, 0.4):
        finish_epoch(run, [ModelCheckpoint(tmp_path)], accuracy)
    run.optimizer.param_groups[0]["lr"] = 0.002  # as if the plateau schedule had lowered it

    cosine = new_config_run("cosine", epochs=7)
    assert not checkpoint.resume(cosine, tmp_path / checkpoint.LAST)
    restart_schedule(cosine, steps_per_epoch=1)
    rates = []
    for _ in range(4):
        rates.append(cosine.optimizer.param_groups[0]["lr"])
        cosine.optimizer.step()
        cosine.scheduler.step()
    assert rates[0] == pytest.approx(0.01) and rates == sorted(rates, reverse=True)
    assert cosine.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-9)

    plateau = new_config_run("plateau", epochs=7, plateau_patience=1)
    assert checkpoint.resume(plateau, tmp_path / checkpoint.LAST)
    assert plateau.scheduler.patience == 1 and plateau.scheduler.best == run.scheduler.best


def test_plateau_schedule_follows_the_holdout_not_validation_and_the_log_records_it(tmp_path: Path):
    run = new_run("plateau")
    callbacks = [ReduceLROnPlateau(), CSVLogger(tmp_path / "log.csv")]
    for epoch in range(7):
        finish_epoch(run, callbacks, val_accuracy=0.3 + 0.01 * epoch, holdout_accuracy=0.5)
    # Patience 5: the sixth epoch without a better holdout accuracy lowers the rate by 0.75, however
    # validation goes.
    expected = [0.01] * 6 + [0.0075]
    assert [h.learning_rate for h in run.history] == pytest.approx(expected)
    with (tmp_path / "log.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [float(row["learning_rate"]) for row in rows] == pytest.approx(expected)
    assert [int(row["epoch"]) for row in rows] == list(range(1, 8))


@pytest.mark.parametrize(("schedule", "first"), [("plateau", ReduceLROnPlateau), ("onecycle", CSVLogger)])
def test_default_callbacks_set_the_rate_before_logging_and_checkpoint_before_stopping(tmp_path, schedule, first):
    callbacks = default_callbacks(TrainConfig(schedule=schedule), tmp_path)
    kinds = [type(callback) for callback in callbacks]
    assert kinds[0] is first
    assert kinds.index(ModelCheckpoint) < kinds.index(EarlyStopping) == len(kinds) - 1
