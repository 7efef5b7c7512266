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
]


@pytest.mark.parametrize("argv", BAD_VALUES, ids=" ".join)
def test_bad_option_value_is_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"argument {argv[1]}:" in err
