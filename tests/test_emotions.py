import numpy as np
import pytest

from storemood.emotions import FER7, RETAIL4, canonical, resolve_classes, restrict
from storemood.errors import UserError


def test_synonyms_map_to_canonical_names():
    assert canonical("Happiness") == "happy"
    assert canonical(" sadness ") == "sad"
    assert canonical("surprised") == "surprise"
    assert canonical("anger") == "angry"


def test_unknown_emotion_is_a_user_error_naming_it():
    with pytest.raises(UserError, match="boredom"):
        canonical("boredom")


def test_class_sets_keep_canonical_order_whatever_order_asked():
    assert resolve_classes("all") == FER7
    assert resolve_classes("retail4") == RETAIL4
    assert resolve_classes("surprise,happy,neutral") == ("happy", "neutral", "surprise")
    assert resolve_classes("ferplus")[-1] == "contempt"
    with pytest.raises(UserError):
        resolve_classes("happy")


def test_restrict_keeps_the_subset_and_renormalises():
    rows = np.full((2, 7), 1 / 7)
    kept = restrict(rows, FER7, RETAIL4)
    assert kept.shape == (2, 4)
    np.testing.assert_allclose(kept.sum(axis=1), 1.0)
