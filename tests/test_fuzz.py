"""Fuzzing the two doors user input comes in by, store.yaml and command-line options (Hypothesis).

Whatever is typed or written, storemood answers with exit 0 or 2 and at most a one-line message: never a
traceback, never exit 1 (which means a failure that is not the user's to fix). Every command is pointed at a
database, video or data folder that does not exist, so no example does real work and the suite stays fast.
Examples are derandomized, so CI sees the same ones on every run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storemood.cli import main

FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

#: Keys a store.yaml uses, so random documents reach past the top level into cameras, zones and blocks.
LAYOUT_KEYS = (
    "id", "name", "timezone", "cameras", "source", "zones", "polygon", "product", "sku", "brand",
    "detect", "track", "classify", "settings", "publish", "still", "fps", "resolution", "min_face",
    "score_threshold", "lost_s", "hz", "mirror", "model", "engagement_dwell_s", "mqtt", "webhook",
)  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.sampled_from(LAYOUT_KEYS) | st.text(max_size=8), children, max_size=6),
    ),
    max_leaves=40,
)


def exit_code(argv: list[str]) -> int:
    """``storemood argv`` in-process: the code it returns or exits with (argparse exits on bad usage)."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2


def assert_answered(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = exit_code(argv)
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code, err)
    assert "Traceback" not in err


@FUZZ
@given(document=documents)
def test_random_store_yaml_is_answered_with_exit_2(document, tmp_path: Path, capsys) -> None:
    layout = tmp_path / "store.yaml"
    layout.write_text(yaml.safe_dump({"id": "fuzz", "cameras": document}, allow_unicode=True), encoding="utf-8")
    assert_answered(["detect", "--store", str(layout), "--camera", "nosuch", str(tmp_path / "none.png")], capsys)
    layout.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    assert_answered(["detect", "--store", str(layout), str(tmp_path / "none.png")], capsys)


@FUZZ
@given(content=st.binary(max_size=300))
def test_random_bytes_as_store_yaml_are_answered_with_exit_2(content: bytes, tmp_path: Path, capsys) -> None:
    layout = tmp_path / "store.yaml"
    layout.write_bytes(content)
    assert_answered(["run", "--store", str(layout)], capsys)


#: (command and what it needs, options with values): every target is missing, so a valid line stops at exit 2.
COMMANDS = [
    (["report", "--db", "sqlite:///{tmp}/none.db"],
     ["--engaged-after", "--min-visits", "--min-group", "--since", "--until", "--by", "--format", "--out"]),
    (["export", "--db", "sqlite:///{tmp}/none.db"], ["--since", "--format", "--out", "--store"]),
    (["prune", "--db", "sqlite:///{tmp}/none.db"], ["--older-than"]),
    (["serve", "--db", "sqlite:///{tmp}/none.db"], ["--port", "--host", "--max-range-days", "--token-file"]),
    (["run", "{tmp}/none.mp4"],
     ["--every", "--max-frames", "--classify-hz", "--half-life", "--lost-s", "--min-track-s", "--min-face",
      "--score-threshold", "--threads", "--detector", "--output", "--db", "--start-time"]),
    (["detect", "{tmp}/none.png"], ["--min-face", "--score-threshold", "--threads", "--annotate", "--model"]),
    (["train", "{tmp}/no-data"],
     ["--epochs", "--batch-size", "--lr", "--holdout", "--ema", "--mixup", "--label-smoothing", "--threads",
      "--time-limit", "--patience", "--plateau-factor", "--weight-decay", "--arch", "--classes", "--out"]),
    (["evaluate", "{tmp}/no-data"], ["--threads", "--split", "--model"]),
    (["data-info", "{tmp}/no-data"], ["--per-class", "--seed", "--out"]),
]  # fmt: skip

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.text(st.characters(exclude_characters="\x00"), max_size=16),  # a shell cannot pass NUL in an argument
    st.sampled_from(["0", "-0", "1e309", "nan", "-inf", "0x10", "1_000", " 3 ", "", "report.csv", "/"]),
)


@settings(FUZZ, max_examples=200)
@given(
    command=st.sampled_from(COMMANDS),
    chosen=st.lists(st.tuples(st.integers(min_value=0, max_value=20), values), min_size=1, max_size=4),
)
def test_random_option_values_are_answered_with_exit_0_or_2(command, chosen, tmp_path: Path, capsys) -> None:
    base, options = command
    argv = [part.format(tmp=tmp_path) for part in base]
    for index, value in chosen:
        argv.append(f"{options[index % len(options)]}={value}")
    assert_answered(argv, capsys)
