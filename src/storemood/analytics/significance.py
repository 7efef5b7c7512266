"""``compare A B``: do two products (or brands) really differ, or could chance alone explain it?

Three tests at the 5% level, each reported with its p-value, the size of the difference (A minus B) and
a 95% interval of that size:

- emotions: the visits' dominant emotions, a 2×K contingency table; Pearson's chi-square test
  (``scipy.stats.chi2_contingency``), or, when an expected count is under 5 and the chi-square
  approximation is poor, the same statistic's seeded permutation test. Each emotion's share difference
  carries Newcombe's hybrid score interval (built from the two Wilson intervals).
- valence: each visit scores +1 (positive), -1 (negative) or 0; Welch's t-test on those scores, computed
  from the counts (``scipy.stats.ttest_ind_from_stats``), and Welch's interval of the difference.
- dwell: the Mann-Whitney U test on every visit's dwell time; the size is the difference of the median
  dwells, with Price and Bonett's (2002) interval: each median's standard error read off its
  order-statistic interval (the one reports show), combined as for independent estimates.

The comparison works on visits counted by their dominant emotion, the thing the test can test: both sides
went through the same model, so a difference between them is a difference between their shoppers.

>>> [round(bound, 4) for bound in newcombe(56, 70, 48, 80)]   # Newcombe (1998), method 10
[0.0524, 0.3339]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np
from scipy import stats

from storemood.analytics import queries, uncertainty
from storemood.analytics.policy import FigurePolicy
from storemood.analytics.queries import AggregateRow, Bind, Filters, Interval
from storemood.emotions import FER7, NEGATIVE, POSITIVE
from storemood.errors import UserError

ALPHA = 0.05
#: Expected counts under this make the chi-square approximation poor: the permutation test is used.
MIN_EXPECTED = 5.0
PERMUTATIONS = 9999
SEED = 0


@dataclass(frozen=True)
class TestResult:
    """One test's outcome; ``difference`` is A minus B (for ``emotions``, the share of the emotion that
    differs most), None with ``p_value`` when the test cannot run."""

    name: str
    method: str
    statistic: float | None
    p_value: float | None
    significant: bool
    difference: float | None
    difference_ci95: Interval | None


@dataclass(frozen=True)
class Comparison:
    """Two products or brands side by side, their differences (A minus B) and whether they are real."""

    by: str
    a: AggregateRow
    b: AggregateRow
    tests: dict[str, TestResult]
    share_differences: dict[str, float] | None
    share_differences_ci95: dict[str, Interval] | None
    sentence: str

    @property
    def valence_difference(self) -> float | None:
        return None if self.a.valence is None or self.b.valence is None else self.a.valence - self.b.valence

    @property
    def dwell_median_difference_s(self) -> float | None:
        if self.a.dwell_median_s is None or self.b.dwell_median_s is None:
            return None
        return self.a.dwell_median_s - self.b.dwell_median_s

    def to_dict(self) -> dict:
        return {
            "by": self.by,
            "a": self.a.to_dict(self.by),
            "b": self.b.to_dict(self.by),
            "valence_difference": self.valence_difference,
            "dwell_median_difference_s": self.dwell_median_difference_s,
            "share_differences": self.share_differences,
            "share_differences_ci95": self.share_differences_ci95,
            "tests": {name: asdict(test) for name, test in self.tests.items()},
            "alpha": ALPHA,
            "sentence": self.sentence,
        }


def emotion_test(a: dict[str, int], b: dict[str, int]) -> tuple[str, float | None, float | None]:
    """``(method, statistic, p_value)`` of the 2×K test on dominant-emotion counts (emotions no visit of
    either side showed are left out; one emotion left means nothing to test: p = None)."""
    table = np.array([[a[name] for name in FER7], [b[name] for name in FER7]])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return "chi-square", None, None
    expected = stats.contingency.expected_freq(table)
    if expected.min() >= MIN_EXPECTED:
        result = stats.chi2_contingency(table)
        return "chi-square", float(result.statistic), float(result.pvalue)
    method = stats.PermutationMethod(n_resamples=PERMUTATIONS, rng=np.random.default_rng(SEED))
    result = stats.chi2_contingency(table, correction=False, method=method)
    return "chi-square permutation test", float(result.statistic), float(result.pvalue)


def newcombe(successes_a: int, n_a: int, successes_b: int, n_b: int) -> Interval:
    """Newcombe's hybrid score interval (method 10) of the difference of two independent proportions."""
    p_a, p_b = successes_a / n_a, successes_b / n_b
    low_a, high_a = uncertainty.wilson(successes_a, n_a)
    low_b, high_b = uncertainty.wilson(successes_b, n_b)
    difference = p_a - p_b
    return (
        float(difference - np.sqrt((p_a - low_a) ** 2 + (high_b - p_b) ** 2)),
        float(difference + np.sqrt((high_a - p_a) ** 2 + (p_b - low_b) ** 2)),
    )


