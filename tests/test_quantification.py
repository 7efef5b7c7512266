"""Quantification: the adjusted count, temperature scaling, the shipped model's fitted metadata, and the
quantification benchmark at small scale on real FER2013 validation faces."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, copy_fer_subset
from storemood.analytics import quantification
from storemood.emotions import FER7
from storemood.model_metadata import ModelInfo, read_model_info
from storemood.paths import DEFAULT_MODEL


def _confusion() -> np.ndarray:
    rng = np.random.default_rng(3)
    noise = rng.dirichlet(np.ones(7), size=7) * 0.3
    return np.eye(7) * 0.7 + noise


def test_adjusted_count_recovers_the_true_shares_from_expected_counts():
    confusion = _confusion()
    truth = np.array([0.0, 0.0, 0.1, 0.6, 0.3, 0.0, 0.0])
    counted = confusion.T @ truth  # what counting top emotions gives on average
    assert np.abs(counted - truth).max() > 0.05
    assert quantification.adjusted_shares(counted, confusion) == pytest.approx(truth, abs=1e-9)


def test_adjusted_shares_are_clipped_and_sum_to_one():
    adjusted = quantification.adjusted_shares(np.array([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]), _confusion())
    assert adjusted.min() >= 0 and adjusted.sum() == pytest.approx(1.0)


def test_fit_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2.0, size=(4000, 7))
    labels = np.array([rng.choice(7, p=np.exp(row / 2.0) / np.exp(row / 2.0).sum()) for row in logits])
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert quantification.fit_temperature(probabilities, labels) == pytest.approx(2.0, rel=0.1)


def test_model_info_calibrates_and_round_trips_its_fit():
    info = ModelInfo(classes=FER7, temperature=2.0, confusion=tuple(map(tuple, _confusion().round(3))))
    again = ModelInfo.from_json(info.to_json())
    assert again == info
    probabilities = np.array([[0.7, 0.1, 0.05, 0.05, 0.04, 0.03, 0.03]], np.float32)
    softened = info.calibrate(probabilities)
    assert softened.sum() == pytest.approx(1.0) and softened.argmax() == 0 and softened[0, 0] < 0.7
    assert ModelInfo(classes=FER7).calibrate(probabilities) is probabilities


def test_the_shipped_model_carries_a_fitted_temperature_and_confusion_matrix():
    info = read_model_info(DEFAULT_MODEL)
    assert info is not None and info.temperature != 1.0 and "fer2013/val" in info.calibration
    confusion = np.array(info.confusion)
    assert confusion.shape == (7, 7) and confusion.sum(axis=1) == pytest.approx(np.ones(7), abs=1e-3)
    assert (np.diag(confusion) > 0.2).all()  # better than chance on every class


def test_estimate_gives_intervals_around_each_method_share():
    counted = dict(zip(FER7, [0.05, 0.0, 0.05, 0.5, 0.3, 0.05, 0.05], strict=True))
    probabilities = dict(zip(FER7, [0.08, 0.02, 0.08, 0.4, 0.3, 0.07, 0.05], strict=True))
    for method in ("count", "calibrated", "adjusted"):
        shares, intervals, (low, high) = quantification.estimate(counted, probabilities, 100, method)
        assert sum(shares.values()) == pytest.approx(1.0)
        assert all(intervals[name][0] <= shares[name] <= intervals[name][1] for name in FER7)
        negative = shares["angry"] + shares["disgust"] + shares["fear"] + shares["sad"]
        assert low <= shares["happy"] + shares["surprise"] - negative <= high


def test_quantification_benchmark_at_small_scale(tmp_path):
    val = copy_fer_subset(tmp_path / "val", "val", per_class=24)
    command = [sys.executable, str(ROOT / "benchmarks" / "quantification.py"), "--val", str(val)]
    command += ["--groups", "30", "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout)
    assert result["faces"] == 24 * 7 and result["fit_faces"] + result["test_faces"] == result["faces"]
    assert result["temperature"] > 0
    for method in ("count", "calibrated", "adjusted"):
        assert set(result["mae"][method]) == {"random", "fer2013", "far", "all"}
        assert 0 < result["mae"][method]["all"] < 0.15, method
