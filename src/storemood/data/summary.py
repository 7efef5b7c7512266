"""A look at a data set before training on it: faces per class and split, and a grid of sample faces.

Class balance decides whether class weights are worth it (FER2013's disgust has 16x fewer faces than
happy), and a glance at samples catches a mislabelled folder or a wrong channel order early.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.table import Table

from storemood.data.dataset import ImageSet


def counts_table(splits: dict[str, ImageSet], title: str) -> Table:
    """Faces per class (rows) and split (columns), with totals and each class's share."""
    classes = next(iter(splits.values())).classes
    counts = {name: split.counts() for name, split in splits.items()}
    total = sum(map(len, splits.values()))
    table = Table(title=title)
    table.add_column("class")
    for name in (*splits, "total", "share"):
        table.add_column(name, justify="right")
    for emotion in classes:
        row = [counts[name][emotion] for name in splits]
        table.add_row(emotion, *map(str, row), str(sum(row)), f"{sum(row) / max(total, 1):.1%}")
    sizes = [len(split) for split in splits.values()]
    table.add_row("total", *map(str, sizes), str(total), "100%", style="bold")
    return table


def sample_grid(splits: dict[str, ImageSet], path: Path, per_class: int = 10, seed: int = 0) -> Path:
    """Save a PNG with a row of ``per_class`` random faces of each class (from all splits together)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    classes = next(iter(splits.values())).classes
    images = np.concatenate([split.images for split in splits.values()])
    labels = np.concatenate([split.labels for split in splits.values()])
    figure, axes = plt.subplots(
        len(classes), per_class, figsize=(per_class * 0.9, len(classes) * 0.95), squeeze=False, constrained_layout=True
    )
    for row, emotion in enumerate(classes):
        members = np.flatnonzero(labels == row)
        chosen = rng.choice(members, min(per_class, len(members)), replace=False) if len(members) else []
        for column, axis in enumerate(axes[row]):
            axis.set_xticks([])
            axis.set_yticks([])
            if column < len(chosen):
                axis.imshow(images[chosen[column]], cmap="gray", vmin=0, vmax=255)
            else:
                axis.set_frame_on(False)  # a class with fewer faces than columns: blank, not an empty frame
        axes[row][0].set_ylabel(f"{emotion}\n({len(members)})", rotation=0, ha="right", va="center")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
