"""FER+ crowd votes as labels (``--labels ferplus.csv``), instead of the labels a data set came with.

A votes file has a ``file`` column and the vote counts of 10 annotators in the columns neutral, happiness,
surprise, sadness, anger, disgust, fear, contempt, unknown and NF (not a face). Its ``file`` is the
image's path relative to DATA's parent folder (``train/angry/fer0000000.png`` beside ``train/``); paths
relative to DATA itself or to the votes file's own folder are matched too. Rows of a FER2013 CSV match
by their row number, which FER+ file names carry (``fer0000123.png`` is row 123).

Majority protocol: the label is the column with the most votes (ties go to the first in ``VOTE_NAMES`` order); images
whose majority is unknown or NF are dropped, and so are those whose majority emotion is not among the
model's classes (contempt, for a 7-class model). Soft labels (``soft=True``) are the vote distribution
over the model's classes, for the same images.
"""

from __future__ import annotations

import csv
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from storemood.data.dataset import ImageSet
from storemood.emotions import FERPLUS8, FERPLUS_COLUMNS
from storemood.errors import UserError

log = logging.getLogger(__name__)

#: Vote columns in the order of ``VOTE_NAMES``: the eight emotions, then the two non-emotions.
VOTE_NAMES: tuple[str, ...] = (*FERPLUS8, "unknown", "nf")
_COLUMN_OF = {canonical: column for column, canonical in FERPLUS_COLUMNS.items()} | {"unknown": "unknown", "nf": "nf"}
_CSV_ROW = re.compile(r"^(?P<csv>.+\.csv):(?P<row>\d+)$", re.IGNORECASE)


@dataclass
class Votes:
    """Vote counts ``(M, 10)`` per image path (in ``VOTE_NAMES`` column order), with a lookup by file name."""

    by_path: dict[str, np.ndarray]
    by_stem: dict[str, np.ndarray]

    def find(self, source: str, anchors: list[str]) -> np.ndarray | None:
        """The votes for an image's ``source`` (a file path or ``file.csv:row``), or None."""
        row = _CSV_ROW.match(source)
        if row:
            return self.by_stem.get(f"fer{int(row['row']):07d}")
        absolute = os.path.abspath(source)
        for anchor in anchors:
            relative = os.path.relpath(absolute, anchor).replace(os.sep, "/")
            if relative in self.by_path:
                return self.by_path[relative]
        return None


def read_votes(path: Path) -> Votes:
    """Read a FER+ votes file; rows without votes (images FER+ did not label) are left out."""
    if not path.is_file():
        raise UserError(f"labels file {path} does not exist")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
        missing = [c for c in ("file", *(_COLUMN_OF[name] for name in VOTE_NAMES)) if c not in reader.fieldnames]
        if missing:
            raise UserError(f"{path} is not a FER+ votes file: missing column(s) {', '.join(missing)}")
        by_path = {}
        for row in reader:
            cells = [(row[_COLUMN_OF[name]] or "").strip() for name in VOTE_NAMES]
            if all(cells):
                by_path[PurePosixPath(row["file"].strip().replace("\\", "/")).as_posix()] = np.array(cells, np.float32)
    by_stem = {PurePosixPath(file).stem: votes for file, votes in by_path.items()}
    return Votes(by_path, by_stem)


def targets_from_votes(votes: np.ndarray, classes: tuple[str, ...], soft: bool) -> np.ndarray | None:
    """The target row over ``classes`` for one image's votes, or None when the image is to be dropped."""
    majority = VOTE_NAMES[int(votes.argmax())]
    if majority not in classes:
        return None
    if not soft:
        return np.eye(len(classes), dtype=np.float32)[classes.index(majority)]
    kept = votes[[VOTE_NAMES.index(name) for name in classes]]
    return (kept / kept.sum()).astype(np.float32)


def relabel(data: ImageSet, votes: Votes, anchors: list[str], classes: tuple[str, ...], soft: bool) -> ImageSet:
    """``data`` with FER+ targets over ``classes``: unmatched and dropped images are left out."""
    index, targets = [], []
    for i, source in enumerate(data.sources):
        found = votes.find(source, anchors)
        target = None if found is None else targets_from_votes(found, classes, soft)
        if target is not None:
            index.append(i)
            targets.append(target)
    kept = np.zeros((0, len(classes)), np.float32) if not targets else np.stack(targets)
    return ImageSet(data.images[index], kept, classes, [data.sources[i] for i in index])


def _anchors(labels: Path, data_root: Path) -> list[str]:
    """Folders a votes file's paths may be relative to, most likely first."""
    return [os.path.abspath(p) for p in (data_root.parent, data_root, labels.parent)]


def blend_votes(data: ImageSet, labels: Path, data_root: Path, weight: float) -> ImageSet:
    """``data`` with targets ``(1 - weight) * own + weight * FER+ votes`` over its own classes.

    Why: FER2013's single labels are noisy, while ten votes say how ambiguous a face is; mixing them in
    keeps the data's label convention (what validation measures) but softens targets where annotators
    disagreed. Faces without votes, or whose votes fall outside the classes, keep their own target.
    """
    votes = read_votes(labels)
    anchors = _anchors(labels, data_root)
    columns = [VOTE_NAMES.index(name) for name in data.classes]
    targets, blended = data.targets.copy(), 0
    for i, source in enumerate(data.sources):
        found = votes.find(source, anchors)
        kept = None if found is None else found[columns]
        if kept is not None and kept.sum() > 0:
            targets[i] = (1 - weight) * targets[i] + weight * kept / kept.sum()
            blended += 1
    if blended == 0:
        raise UserError(f"{labels} has votes for none of the {len(data)} training images in {data_root}")
    log.info("FER+ votes blended into %d of %d training targets (weight %.2f)", blended, len(data), weight)
    return ImageSet(data.images, targets, data.classes, data.sources)


def relabel_splits(
    splits: dict[str, ImageSet], labels: Path, data_root: Path, classes: tuple[str, ...], soft: bool
) -> dict[str, ImageSet]:
    """Relabel every split from the votes in ``labels``; a UserError when the file matches no image."""
    votes = read_votes(labels)
    anchors = _anchors(labels, data_root)
    relabelled = {name: relabel(split, votes, anchors, classes, soft) for name, split in splits.items()}
    total, kept = sum(map(len, splits.values())), sum(map(len, relabelled.values()))
    if kept == 0:
        raise UserError(
            f"{labels} labels none of the {total} images in {data_root} as one of {', '.join(classes)} "
            "(its file column must be the image path relative to DATA's parent folder)"
        )
    log.info("FER+ labels kept %d of %d images (the rest unmatched, unknown, not a face or another class)", kept, total)
    return relabelled
