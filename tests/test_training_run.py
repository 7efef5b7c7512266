"""A real (tiny) training run through the CLI, then export and evaluation of what it produced."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import matplotlib
import numpy as np
import onnx
import pytest
import torch

from conftest import FER2013, TRAINED_RUN_ARGS, require
from storemood.cli import main
from storemood.emotions import FER7, RETAIL4
from storemood.evaluation import OnnxPredictor
from storemood.training import train as train_module
from storemood.training.checkpoint import load_model
from storemood.training.train import predict


def run_cli(capsys, *argv) -> tuple[int, str]:
    status = main([str(arg) for arg in argv])
    return status, capsys.readouterr().out


def shows_colour(image: np.ndarray, rgb: tuple[float, float, float], tolerance: int = 2) -> bool:
    """True when some pixel of a BGR ``image`` has the colour ``rgb`` (0-1 floats, as matplotlib gives them)."""
    bgr = np.round(np.array(rgb[:3])[::-1] * 255)
    return bool((np.abs(image.astype(int) - bgr).max(axis=2) <= tolerance).any())


@pytest.mark.slow
def test_a_run_leaves_checkpoints_log_plots_model_and_report(trained_run, fer_small_val):
    for name in ("best.pt", "last.pt", "model.onnx", "report.md"):
        assert (trained_run / name).stat().st_size > 0
    assert len((trained_run / "log.csv").read_text().strip().splitlines()) == 1 + 2
    evaluation = json.loads((trained_run / "evaluation.json").read_text())
    assert evaluation["n"] == len(fer_small_val) and evaluation["classes"] == list(FER7)
    assert f"{evaluation['accuracy']:.4f}" in (trained_run / "report.md").read_text()
    # The confusion plot shows the evaluation's own shares: the first true class's most common answer.
    counts = np.array(evaluation["confusion"][0])
    blues = matplotlib.colormaps["Blues"]
    assert shows_colour(cv2.imread(str(trained_run / "confusion.png")), blues(counts.max() / counts.sum()))


@pytest.mark.slow
def test_onnx_export_gives_the_pytorch_probabilities(trained_run, fer_small_val, tmp_path, capsys):
    status, _ = run_cli(capsys, "export-onnx", trained_run / "best.pt", tmp_path / "exported.onnx")
    assert status == 0
    model, _ = load_model(trained_run / "best.pt")
    expected = predict(model, fer_small_val.images)
    actual = OnnxPredictor(tmp_path / "exported.onnx").predict(fer_small_val.images)
    assert actual.shape == expected.shape == (len(fer_small_val), 7)
    assert np.abs(actual - expected).max() < 1e-4


@pytest.mark.slow
def test_int8_export_is_quantized_and_close(trained_run, fer_small_val, tmp_path, capsys):
    status, _ = run_cli(capsys, "export-onnx", trained_run / "best.pt", tmp_path / "int8.onnx", "--int8")
    assert status == 0
    assert any(node.op_type == "QuantizeLinear" for node in onnx.load(str(tmp_path / "int8.onnx")).graph.node)
    exact = OnnxPredictor(trained_run / "model.onnx").predict(fer_small_val.images)
    quantized = OnnxPredictor(tmp_path / "int8.onnx").predict(fer_small_val.images)
    np.testing.assert_allclose(quantized.sum(axis=1), 1.0, atol=1e-4)
    assert np.abs(quantized - exact).mean() < 0.05


def evaluate_json(capsys, *argv) -> dict:
    status, out = run_cli(capsys, "evaluate", *argv, "--json")
    assert status == 0
    return json.loads(out)


@pytest.mark.slow
def test_evaluate_onnx_matches_pytorch_predictions(trained_run, fer_small, fer_small_val, capsys):
    report = evaluate_json(capsys, fer_small, "--model", trained_run / "model.onnx")
    model, _ = load_model(trained_run / "best.pt")
    predicted = predict(model, fer_small_val.images).argmax(axis=1)
    assert report["n"] == len(fer_small_val)
    assert report["accuracy"] == pytest.approx((predicted == fer_small_val.labels).mean())
    confusion = np.array(report["confusion"])
    assert confusion.sum() == report["n"] and np.trace(confusion) / report["n"] == pytest.approx(report["accuracy"])
    assert confusion.sum(axis=1).tolist() == [report["per_class"][name]["support"] for name in report["classes"]]
    for key in ("macro_f1", "model", "seconds"):
        assert key in report
    checkpoint = evaluate_json(capsys, fer_small, "--model", trained_run / "best.pt")
    assert checkpoint["confusion"] == report["confusion"]


@pytest.mark.slow
def test_evaluate_on_retail4_restricts_faces_and_outputs(trained_run, fer_small, fer_small_val, capsys):
    report = evaluate_json(capsys, fer_small, "--model", trained_run / "model.onnx", "--classes", "retail4")
    assert report["classes"] == list(RETAIL4) and report["n"] == 4 * 8
    model, _ = load_model(trained_run / "best.pt")
    columns = [FER7.index(name) for name in RETAIL4]
    wanted = np.isin(fer_small_val.labels, columns)
    predicted = predict(model, fer_small_val.images[wanted])[:, columns].argmax(axis=1)
    truth = np.searchsorted(columns, fer_small_val.labels[wanted])
    assert report["accuracy"] == pytest.approx((predicted == truth).mean())


@pytest.mark.slow
def test_evaluate_with_mirror_tta_averages_both_views(trained_run, fer_small, fer_small_val, capsys):
    report = evaluate_json(capsys, fer_small, "--model", trained_run / "model.onnx", "--tta")
    model, _ = load_model(trained_run / "best.pt")
    both = predict(model, fer_small_val.images) + predict(model, fer_small_val.images[:, :, ::-1].copy())
    assert report["tta"] is True
    assert report["accuracy"] == pytest.approx((both.argmax(axis=1) == fer_small_val.labels).mean())


@pytest.mark.slow
def test_onnx_evaluation_needs_no_torch(trained_run, fer_small):
    blocked = (
        "import sys; sys.modules['torch'] = None; from storemood.evaluation import OnnxPredictor, evaluate_model; "
    )
    model = f"OnnxPredictor({str(trained_run / 'model.onnx')!r})"
    script = blocked + f"print(evaluate_model({model}, {str(fer_small)!r})['n'])"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(7 * 8)


@pytest.mark.slow
def test_an_interrupted_run_resumes_where_it_stopped(trained_run, fer_small, tmp_path, monkeypatch):
    """Stopped (Ctrl-C) during epoch 2, ``--resume`` trains epoch 2 from ``last.pt``: one log row per epoch,
    the weight average continued; ``--int8`` then quantizes the exported model, calibrated on training faces."""
    fit_epoch = train_module.fit_epoch

    def interrupted(*args):  # fit_epoch(run, ..., epoch)
        if args[-1] == 2:
            raise KeyboardInterrupt
        return fit_epoch(*args)

    argv = ["train", str(fer_small), *TRAINED_RUN_ARGS, "--out", str(tmp_path)]
    monkeypatch.setattr(train_module, "fit_epoch", interrupted)
    assert main(argv) == 130
    monkeypatch.undo()
    assert main([*argv, "--resume", "--int8"]) == 0
    state = torch.load(tmp_path / "last.pt", map_location="cpu", weights_only=False)
    assert [h["epoch"] for h in state["history"]] == [1, 2]
    assert len((tmp_path / "log.csv").read_text().strip().splitlines()) == 1 + 2
    assert int(state["ema"]["n_averaged"]) == 2 * int(np.ceil(140 / 32))
    # Epoch 1 was the same in both: same seed, same data, same order.
    shared = torch.load(trained_run / "last.pt", map_location="cpu", weights_only=False)
    assert state["history"][0]["val_accuracy"] == shared["history"][0]["val_accuracy"]
    assert any(node.op_type == "QuantizeLinear" for node in onnx.load(str(tmp_path / "model.onnx")).graph.node)


@pytest.mark.slow
def test_training_on_soft_ferplus_votes(fer_small, tmp_path):
    votes = require(FER2013 / "ferplus.csv")
    out = tmp_path / "soft"
    argv = ["train", fer_small, "--labels", votes, "--soft-labels", "--epochs", "1", "--out", out]
    assert main([str(arg) for arg in argv]) == 0
    _, config = load_model(out / "best.pt")
    assert config.soft_labels and config.labels == str(votes)
    assert json.loads((out / "evaluation.json").read_text())["labels"] == str(votes)


@pytest.mark.slow
def test_training_with_ferplus_blend_in_bf16_records_both(fer_small, tmp_path):
    votes = require(FER2013 / "ferplus.csv")
    out = tmp_path / "blend"
    argv = ["train", fer_small, "--ferplus", votes, "--ferplus-blend", "0.5", "--precision", "bf16"]
    assert main([str(arg) for arg in [*argv, "--epochs", "1", "--out", out]]) == 0
    _, config = load_model(out / "best.pt")
    assert (config.ferplus_blend, config.ferplus, config.precision) == (0.5, str(votes), "bf16")


def test_ferplus_blend_without_votes_is_refused(fer_small, tmp_path, capsys):
    assert main(["train", str(fer_small), "--ferplus-blend", "0.5", "--out", str(tmp_path)]) == 2
    assert "needs --ferplus" in capsys.readouterr().err


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
