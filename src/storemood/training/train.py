"""Training: data -> augmentation -> model -> optimiser and schedule -> callbacks -> best checkpoint.

Reads top to bottom like a Keras example: hyper-parameters in ``TrainConfig``, then one function per
step. The callbacks the notebooks used are here as plain code: early stopping that restores the best
weights, reduce-LR-on-plateau (``schedule="plateau"``, driven by a seeded stratified slice of the
training split held out for it, never by validation), checkpoint of the best model by validation
accuracy, a per-epoch CSV log, a time box (``time_limit``) and resuming a stopped run from its last
checkpoint. Optionally
(``ema_decay``) an exponential moving average of the weights is kept beside the trained ones; it is
what gets validated, checkpointed as best and exported, because on FER2013's noisy labels the
averaged weights sit in a flatter, steadier place than any single step's.

Why PyTorch and not Keras: on this project's CPU the same network trains 1.25-2x faster in plain PyTorch
(channels-last) than under Keras 3's PyTorch or JAX backend, and 2-6% faster than under its TensorFlow
backend (benchmarks/bench_training_backends.py, figures in benchmarks/RESULTS.md); a CPU training budget
is the product's main constraint.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from storemood.data.dataset import ImageSet, stratified_split
from storemood.training.augment import AugmentConfig, augment
from storemood.training.models import build_model, member_count, member_logits

log = logging.getLogger(__name__)

BEST, LAST, LOG = "best.pt", "last.pt", "log.csv"


@dataclass
class TrainConfig:
    """Everything that decides a training run's result; saved in every checkpoint."""

    arch: str = "mood-ensemble"
    classes: tuple[str, ...] = ()
    size: int = 48
    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 5e-4  # on conv and linear weights only (AdamW: decoupled; SGD: L2)
    optimizer: str = "adamw"  # adamw | sgd (Nesterov momentum 0.9)
    schedule: str = "onecycle"  # onecycle | cosine | plateau
    holdout: float = 0.0  # share of the training split held out (stratified, seeded) to drive the plateau schedule
    plateau_factor: float = 0.75  # plateau: learning rate multiplier when the holdout accuracy stalls
    plateau_patience: int = 5  # plateau: epochs without a better holdout accuracy before lowering it
    label_smoothing: float = 0.1
    mixup: float = 0.0  # Beta(alpha, alpha) mixing of image pairs; 0 turns it off
    class_weights: bool = False  # weight rare classes (disgust) by inverse frequency
    patience: int = 10  # early stopping: epochs without a better validation accuracy
    seed: int = 0
    threads: int = 0  # 0: all cores
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    data: str = ""
    labels: str = ""  # FER+ votes file the targets came from ("" : the data's own labels)
    soft_labels: bool = False  # targets are FER+ vote distributions rather than majority labels
    ferplus: str = ""  # FER+ votes file for ferplus_blend
    ferplus_blend: float = 0.0  # share of FER+ vote distribution mixed into the data's own training targets
    precision: str = "fp32"  # fp32 | bf16 (mixed precision: bf16 compute, fp32 weights)
    ema_decay: float = 0.0  # per-step decay of the weights' moving average; 0 turns it off
    time_limit: float = 0.0  # minutes per invocation: stop after the epoch that passes it; 0: no limit


@dataclass
class EpochResult:
    epoch: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    learning_rate: float
    seconds: float
    raw_val_accuracy: float | None = None  # the trained (not averaged) weights', when an EMA is kept
    holdout_accuracy: float | None = None  # on the held-out slice of the training split, when one is kept


