"""A real (tiny) training run through the CLI, then export and evaluation of what it produced."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest

from conftest import FER2013, require
from storemood.cli import main
from storemood.data.loaders import load_eval_set
from storemood.emotions import FER7, RETAIL4
from storemood.evaluation import OnnxPredictor
from storemood.training.train import load_model, predict

pytestmark = pytest.mark.slow


def run_cli(capsys, *argv) -> tuple[int, str]:
    status = main([str(arg) for arg in argv])
    return status, capsys.readouterr().out


@pytest.fixture(scope="module")
def run_dir(fer_small, tmp_path_factory) -> Path:
    """Two epochs of mood-resnet on 140 real faces, validated on 56 others."""
    out = tmp_path_factory.mktemp("run")
    argv = ["train", str(fer_small), "--arch", "mood-resnet", "--epochs", "2", "--batch-size", "32"]
    assert main([*argv, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def val_faces(fer_small):
    return load_eval_set(fer_small)


def test_a_run_leaves_checkpoints_log_plots_model_and_report(run_dir, val_faces):
    for name in ("best.pt", "last.pt", "model.onnx", "report.md"):
        assert (run_dir / name).stat().st_size > 0
    assert len((run_dir / "log.csv").read_text().strip().splitlines()) == 1 + 2
    for plot in ("curves.png", "confusion.png"):
        image = cv2.imread(str(run_dir / plot))
        assert image is not None and image.std() > 0
    evaluation = json.loads((run_dir / "evaluation.json").read_text())
    assert evaluation["n"] == len(val_faces) and evaluation["classes"] == list(FER7)
    assert f"{evaluation['accuracy']:.4f}" in (run_dir / "report.md").read_text()


def test_onnx_export_gives_the_pytorch_probabilities(run_dir, val_faces, tmp_path, capsys):
    status, _ = run_cli(capsys, "export-onnx", run_dir / "best.pt", tmp_path / "exported.onnx")
    assert status == 0
    model, _ = load_model(run_dir / "best.pt")
    expected = predict(model, val_faces.images)
    actual = OnnxPredictor(tmp_path / "exported.onnx").predict(val_faces.images)
    assert actual.shape == expected.shape == (len(val_faces), 7)
    assert np.abs(actual - expected).max() < 1e-4


def test_int8_export_is_quantized_and_close(run_dir, val_faces, tmp_path, capsys):
    status, _ = run_cli(capsys, "export-onnx", run_dir / "best.pt", tmp_path / "int8.onnx", "--int8")
    assert status == 0
    assert any(node.op_type == "QuantizeLinear" for node in onnx.load(str(tmp_path / "int8.onnx")).graph.node)
    exact = OnnxPredictor(run_dir / "model.onnx").predict(val_faces.images)
    quantized = OnnxPredictor(tmp_path / "int8.onnx").predict(val_faces.images)
    np.testing.assert_allclose(quantized.sum(axis=1), 1.0, atol=1e-4)
    assert np.abs(quantized - exact).mean() < 0.05


def evaluate_json(capsys, *argv) -> dict:
    status, out = run_cli(capsys, "evaluate", *argv, "--json")
    assert status == 0
    return json.loads(out)


def test_evaluate_onnx_matches_pytorch_predictions(run_dir, fer_small, val_faces, capsys):
    report = evaluate_json(capsys, fer_small, "--model", run_dir / "model.onnx")
    model, _ = load_model(run_dir / "best.pt")
    predicted = predict(model, val_faces.images).argmax(axis=1)
    assert report["n"] == len(val_faces)
    assert report["accuracy"] == pytest.approx((predicted == val_faces.labels).mean())
    confusion = np.array(report["confusion"])
    assert confusion.sum() == report["n"] and np.trace(confusion) / report["n"] == pytest.approx(report["accuracy"])
    assert confusion.sum(axis=1).tolist() == [report["per_class"][name]["support"] for name in report["classes"]]
    for key in ("macro_f1", "model", "seconds"):
        assert key in report
    checkpoint = evaluate_json(capsys, fer_small, "--model", run_dir / "best.pt")
    assert checkpoint["confusion"] == report["confusion"]


def test_evaluate_on_retail4_restricts_faces_and_outputs(run_dir, fer_small, val_faces, capsys):
    report = evaluate_json(capsys, fer_small, "--model", run_dir / "model.onnx", "--classes", "retail4")
    assert report["classes"] == list(RETAIL4) and report["n"] == 4 * 8
    model, _ = load_model(run_dir / "best.pt")
    columns = [FER7.index(name) for name in RETAIL4]
    wanted = np.isin(val_faces.labels, columns)
    predicted = predict(model, val_faces.images[wanted])[:, columns].argmax(axis=1)
    truth = np.searchsorted(columns, val_faces.labels[wanted])
    assert report["accuracy"] == pytest.approx((predicted == truth).mean())


def test_evaluate_with_mirror_tta_averages_both_views(run_dir, fer_small, val_faces, capsys):
    report = evaluate_json(capsys, fer_small, "--model", run_dir / "model.onnx", "--tta")
    model, _ = load_model(run_dir / "best.pt")
    both = predict(model, val_faces.images) + predict(model, val_faces.images[:, :, ::-1].copy())
    assert report["tta"] is True
    assert report["accuracy"] == pytest.approx((both.argmax(axis=1) == val_faces.labels).mean())


def test_onnx_evaluation_needs_no_torch(run_dir, fer_small):
    blocked = "import sys; sys.modules['torch'] = None; from storemood.evaluation import evaluate_model; "
    script = blocked + f"print(evaluate_model({str(run_dir / 'model.onnx')!r}, {str(fer_small)!r})['n'])"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(7 * 8)


def test_training_on_soft_ferplus_votes(fer_small, tmp_path):
    votes = require(FER2013 / "ferplus.csv")
    out = tmp_path / "soft"
    argv = ["train", fer_small, "--labels", votes, "--soft-labels", "--epochs", "1", "--out", out]
    assert main([str(arg) for arg in argv]) == 0
    _, config = load_model(out / "best.pt")
    assert config.soft_labels and config.labels == str(votes)
    assert json.loads((out / "evaluation.json").read_text())["labels"] == str(votes)


def test_training_with_ferplus_blend_in_bf16_records_both(fer_small, tmp_path):
    votes = require(FER2013 / "ferplus.csv")
    out = tmp_path / "blend"
    argv = ["train", fer_small, "--ferplus", votes, "--ferplus-blend", "0.5", "--precision", "bf16"]
    assert main([str(arg) for arg in [*argv, "--epochs", "1", "--out", out]]) == 0
    _, config = load_model(out / "best.pt")
    assert (config.ferplus_blend, config.ferplus, config.precision) == (0.5, str(votes), "bf16")


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--ferplus-blend", "1.5"], "between 0 and 1"), (["--ferplus-blend", "0.5"], "needs --ferplus")],
)
def test_bad_ferplus_blend_options_are_refused(fer_small, tmp_path, capsys, argv, message):
    assert main(["train", str(fer_small), *argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ferplus", "missing.csv", "--ferplus-blend", "0.5"], "--ferplus: missing.csv does not exist"),
        (["--labels", "missing.csv"], "--labels: missing.csv does not exist"),
        (["--arch", "resnet-9000"], "unknown architecture 'resnet-9000'"),
    ],
)
def test_bad_training_options_are_refused_before_the_data_is_read(tmp_path, capsys, argv, message):
    # DATA does not exist either: the option's own error coming first shows the check runs up front.
    assert main(["train", str(tmp_path / "no-such-data"), *argv, "--out", str(tmp_path / "run")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
