"""Class-folder trees: ``<class>/<image>``, any image format, colour or grayscale, any size."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from storemood.data.dataset import ImageSet
from storemood.emotions import canonical
from storemood.errors import UserError
from storemood.image_io import IMAGE_SUFFIXES, read_face

log = logging.getLogger(__name__)


def class_folders(root: Path, classes: tuple[str, ...]) -> dict[str, list[Path]]:
    """Image files per wanted class under ``root``; folders of other known emotions are left out.

    A folder whose name is no emotion at all is an error (a typo would otherwise silently drop data),
    and so is a wanted class folder with no images in it.
    """
    if not root.is_dir():
        raise UserError(f"{root} is not a folder")
    found: dict[str, list[Path]] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        name = canonical(folder.name)
        if name not in classes:
            continue
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise UserError(f"class folder {folder} has no images")
        found.setdefault(name, []).extend(files)
    if not found:
        raise UserError(f"{root} has no class folders named after the emotions {', '.join(classes)}")
    return found


def load_folder(root: Path, classes: tuple[str, ...], size: int = 48) -> ImageSet:
    """Read a class-folder tree into an ``ImageSet``; unreadable files are skipped and counted."""
    files = class_folders(root, classes)
    paths = [path for name in classes for path in files.get(name, [])]
    labels = [classes.index(name) for name in classes for _ in files.get(name, [])]
    with ThreadPoolExecutor(max_workers=4) as pool:
        faces = list(pool.map(lambda path: read_face(path, size), paths))
    keep = [i for i, face in enumerate(faces) if face is not None]
    if len(keep) < len(paths):
        log.warning("skipped %d unreadable image file(s) under %s", len(paths) - len(keep), root)
    if not keep:
        raise UserError(f"no readable images under {root}")
    images = np.stack([faces[i] for i in keep])
    return ImageSet.from_labels(images, np.array(labels)[keep], classes, [str(paths[i]) for i in keep])