def _score_moments(counts: dict[str, int]) -> tuple[float, float, int]:
    """Mean, sample standard deviation and size of the visits' valence scores (+1, 0, -1)."""
    n = sum(counts.values())
    positive = sum(counts[name] for name in POSITIVE) / n
    negative = sum(counts[name] for name in NEGATIVE) / n
    mean = positive - negative
    variance = (positive + negative - mean**2) * n / (n - 1) if n > 1 else 0.0
    return mean, float(np.sqrt(max(variance, 0.0))), n


def valence_test(a: dict[str, int], b: dict[str, int]) -> TestResult:
    """Welch's t-test on the valence scores, and Welch's 95% interval of the difference."""
    (mean_a, sd_a, n_a), (mean_b, sd_b, n_b) = _score_moments(a), _score_moments(b)
    difference = mean_a - mean_b
    variance_a, variance_b = sd_a**2 / n_a, sd_b**2 / n_b
    se = np.sqrt(variance_a + variance_b)
    if se == 0:  # both sides without spread: equal means are no evidence, different ones are certain
        p_value = 1.0 if difference == 0 else 0.0
        return TestResult("valence", "Welch t-test", None, p_value, p_value < ALPHA, difference, (difference,) * 2)
    result = stats.ttest_ind_from_stats(mean_a, sd_a, n_a, mean_b, sd_b, n_b, equal_var=False)
    df = (variance_a + variance_b) ** 2 / (variance_a**2 / max(n_a - 1, 1) + variance_b**2 / max(n_b - 1, 1))
    half = float(stats.t.ppf(1 - ALPHA / 2, df) * se)
    p_value = float(result.pvalue)
    interval = (difference - half, difference + half)
    return TestResult(
        "valence", "Welch t-test", float(result.statistic), p_value, p_value < ALPHA, difference, interval
    )


def dwell_test(a: list[float], b: list[float]) -> TestResult:
    """Mann-Whitney U on the dwell times; the difference of the medians with Price and Bonett's interval."""
    result = stats.mannwhitneyu(a, b, alternative="two-sided")
    difference = float(np.median(a) - np.median(b))
    # Each median's standard error from its order-statistic interval (Price & Bonett 2002), then combined.
    errors = [(high - low) / (2 * uncertainty.Z95) for low, high in map(uncertainty.median_interval, (a, b))]
    half = uncertainty.Z95 * float(np.hypot(*errors))
    interval = (difference - half, difference + half)
    p_value = float(result.pvalue)
    return TestResult(
        "dwell", "Mann-Whitney U", float(result.statistic), p_value, p_value < ALPHA, difference, interval
    )


def _p(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.2g}" if p_value < 0.01 else f"p = {p_value:.2f}"


def _sentence(a: AggregateRow, b: AggregateRow, tests: dict[str, TestResult], intervals: dict[str, Interval]) -> str:
    """One plain sentence per significant test, or that these visits show no difference."""
    found = []
    emotions = tests["emotions"]
    if emotions.significant and a.shares and b.shares:
        excluding_zero = [name for name, (low, high) in intervals.items() if low > 0 or high < 0] or list(intervals)
        name = max(excluding_zero, key=lambda emotion: abs(a.shares[emotion] - b.shares[emotion]))
        more, less = (a, b) if a.shares[name] > b.shares[name] else (b, a)
        found.append(
            f"{more.key} is more often {name} than {less.key}: "
            f"{more.shares[name]:.0%} vs {less.shares[name]:.0%}, {_p(emotions.p_value)}"
        )
    valence = tests["valence"]
    if valence.significant:
        higher, lower = (a, b) if (valence.difference or 0) > 0 else (b, a)
        found.append(
            f"{higher.key} has the higher valence: {higher.valence:+.2f} vs {lower.valence:+.2f}, {_p(valence.p_value)}"
        )
    dwell = tests["dwell"]
    if dwell.significant:
        longer, shorter = (a, b) if (dwell.difference or 0) > 0 else (b, a)
        found.append(
            f"shoppers stay longer at {longer.key}: median {longer.dwell_median_s:.1f} s vs "
            f"{shorter.dwell_median_s:.1f} s, {_p(dwell.p_value)}"
        )
    if not found:
        return f"No difference between {a.key} and {b.key} that these visits can show."
    text = "; ".join(found)
    return f"{text[0].upper()}{text[1:]}."


