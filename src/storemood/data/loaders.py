"""One entry point for every data layout: ``load_splits(path, ...)`` -> ``{"train": ..., "val": ...}``."""

from __future__ import annotations

from pathlib import Path

from storemood.data.dataset import ImageSet, stratified_split
from storemood.data.folders import load_folder
from storemood.emotions import FER7
from storemood.errors import UserError

#: Sub-folder spellings of each split, in order of preference.
SPLIT_FOLDERS: dict[str, tuple[str, ...]] = {
    "train": ("train", "training"),
    "val": ("val", "validation", "valid", "publictest"),
    "test": ("test", "privatetest"),
}


def find_split_folders(root: Path) -> dict[str, Path]:
    """The split sub-folders of ``root`` (``train/``, ``val/`` or ``validation/``, ``test/``), if any."""
    children = {p.name.lower(): p for p in root.iterdir() if p.is_dir()} if root.is_dir() else {}
    found = {}
    for split, spellings in SPLIT_FOLDERS.items():
        for spelling in spellings:
            if spelling in children:
                found[split] = children[spelling]
                break
    return found


def load_splits(
    path: Path | str, classes: tuple[str, ...] = FER7, size: int = 48, seed: int = 0
) -> dict[str, ImageSet]:
    """Load DATA as train/val(/test) splits.

    With split sub-folders they are used as they are (a tree with only ``train/`` and ``test/`` uses
    ``test/`` for validation); without them the seeded stratified 72/14/14 split applies.
    """
    root = Path(path)
    if not root.exists():
        raise UserError(f"{root} does not exist")
    folders = find_split_folders(root)
    if folders:
        if "train" not in folders:
            raise UserError(f"{root} has split folders but no train/ folder")
        splits = {name: load_folder(folder, classes, size) for name, folder in folders.items()}
        if "val" not in splits and "test" in splits:
            splits["val"] = splits.pop("test")
        if "val" not in splits:
            splits.update(stratified_split(splits["train"], seed=seed))
        return splits
    return stratified_split(load_folder(root, classes, size), seed=seed)


def load_eval_set(path: Path | str, classes: tuple[str, ...] = FER7, size: int = 48) -> ImageSet:
    """Load DATA for evaluation: a class-folder tree read whole (its val/ split if it has splits)."""
    root = Path(path)
    if not root.exists():
        raise UserError(f"{root} does not exist")
    folders = find_split_folders(root)
    return load_folder(folders.get("val", folders.get("test", root)), classes, size)
