"""Interval formulas against published values and scipy, and their coverage on data the test generates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from storemood.analytics import uncertainty
from storemood.database.sqlite_functions import median_interval_ranks
from storemood.emotions import FER7


@pytest.mark.parametrize(("successes", "trials"), [(0, 10), (1, 10), (5, 10), (81, 263), (15, 148), (20, 20)])
def test_wilson_matches_scipy(successes, trials):
    expected = stats.binomtest(successes, trials).proportion_ci(method="wilson")
    assert uncertainty.wilson(successes, trials) == pytest.approx((expected.low, expected.high), abs=1e-12)


def test_wilson_matches_newcombes_published_example():
    # Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 gives 0.2553 to 0.3662.
    low, high = uncertainty.wilson(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_wilson_of_no_visits_is_the_whole_range():
    assert uncertainty.wilson(0, 0) == (0.0, 1.0)


def test_median_ranks_cover_at_least_95_percent_from_six_values():
    for n in range(6, 400):
        low, high = median_interval_ranks(n)
        # [x_(l), x_(u)] holds the median unless fewer than l or at least u values lie below it.
        coverage = stats.binom.cdf(high - 1, n, 0.5) - stats.binom.cdf(low - 1, n, 0.5)
        assert coverage >= 0.95, n
    assert median_interval_ranks(5) == (1, 5)


def test_median_interval_takes_the_order_statistics():
    values = list(range(100, 0, -1))  # 1..100, unsorted
    low, high = median_interval_ranks(100)
    assert uncertainty.median_interval(values) == (float(low), float(high))
    assert low < 50.5 < high


def test_valence_interval_covers_the_true_valence_in_95_percent_of_samples():
    rng = np.random.default_rng(0)
    truth = np.array([0.05, 0.02, 0.05, 0.35, 0.3, 0.13, 0.1])  # angry..surprise, valence 0.45 - 0.25
    true_valence = 0.35 + 0.1 - (0.05 + 0.02 + 0.05 + 0.13)
    visits = 40
    covered = 0
    for _ in range(2000):
        counts = rng.multinomial(visits, truth)
        low, high = uncertainty.valence_interval(dict(zip(FER7, counts / visits, strict=True)), visits)
        covered += low <= true_valence <= high
    assert 0.93 <= covered / 2000 <= 0.99


def test_valence_interval_of_a_small_unanimous_group_is_not_a_point():
    low, high = uncertainty.valence_interval({"happy": 1.0, "neutral": 0.0, "sad": 0.0}, 5)
    assert low < 1.0 == high and low > 0.0


def test_linear_intervals_reduce_to_the_multinomial_for_the_identity():
    counted = dict(zip(FER7, [0.1, 0.0, 0.1, 0.4, 0.2, 0.1, 0.1], strict=True))
    shares, valence = uncertainty.linear_share_intervals(counted, 200, np.eye(7), counted)
    # Identity transform: a normal interval around each share, inside 0..1, wider for shares near 1/2.
    assert shares["happy"][1] - shares["happy"][0] > shares["sad"][1] - shares["sad"][0]
    assert all(0.0 <= low <= counted[name] <= high <= 1.0 for name, (low, high) in shares.items())
    assert valence[0] < 0.4 + 0.1 - 0.3 < valence[1]