def _untested(name: str) -> TestResult:
    return TestResult(name, "not run", None, None, False, None, None)


def compare(
    bind: Bind,
    a: str,
    b: str,
    by: Literal["product", "brand"] = "product",
    filters: Filters | None = None,
    policy: FigurePolicy | None = None,
) -> Comparison:
    """Compare two products (SKUs) or two brands; a UserError names one that has no visits.

    A side with fewer visits than the minimum group size shows no figure, so nothing is tested.
    """
    if by not in ("product", "brand"):
        raise UserError(f"can compare products or brands, not {by!r}")
    filters = filters or Filters()
    counting = replace(policy or FigurePolicy(), shares="count")
    rows = {row.key: row for row in queries.aggregate(bind, by, filters.narrowed(by, (a, b)), policy=counting)}
    for name in (a, b):
        if name not in rows:
            narrowed = " matching the filters" if filters != Filters() else ""
            raise UserError(f"no visits for {by} {name!r}{narrowed}")
    first, second = rows[a], rows[b]
    if first.counts is None or second.counts is None:
        tests = {name: _untested(name) for name in ("emotions", "valence", "dwell")}
        return Comparison(by, first, second, tests, None, None, f"Too few visits to compare {a} and {b}.")
    differences = {name: first.counts[name] / first.visits - second.counts[name] / second.visits for name in FER7}
    intervals = {name: newcombe(first.counts[name], first.visits, second.counts[name], second.visits) for name in FER7}
    method, statistic, p_value = emotion_test(first.counts, second.counts)
    largest = max(FER7, key=lambda name: abs(differences[name]))
    tests = {
        "emotions": TestResult(
            "emotions",
            method,
            statistic,
            p_value,
            p_value is not None and p_value < ALPHA,
            differences[largest],
            intervals[largest],
        ),
        "valence": valence_test(first.counts, second.counts),
        "dwell": dwell_test(queries.dwell_values(bind, by, a, filters), queries.dwell_values(bind, by, b, filters)),
    }
    return Comparison(by, first, second, tests, differences, intervals, _sentence(first, second, tests, intervals))


def to_text(comparison: Comparison) -> str:
    """The sentence, each test's p-value and each figure's difference with its interval, for a terminal."""
    a, b = comparison.a, comparison.b
    lines = [comparison.sentence, "", f"{'':22}{a.key:>14}{b.key:>14}  difference (95% interval)"]
    lines.append(f"{'visits':22}{a.visits:>14}{b.visits:>14}")
    if comparison.share_differences is None or comparison.share_differences_ci95 is None:
        return "\n".join(lines)
    for name in FER7:
        low, high = comparison.share_differences_ci95[name]
        lines.append(
            f"{name + ' share':22}{(a.shares or {})[name]:>14.0%}{(b.shares or {})[name]:>14.0%}"
            f"  {comparison.share_differences[name]:+.0%} ({low:+.0%} to {high:+.0%})"
        )
    for test, label, left, right, digits in (
        (comparison.tests["valence"], "valence", a.valence, b.valence, 2),
        (comparison.tests["dwell"], "median dwell (s)", a.dwell_median_s, b.dwell_median_s, 1),
    ):
        low, high = test.difference_ci95 or (float("nan"),) * 2
        lines.append(
            f"{label:22}{left:>14.{digits}f}{right:>14.{digits}f}  "
            f"{test.difference:+.{digits}f} ({low:+.{digits}f} to {high:+.{digits}f})"
        )
    lines.append("")
    for test in comparison.tests.values():
        p_text = "not run" if test.p_value is None else _p(test.p_value)
        verdict = "significant" if test.significant else "not significant"
        lines.append(f"{test.name} ({test.method}): {p_text}, {verdict} at {ALPHA:.0%}")
    return "\n".join(lines)
