"""Distillation: a student trained on a committed teacher's soft outputs, on real faces; the loss, the
teachers' average, and the refusals of teachers that do not fit the student."""

from __future__ import annotations

import pytest
import torch

from storemood.cli import main
from storemood.emotions import FER7
from storemood.training.checkpoint import BEST, LAST, load_model
from storemood.training.distill import load_teachers, soft_target_loss, teacher_probabilities

STUDENT = ("--arch", "seed-cnn", "--epochs", "1", "--batch-size", "32")


def test_the_soft_term_is_zero_only_where_the_student_agrees_and_grows_with_disagreement():
    teacher = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    soft = torch.softmax(teacher / 2.0, dim=1)
    assert float(soft_target_loss(teacher, soft, 2.0)) == pytest.approx(0.0, abs=1e-6)
    closer, farther = teacher + torch.tensor([0.3, 0.0, 0.0]), teacher + torch.tensor([1.5, 0.0, 0.0])
    assert 0 < float(soft_target_loss(closer, soft, 2.0)) < float(soft_target_loss(farther, soft, 2.0))


def test_teachers_are_averaged_in_probability_at_the_temperature(trained_run):
    teacher = load_teachers([trained_run / BEST], FER7, 48)[0]
    faces = torch.rand(4, 1, 48, 48)
    with torch.no_grad():
        expected = torch.softmax(teacher(faces) / 3.0, dim=1)
    twice = teacher_probabilities([teacher, teacher], faces, 3.0, bf16=False)
    assert torch.allclose(twice, expected, atol=1e-6) and torch.allclose(twice.sum(dim=1), torch.ones(4))


def test_a_student_distils_from_a_teacher_checkpoint_and_records_it(fer_small, trained_run, tmp_path):
    out = tmp_path / "student"
    argv = ["train", str(fer_small), *STUDENT, "--distill", str(trained_run / BEST), "--temperature", "4"]
    assert main([*argv, "--hard-weight", "0.2", "--out", str(out)]) == 0
    state = torch.load(out / LAST, map_location="cpu", weights_only=False)
    assert list(state["config"]["teachers"]) == [str(trained_run / BEST)]
    assert (state["config"]["temperature"], state["config"]["hard_weight"]) == (4.0, 0.2)
    assert (out / "model.onnx").is_file() and "teachers" in (out / "report.md").read_text()


def test_teachers_that_do_not_fit_the_student_are_refused_before_training(fer_small, trained_run, tmp_path, capsys):
    state = torch.load(trained_run / BEST, map_location="cpu", weights_only=False)
    state["config"]["classes"] = list(reversed(FER7))  # the same classes in another order: another output
    other = tmp_path / "reordered.pt"
    torch.save(state, other)
    not_a_checkpoint = tmp_path / "notes.pt"
    not_a_checkpoint.write_bytes(b"not a checkpoint")
    for teacher, message in (
        (other, "predicts surprise, sad, neutral"),
        (not_a_checkpoint, "is not a storemood training checkpoint"),
        (tmp_path / "missing.pt", "does not exist"),
    ):
        assert main(["train", str(fer_small), *STUDENT, "--distill", str(teacher), "--out", str(tmp_path / "s")]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "s" / LAST).exists()
    assert load_model(trained_run / BEST)[1].classes == FER7


def test_the_shipped_onnx_model_teaches_exactly_what_the_runtime_reads(fer_small_val):
    from storemood.paths import DEFAULT_MODEL
    from storemood.vision.classifier import EmotionClassifier

    teacher = load_teachers([DEFAULT_MODEL], FER7, 48)[0]
    faces = fer_small_val.images
    view = torch.from_numpy(faces.astype("float32") / 255.0)[:, None]
    taught = teacher_probabilities([teacher], view, temperature=1.0, bf16=False).numpy()
    runtime = EmotionClassifier(mirror=False, calibrated=False).classify_crops(faces)
    assert taught == pytest.approx(runtime, abs=1e-5)
    assert (taught.argmax(axis=1) == fer_small_val.targets.argmax(axis=1)).mean() > 0.5  # it reads real faces
    softer = teacher_probabilities([teacher], view, temperature=3.0, bf16=False).numpy()
    assert (softer.max(axis=1) < taught.max(axis=1)).all()


def test_an_onnx_teacher_with_other_classes_is_refused(fer_small, tmp_path, capsys):
    from storemood.paths import DEFAULT_MODEL

    argv = ["train", str(fer_small), *STUDENT, "--classes", "retail4", "--distill", str(DEFAULT_MODEL)]
    assert main([*argv, "--out", str(tmp_path / "s")]) == 2
    assert "predicts angry, disgust, fear" in capsys.readouterr().err
