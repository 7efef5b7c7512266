"""What the training loop does after each epoch, as Keras callbacks: one small object per concern.

The loop (``storemood.training.train``) trains and validates; everything else is a ``Callback`` it calls
in order with the ``Run`` it is training:

- ``ReduceLROnPlateau``: lower the learning rate when the held-out slice's accuracy stalls (``--schedule plateau``);
- ``CSVLogger``: append the epoch's figures to ``log.csv``;
- ``ProgressLine``: print the epoch's figures on one line;
- ``ModelCheckpoint``: keep the best model by validation accuracy in ``best.pt`` and the latest in ``last.pt``;
- ``EarlyStopping``: stop after ``patience`` epochs without a better validation accuracy and put the best
  weights back into the model;
- ``TimeLimit``: stop after the epoch that passes ``--time-limit`` minutes (``--resume`` continues).

Callbacks keep no state of their own beyond what the run's history says (which epoch was best, how long
ago), so a run resumed from ``last.pt`` carries on exactly where it stopped.
"""

from __future__ import annotations

import copy
import csv
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from storemood.training.checkpoint import BEST, LAST, LOG, save_checkpoint
from storemood.training.config import EpochResult, TrainConfig


@dataclass
class Run:
    """A training run in progress: what the loop trains and what callbacks may look at or change."""

    config: TrainConfig
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau
    ema: AveragedModel | None = None
    class_weights: torch.Tensor | None = None
    teachers: list[torch.nn.Module] = field(default_factory=list)  # frozen, when distilling
    history: list[EpochResult] = field(default_factory=list)
    stop: bool = False  # set by a callback to end training after this epoch

    @property
    def epoch(self) -> int:
        """The last finished epoch (0 before the first)."""
        return self.history[-1].epoch if self.history else 0

    @property
    def validated(self) -> torch.nn.Module:
        """The weights that are validated, checkpointed as best and exported: the average when one is kept."""
        return self.ema.module if self.ema is not None else self.model

    def best_epoch(self) -> EpochResult | None:
        """The first epoch with the highest validation accuracy (a tie is no improvement)."""
        return max(self.history, key=lambda h: h.val_accuracy, default=None)

    def improved(self) -> bool:
        """True when the last epoch is the best so far."""
        return bool(self.history) and self.best_epoch() is self.history[-1]


class Callback:
    """Hooks the training loop calls; each does nothing unless a subclass says otherwise."""

    def on_train_begin(self, run: Run) -> None:
        """Before the first epoch (of this process: after a resume, before the first resumed epoch)."""

    def on_epoch_end(self, run: Run, result: EpochResult) -> None:
        """After an epoch was trained and validated and ``result`` appended to ``run.history``."""

    def on_train_end(self, run: Run) -> None:
        """After the last epoch, or after a callback stopped the run."""


class ReduceLROnPlateau(Callback):
    """Steps a ``torch`` ``ReduceLROnPlateau`` schedule (``run.scheduler``) with the epoch's ``monitor`` figure.

    The epoch's logged learning rate is the one the next epoch starts with, as the schedule just set it.
    """

    def __init__(self, monitor: str = "holdout_accuracy") -> None:
        self.monitor = monitor

    def on_epoch_end(self, run: Run, result: EpochResult) -> None:
        run.scheduler.step(getattr(result, self.monitor))
        result.learning_rate = run.optimizer.param_groups[0]["lr"]


class CSVLogger(Callback):
    """Appends each epoch's ``EpochResult`` to a CSV file (header first when the file is new)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_epoch_end(self, run: Run, result: EpochResult) -> None:
        new = not self.path.exists()
        with self.path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(asdict(result)))
            if new:
                writer.writeheader()
            writer.writerow(asdict(result))


class ProgressLine(Callback):
    """Prints the epoch's losses, accuracies and duration on one line (above tqdm's progress bar)."""

    def on_epoch_end(self, run: Run, result: EpochResult) -> None:
        raw = f" (without EMA {result.raw_val_accuracy:.4f})" if result.raw_val_accuracy is not None else ""
        holdout = f" | holdout acc {result.holdout_accuracy:.4f}" if result.holdout_accuracy is not None else ""
        tqdm.write(
            f"epoch {result.epoch}/{run.config.epochs}: loss {result.loss:.4f} acc {result.accuracy:.4f} | "
            f"val loss {result.val_loss:.4f} val acc {result.val_accuracy:.4f}{raw}{holdout} | {result.seconds:.0f} s"
        )


class ModelCheckpoint(Callback):
    """Saves the run to ``out/best.pt`` when validation accuracy improved and to ``out/last.pt`` every epoch."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def on_epoch_end(self, run: Run, result: EpochResult) -> None:
        if run.improved():
            save_checkpoint(self.out / BEST, run)
        save_checkpoint(self.out / LAST, run)


class EarlyStopping(Callback):
    """Stops the run after ``patience`` epochs without a better validation accuracy; with
    ``restore_best_weights``, the validated model ends with the weights of its best epoch of this process
    (a best epoch from before a resume is in ``best.pt`` only)."""

    def __init__(self, patience: int, restore_best_weights: bool = True) -> None:
        self.patience, self.restore_best_weights = patience, restore_best_weights
        self.best_weights: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, run: Run, result: EpochResult) -> None:
        if run.improved():
            if self.restore_best_weights:
                self.best_weights = copy.deepcopy(run.validated.state_dict())
            return
        stale = result.epoch - run.best_epoch().epoch
        if stale >= self.patience:
            tqdm.write(f"early stopping: no better validation accuracy for {stale} epochs")
            run.stop = True

    def on_train_end(self, run: Run) -> None:
        if self.best_weights is not None:
            run.validated.load_state_dict(self.best_weights)


class TimeLimit(Callback):
    """Stops the run after the epoch that passes ``minutes`` since this process started training; the
    checkpoints and the log are complete, so ``--resume`` continues it."""

    def __init__(self, minutes: float) -> None:
        self.minutes, self.started = minutes, time.monotonic()

    def on_train_begin(self, run: Run) -> None:
        self.started = time.monotonic()

    def on_epoch_end(self, run: Run, result: EpochResult) -> None:
        if not run.stop and time.monotonic() - self.started >= self.minutes * 60:
            tqdm.write(f"time limit of {self.minutes:g} min reached after epoch {result.epoch}; --resume continues")
            run.stop = True


def default_callbacks(config: TrainConfig, out: Path) -> list[Callback]:
    """The callbacks ``storemood train`` runs with, in the order they must run (the schedule sets the
    learning rate the log records; the checkpoint is written before early stopping or the time limit ends
    the run)."""
    schedule: list[Callback] = [ReduceLROnPlateau()] if config.schedule == "plateau" else []
    limit: list[Callback] = [TimeLimit(config.time_limit)] if config.time_limit > 0 else []
    stopping = EarlyStopping(config.patience)
    return [*schedule, CSVLogger(out / LOG), ProgressLine(), ModelCheckpoint(out), stopping, *limit]
