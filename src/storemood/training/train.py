"""Training: data -> augmentation -> model -> optimiser and schedule -> callbacks -> best checkpoint.

Reads top to bottom like a Keras example: hyper-parameters in ``TrainConfig`` (``storemood.training.config``),
then one function per step, and a loop that trains and validates an epoch and hands the result to its
callbacks (``storemood.training.callbacks``): reduce-LR-on-plateau (``schedule="plateau"``, driven by a
seeded stratified slice of the training split held out for it, never by validation), the CSV log, the
checkpoint of the best model by validation accuracy, early stopping that restores the best weights, and a
time box (``time_limit``). A stopped run resumes from its last checkpoint (``storemood.training.checkpoint``).
Optionally
(``ema_decay``) an exponential moving average of the weights is kept beside the trained ones; it is
what gets validated, checkpointed as best and exported, because on FER2013's noisy labels the
averaged weights sit in a flatter, steadier place than any single step's.

Why PyTorch and not Keras: on this project's CPU the same network trains 1.25-2x faster in plain PyTorch
(channels-last) than under Keras 3's PyTorch or JAX backend, and 2-6% faster than under its TensorFlow
backend (benchmarks/bench_training_backends.py, figures in benchmarks/RESULTS.md); a CPU training budget
is the product's main constraint.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from storemood.data.dataset import ImageSet, stratified_split
from storemood.training import checkpoint
from storemood.training.augment import augment
from storemood.training.callbacks import Run, default_callbacks
from storemood.training.config import EpochResult, TrainConfig
from storemood.training.distill import load_teachers, soft_target_loss, teacher_probabilities
from storemood.training.models import build_model, member_count, member_logits


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
    return optimizer, make_schedule(optimizer, config, steps_per_epoch, config.epochs)


def make_schedule(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int, epochs: int):
    """The learning-rate schedule that ``config.schedule`` names, spanning ``epochs`` epochs from ``--lr``."""
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, config.learning_rate, epochs=epochs, steps_per_epoch=steps_per_epoch
        )
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=config.plateau_factor, patience=config.plateau_patience
    )


def restart_schedule(run: Run, steps_per_epoch: int) -> None:
    """Give a resumed run the schedule its config names, starting at ``--lr`` and spanning the epochs left.

    This is how a teacher that a plateau schedule left at a flat rate is finished in a fixed budget: resume
    it with ``--schedule cosine`` and the rate anneals to zero by ``--epochs``.
    """
    for group in run.optimizer.param_groups:
        group["lr"] = group["initial_lr"] = run.config.learning_rate
    run.scheduler = make_schedule(run.optimizer, run.config, steps_per_epoch, max(1, run.config.epochs - run.epoch))


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


def train_epoch(run: Run, train: ImageSet, epoch: int, bar: tqdm) -> tuple[float, float]:
    """One pass over the shuffled, freshly augmented training set; returns mean loss and accuracy.

    Each member of an ensemble sees its own augmented view of the batch and has its own loss (the mean
    of the members' losses is minimised), so the members stay independent and their errors differ.
    Per-step schedules (one-cycle, cosine) step after every batch; the plateau schedule is a callback.
    """
    model, config = run.model, run.config
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
        loss = sum(member_loss(run, out, view, y) for out, view in zip(logits, views, strict=True)) / members
        predicted = torch.stack([F.softmax(out, dim=1) for out in logits]).mean(dim=0).argmax(dim=1)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        if run.ema is not None:
            run.ema.update_parameters(model)
        if config.schedule != "plateau":
            run.scheduler.step()
        total_loss += loss.item() * len(index)
        total_correct += float((predicted == hard).sum())
        seen += len(index)
        bar.update(len(index))
        bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{total_correct / seen:.3f}")
    return total_loss / seen, total_correct / seen


def member_loss(run: Run, logits: torch.Tensor, view: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """One member's loss on its view: cross-entropy against the targets, or, when distilling, that weighted by
    ``hard_weight`` plus the teachers' soft targets on the very same view (:mod:`storemood.training.distill`)."""
    config = run.config
    hard = soft_cross_entropy(logits, targets, run.class_weights)
    if not run.teachers:
        return hard
    soft = teacher_probabilities(run.teachers, view, config.temperature, config.precision == "bf16")
    return config.hard_weight * hard + (1 - config.hard_weight) * soft_target_loss(logits, soft, config.temperature)


def make_ema(model: torch.nn.Module, config: TrainConfig) -> AveragedModel | None:
    """The moving average of ``model``'s weights and batch-norm statistics, when the config asks for one."""
    if config.ema_decay <= 0:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)


def start_run(config: TrainConfig, train_set: ImageSet) -> Run:
    """A fresh run: seeded model, optimiser and schedule, moving average and class weights as configured."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads or os.cpu_count() or 1)
    model = build_model(config.arch, len(config.classes), config.size).to(memory_format=torch.channels_last)
    optimizer, scheduler = make_optimizer(model, config, math.ceil(len(train_set) / config.batch_size))
    weights = class_weights(train_set) if config.class_weights else None
    teachers = load_teachers(config.teachers, config.classes, config.size)
    return Run(config, model, optimizer, scheduler, make_ema(model, config), weights, teachers)


def fit_epoch(run: Run, train_set: ImageSet, val_set: ImageSet, holdout: ImageSet | None, epoch: int) -> EpochResult:
    """Train one epoch and validate what it left (the average, when one is kept, and the trained weights),
    and measure it on the held-out slice of the training split when there is one."""
    started = time.perf_counter()
    desc = f"epoch {epoch}/{run.config.epochs}"
    with tqdm(total=len(train_set), desc=desc, unit="img", leave=False, disable=None) as bar:
        loss, acc = train_epoch(run, train_set, epoch, bar)
    val_loss, val_acc = validate(run.validated, val_set)
    raw_val_acc = validate(run.model, val_set)[1] if run.ema is not None else None
    holdout_acc = validate(run.validated, holdout)[1] if holdout is not None else None
    lr = run.optimizer.param_groups[0]["lr"]
    seconds = time.perf_counter() - started
    return EpochResult(epoch, loss, acc, val_loss, val_acc, lr, seconds, raw_val_acc, holdout_acc)


def train(
    config: TrainConfig,
    train_set: ImageSet,
    val_set: ImageSet,
    out: Path,
    resume: bool = False,
) -> list[EpochResult]:
    """Train with ``default_callbacks`` (best model by validation accuracy in ``out/best.pt``, log, early
    stopping, time limit); ``resume`` continues from ``out/last.pt`` when there is one. Returns the history."""
    out.mkdir(parents=True, exist_ok=True)
    train_set, holdout = split_holdout(train_set, config.holdout, config.seed)
    run = start_run(config, train_set)
    if resume and (out / checkpoint.LAST).exists() and not checkpoint.resume(run, out / checkpoint.LAST):
        restart_schedule(run, math.ceil(len(train_set) / config.batch_size))
    callbacks = default_callbacks(config, out)
    for callback in callbacks:
        callback.on_train_begin(run)
    for epoch in range(run.epoch + 1, config.epochs + 1):
        run.history.append(fit_epoch(run, train_set, val_set, holdout, epoch))
        for callback in callbacks:
            callback.on_epoch_end(run, run.history[-1])
        if run.stop:
            break
    for callback in callbacks:
        callback.on_train_end(run)
    return run.history
