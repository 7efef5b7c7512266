"""Bad input gets one line on stderr and exit status 2; unreadable images and rows are skipped and counted."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import copy_fer_subset
from storemood.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_user_error(capsys, *argv: str, reason: str) -> None:
    status, _, err = run_cli(capsys, *argv)
    assert status == 2
    assert reason in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.fixture
def faces(tmp_path) -> Path:
    """A fresh copy of a few real FER2013 faces per class, free to be damaged by the test."""
    return copy_fer_subset(tmp_path / "faces", per_class=6)


def test_missing_and_empty_folders(capsys, tmp_path):
    assert_user_error(capsys, "data-info", tmp_path / "nowhere", reason="does not exist")
    (tmp_path / "empty").mkdir()
    assert_user_error(capsys, "data-info", tmp_path / "empty", reason="no class folders")


def test_class_folder_without_images(capsys, faces):
    shutil.rmtree(faces / "sad")
    (faces / "sad").mkdir()
    assert_user_error(capsys, "data-info", faces, reason="has no images")


def test_unknown_class_names(capsys, faces):
    assert_user_error(capsys, "data-info", faces, "--classes", "happy,boredom", reason="'boredom'")
    shutil.copytree(faces / "happy", faces / "boredom")
    assert_user_error(capsys, "data-info", faces, reason="'boredom'")


def test_csv_with_wrong_columns(capsys, tmp_path):
    bad = tmp_path / "faces.csv"
    bad.write_text("label,image\n3,1 2 3 4\n")
    assert_user_error(capsys, "data-info", bad, reason="missing: emotion, pixels")


def test_labels_file_that_matches_no_image(capsys, faces, tmp_path):
    votes = tmp_path / "votes.csv"
    votes.write_text(
        "file,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
        "elsewhere/happy/x.png,0,10,0,0,0,0,0,0,0,0\n"
    )
    assert_user_error(capsys, "data-info", faces, "--labels", votes, reason="labels none of the 42 images")
    assert_user_error(capsys, "data-info", faces, "--labels", tmp_path / "none.csv", reason="does not exist")
    votes.write_text("file,happiness\nx.png,3\n")
    assert_user_error(capsys, "data-info", faces, "--labels", votes, reason="not a FER+ votes file")


def test_mismatched_npy_arrays(capsys, tmp_path):
    np.save(tmp_path / "X_train.npy", np.zeros((4, 48, 48, 1), np.uint8))
    np.save(tmp_path / "Y_train.npy", np.zeros((3, 1), np.int64))
    assert_user_error(capsys, "data-info", tmp_path, reason="4 faces but")


def test_unreadable_images_are_skipped_and_counted(capsys, caplog, faces):
    (faces / "happy" / "truncated.png").write_bytes((faces / "sad").glob("*.png").__next__().read_bytes()[:40])
    (faces / "happy" / "empty.jpg").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        status, out, _ = run_cli(capsys, "data-info", faces)
    assert status == 0
    assert "skipped 2 unreadable image file(s)" in caplog.text
    assert "42" in out  # 7 classes x 6 readable faces


def test_malformed_csv_rows_are_skipped_and_counted(capsys, caplog, tmp_path):
    path = tmp_path / "faces.csv"
    good = " ".join(["128"] * 2304)
    path.write_text(f"emotion,pixels,Usage\n3,{good},Training\n9,{good},Training\n4,1 2 x,Training\n6,{good},Lost\n")
    with caplog.at_level(logging.WARNING):
        status, _, _ = run_cli(capsys, "data-info", path)
    assert status == 0
    assert "skipped 3 malformed row(s)" in caplog.text


def test_model_and_checkpoint_problems(capsys, faces, tmp_path):
    assert_user_error(capsys, "evaluate", faces, "--model", tmp_path / "none.onnx", reason="does not exist")
    assert_user_error(capsys, "export-onnx", tmp_path / "none.pt", tmp_path / "x.onnx", reason="does not exist")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    assert_user_error(capsys, "export-onnx", junk, tmp_path / "x.onnx", reason="not a storemood training checkpoint")
    assert_user_error(capsys, "train", faces, "--soft-labels", reason="--soft-labels needs --labels")
