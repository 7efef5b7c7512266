"""``ImageSet``: faces and their targets as arrays, the one thing every loader produces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Names of the splits, each with the spellings data sets use for it (folder names, FER2013 ``Usage``).
SPLIT_NAMES: dict[str, tuple[str, ...]] = {
    "train": ("train", "training"),
    "val": ("val", "validation", "valid", "publictest"),
    "test": ("test", "privatetest"),
}

#: The key of a data set that comes without splits.
ALL_SPLITS = "all"


def split_named(spelling: str) -> str | None:
    """``train``, ``val`` or ``test`` for a split's spelling in any case (``PublicTest`` -> ``val``), else None."""
    key = spelling.strip().lower()
    return next((split for split, spellings in SPLIT_NAMES.items() if key in spellings), None)


@dataclass
class ImageSet:
    """Faces as ``(N, size, size)`` uint8 grayscale with ``(N, C)`` float32 targets over ``classes``.

    Targets are one-hot for hard labels, or a probability distribution (e.g. FER+ votes) for soft
    labels, so training code never needs to know which. ``sources`` names where each face came from
    (a file path, or ``file.csv:row``) for error messages and reproducibility.
    """

    images: np.ndarray
    targets: np.ndarray
    classes: tuple[str, ...]
    sources: list[str]

    def __len__(self) -> int:
        return len(self.images)

    @property
    def labels(self) -> np.ndarray:
        """Hard labels: the class index with the largest target."""
        return self.targets.argmax(axis=1)

    def counts(self) -> dict[str, int]:
        """Images per class (by hard label), in class order."""
        found = np.bincount(self.labels, minlength=len(self.classes))
        return {name: int(n) for name, n in zip(self.classes, found, strict=True)}

    def subset(self, index: np.ndarray) -> ImageSet:
        return ImageSet(self.images[index], self.targets[index], self.classes, [self.sources[i] for i in index])

    @classmethod
    def from_labels(
        cls, images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], sources: list[str]
    ) -> ImageSet:
        targets = np.eye(len(classes), dtype=np.float32)[np.asarray(labels, dtype=np.int64)]
        return cls(np.asarray(images, dtype=np.uint8), targets, classes, sources)

    @classmethod
    def from_names(cls, images: np.ndarray, names: list[str], classes: tuple[str, ...], sources: list[str]) -> ImageSet:
        """Faces labelled by emotion name; those whose emotion is not in ``classes`` are left out.

        Leaving them out (rather than failing) is what lets a 7-class file train a retail4 model.
        """
        keep = [i for i, name in enumerate(names) if name in classes]
        labels = np.array([classes.index(names[i]) for i in keep], dtype=np.int64)
        return cls.from_labels(images[keep], labels, classes, [sources[i] for i in keep])


def stratified_split(
    data: ImageSet, fractions: tuple[float, float, float] = (0.72, 0.14, 0.14), seed: int = 0
) -> dict[str, ImageSet]:
    """Split into train/val/test keeping each class's share, reproducibly for a given seed.

    >>> faces = ImageSet.from_names(np.zeros((100, 48, 48), np.uint8), ["happy"] * 50 + ["sad"] * 50,
    ...                             ("happy", "sad"), [f"face{i}.png" for i in range(100)])
    >>> {name: part.counts() for name, part in stratified_split(faces).items()}
    {'train': {'happy': 36, 'sad': 36}, 'val': {'happy': 7, 'sad': 7}, 'test': {'happy': 7, 'sad': 7}}
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for label in range(len(data.classes)):
        members = rng.permutation(np.flatnonzero(data.labels == label))
        n_train = round(len(members) * fractions[0])
        n_val = round(len(members) * fractions[1])
        parts["train"].append(members[:n_train])
        parts["val"].append(members[n_train : n_train + n_val])
        parts["test"].append(members[n_train + n_val :])
    return {name: data.subset(np.sort(np.concatenate(index))) for name, index in parts.items()}
