"""Every data layout gives the same faces and labels: real FER2013 images converted here into each format."""

from __future__ import annotations

import csv
import random
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import FER2013, copy_fer_subset, require
from storemood.data.arrays import load_arrays
from storemood.data.dataset import ALL_SPLITS, ImageSet
from storemood.data.ferplus import blend_votes
from storemood.data.loaders import load_splits, pick_eval_split, read_labelled
from storemood.emotions import FER7, FER2013_CSV_LABELS, RETAIL4
from storemood.errors import UserError

USAGE = {"train": "Training", "val": "PublicTest"}


def shuffled_files(tree: Path) -> list[tuple[str, str, Path]]:
    """(split, class, file) for every image of a split tree, in a seeded random order."""
    files = [(f.parts[-3], f.parts[-2], f) for f in sorted(tree.glob("*/*/*.png"))]
    random.Random(1).shuffle(files)
    return files


def write_csv(files: list[tuple[str, str, Path]], path: Path) -> Path:
    """A fer2013.csv-style file of the given faces, rows in the given order."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for split, name, file in files:
            pixels = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE)
            writer.writerow([FER2013_CSV_LABELS.index(name), " ".join(map(str, pixels.ravel())), USAGE[split]])
    return path


def write_arrays(files: list[tuple[str, str, Path]], root: Path, channels: int, dtype: str) -> Path:
    """X_<split>.npy/Y_<split>.npy of the given faces: (N,48,48,channels), labels (N,1) in FER2013 codes."""
    root.mkdir()
    for split in USAGE:
        chosen = [(name, file) for s, name, file in files if s == split]
        faces = np.stack([cv2.imread(str(file), cv2.IMREAD_GRAYSCALE) for _, file in chosen])
        faces = np.repeat(faces[..., None], channels, axis=3)
        np.save(root / f"X_{split}.npy", faces.astype(np.float32) / 255 if dtype == "float" else faces)
        np.save(root / f"Y_{split}.npy", np.array([[FER2013_CSV_LABELS.index(name)] for name, _ in chosen]))
    return root


def by_file(data: ImageSet, files: list[Path]) -> dict[str, tuple[np.ndarray, str]]:
    """Each face and its class keyed by original file name; ``file.csv:N``/``X.npy:N`` sources index ``files``."""
    keyed = {}
    for image, label, source in zip(data.images, data.labels, data.sources, strict=True):
        name = Path(source).name if source.endswith(".png") else files[int(source.rsplit(":", 1)[1])].name
        keyed[name] = (image, data.classes[label])
    return keyed


def assert_same(expected: dict[str, ImageSet], actual: dict[str, ImageSet], files: list[Path]) -> None:
    assert set(actual) == set(expected)
    for split in expected:
        want, got = by_file(expected[split], []), by_file(actual[split], files)
        assert set(got) == set(want)
        for key, (image, name) in want.items():
            assert got[key][1] == name
            np.testing.assert_array_equal(got[key][0], image)


@pytest.fixture(scope="module")
def formats(fer_small, tmp_path_factory):
    """The fer_small faces as a class-folder tree, a CSV and .npy arrays (uint8 RGB and float gray)."""
    tmp = tmp_path_factory.mktemp("formats")
    files = shuffled_files(fer_small)
    csv_path = write_csv(files, tmp / "fer2013.csv")
    split_files = {split: [f for s, _, f in files if s == split] for split in USAGE}
    return {
        "folder": fer_small,
        "csv": (csv_path, [f for _, _, f in files]),
        "npy_rgb": (write_arrays(files, tmp / "rgb", 3, "uint8"), split_files),
        "npy_gray_float": (write_arrays(files, tmp / "gray", 1, "float"), split_files),
    }


def test_csv_gives_the_same_faces_and_labels_as_the_folder_tree(formats):
    expected = load_splits(formats["folder"])
    path, files = formats["csv"]
    actual = load_splits(path)
    assert sum(map(len, actual.values())) == sum(map(len, expected.values())) == 7 * 28
    assert_same(expected, actual, files)


@pytest.mark.parametrize("layout", ["npy_rgb", "npy_gray_float"])
def test_npy_arrays_give_the_same_faces_and_labels_as_the_folder_tree(formats, layout):
    expected = load_splits(formats["folder"])
    root, split_files = formats[layout]
    actual = load_splits(root)
    for split in USAGE:
        assert_same({split: expected[split]}, {split: actual[split]}, split_files[split])


def test_a_class_list_file_overrides_the_fer2013_codes(formats, tmp_path):
    root, _ = formats["npy_rgb"]
    copy = Path(shutil.copytree(root, tmp_path / "arrays"))
    codes = np.load(copy / "Y_train.npy")
    np.save(copy / "Y_train.npy", np.array([[FER7.index(FER2013_CSV_LABELS[c])] for c in codes[:, 0]]))
    (copy / "classes.txt").write_text("\n".join(FER7) + "\n")
    expected = load_arrays(root, FER7)["train"]
    np.testing.assert_array_equal(load_arrays(copy, FER7)["train"].labels, expected.labels)


def test_class_subset_keeps_only_those_classes_in_every_format(formats):
    for data in (formats["folder"], formats["csv"][0], formats["npy_rgb"][0]):
        splits = load_splits(data, RETAIL4)
        assert splits["train"].counts() == dict.fromkeys(RETAIL4, 20)
        assert splits["val"].counts() == dict.fromkeys(RETAIL4, 8)


def test_unsplit_data_gets_the_seeded_stratified_split(fer_small):
    whole = load_splits(fer_small / "train", seed=3)
    again = load_splits(fer_small / "train", seed=3)
    assert {name: len(s) for name, s in whole.items()} == {"train": 7 * 14, "val": 7 * 3, "test": 7 * 3}
    assert whole["val"].sources == again["val"].sources
    assert not set(whole["train"].sources) & set(whole["test"].sources)


def test_eval_split_prefers_validation_and_obeys_split(formats):
    path, _ = formats["csv"]
    splits = read_labelled(path, FER7, 48)
    assert len(splits[pick_eval_split(splits, None, path)]) == 7 * 8
    assert len(splits[pick_eval_split(splits, "train", path)]) == 7 * 20
    with pytest.raises(UserError, match="no test split"):
        pick_eval_split(splits, "test", path)


@pytest.fixture(scope="module")
def fer_votes_tree(tmp_path_factory):
    """A small real FER2013 tree named like the shared one, so ferplus.csv paths match it."""
    votes = require(FER2013 / "ferplus.csv")
    root = tmp_path_factory.mktemp("ferplus") / "fer2013"
    copy_fer_subset(root / "train", "train", per_class=15, seed=2)
    shutil.copy2(votes, root / "ferplus.csv")
    return root


def read_vote_rows(path: Path) -> dict[str, dict[str, int]]:
    with path.open() as handle:
        return {row.pop("file"): row for row in csv.DictReader(handle) if row["neutral"]}


def test_ferplus_majority_labels_follow_the_votes(fer_votes_tree):
    votes = read_vote_rows(fer_votes_tree / "ferplus.csv")
    data = load_splits(fer_votes_tree / "train", labels=fer_votes_tree / "ferplus.csv", seed=0)
    faces = [face for split in data.values() for face in zip(split.sources, split.labels, strict=True)]
    assert 0 < len(faces) <= 7 * 15
    columns = {"anger": "angry", "happiness": "happy", "sadness": "sad"}
    for source, label in faces:
        row = votes[Path(source).relative_to(fer_votes_tree).as_posix()]
        counts = {columns.get(k, k): int(v) for k, v in row.items()}
        assert counts[FER7[label]] == max(counts.values())  # also beats unknown, not-a-face and contempt


def test_ferplus_soft_labels_are_vote_distributions_over_the_classes(fer_votes_tree):
    hard = load_splits(fer_votes_tree, labels=fer_votes_tree / "ferplus.csv")
    soft = load_splits(fer_votes_tree, labels=fer_votes_tree / "ferplus.csv", soft=True)
    train = soft["train"]
    np.testing.assert_allclose(train.targets.sum(axis=1), 1.0, rtol=1e-6)
    assert (train.targets.max(axis=1) < 1).any()  # real votes disagree on some faces
    np.testing.assert_array_equal(hard["train"].labels, train.labels)


def test_ferplus_blend_mixes_votes_into_the_own_labels(fer_votes_tree):
    votes = fer_votes_tree / "ferplus.csv"
    own = load_splits(fer_votes_tree)["train"]
    blended = blend_votes(own, votes, fer_votes_tree, 0.4)
    np.testing.assert_allclose(blended.targets.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(blended.labels, own.labels)  # the own label keeps at least 0.6 of the mass
    changed = (blended.targets != own.targets).any(axis=1)
    assert changed.mean() > 0.3  # real annotators disagree with FER2013's label on many faces
    soft = load_splits(fer_votes_tree, labels=votes, soft=True)["train"]
    by_source = dict(zip(soft.sources, soft.targets, strict=True))
    for source, mixed, target in zip(own.sources, blended.targets, own.targets, strict=True):
        if source in by_source:
            np.testing.assert_allclose(mixed, 0.6 * target + 0.4 * by_source[source], atol=1e-6)


def test_ferplus_blend_refuses_a_votes_file_that_matches_nothing(fer_votes_tree, tmp_path):
    own = load_splits(fer_votes_tree)["train"]
    (tmp_path / "votes").mkdir()
    moved = shutil.copy2(fer_votes_tree / "ferplus.csv", tmp_path / "votes")  # paths now relative to nothing here
    with pytest.raises(UserError, match="has votes for none"):
        blend_votes(own, Path(moved), tmp_path / "elsewhere" / "data", 0.5)


def test_ferplus_labels_from_the_shared_file_match_the_shared_folders():
    val = require(FER2013 / "val")
    data = read_labelled(val, RETAIL4, 48, labels=FER2013 / "ferplus.csv")[ALL_SPLITS]
    assert data.classes == RETAIL4 and len(data) > 100
