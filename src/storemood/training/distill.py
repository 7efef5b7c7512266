"""Knowledge distillation: a small student learns the softened, averaged outputs of larger teachers.

The teachers are committed checkpoints (``teachers/``) or exported storemood ONNX models (the shipped
``storemood-emotion.onnx`` among them, run by ONNX Runtime); the student is any architecture. On every batch the
teachers run, without gradients, on exactly the augmented view each student member trains on (the same
crop, flip, shift and mixup), so the soft targets always describe the image the student sees. Their
probabilities at temperature ``T`` are averaged (an ensemble of teachers), and the student's loss is

    hard_weight * CE(labels) + (1 - hard_weight) * T^2 * KL(teachers_T || student_T)

as in Hinton, Vinyals and Dean (2015); the ``T^2`` keeps the soft term's gradients on the hard term's scale
whatever the temperature.

>>> import torch
>>> logits = torch.tensor([[2.0, 0.0, -1.0]])
>>> soft = torch.softmax(logits / 3.0, dim=1)
>>> abs(float(soft_target_loss(logits, soft, temperature=3.0))) < 1e-6     # a student that agrees: nothing to learn
True
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from storemood.errors import UserError


class OnnxTeacher(nn.Module):
    """An exported storemood model as a frozen teacher: ONNX Runtime reads the training view (``(N, 1, H, W)``
    pixels in [0, 1]) and the log of the model's raw (uncalibrated) probabilities serves as its logits, so
    a softmax at temperature ``T`` softens them exactly as it would a network's."""

    def __init__(self, path: Path, threads: int) -> None:
        from storemood.vision.classifier import EmotionClassifier

        super().__init__()
        self.classifier = EmotionClassifier(path, threads=threads, mirror=False, calibrated=False)

    def forward(self, view: torch.Tensor) -> torch.Tensor:
        pixels = (view.detach().float()[:, 0] * 255.0).numpy()
        probabilities = torch.from_numpy(self.classifier.classify_crops(pixels))
        return torch.log(probabilities.clamp_min(1e-12))


def load_teachers(paths: Sequence[str | Path], classes: tuple[str, ...], size: int) -> list[nn.Module]:
    """Each teacher's validated weights, frozen, in eval mode (an ``.onnx`` file runs in ONNX Runtime); a
    UserError when one is missing, is no storemood model, or predicts other classes or reads another input
    size than the student."""
    teachers = []
    for path in map(Path, paths):
        if not path.is_file():
            raise UserError(f"teacher {path} does not exist")
        teacher, teacher_classes, teacher_size = _load_teacher(path)
        if teacher_classes != classes:
            raise UserError(f"teacher {path} predicts {', '.join(teacher_classes)}; the student {', '.join(classes)}")
        if teacher_size != size:
            raise UserError(f"teacher {path} reads {teacher_size} px faces; the student {size} px")
        teachers.append(teacher)
    return teachers


def _load_teacher(path: Path) -> tuple[nn.Module, tuple[str, ...], int]:
    """The frozen teacher at ``path`` with the classes it predicts and the face size it reads."""
    if path.suffix.lower() == ".onnx":
        teacher = OnnxTeacher(path, threads=torch.get_num_threads())
        return teacher, teacher.classifier.classes, teacher.classifier.info.size
    from storemood.training.checkpoint import load_model

    try:
        model, config = load_model(path)
    except (KeyError, RuntimeError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as error:
        raise UserError(f"teacher {path} is not a storemood training checkpoint ({type(error).__name__})") from None
    model = model.to(memory_format=torch.channels_last).eval().requires_grad_(False)
    return model, config.classes, config.size


@torch.no_grad()
def teacher_probabilities(
    teachers: Sequence[nn.Module], view: torch.Tensor, temperature: float, bf16: bool
) -> torch.Tensor:
    """The teachers' mean probabilities at ``temperature`` for one batch of (augmented) faces."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        soft = [F.softmax(teacher(view).float() / temperature, dim=1) for teacher in teachers]
    return torch.stack(soft).mean(dim=0)


def soft_target_loss(student_logits: torch.Tensor, teacher_soft: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T^2 * KL(teacher || student)`` at temperature ``T``, averaged over the batch."""
    student_log = F.log_softmax(student_logits / temperature, dim=1)
    return F.kl_div(student_log, teacher_soft, reduction="batchmean") * temperature**2
