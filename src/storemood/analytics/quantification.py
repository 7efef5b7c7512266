"""Emotion shares of a group of visits: three estimators, since counting top emotions is biased.

A group's share of, say, sad visits is an estimate: the model confuses some expressions (sad with
neutral, fear with surprise), so counting each visit's top emotion moves share from the emotions it
under-detects to those it over-detects. storemood offers three quantification methods:

- ``count``: classify and count, the share of visits whose dominant emotion is each class.
- ``calibrated``: the mean of the visits' probabilities. The classifier applies the temperature fitted on
  FER2013's validation split (stored in the model's metadata, :class:`storemood.model_metadata.ModelInfo`)
  where it produces probabilities, so the stored and averaged probabilities are calibrated.
- ``adjusted``: the adjusted count. With ``C[i, j]`` = P(predicted j | true i) measured on the validation
  split, counted shares are ``q = Cᵀ p``; the estimate is ``p = (Cᵀ)⁻¹ q``, clipped at 0 and renormalised.

``benchmarks/quantification.py`` measures the three on synthetic groups of validation faces with known
mixes (benchmarks/RESULTS.md); :data:`storemood.analytics.policy.DEFAULT_METHOD` is the one with the
lowest error there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np
from scipy import optimize

from storemood.analytics import uncertainty
from storemood.analytics.policy import Method
from storemood.emotions import FER7
from storemood.model_metadata import read_model_info
from storemood.paths import DEFAULT_MODEL


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature ``T`` minimising the negative log-likelihood of ``softmax(log p / T)``."""
    logits = np.log(np.clip(probabilities, 1e-12, None))

    def loss(temperature: float) -> float:
        scaled = logits / temperature
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(scaled).sum(axis=1))
        return float(np.mean(log_norm - scaled[np.arange(len(labels)), labels]))

    return float(optimize.minimize_scalar(loss, bounds=(0.05, 20.0), method="bounded").x)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Row-normalised confusion matrix: ``C[i, j]`` = share of true class ``i`` predicted as ``j``."""
    counts = np.zeros((classes, classes))
    np.add.at(counts, (labels, predicted), 1)
    return counts / np.clip(counts.sum(axis=1, keepdims=True), 1, None)


def adjustment(confusion: np.ndarray) -> np.ndarray:
    """The linear map from counted shares to true shares, ``(Cᵀ)⁻¹`` (pseudo-inverse if singular)."""
    return np.linalg.pinv(confusion.T)


def adjusted_shares(counted: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """Adjusted count: invert the confusion matrix, clip negative shares to 0, renormalise to sum 1."""
    return _adjust(counted, adjustment(confusion))


def _adjust(counted: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """:func:`adjusted_shares` with the confusion matrix already inverted (:func:`adjustment`)."""
    raw = np.clip(counted @ inverse.T, 0.0, None)
    total = raw.sum(axis=-1, keepdims=True)
    return np.where(total > 0, raw / np.where(total > 0, total, 1), counted)


@lru_cache(maxsize=1)
def shipped_confusion() -> np.ndarray | None:
    """The shipped model's validation confusion matrix in :data:`FER7` order (None when not measured)."""
    info = read_model_info(DEFAULT_MODEL)
    if info is None or not info.confusion or tuple(info.classes) != FER7:
        return None
    return np.array(info.confusion, dtype=float)


@lru_cache(maxsize=1)
def shipped_adjustment() -> np.ndarray | None:
    """:func:`adjustment` of :func:`shipped_confusion`, inverted once (every dashboard row needs it, twice)."""
    confusion = shipped_confusion()
    return None if confusion is None else adjustment(confusion)


def estimate(
    counted: Mapping[str, float], probabilities: Mapping[str, float], visits: int, method: Method
) -> tuple[dict[str, float], dict[str, uncertainty.Interval], uncertainty.Interval]:
    """``(shares, shares_ci95, valence_ci95)`` of one group by ``method``.

    ``counted`` are the shares of visits by dominant emotion, ``probabilities`` the mean probabilities.
    Counted shares get Wilson intervals; mean probabilities get Wilson intervals too, which are
    conservative for a mean of values in 0..1; adjusted shares get the counted shares' multinomial
    covariance carried through the adjustment (wider, as inverting the confusion adds variance).
    """
    if method == "adjusted" and (inverse := shipped_adjustment()) is not None:
        names = list(counted)
        vector = _adjust(np.array([counted[name] for name in names]), inverse)
        shares = dict(zip(names, (float(value) for value in vector), strict=True))
        intervals, valence = uncertainty.linear_share_intervals(counted, visits, inverse, shares)
        return shares, intervals, valence
    shares = dict(probabilities if method == "calibrated" else counted)
    return shares, uncertainty.share_intervals(shares, visits), uncertainty.valence_interval(shares, visits)


def mean_absolute_error(estimated: Sequence[float], truth: Sequence[float]) -> float:
    """Mean over classes of ``|estimated - true|`` share."""
    return float(np.mean(np.abs(np.asarray(estimated) - np.asarray(truth))))
