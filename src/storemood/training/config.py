"""What decides a training run (``TrainConfig``) and what it records per epoch (``EpochResult``).

Both travel in every checkpoint as plain dicts, so a run can be resumed or exported from its checkpoint alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storemood.training.augment import AugmentConfig


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
    teachers: tuple[str, ...] = ()  # checkpoints to distil from (storemood.training.distill); () : plain training
    temperature: float = 3.0  # distillation: softening of teacher and student outputs
    hard_weight: float = 0.1  # distillation: weight of the labels' cross-entropy beside the teachers' soft targets


@dataclass
class EpochResult:
    """One row of ``log.csv``: the epoch's training and validation figures."""

    epoch: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    learning_rate: float
    seconds: float
    raw_val_accuracy: float | None = None  # the trained (not averaged) weights', when an EMA is kept
    holdout_accuracy: float | None = None  # on the held-out slice of the training split, when one is kept


def config_from_dict(data: dict) -> TrainConfig:
    """The ``TrainConfig`` a checkpoint stored with ``dataclasses.asdict``."""
    data = dict(data)
    data["classes"] = tuple(data["classes"])
    data["teachers"] = tuple(data.get("teachers", ()))
    data["augment"] = AugmentConfig(**data["augment"])
    return TrainConfig(**data)
