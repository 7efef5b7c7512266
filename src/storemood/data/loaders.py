"""One entry point for every data layout: ``load_splits(path, ...)`` -> ``{"train": ..., "val": ...}``.

DATA may be a class-folder tree (``<class>/<image>``, optionally under ``train/``, ``val/``, ``test/``),
a FER2013-style CSV file (``emotion,pixels[,Usage]``) or a folder of ``X_<split>.npy``/``Y_<split>.npy``
arrays; all three give the same arrays for the same faces. ``labels=`` takes the labels from a FER+ votes
file instead of from the data (``storemood.data.ferplus``).
"""

from __future__ import annotations

from pathlib import Path

from storemood.data.arrays import load_arrays
from storemood.data.csvfile import load_csv
from storemood.data.dataset import ALL_SPLITS, SPLIT_NAMES, ImageSet, stratified_split
from storemood.data.ferplus import relabel_splits
from storemood.data.folders import load_folder
from storemood.emotions import FER7, FERPLUS8
from storemood.errors import UserError

#: Splits an evaluation uses when none is named: validation first, then test, then an unsplit set.
EVAL_PREFERENCE = ("val", "test", ALL_SPLITS)


def find_split_folders(root: Path) -> dict[str, Path]:
    """The split sub-folders of ``root`` (``train/``, ``val/`` or ``validation/``, ``test/``), if any."""
    children = {p.name.lower(): p for p in root.iterdir() if p.is_dir()} if root.is_dir() else {}
    found = {}
    for split, spellings in SPLIT_NAMES.items():
        spelling = next((s for s in spellings if s in children), None)
        if spelling:
            found[split] = children[spelling]
    return found


def read_data(root: Path, classes: tuple[str, ...], size: int) -> dict[str, ImageSet]:
    """DATA in whichever layout it has, as sets keyed by split (``train``/``val``/``test``) or ``"all"``."""
    if not root.exists():
        raise UserError(f"{root} does not exist")
    if root.is_file():
        if root.suffix.lower() != ".csv":
            raise UserError(
                f"{root} is a file but not a .csv; DATA is a class-folder tree, a FER2013-style CSV "
                "or a folder of X_train.npy/Y_train.npy arrays"
            )
        return load_csv(root, classes, size)
    if any(root.glob("X_*.npy")):
        return load_arrays(root, classes, size)
    folders = find_split_folders(root)
    if folders:
        return {name: load_folder(folder, classes, size) for name, folder in folders.items()}
    return {ALL_SPLITS: load_folder(root, classes, size)}


def read_labelled(
    path: Path | str, classes: tuple[str, ...], size: int, labels: Path | str | None = None, soft: bool = False
) -> dict[str, ImageSet]:
    """``read_data``, with targets from a FER+ votes file when ``labels`` is given.

    With votes, faces of every emotion are read (an image in ``angry/`` may be FER+ happy) and then
    relabelled; without, only faces of ``classes`` are read. Splits left with no faces are dropped.
    """
    root = Path(path)
    if labels is None:
        splits = read_data(root, classes, size)
    else:
        splits = relabel_splits(read_data(root, FERPLUS8, size), Path(labels), root, classes, soft)
    splits = {name: split for name, split in splits.items() if len(split)}
    if not splits:
        raise UserError(f"{root} has no faces of the classes {', '.join(classes)}")
    return splits


def load_splits(
    path: Path | str,
    classes: tuple[str, ...] = FER7,
    size: int = 48,
    seed: int = 0,
    labels: Path | str | None = None,
    soft: bool = False,
) -> dict[str, ImageSet]:
    """Load DATA as train/val(/test) splits.

    Splits the data came with (folders, CSV ``Usage``, ``X_<split>.npy``) are used as they are (with only
    ``train`` and ``test``, ``test`` serves for validation); without them, or with only ``train``, the
    seeded stratified 72/14/14 split applies.
    """
    splits = read_labelled(path, classes, size, labels, soft)
    if ALL_SPLITS in splits:
        return stratified_split(splits[ALL_SPLITS], seed=seed)
    if "train" not in splits:
        raise UserError(f"{path} has splits ({', '.join(splits)}) but no training faces")
    if "val" not in splits and "test" in splits:
        splits["val"] = splits.pop("test")
    if "val" not in splits:
        splits.update(stratified_split(splits["train"], seed=seed))
    return splits


def pick_eval_split(splits: dict[str, ImageSet], split: str | None, path: Path | str) -> str:
    """The split to evaluate on: the one asked for, else validation, test or the unsplit set."""
    if split is not None:
        if split not in splits:
            raise UserError(f"{path} has no {split} split (it has: {', '.join(splits)})")
        return split
    for name in EVAL_PREFERENCE:
        if name in splits:
            return name
    raise UserError(f"{path} has no val or test split; name one with --split ({', '.join(splits)})")
