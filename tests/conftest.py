"""Shared fixtures: real data from ../shared, copied at test time, never committed."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from scratch_postgres import scratch_schema
from storemood.data.dataset import ImageSet
from storemood.data.loaders import read_labelled
from storemood.database.engine import DatabaseUnavailable
from storemood.emotions import FER7

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STOREMOOD_SHARED", ROOT.parent / "shared")).resolve()
FER2013 = SHARED / "data" / "fer2013"
REAL = SHARED / "data" / "real"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL on the local server whose tables live in a throwaway schema."""
    try:
        with scratch_schema(PG_SERVER, prefix="storemood_test") as url:
            yield url
    except DatabaseUnavailable as error:
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is not reachable ({error}); tools/test.sh starts it")


def require(path: Path) -> Path:
    """Skip the calling test, with the reason, when a piece of ../shared is missing."""
    if not path.exists():
        pytest.skip(f"{path} is missing (the shared data folder is not beside the project)")
    return path


def copy_fer_subset(dest: Path, split: str = "train", per_class: int = 20, seed: int = 0) -> Path:
    """Copy ``per_class`` real FER2013 faces of each class into ``dest/<class>/`` and return ``dest``."""
    source = require(FER2013 / split)
    rng = random.Random(seed)
    for class_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        files = sorted(class_dir.glob("*.png"))
        target = dest / class_dir.name
        target.mkdir(parents=True, exist_ok=True)
        for file in rng.sample(files, min(per_class, len(files))):
            shutil.copy2(file, target / file.name)
    return dest


@pytest.fixture(scope="session")
def fer_small(tmp_path_factory) -> Path:
    """A small real FER2013 tree with ``train/`` and ``val/`` split folders (20 and 8 faces per class)."""
    root = tmp_path_factory.mktemp("fer_small")
    copy_fer_subset(root / "train", "train", per_class=20)
    copy_fer_subset(root / "val", "val", per_class=8)
    return root


@pytest.fixture(scope="session")
def fer_small_val(fer_small) -> ImageSet:
    """``fer_small``'s validation faces (8 per class), as training validates on them."""
    return read_labelled(fer_small, FER7, 48)["val"]


#: The one short training run the training tests share: every option whose effect they check, at once.
TRAINED_RUN_ARGS = ("--arch", "mood-ensemble", "--epochs", "2", "--batch-size", "32")
TRAINED_RUN_ARGS += ("--ema", "0.9", "--weight-decay", "0.05")


@pytest.fixture(scope="session")
def trained_run(fer_small, tmp_path_factory) -> Path:
    """Two epochs of mood-ensemble with a weight average (decay 0.9) and weight decay 0.05 on 140 real faces,
    validated on 56 others: checkpoints, log, plots, evaluation, report and model.onnx in the returned folder."""
    from storemood.cli import main

    out = tmp_path_factory.mktemp("trained_run")
    assert main(["train", str(fer_small), *TRAINED_RUN_ARGS, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def real_images() -> Path:
    return require(REAL / "images")


@pytest.fixture(scope="session")
def real_videos() -> Path:
    return require(REAL / "videos")


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory, monkeypatch) -> Path:
    """The default database and the outboxes of every test live in a folder of its own, never in the user's
    data directory: a visit queued by one test must not be delivered by another, or by a later run."""
    folder = tmp_path_factory.mktemp("data-home")
    monkeypatch.setenv("XDG_DATA_HOME", str(folder))
    return folder