def fast_bf16_available() -> bool:
    """True on CPUs with AMX or AVX512-BF16 units, where bf16 autocast trains about 2.6x faster than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(precision: str) -> str:
    """``auto`` becomes ``bf16`` where the CPU computes it natively, else ``fp32``."""
    if precision == "auto":
        return "bf16" if fast_bf16_available() else "fp32"
    return precision


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, H, W)`` faces as float ``(N, 1, H, W)`` in ``[0, 1]``, channels-last for speed."""
    tensor = torch.from_numpy(images).float().div_(255).unsqueeze(1)
    return tensor.contiguous(memory_format=torch.channels_last)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Cross-entropy against target distributions (one-hot, smoothed, mixed or FER+ votes)."""
    per_sample = -(targets * F.log_softmax(logits, dim=1)).sum(dim=1)
    if weights is not None:
        per_sample = per_sample * (targets @ weights)
    return per_sample.mean()


def class_weights(train: ImageSet) -> torch.Tensor:
    """Inverse-frequency weights, normalised to mean 1 over the training samples."""
    counts = train.targets.sum(axis=0) + 1.0
    weights = counts.sum() / (len(counts) * counts)
    weights = weights / (train.targets @ weights).mean()
    return torch.tensor(weights, dtype=torch.float32)


def split_holdout(train: ImageSet, share: float, seed: int) -> tuple[ImageSet, ImageSet | None]:
    """Hold out a seeded, stratified ``share`` of the training faces (None when ``share`` is 0).

    The plateau schedule watches this slice instead of validation, so validation stays an untouched
    judge of the checkpoints. The rest of the class's faces after rounding go to training, none is lost.
    """
    if share <= 0:
        return train, None
    parts = stratified_split(train, (1 - share, 0.0, share), seed)
    return parts["train"], parts["test"]


def make_optimizer(model: torch.nn.Module, config: TrainConfig, steps_per_epoch: int):
    """AdamW or SGD with Nesterov momentum, plus the learning-rate schedule that ``config.schedule`` names.

    Batch-norm scales and shifts and biases are not decayed: shrinking a batch-norm scale switches a
    channel off (the residual blocks' last one starts at zero) instead of regularising anything.
    """
    matrices = [p for p in model.parameters() if p.ndim > 1]
    vectors = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": matrices, "weight_decay": config.weight_decay}, {"params": vectors, "weight_decay": 0.0}]
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(groups, lr=config.learning_rate, momentum=0.9, nesterov=True)
    else:
        optimizer = torch.optim.AdamW(groups, lr=config.learning_rate)
    if config.schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, config.learning_rate, epochs=config.epochs, steps_per_epoch=steps_per_epoch
        )
    elif config.schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.epochs * steps_per_epoch)
    else:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=config.plateau_factor, patience=config.plateau_patience
        )
    return optimizer, scheduler


@torch.no_grad()
def predict(model: torch.nn.Module, images: np.ndarray, batch_size: int = 512, tta: bool = False) -> np.ndarray:
    """Softmax probabilities for uint8 faces; ``tta`` averages each face with its mirror image."""
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = to_tensor(images[start : start + batch_size])
        probs = F.softmax(model(x), dim=1)
        if tta:
            probs = (probs + F.softmax(model(torch.flip(x, dims=[3])), dim=1)) / 2
        out.append(probs.numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def validate(model: torch.nn.Module, val: ImageSet) -> tuple[float, float]:
    """Validation loss and accuracy (plain images, no augmentation)."""
    probs = predict(model, val.images)
    loss = -np.mean(np.log(np.clip((probs * val.targets).sum(axis=1), 1e-7, None)))
    return float(loss), float((probs.argmax(axis=1) == val.labels).mean())


def train_epoch(model, ema, optimizer, scheduler, train: ImageSet, config: TrainConfig, epoch: int, weights, bar):
    """One pass over the shuffled, freshly augmented training set; returns mean loss and accuracy.

    Each member of an ensemble sees its own augmented view of the batch and has its own loss (the mean
    of the members' losses is minimised), so the members stay independent and their errors differ.
    """
    members = member_count(model)
    generator = torch.Generator().manual_seed(config.seed * 1000 + epoch)
    mix_rng = np.random.default_rng([config.seed, epoch])
    order = torch.randperm(len(train), generator=generator).numpy()
    model.train()
    total_loss = total_correct = seen = 0.0
    for start in range(0, len(order), config.batch_size):
        index = np.sort(order[start : start + config.batch_size])
        batch = to_tensor(train.images[index])
        views = [augment(batch, config.augment, generator) for _ in range(members)]
        y = torch.from_numpy(train.targets[index])
        hard = y.argmax(dim=1)
        y = y * (1 - config.label_smoothing) + config.label_smoothing / y.shape[1]
        if config.mixup > 0:
            lam = float(mix_rng.beta(config.mixup, config.mixup))
            perm = torch.randperm(len(index), generator=generator)
            views, y = [lam * x + (1 - lam) * x[perm] for x in views], lam * y + (1 - lam) * y[perm]
        views = [x.contiguous(memory_format=torch.channels_last) for x in views]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.precision == "bf16"):
            logits = [out.float() for out in member_logits(model, views)]
        loss = sum(soft_cross_entropy(out, y, weights) for out in logits) / members
        predicted = torch.stack([F.softmax(out, dim=1) for out in logits]).mean(dim=0).argmax(dim=1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if ema is not None:
            ema.update_parameters(model)
        if config.schedule != "plateau":
            scheduler.step()
        total_loss += loss.item() * len(index)
        total_correct += float((predicted == hard).sum())
        seen += len(index)
        bar.update(len(index))
        bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{total_correct / seen:.3f}")
    return total_loss / seen, total_correct / seen


def make_ema(model: torch.nn.Module, config: TrainConfig) -> AveragedModel | None:
    """The moving average of ``model``'s weights and batch-norm statistics, when the config asks for one."""
    if config.ema_decay <= 0:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)


def save_checkpoint(
    path: Path, model, ema, optimizer, scheduler, config: TrainConfig, epoch: int, best: float, history
):
    state = {
        "config": asdict(config),
        "model": model.state_dict(),
        "ema": ema.state_dict() if ema is not None else None,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": epoch,
        "best_val_accuracy": best,
        "history": [asdict(h) for h in history],
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # never leave a half-written checkpoint behind if interrupted


def config_from_dict(data: dict) -> TrainConfig:
    data = dict(data)
    data["classes"] = tuple(data["classes"])
    data["augment"] = AugmentConfig(**data["augment"])
    return TrainConfig(**data)


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


def append_log(path: Path, result: EpochResult) -> None:
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(asdict(result)))
        if new:
            writer.writeheader()
        writer.writerow(asdict(result))


def train(config: TrainConfig, train_set: ImageSet, val_set: ImageSet, out: Path, resume: bool = False):
    """Train and keep the best model by validation accuracy in ``out/best.pt``; returns the history.

    With ``config.time_limit`` the run stops after the epoch that passes it, its checkpoints and log
    complete, and ``resume`` continues it where it stopped.
    """
    out.mkdir(parents=True, exist_ok=True)
    started_run = time.monotonic()
    train_set, holdout = split_holdout(train_set, config.holdout, config.seed)
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads or os.cpu_count() or 1)
    model = build_model(config.arch, len(config.classes), config.size).to(memory_format=torch.channels_last)
    steps = math.ceil(len(train_set) / config.batch_size)
    optimizer, scheduler = make_optimizer(model, config, steps)
    ema = make_ema(model, config)
    weights = class_weights(train_set) if config.class_weights else None
    start_epoch, best, history = 1, -1.0, []
    if resume and (out / LAST).exists():
        state = torch.load(out / LAST, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        start_epoch, best = state["epoch"] + 1, state["best_val_accuracy"]
        history = [EpochResult(**h) for h in state["history"]]
        log.info("resuming %s at epoch %d (best val accuracy %.4f)", out, start_epoch, best)
    stale = sum(1 for _ in _epochs_since_best(history))
    for epoch in range(start_epoch, config.epochs + 1):
        started = time.perf_counter()
        with tqdm(
            total=len(train_set), desc=f"epoch {epoch}/{config.epochs}", unit="img", leave=False, disable=None
        ) as bar:
            loss, acc = train_epoch(model, ema, optimizer, scheduler, train_set, config, epoch, weights, bar)
        val_loss, val_acc = validate(ema.module if ema is not None else model, val_set)
        raw_val_acc = validate(model, val_set)[1] if ema is not None else None
        holdout_acc = validate(ema.module if ema is not None else model, holdout)[1] if holdout is not None else None
        if config.schedule == "plateau":
            scheduler.step(holdout_acc)
        lr = optimizer.param_groups[0]["lr"]
        seconds = time.perf_counter() - started
        result = EpochResult(epoch, loss, acc, val_loss, val_acc, lr, seconds, raw_val_acc, holdout_acc)
        history.append(result)
        append_log(out / LOG, result)
        tqdm.write(
            f"epoch {epoch}/{config.epochs}: loss {loss:.4f} acc {acc:.4f} | "
            f"val loss {val_loss:.4f} val acc {val_acc:.4f}"
            + (f" (without EMA {raw_val_acc:.4f})" if raw_val_acc is not None else "")
            + (f" | holdout acc {holdout_acc:.4f}" if holdout_acc is not None else "")
            + f" | {result.seconds:.0f} s"
        )
        if val_acc > best:
            best, stale = val_acc, 0
            save_checkpoint(out / BEST, model, ema, optimizer, scheduler, config, epoch, best, history)
        else:
            stale += 1
        save_checkpoint(out / LAST, model, ema, optimizer, scheduler, config, epoch, best, history)
        if stale >= config.patience:
            tqdm.write(f"early stopping: no better validation accuracy for {stale} epochs")
            break
        if config.time_limit and time.monotonic() - started_run >= config.time_limit * 60:
            tqdm.write(f"time limit of {config.time_limit:g} min reached after epoch {epoch}; --resume continues")
            break
    return history


def _epochs_since_best(history: list[EpochResult]):
    """Yield once per epoch after the best one, to restore the early-stopping counter on resume."""
    if not history:
        return
    best_epoch = max(history, key=lambda h: h.val_accuracy).epoch
    yield from (h for h in history if h.epoch > best_epoch)
