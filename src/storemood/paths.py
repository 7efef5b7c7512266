"""Where storemood keeps things by default: the shipped model, the user's database, the example store."""

from __future__ import annotations

from pathlib import Path

import platformdirs

PACKAGE_DIR = Path(__file__).resolve().parent
MODELS_DIR = PACKAGE_DIR / "models"
DEFAULT_MODEL = MODELS_DIR / "storemood-emotion.onnx"


def data_dir() -> Path:
    """The user's data directory for storemood (created on first use)."""
    path = Path(platformdirs.user_data_dir("storemood", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_url() -> str:
    """SQLite file in the user's data directory: works everywhere with nothing to set up."""
    return f"sqlite:///{data_dir() / 'storemood.db'}"
