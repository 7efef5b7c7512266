"""The emotion label sets, in one place.

Every model, loader, report and API speaks in these names. The canonical order is FER2013's
alphabetical folder order, which is also the order of a model's output columns unless the model's
own metadata says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from storemood.errors import UserError

#: The 7 FER2013 classes in canonical order.
FER7: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")

#: The 8 FER+ classes (FER2013's seven plus contempt), in canonical order.
FERPLUS8: tuple[str, ...] = (*FER7, "contempt")

#: Reactions that matter in front of a shelf; anger, fear and sadness are rare responses to products.
RETAIL4: tuple[str, ...] = ("disgust", "happy", "neutral", "surprise")

#: Valence: positive and negative reactions (neutral and contempt count as neither).
POSITIVE: frozenset[str] = frozenset({"happy", "surprise"})
NEGATIVE: frozenset[str] = frozenset({"angry", "disgust", "fear", "sad"})

#: One colour per emotion (CSS hex), the same in the annotated video, the report charts and the dashboard
#: (which reads it from ``/api/meta``). Warm for positive, cool or dark for negative, grey for neutral.
EMOTION_COLORS: dict[str, str] = {
    "angry": "#d64545",
    "disgust": "#8e6c3a",
    "fear": "#7b61ff",
    "happy": "#f0b429",
    "neutral": "#9aa5b1",
    "sad": "#2f6fdb",
    "surprise": "#3ecf8e",
    "contempt": "#5c6b73",
}


def bgr(color: str) -> tuple[int, int, int]:
    """A CSS hex colour as OpenCV's (blue, green, red).

    >>> bgr(EMOTION_COLORS["sad"])
    (219, 111, 47)
    """
    red, green, blue = (int(color[index : index + 2], 16) for index in (1, 3, 5))
    return blue, green, red


SYNONYMS: dict[str, str] = {
    "anger": "angry",
    "angry": "angry",
    "mad": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "contempt": "contempt",
}

#: FER2013 CSV integer labels (column ``emotion``) to names.
FER2013_CSV_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

#: FER+ vote columns (as in ferplus.csv) to canonical names; ``unknown`` and ``NF`` are not emotions.
FERPLUS_COLUMNS: dict[str, str] = {
    "neutral": "neutral",
    "happiness": "happy",
    "surprise": "surprise",
    "sadness": "sad",
    "anger": "angry",
    "disgust": "disgust",
    "fear": "fear",
    "contempt": "contempt",
}

NAMED_SETS: dict[str, tuple[str, ...]] = {"all": FER7, "fer7": FER7, "retail4": RETAIL4, "ferplus": FERPLUS8}


def canonical(name: str) -> str:
    """Map a label or synonym (any case) to its canonical name, or raise a UserError naming it.

    >>> canonical("Happiness"), canonical("scared")
    ('happy', 'fear')
    """
    key = name.strip().lower()
    if key not in SYNONYMS:
        known = ", ".join(sorted(set(SYNONYMS.values())))
        raise UserError(f"unknown emotion {name!r}; known emotions: {known}")
    return SYNONYMS[key]


def resolve_classes(spec: str | Sequence[str] | None) -> tuple[str, ...]:
    """Turn ``all``, ``retail4``, ``ferplus`` or a list like ``happy,neutral,surprise`` into class names.

    Custom subsets keep the canonical order whatever order they were written in, so two runs asked for
    the same set always produce models with the same output columns.

    >>> resolve_classes("retail4")
    ('disgust', 'happy', 'neutral', 'surprise')
    >>> resolve_classes("surprised,joy")
    ('happy', 'surprise')
    """
    if spec is None:
        return FER7
    if isinstance(spec, str):
        if spec.strip().lower() in NAMED_SETS:
            return NAMED_SETS[spec.strip().lower()]
        spec = [part for part in spec.split(",") if part.strip()]
    names = {canonical(part) for part in spec}
    if len(names) < 2:
        raise UserError("a class set needs at least two emotions")
    return tuple(name for name in FERPLUS8 if name in names)


def restrict(probabilities: Iterable[Sequence[float]], classes: Sequence[str], subset: Sequence[str]):
    """Keep only the columns of ``subset`` from rows of probabilities over ``classes``, renormalised.

    >>> restrict([[0.1, 0.6, 0.3]], ["angry", "happy", "neutral"], ["happy", "neutral"]).round(2).tolist()
    [[0.67, 0.33]]
    """
    import numpy as np

    columns = [classes.index(name) for name in subset]
    kept = np.asarray(probabilities, dtype=np.float64)[:, columns]
    return kept / np.clip(kept.sum(axis=1, keepdims=True), 1e-12, None)
