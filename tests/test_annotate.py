"""Annotated output: zones and products drawn, text and lines scaled with the image, every label and bar
inside the frame, and a legend of the bars in the one emotion palette."""

from __future__ import annotations

import numpy as np
import pytest

from storemood.config import load_store
from storemood.demo import DEMO_STORE
from storemood.emotions import FER7
from storemood.pipeline.annotate import EMOTION_BGR, ZONE_COLOR, Style, draw_faces, put_label, text_box
from storemood.vision.faces import Faces

ZONES = load_store(DEMO_STORE).camera("shelf").zones
GREY = (128, 128, 128)


def corner_face(shape: tuple[int, int]) -> Faces:
    """A happy face whose box touches the bottom-right corner: its label and bars must move inside."""
    height, width = shape
    side = min(shape) // 4
    probabilities = np.full((1, len(FER7)), 0.0, np.float32)
    probabilities[0, FER7.index("happy")] = 1.0
    return Faces(
        boxes=np.array([[width - side, height - side, side, side]], np.float32),
        scores=np.ones(1, np.float32),
        track_ids=np.array([7]),
        probabilities=probabilities,
    )


def pixels_of(image: np.ndarray, color: tuple[int, int, int], tolerance: int = 0) -> np.ndarray:
    return np.all(np.abs(image.astype(int) - color) <= tolerance, axis=2)


@pytest.mark.parametrize("shape", [(120, 160), (1440, 1920)])
def test_zones_faces_and_legend_are_drawn_inside_the_frame(shape):
    image = np.full((*shape, 3), GREY, np.uint8)
    drawn = draw_faces(image, corner_face(shape), FER7, ZONES)
    height, width = shape
    style = Style.for_shape(drawn.shape)

    # each zone's outline: the boundary between cereal and coffee is a white vertical line at a third
    border = round(ZONES[0].polygon()[1][0] * (width - 1))
    column = pixels_of(drawn[:, border - style.line : border + style.line + 1], ZONE_COLOR, 40).any(axis=1)
    assert column[height // 3 : 2 * height // 3].mean() > 0.9

    # the happy probability bar is drawn full length (moved up and left of the corner), in the palette's colour
    happy = pixels_of(drawn, EMOTION_BGR["happy"])
    assert happy.sum(axis=1).max() >= style.bar_width
    # the legend shows every emotion's colour in the top-right corner
    legend = drawn[: height // 2 if height > 200 else height, width // 2 :]
    assert all(pixels_of(legend, EMOTION_BGR[name]).any() for name in FER7)
    assert np.array_equal(image, np.full((*shape, 3), GREY, np.uint8))  # the frame itself is left untouched


def test_text_and_lines_grow_with_the_image():
    small, large = Style.for_shape((240, 320)), Style.for_shape((2160, 3840))
    assert large.line >= 4 * small.line and large.bar_width >= 4 * small.bar_width
    assert text_box("Breakfast cereal", large)[1] >= 4 * text_box("Breakfast cereal", small)[1]


@pytest.mark.parametrize("shape", [(90, 120), (1080, 1920)])
@pytest.mark.parametrize("anchor", [(-50, -50), (10_000, 10_000), (0, 0), (5000, -10)])
def test_labels_stay_inside_the_frame(shape, anchor):
    canvas = np.zeros((*shape, 3), np.uint8)
    style = Style.for_shape(canvas.shape)
    x0, y0, x1, y1 = put_label(canvas, "Ground coffee", anchor, ZONE_COLOR, style, above=True)
    assert 0 <= x0 <= x1 < shape[1] and 0 <= y0 <= y1 < shape[0]
    assert pixels_of(canvas[y0 : y1 + 1, x0 : x1 + 1], ZONE_COLOR, 40).any()  # the text itself is in the box
