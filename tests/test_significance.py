"""compare's tests against scipy on the same counts, Newcombe's published interval, the plain sentence, and
k-anonymity (no figure for a group of fewer than k visits) in every output that shows groups."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy import stats

from storemood.analytics import queries, report, significance
from storemood.analytics.policy import FigurePolicy
from storemood.api.app import create_app
from storemood.api.settings import ApiSettings
from storemood.cli import main
from storemood.database.event_table import EventTable
from storemood.emotions import FER7
from storemood.visit_record import VisitEvent
from synthetic_events import EPOCH, synthetic_events

TEMPLATE = next(synthetic_events(1, seed=1))


def visit(product: str, emotion: str, dwell: float, minute: int) -> VisitEvent:
    """One visit to ``product`` whose dominant emotion is ``emotion``."""
    probabilities = {name: 0.9 if name == emotion else 0.1 / 6 for name in FER7}
    start = EPOCH + timedelta(minutes=minute)
    return dataclasses.replace(
        TEMPLATE,
        id=str(uuid.uuid4()),
        product=product,
        zone=f"zone-{product}",
        start=start,
        end=start + timedelta(seconds=dwell),
        probabilities=probabilities,
        dominant_emotion=emotion,
    )


def group(product: str, mix: dict[str, int], dwell: float, seed: int) -> list[VisitEvent]:
    rng = np.random.default_rng(seed)
    emotions = [name for name, count in mix.items() for _ in range(count)]
    return [visit(product, name, dwell * rng.uniform(0.5, 1.5), i) for i, name in enumerate(emotions)]


#: HAPPY-A is often happy and lingers; PLAIN-B mostly neutral; FEW-C has 3 visits (under k = 5).
EVENTS = (
    group("HAPPY-A", {"happy": 41, "neutral": 50, "sad": 9}, 8.0, 1)
    + group("PLAIN-B", {"happy": 23, "neutral": 65, "sad": 12}, 3.0, 2)
    + group("TWIN-D", {"happy": 41, "neutral": 50, "sad": 9}, 8.0, 3)
    + group("FEW-C", {"happy": 3}, 5.0, 4)
)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Iterator[EventTable]:
    with EventTable(f"sqlite:///{tmp_path_factory.mktemp('significance') / 'events.db'}") as events:
        events.add(EVENTS)
        yield events


def _counts(mix: dict[str, int]) -> dict[str, int]:
    return {name: mix.get(name, 0) for name in FER7}


def test_emotion_test_is_scipys_chi_square_on_the_same_counts():
    a, b = _counts({"happy": 41, "neutral": 50, "sad": 9}), _counts({"happy": 23, "neutral": 65, "sad": 12})
    method, statistic, p_value = significance.emotion_test(a, b)
    expected = stats.chi2_contingency([[41, 50, 9], [23, 65, 12]])
    assert method == "chi-square"
    assert (statistic, p_value) == pytest.approx((expected.statistic, expected.pvalue))


def test_small_counts_use_a_permutation_test_that_agrees_with_fishers_exact_test():
    a, b = _counts({"happy": 7, "neutral": 2}), _counts({"happy": 2, "neutral": 8})
    method, _, p_value = significance.emotion_test(a, b)
    assert method == "chi-square permutation test"
    assert p_value == pytest.approx(stats.fisher_exact([[7, 2], [2, 8]]).pvalue, abs=0.02)


def test_one_emotion_on_both_sides_has_nothing_to_test():
    assert significance.emotion_test(_counts({"happy": 9}), _counts({"happy": 12}))[2] is None


def test_valence_test_is_welchs_t_test_on_the_visit_scores():
    a, b = _counts({"happy": 41, "neutral": 50, "sad": 9}), _counts({"happy": 23, "neutral": 65, "sad": 12})
    scores_a = np.repeat([1, 0, -1], [41, 50, 9])
    scores_b = np.repeat([1, 0, -1], [23, 65, 12])
    expected = stats.ttest_ind(scores_a, scores_b, equal_var=False)
    result = significance.valence_test(a, b)
    assert result.p_value == pytest.approx(expected.pvalue)
    interval = expected.confidence_interval()
    assert result.difference_ci95 == pytest.approx((interval.low, interval.high))
    assert result.difference == pytest.approx(0.32 - 0.11)


def test_dwell_test_is_scipys_mann_whitney_u():
    rng = np.random.default_rng(0)
    a, b = list(rng.lognormal(1.5, 0.5, 60)), list(rng.lognormal(1.2, 0.5, 50))
    result = significance.dwell_test(a, b)
    expected = stats.mannwhitneyu(a, b, alternative="two-sided")
    assert (result.statistic, result.p_value) == pytest.approx((expected.statistic, expected.pvalue))
    low, high = result.difference_ci95
    assert result.difference == pytest.approx(np.median(a) - np.median(b)) and low < result.difference < high


def test_the_median_difference_interval_covers_the_true_difference_in_95_percent_of_samples():
    rng = np.random.default_rng(1)
    truth = np.exp(1.5) - np.exp(1.2)  # medians of the two lognormal dwell distributions
    covered = 0
    for _ in range(400):
        result = significance.dwell_test(list(rng.lognormal(1.5, 0.6, 60)), list(rng.lognormal(1.2, 0.6, 50)))
        covered += result.difference_ci95[0] <= truth <= result.difference_ci95[1]
    assert 0.92 <= covered / 400 <= 0.995


def test_newcombe_matches_the_published_example():
    # Newcombe (1998), Statistics in Medicine 17:873, table II, 56/70 - 48/80 by method 10: 0.0524 to 0.3339.
    low, high = significance.newcombe(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def test_a_real_difference_gets_a_plain_sentence(store):
    result = significance.compare(store.engine, "HAPPY-A", "PLAIN-B")
    assert result.tests["emotions"].significant and result.tests["dwell"].significant
    assert result.sentence.startswith("HAPPY-A is more often happy than PLAIN-B: 41% vs 23%, p = 0.0")
    assert "shoppers stay longer at HAPPY-A" in result.sentence


def test_two_alike_products_show_no_difference(store):
    result = significance.compare(store.engine, "HAPPY-A", "TWIN-D")
    assert not any(test.significant for test in result.tests.values())
    assert result.sentence == "No difference between HAPPY-A and TWIN-D that these visits can show."


def test_compare_json_carries_p_value_and_significant_for_each_test(store, capsys):
    assert main(["compare", "HAPPY-A", "PLAIN-B", "--db", str(store.engine.url), "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert set(body["tests"]) == {"emotions", "valence", "dwell"}
    for test in body["tests"].values():
        assert 0 <= test["p_value"] <= 1 and test["significant"] == (test["p_value"] < 0.05)
    assert main(["compare", "HAPPY-A", "PLAIN-B", "--db", str(store.engine.url)]) == 0
    assert capsys.readouterr().out.startswith("HAPPY-A is more often happy than PLAIN-B")


def test_a_group_under_k_is_suppressed_everywhere(store):
    rows = {row.key: row for row in queries.aggregate(store.engine, "product")}
    few = rows["FEW-C"].to_dict("product")
    assert few["suppressed"] and few["visits"] == 3 and not few["enough_visits"]
    hidden = ("shares", "shares_ci95", "valence", "valence_ci95", "dwell_median_s", "probabilities", "counts")
    assert all(few[name] is None for name in hidden)
    built = report.build_report(store.engine, "product")
    assert "FEW-C" in report.to_html(store.engine, built) and "suppressed: fewer than 5 visits" in report.to_html(
        store.engine, built
    )
    line = next(row for row in csv.DictReader(io.StringIO(report.to_csv(built))) if row["product"] == "FEW-C")
    assert line["valence"] == "" and line["shares.happy"] == "" and line["valence_ci95.low"] == ""
    histogram = queries.dwell_distribution(store.engine, "product")
    assert histogram["FEW-C"] is None and histogram["HAPPY-A"] is not None
    with_k_1 = queries.aggregate(store.engine, "product", policy=FigurePolicy(min_group=1, shares="count"))
    assert next(row for row in with_k_1 if row.key == "FEW-C").valence == 1.0


def test_the_api_suppresses_small_groups_and_never_ranks_them(store):
    client = TestClient(create_app(store.engine, ApiSettings()))
    window = {"since": EPOCH.isoformat(), "until": (EPOCH + timedelta(days=1)).isoformat()}
    rows = client.get("/api/aggregates/product", params=window).json()["rows"]
    few = next(row for row in rows if row["product"] == "FEW-C")
    assert few["suppressed"] and few["valence"] is None and few["shares"] is None
    points = client.get("/api/valence-over-time", params={**window, "bucket": "hour"}).json()["rows"]
    assert all(point["valence"] is None for point in points if point["product"] == "FEW-C")
    overview = client.get("/api/overview", params=window).json()
    listed = [row["product"] for row in overview["top"] + overview["bottom"]]
    assert "FEW-C" not in listed and len(listed) == len(set(listed))
    compared = client.get("/api/compare", params={**window, "a": "HAPPY-A", "b": "FEW-C"}).json()
    assert compared["sentence"] == "Too few visits to compare HAPPY-A and FEW-C."
    assert all(test["p_value"] is None for test in compared["tests"].values())
    sorted_rows = client.get("/api/aggregates/product", params={**window, "sort": "-valence"}).json()["rows"]
    assert sorted_rows[-1]["product"] == "FEW-C"


def test_rows_under_the_minimum_sample_are_greyed_and_not_ranked(store):
    policy = FigurePolicy(min_visits=150)  # more than any product here has
    rows = queries.aggregate(store.engine, "product", policy=policy)
    assert not any(row.enough_visits for row in rows)
    assert queries.rank(rows, 3) == ([], [])
    html = report.to_html(store.engine, report.build_report(store.engine, "product", policy=policy))
    assert html.count('<tr class="few">') == len(rows) and "too few read visits (under 150)" in html


def test_report_flags_choose_the_minimum_sample_k_and_the_shares_method(store, capsys):
    url = str(store.engine.url)
    argv = ["report", "--db", url, "--format", "json", "--min-visits", "150", "--min-group", "3", "--shares", "count"]
    assert main(argv) == 0
    body = json.loads(capsys.readouterr().out)
    assert (body["min_visits"], body["min_group"], body["shares_method"]) == (150, 3, "count")
    assert not any(row["enough_visits"] for row in body["rows"]) and not any(row["suppressed"] for row in body["rows"])
    assert main(["report", "--db", url, "--min-group", "0"]) == 2
    assert "at least 1 visit" in capsys.readouterr().err


def test_store_layouts_give_the_policy_unless_a_flag_does(tmp_path):
    from argparse import Namespace

    from storemood.cli.arguments import figure_policy
    from storemood.config import EXAMPLE_STORE

    layout = tmp_path / "store.yaml"
    text = EXAMPLE_STORE.read_text(encoding="utf-8").replace("min_visits: 20", "min_visits: 40")
    layout.write_text(text, encoding="utf-8")
    given = Namespace(min_visits=None, min_group=7, shares=None)
    assert figure_policy(given, [layout]) == FigurePolicy(min_visits=40, min_group=7)
    assert figure_policy(Namespace(min_visits=None, min_group=None, shares=None), [EXAMPLE_STORE]) == FigurePolicy()
