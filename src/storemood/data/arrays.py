"""NumPy arrays: a folder with ``X_train.npy``/``Y_train.npy`` and likewise ``X_val``/``Y_val``, ``X_test``/``Y_test``.

``X_<split>.npy`` holds faces as ``(N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)`` (colour read as RGB, the
order Python image libraries produce), uint8 0-255 or float 0-1/0-255. ``Y_<split>.npy`` holds one label
per face as ``(N, 1)`` or ``(N,)`` integers, or ``(N, K)`` one-hot rows.

How labels map: integers are FER2013 CSV codes (``storemood.emotions.FER2013_CSV_LABELS``: 0 angry,
1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral), because such arrays are nearly always made from
``fer2013.csv``. A ``classes.txt`` beside the arrays (one emotion name per line, line i naming label i)
overrides that, for arrays made from a class-folder tree (alphabetical order) or any other coding.
A face's source is ``X_<split>.npy:N``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from storemood.data.dataset import ImageSet, split_named
from storemood.emotions import FER2013_CSV_LABELS, canonical
from storemood.errors import UserError
from storemood.image_io import resize_square, to_uint8

CLASS_LIST = "classes.txt"
CHUNK = 4096  # faces converted at a time, so float arrays of a whole data set never sit in memory twice


def array_files(root: Path) -> dict[str, tuple[Path, Path]]:
    """``{split: (X file, Y file)}`` for the ``X_<split>.npy`` files in ``root``; a UserError if a Y is missing."""
    found = {}
    for x_file in sorted(root.glob("X_*.npy")):
        split = split_named(x_file.stem[2:])
        if split is None:
            raise UserError(f"{x_file.name}: {x_file.stem[2:]!r} is no split name (train, val, test)")
        y_file = x_file.with_name("Y" + x_file.name[1:])
        if not y_file.is_file():
            raise UserError(f"{x_file} has no matching {y_file.name}")
        found[split] = (x_file, y_file)
    return found


def label_names(root: Path) -> tuple[str, ...]:
    """What label i means: ``classes.txt`` when present, else the FER2013 CSV codes."""
    listing = root / CLASS_LIST
    if not listing.is_file():
        return FER2013_CSV_LABELS
    return tuple(canonical(line) for line in listing.read_text().splitlines() if line.strip())


def load_array(path: Path) -> np.ndarray:
    """A ``.npy`` file, memory-mapped; a UserError when it is no plain numeric array."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as error:
        raise UserError(f"{path} is not a readable numeric .npy array ({error})") from error
    if array.dtype.kind not in "uif":
        raise UserError(f"{path} holds {array.dtype} values, not numbers")
    return array


def to_faces(images: np.ndarray, size: int) -> np.ndarray:
    """``(N, H, W[, 1 or 3])`` numbers as ``(N, size, size)`` uint8 grayscale."""
    faces = []
    for start in range(0, len(images), CHUNK):
        batch = to_uint8(np.asarray(images[start : start + CHUNK]))
        if batch.ndim == 4 and batch.shape[3] == 3:
            batch = np.stack([cv2.cvtColor(face, cv2.COLOR_RGB2GRAY) for face in batch])
        elif batch.ndim == 4 and batch.shape[3] == 1:
            batch = batch[..., 0]
        faces.extend(resize_square(face, size) for face in batch)
    return np.stack(faces) if faces else np.zeros((0, size, size), np.uint8)


def to_label_indices(labels: np.ndarray, path: Path, n_names: int) -> np.ndarray:
    """``(N, 1)``/``(N,)`` integer labels or ``(N, K)`` one-hot rows as ``(N,)`` indices, checked against the names."""
    labels = np.asarray(labels)
    indices = labels.argmax(axis=1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.reshape(-1)
    if not np.all(np.equal(np.mod(indices, 1), 0)) or indices.min(initial=0) < 0 or indices.max(initial=0) >= n_names:
        raise UserError(f"{path} has labels outside 0..{n_names - 1}")
    return indices.astype(np.int64)


def load_arrays(root: Path, classes: tuple[str, ...], size: int = 48) -> dict[str, ImageSet]:
    """Read the ``X_*.npy``/``Y_*.npy`` pairs in ``root`` into one ``ImageSet`` per split."""
    names = label_names(root)
    splits = {}
    for split, (x_file, y_file) in array_files(root).items():
        images, labels = load_array(x_file), load_array(y_file)
        if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] not in (1, 3)):
            raise UserError(f"{x_file} has shape {images.shape}; expected (N, H, W), (N, H, W, 1) or (N, H, W, 3)")
        if len(labels) != len(images):
            raise UserError(f"{x_file} holds {len(images)} faces but {y_file} {len(labels)} labels")
        indices = to_label_indices(labels, y_file, len(names))
        sources = [f"{x_file}:{i}" for i in range(len(images))]
        splits[split] = ImageSet.from_names(to_faces(images, size), [names[i] for i in indices], classes, sources)
    return splits
