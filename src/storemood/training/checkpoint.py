"""Checkpoints: a whole run in one file, to resume it (``last.pt``) or to export and evaluate it (``best.pt``).

A checkpoint holds the config, the trained weights, the weights' moving average (or None), the optimiser's
and the schedule's state, the last finished epoch, the best validation accuracy so far and the history.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from storemood.training.config import EpochResult, TrainConfig, config_from_dict
from storemood.training.models import build_model

if TYPE_CHECKING:
    from storemood.training.callbacks import Run

log = logging.getLogger(__name__)

BEST, LAST, LOG = "best.pt", "last.pt", "log.csv"


def save_checkpoint(path: Path, run: Run) -> None:
    """Write ``run`` to ``path`` atomically: an interrupted save never leaves half a checkpoint behind."""
    best = run.best_epoch()
    state = {
        "config": asdict(run.config),
        "model": run.model.state_dict(),
        "ema": run.ema.state_dict() if run.ema is not None else None,
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "epoch": run.epoch,
        "best_val_accuracy": best.val_accuracy if best is not None else -1.0,
        "history": [asdict(h) for h in run.history],
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def resume(run: Run, path: Path) -> bool:
    """Load a checkpoint's weights, average, optimiser and schedule state and history into a fresh ``run``.

    Returns whether the schedule's state was kept: it is when the checkpoint used the schedule that
    ``run.config`` names (a plateau schedule then takes this run's factor and patience: flags win), and
    it is not when the schedule changed, so the caller starts the new one over the epochs left.
    """
    state = torch.load(path, map_location="cpu", weights_only=False)
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    same_schedule = state["config"]["schedule"] == run.config.schedule
    if same_schedule:
        run.scheduler.load_state_dict(state["scheduler"])
    if same_schedule and isinstance(run.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        run.scheduler.factor, run.scheduler.patience = run.config.plateau_factor, run.config.plateau_patience
    if run.ema is not None:
        run.ema.load_state_dict(state["ema"])
    run.history = [EpochResult(**h) for h in state["history"]]
    log.info("resuming %s at epoch %d (best val accuracy %.4f)", path, run.epoch + 1, state["best_val_accuracy"])
    if not same_schedule:
        log.info(
            "schedule changed from %s to %s: it restarts for the epochs left",
            state["config"]["schedule"],
            run.config.schedule,
        )
    return same_schedule


def load_model(checkpoint: Path | str) -> tuple[torch.nn.Module, TrainConfig]:
    """The model stored in a checkpoint, ready for inference, with its config: the averaged weights when
    the run kept an EMA (those are the ones it validated), else the trained ones."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    config = config_from_dict(state["config"])
    model = build_model(config.arch, len(config.classes), config.size)
    if state.get("ema"):
        prefix = "module."
        model.load_state_dict({k.removeprefix(prefix): v for k, v in state["ema"].items() if k.startswith(prefix)})
    else:
        model.load_state_dict(state["model"])
    return model.eval(), config
