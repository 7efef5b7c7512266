"""Bad numeric option values are refused by argparse before any work starts: exit 2, no traceback."""

from __future__ import annotations

import pytest

from storemood.cli import main

BAD_VALUES = [
    ["report", "--engaged-after", "nan"],
    ["report", "--engaged-after", "inf"],
    ["report", "--engaged-after", "-1"],
    ["report", "--min-visits", "-3"],
    ["report", "--min-visits", "1.5"],
    ["report", "--min-group", "x"],
    ["detect", "--score-threshold", "1.5", "face.jpg"],
    ["detect", "--score-threshold", "-0.1", "face.jpg"],
    ["detect", "--score-threshold", "nan", "face.jpg"],
    ["run", "--lost-s", "nan", "clip.mp4"],
    ["run", "--lost-s", "-1", "clip.mp4"],
    ["run", "--min-track-s", "inf", "clip.mp4"],
    ["prune", "--older-than", "-5"],
    ["prune", "--older-than", "nan"],
    ["serve", "--max-range-days", "0"],
    ["train", "--epochs", "0", "data"],
    ["train", "--batch-size", "-8", "data"],
    ["train", "--lr", "0", "data"],
    ["train", "--lr", "nan", "data"],
    ["train", "--holdout", "1", "data"],
    ["train", "--ema", "-0.5", "data"],
    ["train", "--label-smoothing", "inf", "data"],
    ["train", "--mixup", "-1", "data"],
    ["train", "--plateau-factor", "1.5", "data"],
    ["train", "--patience", "0", "data"],
    ["train", "--threads", "-2", "data"],
    ["train", "--time-limit", "nan", "data"],
    ["train", "--ferplus-blend", "2", "data"],
    ["data-info", "--per-class", "0", "data"],
    ["evaluate", "--threads", "1.5", "data"],
    ["run", "--classify-hz", "-1", "clip.mp4"],
    ["run", "--half-life", "nan", "clip.mp4"],
    ["run", "--every", "0", "clip.mp4"],
    ["run", "--max-frames", "-10", "clip.mp4"],
    ["run", "--min-face", "-48", "clip.mp4"],
    ["run", "--threads", "inf", "clip.mp4"],
    ["serve", "--port", "0"],
    ["serve", "--port", "70000"],
]


@pytest.mark.parametrize("argv", BAD_VALUES, ids=" ".join)
def test_bad_option_value_is_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"argument {argv[1]}:" in err
