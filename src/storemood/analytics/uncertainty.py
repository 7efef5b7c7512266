"""95% intervals for the figures a report shows, so that every number says how sure it is.

- Shares of visits (how many visits had each dominant emotion): the Wilson score interval, which stays
  inside 0..1 and keeps a sensible width for small groups and for shares near 0 or 1, where the textbook
  normal (Wald) interval collapses to zero width.
- Valence (positive minus negative share): the difference of two proportions of one multinomial sample,
  ``v ± z·sqrt((p+ + p- - v²) / n)``, computed with one pseudo-visit added to each of the positive and
  negative counts (Agresti-Caffo style) so that a small group of all-happy visits does not get a
  zero-width interval; clipped to -1..1.
- Median dwell: the distribution-free order-statistic interval, the visits of ranks ``l`` and ``u`` of the
  sorted dwell times (:func:`storemood.database.sqlite_functions.median_interval_ranks`).

Quantification estimators (:mod:`storemood.analytics.quantification`) that are not a plain count give
their shares as a linear map of the counted shares; :func:`linear_share_intervals` propagates the
multinomial covariance through it (the delta method), which widens the interval where the map adds
uncertainty.

>>> [round(bound, 4) for bound in wilson(81, 263)]      # Newcombe (1998), table I
[0.2553, 0.3662]
>>> median_interval([float(seconds) for seconds in range(20, 0, -1)])   # dwell times 1..20 s
(5.0, 16.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from storemood.database.sqlite_functions import median_interval_ranks
from storemood.emotions import NEGATIVE, POSITIVE

#: Two-sided 95% normal quantile.
Z95 = float(stats.norm.ppf(0.975))

Interval = tuple[float, float]


def wilson(successes: float, trials: int, z: float = Z95) -> Interval:
    """Wilson score interval of a proportion; (0, 1) when there are no trials.

    ``successes`` may be fractional (a mean probability times the visits): for a variable in 0..1 with
    mean ``m`` the variance is at most ``m(1-m)``, so the interval is then conservative.
    """
    if trials <= 0:
        return (0.0, 1.0)
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    half = z * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if share <= 0 else max(0.0, float(centre - half))  # exact ends, not rounding residue
    high = 1.0 if share >= 1 else min(1.0, float(centre + half))
    return (low, high)


def share_intervals(shares: Mapping[str, float], visits: int) -> dict[str, Interval]:
    """Wilson interval of each emotion's share of ``visits``."""
    return {name: wilson(share * visits, visits) for name, share in shares.items()}


def valence_interval(shares: Mapping[str, float], visits: int, z: float = Z95) -> Interval:
    """Interval of valence = positive share minus negative share (see the module docstring)."""
    if visits <= 0:
        return (-1.0, 1.0)
    positive = sum(shares[name] for name in POSITIVE if name in shares)
    negative = sum(shares[name] for name in NEGATIVE if name in shares)
    valence = positive - negative
    adjusted_positive = (positive * visits + 1) / (visits + 2)
    adjusted_negative = (negative * visits + 1) / (visits + 2)
    variance = adjusted_positive + adjusted_negative - (adjusted_positive - adjusted_negative) ** 2
    half = z * np.sqrt(variance / (visits + 2))
    return (max(-1.0, float(valence - half)), min(1.0, float(valence + half)))


def median_interval(values: Sequence[float]) -> Interval | None:
    """Order-statistic 95% interval of the median of ``values`` (None for no values)."""
    if not len(values):
        return None
    ordered = np.sort(np.asarray(values, dtype=float))
    low, high = median_interval_ranks(len(ordered))
    return (float(ordered[low - 1]), float(ordered[high - 1]))


def linear_share_intervals(
    counted: Mapping[str, float], visits: int, transform: np.ndarray, estimate: Mapping[str, float], z: float = Z95
) -> tuple[dict[str, Interval], Interval]:
    """Intervals of shares estimated as ``transform @ counted`` (then clipped), and of their valence.

    The counted shares' multinomial covariance ``(diag(q) - q qᵀ) / n`` (with one pseudo-visit spread
    over the classes, so that an empty class still has some variance) is carried through ``transform``.
    """
    names = list(counted)
    if visits <= 0:
        return {name: (0.0, 1.0) for name in names}, (-1.0, 1.0)
    q = (np.array([counted[name] for name in names]) * visits + 1 / len(names)) / (visits + 1)
    covariance = transform @ ((np.diag(q) - np.outer(q, q)) / (visits + 1)) @ transform.T
    half = z * np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    shares = {
        name: (max(0.0, float(estimate[name] - h)), min(1.0, float(estimate[name] + h)))
        for name, h in zip(names, half, strict=True)
    }
    weights = np.array([1.0 if name in POSITIVE else -1.0 if name in NEGATIVE else 0.0 for name in names])
    valence = float(weights @ np.array([estimate[name] for name in names]))
    valence_half = z * float(np.sqrt(max(0.0, weights @ covariance @ weights)))
    return shares, (max(-1.0, valence - valence_half), min(1.0, valence + valence_half))
