"""FER2013-style CSV files: one face per row as ``emotion,pixels,Usage``.

``emotion`` is the FER2013 integer code (``storemood.emotions.FER2013_CSV_LABELS``: 0 angry, 1 disgust,
2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral) or an emotion name; ``pixels`` is a square grayscale
image as space-separated 0-255 values (2304 of them for FER2013's 48x48); ``Usage`` (optional) picks
the split: Training, PublicTest (validation) or PrivateTest (test). A row's source is ``file.csv:N``
with N counted from 0 after the header, which is also FER2013's own image numbering (``ferNNNNNNN``).
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from storemood.data.dataset import ALL_SPLITS, ImageSet, split_named
from storemood.emotions import FER2013_CSV_LABELS, canonical
from storemood.errors import UserError
from storemood.image_io import resize_square

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("emotion", "pixels")


class MalformedRow(ValueError):
    """A row whose label or pixels cannot be read; it is skipped and counted, never fatal."""


def emotion_name(value: str) -> str:
    """The emotion a CSV ``emotion`` cell names: a FER2013 code (0-6) or an emotion name.

    >>> emotion_name("3"), emotion_name("6"), emotion_name("Surprised")
    ('happy', 'neutral', 'surprise')
    """
    value = value.strip()
    if value.isdigit():
        code = int(value)
        if code >= len(FER2013_CSV_LABELS):
            raise MalformedRow(f"emotion code {code} is not a FER2013 code (0-6)")
        return FER2013_CSV_LABELS[code]
    try:
        return canonical(value)
    except UserError as error:
        raise MalformedRow(str(error)) from error


def pixels_to_face(text: str, size: int) -> np.ndarray:
    """A ``pixels`` cell as a ``size x size`` uint8 face.

    >>> pixels_to_face("0 255 255 0", 2).tolist()
    [[0, 255], [255, 0]]
    """
    try:
        values = np.fromstring(text, dtype=np.int32, sep=" ")
    except ValueError as error:
        raise MalformedRow("pixels are not all numbers") from error
    side = math.isqrt(len(values))
    if side == 0 or side * side != len(values) or values.min() < 0 or values.max() > 255:
        raise MalformedRow(f"{len(values)} pixel values do not make a square 8-bit image")
    return resize_square(values.astype(np.uint8).reshape(side, side), size)


def csv_rows(path: Path) -> Iterator[dict[str, str]]:
    """The rows of a FER2013-style CSV, one at a time, with lower-cased column names; a UserError naming
    what is wrong when the columns are not FER2013's (streamed: fer2013.csv's pixel text is 300 MB)."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            columns = [name.strip().lower() for name in reader.fieldnames or []]
        except UnicodeDecodeError as error:
            raise UserError(f"{path} is not a text CSV file") from error
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            raise UserError(
                f"{path} has columns {', '.join(columns) or '(none)'}; a FER2013-style CSV needs "
                f"emotion,pixels and optionally Usage (missing: {', '.join(missing)})"
            )
        reader.fieldnames = columns
        yield from reader


def split_of(usage: str | None) -> str:
    """The split a ``Usage`` cell names (Training -> train, PublicTest -> val, PrivateTest -> test)."""
    if usage is None:
        return ALL_SPLITS
    split = split_named(usage)
    if split is None:
        raise MalformedRow(f"Usage {usage!r} is none of Training, PublicTest, PrivateTest")
    return split


def load_csv(path: Path, classes: tuple[str, ...], size: int = 48) -> dict[str, ImageSet]:
    """Read a FER2013-style CSV into one ``ImageSet`` per ``Usage`` value (``"all"`` without that column).

    Rows with an unreadable label or pixels are skipped and counted in a warning.
    """
    grouped: dict[str, tuple[list[np.ndarray], list[str], list[str]]] = {}
    skipped = 0
    for number, row in enumerate(csv_rows(path)):
        try:
            face = pixels_to_face(row["pixels"] or "", size)
            name = emotion_name(row["emotion"] or "")
            split = split_of(row.get("usage"))
        except MalformedRow:
            skipped += 1
            continue
        faces, names, sources = grouped.setdefault(split, ([], [], []))
        faces.append(face)
        names.append(name)
        sources.append(f"{path}:{number}")
    if skipped:
        log.warning("skipped %d malformed row(s) in %s", skipped, path)
    if not grouped:
        raise UserError(f"{path} has no readable rows")
    return {
        split: ImageSet.from_names(np.stack(faces), names, classes, sources)
        for split, (faces, names, sources) in grouped.items()
    }
