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
    ["simulate", "--stores", "0", "--db", "sqlite://"],
    ["simulate", "--cameras-per-store", "-2", "--db", "sqlite://"],
    ["simulate", "--events", "1e6", "--db", "sqlite://"],
    ["simulate", "--days", "nan", "--db", "sqlite://"],
    ["simulate", "--seed", "-1", "--db", "sqlite://"],
    ["train", "--epochs", "0", "data"],
    ["train", "--batch-size", "-8", "data"],
    ["train", "--lr", "0", "data"],
    ["train", "--lr", "nan", "data"],
    ["train", "--holdout", "1", "data"],
    ["train", "--ema", "-0.5", "data"],
    ["train", "--label-smoothing", "inf", "data"],
    ["train", "--mixup", "-1", "data"],
    ["train", "--weight-decay", "-1", "data"],
    ["train", "--plateau-factor", "1.5", "data"],
    ["train", "--patience", "0", "data"],
    ["train", "--threads", "-2", "data"],
    ["train", "--time-limit", "nan", "data"],
    ["train", "--ferplus-blend", "2", "data"],
    ["data-info", "--per-class", "0", "data"],
    ["evaluate", "--threads", "1.5", "data"],
    ["run", "--classify-hz", "-1", "clip.mp4"],
    ["run", "--max-yaw", "91", "clip.mp4"],
    ["run", "--max-pitch", "nan", "clip.mp4"],
    ["run", "--read-min-face", "0", "clip.mp4"],
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


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``storemood argv`` in-process; it must exit 2 with one line on stderr and no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "[SQL" not in err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "not a usable database URL"),
        ("mysql+nosuchdriver://shop/events", "not a usable database URL"),
        ("mssql+pyodbc://owner:hunter2@db.example/events", "driver for database URL"),
    ],
)
def test_unusable_database_url_is_one_line_without_its_password(
    url: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _refused(["report", "--db", url], capsys)
    assert expected in err and "hunter2" not in err


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("id: café\n".encode("latin-1"), "not UTF-8"),
        (b"id: " + b"[" * 40 + b"]" * 40 + b"\n", "nested deeper than"),
        (b"id: " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested deeper than"),
        (
            b"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + b"".join(
                f"a{i}: &a{i} [{', '.join(['*a' + (str(i - 1) if i > 1 else '')] * 10)}]\n".encode()
                for i in range(1, 7)
            ),
            "once aliases are expanded",
        ),
    ],
    ids=["latin-1", "deep", "very-deep", "alias-bomb"],
)
def test_unreadable_store_yaml_is_refused(content: bytes, expected: str, tmp_path, capsys) -> None:
    layout = _write(tmp_path / "store.yaml", content)
    assert expected in _refused(["run", "--store", str(layout)], capsys)


def test_a_folder_given_as_store_yaml_says_so(tmp_path, capsys) -> None:
    folder = tmp_path / "store.yaml"
    folder.mkdir()
    assert "is a folder" in _refused(["run", "--store", str(folder)], capsys)


@pytest.mark.parametrize(
    ("content", "expected"), [(bytes(range(256)), "is not text"), (b"abc\x01defghijklmnopqrstuvw\n", "printable")]
)
def test_binary_token_file_is_refused(content: bytes, expected: str, tmp_path, capsys) -> None:
    token = _write(tmp_path / "token", content)
    assert expected in _refused(["serve", "--token-file", str(token)], capsys)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["report", "--out", "{tmp}/report.xyz"], "unknown extension .xyz"),
        (["report", "--format", "html", "--out", "{tmp}/report.csv"], "--format is html"),
        (["report", "--out", "{tmp}"], "is a folder"),
        (["export", "--out", "{tmp}/visits"], "unknown extension (none)"),
        (["export", "--format", "parquet", "--out", "{tmp}/visits.csv"], "use .parquet"),
        (["export", "--out", "{tmp}"], "is a folder"),
        (["data-info", "{tmp}", "--out", "{tmp}/grid.xyz"], "unknown extension .xyz"),
        (["train", "{tmp}", "--out", "{tmp}/a-file"], "is a file"),
    ],
)
def test_output_paths_are_checked_before_any_work(argv, expected, tmp_path, capsys) -> None:
    (tmp_path / "a-file").write_text("keep me")
    err = _refused([part.format(tmp=tmp_path) for part in argv], capsys)
    assert expected in err
    assert (tmp_path / "a-file").read_text() == "keep me"  # nothing was overwritten


def test_annotate_with_an_unknown_image_type_is_refused_before_detection(tmp_path, capsys) -> None:
    import cv2
    import numpy as np

    image = tmp_path / "shelf.png"
    cv2.imwrite(str(image), np.full((64, 64, 3), 128, np.uint8))
    assert "not an image type" in _refused(["detect", str(image), "--annotate", str(tmp_path / "out.xyz")], capsys)
    assert "is a file" in _refused(["detect", str(image), str(image), "--annotate", str(image)], capsys)


def test_a_database_error_is_shown_as_the_drivers_first_line_without_sql() -> None:
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    from storemood.errors import first_line

    engine = sa.create_engine("sqlite://")
    with pytest.raises(SQLAlchemyError) as raised, engine.connect() as connection:
        connection.execute(sa.text("SELECT secret_column FROM no_such_table WHERE x = :x"), {"x": "hunter2"})
    assert "[SQL" in str(raised.value)  # what SQLAlchemy would print
    line = first_line(raised.value)
    assert line == "no such table: no_such_table"
