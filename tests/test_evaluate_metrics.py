"""The numpy metrics agree with their textbook definitions, computed here one face at a time."""

from __future__ import annotations

import numpy as np
import pytest

from storemood.emotions import FER7
from storemood.evaluation import classification_metrics


def textbook_scores(true: list[int], predicted: list[int], label: int) -> tuple[float, float, float]:
    hits = sum(t == p == label for t, p in zip(true, predicted, strict=True))
    said, real = predicted.count(label), true.count(label)
    precision = hits / said if said else 0.0
    recall = hits / real if real else 0.0
    return precision, recall, (2 * precision * recall / (precision + recall) if hits else 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_textbook_definitions(seed):
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 6, 300)  # surprise (6) never occurs: it must not drag macro-F1 down
    probabilities = rng.dirichlet(np.ones(7), 300)
    probabilities[np.arange(150), true[:150]] += 1  # half the faces right, the rest by chance
    predicted = probabilities.argmax(axis=1)
    report = classification_metrics(true, probabilities, FER7)
    assert report["n"] == 300
    assert report["accuracy"] == pytest.approx(np.mean(predicted == true))
    f1s = []
    for label, name in enumerate(FER7):
        precision, recall, f1 = textbook_scores(true.tolist(), predicted.tolist(), label)
        scores = report["per_class"][name]
        assert (scores["precision"], scores["recall"], scores["f1"]) == pytest.approx((precision, recall, f1))
        assert report["confusion"][label][label] == int(np.sum((true == label) & (predicted == label)))
        if label in true or label in predicted:
            f1s.append(f1)
    assert report["macro_f1"] == pytest.approx(np.mean(f1s))
    assert np.array(report["confusion"]).sum(axis=0).tolist() == np.bincount(predicted, minlength=7).tolist()
